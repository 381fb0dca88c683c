/*
 * vsock_rx_batch: one read of a host socket fills several RX buffers, each its own RW packet.
 * Checked from the guest side: the bytes arrive once and in order across the packets, each
 * packet's length matches what its buffer got, no packet passes VSOCK_MAX_PKT or its buffer,
 * all of them together stay within the guest's credit, a control packet or an RST takes one
 * buffer, and a buffer too short for a header ends the stretch before it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsock_harness.h"

#define NB    VSOCK_RX_BATCH
#define RXBUF 4096u /* Linux's RX payload size */

static struct harness H;

struct rxset {
    struct virtq_elem *e[NB];
    uint8_t *buf[NB];
    size_t cap[NB]; /* writable bytes of each element */
    uint32_t written[NB];
};

static void setup(void)
{
    h_init(&H, 0, 0);
}

static void teardown(void)
{
    h_fini(&H);
}

TestSuite(rxbatch, .init = setup, .fini = teardown, .timeout = 30);

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7u + (off >> 9));
}

/* n elements of cap[i] writable bytes each; split: each cut in two descriptors (the header's
   44 bytes, then the rest), as Linux 6.1 lays out its RX buffers. */
static void rx_make(struct rxset *s, unsigned n, const size_t *cap, bool split)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < n; i++) {
        struct virtq_elem *e = calloc(1, sizeof(*e));

        cr_assert_not_null(e);
        s->cap[i] = cap[i];
        s->buf[i] = malloc(cap[i] ? cap[i] : 1);
        cr_assert_not_null(s->buf[i]);
        memset(s->buf[i], 0xee, cap[i]);
        if (split && cap[i] > VSOCK_HDR_LEN) {
            e->iov[0] = (struct iovec){ .iov_base = s->buf[i], .iov_len = VSOCK_HDR_LEN };
            e->iov[1] = (struct iovec){ .iov_base = s->buf[i] + VSOCK_HDR_LEN,
                                        .iov_len = cap[i] - VSOCK_HDR_LEN };
            e->in_num = 2;
        } else {
            e->iov[0] = (struct iovec){ .iov_base = s->buf[i], .iov_len = cap[i] };
            e->in_num = 1;
        }
        e->in_len = cap[i];
        s->e[i] = e;
    }
}

static void rx_free(struct rxset *s)
{
    for (unsigned i = 0; i < NB; i++) {
        free(s->e[i]);
        free(s->buf[i]);
    }
}

static unsigned rx_batch(struct rxset *s, unsigned n)
{
    return vsock_rx_batch(H.d, (const struct virtq_elem *const *)s->e, n, s->written);
}

static struct vsock_hdr hdr_of(const struct rxset *s, unsigned i)
{
    struct vsock_hdr h;

    vsock_hdr_decode(&h, s->buf[i]);
    return h;
}

/* Checks packets [0, used) are RW packets of the stream (host hport -> guest gport) carrying
   the pattern from *off on; returns the payload bytes and advances *off. */
static size_t check_stretch(const struct rxset *s, unsigned used, uint32_t gport, uint32_t hport,
                            uint64_t *off)
{
    size_t total = 0;

    for (unsigned i = 0; i < used; i++) {
        struct vsock_hdr h = hdr_of(s, i);

        cr_assert_eq(h.op, VSOCK_OP_RW, "packet %u op %u", i, h.op);
        cr_assert_eq(h.src_port, hport);
        cr_assert_eq(h.dst_port, gport);
        cr_assert_eq(h.dst_cid, H_GUEST_CID);
        cr_assert_eq(s->written[i], VSOCK_HDR_LEN + h.len, "packet %u", i);
        cr_assert_leq(h.len, VSOCK_MAX_PKT);
        cr_assert_leq(VSOCK_HDR_LEN + h.len, s->cap[i]);
        cr_assert_gt(h.len, 0, "an empty RW packet in a stretch");
        for (uint32_t b = 0; b < h.len; b++)
            cr_assert_eq(s->buf[i][VSOCK_HDR_LEN + b], pattern(*off + b), "byte %lu",
                         (unsigned long)(*off + b));
        *off += h.len;
        total += h.len;
    }
    return total;
}

static int listener(uint32_t port)
{
    char path[160];

    snprintf(path, sizeof(path), "%s_%u", H.sock, port);
    return h_listen(path);
}

