#include "vsockd/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vsockd/conn.h"
#include "vsockd/host_unix.h"
#include "vsockd/vsock_priv.h"

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Host bytes can go to the guest now. */
bool vsock_data_ready(const struct vsock_conn *c)
{
    return c->state == CONN_ESTABLISHED && c->readable && !c->peer_shut_rcv && !c->host_eof &&
           conn_peer_credit(c) > 0;
}

static bool has_rx_work(const struct vsock_conn *c)
{
    return c->need || vsock_data_ready(c);
}

void vsock_rxq_kick(struct vsock_dev *d, struct vsock_conn *c)
{
    if (!c->in_rxq && has_rx_work(c)) {
        TAILQ_INSERT_TAIL(&d->rxq, c, rxq);
        c->in_rxq = true;
    }
}

void vsock_rxq_drop(struct vsock_dev *d, struct vsock_conn *c)
{
    if (c->in_rxq) {
        TAILQ_REMOVE(&d->rxq, c, rxq);
        c->in_rxq = false;
    }
}

static void queue_rst(struct vsock_dev *d, uint32_t local_port, uint32_t peer_port)
{
    if (d->rst_len == VSOCK_RST_QUEUE) {
        d->st.rst_dropped++;
        return;
    }
    d->rst[(d->rst_head + d->rst_len) % VSOCK_RST_QUEUE] =
        (struct rst_entry){ .local_port = local_port, .peer_port = peer_port };
    d->rst_len++;
}

static void conn_close(struct vsock_dev *d, struct vsock_conn *c)
{
    if (d->pend == c)
        d->pend = NULL; /* its stream is gone: the gathered bytes have nowhere to go */
    vsock_rxq_drop(d, c);
    conn_free(&d->conns, c);
}

/* Ends a stream the guest knows about with an RST; a handshake just closes. */
void vsock_conn_kill(struct vsock_dev *d, struct vsock_conn *c)
{
    if (c->state != CONN_HANDSHAKE && c->state != CONN_DRAINING)
        queue_rst(d, c->local_port, c->peer_port);
    conn_close(d, c);
}

