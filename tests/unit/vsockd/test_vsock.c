/*
 * The vsock device model's stream semantics against real host unix sockets: guest-initiated
 * and host-initiated (hybrid CONNECT) streams, data both ways, SHUTDOWN in each direction,
 * RST, credit flow control (buf_alloc/fwd_cnt, CREDIT_UPDATE, CREDIT_REQUEST) and many
 * streams at once.
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
#include "vsockd/host_unix.h"

static struct harness H;

static void setup(void)
{
    h_init(&H, 0, 0);
}

static void teardown(void)
{
    h_fini(&H);
}

TestSuite(vsock, .init = setup, .fini = teardown, .timeout = 30);

static int host_listener(uint32_t port)
{
    char path[160];

    snprintf(path, sizeof(path), "%s_%u", H.sock, port);
    return h_listen(path);
}

static ssize_t read_some(int fd, void *buf, size_t len)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    if (poll(&p, 1, 2000) != 1)
        return -ETIMEDOUT;
    return read(fd, buf, len);
}

Test(vsock, guest_to_host_stream_both_ways)
{
    int lfd = host_listener(5000), s;
    struct h_pkt p = h_pkt(VSOCK_OP_RW, 1234, 5000), r;
    uint8_t buf[4096];
    size_t n;

    s = h_guest_connect(&H, 1234, 5000, lfd);
    p.len = 5;
    h_tx(&H, &p, "hello", 5, NULL, 0);
    cr_assert_eq(read_some(s, buf, sizeof(buf)), 5);
    cr_assert_eq(memcmp(buf, "hello", 5), 0);

    cr_assert_eq(write(s, "world!", 6), 6);
    h_pump(&H, 100);
    cr_assert_eq(h_rx(&H, 4096, &r, buf, &n), 1);
    cr_assert_eq(r.op, VSOCK_OP_RW);
    cr_assert_eq(r.src_port, 5000);
    cr_assert_eq(r.dst_port, 1234);
    cr_assert_eq(n, 6);
    cr_assert_eq(memcmp(buf, "world!", 6), 0);
    cr_assert_eq(r.fwd_cnt, 5, "fwd_cnt counts what the host took");
    cr_assert_eq(r.buf_alloc, VSOCK_DEFAULT_BUF_ALLOC);

    /* Guest half-closes: the host reads EOF but can still send. */
    p = h_pkt(VSOCK_OP_SHUTDOWN, 1234, 5000);
    p.flags = VSOCK_SHUT_SEND;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(read_some(s, buf, sizeof(buf)), 0);
    cr_assert_eq(write(s, "late", 4), 4);
    h_pump(&H, 100);
    cr_assert_eq(h_rx(&H, 4096, &r, buf, &n), 1);
    cr_assert_eq(r.op, VSOCK_OP_RW);
    cr_assert_eq(n, 4);

    /* Host closes: the guest hears SHUTDOWN(SEND), then both sides are done: RST. */
    close(s);
    h_pump(&H, 100);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert(r.op == VSOCK_OP_RST || r.op == VSOCK_OP_SHUTDOWN, "op %u", r.op);
    while (r.op != VSOCK_OP_RST)
        cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(vsock_conn_count(H.d), 0);
    close(lfd);
}

Test(vsock, guest_close_gets_rst)
{
    int lfd = host_listener(5001), s;
    struct h_pkt p = h_pkt(VSOCK_OP_SHUTDOWN, 77, 5001), r;
    char c;

    s = h_guest_connect(&H, 77, 5001, lfd);
    p.flags = VSOCK_SHUT_SEND | VSOCK_SHUT_RCV;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(r.op, VSOCK_OP_RST);
    cr_assert_eq(r.src_port, 5001);
    cr_assert_eq(r.dst_port, 77);
    cr_assert_eq(read_some(s, &c, 1), 0, "host sees EOF");
    cr_assert_eq(vsock_conn_count(H.d), 0);
    close(s);
    close(lfd);
}

Test(vsock, guest_rst_closes_host)
{
    int lfd = host_listener(5002), s;
    struct h_pkt p = h_pkt(VSOCK_OP_RST, 78, 5002), r;
    char c;

    s = h_guest_connect(&H, 78, 5002, lfd);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(read_some(s, &c, 1), 0);
    cr_assert_eq(vsock_conn_count(H.d), 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 0, "no answer to an RST");
    close(s);
    close(lfd);
}

