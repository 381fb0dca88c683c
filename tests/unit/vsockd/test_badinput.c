/*
 * What a hostile guest or host can throw at the vsock model: the header is fetched from guest
 * memory exactly once (a recording accessor proves it, and a driver rewriting the header
 * mid-packet changes nothing), TX payloads spread over many descriptors up to the largest
 * packet, lengths that disagree with the descriptors, unknown ops, misaddressed packets,
 * connections to ports nobody listens on, a host that stops reading, and thousands of
 * connection attempts. Each time the model stays usable and other streams keep flowing.
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

static struct harness H;

static void setup(void)
{
    h_init(&H, 0, 0);
}

static void teardown(void)
{
    h_fini(&H);
}

TestSuite(bad, .init = setup, .fini = teardown, .timeout = 60);

static int host_listener(uint32_t port)
{
    char path[160];

    snprintf(path, sizeof(path), "%s_%u", H.sock, port);
    return h_listen(path);
}

static size_t read_for(int fd, uint8_t *buf, size_t want, int ms)
{
    size_t got = 0;

    while (got < want) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, ms) != 1)
            break;
        n = read(fd, buf + got, want - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got;
}

static size_t read_all(int fd, uint8_t *buf, size_t want)
{
    return read_for(fd, buf, want, 2000);
}

/* The rx queue holds exactly one RST for (local, peer). */
static void expect_rst(uint32_t local, uint32_t peer)
{
    struct h_pkt r;

    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1, "no packet, wanted an RST");
    cr_assert_eq(r.op, VSOCK_OP_RST, "op %u, wanted RST", r.op);
    cr_assert_eq(r.src_port, local);
    cr_assert_eq(r.dst_port, peer);
    cr_assert_eq(r.dst_cid, H_GUEST_CID);
}

/* A live stream to check others still flow after each abuse. */
static void check_flows(int s, uint32_t gport, uint32_t hport)
{
    struct h_pkt p = h_pkt(VSOCK_OP_RW, gport, hport);
    uint8_t b[8];

    p.len = 8;
    h_tx(&H, &p, "flowing!", 8, NULL, 0);
    cr_assert_eq(read_all(s, b, 8), 8);
    cr_assert_eq(memcmp(b, "flowing!", 8), 0);
}

Test(bad, header_read_exactly_once_split_three_ways)
{
    int lfd = host_listener(6000), s;
    struct h_pkt p = h_pkt(VSOCK_OP_REQUEST, 10, 6000);
    static const size_t cuts[] = { 3, 20, 21 };
    static const size_t cuts_rw[] = { 44, 100, 1, 900, 23 };
    uint8_t payload[1024], got[1024];
    unsigned min, max;
    uint8_t *hdr;

    H.nreads = 0;
    hdr = h_tx(&H, &p, NULL, 0, cuts, 3);
    /* The header's pieces lie apart: check each piece. */
    for (unsigned i = 0, off = 0; i < 3; off += (unsigned)cuts[i], i++) {
        max = h_reads_of(&H, hdr + off + i * 64, cuts[i], &min);
        cr_assert_eq(min, 1, "piece %u: a header byte was never read", i);
        cr_assert_eq(max, 1, "piece %u: a header byte was read %u times", i, max);
    }
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(s, 0);

    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    p = h_pkt(VSOCK_OP_RW, 10, 6000);
    p.len = sizeof(payload);
    H.nreads = 0;
    hdr = h_tx(&H, &p, payload, sizeof(payload), cuts_rw, 5);
    max = h_reads_of(&H, hdr, VSOCK_HDR_LEN, &min);
    cr_assert_eq(min, 1);
    cr_assert_eq(max, 1, "RW header read %u times", max);
    cr_assert_eq(read_all(s, got, sizeof(got)), sizeof(got));
    cr_assert_eq(memcmp(got, payload, sizeof(got)), 0);
    close(s);
    close(lfd);
}

/* The driver grows len right after the device fetched the header: the copy rules. */
Test(bad, header_rewrite_after_fetch_changes_nothing)
{
    int lfd = host_listener(6001), s;
    struct h_pkt p;
    uint8_t payload[100], got[200];

    p = h_pkt(VSOCK_OP_REQUEST, 11, 6001);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    {
        struct h_pkt r;

        cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    }
    memset(payload, 'x', sizeof(payload));
    p = h_pkt(VSOCK_OP_RW, 11, 6001);
    p.len = 50;             /* 100 bytes in the descriptor, 50 announced */
    H.poke_at = H.mem + 24; /* len */
    H.poke_val = 100000;
    h_tx(&H, &p, payload, sizeof(payload), NULL, 0);
    H.poke_at = NULL;
    cr_assert_eq(read_all(s, got, 50), 50);
    {
        struct pollfd pf = { .fd = s, .events = POLLIN };

        cr_assert_eq(poll(&pf, 1, 100), 0, "more than the fetched len reached the host");
    }
    check_flows(s, 11, 6001);
    close(s);
    close(lfd);
}