/* Writes len pattern bytes from off into the host end of a stream. */
static void host_write(int s, uint64_t off, size_t len)
{
    uint8_t *b = malloc(len);

    cr_assert_not_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = pattern(off + i);
    cr_assert_eq(write(s, b, len), (ssize_t)len);
    free(b);
    h_pump(&H, 100);
}

Test(rxbatch, one_read_fills_many_buffers_in_order)
{
    int lfd = listener(6000), s = h_guest_connect(&H, 700, 6000, lfd);
    size_t cap[NB];
    struct rxset rs;
    uint64_t off = 0;
    unsigned used;

    for (unsigned i = 0; i < NB; i++)
        cap[i] = VSOCK_HDR_LEN + RXBUF;
    host_write(s, 0, 40000);
    rx_make(&rs, NB, cap, true);
    used = rx_batch(&rs, NB);
    cr_assert_eq(used, 10, "40000 bytes in 4 KiB buffers: %u packets", used);
    cr_assert_eq(check_stretch(&rs, used, 700, 6000, &off), 40000);
    for (unsigned i = 0; i + 1 < used; i++)
        cr_assert_eq(hdr_of(&rs, i).len, RXBUF, "full buffers first");
    for (unsigned i = used; i < NB; i++)
        cr_assert_eq(rs.buf[i][0], 0xee, "buffer %u untouched", i);
    /* Nothing left: the next fill has nothing to say. */
    cr_assert_eq(rx_batch(&rs, NB), 0);
    rx_free(&rs);
    close(s);
    close(lfd);
}

Test(rxbatch, stretch_stays_within_credit)
{
    int lfd = listener(6001), s;
    struct h_pkt p = h_pkt(VSOCK_OP_REQUEST, 701, 6001), r;
    size_t cap[NB];
    struct rxset rs;
    uint64_t off = 0;
    unsigned used;

    p.buf_alloc = 10000;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(r.op, VSOCK_OP_RESPONSE);
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(s, 0);
    for (unsigned i = 0; i < NB; i++)
        cap[i] = VSOCK_HDR_LEN + RXBUF;
    host_write(s, 0, 40000);
    rx_make(&rs, NB, cap, false);
    used = rx_batch(&rs, NB);
    cr_assert_eq(used, 3);
    cr_assert_eq(check_stretch(&rs, used, 701, 6001, &off), 10000, "credit is 10000 bytes");
    cr_assert_eq(rx_batch(&rs, NB), 0, "no credit left");
    /* The guest consumed 6000: that much more, no byte lost or repeated. */
    p = h_pkt(VSOCK_OP_CREDIT_UPDATE, 701, 6001);
    p.buf_alloc = 10000;
    p.fwd_cnt = 6000;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    used = rx_batch(&rs, NB);
    cr_assert_eq(used, 2);
    cr_assert_eq(check_stretch(&rs, used, 701, 6001, &off), 6000);
    rx_free(&rs);
    close(s);
    close(lfd);
}

Test(rxbatch, large_buffers_capped_per_packet)
{
    int lfd = listener(6002), s = h_guest_connect(&H, 702, 6002, lfd);
    size_t cap[3] = { 100000, 100000, 100000 };
    struct rxset rs;
    uint64_t off = 0;
    size_t got = 0;
    int sz = 1 << 20;

    cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
    host_write(s, 0, 150000);
    rx_make(&rs, 3, cap, false);
    /* The host socket may hand the bytes over in pieces: read until all arrived. */
    for (int tries = 0; got < 150000 && tries < 10; tries++) {
        unsigned used = rx_batch(&rs, 3);

        for (unsigned i = 0; i < used; i++)
            cr_assert_leq(hdr_of(&rs, i).len, VSOCK_MAX_PKT);
        got += check_stretch(&rs, used, 702, 6002, &off);
        h_pump(&H, 10);
    }
    cr_assert_eq(got, 150000);
    rx_free(&rs);
    close(s);
    close(lfd);
}

