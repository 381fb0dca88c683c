#ifndef CELLVM_QCOW2_PRIV_H
#define CELLVM_QCOW2_PRIV_H

/* Engine internals shared by the blockd/qcow2 sources; nothing outside this folder uses it. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "blockd/qcow2/qcow2.h"

#define Q2_MAGIC             0x514649fbu
#define Q2_OFF_MASK          0x00fffffffffffe00ull /* bits 9..55 */
#define Q2_OFLAG_COPIED      (1ull << 63)
#define Q2_OFLAG_COMPRESSED  (1ull << 62)
#define Q2_OFLAG_ZERO        1ull
#define Q2_L1_RESERVED       0x7f000000000001ffull
#define Q2_L2_RESERVED       0x3f000000000001feull

#define Q2_INCOMPAT_DIRTY    (1ull << 0)
#define Q2_INCOMPAT_CORRUPT  (1ull << 1)
#define Q2_INCOMPAT_DATAFILE (1ull << 2)
#define Q2_INCOMPAT_COMPRESS (1ull << 3)
#define Q2_INCOMPAT_EXTL2    (1ull << 4)
#define Q2_COMPAT_LAZY       (1ull << 0)

/* Header field offsets. */
#define Q2_H_SIZE      24
#define Q2_H_L1_SIZE   36
#define Q2_H_RT_OFF    48
#define Q2_H_INCOMPAT  72
#define Q2_H_COMPAT    80
#define Q2_H_AUTOCLEAR 88

/* Limits (as QEMU and Cloud Hypervisor): virtual size, L1 and refcount table bytes. */
#define Q2_MAX_SIZE         (16ull << 40)
#define Q2_MAX_L1_BYTES     (32u << 20)
#define Q2_MAX_RT_BYTES     (8u << 20)
#define Q2_MAX_HOST_OFF     (1ull << 56)
#define Q2_MAX_BACKING_NAME 1023u

struct q2_cache_ent {
    uint64_t off; /* host offset of the table; 0 = empty slot */
    uint8_t *data;
    uint64_t used; /* LRU stamp */
    bool dirty;
};

struct q2_cache {
    struct q2_cache_ent *ents;
    unsigned n;
    uint64_t tick;
    unsigned last; /* index of the last hit */
};

/* L2 tables and refcount blocks by cluster (qcow2_cache.c); slots hold cluster << 2 | kinds. */
#define Q2_META_L2 1u
#define Q2_META_RB 2u

struct q2_meta {
    uint64_t *slots; /* 0 = empty */
    size_t cap;      /* power of two, or 0 */
    size_t used;
};

struct q2_op;

struct q2_range {
    uint64_t start, end; /* guest cluster-aligned bytes */
    struct q2_range *next;
};

struct qcow2 {
    struct qcow2_file *file; /* not owned */
    pthread_mutex_t lock;    /* metadata below, caches, lists */
    struct qcow2_opts opts;

    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits; /* log2 of entries per L2 table */
    uint32_t rc_order;
    uint32_t rc_block_bits; /* log2 of refcounts per block */
    uint64_t rc_max;
    uint32_t header_len;
    uint64_t incompat, compat, autoclear;
    bool zstd;
    bool lazy;
    bool readonly;
    bool corrupt; /* found or flagged: writes fail with -EIO */
    bool dirty_set;
    uint32_t nb_snapshots;
    uint64_t snapshots_off;
    char backing_name[Q2_MAX_BACKING_NAME + 1];
    char backing_fmt[16]; /* backing format extension, NUL-terminated; empty: none */

    uint64_t size;
    uint64_t *l1; /* host byte order */
    uint32_t l1_size;
    uint64_t l1_off;
    bool l1_dirty;

    uint64_t *rt;
    uint32_t rt_size; /* entries */
    uint64_t rt_off;
    uint32_t rt_clusters;
    bool rt_dirty;

