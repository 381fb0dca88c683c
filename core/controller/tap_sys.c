#include "core/controller/tap_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int ctl_tap_open(char name[IFNAMSIZ], unsigned nqueues, int *fds)
{
    unsigned n = 0;
    int r = 0;

    for (; n < nqueues; n++) {
        struct ifreq ifr;
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

        if (fd < 0) {
            r = -errno;
            break;
        }
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            r = -errno;
            close(fd);
            break;
        }
        /* The kernel's choice for an empty name: later queues attach to the same device. */
        snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
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
