#include "vfiod/vfiod_dma_sys.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

void *vfiod_dma_sys_map(int fd, uint64_t off, uint64_t size, int prot, int *err)
{
    void *p;

    if (prot & ~(PROT_READ | PROT_WRITE)) {
        *err = -EINVAL;
        return NULL;
    }
    p = mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, (off_t)off);
    if (p == MAP_FAILED) {
        *err = -errno;
        return NULL;
    }
    return p;
}

void vfiod_dma_sys_unmap(void *p, uint64_t size)
{
    munmap(p, (size_t)size);
}
