/* --net: the key table, MAC and IP values and per-option checks (Cloud Hypervisor v51.0
 * semantics). */
#include "devspec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "devspec_util.h"

#define MIN_MTU 1280

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned i;

    /* "aa:bb:cc:dd:ee:ff": 17 bytes, colons at fixed places, nothing before or after. */
    if (strlen(s) != 17)
        return -EINVAL;
    for (i = 0; i < 6; i++) {
        const char *p = s + i * 3;
        int hi = hexval(p[0]), lo = hexval(p[1]);

        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int conv_mac(const char *value, void *dst, char *why, size_t whylen)
{
    char buf[32];

    if (devspec_scalar(value, buf, sizeof(buf)) < 0 || cli_parse_mac(buf, dst) < 0) {
        snprintf(why, whylen, "expected six colon-separated hex pairs, e.g. 2e:00:00:00:00:01");
        return -EINVAL;
    }
    return 0;
}

static int conv_ip(const char *value, void *dst, char *why, size_t whylen)
{
    struct cli_ip *ip = dst;
    char buf[64];

    memset(ip, 0, sizeof(*ip));
    if (devspec_scalar(value, buf, sizeof(buf)) < 0)
        goto bad;
    if (inet_pton(AF_INET, buf, ip->addr) == 1) {
        ip->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, ip->addr) == 1) {
        ip->family = AF_INET6;
        return 0;
    }
bad:
    snprintf(why, whylen, "not an IPv4 or IPv6 address");
    return -EINVAL;
}

static int conv_vhost_mode(const char *value, void *dst, char *why, size_t whylen)
{
    enum cli_vhost_mode *m = dst;
    char buf[16];

    if (devspec_scalar(value, buf, sizeof(buf)) == 0) {
        if (!strcasecmp(buf, "client")) {
            *m = CLI_VHOST_CLIENT;
            return 0;
        }
        if (!strcasecmp(buf, "server")) {
            *m = CLI_VHOST_SERVER;
            return 0;
        }
    }
    snprintf(why, whylen, "expected client or server");
    return -EINVAL;
}

static int conv_fds(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_u32_list_free(dst);
    return optparse_intlist(value, INT32_MAX, dst, why, whylen);
}

#define NET_KEY(n, t, m, sup, dflt_, c)                                                           \
    {                                                                                             \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_net, m), .supported = sup, .dflt = dflt_, \
        .conv = c                                                                                 \
    }
#define NET_S(n, t, m) NET_KEY(n, t, m, true, NULL, NULL)

static const struct optparse_key net_keys[] = {
    NET_S("tap", OPTPARSE_STR, tap),
    NET_KEY("ip", OPTPARSE_CUSTOM, ip, true, NULL, conv_ip),
    NET_KEY("mask", OPTPARSE_CUSTOM, mask, true, NULL, conv_ip),
    NET_KEY("mac", OPTPARSE_CUSTOM, mac, true, NULL, conv_mac),
    NET_KEY("host_mac", OPTPARSE_CUSTOM, host_mac, true, NULL, conv_mac),
    NET_S("offload_tso", OPTPARSE_TOGGLE, offload_tso),
    NET_S("offload_ufo", OPTPARSE_TOGGLE, offload_ufo),
    NET_S("offload_csum", OPTPARSE_TOGGLE, offload_csum),
    NET_S("mtu", OPTPARSE_U16, mtu),
    NET_S("iommu", OPTPARSE_TOGGLE, iommu),
    NET_S("queue_size", OPTPARSE_U16, queue_size),
    NET_S("num_queues", OPTPARSE_U16, num_queues),
    NET_S("vhost_user", OPTPARSE_TOGGLE, vhost_user),
    NET_S("socket", OPTPARSE_STR, socket),
    NET_KEY("vhost_mode", OPTPARSE_CUSTOM, vhost_mode, true, NULL, conv_vhost_mode),
    NET_S("id", OPTPARSE_STR, id),
    NET_KEY("fd", OPTPARSE_CUSTOM, fds, true, NULL, conv_fds),
    NET_S("bw_size", OPTPARSE_U64, rl.bw_size),
    NET_S("bw_one_time_burst", OPTPARSE_U64, rl.bw_one_time_burst),
    NET_S("bw_refill_time", OPTPARSE_U64, rl.bw_refill_time),
    NET_S("ops_size", OPTPARSE_U64, rl.ops_size),
    NET_S("ops_one_time_burst", OPTPARSE_U64, rl.ops_one_time_burst),
    NET_S("ops_refill_time", OPTPARSE_U64, rl.ops_refill_time),
    NET_KEY("pci_segment", OPTPARSE_U16, pci_segment, true, "0", NULL),
};

