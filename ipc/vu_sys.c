#include "ipc/vu_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int vu_sys_memfd(const char *name, uint64_t len, int *fd, void **out)
{
    int f;
    void *p;
    int r = 0;

    if (len == 0 || len > (uint64_t)INT64_MAX)
        return -EINVAL;
    f = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (f < 0)
        return -errno;
    /* Sealed as the controller seals guest RAM: backends refuse a memfd that could shrink. */
    if (ftruncate(f, (off_t)len) < 0 || fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
        r = -errno;
        goto out;
    }
    p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    if (p == MAP_FAILED) {
        r = -errno;
        goto out;
    }
    *out = p;
    *fd = f;
    f = -1;
out:
    if (f >= 0)
        close(f);
    return r;
}

void vu_sys_unmap(void *addr, uint64_t len)
{
    if (addr && len)
        munmap(addr, (size_t)len);
}
