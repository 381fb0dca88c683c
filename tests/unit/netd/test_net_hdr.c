/* The virtio-net device model on fake elements: features, offloads, config bytes, every
 * transmit-header refusal and the receive scatter with and without MRG_RXBUF. */
#include <criterion/criterion.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "netd/net_hdr.h"

#define BIT(n) (1ull << (n))

static struct virtq_elem *e;
static uint8_t buf[4][4096];

static void setup(void)
{
    e = calloc(1, sizeof(*e));
    cr_assert_not_null(e);
    memset(buf, 0, sizeof(buf));
}

static void teardown(void)
{
    free(e);
}

TestSuite(net_hdr, .init = setup, .fini = teardown);

static const struct net_opts all_on = { .tso = true, .ufo = true, .csum = true, .pairs = 1 };

static void cfg_all(struct net_cfg *c)
{
    net_cfg_init(c, net_features(&all_on), 1500);
}

/* An element of readable segments of the given lengths, laid out in buf[i]. */
static void out_elem(const size_t *lens, unsigned n)
{
    memset(e, 0, sizeof(*e));
    for (unsigned i = 0; i < n; i++) {
        e->iov[i].iov_base = buf[i];
        e->iov[i].iov_len = lens[i];
        e->out_len += lens[i];
    }
    e->out_num = (uint16_t)n;
}

static void in_elem(uint16_t head, const size_t *lens, unsigned n)
{
    memset(e, 0, sizeof(*e));
    e->head = head;
    for (unsigned i = 0; i < n; i++) {
        e->iov[i].iov_base = buf[i];
        e->iov[i].iov_len = lens[i];
        e->in_len += lens[i];
    }
    e->in_num = (uint16_t)n;
}

static struct virtio_net_hdr *hdr0(void)
{
    return (struct virtio_net_hdr *)buf[0];
}

Test(net_hdr, features_follow_the_options)
{
    struct net_opts o = all_on;
    uint64_t f = net_features(&o);
    const unsigned want[] = { VIRTIO_F_VERSION_1,          VIRTIO_RING_F_EVENT_IDX,
                              VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_NET_F_MAC,
                              VIRTIO_NET_F_STATUS,         VIRTIO_NET_F_MRG_RXBUF,
                              VIRTIO_NET_F_CSUM,           VIRTIO_NET_F_GUEST_CSUM,
                              VIRTIO_NET_F_HOST_TSO4,      VIRTIO_NET_F_HOST_TSO6,
                              VIRTIO_NET_F_GUEST_TSO4,     VIRTIO_NET_F_GUEST_TSO6,
                              VIRTIO_NET_F_HOST_UFO,       VIRTIO_NET_F_GUEST_UFO };

    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_expect(f & BIT(want[i]), "bit %u missing", want[i]);
    cr_expect_not(f & BIT(VIRTIO_NET_F_MQ), "one pair needs no MQ");
    cr_expect_not(f & BIT(VIRTIO_NET_F_MTU));
    cr_expect_not(f & BIT(VIRTIO_NET_F_CTRL_VQ), "the control queue is the frontend's");
    o.pairs = 2;
    o.has_mtu = true;
    f = net_features(&o);
    cr_expect(f & BIT(VIRTIO_NET_F_MQ));
    cr_expect(f & BIT(VIRTIO_NET_F_MTU));
    o.tso = o.ufo = false;
    f = net_features(&o);
    cr_expect_not(f & (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
                       BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_GUEST_UFO)));
    cr_expect(f & BIT(VIRTIO_NET_F_CSUM));
    o.csum = false;
    o.tso = true; /* the CLI refuses this; the device model stays consistent anyway */
    f = net_features(&o);
    cr_expect_not(f & (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4)));
}