/* Host-initiated: CONNECT line, REQUEST to the guest, RESPONSE, OK line, data both ways. */
Test(vsock, host_to_guest_hybrid_connect)
{
    struct h_pkt r, p;
    uint8_t buf[256];
    size_t n;
    int s = h_connect(H.sock);
    uint32_t lp;

    cr_assert_geq(s, 0);
    /* Payload right behind the line must not be swallowed by the handshake. */
    cr_assert_eq(write(s, "connect 9000\nearly", 18), 18);
    h_pump(&H, 100);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(r.op, VSOCK_OP_REQUEST);
    cr_assert_eq(r.dst_port, 9000);
    cr_assert_geq(r.src_port, VSOCK_LOCAL_PORT_BASE);
    lp = r.src_port;

    p = h_pkt(VSOCK_OP_RESPONSE, 9000, lp);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    n = (size_t)read_some(s, buf, sizeof(buf) - 1);
    buf[n] = 0;
    snprintf((char *)buf + 128, 64, "OK %u\n", lp);
    cr_assert_str_eq((char *)buf, (char *)buf + 128);

    h_pump(&H, 50);
    cr_assert_eq(h_rx(&H, 4096, &r, buf, &n), 1);
    cr_assert_eq(r.op, VSOCK_OP_RW);
    cr_assert_eq(n, 5);
    cr_assert_eq(memcmp(buf, "early", 5), 0);

    p = h_pkt(VSOCK_OP_RW, 9000, lp);
    p.len = 3;
    h_tx(&H, &p, "abc", 3, NULL, 0);
    cr_assert_eq(read_some(s, buf, sizeof(buf)), 3);
    close(s);
}

Test(vsock, host_connect_guest_refuses)
{
    struct h_pkt r, p;
    int s = h_connect(H.sock);
    char c;

    cr_assert_eq(write(s, "CONNECT 9001\n", 13), 13);
    h_pump(&H, 100);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    p = h_pkt(VSOCK_OP_RST, 9001, r.src_port);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(read_some(s, &c, 1), 0, "no OK line: closed");
    close(s);
}

/* The guest's buf_alloc bounds what it is sent; CREDIT_UPDATE opens the window again. */
Test(vsock, credit_limits_host_to_guest)
{
    int lfd = host_listener(5003), s;
    struct h_pkt p = h_pkt(VSOCK_OP_REQUEST, 90, 5003), r;
    static uint8_t big[20000], got[65536];
    size_t n, total = 0;

    p.buf_alloc = 4096;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_eq(write(s, big, sizeof(big)), (ssize_t)sizeof(big));
    h_pump(&H, 100);
    while (h_rx(&H, 65536, &r, got, &n) == 1)
        total += n;
    cr_assert_eq(total, 4096, "sent %zu with 4096 bytes of credit", total);

    p = h_pkt(VSOCK_OP_CREDIT_UPDATE, 90, 5003);
    p.buf_alloc = 4096;
    p.fwd_cnt = 4096;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    while (h_rx(&H, 65536, &r, got, &n) == 1)
        total += n;
    cr_assert_eq(total, 8192);
    close(s);
    close(lfd);
}

Test(vsock, credit_request_answered)
{
    int lfd = host_listener(5004), s;
    struct h_pkt p, r;

    s = h_guest_connect(&H, 91, 5004, lfd);
    p = h_pkt(VSOCK_OP_CREDIT_REQUEST, 91, 5004);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(r.op, VSOCK_OP_CREDIT_UPDATE);
    cr_assert_eq(r.buf_alloc, VSOCK_DEFAULT_BUF_ALLOC);
    close(s);
    close(lfd);
}

