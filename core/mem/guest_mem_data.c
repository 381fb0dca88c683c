/* Where a region's memory holds data, from its fd (guest_mem.h, guest_mem_next_data). */
#include <errno.h>
#include <unistd.h>

#include "core/mem/guest_mem.h"

#define PAGE 4096u

void guest_mem_fd_data(int fd, uint64_t base, uint64_t p, uint64_t end, uint64_t *a, uint64_t *b)
{
    off_t d, h;

    *a = p;
    *b = end;
    if (fd < 0 || p >= end)
        return;
    d = lseek(fd, (off_t)(base + p), SEEK_DATA);
    if (d < 0) {
        if (errno == ENXIO) /* nothing but hole from here to the end of the file */
            *a = end;
        return;
    }
    if ((uint64_t)d >= base + end) {
        *a = end;
        return;
    }
    *a = ((uint64_t)d - base) & ~(uint64_t)(PAGE - 1);
    if (*a < p)
        *a = p;
    h = lseek(fd, d, SEEK_HOLE);
    if (h > d && (uint64_t)h - base < end)
        *b = ((uint64_t)h - base + PAGE - 1) & ~(uint64_t)(PAGE - 1);
}

void guest_mem_next_data(const struct guest_mem_region *g, uint64_t p, uint64_t *a, uint64_t *b)
{
    /* A private mapping's pages are not the fd's: only reading them tells. */
    guest_mem_fd_data(g->core_only ? -1 : g->fd, g->fd_offset, p, g->size, a, b);
}