/* A 64 KiB packet in 37 uneven descriptors, once straight to the host and once through the
   buffer (host not reading yet). */
Test(bad, multi_descriptor_tx_up_to_max)
{
    int lfd = host_listener(6002), s;
    static uint8_t payload[VSOCK_MAX_PKT], got[2 * VSOCK_MAX_PKT];
    size_t cuts[37], left = VSOCK_HDR_LEN + VSOCK_MAX_PKT;
    struct h_pkt p, r;
    int rcvbuf = 4096;

    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i ^ i >> 8);
    for (unsigned i = 0; i < 36; i++) {
        cuts[i] = 1 + (i * 997) % 1500;
        left -= cuts[i];
    }
    cr_assert_lt(left, VSOCK_HDR_LEN + VSOCK_MAX_PKT);
    cuts[36] = left;

    p = h_pkt(VSOCK_OP_REQUEST, 12, 6002);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    for (int round = 0; round < 2; round++) {
        p = h_pkt(VSOCK_OP_RW, 12, 6002);
        p.len = VSOCK_MAX_PKT;
        h_tx(&H, &p, payload, sizeof(payload), cuts, 37);
    }
    for (size_t got_n = 0; got_n < sizeof(got);) {
        h_pump(&H, 10);
        got_n += read_for(s, got + got_n, sizeof(got) - got_n, 10);
        if (got_n < sizeof(got))
            continue;
        for (size_t i = 0; i < VSOCK_MAX_PKT; i++)
            cr_assert_eq(got[i], payload[i], "byte %zu", i);
        cr_assert_eq(memcmp(got + VSOCK_MAX_PKT, payload, VSOCK_MAX_PKT), 0);
    }
    cr_assert_eq(vsock_conn_count(H.d), 1);
    close(s);
    close(lfd);
}

Test(bad, lengths_disagree_or_too_long)
{
    int lfd = host_listener(6003), s, t;
    static uint8_t payload[VSOCK_MAX_PKT + 8];
    struct h_pkt p;

    s = h_guest_connect(&H, 13, 6003, lfd);
    t = h_guest_connect(&H, 14, 6003, lfd);

    /* len beyond the descriptor bytes */
    p = h_pkt(VSOCK_OP_RW, 13, 6003);
    p.len = 200;
    h_tx_raw(&H, &p, payload, 100, VSOCK_HDR_LEN + 100);
    expect_rst(6003, 13);
    cr_assert_eq(vsock_conn_count(H.d), 1);
    check_flows(t, 14, 6003);

    /* one byte over the largest packet, descriptors agreeing */
    s = h_guest_connect(&H, 15, 6003, lfd);
    p = h_pkt(VSOCK_OP_RW, 15, 6003);
    p.len = VSOCK_MAX_PKT + 1;
    h_tx_raw(&H, &p, payload, VSOCK_MAX_PKT + 1, VSOCK_HDR_LEN + VSOCK_MAX_PKT + 1);
    expect_rst(6003, 15);

    /* shorter than a header: dropped, counted */
    {
        struct vsock_stats st0, st1;

        vsock_get_stats(H.d, &st0);
        p = h_pkt(VSOCK_OP_RW, 14, 6003);
        h_tx_raw(&H, &p, NULL, 0, 20);
        vsock_get_stats(H.d, &st1);
        cr_assert_eq(st1.bad_pkts, st0.bad_pkts + 1);
    }
    check_flows(t, 14, 6003);
    close(s);
    close(t);
    close(lfd);
}

Test(bad, unknown_ops_and_types)
{
    int lfd = host_listener(6004), t;
    struct h_pkt p, r;

    t = h_guest_connect(&H, 20, 6004, lfd);
    p = h_pkt(99, 21, 6004); /* unknown op, no stream */
    h_tx(&H, &p, NULL, 0, NULL, 0);
    expect_rst(6004, 21);
    p = h_pkt(VSOCK_OP_INVALID, 22, 6004);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    expect_rst(6004, 22);
    p = h_pkt(VSOCK_OP_REQUEST, 23, 6004);
    p.type = 2; /* SEQPACKET: not offered */
    h_tx(&H, &p, NULL, 0, NULL, 0);
    expect_rst(6004, 23);
    /* Ops that need a stream, on none */
    p = h_pkt(VSOCK_OP_RW, 24, 6004);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    expect_rst(6004, 24);
    p = h_pkt(VSOCK_OP_RST, 25, 6004);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 0, "an RST is never answered");
    /* Misaddressed: not from our guest, or not to the host: dropped silently */
    p = h_pkt(VSOCK_OP_REQUEST, 26, 6004);
    p.src_cid = 7;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    p = h_pkt(VSOCK_OP_REQUEST, 26, 6004);
    p.dst_cid = 5;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 0);
    /* Unknown op on the live stream: that stream is reset, nothing else */
    p = h_pkt(42, 20, 6004);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    expect_rst(6004, 20);
    cr_assert_eq(vsock_conn_count(H.d), 0);
    close(t);
    t = h_guest_connect(&H, 27, 6004, lfd);
    check_flows(t, 27, 6004);
    close(t);
    close(lfd);
}