/* A one-way guest->host stream gets CREDIT_UPDATEs without asking. */
Test(vsock, credit_update_unprompted)
{
    int lfd = host_listener(5005), s;
    static uint8_t chunk[VSOCK_MAX_PKT], sink[VSOCK_MAX_PKT];
    struct h_pkt p, r;
    uint32_t sent = 0;
    bool got_update = false;

    s = h_guest_connect(&H, 92, 5005, lfd);
    /* Within one window of credit: the update comes once the guest has used half of it. */
    for (int i = 0; i < (int)(VSOCK_DEFAULT_BUF_ALLOC / VSOCK_MAX_PKT) && !got_update; i++) {
        p = h_pkt(VSOCK_OP_RW, 92, 5005);
        p.len = sizeof(chunk);
        h_tx(&H, &p, chunk, sizeof(chunk), NULL, 0);
        sent += sizeof(chunk);
        while (read_some(s, sink, sizeof(sink)) == (ssize_t)sizeof(sink))
            break;
        while (h_rx(&H, 4096, &r, NULL, NULL) == 1)
            if (r.op == VSOCK_OP_CREDIT_UPDATE)
                got_update = true;
    }
    cr_assert(got_update, "no CREDIT_UPDATE after %u bytes", sent);
    close(s);
    close(lfd);
}

/* Reads everything the host socket holds now. */
static void drain_host(int fd)
{
    static uint8_t sink[VSOCK_MAX_PKT];

    while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
        ;
}

/*
 * A guest streaming 8 MiB as fast as its credit allows, the host reading everything: it never
 * has to ask for credit, and hears from us about twice per usable window, not once per packet.
 * The usable window is ours capped at the guest's own buf_alloc (cap: Linux guests do that).
 */
static void stream_batched(uint32_t port, uint32_t guest_buf_alloc)
{
    enum { TOTAL = 8u << 20, PKTS = TOTAL / VSOCK_MAX_PKT };
    uint32_t window =
        guest_buf_alloc < VSOCK_DEFAULT_BUF_ALLOC ? guest_buf_alloc : VSOCK_DEFAULT_BUF_ALLOC;
    int lfd = host_listener(port), s;
    static uint8_t chunk[VSOCK_MAX_PKT];
    uint32_t sent = 0, peer_fwd = 0, updates = 0;
    struct h_pkt p, r;

    s = h_guest_connect(&H, 95, port, lfd);
    for (int round = 0; sent < TOTAL && round < 2000; round++) {
        if (window - (sent - peer_fwd) >= VSOCK_MAX_PKT) {
            p = h_pkt(VSOCK_OP_RW, 95, port);
            p.len = sizeof(chunk);
            p.buf_alloc = guest_buf_alloc;
            h_tx(&H, &p, chunk, sizeof(chunk), NULL, 0);
            sent += sizeof(chunk);
        } else {
            h_pump(&H, 10); /* out of credit: the host's reads must bring an update */
        }
        drain_host(s);
        h_pump(&H, 0);
        while (h_rx(&H, 4096, &r, NULL, NULL) == 1) {
            cr_assert_eq(r.op, VSOCK_OP_CREDIT_UPDATE, "op %u", r.op);
            cr_assert_eq(r.buf_alloc, VSOCK_DEFAULT_BUF_ALLOC);
            peer_fwd = r.fwd_cnt;
            updates++;
        }
    }
    cr_assert_eq(sent, TOTAL, "the stream stalled after %u bytes", sent);
    cr_assert_geq(updates, TOTAL / window - 1);
    cr_assert_leq(updates, 2 * TOTAL / window + 1, "%u updates for %u packets", updates,
                  (unsigned)PKTS);
    close(s);
    close(lfd);
}

Test(vsock, credit_updates_batched)
{
    stream_batched(5009, 4u << 20);
}

Test(vsock, credit_updates_batched_capped_guest)
{
    stream_batched(5012, 256u * 1024u);
}

/* The wide window goes to the first VSOCK_WIDE_CONNS connections only: what a guest can make
   vsockd hold stays bounded. */
