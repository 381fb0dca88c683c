/* Header rules and hostile input: feature bits, dirty/corrupt/autoclear bits, refused
 * features, backing-file policy, and damaged headers and tables (refused or marked corrupt,
 * never a crash, never a write outside the image). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "q2t.h"

static char dir[64];
static char img[128];

static void setup(void)
{
    if (!q2t_have_qemu())
        cr_skip_test("qemu-img/qemu-io not installed (Debian qemu-utils)");
    q2t_tmpdir(dir, sizeof(dir));
    cr_assert(dir[0]);
    snprintf(img, sizeof(img), "%s/t.qcow2", dir);
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 %s 4M && qemu-io -c 'write -P 0x42 0 128k' "
                        "%s",
                        img, img),
                 0);
}

static void teardown(void)
{
    q2t_rmdir(dir);
}

TestSuite(qcow2_header, .init = setup, .fini = teardown);

static void poke(uint64_t off, const void *b, size_t n)
{
    int fd = open(img, O_RDWR | O_CLOEXEC);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void poke64(uint64_t off, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    poke(off, b, 8);
}

static void poke32(uint64_t off, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    poke(off, b, 4);
}

static uint64_t peek64(uint64_t off)
{
    uint8_t b[8];
    int fd = open(img, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0);
    cr_assert_eq(pread(fd, b, 8, (off_t)off), 8);
    close(fd);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static int try_open(bool ro, char *err, size_t errlen)
{
    struct q2t_img im;
    struct qcow2_opts o = { .readonly = ro, .sparse = true };
    int ret = q2t_open(&im, img, &o, err, errlen);
    if (ret == 0)
        q2t_close(&im);
    return ret;
}

Test(qcow2_header, unknown_incompatible_bit_is_named)
{
    char err[256];
    poke64(72, 1ull << 7);
    cr_assert_lt(try_open(true, err, sizeof(err)), 0);
    cr_expect(strstr(err, "bit 7"), "message: %s", err);
}

Test(qcow2_header, dirty_bit_while_open_cleared_on_close)
{
    struct q2t_img im;
    struct qcow2_opts o = { .sparse = true };
    char err[256];
    cr_assert_eq(q2t_open(&im, img, &o, err, sizeof(err)), 0, "%s", err);
    cr_expect(peek64(72) & 1, "dirty bit set while open");
    cr_assert_eq(q2t_close(&im), 0);
    cr_expect_eq(peek64(72) & 1, 0, "dirty bit cleared on close");
}

Test(qcow2_header, corrupt_bit_read_only)
{
    char err[256];
    poke64(72, 2);
    cr_expect_eq(try_open(false, err, sizeof(err)), -EUCLEAN, "%s", err);
    cr_expect_eq(try_open(true, err, sizeof(err)), 0, "%s", err);
}

Test(qcow2_header, autoclear_cleared_and_lazy_dropped)
{
    char err[256];
    poke64(80, 1); /* lazy_refcounts */
    poke64(88, 3); /* bitmaps, raw external data */
    cr_assert_eq(try_open(false, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(peek64(88), 0);
    cr_expect_eq(peek64(80) & 1, 0);
    cr_expect_eq(q2t_sh("qemu-img check -q %s", img), 0);
}

Test(qcow2_header, external_data_file_refused)
{
    char err[256];
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 -o data_file=%s/d.raw %s 1M", dir, img), 0);
    cr_expect_lt(try_open(true, err, sizeof(err)), 0);
    cr_expect(strstr(err, "external data file"), "message: %s", err);
}

Test(qcow2_header, extended_l2_refused)
{
    char err[256];
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 -o extended_l2=on %s 1M", img), 0);
    cr_expect_lt(try_open(true, err, sizeof(err)), 0);
    cr_expect(strstr(err, "extended L2"), "message: %s", err);
}

static int backing_fill(void *opaque, uint64_t off, void *buf, size_t len)
{
    (void)opaque;
    (void)off;
    memset(buf, 0x99, len);
    return 0;
}

Test(qcow2_header, backing_file_needs_policy)
{
    char err[256], ov[160];
    struct q2t_img im;
    snprintf(ov, sizeof(ov), "%s/ov.qcow2", dir);
    cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 -b %s -F qcow2 %s", img, ov), 0);
    struct qcow2_opts o = { .readonly = true };
    cr_expect_eq(q2t_open(&im, ov, &o, err, sizeof(err)), -EPERM);
    cr_expect(strstr(err, "backing"), "message: %s", err);

    struct qcow2_backing hook = { backing_fill, NULL };
    struct qcow2_opts ok = { .allow_backing = true, .backing = &hook, .sparse = true };
    cr_assert_eq(q2t_open(&im, ov, &ok, err, sizeof(err)), 0, "%s", err);
    uint8_t b[4096], w[100];
    cr_assert_eq(qcow2_pread(im.q, b, sizeof(b), 1 << 20), 0);
    cr_expect_eq(b[0], 0x99);
    cr_expect_eq(b[4095], 0x99);
    /* A partial write copies the rest of the cluster up from the backing layer. */
    memset(w, 0x11, sizeof(w));
    cr_assert_eq(qcow2_pwrite(im.q, w, sizeof(w), (1 << 20) + 10), 0);
    cr_assert_eq(qcow2_pread(im.q, b, sizeof(b), 1 << 20), 0);
    cr_expect(b[9] == 0x99 && b[10] == 0x11 && b[109] == 0x11 && b[110] == 0x99);
    /* Write-zeroes must read back zeroes, not backing data. */
    cr_assert_eq(qcow2_discard(im.q, 2 << 20, 65536, true), 0);
    cr_assert_eq(qcow2_pread(im.q, b, sizeof(b), 2 << 20), 0);
    cr_expect_eq(b[0], 0);
    cr_assert_eq(q2t_close(&im), 0);
}

Test(qcow2_header, engine_marks_corruption)
{
    char err[256];
    struct q2t_img im;
    uint64_t l1 = peek64(40), l2 = peek64(l1) & 0x00fffffffffffe00ull;
    uint64_t e = peek64(l2);
    poke64(l2, e + 512); /* data cluster offset no longer cluster aligned */
    struct qcow2_opts o = { .sparse = true };
    cr_assert_eq(q2t_open(&im, img, &o, err, sizeof(err)), 0, "%s", err);
    uint8_t b[512];
    cr_expect_eq(qcow2_pread(im.q, b, sizeof(b), 0), -EIO);
    cr_expect_eq(qcow2_pwrite(im.q, b, sizeof(b), 1 << 20), -EIO);
    q2t_close(&im);
    cr_expect(peek64(72) & 2, "corrupt bit set in the header");
    cr_expect_eq(try_open(false, err, sizeof(err)), -EUCLEAN);
}

struct bad {
    const char *what;
    uint64_t off;
    unsigned width;
    uint64_t val;
};

Test(qcow2_header, hostile_headers_refused)
{
    static const struct bad cases[] = {
        { "version 1", 4, 4, 1 },
        { "version 4", 4, 4, 4 },
        { "cluster_bits 8", 20, 4, 8 },
        { "cluster_bits 22", 20, 4, 22 },
        { "absurd size", 24, 8, 1ull << 60 },
        { "encryption", 32, 4, 1 },
        { "L1 too small", 36, 4, 0 },
        { "L1 huge", 36, 4, 0x7fffffff },
        { "L1 past the end", 40, 8, 1ull << 40 },
        { "L1 misaligned", 40, 8, 0x10200 },
        { "L1 over header", 40, 8, 0 },
        { "refcount table misaligned", 48, 8, 0x10001 },
        { "refcount table past the end", 48, 8, 1ull << 45 },
        { "refcount table huge", 56, 4, 0x100000 },
        { "refcount table over L1", 48, 8, 0x30000 },
        { "refcount order 7", 96, 4, 7 },
        { "header length 8", 100, 4, 8 },
        { "header length past cluster", 100, 4, 0x20000 },
        { "backing name past cluster", 8, 8, 0xfffff },
    };
    char err[256];
    size_t n;
    uint8_t *orig = q2t_slurp(img, &n);
    cr_assert(orig);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        poke(0, orig, n < 65536 ? n : 65536);
        if (cases[i].width == 4)
            poke32(cases[i].off, (uint32_t)cases[i].val);
        else
            poke64(cases[i].off, cases[i].val);
        if (!strcmp(cases[i].what, "backing name past cluster"))
            poke32(16, 100);
        cr_expect_lt(try_open(false, err, sizeof(err)), 0, "%s accepted", cases[i].what);
    }
    free(orig);
}

