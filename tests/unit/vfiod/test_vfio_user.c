/* The vfio-user codec over a socketpair: framing, fds, limits, request checks. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/fdsend.h"
#include "ipc/vfio_user.h"

static int sv[2];

static void pair(void)
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void unpair(void)
{
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
}

TestSuite(vfu_codec, .init = pair, .fini = unpair);

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void send_raw(int sock, const void *p, size_t len, const int *fds, unsigned nfds)
{
    struct iovec iov = { .iov_base = (void *)p, .iov_len = len };

    cr_assert_eq(ipc_sendv(sock, &iov, 1, fds, nfds), 0);
}

static void send_ok(uint16_t id, const void *p, size_t len)
{
    struct vfu_hdr h = { .msg_id = id, .command = VFU_CMD_DEVICE_GET_INFO };

    cr_assert_eq(vfu_send(sv[0], &h, p, len, NULL, 0), 0);
}

static void recv_ok(uint16_t id)
{
    struct vfu_msg m;

    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), 1);
    cr_assert_eq(m.hdr.msg_id, id);
    vfu_msg_release(&m);
}

Test(vfu_codec, round_trip_with_fds)
{
    uint8_t payload[100];
    int fds[2] = { dup(0), dup(1) };
    struct vfu_hdr h = { .msg_id = 7, .command = VFU_CMD_DMA_MAP, .flags = VFU_F_NO_REPLY };
    struct vfu_msg m;
    int before;

    for (unsigned i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)i;
    cr_assert_eq(vfu_send(sv[0], &h, payload, sizeof(payload), fds, 2), 0);
    cr_assert_eq(h.size, 16 + sizeof(payload));
    close(fds[0]);
    close(fds[1]);
    before = count_fds();
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), 1);
    cr_assert_eq(m.hdr.msg_id, 7);
    cr_assert_eq(m.hdr.command, VFU_CMD_DMA_MAP);
    cr_assert_eq(m.hdr.flags, VFU_F_NO_REPLY);
    cr_assert_eq(m.len, sizeof(payload));
    cr_assert_arr_eq(m.payload, payload, sizeof(payload));
    cr_assert_eq(m.nfds, 2);
    cr_assert(fcntl(m.fds[0], F_GETFD) & FD_CLOEXEC);
    cr_assert_eq(count_fds(), before + 2);
    vfu_msg_release(&m);
    cr_assert_eq(count_fds(), before);
    cr_assert_eq(m.fds[0], -1);
    cr_assert_null(m.payload);
}

Test(vfu_codec, empty_payload_and_reply_header)
{
    struct vfu_hdr h = { .msg_id = 3, .command = VFU_CMD_DEVICE_RESET }, rep;
    struct vfu_msg m;

    cr_assert_eq(vfu_send(sv[0], &h, NULL, 0, NULL, 0), 0);
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), 1);
    cr_assert_eq(m.len, 0);
    cr_assert_null(m.payload);
    vfu_reply_hdr(&m.hdr, &rep, ENOTTY);
    cr_assert_eq(rep.msg_id, 3);
    cr_assert_eq(rep.command, VFU_CMD_DEVICE_RESET);
    cr_assert_eq(rep.flags, VFU_F_TYPE_REPLY | VFU_F_ERROR);
    cr_assert_eq(rep.error, ENOTTY);
    cr_assert_eq(rep.size, 16);
    vfu_reply_hdr(&m.hdr, &rep, 0);
    cr_assert_eq(rep.flags, VFU_F_TYPE_REPLY);
    vfu_msg_release(&m);
}

Test(vfu_codec, send_limits)
{
    struct vfu_hdr h = { .command = 1 };
    int fds[VFU_MAX_FDS + 1] = { 0 };
    static uint8_t big[VFU_MAX_MSG];

    cr_assert_eq(vfu_send(sv[0], &h, NULL, 0, fds, VFU_MAX_FDS + 1), -EINVAL);
    cr_assert_eq(vfu_send(sv[0], &h, big, VFU_MAX_MSG - 15, NULL, 0), -EMSGSIZE);
}

Test(vfu_codec, header_size_below_16)
{
    struct vfu_hdr h = { .msg_id = 1, .command = 4, .size = 8 };
    int fd = dup(0), before = count_fds() - 1;
    struct vfu_msg m;

    send_raw(sv[0], &h, sizeof(h), &fd, 1);
    close(fd);
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), -EMSGSIZE);
    cr_assert_eq(m.nfds, 0);
    cr_assert_null(m.payload);
    cr_assert_eq(count_fds(), before, "the fd that came with it is closed");
}

Test(vfu_codec, header_size_over_limit)
{
    struct vfu_hdr h = { .msg_id = 1, .command = 4, .size = 4096 };
    struct vfu_msg m;

    send_raw(sv[0], &h, sizeof(h), NULL, 0);
    cr_assert_eq(vfu_recv(sv[1], &m, 1024, VFU_MAX_FDS), -EMSGSIZE);
    h.size = UINT32_MAX;
    send_raw(sv[0], &h, sizeof(h), NULL, 0);
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG * 4, VFU_MAX_FDS), -EMSGSIZE,
                 "max_size is capped at VFU_MAX_MSG");
}

Test(vfu_codec, header_in_pieces)
{
    struct vfu_hdr h = { .msg_id = 9, .command = 4, .size = 20 };
    uint8_t buf[20] = { 0 };
    struct vfu_msg m;

    memcpy(buf, &h, sizeof(h));
    send_raw(sv[0], buf, 5, NULL, 0);
    send_raw(sv[0], buf + 5, 11, NULL, 0);
    send_raw(sv[0], buf + 16, 4, NULL, 0);
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), 1);
    cr_assert_eq(m.hdr.msg_id, 9);
    cr_assert_eq(m.len, 4);
    vfu_msg_release(&m);
}

Test(vfu_codec, fds_with_a_later_chunk)
{
    struct vfu_hdr h = { .msg_id = 2, .command = 4, .size = 32 };
    uint8_t payload[16] = { 0 };
    int fd = dup(0), before;
    struct vfu_msg m;

    send_raw(sv[0], &h, sizeof(h), NULL, 0);
    send_raw(sv[0], payload, sizeof(payload), &fd, 1);
    close(fd);
    send_ok(3, NULL, 0);
    before = count_fds();
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), -EPROTO);
    cr_assert_eq(m.hdr.msg_id, 2, "the header stays for an error reply");
    cr_assert_eq(m.nfds, 0);
    cr_assert_null(m.payload);
    cr_assert_eq(count_fds(), before);
    recv_ok(3);
}

Test(vfu_codec, too_many_fds_for_the_caller)
{
    int fds[3] = { dup(0), dup(0), dup(0) };
    struct vfu_hdr h = { .msg_id = 4, .command = 4 };
    struct vfu_msg m;
    int before;

    cr_assert_eq(vfu_send(sv[0], &h, "abcd", 4, fds, 3), 0);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    send_ok(5, NULL, 0);
    before = count_fds();
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, 2), -E2BIG);
    cr_assert_eq(m.hdr.msg_id, 4);
    cr_assert_eq(m.nfds, 0);
    cr_assert_eq(count_fds(), before);
    recv_ok(5);
}

Test(vfu_codec, more_fds_than_the_codec_takes)
{
    int fds[24];
    struct vfu_hdr h = { .msg_id = 6, .command = 4, .size = 20 };
    uint8_t buf[20] = { 0 };
    struct vfu_msg m;
    int before;

    for (int i = 0; i < 24; i++)
        fds[i] = dup(0);
    memcpy(buf, &h, sizeof(h));
    send_raw(sv[0], buf, sizeof(buf), fds, 24);
    for (int i = 0; i < 24; i++)
        close(fds[i]);
    send_ok(7, NULL, 0);
    before = count_fds();
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), -E2BIG);
    cr_assert_eq(m.hdr.msg_id, 6);
    cr_assert_eq(count_fds(), before, "truncated fds are dropped, taken ones closed");
    recv_ok(7);
}

Test(vfu_codec, stream_ends)
{
    struct vfu_hdr h = { .msg_id = 1, .command = 4, .size = 64 };
    struct vfu_msg m;
    int fd = dup(0), before;

    send_raw(sv[0], &h, sizeof(h), &fd, 1);
    close(fd);
    send_raw(sv[0], "0123456789", 10, NULL, 0);
    close(sv[0]);
    sv[0] = -1;
    before = count_fds();
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), -ECONNRESET);
    cr_assert_eq(count_fds(), before);
    cr_assert_null(m.payload);
}

Test(vfu_codec, stream_ends_mid_header)
{
    struct vfu_msg m;

    send_raw(sv[0], "abc", 3, NULL, 0);
    close(sv[0]);
    sv[0] = -1;
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), -ECONNRESET);
}

Test(vfu_codec, clean_end)
{
    struct vfu_msg m;

    send_ok(1, NULL, 0);
    close(sv[0]);
    sv[0] = -1;
    recv_ok(1);
    cr_assert_eq(vfu_recv(sv[1], &m, VFU_MAX_MSG, VFU_MAX_FDS), 0);
}

/* vfu_check_request on hand-made messages. */
static int check(uint16_t cmd, uint32_t flags, const void *p, size_t len, unsigned nfds)
{
    struct vfu_msg m = { .hdr = { .command = cmd, .flags = flags, .size = (uint32_t)(16 + len) },
                         .payload = (uint8_t *)p,
                         .len = len,
                         .nfds = nfds };
    char err[128] = "";
    int r = vfu_check_request(&m, err, sizeof(err));

    cr_assert(r == 0 || (r == -EINVAL && err[0]), "a refusal says why");
    return r;
}

