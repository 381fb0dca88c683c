/* The vhost-user backend state machine over a socketpair: malformed, oversized and out-of-order
 * messages one at a time, then full sessions through the frontend library. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "device-procs/vu_backend.h"
#include "echo_dev.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

static int sv[2] = { -1, -1 };
static struct echo_dev dev;
static struct vu_backend *b;

static void setup(void)
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    echo_init(&dev);
    b = vu_backend_new(&echo_ops, &dev);
    cr_assert(b);
}

static void teardown(void)
{
    vu_backend_free(b);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
}

static void send_req(uint32_t req, uint32_t flags, const void *p, uint32_t size, const int *fds,
                     size_t nfds)
{
    struct vu_msg m;

    vu_msg_init(&m, req, flags, size);
    if (size)
        memcpy(&m.p, p, size);
    cr_assert_eq(vu_msg_send(sv[0], &m, fds, nfds), 0);
}

static int handle(void)
{
    return vu_backend_handle(b, sv[1]);
}

/* 1 and the reply in *m if one is waiting, else 0. */
static int reply(struct vu_msg *m)
{
    struct pollfd p = { .fd = sv[0], .events = POLLIN };
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds;

    if (poll(&p, 1, 0) != 1)
        return 0;
    cr_assert_eq(vu_msg_recv(sv[0], m, fds, &nfds), 1);
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    cr_assert(m->hdr.flags & VHOST_USER_FLAG_REPLY);
    return 1;
}

static void ack_on(void)
{
    uint64_t pf = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;

    send_req(VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, 8, NULL, 0);
    cr_assert_eq(handle(), 0);
}

TestSuite(vub, .init = setup, .fini = teardown);