static int ep_add_conn(struct vsock_dev *d, struct vsock_conn *c)
{
    struct epoll_event ev = { .events = CONN_EP_EVENTS, .data.ptr = c };

    return epoll_ctl(d->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0 ? -errno : 0;
}

/* A new stream from fd; on failure fd is closed. */
static struct vsock_conn *adopt(struct vsock_dev *d, int fd, uint32_t local_port,
                                uint32_t peer_port)
{
    uint32_t window = d->buf_alloc;
    struct vsock_conn *c;

    if (d->conns.count >= VSOCK_WIDE_CONNS && window > VSOCK_NARROW_BUF_ALLOC)
        window = VSOCK_NARROW_BUF_ALLOC;
    c = conn_new(&d->conns, fd, local_port, peer_port, window);
    if (!c) {
        close(fd);
        return NULL;
    }
    if (ep_add_conn(d, c) < 0) {
        conn_close(d, c);
        return NULL;
    }
    (void)host_set_sndbuf(fd, window / 2); /* the kernel doubles it; smaller only costs speed */
    return c;
}

/*
 * Tells the guest about forwarded bytes only when it needs to know: once what it sent since the
 * fwd_cnt it last heard reaches half of the window it can actually use, as Linux does with its
 * own threshold. That window is ours capped at the guest's own buf_alloc: Linux guests cap their
 * TX credit so (a larger window from us would leave them stalled, waiting for an update we
 * would not send). A guest streaming at full speed so hears from us about twice per window,
 * not once per packet, and still has half a window of credit while the update travels. Nothing
 * to tell (fwd_cnt unchanged) sends nothing; the next flush that forwards bytes asks again.
 */
static void maybe_credit_update(struct vsock_dev *d, struct vsock_conn *c)
{
    uint32_t unheard = c->rx_cnt - c->fwd_cnt_sent; /* the guest counts these against us */
    uint32_t window = c->buf_size;

    if (c->peer_buf_alloc && c->peer_buf_alloc < window)
        window = c->peer_buf_alloc;
    if (c->fwd_cnt != c->fwd_cnt_sent && unheard >= window / 2) {
        c->need |= CONN_NEED_CREDIT;
        vsock_rxq_kick(d, c);
    }
}

/* After a shutdown or a flush: half-close the host, or finish the stream. True if c is gone. */
bool vsock_settle(struct vsock_dev *d, struct vsock_conn *c)
{
    bool guest_done = c->peer_shut_send && (c->peer_shut_rcv || c->host_eof);

    if (guest_done && c->state != CONN_DRAINING) {
        /* The guest waits for our RST to finish its close. */
        queue_rst(d, c->local_port, c->peer_port);
        c->state = CONN_DRAINING;
        c->need = 0;
        c->deadline_ms = now_ms() + VSOCK_DRAIN_MS;
        vsock_rxq_drop(d, c);
    }
    if (c->buf_len)
        return false;
    if (c->state == CONN_DRAINING) {
        conn_close(d, c);
        return true;
    }
    if (c->peer_shut_send)
        shutdown(c->fd, SHUT_WR);
    return false;
}

/* Moves buffered guest bytes to the host. True if c is gone. */
static bool flush(struct vsock_dev *d, struct vsock_conn *c)
{
    if (!c->buf_len)
        return false;
    if (conn_buf_flush(c) < 0) {
        vsock_conn_kill(d, c);
        return true;
    }
    if (c->state != CONN_DRAINING)
        maybe_credit_update(d, c);
    return vsock_settle(d, c);
}

static uint32_t alloc_local_port(struct vsock_dev *d, uint32_t peer_port)
{
    for (uint32_t tries = 0; tries <= d->max_conns; tries++) {
        uint32_t p = d->next_local_port++;

        if (d->next_local_port < VSOCK_LOCAL_PORT_BASE)
            d->next_local_port = VSOCK_LOCAL_PORT_BASE;
        if (!conn_find(&d->conns, p, peer_port) && !conn_find(&d->conns, p, HS_PEER))
            return p;
    }
    return 0; /* more tries than connections: cannot happen; treated as a refusal */
}

static void handshake(struct vsock_dev *d, struct vsock_conn *c)
{
    uint32_t port, lp;
    int r = host_handshake(c->fd, &port);

    if (r == 0)
        return;
    lp = r > 0 ? alloc_local_port(d, port) : 0;
    if (!lp) {
        d->st.refused++;
        conn_close(d, c);
        return;
    }
    conn_rekey(&d->conns, c, lp, port);
    c->state = CONN_LOCAL_INIT;
    c->need = CONN_NEED_REQUEST;
    c->deadline_ms = now_ms() + VSOCK_TIMEOUT_MS;
    vsock_rxq_kick(d, c);
}

static void accept_host(struct vsock_dev *d)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct vsock_conn *c;
        uint32_t lp;
        int fd;

        if (host_accept(d->listen_fd, &fd) < 0)
            return;
        lp = d->conns.count < d->max_conns ? alloc_local_port(d, HS_PEER) : 0;
        if (!lp) {
            d->st.refused++;
            close(fd);
            continue;
        }
        c = adopt(d, fd, lp, HS_PEER);
        if (!c)
            continue;
        c->state = CONN_HANDSHAKE;
        c->deadline_ms = now_ms() + VSOCK_TIMEOUT_MS;
    }
}

static void host_event(struct vsock_dev *d, struct vsock_conn *c, uint32_t ev)
{
    if (c->state == CONN_HANDSHAKE) {
        handshake(d, c);
        return;
    }
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR) && flush(d, c))
        return;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP) && c->state != CONN_DRAINING) {
        c->readable = true;
        vsock_rxq_kick(d, c);
    }
}

static void scan_deadlines(struct vsock_dev *d, uint64_t now)
{
    struct vsock_conn *c, *next;

    for (c = TAILQ_FIRST(&d->conns.all); c; c = next) {
        next = TAILQ_NEXT(c, all);
        if (!c->deadline_ms || now < c->deadline_ms)
            continue;
        if (c->state == CONN_HANDSHAKE || c->state == CONN_LOCAL_INIT)
            d->st.refused++;
        vsock_conn_kill(d, c);
    }
}

