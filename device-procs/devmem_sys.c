#include "device-procs/devmem_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

int devmem_sys_check_fd(int fd, uint64_t offset, uint64_t len, const char **why)
{
    struct stat st;
    int seals;

    if (len == 0 || offset + len < offset) {
        *why = "offset + size overflows";
        return -EINVAL;
    }
    if (fstat(fd, &st) < 0) {
        *why = "cannot stat the fd";
        return -errno;
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < offset + len) {
        *why = "the range ends past the end of its file";
        return -EINVAL;
    }
    /*
     * F_GET_SEALS succeeds on every shmem and hugetlbfs file, not only on memfds: a file under
     * /dev/shm (QEMU's memory-backend-file) and a memfd made without MFD_ALLOW_SEALING both
     * report F_SEAL_SEAL alone and can never be sealed. Those are taken like regular files (the
     * SIGBUS guard covers a later truncate); refused is a file that could be sealed and is not.
     */
    seals = fcntl(fd, F_GET_SEALS);
    if (seals >= 0 && !(seals & (F_SEAL_SHRINK | F_SEAL_SEAL))) {
        *why = "a memfd not sealed against shrinking (F_SEAL_SHRINK)";
        return -EINVAL;
    }
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

int devmem_sys_zero_over(void *addr, uint64_t len)
{
    if (mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
        MAP_FAILED)
        return -errno;
    return 0;
}
