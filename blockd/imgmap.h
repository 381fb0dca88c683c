/* A read-only shared mapping of an image on a memory file system, so a queue thread reads guest
 * data with a copy instead of a system call or an io_uring worker.
 *
 * Why: tmpfs and ramfs take no IOCB_NOWAIT on the kernels this runs on, so io_uring hands every
 * read of such an image to an io-wq worker thread (a wake-up and a thread switch per batch),
 * and a preadv per request costs a kernel entry each, which a paravirtualised host makes dear.
 * Both were measured (README.md, "Performance"); the copy out of the page cache is the cheapest
 * way there is, and reads stay coherent with writes, discards and resizes done through the fd
 * (the mapping is of the same page cache).
 *
 * Only (nearly) fully allocated images are mapped: a read fault on a tmpfs hole allocates a
 * page, which a read(2) would not. Writes never go through the mapping. The mapping covers the
 * size at open; a request beyond it (after a Resize, or a QCOW2 cluster allocated since) uses
 * the fd. Pages a guest has read count in this process's resident set (shared with the page
 * cache, as any shared file mapping). A file
 * shrunk under the mapping raises SIGBUS: the executable guards the mapping (devmem_guard.h),
 * which maps a zero page over the fault and sets `broken`; from then on the mapping is not
 * used, and a copy that overlapped the fault fails with -EIO.
 */
#ifndef CELLVM_BLOCKD_IMGMAP_H
#define CELLVM_BLOCKD_IMGMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct imgmap {
    const uint8_t *base; /* NULL: not mapped */
    uint64_t len;
    int broken; /* written by the SIGBUS guard (any thread), read with atomics */
    int guard;  /* the guard's slot, -1 none (kept by the executable) */
};

/* Nothing mapped; call before anything else. */
void imgmap_init(struct imgmap *m);

/*
 * Maps fd (read-only, shared) when it is a regular file of size bytes on tmpfs or ramfs, opened
 * without O_DIRECT, with at most size / 16 bytes of holes; otherwise leaves m unmapped. Before
 * the jail. Returns 1 mapped, 0 not mapped (not a memory file system, sparse, direct, empty), or
 * -errno.
 */
int imgmap_open(struct imgmap *m, int fd, uint64_t size, bool direct);

/* Unmaps (the caller removed the guard first). */
void imgmap_close(struct imgmap *m);

/*
 * Copies len bytes at image offset off into iov[0..niov) (which holds at least len bytes).
 * 0 done; -ERANGE not (entirely) mapped or the mapping is broken: use the fd; -EIO the mapping
 * broke during the copy, the data cannot be trusted.
 */
int imgmap_read(const struct imgmap *m, uint64_t off, uint64_t len, const struct iovec *iov,
                unsigned niov);

#endif
