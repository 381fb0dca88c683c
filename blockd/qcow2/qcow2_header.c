/* QCOW2 header: parse and validate everything the engine later trusts; small field updates. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/qcow2_priv.h"

#define EXT_END          0x00000000u
#define EXT_BACKING_FMT  0xe2792acau
#define EXT_FEATURE_NAME 0x6803f857u
#define EXT_DATA_FILE    0x44415441u
#define EXT_CRYPTO       0x0537be77u
#define MAX_EXTENSIONS   1024

/* Bits the engine knows; anything else in incompatible_features refuses the image. */
#define KNOWN_INCOMPAT (Q2_INCOMPAT_DIRTY | Q2_INCOMPAT_CORRUPT | Q2_INCOMPAT_COMPRESS)

#define FAIL(e, ...)                        \
    do {                                    \
        snprintf(err, errlen, __VA_ARGS__); \
        ret = (e);                          \
        goto out;                           \
    } while (0)

static const char *feature_name(const uint8_t *names, size_t n, uint8_t type, uint8_t bit,
                                char *buf, size_t buflen)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = names + i * 48;
        if (e[0] == type && e[1] == bit) {
            size_t len = strnlen((const char *)e + 2, 46);
            snprintf(buf, buflen, "%.*s", (int)len, (const char *)e + 2);
            return buf;
        }
    }
    return NULL;
}

/* A name from the image, fit for a log line: every byte outside printable ASCII becomes '?',
   so a hostile image cannot put control sequences into logs and terminals. */
static const char *printable(char *buf, size_t buflen, const char *src)
{
    size_t i = 0;

    for (; src[i] && i + 1 < buflen; i++)
        buf[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
    buf[i] = 0;
    return buf;
}

static int check_incompat(uint64_t bits, const uint8_t *names, size_t nnames, char *err,
                          size_t errlen)
{
    char name[48];
    int ret = 0;

    if (bits & Q2_INCOMPAT_DATAFILE)
        FAIL(-ENOTSUP, "qcow2: external data files are not supported (incompatible bit 2)");
    if (bits & Q2_INCOMPAT_EXTL2)
        FAIL(-ENOTSUP, "qcow2: extended L2 entries (subclusters) are not supported "
                       "(incompatible bit 4)");
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(bits & ~KNOWN_INCOMPAT & (1ull << bit)))
            continue;
        char shown[48];
        const char *nm = feature_name(names, nnames, 0, (uint8_t)bit, name, sizeof(name));

        FAIL(-ENOTSUP, "qcow2: unsupported incompatible feature bit %u (%s)", bit,
             nm ? printable(shown, sizeof(shown), nm) : "unnamed");
    }
out:
    return ret;
}

/* Walks header extensions inside cluster 0; every step is bounded by the cluster. */
static int parse_extensions(struct qcow2 *q, const uint8_t *c0, uint64_t end, uint8_t **names,
                            size_t *nnames, char *err, size_t errlen)
{
    uint64_t pos = q->version >= 3 ? q->header_len : 72;
    int ret = 0;

    for (unsigned i = 0; i < MAX_EXTENSIONS; i++) {
        if (pos + 8 > end)
            FAIL(-EINVAL, "qcow2: header extension runs past the first cluster");
        uint32_t type = q2_be32(c0 + pos), len = q2_be32(c0 + pos + 4);
        pos += 8;
        if (type == EXT_END)
            return 0;
        if (len > end - pos)
            FAIL(-EINVAL, "qcow2: header extension 0x%08x is larger than the first cluster", type);
        if (type == EXT_FEATURE_NAME && !*names) {
            *nnames = len / 48;
            *names = malloc(len ? len : 1);
            if (!*names)
                FAIL(-ENOMEM, "qcow2: out of memory");
            memcpy(*names, c0 + pos, len);
        } else if (type == EXT_BACKING_FMT) {
            if (len == 0 || len >= sizeof(q->backing_fmt))
                FAIL(-EINVAL, "qcow2: backing format extension of %u bytes is invalid", len);
            memcpy(q->backing_fmt, c0 + pos, len);
            q->backing_fmt[len] = 0;
            if (strlen(q->backing_fmt) != len)
                FAIL(-EINVAL, "qcow2: backing format name holds a NUL byte");
        } else if (type == EXT_DATA_FILE) {
            FAIL(-ENOTSUP, "qcow2: external data files are not supported");
        } else if (type == EXT_CRYPTO) {
            FAIL(-ENOTSUP, "qcow2: encrypted images are not supported");
        }
        pos += q2_round_up(len, 8);
    }
    FAIL(-EINVAL, "qcow2: too many header extensions");
out:
    return ret;
}

