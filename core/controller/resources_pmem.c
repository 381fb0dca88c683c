/* --pmem's file, opened for the core (Cloud Hypervisor's rules): a directory gets an unnamed
 * temporary file of size bytes; a file is opened read-write, or read-only with
 * discard_writes=on (the core maps it private), and is at least size bytes, its own size when
 * size is not given; either way the size is a multiple of 2 MiB. */
#include "core/controller/resources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PMEM_ALIGN (2ull << 20)

static int open_tmp(const struct resources_pmem *p, int *fd, char *err, size_t errlen)
{
    int f;

    if (!p->has_size) {
        snprintf(err, errlen, "--pmem: file '%s' is a directory: size= is required", p->file);
        return -EINVAL;
    }
    f = open(p->file, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (f < 0) {
        snprintf(err, errlen, "--pmem: cannot create a file in '%s': %s", p->file, strerror(errno));
        return -errno;
    }
    if (ftruncate(f, (off_t)p->size) < 0) {
        int r = -errno;

        snprintf(err, errlen, "--pmem: cannot size a file in '%s' to %llu bytes: %s", p->file,
                 (unsigned long long)p->size, strerror(-r));
        close(f);
        return r;
    }
    *fd = f;
    return 0;
}

int resources_open_pmem(const struct resources_pmem *p, int *fd, uint64_t *size, char *err,
                        size_t errlen)
{
    struct stat st;
    int f, r;

    *fd = -1;
    if (stat(p->file, &st) == 0 && S_ISDIR(st.st_mode)) {
        *size = p->size;
        return open_tmp(p, fd, err, errlen);
    }
    f = open(p->file, (p->discard_writes ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
    if (f < 0) {
        r = -errno;
        snprintf(err, errlen, "--pmem: cannot open '%s'%s: %s", p->file,
                 p->discard_writes ? "" : " for writing", strerror(-r));
        return r;
    }
    if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(f);
        snprintf(err, errlen, "--pmem: '%s' is not a regular file or a directory", p->file);
        return -EINVAL;
    }
    *size = p->has_size ? p->size : (uint64_t)st.st_size;
    r = 0;
    if (*size == 0 || *size % PMEM_ALIGN) {
        snprintf(err, errlen, "--pmem: '%s': %llu bytes is not a non-zero multiple of 2 MiB",
                 p->file, (unsigned long long)*size);
        r = -EINVAL;
    } else if ((uint64_t)st.st_size < *size) {
        snprintf(err, errlen, "--pmem: '%s' is %llu bytes, smaller than size=%llu", p->file,
                 (unsigned long long)st.st_size, (unsigned long long)*size);
        r = -EINVAL;
    }
    if (r) {
        close(f);
        return r;
    }
    *fd = f;
    return 0;
}
