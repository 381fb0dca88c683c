#include "runner_sys.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

int runner_map_ram(uint64_t size, int *fd_out, uint8_t **host_out)
{
    int fd = memfd_create("cellvm-guest-ram", MFD_CLOEXEC);
    void *p;
    int r;

    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        r = -errno;
        close(fd);
        return r;
    }
    *fd_out = fd;
    *host_out = p;
    return 0;
}

void runner_unmap_ram(uint8_t *host, uint64_t size)
{
    if (host)
        munmap(host, size);
}
