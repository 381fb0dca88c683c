#ifndef CELLVM_NETD_TAP_SYS_H
#define CELLVM_NETD_TAP_SYS_H

/*
 * The TAP backend's side-effecting calls: opening or creating the device (before the jail),
 * interface setup for a standalone netd, and the two ioctls the jailed process keeps
 * (TUNSETOFFLOAD, TUNSETVNETHDRSZ: no privilege needed on an fd already attached).
 */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Attaches nqueues fds to TAP name (created if missing, which needs CAP_NET_ADMIN; an empty
 * name lets the kernel pick one, written back): IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, and
 * IFF_MULTI_QUEUE unless a single queue meets an existing single-queue TAP. fds[] get
 * O_CLOEXEC | O_NONBLOCK fds the caller owns. 0 or -errno (nothing left open).
 */
int tap_open(char name[IFNAMSIZ], unsigned nqueues, int *fds);

/* An fd handed in: must be a TAP with a vnet header; made non-blocking; name filled. */
int tap_check_fd(int fd, char name[IFNAMSIZ]);

int tap_set_offload(int fd, unsigned tun_flags);
int tap_set_vnet_hdr_sz(int fd, int size);

/* Cloud Hypervisor's setup of a TAP it opened; each part optional. Needs CAP_NET_ADMIN. */
struct tap_ifcfg {
    bool has_ip;
    uint8_t ip[4], mask[4]; /* IPv4 only */
    bool has_mac;
    uint8_t mac[6];
    uint16_t mtu; /* 0: leave it */
    bool up;
};

int tap_configure(const char *name, const struct tap_ifcfg *c);

#endif
