/* DMA_MAP / DMA_UNMAP and disconnect over a socketpair with the fake device. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/vfiod/test_util.h"

#define GUEST_SIZE (64u << 10)

static struct vfu_dma_map dmap(uint64_t addr, uint64_t off, uint64_t size, uint32_t flags)
{
    return (struct vfu_dma_map){ .argsz = sizeof(struct vfu_dma_map),
                                 .flags = flags,
                                 .offset = off,
                                 .addr = addr,
                                 .size = size };
}

static uint32_t map(struct tconn *t, uint64_t addr, uint64_t off, uint64_t size, int fd)
{
    struct vfu_dma_map m = dmap(addr, off, size, VFU_DMA_READ | VFU_DMA_WRITE);
    struct vfu_msg r;
    uint32_t e = t_call(t, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1, &r);

    if (!e)
        cr_assert_eq(r.len, 0);
    vfu_msg_release(&r);
    return e;
}

static uint32_t unmap(struct tconn *t, uint64_t addr, uint64_t size)
{
    struct vfu_dma_unmap u = { .argsz = sizeof(u), .addr = addr, .size = size };
    struct vfu_msg r;
    uint32_t e = t_call(t, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, &r);

    if (!e) {
        cr_assert_eq(r.len, sizeof(u));
        cr_assert_arr_eq(r.payload, &u, sizeof(u));
    }
    vfu_msg_release(&r);
    return e;
}

static long vm_maps(void)
{
    /* Our mappings of the test memfds show up as /memfd:t-guest lines. */
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    long n = 0;

    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "/memfd:t-guest"))
            n++;
    fclose(f);
    return n;
}

Test(vfiod_dma, map_then_unmap)
{
    struct tconn *t = t_open(true);
    int fd = t_memfd(GUEST_SIZE), before;
    char mark[8];

    before = t_count_fds();
    cr_assert_eq(map(t, 0x100000, 0x2000, 0x4000, fd), 0);
    cr_assert_eq(t_count_fds(), before, "the received fd is closed once mapped");
    cr_assert_eq(t->dev.nmap_calls, 1);
    cr_assert_eq(t->dev.map_calls[0].iova, 0x100000);
    cr_assert_eq(t->dev.map_calls[0].size, 0x4000);
    cr_assert_eq(t->dev.map_calls[0].prot, VFU_DMA_READ | VFU_DMA_WRITE);
    /* The device wrote through the server's mapping into the client's memory. */
    cr_assert_eq(pread(fd, mark, 8, 0x2000), 8);
    cr_assert_arr_eq(mark, "fake-dma", 8);
    cr_assert_eq(vm_maps(), 1);
    cr_assert_eq(unmap(t, 0x100000, 0x4000), 0);
    cr_assert_eq(t->dev.nunmap_calls, 1);
    cr_assert_eq(t->dev.unmap_calls[0].iova, 0x100000);
    cr_assert_eq(t->dev.live_maps, 0);
    cr_assert_eq(vm_maps(), 0);
    /* The same range can be mapped again. */
    cr_assert_eq(map(t, 0x100000, 0, 0x4000, fd), 0);
    cr_assert_eq(unmap(t, 0x100000, 0x4000), 0);
    close(fd);
    t_close(t);
}

Test(vfiod_dma, read_only_map)
{
    struct tconn *t = t_open(true);
    int fd = t_memfd(GUEST_SIZE);
    struct vfu_dma_map m = dmap(0, 0, 0x1000, VFU_DMA_READ);
    struct vfu_msg r;
    char mark[8] = { 0 };

    cr_assert_eq(t_call(t, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1, &r), 0);
    vfu_msg_release(&r);
    cr_assert_eq(t->dev.map_calls[0].prot, VFU_DMA_READ);
    cr_assert_eq(pread(fd, mark, 8, 0), 8);
    cr_assert_arr_neq(mark, "fake-dma", 8);
    close(fd);
    t_close(t);
}