int vsock_poll(struct vsock_dev *d, int timeout_ms, uint32_t *fired)
{
    struct epoll_event evs[EP_BATCH];
    uint64_t now;
    int n;

    *fired = 0;
    n = epoll_wait(d->ep, evs, EP_BATCH, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -errno;
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;

        if (tag == EP_LISTEN)
            accept_host(d);
        else if (tag <= EP_MAX_TAG)
            *fired |= 1u << tag;
    }
    /* Connections after the tags. Handling one frees at most that one, and epoll reports a
       connection once per wait, so no pointer below is stale. */
    for (int i = 0; i < n; i++) {
        if (evs[i].data.u64 > EP_MAX_TAG)
            host_event(d, evs[i].data.ptr, evs[i].events);
    }
    now = now_ms();
    if (now >= d->next_scan_ms) {
        scan_deadlines(d, now);
        d->next_scan_ms = now + SCAN_EVERY_MS;
    }
    return 0;
}

static void reply_rst(struct vsock_dev *d, const struct vsock_hdr *h)
{
    if (h->op != VSOCK_OP_RST)
        queue_rst(d, h->dst_port, h->src_port);
}

static void guest_request(struct vsock_dev *d, const struct vsock_hdr *h)
{
    struct vsock_conn *c;
    int fd, r;

    if (d->conns.count >= d->max_conns) {
        d->st.refused++;
        reply_rst(d, h);
        return;
    }
    r = d->connect ? d->connect(d->connect_arg, h->dst_port, &fd)
                   : host_connect(d->uds_dir, d->uds_name, h->dst_port, &fd);
    if (r < 0) {
        d->st.refused++;
        reply_rst(d, h);
        return;
    }
    c = adopt(d, fd, h->dst_port, h->src_port);
    if (!c) {
        reply_rst(d, h);
        return;
    }
    c->state = CONN_ESTABLISHED;
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    c->need = CONN_NEED_RESPONSE;
    d->st.opened++;
    vsock_rxq_kick(d, c);
}

static void guest_response(struct vsock_dev *d, struct vsock_conn *c)
{
    if (c->state != CONN_LOCAL_INIT || host_send_ok(c->fd, c->local_port) < 0) {
        vsock_conn_kill(d, c);
        return;
    }
    c->state = CONN_ESTABLISHED;
    c->need &= ~CONN_NEED_REQUEST;
    c->deadline_ms = 0;
    /* Bytes the host sent behind its CONNECT line raised no new edge: look for them. */
    c->readable = true;
    d->st.opened++;
    vsock_rxq_kick(d, c);
}

/* Sends what was gathered for d->pend. True if that stream is gone. */
static bool pend_flush(struct vsock_dev *d)
{
    struct vsock_conn *c = d->pend;

    if (!c)
        return false;
    d->pend = NULL;
    if (conn_send_iov(c, d->mem, d->pend_iov, d->pend_n, d->pend_len) < 0) {
        vsock_conn_kill(d, c);
        return true;
    }
    maybe_credit_update(d, c);
    return false;
}

/* Payload [VSOCK_HDR_LEN, VSOCK_HDR_LEN + len) of e to the host: gathered with the packets of
   c around it when nothing is queued before it, else buffered within our advertised window. */