Test(vub, get_features_offers_bit30)
{
    struct vu_msg m;

    send_req(VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0);
    cr_assert_eq(handle(), 0);
    cr_assert_eq(reply(&m), 1);
    cr_assert(m.p.u64 & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
    cr_assert(m.p.u64 & (1ull << VIRTIO_F_VERSION_1));
}

Test(vub, protocol_features_before_set_features)
{
    struct vu_msg m;

    send_req(VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0);
    cr_assert_eq(handle(), 0);
    cr_assert_eq(reply(&m), 1);
    cr_assert(m.p.u64 & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
    cr_assert(m.p.u64 & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
    cr_assert(m.p.u64 & (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD), "dirty logging offered");
    cr_assert_not(m.p.u64 & (1ull << VHOST_USER_PROTOCOL_F_PAGEFAULT));
}

Test(vub, unknown_request_drops)
{
    send_req(200, 0, NULL, 0, NULL, 0);
    cr_assert_eq(handle(), -EINVAL);
}

Test(vub, bad_version_drops)
{
    struct vu_hdr h = { VHOST_USER_GET_FEATURES, 2, 0 };

    cr_assert_eq(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
    cr_assert_eq(handle(), -EBADMSG);
}

Test(vub, oversized_payload_drops)
{
    struct vu_hdr h = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 1u << 20 };

    cr_assert_eq(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
    cr_assert_eq(handle(), -EBADMSG);
}

Test(vub, wrong_payload_size_drops)
{
    uint32_t four = 4;

    send_req(VHOST_USER_SET_FEATURES, 0, &four, 4, NULL, 0);
    cr_assert_eq(handle(), -EINVAL);
}

Test(vub, reply_flag_on_request_drops)
{
    send_req(VHOST_USER_GET_FEATURES, VHOST_USER_FLAG_REPLY, NULL, 0, NULL, 0);
    cr_assert_eq(handle(), -EINVAL);
}

Test(vub, mem_table_too_many_regions)
{
    struct vu_mem_table t = { .nregions = 9 };

    send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, sizeof(t), NULL, 0);
    cr_assert_eq(handle(), -EINVAL);
}

Test(vub, mem_table_missing_fds)
{
    struct vu_mem_table t = { .nregions = 2 };
    int fd = eventfd(0, EFD_CLOEXEC);

    t.regions[0] = (struct vu_mem_region){ 0, 4096, 0x10000, 0 };
    t.regions[1] = (struct vu_mem_region){ 4096, 4096, 0x20000, 0 };
    send_req(VHOST_USER_SET_MEM_TABLE, 0, &t, 8 + 2 * 32, &fd, 1);
    cr_assert_eq(handle(), -EINVAL);
    close(fd);
}

Test(vub, mem_table_overlapping_regions_nacked)
{
    struct vu_mem_table t = { .nregions = 2 };
    int fds[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
    struct vu_msg m;

    ack_on();
    t.regions[0] = (struct vu_mem_region){ 0, 8192, 0x10000, 0 };
    t.regions[1] = (struct vu_mem_region){ 4096, 4096, 0x20000, 0 };
    send_req(VHOST_USER_SET_MEM_TABLE, VHOST_USER_FLAG_NEED_REPLY, &t, 8 + 2 * 32, fds, 2);
    cr_assert_eq(handle(), 0);
    cr_assert_eq(reply(&m), 1);
    cr_assert_neq(m.p.u64, 0, "an eventfd cannot be mapped, and the regions overlap");
    close(fds[0]);
    close(fds[1]);
}

Test(vub, vring_index_beyond_queue_count)
{
    struct vu_vring_state s = { .index = ECHO_QUEUES, .num = 8 };
    struct vu_msg m;

    ack_on();
    send_req(VHOST_USER_SET_VRING_NUM, VHOST_USER_FLAG_NEED_REPLY, &s, sizeof(s), NULL, 0);
    cr_assert_eq(handle(), 0, "acked failure keeps the connection");
    cr_assert_eq(reply(&m), 1);
    cr_assert_eq(m.p.u64, 1);
    send_req(VHOST_USER_SET_VRING_NUM, 0, &s, sizeof(s), NULL, 0);
    cr_assert_eq(handle(), -ERANGE, "no way to say no: disconnect");
    s.index = 0xffffffffu;
    send_req(VHOST_USER_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0);
    cr_assert_lt(handle(), 0);
    cr_assert_eq(reply(&m), 0, "no reply to an impossible GET_VRING_BASE");
}

Test(vub, vring_num_not_power_of_two)
{
    struct vu_vring_state s = { .index = 0, .num = 100 };

    send_req(VHOST_USER_SET_VRING_NUM, 0, &s, sizeof(s), NULL, 0);
    cr_assert_eq(handle(), -EINVAL);
}

Test(vub, kick_fd_rules)
{
    uint64_t idx = 0;
    int fd = eventfd(0, EFD_CLOEXEC);

    send_req(VHOST_USER_SET_VRING_KICK, 0, &idx, 8, NULL, 0);
    cr_assert_eq(handle(), -EINVAL, "missing fd without NOFD");
    idx = VHOST_USER_VRING_NOFD;
    send_req(VHOST_USER_SET_VRING_KICK, 0, &idx, 8, &fd, 1);
    cr_assert_eq(handle(), -EINVAL, "fd with NOFD");
    idx = 1ull << 9;
    send_req(VHOST_USER_SET_VRING_CALL, 0, &idx, 8, &fd, 1);
    cr_assert_eq(handle(), -EINVAL, "reserved bits");
    close(fd);
}

Test(vub, get_config_out_of_range)
{
    struct vu_config c = { .offset = 8, .size = 16 };
    struct vu_msg m;
    uint64_t pf = 1ull << VHOST_USER_PROTOCOL_F_CONFIG;

    send_req(VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, 8, NULL, 0);
    cr_assert_eq(handle(), 0);
    send_req(VHOST_USER_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + 16, NULL, 0);
    cr_assert_eq(handle(), 0);
    cr_assert_eq(reply(&m), 1);
    cr_assert_eq(m.hdr.size, VU_CONFIG_HDR_SIZE);
    cr_assert_eq(m.p.config.size, 0);
    c.offset = 0xfffffff0u;
    send_req(VHOST_USER_GET_CONFIG, 0, &c, VU_CONFIG_HDR_SIZE + 16, NULL, 0);
    cr_assert_eq(handle(), 0);
    cr_assert_eq(reply(&m), 1);
    cr_assert_eq(m.p.config.size, 0);
}

Test(vub, unoffered_features_refused)
{
    uint64_t f = 1ull << 50;

    send_req(VHOST_USER_SET_FEATURES, 0, &f, 8, NULL, 0);
    cr_assert_eq(handle(), -EINVAL);
    f = 1ull << VHOST_USER_PROTOCOL_F_PAGEFAULT;
    send_req(VHOST_USER_SET_PROTOCOL_FEATURES, 0, &f, 8, NULL, 0);
    cr_assert_eq(handle(), -EINVAL);
}

Test(vub, add_mem_reg_needs_mem_slots)
{
    struct vu_mem_single r = { .region = { 0, 4096, 0x1000, 0 } };
    int fd = eventfd(0, EFD_CLOEXEC);

    send_req(VHOST_USER_ADD_MEM_REG, 0, &r, sizeof(r), &fd, 1);
    cr_assert_eq(handle(), -EPROTO);
    close(fd);
}

Test(vub, frontend_vanishes_mid_message)
{
    struct vu_hdr h = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 8 };
    uint32_t half = 0;

    cr_assert_eq(write(sv[0], &h, sizeof(h)), (ssize_t)sizeof(h));
    cr_assert_eq(write(sv[0], &half, sizeof(half)), (ssize_t)sizeof(half));
    close(sv[0]);
    sv[0] = -1;
    cr_assert_eq(handle(), -ECONNRESET);
    vu_backend_disconnect(b);
    cr_assert_eq(handle(), -EPIPE, "then a clean end of stream");
}

Test(vub, too_many_fds_drops)
{
    int fds[VHOST_USER_MAX_FDS + 1];
    char buf[CMSG_SPACE(sizeof(fds))];
    struct vu_hdr h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
    struct iovec iov = { &h, sizeof(h) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf)
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

    for (unsigned i = 0; i < VHOST_USER_MAX_FDS + 1; i++)
        fds[i] = eventfd(0, EFD_CLOEXEC);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(fds));
    memcpy(CMSG_DATA(c), fds, sizeof(fds));
    cr_assert_eq(sendmsg(sv[0], &msg, 0), (ssize_t)sizeof(h));
    cr_assert_eq(handle(), -EMSGSIZE);
    for (unsigned i = 0; i < VHOST_USER_MAX_FDS + 1; i++)
        close(fds[i]);
}