Test(vfu_check, shapes)
{
    struct vfu_dma_map map = { .argsz = sizeof(map), .flags = VFU_DMA_READ };
    struct vfu_dma_unmap unmap = { .argsz = sizeof(unmap) };
    struct vfu_region_info ri = { .argsz = 32 };
    struct {
        struct vfu_region_access a;
        uint8_t data[8];
    } __attribute__((packed)) w = { .a = { .count = 8 } };
    struct {
        struct vfu_irq_set s;
        uint8_t b[2];
    } __attribute__((packed)) irq = { .s = { .argsz = 22, .count = 2 } };
    struct vfu_version v = { 0, 1 };

    cr_assert_eq(check(VFU_CMD_DMA_MAP, 0, &map, sizeof(map), 1), 0);
    cr_assert_eq(check(VFU_CMD_DMA_MAP, 0, &map, sizeof(map), 0), -EINVAL);
    cr_assert_eq(check(VFU_CMD_DMA_MAP, 0, &map, sizeof(map), 2), -EINVAL);
    cr_assert_eq(check(VFU_CMD_DMA_MAP, 0, &map, sizeof(map) - 1, 1), -EINVAL);
    map.flags = 4;
    cr_assert_eq(check(VFU_CMD_DMA_MAP, 0, &map, sizeof(map), 1), -EINVAL);
    map.flags = 0;
    map.argsz = 64;
    cr_assert_eq(check(VFU_CMD_DMA_MAP, 0, &map, sizeof(map), 1), -EINVAL);
    cr_assert_eq(check(VFU_CMD_DMA_UNMAP, 0, &unmap, sizeof(unmap), 0), 0);
    unmap.flags = 1;
    cr_assert_eq(check(VFU_CMD_DMA_UNMAP, 0, &unmap, sizeof(unmap), 0), -EINVAL);
    cr_assert_eq(check(VFU_CMD_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), 0), 0);
    cr_assert_eq(check(VFU_CMD_DEVICE_GET_REGION_INFO, VFU_F_NO_REPLY, &ri, sizeof(ri), 0), 0);
    cr_assert_eq(check(VFU_CMD_DEVICE_GET_REGION_INFO, VFU_F_TYPE_REPLY, &ri, sizeof(ri), 0),
                 -EINVAL);
    cr_assert_eq(check(VFU_CMD_DEVICE_GET_REGION_INFO, VFU_F_ERROR, &ri, sizeof(ri), 0), -EINVAL);
    ri.argsz = 31;
    cr_assert_eq(check(VFU_CMD_DEVICE_GET_REGION_INFO, 0, &ri, sizeof(ri), 0), -EINVAL);
    cr_assert_eq(check(VFU_CMD_REGION_WRITE, 0, &w, sizeof(w), 0), 0);
    cr_assert_eq(check(VFU_CMD_REGION_WRITE, 0, &w, sizeof(w) - 1, 0), -EINVAL);
    w.a.count = 0;
    cr_assert_eq(check(VFU_CMD_REGION_WRITE, 0, &w, sizeof(w.a), 0), -EINVAL);
    w.a.count = VFU_MAX_DATA + 1;
    cr_assert_eq(check(VFU_CMD_REGION_READ, 0, &w.a, sizeof(w.a), 0), -EINVAL);
    w.a.count = VFU_MAX_DATA;
    cr_assert_eq(check(VFU_CMD_REGION_READ, 0, &w.a, sizeof(w.a), 0), 0);
    irq.s.flags = VFU_IRQ_SET_DATA_BOOL | VFU_IRQ_SET_ACTION_MASK;
    cr_assert_eq(check(VFU_CMD_DEVICE_SET_IRQS, 0, &irq, sizeof(irq), 0), 0);
    irq.s.count = 3;
    cr_assert_eq(check(VFU_CMD_DEVICE_SET_IRQS, 0, &irq, sizeof(irq), 0), -EINVAL);
    irq.s.flags = VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER;
    irq.s.argsz = 20;
    cr_assert_eq(check(VFU_CMD_DEVICE_SET_IRQS, 0, &irq, 20, 3), 0);
    cr_assert_eq(check(VFU_CMD_DEVICE_SET_IRQS, 0, &irq, 20, 2), -EINVAL);
    irq.s.flags |= VFU_IRQ_SET_DATA_NONE;
    cr_assert_eq(check(VFU_CMD_DEVICE_SET_IRQS, 0, &irq, 20, 3), -EINVAL);
    irq.s.flags = VFU_IRQ_SET_DATA_NONE;
    cr_assert_eq(check(VFU_CMD_DEVICE_SET_IRQS, 0, &irq, 20, 0), -EINVAL, "no action");
    cr_assert_eq(check(VFU_CMD_DEVICE_RESET, 0, NULL, 0, 0), 0);
    cr_assert_eq(check(VFU_CMD_DEVICE_RESET, 0, "x", 1, 0), -EINVAL);
    cr_assert_eq(check(VFU_CMD_DEVICE_RESET, 0, NULL, 0, 1), -EINVAL);
    cr_assert_eq(check(VFU_CMD_VERSION, 0, &v, sizeof(v), 0), 0);
    cr_assert_eq(check(VFU_CMD_VERSION, 0, &v, 3, 0), -EINVAL);
    cr_assert_eq(check(VFU_CMD_DMA_READ, 0, NULL, 0, 0), -EINVAL);
    cr_assert_eq(check(99, 0, NULL, 0, 0), -EINVAL);
}
