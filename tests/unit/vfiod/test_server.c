/* The vfio-user server's state machine over a socketpair with the fake device. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/vfiod/test_util.h"

static size_t version_payload(uint8_t *buf, uint16_t major, const char *json)
{
    struct vfu_version v = { .major = major, .minor = 7 };
    size_t n = strlen(json) + 1;

    memcpy(buf, &v, sizeof(v));
    memcpy(buf + sizeof(v), json, n);
    return sizeof(v) + n;
}

Test(vfiod_server, version_first)
{
    struct tconn *t = t_open(false);
    struct vfu_device_info info = { .argsz = sizeof(info) };
    struct vfu_version v;
    struct vfu_caps caps;
    uint8_t buf[256];
    struct vfu_msg r;
    size_t n;

    /* Anything before VERSION is refused, and the connection goes on. */
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_INFO, &info, sizeof(info), NULL, 0, &r), EINVAL);
    vfu_msg_release(&r);
    n = version_payload(buf, 1, "{}");
    cr_assert_eq(t_call(t, VFU_CMD_VERSION, buf, n, NULL, 0, &r), ENOTSUP);
    vfu_msg_release(&r);
    n = version_payload(buf, 0, "{\"capabilities\":{\"max_msg_fds\":\"x\"}}");
    cr_assert_eq(t_call(t, VFU_CMD_VERSION, buf, n, NULL, 0, &r), EINVAL);
    vfu_msg_release(&r);
    n = version_payload(buf, 0, "{\"capabilities\":{\"max_msg_fds\":4}}");
    cr_assert_eq(t_call(t, VFU_CMD_VERSION, buf, n, NULL, 0, &r), 0);
    cr_assert_eq(vfu_version_decode(r.payload, r.len, &v, &caps), 0);
    cr_assert_eq(v.major, 0);
    cr_assert_eq(v.minor, VFU_VERSION_MINOR, "the lower of the two minors");
    cr_assert_eq(caps.max_msg_fds, VFU_MAX_FDS);
    cr_assert_eq(caps.max_data_xfer_size, VFU_MAX_DATA);
    cr_assert_eq(caps.pgsizes, 4096);
    vfu_msg_release(&r);
    cr_assert_eq(t->nlogs, 3);
    /* A second VERSION is refused; the first one's result stays. */
    t_expect_err(t, VFU_CMD_VERSION, buf, n, NULL, 0, EINVAL);
    t_close(t);
}

Test(vfiod_server, device_and_irq_info)
{
    struct tconn *t = t_open(true);
    struct vfu_irq_info ii = { .argsz = sizeof(ii), .index = VFU_PCI_MSIX_IRQ_INDEX };
    struct vfu_device_info di = { .argsz = 64 };
    struct vfu_msg r;

    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, &r), 0);
    memcpy(&di, r.payload, sizeof(di));
    cr_assert_eq(di.argsz, sizeof(di));
    cr_assert_eq(di.flags, VFU_DEV_F_PCI);
    cr_assert_eq(di.num_regions, 9);
    cr_assert_eq(di.num_irqs, 3);
    vfu_msg_release(&r);
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, &r), 0);
    cr_assert_eq(r.len, sizeof(ii));
    memcpy(&ii, r.payload, sizeof(ii));
    cr_assert_eq(ii.count, 8);
    cr_assert_eq(ii.index, VFU_PCI_MSIX_IRQ_INDEX);
    cr_assert(ii.flags & VFU_IRQ_F_EVENTFD);
    vfu_msg_release(&r);
    ii = (struct vfu_irq_info){ .argsz = sizeof(ii), .index = 3 };
    t_expect_err(t, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, EINVAL);
    ii.index = UINT32_MAX;
    t_expect_err(t, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii), NULL, 0, EINVAL);
    t_expect_err(t, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii) - 4, NULL, 0, EINVAL);
    di.argsz = 8;
    t_expect_err(t, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0, EINVAL);
    t_close(t);
}

