#include "device-procs/ratelimit_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

int rl_sys_map(int fd, size_t len, void **out, const char **why)
{
    struct stat st;
    int seals;
    void *p;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len) {
        *why = "not a memfd of the region's size";
        return -EINVAL;
    }
    /* Sealed, so no member can shrink it under the others (SIGBUS) or grow it. */
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
        *why = "not sealed against resizing";
        return -EINVAL;
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        *why = "cannot be mapped";
        return -errno;
    }
    *out = p;
    return 0;
}

void rl_sys_unmap(void *p, size_t len)
{
    if (p)
        munmap(p, len);
}
