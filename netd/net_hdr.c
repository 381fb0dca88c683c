#include "netd/net_hdr.h"

#include <endian.h>
#include <string.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#define BIT(n) (1ull << (n))

static bool has(uint64_t f, unsigned bit)
{
    return f & BIT(bit);
}

uint64_t net_features(const struct net_opts *o)
{
    uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
                 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_NET_F_MAC) |
                 BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF);

    if (o->has_mtu)
        f |= BIT(VIRTIO_NET_F_MTU);
    /* MQ needs a control queue, which the frontend (the core, QEMU) adds: one pair needs none. */
    if (o->pairs > 1)
        f |= BIT(VIRTIO_NET_F_MQ);
    if (o->csum)
        f |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM);
    /* Segmentation offloads lean on checksum offload (the CLI refuses the combination). */
    if (o->csum && o->tso)
        f |= BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
             BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6);
    if (o->csum && o->ufo)
        f |= BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_GUEST_UFO);
    return f;
}

void net_cfg_init(struct net_cfg *c, uint64_t features, uint16_t mtu)
{
    bool gso = has(features, VIRTIO_NET_F_HOST_TSO4) || has(features, VIRTIO_NET_F_HOST_TSO6) ||
               has(features, VIRTIO_NET_F_HOST_UFO);

    c->features = features;
    c->mrg_rxbuf = has(features, VIRTIO_NET_F_MRG_RXBUF);
    c->hdr_len =
        has(features, VIRTIO_F_VERSION_1) || c->mrg_rxbuf ? NET_HDR_LEN : NET_HDR_LEN_LEGACY;
    c->max_tx_frame = gso ? NET_MAX_GSO_FRAME
                          : (uint32_t)(mtu ? mtu : NET_DEFAULT_MTU) + NET_ETH_HLEN + NET_VLAN_HLEN;
}

unsigned net_tun_offloads(uint64_t f)
{
    unsigned t = 0;

    /* Without checksum offload the TAP may hand us nothing partial, segmented or not. */
    if (!has(f, VIRTIO_NET_F_GUEST_CSUM))
        return 0;
    t |= TUN_F_CSUM;
    if (has(f, VIRTIO_NET_F_GUEST_TSO4))
        t |= TUN_F_TSO4;
    if (has(f, VIRTIO_NET_F_GUEST_TSO6))
        t |= TUN_F_TSO6;
    if (has(f, VIRTIO_NET_F_GUEST_ECN) && (t & (TUN_F_TSO4 | TUN_F_TSO6)))
        t |= TUN_F_TSO_ECN;
    if (has(f, VIRTIO_NET_F_GUEST_UFO))
        t |= TUN_F_UFO;
    return t;
}

void net_config(uint8_t out[NET_CONFIG_SIZE], const uint8_t mac[6], bool link_up, uint16_t pairs,
                uint16_t mtu)
{
    uint16_t status = htole16(link_up ? VIRTIO_NET_S_LINK_UP : 0);
    uint16_t mq = htole16(pairs);
    uint16_t m = htole16(mtu);

    memcpy(out, mac, 6);
    memcpy(out + 6, &status, 2);
    memcpy(out + 8, &mq, 2);
    memcpy(out + 10, &m, 2);
}

/* Gathers len bytes from the readable part of e into dst; returns bytes copied. */
static size_t copy_from_elem(const struct virtq_elem *e, void *dst, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < e->out_num && done < len; i++) {
        size_t n = e->iov[i].iov_len < len - done ? e->iov[i].iov_len : len - done;

        memcpy((uint8_t *)dst + done, e->iov[i].iov_base, n);
        done += n;
    }
    return done;
}

/* The header's requests against the negotiated features (virtio 1.2, 5.1.6.2). */
static bool tx_hdr_ok(const struct net_cfg *c, const struct virtio_net_hdr *h, size_t frame_len)
{
    uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    uint16_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

    if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return false;
    if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if (!has(c->features, VIRTIO_NET_F_CSUM))
            return false;
        if ((size_t)start + off + 2 > frame_len)
            return false;
    }
    if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(c->features, VIRTIO_NET_F_HOST_ECN))
        return false;
    switch (gso) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
    case VIRTIO_NET_HDR_GSO_TCPV4:
        if (!has(c->features, VIRTIO_NET_F_HOST_TSO4))
            return false;
        break;
    case VIRTIO_NET_HDR_GSO_TCPV6:
        if (!has(c->features, VIRTIO_NET_F_HOST_TSO6))
            return false;
        break;
    case VIRTIO_NET_HDR_GSO_UDP:
        if (!has(c->features, VIRTIO_NET_F_HOST_UFO))
            return false;
        break;
    default:
        return false;
    }
    /* A segmented frame needs a segment size and a partial checksum to finish per segment. */
    return h->gso_size != 0 && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

