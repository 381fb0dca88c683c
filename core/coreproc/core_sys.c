#include "core/coreproc/core_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Host nodes a zone may be bound to; the mask below has a bit for each. */
#define MAX_HOST_NODES 1024
#define LONG_BITS      (8 * sizeof(unsigned long))

int core_map_pmem(int fd, uint64_t size, bool discard_writes, uint8_t **out)
{
    struct stat st;
    void *p;

    *out = NULL;
    if (fstat(fd, &st) < 0)
        return -errno;
    /* Pages past the end of the file would fault SIGBUS in this process. */
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < size || size > SIZE_MAX)
        return -EINVAL;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE,
             MAP_NORESERVE | (discard_writes ? MAP_PRIVATE : MAP_SHARED), fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *out = p;
    return 0;
}

int core_map_ram(int fd, uint64_t size, bool sealed, bool thp, uint8_t **out)
{
    const int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    struct stat st;
    void *p;
    int seals;

    *out = NULL;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < size ||
        (sealed && (uint64_t)st.st_size != size))
        return -EINVAL;
    /* The controller seals memfd RAM so no process can shrink it under a mapping (SIGBUS).
     * A file= zone is the operator's file, which cannot be sealed. */
    if (sealed) {
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0)
            return -errno;
        if ((seals & want) != want)
            return -EPERM;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    /* THP on shmem takes effect only where shmem_enabled is "advise"; failure is harmless. */
    if (thp)
        (void)madvise(p, size, MADV_HUGEPAGE);
    *out = p;
    return 0;
}

void core_unmap_ram(uint8_t *host, uint64_t size)
{
    if (host)
        munmap(host, size);
}

int core_bind_ram(uint8_t *host, uint64_t size, uint32_t node)
{
    unsigned long mask[MAX_HOST_NODES / LONG_BITS] = { 0 };

    if (node >= MAX_HOST_NODES)
        return -EINVAL;
    mask[node / LONG_BITS] = 1ul << (node % LONG_BITS);
    /* No libnuma: the raw call. On a shared mapping the policy is the file's, so device
     * processes that map the zone later allocate from the same node. */
    if (syscall(SYS_mbind, host, size, MPOL_BIND, mask, MAX_HOST_NODES + 1, 0) < 0)
        return -errno;
    return 0;
}

int core_prefault_ram(uint8_t *host, uint64_t size)
{
    if (madvise(host, size, MADV_POPULATE_WRITE) == 0)
        return 0;
    if (errno != EINVAL)
        return -errno;
    /* Before Linux 5.14: touch each page; a read fault allocates shmem and hugetlb pages. */
    for (uint64_t off = 0; off < size; off += 4096)
        (void)*(volatile uint8_t *)(host + off);
    return 0;
}