Test(vfiod_dma, maps_refused)
{
    struct tconn *t = t_open(true);
    int fd = t_memfd(GUEST_SIZE), fds[2] = { fd, fd }, before;
    int efd = t_eventfd();
    struct vfu_dma_map m;

    before = t_count_fds();
    cr_assert_eq(map(t, 0x10000, 0, 0x8000, fd), 0);
#define REFUSE(M, FDS, N, ERR)                                        \
    do {                                                              \
        m = (M);                                                      \
        t_expect_err(t, VFU_CMD_DMA_MAP, &m, sizeof(m), FDS, N, ERR); \
    } while (0)
    const uint32_t rw = VFU_DMA_READ | VFU_DMA_WRITE;

    /* Outside the fd: past its end, wrapping offset. */
    REFUSE(dmap(0x40000, GUEST_SIZE - 0x1000, 0x2000, rw), &fd, 1, EINVAL);
    REFUSE(dmap(0x40000, GUEST_SIZE, 0x1000, rw), &fd, 1, EINVAL);
    REFUSE(dmap(0x40000, UINT64_MAX - 0xfff, 0x1000, rw), &fd, 1, EINVAL);
    REFUSE(dmap(0x40000, 0, 0x1000, rw), &efd, 1, EINVAL); /* not a file */
    /* Zero, unaligned, wrapping IOVA, no access. */
    REFUSE(dmap(0x40000, 0, 0, rw), &fd, 1, EINVAL);
    REFUSE(dmap(0x40800, 0, 0x1000, rw), &fd, 1, EINVAL);
    REFUSE(dmap(0x40000, 0x800, 0x1000, rw), &fd, 1, EINVAL);
    REFUSE(dmap(0x40000, 0, 0x1800, rw), &fd, 1, EINVAL);
    REFUSE(dmap(UINT64_MAX - 0xfff, 0, 0x2000, rw), &fd, 1, EINVAL);
    REFUSE(dmap(0x40000, 0, 0x1000, 0), &fd, 1, EINVAL);
    REFUSE(dmap(0x40000, 0, 0x1000, 0x4), &fd, 1, EINVAL);
    /* Overlaps: inside, across each end, spanning. */
    REFUSE(dmap(0x11000, 0, 0x1000, rw), &fd, 1, EEXIST);
    REFUSE(dmap(0xf000, 0, 0x2000, rw), &fd, 1, EEXIST);
    REFUSE(dmap(0x17000, 0, 0x2000, rw), &fd, 1, EEXIST);
    REFUSE(dmap(0xc000, 0, 0x10000, rw), &fd, 1, EEXIST);
    /* fd count. */
    REFUSE(dmap(0x40000, 0, 0x1000, rw), NULL, 0, EINVAL);
    REFUSE(dmap(0x40000, 0, 0x1000, rw), fds, 2, EINVAL);
    /* Size and argsz. */
    m = dmap(0x40000, 0, 0x1000, rw);
    t_expect_err(t, VFU_CMD_DMA_MAP, &m, sizeof(m) - 8, &fd, 1, EINVAL);
    m.argsz = 40;
    t_expect_err(t, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1, EINVAL);
#undef REFUSE
    /* Adjacent ranges are fine. */
    cr_assert_eq(map(t, 0x18000, 0, 0x1000, fd), 0);
    cr_assert_eq(map(t, 0xf000, 0, 0x1000, fd), 0);
    cr_assert_eq(t->dev.live_maps, 3);
    cr_assert_eq(t_count_fds(), before);

    /* A device that refuses the map leaves nothing mapped. */
    t->dev.dma_map_ret = -ENOMEM;
    m = dmap(0x80000, 0, 0x1000, rw);
    t_expect_err(t, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1, ENOMEM);
    t->dev.dma_map_ret = 0;
    cr_assert_eq(vm_maps(), 3);
    close(fd);
    close(efd);
    t_close(t);
}