static void guest_rw(struct vsock_dev *d, struct vsock_conn *c, const struct virtq_elem *e,
                     uint32_t len)
{
    struct iovec v[VIRTQ_MAX_SEGS];
    size_t got;
    unsigned nv;

    if (c->state != CONN_ESTABLISHED || c->peer_shut_send) {
        vsock_conn_kill(d, c);
        return;
    }
    if (len > conn_our_free(c)) {
        d->st.credit_violations++;
        vsock_conn_kill(d, c);
        return;
    }
    c->rx_cnt += len;
    if (!len)
        return;
    nv = vsock_iov_slice(e->iov, e->out_num, VSOCK_HDR_LEN, len, v, VIRTQ_MAX_SEGS, &got);
    /* No room for it in the gather: what is there goes first (and may leave bytes buffered). */
    if (d->pend == c && (d->pend_n + nv > GATHER_SEGS || d->pend_len + got > GATHER_BYTES) &&
        pend_flush(d))
        return;
    if (c->buf_len) {
        /* Behind bytes already queued: keep the order, then try the host again. */
        if (conn_buf_append(c, d->mem, e->iov, e->out_num, VSOCK_HDR_LEN, len) < 0)
            vsock_conn_kill(d, c);
        else
            flush(d, c);
        return;
    }
    if (nv <= GATHER_SEGS) {
        if (!d->pend) {
            d->pend = c;
            d->pend_n = 0;
            d->pend_len = 0;
        }
        memcpy(d->pend_iov + d->pend_n, v, nv * sizeof(*v));
        d->pend_n += nv;
        d->pend_len += got;
        return;
    }
    /* Too many segments to gather: on its own. */
    if (conn_send_iov(c, d->mem, v, nv, got) < 0) {
        vsock_conn_kill(d, c);
        return;
    }
    maybe_credit_update(d, c);
}

static void guest_shutdown(struct vsock_dev *d, struct vsock_conn *c, uint32_t flags)
{
    if (c->state == CONN_LOCAL_INIT || c->state == CONN_HANDSHAKE) {
        vsock_conn_kill(d, c);
        return;
    }
    if (flags & VSOCK_SHUT_RCV)
        c->peer_shut_rcv = true;
    if (flags & VSOCK_SHUT_SEND)
        c->peer_shut_send = true;
    vsock_settle(d, c);
}

/* The one place the header is fetched from guest memory: every check and use below reads the
   private copy, so a guest rewriting it meanwhile changes nothing. */
static int fetch_hdr(struct vsock_dev *d, const struct virtq_elem *e, struct vsock_hdr *h)
{
    uint8_t raw[VSOCK_HDR_LEN];

    if (e->out_len < VSOCK_HDR_LEN ||
        vsock_iov_read(d->mem, e->iov, e->out_num, 0, raw, sizeof(raw)) != sizeof(raw))
        return -EINVAL;
    vsock_hdr_decode(h, raw);
    return 0;
}

static void tx_one(struct vsock_dev *d, const struct virtq_elem *e)
{
    struct vsock_conn *c;
    struct vsock_hdr h;

    d->st.tx_pkts++;
    if (fetch_hdr(d, e, &h) < 0 || h.src_cid != d->guest_cid || h.dst_cid != VSOCK_HOST_CID) {
        d->st.bad_pkts++; /* nobody to answer: an RST would go to a CID that is not ours */
        return;
    }
    c = h.src_port == HS_PEER ? NULL : conn_find(&d->conns, h.dst_port, h.src_port);
    /* Anything but more data for the gathered stream sends the gather first: order holds. If
       that ends c's own stream (the host closed it), c is freed and its RST queued: this
       packet belongs to a stream that is gone, and nothing below may touch c. */
    if (d->pend && (d->pend != c || h.op != VSOCK_OP_RW)) {
        bool mine = d->pend == c;

        if (pend_flush(d) && mine)
            return;
    }
    if (h.type != VSOCK_TYPE_STREAM || h.src_port == HS_PEER || h.len > VSOCK_MAX_PKT ||
        h.len > e->out_len - VSOCK_HDR_LEN || h.op > VSOCK_OP_CREDIT_REQUEST ||
        h.op == VSOCK_OP_INVALID) {
        d->st.bad_pkts++;
        if (c)
            vsock_conn_kill(d, c);
        else
            reply_rst(d, &h);
        return;
    }
    if (h.op == VSOCK_OP_REQUEST) {
        if (c) {
            vsock_conn_kill(d, c); /* a second REQUEST on a live pair: neither can be trusted */
            return;
        }
        guest_request(d, &h);
        return;
    }
    if (!c) {
        reply_rst(d, &h);
        return;
    }
    c->peer_buf_alloc = h.buf_alloc;
    c->peer_fwd_cnt = h.fwd_cnt;
    switch (h.op) {
    case VSOCK_OP_RESPONSE:
        guest_response(d, c);
        return;
    case VSOCK_OP_RST:
        conn_close(d, c);
        return;
    case VSOCK_OP_SHUTDOWN:
        guest_shutdown(d, c, h.flags);
        return;
    case VSOCK_OP_RW:
        guest_rw(d, c, e, h.len);
        return;
    case VSOCK_OP_CREDIT_REQUEST:
        c->need |= CONN_NEED_CREDIT;
        break;
    default: /* CREDIT_UPDATE: the counters above are the whole message */
        break;
    }
    vsock_rxq_kick(d, c);
}

