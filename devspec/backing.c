/* Backing-file policy. The path comes from an image a guest may have written, so it is treated
 * as hostile: it is resolved once (every symlink followed) and the resolved name is what gets
 * checked and opened, without following a symlink in its last component, and the opened file is
 * checked again through its fd. */
#include "backing.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((format(printf, 4, 5))) static int refuse(char *err, size_t errlen, int r,
                                                        const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return r;
}

/* True if path equals dir or lies below it; both are resolved, absolute names. */
static bool under_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (strncmp(path, dir, n) != 0)
        return false;
    return n == 1 || path[n] == '/' || path[n] == 0;
}

static int check_dirs(const struct backing_policy *p, const char *real, char *err, size_t errlen)
{
    char dir[PATH_MAX];

    if (!p->allowed_dirs || p->n_allowed_dirs == 0)
        return 0;
    for (size_t i = 0; i < p->n_allowed_dirs; i++) {
        if (p->allowed_dirs[i] && realpath(p->allowed_dirs[i], dir) && under_dir(real, dir))
            return 0;
    }
    return refuse(err, errlen, -EACCES, "backing file %s lies outside the allowed directories",
                  real);
}

/* Joins a relative name onto the image directory; absolute names are taken as they are. */
static int join(const struct backing_policy *p, const char *name, char *out, size_t outlen)
{
    int n;

    if (name[0] == '/')
        n = snprintf(out, outlen, "%s", name);
    else
        n = snprintf(out, outlen, "%s/%s", p->image_dir ? p->image_dir : ".", name);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int backing_open(const struct backing_policy *policy, const char *requested_path, bool readonly,
                 int *fd_out, char *err, size_t errlen)
{
    char full[PATH_MAX], real[PATH_MAX];
    struct stat st;
    int fd = -1, r;

    *fd_out = -1;
    if (!policy->allow)
        return refuse(err, errlen, -EPERM,
                      "the image names a backing file (%s); backing files are off: give "
                      "backing_files=on in --disk to allow them",
                      requested_path ? requested_path : "");
    if (!readonly)
        return refuse(err, errlen, -EPERM, "backing files are opened read-only");
    if (!requested_path || !requested_path[0] || strnlen(requested_path, PATH_MAX) >= PATH_MAX)
        return refuse(err, errlen, -EINVAL, "backing file name is empty or too long");
    if (join(policy, requested_path, full, sizeof(full)) < 0)
        return refuse(err, errlen, -ENAMETOOLONG, "backing file name is too long");
    if (!realpath(full, real))
        return refuse(err, errlen, -errno, "backing file %s: %s", full, strerror(errno));
    r = check_dirs(policy, real, err, errlen);
    if (r < 0)
        return r;
    /* O_NONBLOCK: a FIFO swapped in after realpath must not hang the controller. */
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return refuse(err, errlen, -errno, "backing file %s: %s", real, strerror(errno));
    if (fstat(fd, &st) < 0) {
        r = refuse(err, errlen, -errno, "backing file %s: %s", real, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        r = refuse(err, errlen, -EINVAL, "backing file %s is not a regular file", real);
        goto fail;
    }
    if (st.st_dev == policy->image_dev && st.st_ino == policy->image_ino) {
        r = refuse(err, errlen, -ELOOP, "backing file %s is the disk image itself", real);
        goto fail;
    }
    if (fcntl(fd, F_SETFL, 0) < 0) {
        r = refuse(err, errlen, -errno, "backing file %s: %s", real, strerror(errno));
        goto fail;
    }
    *fd_out = fd;
    return 0;
fail:
    close(fd);
    return r;
}
