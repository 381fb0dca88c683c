#ifndef CELLVM_CORE_CONTROLLER_LINKWATCH_H
#define CELLVM_CORE_CONTROLLER_LINKWATCH_H

#include <event2/event.h>

#include "core/controller/devices.h"

/*
 * Host link state for --net devices: the controller (unjailed, in the host's network
 * namespace) listens to rtnetlink's link group in its own loop; when a TAP that a net device
 * uses goes down or up (IFF_UP and carrier), it records that on the device row and sends its
 * netd a LinkState message (devices_set_link). netd then flips VIRTIO_NET_S_LINK_UP and raises
 * a config change, so the guest sees its carrier follow the host's TAP. netd stays jailed with
 * no netlink access of its own.
 */

struct linkwatch {
    int fd;               /* rtnetlink socket; owned, -1 when not watching */
    struct event *ev;     /* owned */
    struct devices *devs; /* borrowed */
};

void linkwatch_init(struct linkwatch *lw);

/* Starts watching when any device row has a TAP (tap_ifindex > 0); 0 when there is nothing to
 * watch. 0 or -errno. */
int linkwatch_start(struct linkwatch *lw, struct event_base *base, struct devices *devs);

void linkwatch_close(struct linkwatch *lw);

#endif