Test(vfiod_server, region_info_argsz_retry_and_fd)
{
    struct tconn *t = t_open(true);
    struct vfu_region_info ri = { .argsz = sizeof(ri), .index = VFU_PCI_BAR0_REGION_INDEX };
    struct vfu_region_access w = { .offset = 8, .region = 0, .count = 8 };
    uint8_t wbuf[sizeof(w) + 8];
    struct vfu_cap_sparse cap;
    struct vfu_sparse_area area;
    struct vfu_msg r;
    uint8_t *map;

    /* Put a pattern into BAR0 through REGION_WRITE, to find it through the mmap fd. */
    memcpy(wbuf, &w, sizeof(w));
    memcpy(wbuf + sizeof(w), "bar0data", 8);
    cr_assert_eq(t_call(t, VFU_CMD_REGION_WRITE, wbuf, sizeof(wbuf), NULL, 0, &r), 0);
    vfu_msg_release(&r);

    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, &r), 0);
    cr_assert_eq(r.len, sizeof(ri));
    cr_assert_eq(r.nfds, 0, "no fd with an incomplete reply");
    memcpy(&ri, r.payload, sizeof(ri));
    cr_assert_eq(ri.argsz, sizeof(ri) + sizeof(cap) + sizeof(area));
    cr_assert_eq(ri.flags & VFU_REGION_F_CAPS, 0);
    cr_assert(ri.flags & VFU_REGION_F_MMAP);
    cr_assert_eq(ri.cap_offset, 0);
    cr_assert_eq(ri.size, FAKE_BAR0_SIZE);
    vfu_msg_release(&r);

    /* Retry with the size asked for. */
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, &r), 0);
    cr_assert_eq(r.len, ri.argsz);
    cr_assert_eq(r.nfds, 1);
    memcpy(&ri, r.payload, sizeof(ri));
    cr_assert(ri.flags & VFU_REGION_F_CAPS);
    cr_assert_eq(ri.cap_offset, sizeof(ri));
    memcpy(&cap, r.payload + ri.cap_offset, sizeof(cap));
    cr_assert_eq(cap.hdr.id, VFU_CAP_SPARSE_MMAP);
    cr_assert_eq(cap.hdr.version, 1);
    cr_assert_eq(cap.hdr.next, 0);
    cr_assert_eq(cap.nr_areas, 1);
    memcpy(&area, r.payload + ri.cap_offset + sizeof(cap), sizeof(area));
    cr_assert_eq(area.offset, 0);
    cr_assert_eq(area.size, FAKE_BAR0_SIZE);
    map = mmap(NULL, area.size, PROT_READ, MAP_SHARED, r.fds[0], (off_t)(ri.offset + area.offset));
    cr_assert_neq(map, MAP_FAILED);
    cr_assert_arr_eq(map + 8, "bar0data", 8);
    munmap(map, area.size);
    vfu_msg_release(&r);

    /* A trapped region: no fd, no capability. */
    ri = (struct vfu_region_info){ .argsz = 256, .index = VFU_PCI_CONFIG_REGION_INDEX };
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, &r), 0);
    cr_assert_eq(r.len, sizeof(ri));
    cr_assert_eq(r.nfds, 0);
    memcpy(&ri, r.payload, sizeof(ri));
    cr_assert_eq(ri.flags, VFU_REGION_F_READ | VFU_REGION_F_WRITE);
    cr_assert_eq(ri.size, FAKE_CFG_SIZE);
    vfu_msg_release(&r);

    /* An absent BAR: size 0. */
    ri = (struct vfu_region_info){ .argsz = 32, .index = 4 };
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, &r), 0);
    memcpy(&ri, r.payload, sizeof(ri));
    cr_assert_eq(ri.size, 0);
    vfu_msg_release(&r);

    ri = (struct vfu_region_info){ .argsz = 32, .index = 9 };
    t_expect_err(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, EINVAL);
    ri.index = UINT32_MAX;
    t_expect_err(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, EINVAL);
    ri = (struct vfu_region_info){ .argsz = 16, .index = 0 };
    t_expect_err(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, EINVAL);
    t_close(t);
}