Test(net_hdr, header_size_and_frame_limit)
{
    struct net_cfg c;

    net_cfg_init(&c, BIT(VIRTIO_F_VERSION_1), 1500);
    cr_expect_eq(c.hdr_len, 12);
    cr_expect_eq(c.max_tx_frame, 1518);
    cr_expect_not(c.mrg_rxbuf);
    net_cfg_init(&c, 0, 9000);
    cr_expect_eq(c.hdr_len, 10, "legacy header without MRG_RXBUF");
    cr_expect_eq(c.max_tx_frame, 9018);
    net_cfg_init(&c, BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_HOST_TSO4), 1500);
    cr_expect_eq(c.hdr_len, 12);
    cr_expect(c.mrg_rxbuf);
    cr_expect_eq(c.max_tx_frame, NET_MAX_GSO_FRAME);
}

Test(net_hdr, tap_offloads_follow_guest_features)
{
    cr_expect_eq(net_tun_offloads(0), 0);
    cr_expect_eq(net_tun_offloads(BIT(VIRTIO_NET_F_GUEST_TSO4)), 0, "TSO without CSUM: nothing");
    cr_expect_eq(net_tun_offloads(BIT(VIRTIO_NET_F_GUEST_CSUM)), TUN_F_CSUM);
    cr_expect_eq(net_tun_offloads(net_features(&all_on)),
                 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO);
    cr_expect_eq(net_tun_offloads(BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_CSUM)), 0,
                 "host offloads are the driver's sending side, not the TAP's");
}

Test(net_hdr, config_bytes)
{
    const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
    const uint8_t want[] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0, 4, 0, 0xdc, 0x05 };
    uint8_t cfg[NET_CONFIG_SIZE];

    net_config(cfg, mac, true, 4, 1500);
    cr_expect_arr_eq(cfg, want, sizeof(want));
    net_config(cfg, mac, false, 4, 1500);
    cr_expect_eq(cfg[6], 0, "link down");
}

static unsigned tx(const struct net_cfg *c, enum net_bad *why)
{
    uint8_t h[NET_HDR_LEN];
    struct iovec out[8];

    return net_tx_prepare(c, e, h, out, 8, why);
}

Test(net_hdr, tx_chain_shorter_than_the_header)
{
    struct net_cfg c;
    enum net_bad why;
    size_t l[] = { 11 };

    cfg_all(&c);
    out_elem(l, 1);
    cr_expect_eq(tx(&c, &why), 0);
    cr_expect_eq(why, NET_BAD_SHORT);
    e->out_num = 0;
    e->out_len = 0;
    cr_expect_eq(tx(&c, &why), 0, "a chain with no readable part");
    cr_expect_eq(why, NET_BAD_SHORT);
    l[0] = 12 + 13;
    out_elem(l, 1);
    cr_expect_eq(tx(&c, &why), 0, "a header but no Ethernet header behind it");
    cr_expect_eq(why, NET_BAD_SHORT);
}

Test(net_hdr, tx_frame_larger_than_negotiated)
{
    struct net_cfg c;
    enum net_bad why;
    size_t l[] = { 12, 1518 };

    net_cfg_init(&c, BIT(VIRTIO_F_VERSION_1), 1500);
    out_elem(l, 2);
    cr_expect_eq(tx(&c, &why), 1, "MTU + Ethernet + VLAN header fits");
    l[1] = 1519;
    out_elem(l, 2);
    cr_expect_eq(tx(&c, &why), 0);
    cr_expect_eq(why, NET_BAD_TOO_BIG);
    l[1] = 4000;
    cfg_all(&c);
    out_elem(l, 2);
    cr_expect_eq(tx(&c, &why), 1, "with TSO the limit is a GSO frame");
}

