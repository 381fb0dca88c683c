/*
 * A queue pair's receive and transmit passes on real split rings in a fake guest memory, with a
 * SOCK_SEQPACKET socketpair standing in for the TAP (one frame per read/write, as a TAP does):
 * every bad-input case is counted, the ring keeps moving, and the next good frame goes through.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "device-procs/devmem.h"
#include "netd/net_queue.h"

#define GPA    0x100000ull
#define UVA    0x7f0000000000ull
#define SIZE   0x40000ull
#define NUM    8
#define BUFS   0x10000ull /* buffers from here on */
#define BIT(n) (1ull << (n))

struct ring {
    struct virtq vq;
    uint64_t off; /* desc at off, avail at +0x1000, used at +0x2000 */
    uint16_t next_desc;
};

static uint8_t *mem;
static struct devmem dm;
static struct ring rxr, txr;
static struct net_shared sh;
static struct net_pair pair;
static int sv[2] = { -1, -1 }; /* [0] the pair's "TAP", [1] the host side */

static void ring_init_num(struct ring *r, uint16_t idx, uint64_t off, uint16_t num)
{
    virtq_init(&r->vq, idx);
    r->vq.num = num;
    r->off = off;
    r->next_desc = 0;
    cr_assert_eq(virtq_map(&r->vq, &dm, UVA + off, UVA + off + 0x1000, UVA + off + 0x2000), 0);
    virtq_prepare(&r->vq);
}

static void ring_init(struct ring *r, uint16_t idx, uint64_t off)
{
    ring_init_num(r, idx, off, NUM);
}

static void setup_with(uint64_t features)
{
    mem = aligned_alloc(4096, SIZE);
    cr_assert_not_null(mem);
    memset(mem, 0, SIZE);
    devmem_init(&dm);
    cr_assert_eq(devmem_add_host(&dm, GPA, UVA, mem, SIZE), 0);
    ring_init(&rxr, 0, 0);
    ring_init(&txr, 1, 0x3000);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    memset(&sh, 0, sizeof(sh));
    net_cfg_init(&sh.cfg, features, 1500);
    sh.link_up = true;
    cr_assert_eq(net_pair_init(&pair, 0, sv[0], &sh), 0);
    pair.rx = &rxr.vq;
    pair.tx = &txr.vq;
}

static void setup(void)
{
    setup_with(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CSUM) |
               BIT(VIRTIO_NET_F_GUEST_CSUM));
}

static void teardown(void)
{
    pair.rx = pair.tx = NULL;
    net_pair_destroy(&pair);
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
    sv[0] = sv[1] = -1;
    free(mem);
}

/* One-descriptor chain of len bytes at buffer slot `slot` (4 KiB each), published. */
static uint16_t post(struct ring *r, unsigned slot, uint32_t len, bool writable)
{
    struct vring_desc *d = (struct vring_desc *)(mem + r->off);
    struct vring_avail *a = (struct vring_avail *)(mem + r->off + 0x1000);
    uint16_t i = r->next_desc++ % r->vq.num;

    d[i].addr = GPA + BUFS + slot * 0x1000ull;
    d[i].len = len;
    d[i].flags = writable ? VRING_DESC_F_WRITE : 0;
    a->ring[a->idx % r->vq.num] = i;
    __atomic_store_n(&a->idx, (uint16_t)(a->idx + 1), __ATOMIC_RELEASE);
    return i;
}

static uint8_t *slot_ptr(unsigned slot)
{
    return mem + BUFS + slot * 0x1000ull;
}

static struct vring_used *used(const struct ring *r)
{
    return (struct vring_used *)(mem + r->off + 0x2000);
}

/* A transmit chain: a 12-byte header (zero unless h) and a frame of len bytes filled with c. */
static void post_tx(unsigned slot, uint32_t len, uint8_t c, const struct virtio_net_hdr *h)
{
    memset(slot_ptr(slot), 0, 12);
    if (h)
        memcpy(slot_ptr(slot), h, sizeof(*h));
    memset(slot_ptr(slot) + 12, c, len);
    post(&txr, slot, 12 + len, false);
}

static ssize_t host_read(uint8_t *b, size_t cap)
{
    return read(sv[1], b, cap);
}

