/* vsockd's RX side: RST replies, control packets and host bytes into the guest's RX buffers,
 * within the guest's credit (vsock.h: vsock_rx_batch). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "vsockd/host_unix.h"
#include "vsockd/vsock_priv.h"

bool vsock_rx_pending(struct vsock_dev *d)
{
    return d->rst_len || !TAILQ_EMPTY(&d->rxq);
}

static void put_hdr(struct vsock_dev *d, const struct virtq_elem *e, struct vsock_conn *c,
                    uint16_t op, uint32_t flags, uint32_t len)
{
    const struct iovec *in = e->iov + e->out_num;
    uint8_t raw[VSOCK_HDR_LEN];
    struct vsock_hdr h = {
        .src_cid = VSOCK_HOST_CID,
        .dst_cid = d->guest_cid,
        .type = VSOCK_TYPE_STREAM,
        .op = op,
        .flags = flags,
        .len = len,
    };

    if (c) {
        h.src_port = c->local_port;
        h.dst_port = c->peer_port;
        h.buf_alloc = c->buf_size;
        h.fwd_cnt = c->fwd_cnt;
        c->fwd_cnt_sent = c->fwd_cnt;
        c->need &= ~CONN_NEED_CREDIT;
    } else {
        h.src_port = d->rst[d->rst_head].local_port;
        h.dst_port = d->rst[d->rst_head].peer_port;
    }
    vsock_hdr_encode(raw, &h);
    vsock_iov_write(in, e->in_num, 0, raw, sizeof(raw));
    d->st.rx_pkts++;
}

/*
 * Host bytes behind the headers of e[0..n), in one recvmsg across their payload areas: each
 * element gets at most VSOCK_MAX_PKT, all of them together at most the guest's credit, and the
 * span stops at the first element with no room (it is handled on its own later). Each element
 * the bytes reached becomes one RW packet with its own header and length (written[i]), so a
 * driver with small buffers (Linux's are 4 KiB) costs one system call per stretch of the
 * stream instead of one per buffer. Returns the elements filled, 0 if nothing could be read,
 * or -1 when the connection is gone (an RST is queued).
 */
static int read_host(struct vsock_dev *d, struct vsock_conn *c, const struct virtq_elem *const *e,
                     unsigned n, uint32_t *written)
{
    struct iovec v[VIRTQ_MAX_SEGS];
    uint32_t credit = conn_peer_credit(c), cap[VSOCK_RX_BATCH];
    size_t total = 0, left;
    unsigned nv = 0, k = 0, used = 0;
    ssize_t r;

    if (n > VSOCK_RX_BATCH)
        n = VSOCK_RX_BATCH;
    for (; k < n && total < credit && nv < VIRTQ_MAX_SEGS; k++) {
        size_t want, got;

        if (e[k]->in_len <= VSOCK_HDR_LEN)
            break;
        want = e[k]->in_len - VSOCK_HDR_LEN < credit - total
                   ? (size_t)(e[k]->in_len - VSOCK_HDR_LEN)
                   : credit - total;
        if (want > VSOCK_MAX_PKT)
            want = VSOCK_MAX_PKT;
        nv += vsock_iov_slice(e[k]->iov + e[k]->out_num, e[k]->in_num, VSOCK_HDR_LEN, want, v + nv,
                              VIRTQ_MAX_SEGS - nv, &got);
        if (!got)
            break;
        cap[k] = (uint32_t)got;
        total += got;
    }
    r = total ? host_recv(c->fd, v, nv) : -EAGAIN;
    if (r == -EAGAIN) {
        c->readable = false;
        return 0;
    }
    if (r < 0) {
        vsock_conn_kill(d, c);
        return -1;
    }
    if (r == 0) {
        c->readable = false;
        c->host_eof = true;
        c->need |= CONN_NEED_SHUTDOWN;
        return vsock_settle(d, c) ? -1 : 0; /* the guest had stopped sending too: done */
    }
    /* recvmsg filled the iovecs in order: the first elements are full, one maybe part. */
    for (left = (size_t)r; left && used < k; used++) {
        uint32_t len = left < cap[used] ? (uint32_t)left : cap[used];

        c->tx_cnt += len;
        put_hdr(d, e[used], c, VSOCK_OP_RW, 0, len);
        written[used] = VSOCK_HDR_LEN + len;
        left -= len;
    }
    return (int)used;
}

