/*
 * vsock_tx_batch: payloads of consecutive RW packets of one stream leave in one sendmsg, and
 * whatever the host socket does not take is buffered behind them. Checked from the host side:
 * every byte arrives once, in order, per stream, however the batch mixes streams and control
 * packets, and however much the host socket can hold.
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

/* Larger than any host socket buffer (net.core.wmem_max caps SO_SNDBUF), so a host that does
   not read makes part of a gather wait in vsockd's own buffer. */
#define BIG_WINDOW (16u << 20)
#define PKT        (16u * 1024u)
#define PER_BATCH  8u

static struct harness H;

static void setup(void)
{
    h_init(&H, BIG_WINDOW, 0);
}

static void teardown(void)
{
    h_fini(&H);
}

TestSuite(gather, .init = setup, .fini = teardown, .timeout = 60);

static int host_listener(uint32_t port)
{
    char path[160];

    snprintf(path, sizeof(path), "%s_%u", H.sock, port);
    return h_listen(path);
}

/* Payload bytes are a stream's byte offset, mixed with its port: misplaced bytes show. */
static uint8_t pattern(uint32_t port, uint64_t off)
{
    return (uint8_t)(off * 131u + (off >> 8) + port);
}

static void fill(uint8_t *buf, uint32_t port, uint64_t off, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern(port, off + i);
}

