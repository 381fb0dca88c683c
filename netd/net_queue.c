#include "netd/net_queue.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device-procs/devproc.h"
#include "sandbox/uring.h"

/* Frames handled per direction before the other one gets a turn. */
#define NET_BUDGET 256
/* Room for the largest frame the TAP can hand us (a 64 KiB GSO frame) and its header. */
#define NET_FRAME_CAP (NET_HDR_LEN + 65536 + 256)
/* Enters of the transmit ring (each interrupted by a signal) before it is given up. */
#define NET_TX_TRIES 16
/* A polling ring (no kick fd) is looked at this often. */
#define NET_POLL_MS 1

static const char *const ctr_names[NET_C_COUNT] = {
    [NET_C_RX_STALLS] = "receive ring empty: waiting for buffers",
    [NET_C_RX_NO_BUFFERS] = "receive ring ran out of buffers mid-frame: dropped",
    [NET_C_RX_TOO_BIG] = "received frame larger than the driver's buffers: dropped",
    [NET_C_RX_SHORT] = "receive buffer shorter than the virtio-net header",
    [NET_C_TX_SHORT] = "transmit chain shorter than the headers",
    [NET_C_TX_TOO_BIG] = "transmit frame larger than negotiated: dropped",
    [NET_C_TX_BAD_HDR] = "transmit header asks for an offload not negotiated: dropped",
    [NET_C_TX_BAD_SEGS] = "transmit chain with too many segments: dropped",
    [NET_C_TAP_ERRORS] = "TAP I/O failed",
    [NET_C_LINK_DOWN] = "frames dropped while the link is down",
    [NET_C_TAP_GONE] = "the TAP went away",
};

static void count(struct net_pair *p, enum net_ctr c, uint64_t n)
{
    __atomic_fetch_add(&p->ctr[c], n, __ATOMIC_RELAXED);
}

/* Counts a bad-input event and logs the first of each kind. */
static void bad(struct net_pair *p, enum net_ctr c, int err)
{
    count(p, c, 1);
    if (p->logged & (1u << c))
        return;
    p->logged |= 1u << c;
    fprintf(stderr, "cellvm-netd: pair %u: %s%s%s (counted, reported once)\n", p->index,
            ctr_names[c], err ? ": " : "", err ? strerror(err) : "");
}

uint64_t net_pair_counter(const struct net_pair *p, enum net_ctr c)
{
    return __atomic_load_n(&p->ctr[c], __ATOMIC_RELAXED);
}

/* The transmit ring: only WRITEV (sandbox/uring.h). A host that refuses io_uring
 * (kernel.io_uring_disabled, an older kernel) leaves the pair on one writev per frame. */
static void tx_ring_init(struct net_pair *p)
{
    int r = -EBADF;

    if (p->tap_fd >= 0)
        r = sbx_uring_init(NET_TX_BATCH, &p->ring, 0, &sbx_uring_netd);
    p->ring_on = r == 0;
    if (!p->ring_on && p->tap_fd >= 0)
        fprintf(stderr,
                "cellvm-netd: pair %u: no io_uring (%s): frames go to the TAP one writev "
                "at a time\n",
                p->index, strerror(-r));
}

/* Leaves the ring for good (it failed under us): the frames go one writev at a time. */
static void tx_ring_drop(struct net_pair *p)
{
    if (!p->ring_on)
        return;
    io_uring_queue_exit(&p->ring);
    p->ring_on = false;
}

int net_pair_init(struct net_pair *p, unsigned index, int tap_fd, const struct net_shared *sh)
{
    memset(p, 0, sizeof(*p));
    p->index = index;
    p->sh = sh;
    p->tap_fd = tap_fd;
    p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->frame_cap = NET_FRAME_CAP;
    p->frame = malloc(p->frame_cap);
    p->elem[0] = malloc(sizeof(struct virtq_elem));
    p->elem[1] = malloc(sizeof(struct virtq_elem));
    p->heads = calloc(VIRTQ_MAX_SIZE, sizeof(*p->heads));
    p->lens = calloc(VIRTQ_MAX_SIZE, sizeof(*p->lens));
    p->txiov = calloc((size_t)NET_TX_BATCH * IOV_MAX, sizeof(*p->txiov));
    p->txe = calloc(NET_TX_BATCH, sizeof(*p->txe));
    p->txhdr = calloc(NET_TX_BATCH, sizeof(*p->txhdr));
    rl_init(&p->rl[0], &sh->rl);
    rl_init(&p->rl[1], &sh->rl);
    if (p->stop_fd < 0 || !p->frame || !p->elem[0] || !p->elem[1] || !p->heads || !p->lens ||
        !p->txiov || !p->txe || !p->txhdr) {
        net_pair_destroy(p);
        return -ENOMEM;
    }
    tx_ring_init(p);
    return 0;
}

