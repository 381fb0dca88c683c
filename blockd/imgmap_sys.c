/* The syscalls of imgmap.h: the file system check and the mapping itself. */
#include "imgmap.h"

#include <errno.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

int imgmap_open(struct imgmap *m, int fd, uint64_t size, bool direct)
{
    struct statfs sfs;
    struct stat st;
    void *p;

    imgmap_init(m);
    if (direct || size == 0 || size > (uint64_t)SIZE_MAX)
        return 0;
    if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
        return -errno;
    if ((sfs.f_type != TMPFS_MAGIC && sfs.f_type != RAMFS_MAGIC) || !S_ISREG(st.st_mode))
        return 0;
    /* A read fault fills a hole: sparse images keep the fd path. QCOW2 files have a few holes
     * between their tables, so up to a sixteenth of the file may be holes (the most memory a
     * guest's reads can add to the file). */
    if ((uint64_t)st.st_size < size || (uint64_t)st.st_blocks * 512u < size - size / 16)
        return 0;
    p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    m->base = p;
    m->len = size;
    return 1;
}

void imgmap_close(struct imgmap *m)
{
    if (m->base)
        munmap((void *)m->base, (size_t)m->len);
    imgmap_init(m);
}