Test(vfiod_server, region_info_whole_bar_without_caps)
{
    struct tconn *t = t_open(true);
    struct vfu_region_info ri = { .argsz = sizeof(ri), .index = 0 };
    struct vfu_msg r;

    t->dev.bar0_nsparse = 0;
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, sizeof(ri), NULL, 0, &r), 0);
    cr_assert_eq(r.nfds, 1);
    memcpy(&ri, r.payload, sizeof(ri));
    cr_assert_eq(ri.argsz, sizeof(ri));
    cr_assert_eq(ri.flags, VFU_REGION_F_READ | VFU_REGION_F_WRITE | VFU_REGION_F_MMAP);
    vfu_msg_release(&r);
    t_close(t);
}

static void access_msg(uint8_t *buf, uint32_t region, uint64_t off, uint32_t count)
{
    struct vfu_region_access a = { .offset = off, .region = region, .count = count };

    memcpy(buf, &a, sizeof(a));
}

Test(vfiod_server, region_read_write)
{
    struct tconn *t = t_open(true);
    uint8_t buf[64];
    struct vfu_region_access a;
    uint16_t cmd = 0x0406;
    struct vfu_msg r;

    /* Config space: only the command register is writable. */
    access_msg(buf, VFU_PCI_CONFIG_REGION_INDEX, 0, 8);
    memcpy(buf + 16, "\xff\xff\xff\xff\x06\x04\xff\xff", 8);
    cr_assert_eq(t_call(t, VFU_CMD_REGION_WRITE, buf, 24, NULL, 0, &r), 0);
    cr_assert_eq(r.len, sizeof(a));
    memcpy(&a, r.payload, sizeof(a));
    cr_assert_eq(a.count, 8);
    vfu_msg_release(&r);
    access_msg(buf, VFU_PCI_CONFIG_REGION_INDEX, 0, 6);
    cr_assert_eq(t_call(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, &r), 0);
    cr_assert_eq(r.len, 16 + 6);
    cr_assert_arr_eq(r.payload + 16, "\x34\x12\xe8\x11", 4);
    cr_assert_arr_eq(r.payload + 20, &cmd, 2);
    vfu_msg_release(&r);
    /* The last bytes of BAR2. */
    access_msg(buf, 2, FAKE_BAR2_SIZE - 4, 4);
    memcpy(buf + 16, "tail", 4);
    cr_assert_eq(t_call(t, VFU_CMD_REGION_WRITE, buf, 20, NULL, 0, &r), 0);
    vfu_msg_release(&r);
    cr_assert_arr_eq(t->dev.bar2 + FAKE_BAR2_SIZE - 4, "tail", 4);
    t_close(t);
}

Test(vfiod_server, region_access_refused)
{
    struct tconn *t = t_open(true);
    uint8_t buf[64] = { 0 };

    access_msg(buf, 9, 0, 4);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, UINT32_MAX, 0, 4);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, 4, 0, 4); /* absent BAR */
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, VFU_PCI_CONFIG_REGION_INDEX, FAKE_CFG_SIZE - 2, 4);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, VFU_PCI_CONFIG_REGION_INDEX, FAKE_CFG_SIZE, 1);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, VFU_PCI_CONFIG_REGION_INDEX, UINT64_MAX, 2);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, VFU_PCI_CONFIG_REGION_INDEX, UINT64_MAX - 1, 4);
    t_expect_err(t, VFU_CMD_REGION_WRITE, buf, 20, NULL, 0, EINVAL);
    access_msg(buf, 2, 0, 0);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, 2, 0, VFU_MAX_DATA + 1);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 16, NULL, 0, EINVAL);
    access_msg(buf, 2, 0, 8); /* a write whose data is shorter than count */
    t_expect_err(t, VFU_CMD_REGION_WRITE, buf, 20, NULL, 0, EINVAL);
    access_msg(buf, 2, 0, 2); /* and longer */
    t_expect_err(t, VFU_CMD_REGION_WRITE, buf, 20, NULL, 0, EINVAL);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 8, NULL, 0, EINVAL);
    access_msg(buf, 2, 0, 4);
    t_expect_err(t, VFU_CMD_REGION_READ, buf, 20, NULL, 0, EINVAL);
    t_close(t);
}