int net_pair_ring_fd(const struct net_pair *p)
{
    return p->ring_on ? p->ring.ring_fd : -1;
}

static void stop_thread(struct net_pair *p)
{
    uint64_t v = 1;

    if (!p->running)
        return;
    if (write(p->stop_fd, &v, sizeof(v)) < 0)
        fprintf(stderr, "cellvm-netd: pair %u: stop signal: %s\n", p->index, strerror(errno));
    pthread_join(p->thread, NULL);
    p->running = false;
    while (read(p->stop_fd, &v, sizeof(v)) > 0)
        ;
}

void net_pair_destroy(struct net_pair *p)
{
    stop_thread(p);
    rl_destroy(&p->rl[0]);
    rl_destroy(&p->rl[1]);
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    p->stop_fd = -1;
    free(p->frame);
    free(p->elem[0]);
    free(p->elem[1]);
    free(p->heads);
    free(p->lens);
    free(p->txiov);
    free(p->txe);
    free(p->txhdr);
    tx_ring_drop(p);
    p->txe = NULL;
    p->txhdr = NULL;
    p->frame = NULL;
    p->elem[0] = p->elem[1] = NULL;
    p->heads = NULL;
    p->lens = NULL;
    p->txiov = NULL;
}

static bool link_up(const struct net_pair *p)
{
    return __atomic_load_n(&p->sh->link_up, __ATOMIC_RELAXED);
}

static void broken(struct net_pair *p, struct virtq *vq, int err)
{
    if (p->sh->dp)
        devproc_needs_reset(p->sh->dp, vq->index, err);
}

static void tap_failed(struct net_pair *p, int err)
{
    /* EBADFD: the interface was deleted under us; nothing will come back on this fd. */
    if (err == EBADFD || err == ENODEV || err == ENXIO) {
        if (!p->tap_dead)
            bad(p, NET_C_TAP_GONE, err);
        p->tap_dead = true;
        return;
    }
    bad(p, NET_C_TAP_ERRORS, err);
}

/* Checks a transmit chain and lays out its writev in iov (the header, checked, in hdr first).
 * Returns the iovec count, or 0 when the frame is dropped (counted). */
static unsigned tx_build(struct net_pair *p, const struct virtq_elem *e, uint8_t *hdr,
                         struct iovec *iov)
{
    const struct net_cfg *c = &p->sh->cfg;
    static const enum net_ctr bad_ctr[] = {
        [NET_BAD_SHORT] = NET_C_TX_SHORT,
        [NET_BAD_TOO_BIG] = NET_C_TX_TOO_BIG,
        [NET_BAD_HDR] = NET_C_TX_BAD_HDR,
        [NET_BAD_SEGS] = NET_C_TX_BAD_SEGS,
    };
    enum net_bad why;
    unsigned n;

    if (!link_up(p)) {
        count(p, NET_C_LINK_DOWN, 1);
        return 0;
    }
    if (p->tap_dead) {
        count(p, NET_C_TAP_ERRORS, 1);
        return 0;
    }
    n = net_tx_prepare(c, e, hdr, iov + 1, IOV_MAX - 1, &why);
    if (!n) {
        bad(p, bad_ctr[why], 0);
        return 0;
    }
    iov[0].iov_base = hdr;
    iov[0].iov_len = c->hdr_len;
    return n + 1;
}

/* Counts a write of a frame to the TAP (w: bytes or -errno); returns the bytes it took. */
static uint64_t tx_done(struct net_pair *p, ssize_t w)
{
    size_t hl = p->sh->cfg.hdr_len;

    if (w < 0) {
        tap_failed(p, (int)-w);
        return 0;
    }
    count(p, NET_C_TX_FRAMES, 1);
    count(p, NET_C_TX_BYTES, (uint64_t)w > hl ? (uint64_t)w - hl : 0);
    return (uint64_t)w;
}

/* One frame, one writev. Returns the bytes the TAP took (0: dropped), which the transmit
 * limiter is charged. */
