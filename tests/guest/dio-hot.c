/* cellvm-dio-hot DEV [MIN_PHYS]: an O_DIRECT write and read of DEV's first 64 KiB whose buffer
 * lies in guest-physical memory at or above MIN_PHYS (default 4 GiB: in a guest booted with less
 * than 3 GiB only hot-added RAM is there). The buffer is picked from pinned anonymous memory by
 * its physical address (/proc/self/pagemap, root only), so the disk's device process must have
 * the hot-added region mapped to serve both requests. Exit 0 when the data read back is the data
 * written; 1 with a reason otherwise. Runs in the L2 guest (issue 17). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define POOL (64u << 20) /* where a page at MIN_PHYS is looked for */
#define IO   (64u << 10) /* 16 contiguous virtual pages, each checked */

static int fail(const char *what)
{
    fprintf(stderr, "cellvm-dio-hot: %s: %s\n", what, errno ? strerror(errno) : "failed");
    return 1;
}

/* The physical address of the page at va, or 0 when absent or unreadable. */
static uint64_t phys_of(int pm, const void *va)
{
    uint64_t e;
    off_t at = (off_t)((uintptr_t)va / PAGE * sizeof(e));

    if (pread(pm, &e, sizeof(e), at) != (ssize_t)sizeof(e) || !(e >> 63))
        return 0;
    return (e & ((1ull << 55) - 1)) * PAGE;
}

/* The first IO-sized run in pool whose every page lies at or above min, or NULL. */
static uint8_t *find_run(int pm, uint8_t *pool, uint64_t min, uint64_t *first)
{
    for (size_t off = 0; off + IO <= POOL; off += IO) {
        size_t p = 0;

        for (; p < IO; p += PAGE)
            if (phys_of(pm, pool + off + p) < min)
                break;
        if (p == IO) {
            *first = phys_of(pm, pool + off);
            return pool + off;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t min = argc > 2 ? strtoull(argv[2], NULL, 0) : 1ull << 32, first = 0;
    uint8_t *pool, *buf;
    int pm, fd;

    if (argc < 2)
        return fprintf(stderr, "usage: cellvm-dio-hot DEV [MIN_PHYS]\n"), 2;
    pool =
        mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (pool == MAP_FAILED)
        return fail("mmap");
    if (mlock(pool, POOL)) /* no migration between the lookup and the I/O */
        return fail("mlock");
    for (size_t i = 0; i < POOL; i += PAGE)
        pool[i] = 1;
    pm = open("/proc/self/pagemap", O_RDONLY);
    if (pm < 0)
        return fail("/proc/self/pagemap");
    buf = find_run(pm, pool, min, &first);
    if (!buf) {
        errno = 0;
        fprintf(stderr,
                "cellvm-dio-hot: none of %u MiB of fresh memory lies at or above 0x%" PRIx64
                " (no hot-added RAM in use?)\n",
                POOL >> 20, min);
        return 1;
    }
    fd = open(argv[1], O_RDWR | O_DIRECT);
    if (fd < 0)
        return fail(argv[1]);
    for (size_t i = 0; i < IO; i++)
        buf[i] = (uint8_t)(i * 7 + 0x5a);
    if (pwrite(fd, buf, IO, 0) != (ssize_t)IO)
        return fail("O_DIRECT write from hot-added memory");
    memset(buf, 0, IO);
    if (pread(fd, buf, IO, 0) != (ssize_t)IO)
        return fail("O_DIRECT read into hot-added memory");
    for (size_t i = 0; i < IO; i++)
        if (buf[i] != (uint8_t)(i * 7 + 0x5a)) {
            fprintf(stderr, "cellvm-dio-hot: byte %zu read back as 0x%02x\n", i, buf[i]);
            return 1;
        }
    if (phys_of(pm, buf) != first) {
        errno = 0;
        return fail("the buffer moved during the I/O");
    }
    printf("cellvm-dio-hot: %u KiB written and read back with O_DIRECT through a buffer at "
           "guest-physical 0x%" PRIx64 "\n",
           IO >> 10, first);
    close(fd);
    close(pm);
    return 0;
}
