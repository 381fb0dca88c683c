/*
 * cellvm-netd: the virtio-net device process over a TAP. The device-process runtime
 * (devproc_main) owns the command line, the control channel and the vhost-user socket; this
 * file turns a --net spec into open TAP queues, answers config and features, and runs one
 * thread per queue pair (net_queue.c).
 *
 * Where the TAP comes from:
 *   - from the controller (DeviceConfigure): fds[i] is queue pair i's TAP fd, nfds equals
 *     num_queues / 2; tap= and fd= in the spec only name them and are not opened;
 *   - standalone with fd=[...]: inherited TAP fds, one per queue pair (Cloud Hypervisor's key);
 *   - standalone with tap=NAME (or none: the kernel names a new one): opened here, multi-queue
 *     with a vnet header, before the jail; ip/mask, host_mac and mtu are set on it as Cloud
 *     Hypervisor does (that part needs CAP_NET_ADMIN).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "device-procs/devproc.h"
#include "device-procs/devproc_util.h"
#include "devspec/devspec.h"
#include "ipc/vhost_user.h"
#include "netd/net_hdr.h"
#include "netd/net_queue.h"
#include "netd/tap_sys.h"
#include "sandbox/jail.h"

#define VIRTIO_ID_NET         1
#define VHOST_USER_PF_CONFIG  (1ull << 9)
#define VHOST_USER_PF_BACKEND (1ull << 5)
#define NETD_MAX_PAIRS        8 /* PB_MAX_DEVICE_FDS: one TAP fd per pair in DeviceConfigure */
#define NETD_MAX_KEEP         (8 + 3 * NETD_MAX_PAIRS)

struct netd {
    struct devproc_ops ops; /* features and queue count follow the spec */
    struct net_opts opts;
    uint8_t mac[6];
    uint16_t mtu; /* what config space says; NET_DEFAULT_MTU unless mtu= */
    char tap_name[IFNAMSIZ];
    int tap_fds[NETD_MAX_PAIRS]; /* owned: one TAP queue per pair, closed in main */
    unsigned npairs;
    struct net_shared sh;
    struct net_pair pairs[NETD_MAX_PAIRS];
    unsigned pairs_ready; /* pairs[0..pairs_ready) initialised */
};

/* Cloud Hypervisor's default: a random, locally administered, unicast address. */
static void random_mac(uint8_t mac[6])
{
    if (getrandom(mac, 6, 0) != 6)
        memset(mac, 0x5a, 6);
    mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
}

static int adopt_fds(struct netd *n, int *fds, size_t nfds, char *err, size_t errlen)
{
    for (size_t i = 0; i < nfds; i++) {
        int r = tap_check_fd(fds[i], n->tap_name);

        if (r)
            return devproc_err(err, errlen, r, "--net: fd #%zu is not a TAP with a vnet header: %s",
                               i, strerror(-r));
        n->tap_fds[i] = fds[i];
        fds[i] = -1;
    }
    return 0;
}

/* Standalone: TAP fds inherited by number (fd=[...]). */
static int adopt_inherited(struct netd *n, const struct cli_net *cn, char *err, size_t errlen)
{
    int fds[NETD_MAX_PAIRS];

    for (size_t i = 0; i < cn->fds.n; i++)
        fds[i] = (int)cn->fds.v[i];
    return adopt_fds(n, fds, cn->fds.n, err, errlen);
}

