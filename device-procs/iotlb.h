#ifndef CELLVM_DEVICE_PROCS_IOTLB_H
#define CELLVM_DEVICE_PROCS_IOTLB_H

/*
 * The device-side IOTLB of a vhost-user backend whose device sits behind a virtual IOMMU
 * (VIRTIO_F_ACCESS_PLATFORM): I/O virtual address ranges mapped to frontend user addresses with
 * a permission, filled by the frontend's IOTLB_MSG UPDATE and INVALIDATE. A frontend user
 * address then goes through the memory table (devmem) to a host pointer and a guest-physical
 * address, so the table can only ever narrow what the device reaches: guest memory it names.
 *
 * Entries are sorted by iova and never overlap; adjacent entries that continue each other (iova,
 * uaddr and perm) are merged. Ends are kept inclusive, so a range may end at 2^64.
 *
 * Locking: one writer (the backend's control thread) and many readers (the queue threads, each
 * translating descriptor chains). A pthread rwlock, writer-preferring so a stream of pops cannot
 * delay an INVALIDATE: readers hold it across one whole translation (a chain walk), the writer
 * across one change. When iotlb_update or iotlb_invalidate returns, every translation that starts
 * afterwards sees the change, and every one that saw the old table has finished translating: the
 * backend's ack after it means exactly that. (An RCU-like swap would spare readers the lock's
 * cache line but needs a grace period to free old tables; a pop already takes several atomic
 * ring accesses, and the lock is only taken on the ACCESS_PLATFORM path.) Buffers a device popped
 * before the change stay in its hands until pushed, as with a real IOMMU's in-flight DMA; they
 * are guest memory either way.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct devmem;

/*
 * Most entries a table holds: 65536 x 32 bytes = 2 MiB at worst per device process. A Linux
 * guest maps each DMA buffer while it is in flight plus its rings; the largest device here
 * (a 16-pair net device with 1024-entry rings, one page per receive buffer) keeps ~33000
 * mappings live. An UPDATE beyond it is refused (logged, nacked); an INVALIDATE never fails
 * (see iotlb_invalidate).
 */
#define IOTLB_MAX_ENTRIES 65536u

/* Access a translation needs (the VHOST_USER_ACCESS_* bits). */
#define IOTLB_READ  1u
#define IOTLB_WRITE 2u

struct iotlb_entry {
    uint64_t iova;
    uint64_t last; /* inclusive: iova + size - 1 */
    uint64_t uaddr;
    uint8_t perm; /* IOTLB_READ | IOTLB_WRITE, never 0 */
};

struct iotlb {
    pthread_rwlock_t lock;
    struct iotlb_entry *e; /* owned: n entries used of cap */
    uint32_t n, cap;
};

/* 0 or -errno (the lock). */
int iotlb_init(struct iotlb *t);
void iotlb_destroy(struct iotlb *t);

/*
 * Maps [iova, iova + size) to uaddr with perm (IOTLB_READ and/or IOTLB_WRITE), replacing what
 * the range overlapped. -EINVAL for size 0, a range that wraps (iova or uaddr), perm 0 or
 * above 3; -ENOSPC beyond IOTLB_MAX_ENTRIES (logged); -ENOMEM. On error nothing changed.
 */
int iotlb_update(struct iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr, uint8_t perm);

/*
 * Unmaps [iova, iova + size), splitting entries it covers in part. -EINVAL for size 0 or a
 * wrapping range (nothing changed). Never fails otherwise: when a split would pass the bound,
 * the partly covered entries go whole (more unmapped than asked, logged), since a refused unmap
 * would leave the device a mapping the guest took away.
 */
int iotlb_invalidate(struct iotlb *t, uint64_t iova, uint64_t size);

/* Forgets every entry. */
void iotlb_clear(struct iotlb *t);

/* Entries in use (under the caller's own synchronisation, for tests and logs). */
uint32_t iotlb_count(const struct iotlb *t);

/* Read side: the translation functions below need the lock held for reading. Not recursive. */
void iotlb_rdlock(struct iotlb *t);
void iotlb_unlock(struct iotlb *t);

/* One host piece of a translation: host address, guest-physical address, length. */
typedef int (*iotlb_piece_fn)(void *opaque, uint8_t *host, uint64_t gpa, uint64_t len);

/*
 * Translates [iova, iova + len) needing `access`, piece by piece through the table and then the
 * memory table, calling fn for each piece in order (a piece lies in one entry and one memory
 * region); fn's nonzero return stops the walk and is returned. 0 when every byte translated
 * (len 0 translates nothing), -EFAULT for a byte with no entry, a uaddr outside guest memory
 * or a wrapping range, -EACCES for an entry without the access. Bounded by the entries crossed.
 */
int iotlb_walk(const struct iotlb *t, const struct devmem *m, uint64_t iova, uint64_t len,
               unsigned access, iotlb_piece_fn fn, void *opaque);

/*
 * The same range as host iovecs appended to iov[*n..max), *n advanced (a piece continuing the
 * range's previous piece in host memory extends its iovec). 0, -EFAULT/-EACCES as iotlb_walk,
 * -ENOBUFS when max is reached; on error *n is as it was.
 */
int iotlb_iov(const struct iotlb *t, const struct devmem *m, uint64_t iova, uint64_t len,
              unsigned access, struct iovec *iov, unsigned *n, unsigned max);

/*
 * The host address of [iova, iova + len) when it is contiguous in host memory (and, if gpa is
 * given, in guest-physical memory too, *gpa its first byte), else NULL. len 0 is NULL.
 */
void *iotlb_host(const struct iotlb *t, const struct devmem *m, uint64_t iova, uint64_t len,
                 unsigned access, uint64_t *gpa);

/* Pure table lookup (no memory table): the frontend user address of iova if one entry maps
 * [iova, iova + len) with the access. -EFAULT / -EACCES as iotlb_walk. */
int iotlb_lookup(const struct iotlb *t, uint64_t iova, uint64_t len, unsigned access,
                 uint64_t *uaddr);

#endif