static uint64_t ctr(enum net_ctr c)
{
    return net_pair_counter(&pair, c);
}

TestSuite(net_queue, .init = setup, .fini = teardown);

Test(net_queue, tx_good_frame_reaches_the_tap)
{
    uint8_t b[2048];

    post_tx(0, 60, 0x11, NULL);
    cr_expect_not(net_pair_run_tx(&pair));
    cr_assert_eq(host_read(b, sizeof(b)), 72, "header + frame, one packet");
    cr_expect_eq(b[12], 0x11);
    cr_expect_eq(used(&txr)->idx, 1);
    cr_expect_eq(ctr(NET_C_TX_FRAMES), 1);
    cr_expect_eq(ctr(NET_C_TX_BYTES), 60);
}

Test(net_queue, tx_bad_chains_are_counted_and_the_ring_moves_on)
{
    struct virtio_net_hdr gso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                  .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                                  .gso_size = 1448,
                                  .csum_start = 34,
                                  .csum_offset = 16 };
    uint8_t b[4096];

    post(&txr, 0, 8, false);      /* shorter than the header */
    post_tx(1, 1600, 0x22, NULL); /* beyond MTU without TSO */
    post_tx(2, 1000, 0x33, &gso); /* TSO4 not negotiated */
    post(&txr, 3, 0, false);      /* empty */
    post_tx(4, 100, 0x44, NULL);  /* good */
    cr_expect_not(net_pair_run_tx(&pair));
    cr_expect_eq(used(&txr)->idx, 5, "every chain is given back");
    cr_expect_eq(used(&txr)->ring[0].len, 0);
    cr_expect_eq(ctr(NET_C_TX_SHORT), 2);
    cr_expect_eq(ctr(NET_C_TX_TOO_BIG), 1);
    cr_expect_eq(ctr(NET_C_TX_BAD_HDR), 1);
    cr_assert_eq(host_read(b, sizeof(b)), 112, "only the good frame reached the TAP");
    cr_expect_eq(b[12], 0x44);
    cr_expect_eq(host_read(b, sizeof(b)), -1);
}

/* More frames than one transmit batch (NET_TX_BATCH), a bad chain inside the first: each good
 * frame reaches the TAP once and in ring order, and every chain comes back. */
Test(net_queue, tx_batches_keep_order_and_give_every_chain_back)
{
    const unsigned n = 40, bad_slot = 5;
    uint8_t b[256];

    ring_init_num(&txr, 1, 0x3000, 64);
    if (net_pair_ring_fd(&pair) < 0)
        cr_skip_test("io_uring refused on this host: frames go one writev at a time");
    for (unsigned i = 0; i < n; i++) {
        if (i == bad_slot)
            post(&txr, i, 8, false); /* shorter than the header */
        else
            post_tx(i, 60, (uint8_t)(0x40 + i), NULL);
    }
    cr_expect_not(net_pair_run_tx(&pair));
    cr_expect_eq(used(&txr)->idx, n, "every chain is given back");
    cr_expect_eq(ctr(NET_C_TX_FRAMES), n - 1);
    cr_expect_eq(ctr(NET_C_TX_SHORT), 1);
    for (unsigned i = 0; i < n; i++) {
        if (i == bad_slot)
            continue;
        cr_assert_eq(host_read(b, sizeof(b)), 72, "frame %u", i);
        cr_expect_eq(b[12], 0x40 + i, "frame %u in ring order", i);
    }
    cr_expect_eq(host_read(b, sizeof(b)), -1, "each frame once");
}

Test(net_queue, tx_link_down_drops)
{
    uint8_t b[256];

    sh.link_up = false;
    post_tx(0, 60, 0x11, NULL);
    net_pair_run_tx(&pair);
    cr_expect_eq(used(&txr)->idx, 1);
    cr_expect_eq(ctr(NET_C_LINK_DOWN), 1);
    cr_expect_eq(host_read(b, sizeof(b)), -1);
}

static void host_send(size_t len, uint8_t c)
{
    static uint8_t f[12 + 65536];

    memset(f, 0, 12);
    memset(f + 12, c, len);
    cr_assert_eq(write(sv[1], f, 12 + len), (ssize_t)(12 + len));
}

