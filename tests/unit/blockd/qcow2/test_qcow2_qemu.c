/*
 * Interoperability with the real qemu-img/qemu-io: images they make read the same through the
 * engine; after the engine writes, writes zeroes, discards and resizes, `qemu-img check` finds
 * no errors and `qemu-img compare` matches the same operations done by qemu-io.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q2t.h"

/* Offsets and lengths in half clusters plus bytes, so one table fits every cluster size. */
struct op {
    char kind; /* w write pattern, z write zeroes, d discard */
    uint64_t oh, ob, lh, lb;
    unsigned pat;
};

static const struct op ops1[] = {
    { 'w', 0, 0, 6, 100, 0x11 }, { 'w', 1, 7, 2, 0, 0x22 },  { 'w', 10, 200, 0, 50, 0x33 },
    { 'z', 2, 0, 4, 0, 0 },      { 'z', 14, 100, 0, 30, 0 }, { 'd', 0, 0, 2, 0, 0 },
    { 'w', 16, 0, 8, 0, 0x44 },  { 'd', 18, 0, 4, 0, 0 },    { 'w', 20, 5, 0, 10, 0x55 },
    { 'z', 24, 0, 2, 0, 0 },     { 'w', 25, 3, 2, 0, 0x66 }, { 'd', 30, 1, 2, 0, 0 },
    { 'w', 12, 9, 1, 0, 0x67 },  { 'z', 8, 0, 2, 0, 0 },
};

static const struct op ops2[] = {
    { 'w', 42, 17, 3, 0, 0x77 },
    { 'z', 44, 0, 2, 0, 0 },
    { 'w', 40, 0, 0, 512, 0x78 },
};

struct variant {
    uint32_t cs, rb;
    const char *create_extra; /* qemu-img -o extras */
    bool compressed_base;     /* base from `qemu-img convert -c` */
    const char *ctype;
    bool lazy_crash; /* base left dirty by an aborted lazy_refcounts writer */
    bool sparse_off;
};

static uint64_t off_of(uint32_t cs, uint64_t h, uint64_t b)
{
    return h * (cs / 2) + b;
}

