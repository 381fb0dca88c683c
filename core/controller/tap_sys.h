#ifndef CELLVM_CORE_CONTROLLER_TAP_SYS_H
#define CELLVM_CORE_CONTROLLER_TAP_SYS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The controller's TAP setup for --net (it runs unjailed with CAP_NET_ADMIN; cellvm-netd only
 * ever gets the attached fds).
 */

/*
 * Attaches nqueues new fds (O_CLOEXEC) to TAP `name`, creating it if missing: IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE. An empty name lets the kernel choose; the name is
 * written back. An existing TAP made without IFF_MULTI_QUEUE is attached single-queue when
 * nqueues is 1, and gives -EMLINK for more. 0 or -errno with nothing left open.
 */
int ctl_tap_open(char name[IFNAMSIZ], unsigned nqueues, int *fds);

struct ctl_tap_if {
    bool has_ip;
    uint8_t ip[4], mask[4];
    bool has_mac;
    uint8_t mac[6];
    uint16_t mtu; /* 0: leave it */
};

/* Addresses, MAC and MTU as given, then the link up. 0 or -errno. */
int ctl_tap_configure(const char *name, const struct ctl_tap_if *c);

/* The ifindex of the TAP that fd is attached to (TUNGETIFF), for the link watcher. >0 or -errno. */
int ctl_tap_ifindex(int fd);

/* A non-blocking rtnetlink socket (O_CLOEXEC) subscribed to RTMGRP_LINK: every link's
 * RTM_NEWLINK/RTM_DELLINK. The fd (owned by the caller) or -errno. */
int ctl_link_socket(void);

#endif