Test(net_queue, rx_empty_ring_waits_without_reading)
{
    host_send(60, 0x55);
    cr_expect_not(net_pair_run_rx(&pair), "nothing more to do until a kick");
    cr_expect(pair.rx_wait_kick);
    cr_expect_eq(ctr(NET_C_RX_STALLS), 1);
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 0);
    /* The frame stays in the TAP's queue for when buffers come. */
    post(&rxr, 0, 2048, true);
    pair.rx_wait_kick = false;
    cr_expect_not(net_pair_run_rx(&pair));
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 1);
    cr_expect_eq(used(&rxr)->idx, 1);
    cr_expect_eq(used(&rxr)->ring[0].len, 72);
    cr_expect_eq(slot_ptr(0)[12], 0x55);
    cr_expect_eq(le16toh(((struct virtio_net_hdr_mrg_rxbuf *)slot_ptr(0))->num_buffers), 1);
}

Test(net_queue, rx_short_buffer_is_returned_empty)
{
    post(&rxr, 0, 4, true);
    post(&rxr, 1, 2048, true);
    host_send(60, 0x66);
    net_pair_run_rx(&pair);
    cr_expect_eq(ctr(NET_C_RX_SHORT), 1);
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 1);
    cr_expect_eq(used(&rxr)->idx, 2);
    cr_expect_eq(used(&rxr)->ring[0].len, 0);
    cr_expect_eq(used(&rxr)->ring[1].len, 72);
    cr_expect_eq(slot_ptr(1)[12], 0x66);
}

Test(net_queue, rx_mergeable_buffers_published_together)
{
    for (unsigned i = 0; i < 4; i++)
        post(&rxr, i, 1024, true);
    host_send(3000, 0x77);
    net_pair_run_rx(&pair);
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 1);
    cr_expect_eq(used(&rxr)->idx, 3);
    cr_expect_eq(used(&rxr)->ring[2].len, 3012 - 2048);
    cr_expect_eq(le16toh(((struct virtio_net_hdr_mrg_rxbuf *)slot_ptr(0))->num_buffers), 3);
    cr_expect_eq(slot_ptr(2)[3011 - 2048], 0x77);
}

Test(net_queue, rx_ring_running_out_mid_frame_drops_it)
{
    post(&rxr, 0, 1024, true);
    post(&rxr, 1, 1024, true);
    host_send(3000, 0x88);
    host_send(100, 0x99);
    net_pair_run_rx(&pair);
    cr_expect_eq(ctr(NET_C_RX_NO_BUFFERS), 1);
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 1, "the next frame used the buffers given back");
    cr_expect_eq(used(&rxr)->idx, 1);
    cr_expect_eq(used(&rxr)->ring[0].len, 112);
    cr_expect_eq(slot_ptr(0)[12], 0x99);
}

Test(net_queue, rx_link_down_drains_the_tap)
{
    post(&rxr, 0, 2048, true);
    sh.link_up = false;
    host_send(60, 0x12);
    net_pair_run_rx(&pair);
    cr_expect_eq(ctr(NET_C_LINK_DOWN), 1);
    cr_expect_eq(used(&rxr)->idx, 0, "the ring is left alone");
}

Test(net_queue, tap_gone_is_counted_and_tx_keeps_draining)
{
    uint64_t before;

    close(sv[1]);
    sv[1] = -1;
    post(&rxr, 0, 2048, true);
    net_pair_run_rx(&pair);
    cr_expect(pair.tap_dead);
    cr_expect_eq(ctr(NET_C_TAP_GONE), 1);
    cr_expect_not(net_pair_run_rx(&pair), "a dead TAP is not polled again");
    post_tx(1, 60, 0x13, NULL);
    post_tx(2, 60, 0x14, NULL);
    before = ctr(NET_C_TAP_ERRORS);
    net_pair_run_tx(&pair);
    cr_expect_eq(used(&txr)->idx, 2, "the driver gets its buffers back");
    cr_expect_eq(ctr(NET_C_TAP_ERRORS), before + 2);
}