static const struct optparse_spec net_spec = {
    .opt = "--net",
    .keys = net_keys,
    .nkeys = sizeof(net_keys) / sizeof(net_keys[0]),
};

void cli_net_free(struct cli_net *n)
{
    free(n->tap);
    free(n->socket);
    free(n->id);
    optparse_u32_list_free(&n->fds);
    n->tap = n->socket = n->id = NULL;
}

static int net_check(struct cli_net *n, char *err, size_t errlen)
{
    size_t i;

    if (n->num_queues < 2 || n->num_queues % 2) {
        cli_err(err, errlen,
                "--net: invalid value for 'num_queues': '%u' (an even number, at "
                "least 2)",
                n->num_queues);
        return -EINVAL;
    }
    if (n->fds.n) {
        if (n->fds.n * 2 != n->num_queues) {
            cli_err(err, errlen,
                    "--net: invalid value for 'fd': %zu fds for %u queues (one fd "
                    "per queue pair)",
                    n->fds.n, n->num_queues);
            return -EINVAL;
        }
        for (i = 0; i < n->fds.n; i++) {
            if (n->fds.v[i] <= 2) {
                cli_err(err, errlen,
                        "--net: invalid value for 'fd': '%u' (0, 1 and 2 are "
                        "reserved)",
                        n->fds.v[i]);
                return -EINVAL;
            }
        }
    }
    if (devspec_check_queue_size("--net", n->queue_size, 1, err, errlen) < 0)
        return -EINVAL;
    if (n->has_mtu && n->mtu < MIN_MTU) {
        cli_err(err, errlen, "--net: invalid value for 'mtu': '%u' (at least %d)", n->mtu, MIN_MTU);
        return -EINVAL;
    }
    if (!n->offload_csum && (n->offload_tso || n->offload_ufo)) {
        cli_err(err, errlen,
                "--net: invalid value for 'offload_csum': 'off' (offload_tso and "
                "offload_ufo need it on)");
        return -EINVAL;
    }
    if (n->has_ip != n->has_mask) {
        cli_err(err, errlen, "--net: invalid value for '%s': ip and mask go together",
                n->has_ip ? "ip" : "mask");
        return -EINVAL;
    }
    if (n->vhost_user && !n->socket) {
        cli_err(err, errlen, "--net: missing required key 'socket' (vhost_user=on)");
        return -EINVAL;
    }
    if (n->socket && cli_check_path("--net", "socket", n->socket, err, errlen) < 0)
        return -EINVAL;
    if (cli_rate_limit_check("--net", &n->rl, err, errlen) < 0)
        return -EINVAL;
    if (n->vhost_user && cli_rate_limit_on(&n->rl)) {
        cli_err(err, errlen, "--net: rate limiting is not supported with vhost-user");
        return -EINVAL;
    }
    return devspec_check_id("--net", n->id, err, errlen);
}

int cli_net_parse(const char *value, struct cli_net *net, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(net, 0, sizeof(*net));
    net->num_queues = 2;
    net->queue_size = 256;
    net->vhost_mode = CLI_VHOST_CLIENT;
    net->offload_tso = net->offload_ufo = net->offload_csum = true;
    r = optparse_parse(&net_spec, value, net, &seen, err, errlen);
    if (r < 0)
        return r;
    net->has_ip = optparse_valued(&net_spec, &seen, "ip");
    net->has_mask = optparse_valued(&net_spec, &seen, "mask");
    net->has_mac = optparse_valued(&net_spec, &seen, "mac");
    net->has_host_mac = optparse_valued(&net_spec, &seen, "host_mac");
    net->has_mtu = optparse_valued(&net_spec, &seen, "mtu");
    return net_check(net, err, errlen);
}
