/* Metadata overlap on crafted images: an L2 entry, L1 entry or refcount table entry that puts
 * guest data or a table on the image's own metadata is refused or treated as corrupt, and no
 * write ever lands on the metadata. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "q2t.h"

/*
 * qemu-img's layout for a 4 MiB image with 128 KiB written at 0 (64 KiB clusters): header,
 * refcount table, refcount block, L1 table, L2 table, then the two data clusters.
 */
#define RT  0x10000ull
#define RB  0x20000ull
#define L1  0x30000ull
#define L2  0x40000ull
#define CS  0x10000ull
#define CPY (1ull << 63)

static char dir[64];
static char img[128];
static uint8_t *orig;
static size_t orig_len;

static void setup(void)
{
    if (!q2t_have_qemu())
        cr_skip_test("qemu-img/qemu-io not installed (Debian qemu-utils)");
    q2t_tmpdir(dir, sizeof(dir));
    cr_assert(dir[0]);
    snprintf(img, sizeof(img), "%s/o.qcow2", dir);
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 %s 4M && qemu-io -c 'write -P 0x42 0 128k' "
                        "%s",
                        img, img),
                 0);
    orig = q2t_slurp(img, &orig_len);
    cr_assert(orig && orig_len == 7 * CS);
}

static void teardown(void)
{
    free(orig);
    q2t_rmdir(dir);
}

TestSuite(qcow2_overlap, .init = setup, .fini = teardown);

static void restore(void)
{
    int fd = open(img, O_RDWR | O_TRUNC | O_CLOEXEC);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, orig, orig_len, 0), (ssize_t)orig_len);
    close(fd);
}

static void poke64(uint64_t off, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    int fd = open(img, O_RDWR | O_CLOEXEC);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, b, 8, (off_t)off), 8);
    close(fd);
}

/* The file's bytes [off, off+CS) still as crafted. */
static bool unchanged(const uint8_t *before, uint64_t off)
{
    size_t n;
    uint8_t *now = q2t_slurp(img, &n);
    bool same = now && n >= off + CS;
    for (uint64_t i = 0; same && i < CS; i++)
        same = now[off + i] == before[off + i];
    free(now);
    return same;
}

static const struct {
    const char *name;
    uint64_t off;
} targets[] = {
    { "refcount table", RT },
    { "refcount block", RB },
    { "L1 table", L1 },
    { "L2 table", L2 },
};

Test(qcow2_overlap, l2_entry_onto_metadata_reads_and_writes_refused)
{
    struct q2t_img im;
    char err[256];
    uint8_t buf[4096], crafted[7 * CS];
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        restore();
        /* Guest cluster 2 (unallocated so far) now "owns" the metadata cluster. */
        poke64(L2 + 16, CPY | targets[t].off);
        int fd = open(img, O_RDONLY | O_CLOEXEC);
        cr_assert_eq(pread(fd, crafted, sizeof(crafted), 0), (ssize_t)sizeof(crafted));
        close(fd);

        struct qcow2_opts ro = { .readonly = true };
        cr_assert_eq(q2t_open(&im, img, &ro, err, sizeof(err)), 0, "%s", err);
        cr_expect_eq(qcow2_pread(im.q, buf, sizeof(buf), 2 * CS), -EIO, "%s: read refused",
                     targets[t].name);
        cr_expect_eq(qcow2_pread(im.q, buf, sizeof(buf), 0), 0, "%s: other data readable",
                     targets[t].name);
        cr_expect_eq(buf[0], 0x42);
        q2t_close(&im);

        struct qcow2_opts rw = { .sparse = true };
        cr_assert_eq(q2t_open(&im, img, &rw, err, sizeof(err)), 0, "%s", err);
        memset(buf, 0xee, sizeof(buf));
        cr_expect_eq(qcow2_pwrite(im.q, buf, sizeof(buf), 2 * CS + 512), -EIO, "%s: write refused",
                     targets[t].name);
        cr_expect_eq(qcow2_discard(im.q, 2 * CS, CS, true), -EIO, "%s: zeroing refused",
                     targets[t].name);
        q2t_close(&im);
        cr_expect(unchanged(crafted, targets[t].off), "%s overwritten through guest data",
                  targets[t].name);
        cr_expect_eq(q2t_sh("qemu-img info %s | grep -q 'corrupt: true'", img), 0,
                     "%s: image marked corrupt", targets[t].name);
    }
}