Test(vfiod_server, fds_where_none_belong)
{
    struct tconn *t = t_open(true);
    struct vfu_device_info di = { .argsz = sizeof(di) };
    int fds[20];
    int before;

    for (int i = 0; i < 20; i++)
        fds[i] = t_eventfd();
    before = t_count_fds();
    t_expect_err(t, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), fds, 1, EINVAL);
    t_expect_err(t, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), fds, 16, EINVAL);
    t_expect_err(t, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), fds, 17, E2BIG);
    t_expect_err(t, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), fds, 20, E2BIG);
    t_expect_err(t, VFU_CMD_DEVICE_RESET, NULL, 0, fds, 2, EINVAL);
    cr_assert_eq(t_count_fds(), before, "every received fd closed");
    for (int i = 0; i < 20; i++)
        close(fds[i]);
    t_close(t);
}

Test(vfiod_server, fd_after_the_header)
{
    struct tconn *t = t_open(true);
    struct vfu_device_info di = { .argsz = sizeof(di) };
    struct vfu_hdr h = { .msg_id = ++t->next_id,
                         .command = VFU_CMD_DEVICE_GET_INFO,
                         .size = 16 + sizeof(di) };
    int fd = t_eventfd(), before;
    struct vfu_msg r;

    t_send_raw(t->cli, &h, sizeof(h), NULL, 0);
    t_send_raw(t->cli, &di, sizeof(di), &fd, 1);
    close(fd);
    before = t_count_fds();
    cr_assert_eq(t_serve_reply(t, &r), EPROTO);
    vfu_msg_release(&r);
    cr_assert_eq(t_count_fds(), before);
    cr_assert_eq(t->nlogs, 1);
    t_still_works(t);
    t_close(t);
}

Test(vfiod_server, set_irqs)
{
    struct tconn *t = t_open(true);
    struct vfu_irq_set s = { .argsz = sizeof(s),
                             .flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
                             .index = VFU_PCI_MSIX_IRQ_INDEX,
                             .start = 0,
                             .count = 8 };
    struct {
        struct vfu_irq_set s;
        uint8_t b[1];
    } __attribute__((packed))
    mask = { .s = { .argsz = 21,
                    .flags = VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_MASK,
                    .index = VFU_PCI_INTX_IRQ_INDEX,
                    .count = 1 },
             .b = { 1 } };
    int fds[9];
    int before;
    struct vfu_msg r;

    for (int i = 0; i < 9; i++)
        fds[i] = t_eventfd();
    before = t_count_fds();
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 8, &r), 0);
    cr_assert_eq(r.len, 0);
    vfu_msg_release(&r);
    cr_assert_eq(t->dev.nirq_calls, 1);
    cr_assert_eq(t->dev.irq_calls[0].count, 8);
    cr_assert_eq(t->dev.irq_calls[0].nfds_valid, 8);
    cr_assert_eq(t_count_fds(), before, "the server closes the fds after the device had them");

    /* Split by start, as a client with a small max_msg_fds does. */
    s.start = 4;
    s.count = 4;
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 4, &r), 0);
    vfu_msg_release(&r);
    cr_assert_eq(t->dev.irq_calls[1].start, 4);

    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_SET_IRQS, &mask, sizeof(mask), NULL, 0, &r), 0);
    vfu_msg_release(&r);
    cr_assert_eq(t->dev.irq_calls[2].bools[0], 1);
    cr_assert_eq(t->dev.nirq_calls, 3);

    /* Wrong fd counts. */
    s.start = 0;
    s.count = 2;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 1, EINVAL);
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 3, EINVAL);
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
    /* start + count past the irq's count, including a wrap. */
    s.count = 9;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 9, EINVAL);
    s.start = 7;
    s.count = 2;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 2, EINVAL);
    s.start = UINT32_MAX;
    s.count = 2;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 2, EINVAL);
    s.index = VFU_PCI_MSI_IRQ_INDEX;
    s.start = 0;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 2, EINVAL);
    s.index = 3;
    s.count = 1;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 1, EINVAL);
    /* Flags: two data types, no action, unknown bits; count 0 only to disable. */
    s.index = VFU_PCI_MSIX_IRQ_INDEX;
    s.flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), fds, 1, EINVAL);
    s.flags = VFU_IRQ_SET_DATA_NONE;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
    s.flags = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER | (1u << 9);
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
    s.flags = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_MASK;
    s.count = 0;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, EINVAL);
    /* DATA_BOOL without its bytes. */
    mask.s.argsz = 20;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &mask, 20, NULL, 0, EINVAL);
    mask.s.argsz = 21;
    mask.s.count = 2;
    t_expect_err(t, VFU_CMD_DEVICE_SET_IRQS, &mask, sizeof(mask), NULL, 0, EINVAL);
    cr_assert_eq(t->dev.nirq_calls, 3, "nothing bad reached the device");
    cr_assert_eq(t_count_fds(), before);

    /* Disable. */
    s.flags = VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER;
    s.start = 0;
    s.count = 0;
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0, &r), 0);
    vfu_msg_release(&r);
    cr_assert_eq(t->dev.nirq_calls, 4);
    for (int i = 0; i < 9; i++)
        close(fds[i]);
    t_close(t);
}

