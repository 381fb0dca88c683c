/* Backing-file policy (--disk backing_files=): a device process that parsed an image asks for
 * the file the image names; this module decides whether policy allows it and opens it. It never
 * reads the file: telling formats apart and walking the chain is the device's job. The
 * controller applies it to open-backing-file requests; a standalone cellvm-blockd applies the
 * same function itself before it jails. */
#ifndef CELLVM_DEVSPEC_BACKING_H
#define CELLVM_DEVSPEC_BACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct backing_policy {
    bool allow;            /* backing_files=on; off refuses every request */
    const char *image_dir; /* directory of the disk image: relative names resolve here */
    /* The disk image itself (st_dev/st_ino): a backing file naming it is refused. */
    dev_t image_dev;
    ino_t image_ino;
    /* Directories a backing file must lie under after every symlink is resolved; NULL or an
     * empty list: anywhere the controller can read. */
    const char *const *allowed_dirs;
    size_t n_allowed_dirs;
};

/*
 * Opens requested_path for a device process. Relative paths resolve against
 * policy->image_dir. Refused: policy off (-EPERM, the message says how to allow it), a write
 * request (-EPERM: backing files are read-only), an empty or overlong name (-EINVAL), anything
 * but a regular file (-EINVAL: devices, FIFOs, directories), the disk image itself (-ELOOP), a
 * path outside allowed_dirs (-EACCES). On success *fd_out is an O_RDONLY|O_CLOEXEC fd the
 * caller owns; on failure err says why. Returns 0 or -errno.
 */
int backing_open(const struct backing_policy *policy, const char *requested_path, bool readonly,
                 int *fd_out, char *err, size_t errlen);

#endif