Test(qcow2_overlap, compressed_span_onto_metadata_read_refused)
{
    struct q2t_img im;
    char err[256];
    uint8_t buf[512];
    /* Compressed, one sector at the L1 table (x = 62 - (16 - 8) = 54 offset bits). */
    poke64(L2 + 16, (1ull << 62) | L1);
    struct qcow2_opts ro = { .readonly = true };
    cr_assert_eq(q2t_open(&im, img, &ro, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(qcow2_pread(im.q, buf, sizeof(buf), 2 * CS), -EIO);
    q2t_close(&im);
}

Test(qcow2_overlap, l1_entry_onto_metadata_refused_for_writing)
{
    struct q2t_img im;
    char err[256];
    uint8_t buf[4096];
    for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
        if (targets[t].off == L2)
            continue; /* an L2 table shared by L1 entries is legal */
        restore();
        /* The L1 entry of guest clusters 0.. names another table as its L2 table. */
        poke64(L1, CPY | targets[t].off);
        struct qcow2_opts rw = { .sparse = true };
        cr_expect_eq(q2t_open(&im, img, &rw, err, sizeof(err)), -EUCLEAN, "%s: opened",
                     targets[t].name);
        /* On the refcount block, the refcount table's entry is named instead: either way
         * one cluster holds two tables. */
        cr_expect(strstr(err, "L1 entry 0 puts an L2 table on") ||
                      strstr(err, "puts a refcount block on an L2 table"),
                  "%s", err);
        struct qcow2_opts ro = { .readonly = true };
        cr_assert_eq(q2t_open(&im, img, &ro, err, sizeof(err)), 0, "%s", err);
        cr_expect_eq(qcow2_pread(im.q, buf, sizeof(buf), 0), -EIO, "%s: read", targets[t].name);
        q2t_close(&im);
    }
}

Test(qcow2_overlap, refcount_block_onto_metadata_refused_for_writing)
{
    struct q2t_img im;
    char err[256];
    static const uint64_t on[] = { RT, L1, L2 };
    const char *tool = getenv("CELLVM_IMG");
    if (!tool)
        cr_skip_test("CELLVM_IMG not set (run through meson)");
    for (size_t t = 0; t < sizeof(on) / sizeof(on[0]); t++) {
        restore();
        poke64(RT, on[t]);
        struct qcow2_opts rw = { .sparse = true };
        cr_expect_eq(q2t_open(&im, img, &rw, err, sizeof(err)), -EUCLEAN, "block at %#llx",
                     (unsigned long long)on[t]);
        cr_expect(strstr(err, "refcount table entry 0 puts a refcount block on"), "%s", err);
        cr_expect_eq(q2t_sh("%s check %s 2>/dev/null", tool, img), 2, "check reports it");
    }
}

/* An L2 table whose refcount was zeroed is still metadata: the allocator must not hand it out
 * for guest data (which would overwrite the table the new mapping is written into). */
Test(qcow2_overlap, zero_refcount_metadata_never_allocated)
{
    struct q2t_img im;
    char err[256];
    uint8_t buf[4096], crafted[7 * CS];
    /* 16-bit refcount of cluster 4 (the L2 table) in the block at RB. */
    poke64(RB + 8, 0x0000000100010000ull); /* clusters 4..7: 0, 1, 1, 0 */
    int fd = open(img, O_RDONLY | O_CLOEXEC);
    cr_assert_eq(pread(fd, crafted, sizeof(crafted), 0), (ssize_t)sizeof(crafted));
    close(fd);
    struct qcow2_opts rw = { .sparse = true };
    cr_assert_eq(q2t_open(&im, img, &rw, err, sizeof(err)), 0, "%s", err);
    memset(buf, 0xee, sizeof(buf));
    cr_expect_eq(qcow2_pwrite(im.q, buf, sizeof(buf), 3 * CS), -EIO);
    q2t_close(&im);
    cr_expect(unchanged(crafted, L2), "L2 table handed out as a data cluster");
}
