/* The vhost-user codec: framing, fd passing and per-request shape checks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/vhost_user.h"

static int sv[2];

static void setup(void)
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void teardown(void)
{
    close(sv[0]);
    close(sv[1]);
}

TestSuite(codec, .init = setup, .fini = teardown);

Test(codec, roundtrip_with_fd)
{
    struct vu_msg m, got;
    int fd = eventfd(0, EFD_CLOEXEC), fds[VHOST_USER_MAX_FDS];
    size_t nfds = 0;
    const char *why;

    vu_msg_init(&m, VHOST_USER_SET_VRING_KICK, 0, 8);
    m.p.u64 = 1;
    cr_assert_eq(vu_msg_send(sv[0], &m, &fd, 1), 0);
    cr_assert_eq(vu_msg_recv(sv[1], &got, fds, &nfds), 1);
    cr_assert_eq(nfds, 1);
    cr_assert_eq(got.hdr.request, VHOST_USER_SET_VRING_KICK);
    cr_assert_eq(got.p.u64, 1);
    cr_assert_eq(vu_msg_check_request(&got, nfds, &why), 0);
    cr_assert_eq(vu_msg_check_request(&got, 0, &why), -EINVAL);
    close(fds[0]);
    close(fd);
}

Test(codec, end_of_stream)
{
    struct vu_msg m;
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds;

    close(sv[0]);
    sv[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(vu_msg_recv(sv[1], &m, fds, &nfds), 0);
}

Test(codec, truncated_header)
{
    struct vu_msg m;
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds;
    uint32_t x = VHOST_USER_GET_FEATURES;

    cr_assert_eq(write(sv[0], &x, 4), 4);
    shutdown(sv[0], SHUT_WR);
    cr_assert_eq(vu_msg_recv(sv[1], &m, fds, &nfds), -ECONNRESET);
}

Test(codec, shapes)
{
    struct vu_msg m;
    const char *why;

    memset(&m, 0, sizeof(m));
    vu_msg_init(&m, VHOST_USER_SET_MEM_TABLE, 0, 8 + 32);
    m.p.mem.nregions = 1;
    cr_assert_eq(vu_msg_check_request(&m, 1, &why), 0);
    cr_assert_eq(vu_msg_check_request(&m, 0, &why), -EINVAL);
    m.p.mem.nregions = 2;
    cr_assert_eq(vu_msg_check_request(&m, 2, &why), -EINVAL, "size does not match count");
    vu_msg_init(&m, VHOST_USER_GET_CONFIG, 0, VU_CONFIG_HDR_SIZE + 4);
    m.p.config.size = 4;
    cr_assert_eq(vu_msg_check_request(&m, 0, &why), 0);
    m.p.config.size = 300;
    cr_assert_eq(vu_msg_check_request(&m, 0, &why), -EINVAL);
    vu_msg_init(&m, VHOST_USER_GET_INFLIGHT_FD, 0, 24);
    cr_assert_eq(vu_msg_check_request(&m, 0, &why), 0);
    vu_msg_init(&m, VHOST_USER_GET_INFLIGHT_FD, 0, 16);
    cr_assert_eq(vu_msg_check_request(&m, 0, &why), -EINVAL);
    vu_msg_init(&m, VHOST_USER_REM_MEM_REG, 0, 40);
    cr_assert_eq(vu_msg_check_request(&m, 1, &why), 0, "an fd is tolerated");
    vu_msg_init(&m, VHOST_USER_REQUEST_MAX, 0, 0);
    cr_assert_eq(vu_msg_check_request(&m, 0, &why), -EINVAL);
    cr_assert_str_eq(vu_request_name(VHOST_USER_GET_VRING_BASE), "GET_VRING_BASE");
    cr_assert_str_eq(vu_request_name(9999), "UNKNOWN");
}

Test(codec, backend_requests)
{
    struct vu_msg m;
    const char *why;

    vu_msg_init(&m, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 0, 0);
    cr_assert_eq(vu_msg_check_backend_request(&m, 0, &why), 0);
    cr_assert_eq(vu_msg_check_backend_request(&m, 1, &why), -EINVAL);
    vu_msg_init(&m, 77, 0, 0);
    cr_assert_eq(vu_msg_check_backend_request(&m, 0, &why), -EINVAL);
}