static int open_tap(struct netd *n, const struct cli_net *cn, char *err, size_t errlen)
{
    struct tap_ifcfg ic = { .up = true };
    int r;

    snprintf(n->tap_name, sizeof(n->tap_name), "%s", cn->tap ? cn->tap : "");
    r = tap_open(n->tap_name, n->npairs, n->tap_fds);
    if (r)
        return devproc_err(err, errlen, r, "--net: cannot open TAP '%s': %s", n->tap_name,
                           strerror(-r));
    if (!cn->has_ip && !cn->has_host_mac && !cn->has_mtu && cn->tap && cn->tap[0])
        return 0; /* an existing TAP set up by its owner */
    if (cn->has_ip) {
        ic.has_ip = true;
        memcpy(ic.ip, cn->ip.addr, 4);
        memcpy(ic.mask, cn->mask.addr, 4);
    }
    ic.has_mac = cn->has_host_mac;
    memcpy(ic.mac, cn->host_mac, 6);
    ic.mtu = cn->has_mtu ? cn->mtu : 0;
    r = tap_configure(n->tap_name, &ic);
    if (r)
        return devproc_err(err, errlen, r, "--net: cannot set up TAP '%s': %s", n->tap_name,
                           strerror(-r));
    return 0;
}

static int setup(struct netd *n, const struct cli_net *cn, int *fds, size_t nfds, char *err,
                 size_t errlen)
{
    if (cn->vhost_user || cn->socket)
        return devproc_err(err, errlen, -EINVAL, "--net: %s", "socket/vhost_user name a frontend");
    n->npairs = cn->num_queues / 2u;
    if (n->npairs > NETD_MAX_PAIRS)
        return devproc_err(err, errlen, -EINVAL, "--net: num_queues above %d", 2 * NETD_MAX_PAIRS);
    if (cn->has_ip && (cn->ip.family != AF_INET || cn->mask.family != AF_INET))
        return devproc_err(err, errlen, -EINVAL, "--net: %s", "ip/mask: IPv4 only");
    n->opts = (struct net_opts){ .tso = cn->offload_tso,
                                 .ufo = cn->offload_ufo,
                                 .csum = cn->offload_csum,
                                 .has_mtu = cn->has_mtu,
                                 .mtu = cn->mtu,
                                 .pairs = (uint16_t)n->npairs };
    n->mtu = cn->has_mtu ? cn->mtu : NET_DEFAULT_MTU;
    n->sh.rl = (struct rl_config){
        .bw = { cn->rl.bw_size, cn->rl.bw_one_time_burst, cn->rl.bw_refill_time },
        .ops = { cn->rl.ops_size, cn->rl.ops_one_time_burst, cn->rl.ops_refill_time },
    };
    if (cn->has_mac)
        memcpy(n->mac, cn->mac, 6);
    else
        random_mac(n->mac);
    if (nfds) {
        if (nfds != n->npairs)
            return devproc_err(err, errlen, -EINVAL, "--net: %zu TAP fds for %u queue pairs", nfds,
                               n->npairs);
        return adopt_fds(n, fds, nfds, err, errlen);
    }
    if (cn->fds.n)
        return adopt_inherited(n, cn, err, errlen);
    return open_tap(n, cn, err, errlen);
}

static void close_taps(struct netd *n)
{
    for (unsigned i = 0; i < NETD_MAX_PAIRS; i++) {
        if (n->tap_fds[i] >= 0)
            close(n->tap_fds[i]);
        n->tap_fds[i] = -1;
    }
}

static int netd_parse_spec(void *dev, const char *opt, const char *val, int *fds, size_t nfds,
                           char *err, size_t errlen)
{
    struct netd *n = dev;
    struct cli_net cn;
    int r;

    if (strcmp(opt, "net") != 0)
        return devproc_err(err, errlen, -EINVAL, "unknown device option --%s", opt);
    if (n->npairs)
        return devproc_err(err, errlen, -EINVAL, "%s", "one --net per process");
    r = cli_net_parse(val, &cn, err, errlen);
    if (r == 0)
        r = setup(n, &cn, fds, nfds, err, errlen);
    cli_net_free(&cn);
    if (r < 0) {
        close_taps(n);
        n->npairs = 0;
        return r;
    }
    n->ops.features = net_features(&n->opts);
    n->ops.max_queues = (uint16_t)(2 * n->npairs);
    fprintf(stderr,
            "cellvm-netd: TAP %s, %u queue pair(s), mac %02x:%02x:%02x:%02x:%02x:%02x, mtu %u\n",
            n->tap_name, n->npairs, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
            n->mac[5], n->mtu);
    return 0;
}