Test(net_hdr, tx_header_offloads_must_be_negotiated)
{
    struct net_cfg c;
    enum net_bad why;
    size_t l[] = { 12, 1000 };

    net_cfg_init(&c, BIT(VIRTIO_F_VERSION_1), 1500);
    out_elem(l, 2);
    hdr0()->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    hdr0()->csum_start = htole16(34);
    hdr0()->csum_offset = htole16(16);
    cr_expect_eq(tx(&c, &why), 0, "NEEDS_CSUM without CSUM");
    cr_expect_eq(why, NET_BAD_HDR);

    net_cfg_init(&c, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CSUM), 1500);
    cr_expect_eq(tx(&c, &why), 1);
    hdr0()->csum_start = htole16(990);
    cr_expect_eq(tx(&c, &why), 0, "checksum field beyond the frame");
    cr_expect_eq(why, NET_BAD_HDR);
    hdr0()->csum_start = htole16(34);

    hdr0()->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    hdr0()->gso_size = htole16(1448);
    cr_expect_eq(tx(&c, &why), 0, "TSO4 without HOST_TSO4");
    cr_expect_eq(why, NET_BAD_HDR);
    net_cfg_init(&c, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4),
                 1500);
    cr_expect_eq(tx(&c, &why), 1);
    hdr0()->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
    cr_expect_eq(tx(&c, &why), 0, "TSO6 without HOST_TSO6");
    hdr0()->gso_type = VIRTIO_NET_HDR_GSO_UDP;
    cr_expect_eq(tx(&c, &why), 0, "UFO without HOST_UFO");
    hdr0()->gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
    cr_expect_eq(tx(&c, &why), 0, "ECN is never offered");
    hdr0()->gso_type = 7;
    cr_expect_eq(tx(&c, &why), 0, "unknown GSO type");
    hdr0()->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    hdr0()->gso_size = 0;
    cr_expect_eq(tx(&c, &why), 0, "GSO without a segment size");
    hdr0()->gso_size = htole16(1448);
    hdr0()->flags = 0;
    cr_expect_eq(tx(&c, &why), 0, "GSO without a partial checksum");
    hdr0()->gso_type = 0;
    hdr0()->flags = 0x80;
    cr_expect_eq(tx(&c, &why), 0, "unknown header flag");
    cr_expect_eq(why, NET_BAD_HDR);
}

Test(net_hdr, tx_iovecs_skip_a_split_header)
{
    struct net_cfg c;
    enum net_bad why;
    uint8_t h[NET_HDR_LEN];
    struct iovec out[8];
    size_t l[] = { 5, 100, 200 };

    cfg_all(&c);
    out_elem(l, 3);
    memset(buf[0], 0, 5);
    memset(buf[1], 0, 7); /* the header's last 7 bytes */
    buf[1][7] = 0xee;
    cr_assert_eq(net_tx_prepare(&c, e, h, out, 8, &why), 2);
    cr_expect_eq(why, NET_OK);
    cr_expect_eq(out[0].iov_base, buf[1] + 7);
    cr_expect_eq(out[0].iov_len, 93);
    cr_expect_eq(out[1].iov_base, buf[2]);
    cr_expect_eq(out[1].iov_len, 200);
    cr_expect_eq(net_tx_prepare(&c, e, h, out, 1, &why), 0, "room for one iovec only");
    cr_expect_eq(why, NET_BAD_SEGS);
}

Test(net_hdr, rx_one_buffer_without_mrg_rxbuf)
{
    struct net_cfg c;
    struct net_rx rx;
    uint8_t frame[12 + 100];
    uint16_t heads[4];
    uint32_t lens[4];
    size_t l[] = { 60, 100 };

    net_cfg_init(&c, BIT(VIRTIO_F_VERSION_1), 1500);
    memset(frame, 0xab, sizeof(frame));
    in_elem(3, l, 2);
    net_rx_begin(&rx, frame, sizeof(frame), heads, lens, 4);
    cr_assert_eq(net_rx_add(&rx, &c, e), NET_RX_DONE);
    net_rx_finish(&rx, &c, e);
    cr_expect_eq(rx.nbufs, 1);
    cr_expect_eq(heads[0], 3);
    cr_expect_eq(lens[0], sizeof(frame));
    cr_expect_eq(le16toh(((struct virtio_net_hdr_mrg_rxbuf *)buf[0])->num_buffers), 1);
    cr_expect_eq(buf[1][51], 0xab);
    cr_expect_eq(buf[1][52], 0);
}

