/* QEMU's permission bits (include/block/block-common.h, QEMU 7.2): each is locked at
 * PERM_BASE + bit when held and at SHARED_BASE + bit when others may not have it. Both sides
 * lock first and test second, so of two openers racing, the later one sees the earlier. */
#include "imglock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#define IMGLOCK_PERM_BASE   100
#define IMGLOCK_SHARED_BASE 200

enum {
    PERM_CONSISTENT_READ = 1u << 0,
    PERM_WRITE = 1u << 1,
    PERM_WRITE_UNCHANGED = 1u << 2,
    PERM_RESIZE = 1u << 3,
    PERM_ALL = 0xfu,
};

static int lock_byte(int fd, int cmd, short type, off_t off, short *seen)
{
    struct flock fl;

    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = off;
    fl.l_len = 1;
    if (fcntl(fd, cmd, &fl) < 0)
        return -errno;
    if (seen)
        *seen = fl.l_type;
    return 0;
}

/* Is byte `off` locked by another open file description? 1 yes, 0 no, -errno. */
static int held_elsewhere(int fd, off_t off)
{
    short type = F_UNLCK;
    int r = lock_byte(fd, F_OFD_GETLK, F_WRLCK, off, &type);

    return r < 0 ? r : type != F_UNLCK;
}

int imglock_release(int fd)
{
    int r, ret = 0;

    for (unsigned i = 0; (1u << i) <= PERM_ALL; i++) {
        r = lock_byte(fd, F_OFD_SETLK, F_UNLCK, IMGLOCK_PERM_BASE + i, NULL);
        ret = ret ? ret : r;
        r = lock_byte(fd, F_OFD_SETLK, F_UNLCK, IMGLOCK_SHARED_BASE + i, NULL);
        ret = ret ? ret : r;
    }
    return ret;
}

int imglock_acquire(int fd, bool write)
{
    /* A writer holds what QEMU's writable virtio-blk holds and shares only reading, as QEMU
     * does without share-rw; a reader refuses to share writing. */
    uint32_t perm = write ? PERM_CONSISTENT_READ | PERM_WRITE | PERM_RESIZE : PERM_CONSISTENT_READ;
    uint32_t unshared = write ? PERM_WRITE | PERM_RESIZE : PERM_WRITE;
    int r = 0;

    for (unsigned i = 0; (1u << i) <= PERM_ALL && r >= 0; i++) {
        if (perm & (1u << i))
            r = lock_byte(fd, F_OFD_SETLK, F_RDLCK, IMGLOCK_PERM_BASE + i, NULL);
        if (r >= 0 && (unshared & (1u << i)))
            r = lock_byte(fd, F_OFD_SETLK, F_RDLCK, IMGLOCK_SHARED_BASE + i, NULL);
    }
    /* Another holder of a permission we refuse to share, or a refuser of one we hold. */
    for (unsigned i = 0; (1u << i) <= PERM_ALL && r == 0; i++) {
        if (perm & (1u << i))
            r = held_elsewhere(fd, IMGLOCK_SHARED_BASE + i);
        if (r == 0 && (unshared & (1u << i)))
            r = held_elsewhere(fd, IMGLOCK_PERM_BASE + i);
    }
    if (r == 0)
        return 0;
    (void)imglock_release(fd);
    /* A lock refused at F_OFD_SETLK means an exclusive holder: a conflict too. */
    return r > 0 || r == -EAGAIN || r == -EACCES ? -EBUSY : r;
}
