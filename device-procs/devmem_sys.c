#include "device-procs/devmem_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int devmem_sys_map(int fd, uint64_t offset, uint64_t len, void **out)
{
    void *p;

    if (len == 0 || len > SIZE_MAX || offset > (uint64_t)INT64_MAX)
        return -EINVAL;
    /* MAP_NORESERVE: the frontend owns the memory; no exec, ever. */
    p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
             (off_t)offset);
    if (p == MAP_FAILED)
        return -errno;
    *out = p;
    return 0;
}

void devmem_sys_unmap(void *addr, uint64_t len)
{
    if (addr && len)
        munmap(addr, (size_t)len);
}

int devmem_sys_memfd(const char *name, uint64_t len, int *fd, void **out)
{
    int f = -1;
    int r;

    if (len == 0 || len > (uint64_t)INT64_MAX)
        return -EINVAL;
    f = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (f < 0)
        return -errno;
    if (ftruncate(f, (off_t)len) < 0) {
        r = -errno;
        goto fail;
    }
    /* The frontend maps it too; a peer must not be able to shrink it under us. */
    if (fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        r = -errno;
        goto fail;
    }
    r = devmem_sys_map(f, 0, len, out);
    if (r)
        goto fail;
    *fd = f;
    return 0;
fail:
    close(f);
    return r;
}