static uint64_t tx_one(struct net_pair *p, const struct virtq_elem *e)
{
    unsigned n = tx_build(p, e, p->txhdr[0], p->txiov);
    ssize_t w;

    if (!n)
        return 0;
    w = writev(p->tap_fd, p->txiov, (int)n);
    return tx_done(p, w < 0 ? -errno : w);
}

/*
 * Writes the batch's frames (slot i: cnt[i] iovecs, 0 for a dropped frame) in one
 * io_uring_enter and gives every chain back. A TAP write completes inline, so the enter returns
 * with every result. If the ring itself fails, it is left for good, and the frames it gave no
 * result for are written one by one, so none is lost (one the kernel still held, had it handed
 * the write to a worker, could go twice: a duplicate frame, which networks tolerate).
 */
static void tx_flush(struct net_pair *p, struct virtq *vq, const unsigned *cnt, unsigned nb)
{
    int res[NET_TX_BATCH];
    bool got[NET_TX_BATCH] = { false };
    unsigned want = 0, have = 0, head, seen;
    struct io_uring_cqe *cqe;
    int r;

    for (unsigned i = 0; i < nb && p->ring_on; i++) {
        struct io_uring_sqe *sqe;

        if (!cnt[i])
            continue;
        sqe = io_uring_get_sqe(&p->ring); /* the ring has NET_TX_BATCH entries */
        if (!sqe)
            break; /* not seen; the frames left go by writev below */
        io_uring_prep_writev(sqe, p->tap_fd, &p->txiov[(size_t)i * IOV_MAX], cnt[i], 0);
        io_uring_sqe_set_data64(sqe, i);
        want++;
    }
    for (unsigned tries = 0; have < want; tries++) {
        r = io_uring_submit_and_wait(&p->ring, want - have);
        seen = 0;
        io_uring_for_each_cqe(&p->ring, head, cqe)
        {
            uint64_t i = io_uring_cqe_get_data64(cqe);

            if (i < nb && !got[i]) {
                got[i] = true;
                res[i] = cqe->res;
                have++;
            }
            seen++;
        }
        io_uring_cq_advance(&p->ring, seen);
        if (have < want && ((r < 0 && r != -EINTR) || tries == NET_TX_TRIES)) {
            fprintf(stderr,
                    "cellvm-netd: pair %u: transmit ring failed (%s): one writev per "
                    "frame from now on\n",
                    p->index, r < 0 ? strerror(-r) : "results missing");
            tx_ring_drop(p);
            break;
        }
    }
    for (unsigned i = 0; i < nb; i++) {
        const struct iovec *iov = &p->txiov[(size_t)i * IOV_MAX];

        if (cnt[i] && got[i]) {
            tx_done(p, res[i]);
        } else if (cnt[i]) {
            ssize_t w = writev(p->tap_fd, iov, (int)cnt[i]);

            tx_done(p, w < 0 ? -errno : w);
        }
        virtq_push(vq, &p->txe[i], 0);
    }
}

/* Without a limiter: up to NET_TX_BATCH frames (at most left) in one flush. Returns the chains
 * taken; *r is the last pop's result (1: the ring may hold more). */
static unsigned tx_batch(struct net_pair *p, struct virtq *vq, unsigned left, int *r)
{
    unsigned cnt[NET_TX_BATCH];
    unsigned nb;

    for (nb = 0; nb < NET_TX_BATCH && nb < left; nb++) {
        if ((*r = virtq_pop(vq, &p->txe[nb])) != 1)
            break;
        cnt[nb] = tx_build(p, &p->txe[nb], p->txhdr[nb], &p->txiov[(size_t)nb * IOV_MAX]);
    }
    tx_flush(p, vq, cnt, nb);
    return nb;
}

/* With a limiter (or no ring): one frame, charged once it went, as Cloud Hypervisor: a frame
 * goes while no bucket is in debt. Returns 1 if it took a chain; *throttled when it waits. */
static unsigned tx_limited(struct net_pair *p, struct virtq *vq, int *r, bool *throttled)
{
    uint64_t sent;

    if (rl_on(&p->rl[1]) && !rl_ready(&p->rl[1], rl_now(), &p->throttle_ns[1])) {
        *throttled = true;
        return 0;
    }
    if ((*r = virtq_pop(vq, p->elem[1])) != 1)
        return 0;
    sent = tx_one(p, p->elem[1]);
    virtq_push(vq, p->elem[1], 0);
    if (rl_on(&p->rl[1]) && sent)
        rl_charge(&p->rl[1], sent, rl_now());
    return 1;
}

