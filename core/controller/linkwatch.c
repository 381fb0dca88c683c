#include "core/controller/linkwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/controller/tap_sys.h"

/* linux/if.h's carrier flag; net/if.h (which this file needs for IFF_UP) lacks it. */
#define LW_IFF_LOWER_UP 0x10000u
/* Datagrams read per wakeup: the kernel can queue many (every link on the host), the loop has
 * other work; the rest waits for the next wakeup. */
#define LW_MAX_READS 32

void linkwatch_init(struct linkwatch *lw)
{
    lw->fd = -1;
    lw->ev = NULL;
    lw->devs = NULL;
}

static void link_event(struct linkwatch *lw, const struct nlmsghdr *h)
{
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    bool up;

    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index <= 0)
        return;
    up = h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
         (ifi->ifi_flags & LW_IFF_LOWER_UP);
    for (size_t i = 0; i < lw->devs->n; i++)
        if (lw->devs->v[i].tap_ifindex == ifi->ifi_index)
            devices_set_link(&lw->devs->v[i], up);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct linkwatch *lw = arg;
    /* Aligned for struct nlmsghdr; large enough for one link message with its attributes. */
    uint32_t buf[2048];

    (void)what;
    for (int n = 0; n < LW_MAX_READS; n++) {
        ssize_t len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        const struct nlmsghdr *h = (const struct nlmsghdr *)buf;

        /* ENOBUFS: the kernel dropped messages; later ones still carry the current state. */
        if (len < 0 && (errno == EINTR || errno == ENOBUFS))
            continue;
        if (len <= 0)
            return;
        for (int left = (int)len; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
            if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
                link_event(lw, h);
    }
}

int linkwatch_start(struct linkwatch *lw, struct event_base *base, struct devices *devs)
{
    bool any = false;
    int r;

    for (size_t i = 0; i < devs->n; i++)
        any |= devs->v[i].tap_ifindex > 0;
    if (!any)
        return 0;
    r = ctl_link_socket();
    if (r < 0)
        return r;
    lw->fd = r;
    lw->devs = devs;
    lw->ev = event_new(base, lw->fd, EV_READ | EV_PERSIST, on_readable, lw);
    if (!lw->ev || event_add(lw->ev, NULL)) {
        linkwatch_close(lw);
        return -ENOMEM;
    }
    return 0;
}

void linkwatch_close(struct linkwatch *lw)
{
    if (lw->ev)
        event_free(lw->ev);
    lw->ev = NULL;
    if (lw->fd >= 0)
        close(lw->fd);
    lw->fd = -1;
}