static int engine_ops(struct qcow2 *q, uint32_t cs, const struct op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t off = off_of(cs, ops[i].oh, ops[i].ob), len = off_of(cs, ops[i].lh, ops[i].lb);
        int ret;
        if (ops[i].kind == 'w') {
            uint8_t *b = malloc(len);
            memset(b, (int)ops[i].pat, len);
            ret = qcow2_pwrite(q, b, len, off);
            free(b);
        } else {
            ret = qcow2_discard(q, off, len, ops[i].kind == 'z');
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

static void qemu_ops(char *cmd, size_t cap, uint32_t cs, const struct op *ops, size_t n)
{
    size_t pos = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t off = off_of(cs, ops[i].oh, ops[i].ob), len = off_of(cs, ops[i].lh, ops[i].lb);
        if (ops[i].kind == 'w')
            pos += (size_t)snprintf(cmd + pos, cap - pos, " -c 'write -P 0x%x %lu %lu'", ops[i].pat,
                                    (unsigned long)off, (unsigned long)len);
        else if (ops[i].kind == 'z')
            pos += (size_t)snprintf(cmd + pos, cap - pos, " -c 'write -z %lu %lu'",
                                    (unsigned long)off, (unsigned long)len);
        else
            pos += (size_t)snprintf(cmd + pos, cap - pos, " -c 'discard %lu %lu'",
                                    (unsigned long)off, (unsigned long)len);
    }
}

static void warn_cb(void *opaque, const char *msg)
{
    (void)opaque;
    fprintf(stderr, "  engine: %s\n", msg);
}

static void run_variant(const struct variant *v)
{
    char dir[64], cmd[4096], err[256];
    uint32_t cs = v->cs;
    uint64_t size = 20ull * cs + 1536, grown = size + 3ull * cs;
    struct q2t_img im;

    q2t_tmpdir(dir, sizeof(dir));
    cr_assert(dir[0]);
    if (v->compressed_base) {
        /* A raw pattern with data, zeroes and holes, compressed cluster by cluster. */
        cr_assert_eq(
            q2t_sh("qemu-img create -q -f raw %s/p.raw %lu && "
                   "qemu-io -f raw -c 'write -P 0x31 0 %lu' -c 'write -P 0x32 %lu %lu' "
                   "%s/p.raw >/dev/null && qemu-img convert -c -O qcow2 -o cluster_size=%u,"
                   "refcount_bits=%u,compression_type=%s %s/p.raw %s/base.qcow2",
                   dir, (unsigned long)size, (unsigned long)off_of(cs, 7, 0),
                   (unsigned long)off_of(cs, 11, 3), (unsigned long)off_of(cs, 9, 0), dir, cs,
                   v->rb, v->ctype, dir, dir),
            0);
    } else {
        cr_assert_eq(q2t_sh("qemu-img create -q -f qcow2 -o cluster_size=%u,refcount_bits=%u%s "
                            "%s/base.qcow2 %lu",
                            cs, v->rb, v->create_extra ? v->create_extra : "", dir,
                            (unsigned long)size),
                     0, "qemu-img create cs=%u rb=%u", cs, v->rb);
        cr_assert_eq(q2t_sh("qemu-io -f qcow2 -c 'write -P 0x5a 0 %lu' -c 'write -z %lu %lu' "
                            "-c 'write -c -P 0x7e %lu %lu' -c 'write -P 0x3c %lu %lu' "
                            "-c 'discard %lu %lu' %s %s/base.qcow2",
                            (unsigned long)off_of(cs, 4, 0), (unsigned long)off_of(cs, 6, 0),
                            (unsigned long)cs, (unsigned long)off_of(cs, 12, 0), (unsigned long)cs,
                            (unsigned long)off_of(cs, 4, 0), (unsigned long)cs,
                            (unsigned long)off_of(cs, 4, 0), (unsigned long)cs,
                            v->lazy_crash ? "-c abort 2>/dev/null" : "", dir),
                     v->lazy_crash ? 134 : 0);
    }
    /* Reads: the engine sees what QEMU sees. */
    cr_assert_eq(q2t_sh("qemu-img convert -U -O raw %s/base.qcow2 %s/base.raw", dir, dir), 0);
    struct qcow2_opts ro = { .readonly = true, .sparse = true };
    cr_assert_eq(q2t_open(&im, strcat(strcpy(cmd, dir), "/base.qcow2"), &ro, err, sizeof(err)), 0,
                 "open: %s", err);
    strcat(strcpy(cmd, dir), "/base.raw");
    cr_expect_eq(q2t_diff_raw(im.q, cmd), -1, "read mismatch cs=%u rb=%u at %ld", cs, v->rb,
                 (long)q2t_diff_raw(im.q, cmd));
    q2t_close(&im);

    /* Writes: the same operations through the engine and through qemu-io. */
    cr_assert_eq(
        q2t_sh("cp %s/base.qcow2 %s/cv.qcow2 && cp %s/base.qcow2 %s/ref.qcow2", dir, dir, dir, dir),
        0);
    int n = snprintf(cmd, sizeof(cmd), "qemu-io -f qcow2");
    qemu_ops(cmd + n, sizeof(cmd) - (size_t)n, cs, ops1, sizeof(ops1) / sizeof(ops1[0]));
    cr_assert_eq(q2t_sh("%s %s/ref.qcow2", cmd, dir), 0);
    cr_assert_eq(q2t_sh("qemu-img resize -q -f qcow2 %s/ref.qcow2 %lu", dir, (unsigned long)grown),
                 0);
    n = snprintf(cmd, sizeof(cmd), "qemu-io -f qcow2");
    qemu_ops(cmd + n, sizeof(cmd) - (size_t)n, cs, ops2, sizeof(ops2) / sizeof(ops2[0]));
    cr_assert_eq(q2t_sh("%s %s/ref.qcow2", cmd, dir), 0);

    struct qcow2_opts rw = { .sparse = !v->sparse_off, .warn = warn_cb };
    char path[128];
    snprintf(path, sizeof(path), "%s/cv.qcow2", dir);
    cr_assert_eq(q2t_open(&im, path, &rw, err, sizeof(err)), 0, "open rw: %s", err);
    cr_assert_eq(engine_ops(im.q, cs, ops1, sizeof(ops1) / sizeof(ops1[0])), 0);
    cr_assert_eq(qcow2_resize(im.q, grown), 0);
    cr_assert_eq(qcow2_resize(im.q, grown - 512), -ENOTSUP, "shrink must be refused");
    cr_assert_eq(engine_ops(im.q, cs, ops2, sizeof(ops2) / sizeof(ops2[0])), 0);
    cr_assert_eq(q2t_close(&im), 0);

    char out[4096];
    int rc = q2t_sh_out(out, sizeof(out), "qemu-img check %s 2>&1", path);
    cr_expect_eq(rc, 0, "qemu-img check cs=%u rb=%u rc=%d:\n%s", cs, v->rb, rc, out);
    rc = q2t_sh_out(out, sizeof(out), "qemu-img compare -f qcow2 -F qcow2 %s %s/ref.qcow2 2>&1",
                    path, dir);
    cr_expect_eq(rc, 0, "qemu-img compare cs=%u rb=%u rc=%d: %s", cs, v->rb, rc, out);
    if (!getenv("CELLVM_QCOW2_KEEP"))
        q2t_rmdir(dir);
}

static void skip_without_qemu(void)
{
    if (!q2t_have_qemu())
        cr_skip_test("qemu-img/qemu-io not installed (Debian qemu-utils)");
}

static bool full_matrix(void)
{
    return getenv("CELLVM_QCOW2_FULL") != NULL;
}

Test(qcow2_qemu, cluster_sizes)
{
    skip_without_qemu();
    for (uint32_t cs = 512; cs <= (2u << 20); cs *= 2) {
        struct variant v = { .cs = cs, .rb = 16 };
        run_variant(&v);
    }
}

Test(qcow2_qemu, refcount_widths)
{
    skip_without_qemu();
    for (uint32_t rb = 1; rb <= 64; rb *= 2) {
        struct variant v = { .cs = 65536, .rb = rb };
        run_variant(&v);
        if (rb == 1 || rb == 64) {
            struct variant e = { .cs = rb == 1 ? (2u << 20) : 512, .rb = rb };
            run_variant(&e);
        }
    }
}

Test(qcow2_qemu, full_matrix, .timeout = 1200)
{
    skip_without_qemu();
    if (!full_matrix())
        cr_skip_test("set CELLVM_QCOW2_FULL=1 for every cluster size x refcount width");
    for (uint32_t cs = 512; cs <= (2u << 20); cs *= 2) {
        for (uint32_t rb = 1; rb <= 64; rb *= 2) {
            struct variant v = { .cs = cs, .rb = rb };
            run_variant(&v);
        }
    }
}

Test(qcow2_qemu, compressed_zlib)
{
    skip_without_qemu();
    struct variant v = { .cs = 65536, .rb = 16, .compressed_base = true, .ctype = "zlib" };
    run_variant(&v);
    struct variant s = { .cs = 4096, .rb = 8, .compressed_base = true, .ctype = "zlib" };
    run_variant(&s);
}

Test(qcow2_qemu, compressed_zstd)
{
    skip_without_qemu();
    struct variant v = { .cs = 65536, .rb = 16, .compressed_base = true, .ctype = "zstd" };
    run_variant(&v);
    struct variant s = { .cs = 2048, .rb = 32, .compressed_base = true, .ctype = "zstd" };
    run_variant(&s);
}

Test(qcow2_qemu, v2_compat)
{
    skip_without_qemu();
    struct variant v = { .cs = 65536, .rb = 16, .create_extra = ",compat=0.10" };
    run_variant(&v);
    struct variant s = { .cs = 1024, .rb = 16, .create_extra = ",compat=0.10" };
    run_variant(&s);
}

Test(qcow2_qemu, lazy_refcounts)
{
    skip_without_qemu();
    struct variant v = { .cs = 65536, .rb = 16, .create_extra = ",lazy_refcounts=on" };
    run_variant(&v);
}

Test(qcow2_qemu, lazy_refcounts_dirty_rebuilt)
{
    skip_without_qemu();
    struct variant v = {
        .cs = 4096, .rb = 4, .create_extra = ",lazy_refcounts=on", .lazy_crash = true
    };
    run_variant(&v);
}

Test(qcow2_qemu, sparse_off_discard)
{
    skip_without_qemu();
    struct variant v = { .cs = 65536, .rb = 16, .sparse_off = true };
    run_variant(&v);
    struct variant s = { .cs = 512, .rb = 16, .sparse_off = true, .create_extra = ",compat=0.10" };
    run_variant(&s);
}
