#include "core/coreproc/core_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>

int core_map_ram(int memfd, uint64_t size, bool thp, bool prefault, uint8_t **out)
{
    const int want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    struct stat st;
    void *p;
    int seals;

    *out = NULL;
    if (fstat(memfd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
        return -EINVAL;
    /* The controller seals guest RAM so no process can shrink it under a mapping (SIGBUS). */
    seals = fcntl(memfd, F_GET_SEALS);
    if (seals < 0)
        return -errno;
    if ((seals & want) != want)
        return -EPERM;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | (prefault ? MAP_POPULATE : 0), memfd,
             0);
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