Test(bad, nobody_listening_gets_rst)
{
    struct h_pkt p = h_pkt(VSOCK_OP_REQUEST, 30, 6999);

    h_tx(&H, &p, NULL, 0, NULL, 0);
    expect_rst(6999, 30);
    cr_assert_eq(vsock_conn_count(H.d), 0);
}

/* The host stops reading: the guest's credit runs out, we hold at most buf_alloc bytes, and a
   guest that sends past its credit is reset; a second stream is unaffected. */
Test(bad, host_stops_reading)
{
    int lfd = host_listener(6005), s, t;
    static uint8_t chunk[VSOCK_MAX_PKT];
    struct h_pkt p, r;
    uint32_t sent = 0;
    int rcvbuf = 4096;

    s = h_guest_connect(&H, 40, 6005, lfd);
    t = h_guest_connect(&H, 41, 6005, lfd);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    /* Within credit: the host socket fills, then our buffer, to exactly buf_alloc. */
    for (int i = 0; i < 64 && sent < 4u * 1024 * 1024; i++) {
        p = h_pkt(VSOCK_OP_RW, 40, 6005);
        p.len = sizeof(chunk);
        h_tx(&H, &p, chunk, sizeof(chunk), NULL, 0);
        sent += sizeof(chunk);
        if (vsock_conn_count(H.d) < 2)
            break;
    }
    /* Somewhere past socket buffer + buf_alloc the guest overran its credit: reset. */
    cr_assert_eq(vsock_conn_count(H.d), 1, "a credit overrun was not reset");
    cr_assert_leq(sent, 4u * 1024 * 1024);
    {
        struct vsock_stats st;

        vsock_get_stats(H.d, &st);
        cr_assert_eq(st.credit_violations, 1);
    }
    while (h_rx(&H, 4096, &r, NULL, NULL) == 1 && r.op != VSOCK_OP_RST)
        ;
    cr_assert_eq(r.op, VSOCK_OP_RST);
    cr_assert_eq(r.dst_port, 40);
    check_flows(t, 41, 6005);
    close(s);
    close(t);
    close(lfd);
}

/* Thousands of host attempts with bad lines, and guest REQUESTs past the connection limit. */
Test(bad, thousands_of_attempts)
{
    struct harness *h = &H;
    int lfd = host_listener(6006), t;
    static const char *const lines[] = { "HELLO\n", "CONNECT\n", "CONNECT 99999999999\n",
                                         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" };

    t = h_guest_connect(h, 50, 6006, lfd);
    for (int round = 0; round < 25; round++) {
        int fds[100];

        for (int i = 0; i < 100; i++) {
            fds[i] = h_connect(h->sock);
            if (fds[i] >= 0)
                (void)!write(fds[i], lines[i % 4], strlen(lines[i % 4]));
        }
        h_pump(h, 20);
        h_pump(h, 20);
        for (int i = 0; i < 100; i++)
            if (fds[i] >= 0)
                close(fds[i]);
    }
    h_pump(h, 20);
    cr_assert_eq(vsock_conn_count(h->d), 1, "%u connections left", vsock_conn_count(h->d));
    check_flows(t, 50, 6006);
    close(t);
    close(lfd);
}

Test(bad, connection_limit)
{
    struct harness *h = &H;
    int lfd, accepted[16], n = 0;
    struct h_pkt p, r;
    int rst = 0, resp = 0;

    h_fini(h);
    h_init(h, 0, 8);
    lfd = host_listener(6007);
    for (uint32_t i = 0; i < 20; i++) {
        p = h_pkt(VSOCK_OP_REQUEST, 100 + i, 6007);
        h_tx(h, &p, NULL, 0, NULL, 0);
    }
    while (h_rx(h, 4096, &r, NULL, NULL) == 1) {
        rst += r.op == VSOCK_OP_RST;
        resp += r.op == VSOCK_OP_RESPONSE;
    }
    cr_assert_eq(resp, 8);
    cr_assert_eq(rst, 12);
    while (n < 16 && (accepted[n] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        struct pollfd pf = { .fd = lfd, .events = POLLIN };

        n++;
        if (poll(&pf, 1, 100) != 1)
            break;
    }
    cr_assert_eq(n, 8);
    check_flows(accepted[0], 100, 6007);
    for (int i = 0; i < n; i++)
        close(accepted[i]);
    close(lfd);
}
