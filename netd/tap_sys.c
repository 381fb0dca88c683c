#include "netd/tap_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_arp.h>
#include <linux/if_tun.h>

static int attach(const char *name, short flags, char out[IFNAMSIZ])
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = flags;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int r = -errno;

        close(fd);
        return r;
    }
    memcpy(out, ifr.ifr_name, IFNAMSIZ);
    out[IFNAMSIZ - 1] = 0;
    return fd;
}

int tap_open(char name[IFNAMSIZ], unsigned nqueues, int *fds)
{
    const short base = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    unsigned i;
    int fd = -1;

    for (i = 0; i < nqueues; i++) {
        fd = attach(name, base | IFF_MULTI_QUEUE, name);
        /* An existing single-queue TAP refuses a multi-queue attach; one queue does not care. */
        if (fd == -EINVAL && nqueues == 1)
            fd = attach(name, base, name);
        if (fd < 0)
            break;
        fds[i] = fd;
    }
    if (fd >= 0)
        return 0;
    while (i-- > 0) {
        close(fds[i]);
        fds[i] = -1;
    }
    return fd;
}

int tap_check_fd(int fd, char name[IFNAMSIZ])
{
    struct ifreq ifr;
    int fl;

    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return errno == EBADFD ? -ENODEV : -errno;
    if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_VNET_HDR) ||
        !(ifr.ifr_flags & IFF_NO_PI))
        return -EINVAL;
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = 0;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

int tap_set_offload(int fd, unsigned tun_flags)
{
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}

int tap_set_vnet_hdr_sz(int fd, int size)
{
    return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

static void set_addr(struct sockaddr *sa, const uint8_t a[4])
{
    struct sockaddr_in *in = (struct sockaddr_in *)sa;

    memset(in, 0, sizeof(*in));
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, a, 4);
}

int tap_configure(const char *name, const struct tap_ifcfg *c)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int r = 0;

    if (s < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (c->has_ip) {
        set_addr(&ifr.ifr_addr, c->ip);
        if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
            goto fail;
        set_addr(&ifr.ifr_netmask, c->mask);
        if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
            goto fail;
    }
    if (c->has_mac) {
        memset(&ifr.ifr_hwaddr, 0, sizeof(ifr.ifr_hwaddr));
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        memcpy(ifr.ifr_hwaddr.sa_data, c->mac, 6);
        if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
            goto fail;
    }
    if (c->mtu) {
        ifr.ifr_mtu = c->mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
            goto fail;
    }
    if (c->up) {
        if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
            goto fail;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            goto fail;
    }
    goto out;
fail:
    r = -errno;
out:
    close(s);
    return r;
}