Test(net_hdr, rx_frame_larger_than_the_buffer_is_dropped)
{
    struct net_cfg c;
    struct net_rx rx;
    uint8_t frame[10 + 1514] = { 0 };
    uint16_t heads[4];
    uint32_t lens[4];
    size_t l[] = { 1000 };

    net_cfg_init(&c, 0, 1500); /* legacy: 10-byte header, no MRG_RXBUF */
    in_elem(0, l, 1);
    net_rx_begin(&rx, frame, sizeof(frame), heads, lens, 4);
    cr_expect_eq(net_rx_add(&rx, &c, e), NET_RX_DROP);
    cr_expect_eq(rx.nbufs, 0, "nothing taken: the caller gives the buffer back");
}

Test(net_hdr, rx_buffer_shorter_than_the_header)
{
    struct net_cfg c;
    struct net_rx rx;
    uint8_t frame[12 + 60] = { 0 };
    uint16_t heads[4];
    uint32_t lens[4];
    size_t l[] = { 11 };

    cfg_all(&c);
    in_elem(0, l, 1);
    net_rx_begin(&rx, frame, sizeof(frame), heads, lens, 4);
    cr_expect_eq(net_rx_add(&rx, &c, e), NET_RX_SHORT);
    e->in_num = 0;
    e->in_len = 0;
    cr_expect_eq(net_rx_add(&rx, &c, e), NET_RX_SHORT, "a buffer with nothing writable");
    cr_expect_eq(rx.nbufs, 0);
}

Test(net_hdr, rx_mergeable_across_buffers)
{
    struct net_cfg c;
    struct net_rx rx;
    static uint8_t frame[12 + 2500];
    static struct virtq_elem first;
    uint16_t heads[8];
    uint32_t lens[8];
    size_t l[] = { 1024 };

    cfg_all(&c);
    for (size_t i = 0; i < sizeof(frame); i++)
        frame[i] = (uint8_t)i;
    net_rx_begin(&rx, frame, sizeof(frame), heads, lens, 8);
    in_elem(10, l, 1);
    cr_assert_eq(net_rx_add(&rx, &c, e), NET_RX_MORE);
    first = *e;
    l[0] = 1024;
    for (unsigned i = 0; i < 1; i++) {
        e->iov[0].iov_base = buf[1];
        e->head = 11;
        cr_assert_eq(net_rx_add(&rx, &c, e), NET_RX_MORE);
    }
    e->iov[0].iov_base = buf[2];
    e->head = 12;
    cr_assert_eq(net_rx_add(&rx, &c, e), NET_RX_DONE);
    net_rx_finish(&rx, &c, &first);
    cr_expect_eq(rx.nbufs, 3);
    cr_expect_eq(heads[0], 10);
    cr_expect_eq(heads[2], 12);
    cr_expect_eq(lens[0], 1024);
    cr_expect_eq(lens[1], 1024);
    cr_expect_eq(lens[2], sizeof(frame) - 2048);
    cr_expect_eq(le16toh(((struct virtio_net_hdr_mrg_rxbuf *)buf[0])->num_buffers), 3);
    cr_expect_eq(buf[1][0], (uint8_t)1024);
    cr_expect_eq(buf[2][sizeof(frame) - 2049], (uint8_t)(sizeof(frame) - 1));
}

Test(net_hdr, rx_mergeable_never_takes_more_than_the_ring)
{
    struct net_cfg c;
    struct net_rx rx;
    static uint8_t frame[12 + 5000];
    uint16_t heads[2];
    uint32_t lens[2];
    size_t l[] = { 1024 };

    cfg_all(&c);
    net_rx_begin(&rx, frame, sizeof(frame), heads, lens, 2);
    in_elem(0, l, 1);
    cr_expect_eq(net_rx_add(&rx, &c, e), NET_RX_MORE);
    cr_expect_eq(net_rx_add(&rx, &c, e), NET_RX_DROP, "a 2-entry ring cannot hold 5000 bytes");
    cr_expect_leq(rx.nbufs, 2);
}