Test(rxbatch, control_and_rst_take_one_buffer)
{
    int lfd = listener(6003), s;
    struct h_pkt p = h_pkt(VSOCK_OP_REQUEST, 703, 6003);
    size_t cap[NB];
    struct rxset rs;
    struct vsock_hdr h;

    for (unsigned i = 0; i < NB; i++)
        cap[i] = VSOCK_HDR_LEN + RXBUF;
    rx_make(&rs, NB, cap, true);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(rx_batch(&rs, NB), 1);
    h = hdr_of(&rs, 0);
    cr_assert_eq(h.op, VSOCK_OP_RESPONSE);
    cr_assert_eq(rs.written[0], VSOCK_HDR_LEN);
    cr_assert_eq(rs.buf[1][0], 0xee);
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(s, 0);
    /* A packet for a stream nobody has: the RST goes alone. */
    p = h_pkt(VSOCK_OP_RW, 999, 6003);
    p.len = 0;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(rx_batch(&rs, NB), 1);
    h = hdr_of(&rs, 0);
    cr_assert_eq(h.op, VSOCK_OP_RST);
    cr_assert_eq(h.dst_port, 999);
    cr_assert_eq(rs.buf[1][0], 0xee);
    cr_assert_eq(rx_batch(&rs, NB), 0);
    rx_free(&rs);
    close(s);
    close(lfd);
}

Test(rxbatch, short_buffer_ends_the_stretch)
{
    int lfd = listener(6004), s = h_guest_connect(&H, 704, 6004, lfd);
    size_t cap[4] = { VSOCK_HDR_LEN + RXBUF, VSOCK_HDR_LEN + RXBUF, 20, VSOCK_HDR_LEN + RXBUF };
    struct rxset rs, rest;
    struct vsock_stats st;
    uint64_t off = 0;
    unsigned used;

    host_write(s, 0, 20000);
    rx_make(&rs, 4, cap, false);
    used = rx_batch(&rs, 4);
    cr_assert_eq(used, 2, "the 20-byte buffer is not part of a stretch");
    cr_assert_eq(check_stretch(&rs, used, 704, 6004, &off), 2 * RXBUF);
    cr_assert_eq(rs.buf[3][0], 0xee);
    /* First in the next fill, the short buffer goes back empty and counted. */
    rx_make(&rest, 2, cap + 2, false);
    cr_assert_eq(rx_batch(&rest, 2), 1);
    cr_assert_eq(rest.written[0], 0);
    vsock_get_stats(H.d, &st);
    cr_assert_eq(st.bad_pkts, 1);
    rx_free(&rest);
    /* A header-only buffer (no room for data) carries no data packet either. */
    {
        size_t hdr_only[2] = { VSOCK_HDR_LEN, VSOCK_HDR_LEN + RXBUF };
        struct rxset ho;

        rx_make(&ho, 2, hdr_only, false);
        used = rx_batch(&ho, 2);
        for (unsigned i = 0; i < used; i++)
            cr_assert_neq(hdr_of(&ho, i).op, VSOCK_OP_RW, "RW into a buffer with no room");
        rx_free(&ho);
    }
    /* The stream carries on where it stopped once the host says more. */
    host_write(s, 20000, 1);
    rx_make(&rest, NB, (size_t[NB]){ [0 ... NB - 1] = VSOCK_HDR_LEN + RXBUF }, true);
    used = rx_batch(&rest, NB);
    cr_assert_eq(check_stretch(&rest, used, 704, 6004, &off), 20000 - 2 * RXBUF + 1);
    rx_free(&rest);
    rx_free(&rs);
    close(s);
    close(lfd);
}

Test(rxbatch, mixed_buffer_sizes)
{
    int lfd = listener(6005), s = h_guest_connect(&H, 705, 6005, lfd);
    size_t cap[4] = { VSOCK_HDR_LEN + 1000, VSOCK_HDR_LEN + 4096, VSOCK_HDR_LEN + 500,
                      VSOCK_HDR_LEN + 4096 };
    static const uint32_t want[4] = { 1000, 4096, 500, 3404 };
    struct rxset rs;
    uint64_t off = 0;

    host_write(s, 0, 9000);
    rx_make(&rs, 4, cap, true);
    cr_assert_eq(rx_batch(&rs, 4), 4);
    for (unsigned i = 0; i < 4; i++)
        cr_assert_eq(hdr_of(&rs, i).len, want[i], "packet %u: %u bytes", i, hdr_of(&rs, i).len);
    cr_assert_eq(check_stretch(&rs, 4, 705, 6005, &off), 9000);
    rx_free(&rs);
    close(s);
    close(lfd);
}