static int load_table(struct qcow2 *q, uint64_t off, uint32_t entries, uint64_t **out)
{
    size_t bytes = (size_t)entries * 8;
    uint64_t *t = calloc(entries ? entries : 1, 8);
    int ret;

    if (!t)
        return -ENOMEM;
    if (entries) {
        ret = q2_pread_meta(q, t, bytes, off);
        if (ret < 0) {
            free(t);
            return ret;
        }
        for (uint32_t i = 0; i < entries; i++)
            t[i] = q2_be64((const uint8_t *)&t[i]);
    }
    *out = t;
    return 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

int q2_header_load(struct qcow2 *q, char *err, size_t errlen)
{
    uint8_t head[512], *c0 = NULL, *names = NULL;
    size_t nnames = 0;
    uint64_t fsize;
    int ret = 0;

    ret = q->file->ops->size(q->file, &fsize);
    if (ret < 0)
        FAIL(ret, "qcow2: cannot size the image: %s", strerror(-ret));
    ssize_t n = q->file->ops->pread(q->file, head, sizeof(head), 0);
    if (n < 0)
        FAIL((int)n, "qcow2: cannot read the header: %s", strerror((int)-n));
    if (n < 72 || q2_be32(head) != Q2_MAGIC)
        FAIL(-EINVAL, "qcow2: not a QCOW2 image (bad magic or short file)");
    memset(head + n, 0, sizeof(head) - (size_t)n);

    q->version = q2_be32(head + 4);
    if (q->version != 2 && q->version != 3)
        FAIL(-ENOTSUP, "qcow2: version %u is not supported (2 and 3 are)", q->version);
    q->cluster_bits = q2_be32(head + 20);
    if (q->cluster_bits < 9 || q->cluster_bits > 21)
        FAIL(-EINVAL, "qcow2: cluster_bits %u out of range 9..21", q->cluster_bits);
    q->cluster_size = 1ull << q->cluster_bits;
    q->l2_bits = q->cluster_bits - 3;
    if (q2_be32(head + 32) != 0)
        FAIL(-ENOTSUP, "qcow2: encrypted images are not supported");

    q->size = q2_be64(head + Q2_H_SIZE);
    if (q->size > Q2_MAX_SIZE)
        FAIL(-EFBIG, "qcow2: virtual size %" PRIu64 " exceeds 16 TiB", q->size);
    q->l1_size = q2_be32(head + Q2_H_L1_SIZE);
    q->l1_off = q2_be64(head + 40);
    q->rt_off = q2_be64(head + Q2_H_RT_OFF);
    q->rt_clusters = q2_be32(head + 56);
    q->nb_snapshots = q2_be32(head + 60);
    q->snapshots_off = q2_be64(head + 64);

    if (q->version == 3) {
        q->incompat = q2_be64(head + Q2_H_INCOMPAT);
        q->compat = q2_be64(head + Q2_H_COMPAT);
        q->autoclear = q2_be64(head + Q2_H_AUTOCLEAR);
        q->rc_order = q2_be32(head + 96);
        q->header_len = q2_be32(head + 100);
        if (q->header_len < 104 || q->header_len > q->cluster_size || q->header_len % 8)
            FAIL(-EINVAL, "qcow2: header length %u is invalid", q->header_len);
        if (q->header_len > 104 && head[104] > 1)
            FAIL(-ENOTSUP, "qcow2: unknown compression type %u", head[104]);
        q->zstd = q->header_len > 104 && head[104] == 1;
        if (q->zstd != !!(q->incompat & Q2_INCOMPAT_COMPRESS))
            FAIL(-EINVAL, "qcow2: compression type and its feature bit disagree");
    } else {
        q->rc_order = 4;
        q->header_len = 72;
    }
    if (q->rc_order > 6)
        FAIL(-EINVAL, "qcow2: refcount_order %u out of range 0..6", q->rc_order);
    q->rc_block_bits = q->cluster_bits + 3 - q->rc_order;
    q->rc_max = q->rc_order == 6 ? UINT64_MAX : (1ull << (1u << q->rc_order)) - 1;
    q->lazy = q->compat & Q2_COMPAT_LAZY;

    /* The whole first cluster: extensions and usually the backing file name live there. */
    uint64_t c0len = q->cluster_size < fsize ? q->cluster_size : fsize;
    c0 = calloc(1, q->cluster_size);
    if (!c0)
        FAIL(-ENOMEM, "qcow2: out of memory");
    ret = q2_pread_meta(q, c0, c0len, 0);
    if (ret < 0)
        FAIL(ret, "qcow2: cannot read the first cluster");
    ret = parse_extensions(q, c0, q->cluster_size, &names, &nnames, err, errlen);
    if (ret < 0)
        goto out;
    if (q->version == 3) {
        ret = check_incompat(q->incompat, names, nnames, err, errlen);
        if (ret < 0)
            goto out;
    }

    uint64_t bf_off = q2_be64(head + 8);
    uint32_t bf_len = q2_be32(head + 16);
    if (bf_off) {
        if (bf_len == 0 || bf_len > Q2_MAX_BACKING_NAME || bf_off >= q->cluster_size ||
            bf_len > q->cluster_size - bf_off)
            FAIL(-EINVAL, "qcow2: backing file name field is invalid");
        memcpy(q->backing_name, c0 + bf_off, bf_len);
        q->backing_name[bf_len] = 0;
        if (!q->opts.allow_backing) {
            char shown[128];

            FAIL(-EPERM,
                 "qcow2: the image names a backing file (%s); refused without "
                 "backing_files=on",
                 printable(shown, sizeof(shown), q->backing_name));
        }
    }

    /* Tables: aligned, sized for the virtual size, inside the file, not overlapping. */
    uint64_t cs = q->cluster_size;
    uint64_t l1_need = (q->size + (cs << q->l2_bits) - 1) >> (q->cluster_bits + q->l2_bits);
    if (q->l1_size < l1_need)
        FAIL(-EINVAL, "qcow2: L1 table (%u entries) too small for the virtual size", q->l1_size);
    if ((uint64_t)q->l1_size * 8 > Q2_MAX_L1_BYTES)
        FAIL(-EFBIG, "qcow2: L1 table too large (%u entries)", q->l1_size);
    if (q->l1_size && (q->l1_off % cs || q->l1_off == 0))
        FAIL(-EINVAL, "qcow2: L1 table offset is not cluster aligned");
    uint64_t fend = q2_round_up(fsize, cs);
    if (q->l1_size && (q->l1_off > fend || (uint64_t)q->l1_size * 8 > fend - q->l1_off))
        FAIL(-EINVAL, "qcow2: L1 table lies past the end of the file");
    if (q->rt_off % cs || q->rt_off == 0 || q->rt_clusters == 0)
        FAIL(-EINVAL, "qcow2: refcount table offset or size is invalid");
    if ((uint64_t)q->rt_clusters * cs > Q2_MAX_RT_BYTES)
        FAIL(-EFBIG, "qcow2: refcount table too large (%u clusters)", q->rt_clusters);
    if (q->rt_off > fend || (uint64_t)q->rt_clusters * cs > fend - q->rt_off)
        FAIL(-EINVAL, "qcow2: refcount table lies past the end of the file");
    if (overlaps(q->l1_off, (uint64_t)q->l1_size * 8, q->rt_off, (uint64_t)q->rt_clusters * cs) ||
        overlaps(0, cs, q->l1_off, (uint64_t)q->l1_size * 8) ||
        overlaps(0, cs, q->rt_off, (uint64_t)q->rt_clusters * cs))
        FAIL(-EINVAL, "qcow2: header, L1 table and refcount table overlap");
    if (q->nb_snapshots && q->snapshots_off % cs)
        FAIL(-EINVAL, "qcow2: snapshot table offset is not cluster aligned");

    q->rt_size = (uint32_t)(q->rt_clusters * cs / 8);
    ret = load_table(q, q->l1_off, q->l1_size, &q->l1);
    if (ret < 0)
        FAIL(ret, "qcow2: cannot read the L1 table");
    ret = load_table(q, q->rt_off, q->rt_size, &q->rt);
    if (ret < 0)
        FAIL(ret, "qcow2: cannot read the refcount table");
    q->host_end = q2_round_up(fsize, cs);
out:
    free(c0);
    free(names);
    return ret;
}

int q2_header_put64(struct qcow2 *q, uint32_t off, uint64_t v)
{
    uint8_t b[8];

    q2_put64(b, v);
    return q2_pwrite_meta(q, b, sizeof(b), off);
}

/* incompatible, compatible and autoclear in one write (one sector, so it lands whole). */
int q2_header_put_features(struct qcow2 *q)
{
    uint8_t b[24];

    if (q->version < 3)
        return 0;
    q2_put64(b, q->incompat);
    q2_put64(b + 8, q->compat);
    q2_put64(b + 16, q->autoclear);
    return q2_pwrite_meta(q, b, sizeof(b), Q2_H_INCOMPAT);
}