    struct q2_cache l2c;
    struct q2_cache rbc;
    struct q2_meta meta; /* where L2 tables and refcount blocks live */

    uint64_t host_end;  /* bytes; past the last cluster in use or the file end */
    uint64_t free_hint; /* cluster index where the free search starts */
    uint64_t *pending;  /* clusters whose refcount drops at the next flush */
    size_t npending, cappending;

    struct q2_range *busy;     /* in-flight write ranges */
    struct q2_op *blocked;     /* waiting for a busy range */
    struct q2_op **blocked_tl; /* tail */
};

/* qcow2_header.c */
int q2_header_load(struct qcow2 *q, char *err, size_t errlen);
int q2_header_put64(struct qcow2 *q, uint32_t off, uint64_t v);
int q2_header_put_features(struct qcow2 *q);

/* qcow2_cache.c */
int q2_cache_init(struct q2_cache *c, unsigned n, uint64_t table_size);
void q2_cache_free(struct q2_cache *c);
/* Returns the slot holding off, or NULL. */
struct q2_cache_ent *q2_cache_find(struct q2_cache *c, uint64_t off);
/* The least recently used slot (empty ones first), for the caller to write back and reuse. */
struct q2_cache_ent *q2_cache_victim(struct q2_cache *c);
void q2_cache_touch(struct q2_cache *c, struct q2_cache_ent *e);

/* qcow2_refcount.c */
int q2_rc_get(struct qcow2 *q, uint64_t cluster, uint64_t *rc);
int q2_rc_add(struct qcow2 *q, uint64_t cluster, int delta);
/* Sets a refcount outright, in one step whatever its width (check repair). */
int q2_rc_set(struct qcow2 *q, uint64_t cluster, uint64_t v);
int q2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *host_off);
int q2_free_later(struct qcow2 *q, uint64_t host_off, uint64_t bytes);
int q2_rc_write_dirty(struct qcow2 *q);
int q2_apply_pending(struct qcow2 *q);
int q2_rt_write(struct qcow2 *q);

/* qcow2_l2.c */
int q2_l2_get(struct qcow2 *q, uint64_t guest_cluster, uint64_t *entry);
int q2_l2_set(struct qcow2 *q, uint64_t guest_cluster, uint64_t entry);
int q2_flush_locked(struct qcow2 *q);
int q2_grow_l1(struct qcow2 *q, uint32_t entries);
int q2_pread_meta(struct qcow2 *q, void *buf, size_t len, uint64_t off);
int q2_pwrite_meta(struct qcow2 *q, const void *buf, size_t len, uint64_t off);

/* qcow2.c */
int q2_mark_corrupt(struct qcow2 *q, const char *why);
void q2_warn(struct qcow2 *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* qcow2_compress.c */
int q2_decompress(bool zstd, const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen);
int q2_read_compressed(struct qcow2 *q, uint64_t entry, uint8_t *out);
void q2_compressed_span(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len);

/* qcow2_cache.c: the metadata index */
/* Rebuilds the set from the L1 and refcount tables: 0, -ENOMEM, or -EUCLEAN (why says which
 * entry puts a table on other metadata). */
int q2_meta_build(struct qcow2 *q, char *why, size_t whylen);
int q2_meta_add(struct qcow2 *q, uint64_t host_off, unsigned kind);
void q2_meta_free(struct q2_meta *m);
/* Names the metadata that [off, off+len) overlaps, or NULL; kinds in ignore are not asked. */
const char *q2_meta_at(const struct qcow2 *q, uint64_t off, uint64_t len, unsigned ignore);

/* qcow2_check.c */
int q2_rebuild_refcounts(struct qcow2 *q);

static inline uint64_t q2_be64(const uint8_t *p)
{
    return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
           ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
           ((uint64_t)p[6] << 8) | p[7];
}

static inline uint32_t q2_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint16_t q2_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void q2_put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline void q2_put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t q2_round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

#endif