Test(vfiod_server, reset_unknown_and_no_reply)
{
    struct tconn *t = t_open(true);
    uint8_t buf[32];
    struct vfu_msg r;

    t_expect_err(t, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, ENOTTY);
    cr_assert_eq(t->dev.nresets, 1);
    t->dev.reset_ret = 0;
    cr_assert_eq(t_call(t, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, &r), 0);
    vfu_msg_release(&r);
    t_expect_err(t, 42, NULL, 0, NULL, 0, ENOSYS);
    t_expect_err(t, 0, NULL, 0, NULL, 0, ENOSYS);
    t_expect_err(t, VFU_CMD_DEVICE_GET_REGION_IO_FDS, buf, 16, NULL, 0, ENOSYS);
    t_expect_err(t, VFU_CMD_DMA_READ, buf, 16, NULL, 0, ENOSYS);

    /* NO_REPLY: neither a success nor an error is answered. */
    access_msg(buf, 2, 0, 4);
    memcpy(buf + 16, "nrep", 4);
    t_send(t, VFU_CMD_REGION_WRITE, VFU_F_NO_REPLY, buf, 20, NULL, 0);
    cr_assert_eq(vfiod_server_handle(&t->s, t->srv), 1);
    access_msg(buf, 99, 0, 4);
    t_send(t, VFU_CMD_REGION_WRITE, VFU_F_NO_REPLY, buf, 20, NULL, 0);
    cr_assert_eq(vfiod_server_handle(&t->s, t->srv), 1);
    cr_assert_arr_eq(t->dev.bar2, "nrep", 4);
    t_still_works(t); /* its reply ids match, so nothing stray was queued */
    /* A reply sent to the server is not a command. */
    t_send(t, VFU_CMD_DEVICE_RESET, VFU_F_TYPE_REPLY, NULL, 0, NULL, 0);
    cr_assert_eq(t_serve_reply(t, &r), EINVAL);
    vfu_msg_release(&r);
    t_close(t);
}

Test(vfiod_server, stream_errors)
{
    struct tconn *t = t_open(true);
    struct vfu_hdr h = { .msg_id = 1, .command = 4, .size = 12 };

    t_send_raw(t->cli, &h, sizeof(h), NULL, 0);
    cr_assert_lt(vfiod_server_handle(&t->s, t->srv), 0, "framing lost");
    t_close(t);

    t = t_open(true);
    h.size = VFU_MAX_MSG + 1;
    t_send_raw(t->cli, &h, sizeof(h), NULL, 0);
    cr_assert_eq(vfiod_server_handle(&t->s, t->srv), -EMSGSIZE);
    t_close(t);

    t = t_open(true);
    h.size = 64;
    t_send_raw(t->cli, &h, sizeof(h), NULL, 0);
    close(t->cli);
    t->cli = -1;
    cr_assert_eq(vfiod_server_handle(&t->s, t->srv), -ECONNRESET, "ends mid-message");
    t_close(t);

    t = t_open(true);
    close(t->cli);
    t->cli = -1;
    cr_assert_eq(vfiod_server_handle(&t->s, t->srv), 0, "clean close");
    t_close(t);
}
