#include "balloond/balloon_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>

int balloon_sys_punch(int fd, uint64_t off, uint64_t len)
{
    if (off > INT64_MAX || len > INT64_MAX - off)
        return -EINVAL;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
        return -errno;
    return 0;
}
