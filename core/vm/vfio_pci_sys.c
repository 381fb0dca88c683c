#include "core/vm/vfio_pci_sys.h"

#include <errno.h>
#include <sys/mman.h>

void *vfio_sys_map_bar(int fd, uint64_t off, size_t size)
{
    void *p;

    if (off > (uint64_t)INT64_MAX) {
        errno = EINVAL;
        return NULL;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
    return p == MAP_FAILED ? NULL : p;
}

void vfio_sys_unmap_bar(void *addr, size_t size)
{
    if (addr)
        munmap(addr, size);
}