static int netd_prepare(void *dev, struct devproc *dp, char *err, size_t errlen)
{
    struct netd *n = dev;

    n->sh.dp = dp;
    for (; n->pairs_ready < n->npairs; n->pairs_ready++) {
        int r = net_pair_init(&n->pairs[n->pairs_ready], n->pairs_ready, n->tap_fds[n->pairs_ready],
                              &n->sh);

        if (r)
            return devproc_err(err, errlen, r, "queue pair setup: %s", strerror(-r));
    }
    return 0;
}

static int netd_jail(void *dev, enum devproc_seccomp mode, const int *keep, size_t nkeep, char *err,
                     size_t errlen)
{
    struct netd *n = dev;
    int fds[NETD_MAX_KEEP];
    size_t k = 0;
    struct sbx_config cfg = { .profile = SBX_PROFILE_NETD };

    for (size_t i = 0; i < nkeep && k < NETD_MAX_KEEP; i++)
        fds[k++] = keep[i];
    for (unsigned i = 0; i < n->npairs && k + 3 <= NETD_MAX_KEEP; i++) {
        fds[k++] = n->tap_fds[i];
        fds[k++] = n->pairs[i].stop_fd;
        if (net_pair_ring_fd(&n->pairs[i]) >= 0)
            fds[k++] = net_pair_ring_fd(&n->pairs[i]);
    }
    cfg.keep_fds = fds;
    cfg.nkeep = k;
    cfg.seccomp = devproc_sbx_seccomp(mode);
    return sbx_enter(&cfg, err, errlen);
}

static int netd_get_config(void *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
    struct netd *n = dev;
    uint8_t space[NET_CONFIG_SIZE];

    net_config(space, n->mac, __atomic_load_n(&n->sh.link_up, __ATOMIC_RELAXED),
               (uint16_t)n->npairs, n->mtu);
    return devproc_config_read(space, sizeof(space), off, buf, len);
}

/* The driver writes nothing here (the MAC changes through the core's control queue); a
   migration restores the MAC. */
static int netd_set_config(void *dev, const uint8_t *buf, uint32_t off, uint32_t len,
                           uint32_t flags)
{
    struct netd *n = dev;

    if (flags != VHOST_USER_CONFIG_MIGRATION || off >= 6 || len > 6 - off)
        return -EPERM;
    memcpy(n->mac + off, buf, len);
    return 0;
}

static int netd_set_features(void *dev, uint64_t features)
{
    struct netd *n = dev;
    unsigned offl;

    net_cfg_init(&n->sh.cfg, features, n->mtu);
    offl = net_tun_offloads(features);
    for (unsigned i = 0; i < n->npairs; i++) {
        int r = tap_set_vnet_hdr_sz(n->tap_fds[i], (int)n->sh.cfg.hdr_len);

        if (!r)
            r = tap_set_offload(n->tap_fds[i], offl);
        /* A TAP that went away is the queue's business (counted there), not negotiation's. */
        if (r && r != -EBADFD) {
            fprintf(stderr, "cellvm-netd: TAP offloads 0x%x: %s\n", offl, strerror(-r));
            return r;
        }
    }
    return 0;
}

static int netd_start_queue(void *dev, uint16_t idx, struct virtq *vq)
{
    struct netd *n = dev;

    if (idx / 2u >= n->pairs_ready)
        return -EINVAL;
    return net_pair_set(&n->pairs[idx / 2], idx & 1, vq);
}

static int netd_stop_queue(void *dev, uint16_t idx)
{
    struct netd *n = dev;

    if (idx / 2u >= n->pairs_ready)
        return -EINVAL;
    return net_pair_set(&n->pairs[idx / 2], idx & 1, NULL);
}

static void netd_reset(void *dev)
{
    struct netd *n = dev;

    for (unsigned i = 0; i < n->pairs_ready; i++) {
        net_pair_set(&n->pairs[i], false, NULL);
        net_pair_set(&n->pairs[i], true, NULL);
    }
}