/* Random damage to the first clusters: open, read everything, write a little. The engine
 * may refuse or fail requests, but must not crash or grow the file without bound. */
Test(qcow2_header, random_damage, .timeout = 60)
{
    size_t n;
    uint8_t *orig = q2t_slurp(img, &n);
    uint64_t st = q2t_seed("qcow2_header::random_damage");
    unsigned rounds = getenv("CELLVM_QCOW2_FULL") ? 2000 : 150;
    cr_assert(orig && n >= 4 * 65536);
    for (unsigned r = 0; r < rounds; r++) {
        poke(0, orig, n);
        int fd = open(img, O_RDWR | O_CLOEXEC);
        cr_assert(ftruncate(fd, (off_t)n) == 0);
        close(fd);
        unsigned flips = 1 + q2t_rand(&st) % 8;
        for (unsigned k = 0; k < flips; k++) {
            uint64_t off = q2t_rand(&st) % (4 * 65536);
            /* Aim at the interesting bytes: header, L1, refcount structure, L2. */
            if (k % 2)
                off = q2t_rand(&st) % 112;
            uint8_t v = (uint8_t)q2t_rand(&st);
            poke(off, &v, 1);
        }
        struct q2t_img im;
        struct qcow2_opts o = { .sparse = true };
        if (q2t_open(&im, img, &o, NULL, 0) < 0)
            continue;
        uint64_t size = qcow2_size(im.q);
        uint8_t buf[65536];
        for (uint64_t off = 0; off < size && off < (8u << 20); off += sizeof(buf))
            qcow2_pread(im.q, buf, sizeof(buf), off);
        memset(buf, 0x5e, sizeof(buf));
        qcow2_pwrite(im.q, buf, 3000, 12345 % (size ? size : 1));
        qcow2_discard(im.q, 0, size < 131072 ? size : 131072, true);
        q2t_close(&im);
        struct stat sb;
        cr_assert_eq(stat(img, &sb), 0);
        cr_assert_lt((uint64_t)sb.st_size, 64ull << 20, "file grew to %ld", (long)sb.st_size);
    }
    free(orig);
}