void vsock_tx(struct vsock_dev *d, const struct virtq_elem *e)
{
    tx_one(d, e);
    pend_flush(d);
}

void vsock_tx_batch(struct vsock_dev *d, struct virtq_elem *const *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        tx_one(d, e[i]);
    pend_flush(d);
}

int vsock_watch(struct vsock_dev *d, int fd, unsigned tag)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

    if (tag == EP_LISTEN || tag > EP_MAX_TAG)
        return -EINVAL;
    return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void vsock_unwatch(struct vsock_dev *d, int fd)
{
    epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
}

void vsock_reset(struct vsock_dev *d)
{
    struct vsock_conn *c;

    while ((c = TAILQ_FIRST(&d->conns.all)))
        conn_close(d, c);
    d->rst_head = d->rst_len = 0;
}

size_t vsock_dev_fds(const struct vsock_dev *d, int *out, size_t max)
{
    const struct vsock_conn *c;
    size_t n = 0;

    if (n < max && d->ep >= 0)
        out[n++] = d->ep;
    if (n < max && d->listen_fd >= 0)
        out[n++] = d->listen_fd;
    TAILQ_FOREACH(c, &d->conns.all, all)
    if (n < max)
        out[n++] = c->fd;
    return n;
}

int vsock_set_uds_dir(struct vsock_dev *d, const char *dir)
{
    char *copy = strdup(dir);

    if (!copy)
        return -ENOMEM;
    free(d->uds_dir);
    d->uds_dir = copy;
    return 0;
}

void vsock_get_stats(const struct vsock_dev *d, struct vsock_stats *st)
{
    *st = d->st;
}

uint32_t vsock_conn_count(const struct vsock_dev *d)
{
    return d->conns.count;
}

void vsock_dev_free(struct vsock_dev *d)
{
    if (!d)
        return;
    vsock_reset(d);
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    if (d->ep >= 0)
        close(d->ep);
    free(d->uds_dir);
    free(d->uds_name);
    free(d);
}

int vsock_dev_new(const struct vsock_cfg *cfg, struct vsock_dev **out)
{
    struct vsock_dev *d = calloc(1, sizeof(*d));
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EP_LISTEN };
    int r = -ENOMEM;

    if (!d) {
        if (cfg->listen_fd >= 0)
            close(cfg->listen_fd);
        return -ENOMEM;
    }
    d->listen_fd = cfg->listen_fd;
    d->guest_cid = cfg->guest_cid;
    d->buf_alloc = cfg->buf_alloc ? cfg->buf_alloc : VSOCK_DEFAULT_BUF_ALLOC;
    d->max_conns = cfg->max_conns ? cfg->max_conns : VSOCK_DEFAULT_MAX_CONNS;
    d->mem = cfg->mem ? cfg->mem : &vsock_mem_direct;
    d->connect = cfg->connect;
    d->connect_arg = cfg->connect_arg;
    d->next_local_port = VSOCK_LOCAL_PORT_BASE;
    conn_table_init(&d->conns);
    TAILQ_INIT(&d->rxq);
    d->ep = epoll_create1(EPOLL_CLOEXEC);
    d->uds_dir = strdup(cfg->uds_dir ? cfg->uds_dir : ".");
    d->uds_name = strdup(cfg->uds_name ? cfg->uds_name : "");
    if (d->ep < 0) {
        r = -errno;
        goto fail;
    }
    if (!d->uds_dir || !d->uds_name)
        goto fail;
    if (d->listen_fd >= 0 && epoll_ctl(d->ep, EPOLL_CTL_ADD, d->listen_fd, &ev) < 0) {
        r = -errno;
        goto fail;
    }
    *out = d;
    return 0;
fail:
    vsock_dev_free(d);
    return r;
}