static int netd_control(void *dev, struct devproc *dp, const Cellvm__Envelope *msg)
{
    struct netd *n = dev;
    bool up;

    if (msg->body_case != CELLVM__ENVELOPE__BODY_LINK_STATE)
        return -ENOTSUP;
    up = msg->link_state->up;
    if (__atomic_exchange_n(&n->sh.link_up, up, __ATOMIC_RELAXED) == up)
        return 0;
    fprintf(stderr, "cellvm-netd: link %s\n", up ? "up" : "down");
    return devproc_config_changed(dp);
}

static const enum net_ctr rx_errors[] = { NET_C_RX_TOO_BIG, NET_C_RX_SHORT, NET_C_RX_NO_BUFFERS };
static const enum net_ctr tx_errors[] = { NET_C_TX_SHORT,    NET_C_TX_TOO_BIG, NET_C_TX_BAD_HDR,
                                          NET_C_TX_BAD_SEGS, NET_C_TAP_ERRORS, NET_C_LINK_DOWN,
                                          NET_C_TAP_GONE };

static void netd_stats(void *dev, Cellvm__DeviceStats *st)
{
    struct netd *n = dev;

    /* Cloud Hypervisor's vm.counters: the whole device, every pair summed. */
    for (unsigned i = 0; i < n->pairs_ready; i++) {
        st->rx_bytes += net_pair_counter(&n->pairs[i], NET_C_RX_BYTES);
        st->rx_frames += net_pair_counter(&n->pairs[i], NET_C_RX_FRAMES);
        st->tx_bytes += net_pair_counter(&n->pairs[i], NET_C_TX_BYTES);
        st->tx_frames += net_pair_counter(&n->pairs[i], NET_C_TX_FRAMES);
    }
    for (size_t i = 0; i < st->n_queues; i++) {
        Cellvm__QueueStats *q = st->queues[i];
        const struct net_pair *p;

        if (q->index / 2u >= n->pairs_ready)
            continue;
        p = &n->pairs[q->index / 2];
        if (q->index & 1)
            for (size_t k = 0; k < sizeof(tx_errors) / sizeof(tx_errors[0]); k++)
                q->errors += net_pair_counter(p, tx_errors[k]);
        else
            for (size_t k = 0; k < sizeof(rx_errors) / sizeof(rx_errors[0]); k++)
                q->errors += net_pair_counter(p, rx_errors[k]);
    }
}

/*
 * DEVICE_STATE (issue 18), rings stopped: the MAC the guest sees (random unless mac= was given,
 * so a restore or a migration must carry it), and each pair's counters. MTU and the pair count
 * come from the spec and are checked on load; the offloads follow from the acked features,
 * which the runtime checks and SET_FEATURES already applied to the TAP.
 */
struct netd_state {
    uint8_t mac[6];
    uint16_t mtu;
    uint16_t npairs;
    uint16_t ncounters;
    uint32_t reserved;
    uint64_t ctr[]; /* npairs x ncounters */
};
_Static_assert(sizeof(struct netd_state) == 16, "netd_state layout");

static int netd_save_state(void *dev, uint8_t *buf, size_t cap)
{
    struct netd *n = dev;
    struct netd_state st = { .mtu = n->mtu,
                             .npairs = (uint16_t)n->pairs_ready,
                             .ncounters = NET_C_COUNT };
    size_t len = sizeof(st) + (size_t)st.npairs * NET_C_COUNT * 8;

    if (len > cap)
        return -E2BIG;
    memcpy(st.mac, n->mac, 6);
    memcpy(buf, &st, sizeof(st));
    for (unsigned i = 0; i < n->pairs_ready; i++)
        for (unsigned k = 0; k < NET_C_COUNT; k++) {
            uint64_t v = net_pair_counter(&n->pairs[i], (enum net_ctr)k);

            memcpy(buf + sizeof(st) + ((size_t)i * NET_C_COUNT + k) * 8, &v, 8);
        }
    return (int)len;
}