bool net_pair_run_tx(struct net_pair *p)
{
    struct virtq *vq = p->tx;
    bool batched, throttled = false;
    unsigned n = 0;
    int r = 0;

    if (!vq || vq->broken)
        return false;
    p->throttle_ns[1] = 0;
    /* With a limiter, each frame is charged before the next may go: one at a time. */
    batched = p->ring_on && !rl_on(&p->rl[1]);
    do {
        virtq_disable_notify(vq);
        while (n < NET_BUDGET) {
            n += batched ? tx_batch(p, vq, NET_BUDGET - n, &r) : tx_limited(p, vq, &r, &throttled);
            if (throttled) {
                virtq_notify(vq);
                return false;
            }
            if (r != 1)
                break;
        }
        virtq_notify(vq);
        if (r < 0) {
            broken(p, vq, r);
            return false;
        }
        if (n >= NET_BUDGET)
            return true;
    } while (virtq_enable_notify(vq));
    return false;
}

enum deliver { DELIVERED, NO_BUFFERS, DROPPED, RING_BROKEN };

static void unpop(struct virtq *vq, unsigned n)
{
    while (n--)
        virtq_unpop(vq);
}

/* Places the pending frame in receive buffers; bounded by twice the ring size in pops. */
static enum deliver deliver(struct net_pair *p, struct virtq *vq)
{
    const struct net_cfg *c = &p->sh->cfg;
    struct net_rx rx;
    unsigned held = 0;
    int r;

    net_rx_begin(&rx, p->frame, p->pending, p->heads, p->lens, vq->num);
    for (unsigned tries = 0; tries < 2u * vq->num; tries++) {
        struct virtq_elem *e = p->elem[rx.nbufs ? 1 : 0];

        r = virtq_pop(vq, e);
        if (r < 0) {
            broken(p, vq, r);
            return RING_BROKEN;
        }
        if (r == 0) {
            unpop(vq, held);
            return NO_BUFFERS;
        }
        held++;
        switch (net_rx_add(&rx, c, e)) {
        case NET_RX_SHORT:
            bad(p, NET_C_RX_SHORT, 0);
            virtq_push(vq, e, 0);
            held--;
            break;
        case NET_RX_MORE:
            break;
        case NET_RX_DROP:
            unpop(vq, held);
            bad(p, NET_C_RX_TOO_BIG, 0);
            return DROPPED;
        case NET_RX_DONE:
            net_rx_finish(&rx, c, p->elem[0]);
            virtq_push_n(vq, rx.heads, rx.lens, rx.nbufs);
            count(p, NET_C_RX_FRAMES, 1);
            count(p, NET_C_RX_BYTES, p->pending - c->hdr_len);
            return DELIVERED;
        }
    }
    unpop(vq, held);
    bad(p, NET_C_RX_TOO_BIG, 0);
    return DROPPED;
}

/* Reads one frame into p->frame. 1 read, 0 nothing there, -1 the TAP failed. */
static int read_frame(struct net_pair *p)
{
    ssize_t n = read(p->tap_fd, p->frame, p->frame_cap);

    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        tap_failed(p, errno);
        return -1;
    }
    if (n == 0) {
        /* A TAP never reads 0 bytes; a stand-in socket whose peer went away does. */
        tap_failed(p, EBADFD);
        return -1;
    }
    if ((size_t)n <= p->sh->cfg.hdr_len) {
        bad(p, NET_C_TAP_ERRORS, EPROTO);
        return 1; /* nothing to deliver, but the TAP moved on */
    }
    p->pending = (size_t)n;
    return 1;
}

/*
 * The ring has a buffer, or we have asked to be kicked when it gets one (false): then the TAP is
 * not read until the kick, so frames wait in its queue (the kernel drops and counts beyond
 * txqueuelen) and the thread sleeps instead of spinning.
 */
static bool rx_ready(struct net_pair *p, struct virtq *vq)
{
    if (!virtq_empty(vq))
        return true;
    if (virtq_enable_notify(vq)) {
        virtq_disable_notify(vq);
        return true;
    }
    count(p, NET_C_RX_STALLS, 1);
    p->rx_wait_kick = true;
    return false;
}

