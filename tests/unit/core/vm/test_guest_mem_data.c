/* guest_mem_fd_data / guest_mem_next_data on a real memfd: where guest RAM holds data, so
 * vm.snapshot, vm.restore and migration skip what was never touched without reading it. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/mem/guest_mem.h"

#define PAGE 4096u
#define NPG  64u

/* A 64-page memfd with data written at the pages listed (-1 ends the list). */
static int memfd_with(const int *pages)
{
    int fd = memfd_create("guest-mem-data", MFD_CLOEXEC);
    char b[PAGE];

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, NPG * PAGE), 0);
    memset(b, 0xa5, sizeof(b));
    for (; *pages >= 0; pages++)
        cr_assert_eq(pwrite(fd, b, PAGE, (off_t)*pages * PAGE), PAGE);
    return fd;
}

Test(guest_mem_data, stretches_of_a_memfd)
{
    static const int pages[] = { 3, 4, 5, 20, 63, -1 };
    int fd = memfd_with(pages);
    uint64_t a, b;

    guest_mem_fd_data(fd, 0, 0, NPG * PAGE, &a, &b);
    cr_expect_eq(a, 3 * PAGE);
    cr_expect_eq(b, 6 * PAGE);
    guest_mem_fd_data(fd, 0, b, NPG * PAGE, &a, &b);
    cr_expect_eq(a, 20 * PAGE);
    cr_expect_eq(b, 21 * PAGE);
    guest_mem_fd_data(fd, 0, 21 * PAGE, NPG * PAGE, &a, &b);
    cr_expect_eq(a, 63 * PAGE);
    cr_expect_eq(b, NPG * PAGE);
    /* inside a stretch: starts where asked */
    guest_mem_fd_data(fd, 0, 4 * PAGE, NPG * PAGE, &a, &b);
    cr_expect_eq(a, 4 * PAGE);
    cr_expect_eq(b, 6 * PAGE);
    /* bounded by end: the data past it does not count */
    guest_mem_fd_data(fd, 0, 6 * PAGE, 20 * PAGE, &a, &b);
    cr_expect_eq(a, 20 * PAGE, "no data in [6, 20) pages");
    /* a window at an offset of the fd (a region inside a zone) */
    guest_mem_fd_data(fd, 16 * PAGE, 0, 16 * PAGE, &a, &b);
    cr_expect_eq(a, 4 * PAGE);
    cr_expect_eq(b, 5 * PAGE);
    /* a punched page is a hole again (virtio-mem unplug, balloon) */
    cr_assert_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * PAGE, PAGE), 0);
    guest_mem_fd_data(fd, 0, 0, NPG * PAGE, &a, &b);
    cr_expect_eq(a, 3 * PAGE);
    cr_expect_eq(b, 4 * PAGE);
    close(fd);
}

Test(guest_mem_data, no_data_and_no_answer)
{
    static const int none[] = { -1 };
    int fd = memfd_with(none);
    uint64_t a, b;

    guest_mem_fd_data(fd, 0, 0, NPG * PAGE, &a, &b);
    cr_expect_eq(a, NPG * PAGE, "an untouched memfd has no data");
    /* no fd: all of it is data (read it to know) */
    guest_mem_fd_data(-1, 0, 8 * PAGE, NPG * PAGE, &a, &b);
    cr_expect_eq(a, 8 * PAGE);
    cr_expect_eq(b, NPG * PAGE);
    close(fd);
}

Test(guest_mem_data, private_mapping_reads_all)
{
    static const int none[] = { -1 };
    int fd = memfd_with(none);
    struct guest_mem_region g = { .size = NPG * PAGE, .fd = fd, .core_only = true };
    uint64_t a, b;

    guest_mem_next_data(&g, 0, &a, &b);
    cr_expect_eq(a, 0, "a private mapping's pages are not in its fd");
    cr_expect_eq(b, NPG * PAGE);
    g.core_only = false;
    guest_mem_next_data(&g, 0, &a, &b);
    cr_expect_eq(a, NPG * PAGE);
    close(fd);
}