Test(net_queue, broken_ring_stops_only_that_queue)
{
    struct vring_avail *a = (struct vring_avail *)(mem + rxr.off + 0x1000);
    uint8_t b[256];

    a->idx = NUM + 3; /* more new entries than the ring has */
    host_send(60, 0x21);
    net_pair_run_rx(&pair);
    cr_expect_neq(rxr.vq.broken, 0);
    post_tx(0, 60, 0x22, NULL);
    net_pair_run_tx(&pair);
    cr_expect_eq(host_read(b, sizeof(b)), 72, "transmit still flows");
}

Test(net_queue, rx_budget_bounds_one_pass)
{
    for (unsigned i = 0; i < NUM; i++)
        post(&rxr, i, 2048, true);
    for (unsigned i = 0; i < 20; i++)
        host_send(60, (uint8_t)i);
    net_pair_run_rx(&pair);
    cr_expect_eq(ctr(NET_C_RX_FRAMES), NUM, "as many as there are buffers");
    cr_expect(pair.rx_wait_kick);
}

static void setup_legacy(void)
{
    setup_with(0); /* 10-byte header, no MRG_RXBUF */
}

TestSuite(net_queue_legacy, .init = setup_legacy, .fini = teardown);

Test(net_queue_legacy, rx_frame_too_big_for_the_buffer)
{
    static uint8_t f[10 + 1500];

    post(&rxr, 0, 200, true);
    memset(f, 0, sizeof(f));
    cr_assert_eq(write(sv[1], f, sizeof(f)), (ssize_t)sizeof(f));
    cr_assert_eq(write(sv[1], f, 10 + 60), 70);
    net_pair_run_rx(&pair);
    cr_expect_eq(ctr(NET_C_RX_TOO_BIG), 1);
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 1);
    cr_expect_eq(used(&rxr)->ring[0].len, 70);
}

/* Rate limiting (issue 20), as Cloud Hypervisor: a frame goes while its direction's buckets are
 * not in debt and is charged once it went, so an ops bucket of n lets n + 1 frames through and
 * then the direction waits, leaving the ring (or the TAP) alone. */
Test(net_queue, tx_rate_limited_waits_in_the_ring)
{
    uint8_t b[2048];
    unsigned got = 0;

    rl_init(&pair.rl[1], &(struct rl_config){ .ops = { 3, 0, 10000 } });
    for (unsigned i = 0; i < 6; i++)
        post_tx(i, 60, (uint8_t)i, NULL);
    cr_expect_not(net_pair_run_tx(&pair), "throttled: nothing to do until the tokens are back");
    while (host_read(b, sizeof(b)) > 0)
        got++;
    cr_expect_eq(got, 4);
    cr_expect_eq(used(&txr)->idx, 4, "the rest stays in the ring");
    cr_expect_gt(pair.throttle_ns[1], 0);
    cr_expect_leq(pair.throttle_ns[1], RL_MAX_WAIT_NS);
    /* still in debt: a second pass sends nothing */
    cr_expect_not(net_pair_run_tx(&pair));
    cr_expect_eq(used(&txr)->idx, 4);
    /* unlimited again: the waiting frames go */
    rl_init(&pair.rl[1], &(struct rl_config){ 0 });
    cr_expect_not(net_pair_run_tx(&pair));
    cr_expect_eq(used(&txr)->idx, 6);
    cr_expect_eq(pair.throttle_ns[1], 0);
}

Test(net_queue, rx_rate_limited_leaves_frames_in_the_tap)
{
    rl_init(&pair.rl[0], &(struct rl_config){ .bw = { 100, 0, 10000 } });
    for (unsigned i = 0; i < 4; i++) {
        post(&rxr, i, 2048, true);
        host_send(60, (uint8_t)i);
    }
    /* 100 bytes: the first frame (72 with its header) fits, the second puts the bucket in debt */
    cr_expect_not(net_pair_run_rx(&pair));
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 2);
    cr_expect_gt(pair.throttle_ns[0], 0);
    cr_expect_not(pair.rx_wait_kick);
    rl_init(&pair.rl[0], &(struct rl_config){ 0 });
    cr_expect_not(net_pair_run_rx(&pair));
    cr_expect_eq(ctr(NET_C_RX_FRAMES), 4, "the frames waited in the TAP, none dropped");
}