/* One control packet into e: its length. */
static uint32_t fill_ctl(struct vsock_dev *d, struct vsock_conn *c, const struct virtq_elem *e,
                         uint16_t op, uint32_t flags)
{
    put_hdr(d, e, c, op, flags, 0);
    return VSOCK_HDR_LEN;
}

/* Packets of c into e[0..n) (a data stretch may take several, a control packet one): the
   elements filled with written[] set, 0 when c had nothing after all, -1 when c is gone. */
static int fill_from(struct vsock_dev *d, struct vsock_conn *c, const struct virtq_elem *const *e,
                     unsigned n, uint32_t *written)
{
    int k;

    if (c->need & CONN_NEED_RESPONSE) {
        c->need &= ~CONN_NEED_RESPONSE;
        written[0] = fill_ctl(d, c, e[0], VSOCK_OP_RESPONSE, 0);
        return 1;
    }
    if (c->need & CONN_NEED_REQUEST) {
        c->need &= ~CONN_NEED_REQUEST;
        written[0] = fill_ctl(d, c, e[0], VSOCK_OP_REQUEST, 0);
        return 1;
    }
    /* Data first: it carries our credit too. */
    if (vsock_data_ready(c)) {
        k = read_host(d, c, e, n, written);
        if (k != 0)
            return k;
    }
    if (c->need & CONN_NEED_SHUTDOWN) {
        c->need &= ~CONN_NEED_SHUTDOWN;
        written[0] = fill_ctl(d, c, e[0], VSOCK_OP_SHUTDOWN, VSOCK_SHUT_SEND);
        return 1;
    }
    if (c->need & CONN_NEED_CREDIT) {
        written[0] = fill_ctl(d, c, e[0], VSOCK_OP_CREDIT_UPDATE, 0);
        return 1;
    }
    return 0;
}

unsigned vsock_rx_batch(struct vsock_dev *d, const struct virtq_elem *const *e, unsigned n,
                        uint32_t *written)
{
    if (!n)
        return 0;
    written[0] = 0;
    if (e[0]->in_len < VSOCK_HDR_LEN) {
        d->st.bad_pkts++; /* unusable buffer: hand it back empty rather than stall on it */
        return 1;
    }
    /* Each turn either returns or takes a connection off the queue for good (gone) or puts it
       back with nothing left to send now (not readable, nothing owed): bounded by the queue. */
    for (;;) {
        struct vsock_conn *c;
        int k;

        if (d->rst_len) {
            put_hdr(d, e[0], NULL, VSOCK_OP_RST, 0, 0);
            d->rst_head = (d->rst_head + 1) % VSOCK_RST_QUEUE;
            d->rst_len--;
            d->st.rst_sent++;
            written[0] = VSOCK_HDR_LEN;
            return 1;
        }
        c = TAILQ_FIRST(&d->rxq);
        if (!c)
            return 0;
        vsock_rxq_drop(d, c);
        k = fill_from(d, c, e, n, written);
        if (k < 0)
            continue;         /* c is gone; its RST, if any, is queued */
        vsock_rxq_kick(d, c); /* to the back of the queue: streams take turns */
        if (k)
            return (unsigned)k;
    }
}

int vsock_rx(struct vsock_dev *d, const struct virtq_elem *e, uint32_t *written)
{
    const struct virtq_elem *one[1] = { e };

    return vsock_rx_batch(d, one, 1, written) ? 1 : 0;
}
