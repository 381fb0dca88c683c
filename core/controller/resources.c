#include "core/controller/resources.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void resources_init(struct vm_resources *r)
{
    r->kvm = -1;
    r->memfd = -1;
    r->kernel = -1;
    r->initramfs = -1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void resources_close(struct vm_resources *r)
{
    close_fd(&r->kvm);
    close_fd(&r->memfd);
    close_fd(&r->kernel);
    close_fd(&r->initramfs);
}

int resources_open_ro(const char *what, const char *path, int *fd, char *err, size_t errlen)
{
    struct stat st;
    int f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (f < 0) {
        int e = errno;

        snprintf(err, errlen, "%s: cannot open '%s': %s", what, path, strerror(e));
        return -e;
    }
    if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: '%s' is not a regular file", what, path);
        close(f);
        return -EINVAL;
    }
    *fd = f;
    return 0;
}

int resources_open_kvm(int *fd, char *err, size_t errlen)
{
    int f = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (f < 0) {
        int e = errno;

        snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(e));
        return -e;
    }
    *fd = f;
    return 0;
}

static int huge_flag(uint64_t page, unsigned *flag)
{
    unsigned shift = 0;

    if (page == 0) {
        *flag = 0;
        return 0;
    }
    if (page & (page - 1))
        return -EINVAL;
    while ((1ull << shift) < page)
        shift++;
    *flag = MFD_HUGETLB | (shift << MFD_HUGE_SHIFT);
    return 0;
}

int resources_create_ram(uint64_t size, uint64_t hugepage_size, int *fd, char *err, size_t errlen)
{
    const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    unsigned flags;
    int f, e;

    if (huge_flag(hugepage_size, &flags)) {
        snprintf(err, errlen, "--memory: hugepage_size must be a power of two");
        return -EINVAL;
    }
    f = memfd_create("cellvm-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);
    if (f < 0) {
        e = errno;
        snprintf(err, errlen, "guest memory: memfd_create%s failed: %s", flags ? " (hugetlb)" : "",
                 strerror(e));
        return -e;
    }
    if (ftruncate(f, (off_t)size) < 0 || fcntl(f, F_ADD_SEALS, seals) < 0) {
        e = errno;
        snprintf(err, errlen, "guest memory: cannot size and seal %llu bytes: %s",
                 (unsigned long long)size, strerror(e));
        close(f);
        return -e;
    }
    *fd = f;
    return 0;
}
