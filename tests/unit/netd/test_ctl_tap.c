/* The controller's TAP opening (core/controller/tap_sys.c) on real TAPs, each test in a network
 * namespace of its own (criterion runs every test in a fresh process, which unshares): a TAP
 * made by `ip tuntap add` without multi_queue serves one queue pair and refuses two with a
 * distinct error; a TAP cellvm creates is multi-queue. Needs root (CAP_NET_ADMIN) and ip(8);
 * skips with the reason otherwise. */
#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "core/controller/tap_sys.h"

static void own_netns(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root for a network namespace and TAPs");
    if (unshare(CLONE_NEWNET) < 0)
        cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
    if (access("/dev/net/tun", R_OK | W_OK) < 0)
        cr_skip_test("no /dev/net/tun");
}

static short tap_flags(int fd)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    cr_assert_eq(ioctl(fd, TUNGETIFF, &ifr), 0, "TUNGETIFF: %s", strerror(errno));
    return ifr.ifr_flags;
}

Test(ctl_tap, single_queue_tap_serves_one_pair)
{
    char name[IFNAMSIZ] = "sq0";
    int fds[2] = { -1, -1 };
    short fl;

    own_netns();
    if (system("ip tuntap add dev sq0 mode tap >/dev/null 2>&1") != 0)
        cr_skip_test("ip tuntap add failed (no iproute2?)");
    cr_assert_eq(ctl_tap_open(name, 1, fds), 0);
    cr_assert_geq(fds[0], 0);
    fl = tap_flags(fds[0]);
    cr_expect(!(fl & IFF_MULTI_QUEUE), "attached multi-queue to a single-queue TAP");
    cr_expect(fl & IFF_VNET_HDR, "no vnet header on the attached fd");
    cr_expect_eq(ctl_tap_ifindex(fds[0]), (int)if_nametoindex("sq0"));
    close(fds[0]);

    /* Two pairs cannot share it: a distinct error, and nothing left attached. */
    fds[0] = -1;
    cr_expect_eq(ctl_tap_open(name, 2, fds), -EMLINK);
    cr_expect_eq(fds[0], -1);
    cr_expect_eq(ctl_tap_open(name, 1, fds), 0, "the refused attach left the TAP busy");
    close(fds[0]);
}

Test(ctl_tap, multi_queue_tap_takes_every_pair)
{
    char name[IFNAMSIZ] = "mq0";
    int fds[2] = { -1, -1 };

    own_netns();
    if (system("ip tuntap add dev mq0 mode tap multi_queue >/dev/null 2>&1") != 0)
        cr_skip_test("ip tuntap add failed (no iproute2?)");
    cr_assert_eq(ctl_tap_open(name, 2, fds), 0);
    cr_expect(tap_flags(fds[0]) & IFF_MULTI_QUEUE);
    cr_expect(tap_flags(fds[1]) & IFF_MULTI_QUEUE);
    close(fds[0]);
    close(fds[1]);
}

Test(ctl_tap, new_tap_is_multi_queue_and_named_back)
{
    char name[IFNAMSIZ] = "";
    int fds[2] = { -1, -1 };

    own_netns();
    cr_assert_eq(ctl_tap_open(name, 2, fds), 0);
    cr_expect_neq(name[0], 0, "the kernel's name was not written back");
    cr_expect(tap_flags(fds[1]) & IFF_MULTI_QUEUE);
    cr_expect_gt(ctl_tap_ifindex(fds[1]), 0);
    close(fds[0]);
    close(fds[1]);
}

Test(ctl_tap, link_socket_sees_a_tap_go_down)
{
    char name[IFNAMSIZ] = "lw0", buf[8192];
    int fds[1] = { -1 }, s;
    ssize_t len = -1;

    own_netns();
    cr_assert_eq(ctl_tap_open(name, 1, fds), 0);
    s = ctl_link_socket();
    cr_assert_geq(s, 0, "ctl_link_socket: %s", strerror(-s));
    cr_assert_eq(system("ip link set lw0 up && ip link set lw0 down"), 0);
    /* Non-blocking: the kernel queued the notifications before system() returned. */
    len = recv(s, buf, sizeof(buf), 0);
    cr_expect_gt(len, 0, "no rtnetlink message after the link changed");
    close(s);
    close(fds[0]);
}