Test(vfiod_dma, unmap_mismatch)
{
    struct tconn *t = t_open(true);
    int fd = t_memfd(GUEST_SIZE);
    struct vfu_dma_unmap u = { .argsz = sizeof(u), .addr = 0x10000, .size = 0x4000 };

    cr_assert_eq(map(t, 0x10000, 0, 0x4000, fd), 0);
    u.size = 0x1000; /* part of it */
    t_expect_err(t, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
    u.size = 0x8000; /* more than it */
    t_expect_err(t, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
    u.addr = 0x11000;
    u.size = 0x3000; /* its tail */
    t_expect_err(t, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
    u.addr = 0x80000;
    u.size = 0x4000; /* nothing there */
    t_expect_err(t, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
    u = (struct vfu_dma_unmap){ .argsz = sizeof(u), .flags = 1, .addr = 0x10000, .size = 0x4000 };
    t_expect_err(t, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, EINVAL);
    u.flags = 0;
    t_expect_err(t, VFU_CMD_DMA_UNMAP, &u, sizeof(u), &fd, 1, EINVAL);
    cr_assert_eq(t->dev.nunmap_calls, 0);
    cr_assert_eq(unmap(t, 0x10000, 0x4000), 0);
    cr_assert_eq(unmap(t, 0x10000, 0x4000), EINVAL, "already gone");
    close(fd);
    t_close(t);
}

Test(vfiod_dma, table_full)
{
    struct tconn *t = t_open(true);
    int fd = t_memfd(VFIOD_MAX_DMA * 4096u + 4096u);

    for (unsigned i = 0; i < VFIOD_MAX_DMA; i++)
        cr_assert_eq(map(t, (uint64_t)i * 0x2000, (uint64_t)i * 4096, 4096, fd), 0, "map %u", i);
    struct vfu_dma_map m = dmap(0x10000000, 0, 4096, VFU_DMA_READ);

    t_expect_err(t, VFU_CMD_DMA_MAP, &m, sizeof(m), &fd, 1, ENOSPC);
    cr_assert_eq(unmap(t, 0x2000, 4096), 0);
    cr_assert_eq(map(t, 0x10000000, 0, 4096, fd), 0, "room again");
    close(fd);
    t_close(t);
    cr_assert_eq(vm_maps(), 0, "destroy unmapped everything");
}

Test(vfiod_dma, disconnect_cleans_up)
{
    struct tconn *t = t_open(true);
    int fd = t_memfd(GUEST_SIZE);
    struct vfu_irq_set s = { .argsz = sizeof(s),
                             .flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
                             .index = VFU_PCI_MSIX_IRQ_INDEX,
                             .count = 2 };
    int efd[2] = { t_eventfd(), t_eventfd() };
    struct vfu_msg r;

    cr_assert_eq(map(t, 0x0, 0, 0x4000, fd), 0);
    cr_assert_eq(map(t, 0x100000, 0x4000, 0x4000, fd), 0);
    cr_assert_eq(map(t, 0x200000, 0x8000, 0x8000, fd), 0);
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), efd, 2, &r), 0);
    vfu_msg_release(&r);
    s.index = VFU_PCI_INTX_IRQ_INDEX;
    s.count = 1;
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), efd, 1, &r), 0);
    vfu_msg_release(&r);
    cr_assert_eq(vm_maps(), 3);

    close(t->cli);
    t->cli = -1;
    cr_assert_eq(vfiod_server_handle(&t->s, t->srv), 0);
    vfiod_server_disconnect(&t->s);
    cr_assert_eq(t->dev.live_maps, 0);
    cr_assert_eq(t->dev.nunmap_calls, 3);
    cr_assert_eq(vm_maps(), 0);
    /* Both indexes that had eventfds were disabled; MSI, never set, was left alone. */
    cr_assert_eq(t->dev.nirq_calls, 4);
    for (unsigned i = 2; i < 4; i++) {
        cr_assert_eq(t->dev.irq_calls[i].flags, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER);
        cr_assert_eq(t->dev.irq_calls[i].count, 0);
    }
    cr_assert_eq(t->dev.irq_calls[2].index + t->dev.irq_calls[3].index,
                 VFU_PCI_INTX_IRQ_INDEX + VFU_PCI_MSIX_IRQ_INDEX);

    /* The next client starts from VERSION, and can map the same ranges. */
    int sv[2];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    close(t->srv);
    t->cli = sv[0];
    t->srv = sv[1];
    struct vfu_device_info di = { .argsz = sizeof(di) };

    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, &r), EINVAL);
    vfu_msg_release(&r);
    uint8_t vbuf[8] = { 0, 0, 1, 0 };

    cr_assert_eq(t_call(t, VFU_CMD_VERSION, vbuf, 4, NULL, 0, &r), 0);
    vfu_msg_release(&r);
    cr_assert_eq(map(t, 0x0, 0, 0x4000, fd), 0);
    t_still_works(t);
    close(efd[0]);
    close(efd[1]);
    close(fd);
    t_close(t);
}
