#include "core/vm/vm_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

void *vm_sys_map_vcpu_run(int vcpu_fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd, 0);

    return p == MAP_FAILED ? NULL : p;
}

void *vm_sys_map_ram(int fd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    return p == MAP_FAILED ? NULL : p;
}

int vm_sys_map_pmem(int fd, uint64_t size, int discard_writes, uint8_t **out)
{
    struct stat st;
    void *p;

    *out = NULL;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < size || size > SIZE_MAX || !size)
        return -EINVAL;
    p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
             MAP_NORESERVE | (discard_writes ? MAP_PRIVATE : MAP_SHARED), fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *out = p;
    return 0;
}

int vm_sys_punch_hole(int fd, uint64_t offset, uint64_t len)
{
    if (offset > INT64_MAX || len > INT64_MAX - offset)
        return -EINVAL;
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) < 0
               ? -errno
               : 0;
}

int vm_sys_fdatasync(int fd)
{
    return fdatasync(fd) < 0 ? -errno : 0;
}

void vm_sys_unmap(void *addr, size_t size)
{
    if (addr)
        munmap(addr, size);
}

static void kick_handler(int signo)
{
    (void)signo;
}

int vm_sys_install_kick_handler(int signo)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL) < 0 ? -errno : 0;
}

int vm_sys_pin_thread(pthread_t thread, size_t setsize, const cpu_set_t *set)
{
    return -pthread_setaffinity_np(thread, setsize, set);
}
