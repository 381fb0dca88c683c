#ifndef CELLVM_DEVICE_PROCS_DEVMEM_H
#define CELLVM_DEVICE_PROCS_DEVMEM_H

/*
 * Guest memory as a device process sees it: the regions of the frontend's memory table, each
 * mapped shared and non-executable. Translation is by guest-physical address (descriptor
 * buffers) or by frontend user address (ring addresses). Every check is overflow-safe: a range
 * [addr, addr + len) that wraps 2^64 is refused, never truncated.
 *
 * Not thread-safe against changes: the backend quiesces every started queue before it adds,
 * removes or replaces regions, so readers (queue threads) never race a change.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ipc/vhost_user.h"

#define DEVMEM_MAX_REGIONS VHOST_USER_MAX_MEM_SLOTS

struct devmem_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uva;
    uint8_t *host;  /* host address of gpa */
    void *map_base; /* what devmem_sys mapped, NULL for a caller-owned region */
    uint64_t map_len;
    int guard; /* devmem_guard slot of the mapping, -1 for none */
    /* The region's file, kept only when the table keeps fds (devmem.keep_fds: a balloon punches
       holes in it); owned then, else -1. fd_offset is the file offset of gpa. */
    int fd;
    uint64_t fd_offset;
    /* Identical ADD_MEM_REGs held: QEMU before 8.1 sends one per vhost_dev, and a multi-queue
       net device has one vhost_dev per queue pair (each REM_MEM_REG drops one). */
    unsigned refs;
};

struct devmem {
    unsigned n; /* regions, sorted by gpa, non-overlapping */
    /* Set from the SIGBUS handler when a mapped file shrank under a region (devmem_guard.h):
       the table no longer describes the guest's memory and must not be used until replaced. */
    int broken;
    /* Set before the first region is added: keep each region's fd (devmem_host_file) instead of
       closing it once mapped. Only a device that discards guest pages needs it. */
    bool keep_fds;
    struct devmem_region r[DEVMEM_MAX_REGIONS];
};

void devmem_init(struct devmem *m);

/*
 * Maps one region of fd (shared, read/write, no exec) at r->mmap_offset and adds it. The fd is
 * always consumed: closed, mapped or not, so a backend never keeps the guest's memfds open,
 * unless m->keep_fds, where a mapped region keeps it until the region goes.
 * Adding a region identical to a mapped one (gpa, size, user address) only counts it again.
 * -EINVAL for an empty or wrapping region, one overlapping an existing region (by gpa or by
 * user address), one past the end of its file or in a memfd not sealed against shrinking (each
 * logged), -ENOSPC when DEVMEM_MAX_REGIONS are in use, -errno from mmap.
 */
int devmem_add_fd(struct devmem *m, const struct vu_mem_region *r, int fd);

/* Adds a region the caller has mapped and keeps mapped (tests, fuzzing). Same checks. */
int devmem_add_host(struct devmem *m, uint64_t gpa, uint64_t uva, void *host, uint64_t size);

/* Removes the region matching gpa, uva and size exactly; -ENOENT if none does. */
int devmem_remove(struct devmem *m, const struct vu_mem_region *r);

/* Unmaps and forgets every region (and the broken state). */
void devmem_clear(struct devmem *m);

/* True once a region's file shrank under it (read by queue threads). */
static inline bool devmem_broken(const struct devmem *m)
{
    return __atomic_load_n(&m->broken, __ATOMIC_ACQUIRE);
}

/* Host pointer for [gpa, gpa + len) if it lies inside one region, else NULL. len 0 is refused. */
void *devmem_gpa(const struct devmem *m, uint64_t gpa, uint64_t len);

/* Host pointer for a frontend user-address range inside one region, else NULL. */
void *devmem_uva(const struct devmem *m, uint64_t uva, uint64_t len);

/*
 * Translates [gpa, gpa + len) into at most max iovecs, following the range across adjacent
 * regions (contiguous in gpa). Returns the number of iovecs used, -EFAULT if some byte is not
 * guest memory (or the range wraps), -ENOBUFS if it needs more than max entries.
 */
int devmem_gpa_iov(const struct devmem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
                   unsigned max);

/*
 * The file behind the host range [p, p + len) of one region (a pointer devmem_gpa or a popped
 * element gave): its fd (still owned by the table) and the file offset of p. -EFAULT when the
 * range is not inside one region (or len is 0), -EBADF when the region keeps no fd (keep_fds
 * unset, or a caller-owned region).
 */
int devmem_host_file(const struct devmem *m, const void *p, uint64_t len, int *fd, uint64_t *off);

#endif