bool net_pair_run_rx(struct net_pair *p)
{
    struct virtq *vq = p->rx;
    unsigned n;
    bool more = false;

    p->throttle_ns[0] = 0;
    if (!vq || vq->broken || p->tap_dead)
        return false;
    virtq_disable_notify(vq);
    for (n = 0; n < NET_BUDGET; n++) {
        /* Throttled: frames wait in the TAP's queue, as they do for an empty ring. */
        if (!p->pending && rl_on(&p->rl[0]) && !rl_ready(&p->rl[0], rl_now(), &p->throttle_ns[0]))
            break;
        if (!p->pending) {
            /* Link down: the TAP is drained and its frames dropped, the ring left alone. */
            if (link_up(p) && !rx_ready(p, vq))
                break;
            if (read_frame(p) <= 0)
                break;
            if (!p->pending)
                continue;
            if (!link_up(p)) {
                count(p, NET_C_LINK_DOWN, 1);
                p->pending = 0;
                continue;
            }
        }
        switch (deliver(p, vq)) {
        case DELIVERED:
            if (rl_on(&p->rl[0]))
                rl_charge(&p->rl[0], p->pending, rl_now());
            p->pending = 0;
            break;
        case DROPPED:
            p->pending = 0;
            break;
        case NO_BUFFERS:
            /* The ring ran out halfway through the frame: drop it rather than wait holding
               buffers (an empty ring stops reading instead, see rx_ready). */
            bad(p, NET_C_RX_NO_BUFFERS, 0);
            p->pending = 0;
            break;
        case RING_BROKEN:
            p->pending = 0;
            n = NET_BUDGET;
            break;
        }
    }
    more = n == NET_BUDGET && !p->rx_wait_kick && !vq->broken && !p->throttle_ns[0];
    virtq_notify(vq);
    return more;
}

static void *pair_thread(void *arg)
{
    struct net_pair *p = arg;
    sigset_t all;
    bool more = true; /* look at both rings once without waiting for a kick */

    /* Signals belong to the control loop. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    p->rx_wait_kick = false;
    for (;;) {
        struct pollfd fds[4];
        int nfds = 1, kt = -1, kr = -1, tp = -1, timeout = -1;

        fds[0] = (struct pollfd){ .fd = p->stop_fd, .events = POLLIN };
        if (p->tx && !p->tx->broken) {
            if (p->tx->kick_fd < 0)
                timeout = NET_POLL_MS;
            kt = nfds;
            fds[nfds++] = (struct pollfd){ .fd = p->tx->kick_fd, .events = POLLIN };
        }
        if (p->rx && !p->rx->broken) {
            if (p->rx->kick_fd < 0)
                timeout = NET_POLL_MS;
            kr = nfds;
            fds[nfds++] = (struct pollfd){ .fd = p->rx->kick_fd, .events = POLLIN };
            if (!p->tap_dead && !p->rx_wait_kick && !p->throttle_ns[0]) {
                tp = nfds;
                fds[nfds++] = (struct pollfd){ .fd = p->tap_fd, .events = POLLIN };
            }
        }
        for (unsigned d = 0; d < 2; d++) {
            /* A throttled direction is looked at again when its tokens are back. */
            int ms = p->throttle_ns[d] ? (int)((p->throttle_ns[d] + 999999u) / 1000000u) : -1;

            if (ms >= 0 && (timeout < 0 || ms < timeout))
                timeout = ms;
        }
        if (more)
            timeout = 0;
        if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        if (kt >= 0 && fds[kt].revents)
            virtq_kick_drain(p->tx);
        if (kr >= 0 && fds[kr].revents) {
            virtq_kick_drain(p->rx);
            p->rx_wait_kick = false;
        }
        if (tp >= 0 && (fds[tp].revents & (POLLERR | POLLHUP | POLLNVAL)) &&
            !(fds[tp].revents & POLLIN))
            tap_failed(p, EBADFD);
        if (timeout == NET_POLL_MS)
            p->rx_wait_kick = false;
        more = net_pair_run_tx(p);
        if (!p->rx_wait_kick)
            more |= net_pair_run_rx(p);
    }
    return NULL;
}

int net_pair_set(struct net_pair *p, bool tx, struct virtq *vq)
{
    int r;

    stop_thread(p);
    if (tx)
        p->tx = vq;
    else
        p->rx = vq;
    if (!p->tx && !p->rx)
        return 0;
    r = pthread_create(&p->thread, NULL, pair_thread, p);
    if (r) {
        if (tx)
            p->tx = NULL;
        else
            p->rx = NULL;
        return -r;
    }
    p->running = true;
    return 0;
}