Test(vsock, narrow_window_past_wide_conns)
{
    int lfd = host_listener(5010), s[VSOCK_WIDE_CONNS + 1];
    struct h_pkt p, r;

    for (uint32_t i = 0; i < VSOCK_WIDE_CONNS; i++)
        s[i] = h_guest_connect(&H, 2000 + i, 5010, lfd);
    p = h_pkt(VSOCK_OP_REQUEST, 3000, 5010);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(r.op, VSOCK_OP_RESPONSE);
    cr_assert_eq(r.buf_alloc, VSOCK_NARROW_BUF_ALLOC);
    s[VSOCK_WIDE_CONNS] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(s[VSOCK_WIDE_CONNS], 0);
    /* A stream opened when few were open keeps its wide window. */
    p = h_pkt(VSOCK_OP_CREDIT_REQUEST, 2000, 5010);
    h_tx(&H, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(r.op, VSOCK_OP_CREDIT_UPDATE);
    cr_assert_eq(r.buf_alloc, VSOCK_DEFAULT_BUF_ALLOC);
    for (uint32_t i = 0; i <= VSOCK_WIDE_CONNS; i++)
        close(s[i]);
    close(lfd);
}

Test(vsock, many_streams_interleaved)
{
    enum { N = 64 };
    int lfd = host_listener(5006), s[N];
    uint8_t buf[64];
    struct h_pkt p, r;
    int seen[N] = { 0 };

    for (int i = 0; i < N; i++)
        s[i] = h_guest_connect(&H, 1000 + (uint32_t)i, 5006, lfd);
    cr_assert_eq(vsock_conn_count(H.d), N);
    for (int i = 0; i < N; i++) {
        p = h_pkt(VSOCK_OP_RW, 1000 + (uint32_t)i, 5006);
        p.len = 4;
        h_tx(&H, &p, &i, 4, NULL, 0);
    }
    for (int i = 0; i < N; i++) {
        int v;

        cr_assert_eq(read_some(s[i], &v, 4), 4);
        cr_assert_eq(v, i);
        cr_assert_eq(write(s[i], &i, 4), 4);
    }
    h_pump(&H, 100);
    for (int k = 0; k < N; k++) {
        size_t n;
        int v;

        cr_assert_eq(h_rx(&H, 4096, &r, buf, &n), 1);
        cr_assert_eq(n, 4);
        memcpy(&v, buf, 4);
        cr_assert_eq(r.dst_port, 1000 + (uint32_t)v);
        seen[v]++;
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(seen[i], 1);
        close(s[i]);
    }
    close(lfd);
}

Test(vsock, parse_connect_line)
{
    uint32_t port;

    cr_assert_eq(host_parse_connect("CONNECT 52", 10, &port), 0);
    cr_assert_eq(port, 52);
    cr_assert_eq(host_parse_connect("connect   4294967295", 20, &port), 0);
    cr_assert_eq(port, UINT32_MAX);
    cr_assert_eq(host_parse_connect("CONNECT 4294967296", 18, &port), -EPROTO);
    cr_assert_eq(host_parse_connect("CONNECT", 7, &port), -EPROTO);
    cr_assert_eq(host_parse_connect("CONNECTX 5", 10, &port), -EPROTO);
    cr_assert_eq(host_parse_connect("CONNECT 5x", 10, &port), -EPROTO);
    cr_assert_eq(host_parse_connect("CONNECT -5", 10, &port), -EPROTO);
    cr_assert_eq(host_parse_connect("HELLO 5", 7, &port), -EPROTO);
}

/* The guest fills the whole window while the host reads nothing, then half-closes: the host
   still gets every byte, then EOF. */
Test(vsock, full_window_then_shutdown)
{
    int lfd = host_listener(5011), s;
    static uint8_t chunk[VSOCK_MAX_PKT], sink[VSOCK_MAX_PKT];
    struct h_pkt p;
    uint64_t got = 0;
    ssize_t n;

    s = h_guest_connect(&H, 96, 5011, lfd);
    for (uint32_t i = 0; i < VSOCK_DEFAULT_BUF_ALLOC / VSOCK_MAX_PKT; i++) {
        memset(chunk, (int)i, sizeof(chunk));
        p = h_pkt(VSOCK_OP_RW, 96, 5011);
        p.len = sizeof(chunk);
        h_tx(&H, &p, chunk, sizeof(chunk), NULL, 0);
    }
    p = h_pkt(VSOCK_OP_SHUTDOWN, 96, 5011);
    p.flags = VSOCK_SHUT_SEND;
    h_tx(&H, &p, NULL, 0, NULL, 0);
    for (int round = 0; round < 10000; round++) {
        h_pump(&H, 0);
        n = recv(s, sink, sizeof(sink), MSG_DONTWAIT);
        if (n == 0)
            break;
        if (n > 0) {
            cr_assert_eq(sink[0], (uint8_t)(got / VSOCK_MAX_PKT));
            got += (uint64_t)n;
        }
    }
    cr_assert_eq(got, VSOCK_DEFAULT_BUF_ALLOC, "host got %lu bytes", (unsigned long)got);
    close(s);
    close(lfd);
}
