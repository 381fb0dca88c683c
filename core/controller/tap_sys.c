#include "core/controller/tap_sys.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int tap_attach(const char *name, short flags, char out[IFNAMSIZ])
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = flags;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int r = -errno;

        close(fd);
        return r;
    }
    /* The kernel's choice for an empty name: later queues attach to the same device. */
    snprintf(out, IFNAMSIZ, "%s", ifr.ifr_name);
    return fd;
}

int ctl_tap_open(char name[IFNAMSIZ], unsigned nqueues, int *fds)
{
    const short base = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    unsigned n = 0;
    int r = 0;

    for (; n < nqueues; n++) {
        int fd = tap_attach(name, base | IFF_MULTI_QUEUE, name);

        /*
         * The kernel refuses a multi-queue attach to an existing TAP made without
         * IFF_MULTI_QUEUE (e.g. by `ip tuntap add` without multi_queue) with EINVAL. One queue
         * pair needs only one fd, so that TAP serves as it is; more pairs cannot share it.
         */
        if (fd == -EINVAL && n == 0) {
            fd = tap_attach(name, base, name);
            if (fd >= 0 && nqueues > 1) {
                close(fd);
                fd = -EMLINK;
            }
        }
        if (fd < 0) {
            r = fd;
            break;
        }
        fds[n] = fd;
    }
    if (r)
        while (n)
            close(fds[--n]);
    return r;
}

static int ifreq_call(int s, unsigned long req, struct ifreq *ifr)
{
    return ioctl(s, req, ifr) < 0 ? -errno : 0;
}

static void put_in4(struct sockaddr *sa, const uint8_t a[4])
{
    struct sockaddr_in sin = { .sin_family = AF_INET };

    memcpy(&sin.sin_addr, a, 4);
    memcpy(sa, &sin, sizeof(sin));
}

int ctl_tap_configure(const char *name, const struct ctl_tap_if *c)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int r = 0;

    if (s < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (c->has_ip) {
        put_in4(&ifr.ifr_addr, c->ip);
        r = ifreq_call(s, SIOCSIFADDR, &ifr);
        if (!r) {
            put_in4(&ifr.ifr_netmask, c->mask);
            r = ifreq_call(s, SIOCSIFNETMASK, &ifr);
        }
    }
    if (!r && c->has_mac) {
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        memcpy(ifr.ifr_hwaddr.sa_data, c->mac, 6);
        r = ifreq_call(s, SIOCSIFHWADDR, &ifr);
    }
    if (!r && c->mtu) {
        ifr.ifr_mtu = c->mtu;
        r = ifreq_call(s, SIOCSIFMTU, &ifr);
    }
    if (!r)
        r = ifreq_call(s, SIOCGIFFLAGS, &ifr);
    if (!r) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ifreq_call(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return r;
}

int ctl_tap_ifindex(int fd)
{
    struct ifreq ifr;
    unsigned idx;

    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return -errno;
    ifr.ifr_name[IFNAMSIZ - 1] = 0;
    idx = if_nametoindex(ifr.ifr_name);
    if (!idx)
        return -errno;
    return idx > INT_MAX ? -EOVERFLOW : (int)idx;
}

int ctl_link_socket(void)
{
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;

        close(fd);
        return r;
    }
    return fd;
}