static int netd_load_state(void *dev, const uint8_t *buf, size_t len)
{
    struct netd *n = dev;
    struct netd_state st;

    if (len < sizeof(st))
        return -EINVAL;
    memcpy(&st, buf, sizeof(st));
    if (st.npairs != n->pairs_ready || st.ncounters != NET_C_COUNT || st.mtu != n->mtu ||
        st.reserved || len != sizeof(st) + (size_t)st.npairs * NET_C_COUNT * 8) {
        fprintf(stderr, "cellvm-netd: device state for %u pairs, mtu %u; this device has %u, %u\n",
                st.npairs, st.mtu, n->pairs_ready, n->mtu);
        return -EINVAL;
    }
    if ((st.mac[0] & 1) || !(st.mac[0] | st.mac[1] | st.mac[2] | st.mac[3] | st.mac[4] | st.mac[5]))
        return -EINVAL; /* multicast or all zero: not an address a NIC has */
    /* The rings are stopped: no pair thread adds to its counters now. */
    for (unsigned i = 0; i < st.npairs; i++)
        for (unsigned k = 0; k < NET_C_COUNT; k++)
            memcpy(&n->pairs[i].ctr[k], buf + sizeof(st) + ((size_t)i * NET_C_COUNT + k) * 8, 8);
    memcpy(n->mac, st.mac, 6);
    fprintf(stderr, "cellvm-netd: state loaded: mac %02x:%02x:%02x:%02x:%02x:%02x, %u pair(s)\n",
            st.mac[0], st.mac[1], st.mac[2], st.mac[3], st.mac[4], st.mac[5], st.npairs);
    return 0;
}

static void print_counters(const struct netd *n)
{
    static const char *const names[NET_C_COUNT] = {
        "rx_frames",     "rx_bytes",    "tx_frames",  "tx_bytes",  "rx_stalls",
        "rx_no_buffers", "rx_too_big",  "rx_short",   "tx_short",  "tx_too_big",
        "tx_bad_hdr",    "tx_bad_segs", "tap_errors", "link_down", "tap_gone",
    };

    for (unsigned i = 0; i < n->pairs_ready; i++) {
        fprintf(stderr, "cellvm-netd: pair %u:", i);
        for (unsigned c = 0; c < NET_C_COUNT; c++)
            fprintf(stderr, " %s=%llu", names[c],
                    (unsigned long long)net_pair_counter(&n->pairs[i], (enum net_ctr)c));
        fprintf(stderr, "\n");
    }
}

int main(int argc, char **argv)
{
    struct netd n;
    int status;

    memset(&n, 0, sizeof(n));
    for (unsigned i = 0; i < NETD_MAX_PAIRS; i++)
        n.tap_fds[i] = -1;
    n.sh.link_up = true;
    n.ops = (struct devproc_ops){
        .name = "net",
        .spec_option = "net",
        .virtio_id = VIRTIO_ID_NET,
        .features = 0, /* set by parse_spec: offloads, MTU and MQ follow the spec */
        .max_queues = 2,
        .protocol_features = VHOST_USER_PF_CONFIG | VHOST_USER_PF_BACKEND,
        .config_size = NET_CONFIG_SIZE,
        .parse_spec = netd_parse_spec,
        .prepare = netd_prepare,
        .jail = netd_jail,
        .get_config = netd_get_config,
        .set_config = netd_set_config,
        .set_features = netd_set_features,
        .start_queue = netd_start_queue,
        .stop_queue = netd_stop_queue,
        .reset = netd_reset,
        .control = netd_control,
        .stats = netd_stats,
        .save_state = netd_save_state,
        .load_state = netd_load_state,
    };
    status = devproc_main(argc, argv, &n.ops, &n);
    netd_reset(&n);
    print_counters(&n);
    for (unsigned i = 0; i < n.pairs_ready; i++)
        net_pair_destroy(&n.pairs[i]);
    close_taps(&n);
    return status;
}