unsigned net_tx_prepare(const struct net_cfg *c, const struct virtq_elem *e, uint8_t *hdr,
                        struct iovec *out, unsigned max_out, enum net_bad *bad)
{
    size_t skip = c->hdr_len, frame_len;
    unsigned n = 0;

    if (e->out_len < c->hdr_len + NET_ETH_HLEN) {
        *bad = NET_BAD_SHORT;
        return 0;
    }
    frame_len = (size_t)e->out_len - c->hdr_len;
    if (frame_len > c->max_tx_frame) {
        *bad = NET_BAD_TOO_BIG;
        return 0;
    }
    copy_from_elem(e, hdr, c->hdr_len);
    if (!tx_hdr_ok(c, (const struct virtio_net_hdr *)hdr, frame_len)) {
        *bad = NET_BAD_HDR;
        return 0;
    }
    for (unsigned i = 0; i < e->out_num; i++) {
        size_t l = e->iov[i].iov_len;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        if (n == max_out) {
            *bad = NET_BAD_SEGS;
            return 0;
        }
        out[n].iov_base = (uint8_t *)e->iov[i].iov_base + skip;
        out[n].iov_len = l - skip;
        skip = 0;
        n++;
    }
    *bad = NET_OK;
    return n;
}

size_t net_copy_to_elem(const struct virtq_elem *e, size_t off, const void *src, size_t len)
{
    size_t done = 0;

    for (unsigned i = e->out_num; i < (unsigned)e->out_num + e->in_num && done < len; i++) {
        size_t l = e->iov[i].iov_len, n;

        if (off >= l) {
            off -= l;
            continue;
        }
        n = l - off < len - done ? l - off : len - done;
        memcpy((uint8_t *)e->iov[i].iov_base + off, (const uint8_t *)src + done, n);
        done += n;
        off = 0;
    }
    return done;
}

void net_rx_begin(struct net_rx *rx, const uint8_t *frame, size_t len, uint16_t *heads,
                  uint32_t *lens, unsigned max_bufs)
{
    rx->frame = frame;
    rx->len = len;
    rx->off = 0;
    rx->nbufs = 0;
    rx->heads = heads;
    rx->lens = lens;
    rx->max_bufs = max_bufs;
}

enum net_rx_step net_rx_add(struct net_rx *rx, const struct net_cfg *c, const struct virtq_elem *e)
{
    uint64_t room = e->in_len;
    size_t n;

    if (rx->nbufs == 0 && room < c->hdr_len)
        return NET_RX_SHORT;
    if (rx->nbufs >= rx->max_bufs)
        return NET_RX_DROP;
    if (!c->mrg_rxbuf && room < rx->len)
        return NET_RX_DROP;
    n = room < rx->len - rx->off ? (size_t)room : rx->len - rx->off;
    n = net_copy_to_elem(e, 0, rx->frame + rx->off, n);
    rx->heads[rx->nbufs] = e->head;
    rx->lens[rx->nbufs] = (uint32_t)n;
    rx->nbufs++;
    rx->off += n;
    if (rx->off == rx->len)
        return NET_RX_DONE;
    /* Without MRG_RXBUF the first buffer had room for all of it (checked above). */
    return rx->nbufs < rx->max_bufs ? NET_RX_MORE : NET_RX_DROP;
}

void net_rx_finish(const struct net_rx *rx, const struct net_cfg *c, const struct virtq_elem *first)
{
    uint16_t nb = htole16((uint16_t)rx->nbufs);

    /* The TAP leaves num_buffers alone (it writes a 10-byte header and skips the rest). */
    if (c->hdr_len == NET_HDR_LEN)
        net_copy_to_elem(first, offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers), &nb,
                         sizeof(nb));
}