/* Reads what s has now, checking it against the pattern; returns the new offset. */
static uint64_t drain_check(int s, uint32_t port, uint64_t off, int ms)
{
    static uint8_t sink[256 * 1024];
    struct pollfd p = { .fd = s, .events = POLLIN };
    ssize_t n;

    if (ms && poll(&p, 1, ms) != 1)
        return off;
    while ((n = recv(s, sink, sizeof(sink), MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            cr_assert_eq(sink[i], pattern(port, off + (uint64_t)i), "byte %lu of port %u",
                         (unsigned long)(off + (uint64_t)i), port);
        off += (uint64_t)n;
    }
    return off;
}

/* Two streams and a CREDIT_REQUEST interleaved in each batch: A A B A B B ? A. */
Test(gather, interleaved_streams_keep_order)
{
    static const int who[PER_BATCH] = { 0, 0, 1, 0, 1, 1, 2, 0 };
    uint32_t gport[2] = { 70, 71 }, hport[2] = { 6001, 6002 };
    uint64_t sent[2] = { 0, 0 }, got[2] = { 0, 0 };
    struct h_pkt r;
    int lfd[2], s[2];
    static uint8_t buf[PKT];

    for (int k = 0; k < 2; k++) {
        lfd[k] = host_listener(hport[k]);
        s[k] = h_guest_connect(&H, gport[k], hport[k], lfd[k]);
    }
    for (int round = 0; round < 16; round++) {
        struct virtq_elem *e[PER_BATCH];

        for (unsigned i = 0; i < PER_BATCH; i++) {
            int k = who[i] == 2 ? 1 : who[i];
            struct h_pkt p =
                h_pkt(who[i] == 2 ? VSOCK_OP_CREDIT_REQUEST : VSOCK_OP_RW, gport[k], hport[k]);
            size_t len = who[i] == 2 ? 0 : PKT - 64 * i; /* uneven sizes */

            fill(buf, hport[k], sent[k], len);
            p.len = (uint32_t)len;
            e[i] = h_elem(&H, &p, buf, len, i * (PKT + VSOCK_HDR_LEN + 64));
            sent[k] += len;
        }
        vsock_tx_batch(H.d, e, PER_BATCH);
        for (unsigned i = 0; i < PER_BATCH; i++)
            free(e[i]);
        /* The batch is on the host sockets when the call returns: no poll needed. */
        for (int k = 0; k < 2; k++) {
            got[k] = drain_check(s[k], hport[k], got[k], 0);
            cr_assert_eq(got[k], sent[k], "port %u: %lu of %lu bytes", hport[k],
                         (unsigned long)got[k], (unsigned long)sent[k]);
        }
        /* Credit answers for the requests; the streams are never near their windows. */
        while (h_rx(&H, 4096, &r, NULL, NULL) == 1)
            cr_assert_eq(r.op, VSOCK_OP_CREDIT_UPDATE, "op %u", r.op);
    }
    for (int k = 0; k < 2; k++) {
        close(s[k]);
        close(lfd[k]);
    }
}

/* The host reads nothing while the guest fills a window bigger than the host socket holds:
   gathers are cut short, the rest waits in vsockd, and then all of it arrives in order. */
Test(gather, host_full_mid_gather)
{
    enum { PKTS = BIG_WINDOW / PKT };
    int lfd = host_listener(6003), s = h_guest_connect(&H, 72, 6003, lfd);
    static uint8_t buf[PKT];
    uint64_t sent = 0, got = 0;

    for (unsigned n = 0; n < PKTS; n += PER_BATCH) {
        struct virtq_elem *e[PER_BATCH];

        for (unsigned i = 0; i < PER_BATCH; i++) {
            struct h_pkt p = h_pkt(VSOCK_OP_RW, 72, 6003);

            fill(buf, 6003, sent, PKT);
            p.len = PKT;
            e[i] = h_elem(&H, &p, buf, PKT, i * (PKT + VSOCK_HDR_LEN));
            sent += PKT;
        }
        vsock_tx_batch(H.d, e, PER_BATCH);
        for (unsigned i = 0; i < PER_BATCH; i++)
            free(e[i]);
    }
    cr_assert_eq(vsock_conn_count(H.d), 1, "a guest within its credit was reset");
    /* Bounded by progress: two seconds without a byte is a stall. */
    for (int idle = 0; got < sent && idle < 200;) {
        uint64_t before = got;

        h_pump(&H, 0);
        got = drain_check(s, 6003, got, 10);
        idle = got == before ? idle + 1 : 0;
    }
    cr_assert_eq(got, sent, "host got %lu of %lu bytes", (unsigned long)got, (unsigned long)sent);
    close(s);
    close(lfd);
}

/*
 * The host closes its end; the guest then sends RW and a control packet for that stream in one
 * batch. The RW is gathered; the control packet sends the gather first, which fails (EPIPE) and
 * ends the stream, so the control packet must find no stream behind it (issue 22 item 1: it
 * was used after free, and an RST freed it twice). One RST tells the guest; the model lives on.
 */
static void host_gone_mid_gather(uint16_t op, uint32_t flags)
{
    uint32_t gport = 73, hport = 6004;
    int lfd = host_listener(hport), s = h_guest_connect(&H, gport, hport, lfd), s2;
    struct virtq_elem *e[2];
    struct h_pkt p = h_pkt(VSOCK_OP_RW, gport, hport), r;
    static uint8_t buf[PKT];

    close(s); /* the host side is gone before vsockd has polled it */
    fill(buf, hport, 0, PKT);
    p.len = PKT;
    e[0] = h_elem(&H, &p, buf, PKT, 0);
    p = h_pkt(op, gport, hport);
    p.flags = flags;
    e[1] = h_elem(&H, &p, NULL, 0, PKT + VSOCK_HDR_LEN + 64);
    vsock_tx_batch(H.d, e, 2);
    free(e[0]);
    free(e[1]);
    cr_assert_eq(vsock_conn_count(H.d), 0, "the stream outlived its host socket");
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 1, "no RST for the dead stream");
    cr_assert_eq(r.op, VSOCK_OP_RST, "op %u", r.op);
    cr_assert_eq(r.src_port, hport);
    cr_assert_eq(r.dst_port, gport);
    cr_assert_eq(h_rx(&H, 4096, &r, NULL, NULL), 0, "op %u after the RST", r.op);
    /* Still serving: the same pair connects again and carries bytes. */
    s2 = h_guest_connect(&H, gport, hport, lfd);
    p = h_pkt(VSOCK_OP_RW, gport, hport);
    p.len = 64;
    h_tx(&H, &p, buf, 64, NULL, 0);
    cr_assert_eq(drain_check(s2, hport, 0, 2000), 64);
    close(s2);
    close(lfd);
}

Test(gather, host_gone_then_rw_rst)
{
    host_gone_mid_gather(VSOCK_OP_RST, 0);
}

Test(gather, host_gone_then_rw_shutdown)
{
    host_gone_mid_gather(VSOCK_OP_SHUTDOWN, VSOCK_SHUT_SEND | VSOCK_SHUT_RCV);
}

Test(gather, host_gone_then_rw_credit_request)
{
    host_gone_mid_gather(VSOCK_OP_CREDIT_REQUEST, 0);
}

Test(gather, host_gone_then_rw_request)
{
    host_gone_mid_gather(VSOCK_OP_REQUEST, 0);
}
