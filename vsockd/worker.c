#include "vsockd/worker.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TAG_RX   1u
#define TAG_TX   2u
#define TAG_STOP 3u
/* Packets handled per direction before looking at the other and at the host sockets again. */
#define BATCH   256
#define IDLE_MS 250
#define POLL_MS 1 /* a ring without a kick fd is looked at this often */
/* RX: the driver is signalled (if it asked, EVENT_IDX) at least once per half ring or this many
   bytes, as vhost-vsock signals once per batch of at most 512 KiB: with one signal per BATCH, a
   ring of BATCH small buffers (Linux: 256 of 4 KiB) ran dry before the driver heard of any. */
#define RX_NOTIFY_BYTES (512u * 1024u)

static void report_broken(struct vsock_worker *w, uint16_t idx, int r)
{
    if (w->dp)
        devproc_needs_reset(w->dp, idx, r);
}

static bool do_rx(struct vsock_worker *w);

/* Drains TX, VSOCK_TX_GATHER elements at a time, signalling once per drain; true if the
   batch ran out with packets left. */
static bool do_tx(struct vsock_worker *w)
{
    struct virtq *vq = w->vq[VSOCK_QUEUE_TX];
    int n = 0, r = 0;

    if (!vq || vq->broken)
        return false;
    do {
        virtq_disable_notify(vq);
        while (n < BATCH && r >= 0) {
            unsigned k = 0;

            while (k < VSOCK_TX_GATHER && (r = virtq_pop(vq, w->txe[k])) == 1)
                k++;
            if (!k)
                break;
            vsock_tx_batch(w->dev, w->txe, k);
            for (unsigned i = 0; i < k; i++)
                virtq_push(vq, w->txe[i], 0);
            n += (int)k;
            /* Credit the gather freed goes out now, so the driver refills while we send. */
            if (vsock_rx_pending(w->dev))
                do_rx(w);
            if (r == 0)
                break;
        }
        if (r < 0)
            report_broken(w, VSOCK_QUEUE_TX, r);
        virtq_notify(vq);
        if (n >= BATCH)
            return true;
    } while (r >= 0 && virtq_enable_notify(vq));
    return false;
}

/* RX elements to pop for the next fill: as many as the last fill used and one more, doubled
   while fills use all they get, so a stream reads up to VSOCK_RX_BATCH buffers per recvmsg and
   a control packet does not pop (and give back) a whole batch. */
static unsigned next_rx_want(unsigned popped, unsigned used)
{
    unsigned want = used == popped ? 2 * popped : used + 1;

    return want > VSOCK_RX_BATCH ? VSOCK_RX_BATCH : want;
}

/* Fills RX while packets wait; true if the batch ran out with work left. */
static bool do_rx(struct vsock_worker *w)
{
    struct virtq *vq = w->vq[VSOCK_QUEUE_RX];
    uint32_t written[VSOCK_RX_BATCH];
    uint16_t heads[VSOCK_RX_BATCH];
    unsigned every;
    uint64_t bytes = 0;
    int n = 0, r = 0, told = 0;

    if (!vq || vq->broken)
        return false;
    every = vq->num / 2 ? vq->num / 2u : 1u;
    virtq_disable_notify(vq);
    while (vsock_rx_pending(w->dev)) {
        unsigned k = 0, used;

        if (n >= BATCH) {
            virtq_notify(vq);
            return true;
        }
        while (k < w->rx_want && (r = virtq_pop(vq, w->rxe[k])) == 1)
            k++;
        if (r < 0) {
            report_broken(w, VSOCK_QUEUE_RX, r);
            break;
        }
        if (!k) {
            /* Out of buffers: ask for a kick when the driver adds some. */
            if (!virtq_enable_notify(vq))
                break;
            virtq_disable_notify(vq);
            continue;
        }
        used = vsock_rx_batch(w->dev, (const struct virtq_elem *const *)w->rxe, k, written);
        for (unsigned i = k; i > used; i--)
            virtq_unpop(vq); /* newest first */
        w->rx_want = next_rx_want(k, used);
        if (!used)
            break;
        for (unsigned i = 0; i < used; i++) {
            heads[i] = w->rxe[i]->head;
            bytes += written[i];
        }
        /* One used-index update for the stretch: the driver sees its packets together. */
        if ((r = virtq_push_n(vq, heads, written, used)) < 0) {
            report_broken(w, VSOCK_QUEUE_RX, r);
            break;
        }
        n += (int)used;
        /* The driver refills what it heard of while we fill the rest. */
        if ((unsigned)(n - told) >= every || bytes >= RX_NOTIFY_BYTES) {
            virtq_notify(vq);
            told = n;
            bytes = 0;
        }
    }
    virtq_notify(vq);
    return false;
}

static void *worker_main(void *arg)
{
    struct vsock_worker *w = arg;
    bool polling = false, more = true;
    uint32_t fired;

    for (unsigned i = 0; i < 2; i++)
        if (w->vq[i] && w->vq[i]->kick_fd < 0)
            polling = true;
    for (;;) {
        if (more) {
            more = do_tx(w);
            more |= do_rx(w);
        }
        if (vsock_poll(w->dev, more ? 0 : polling ? POLL_MS : IDLE_MS, &fired) < 0)
            break;
        if (fired & (1u << TAG_STOP))
            break;
        if (fired & (1u << TAG_TX))
            virtq_kick_drain(w->vq[VSOCK_QUEUE_TX]);
        if (fired & (1u << TAG_RX))
            virtq_kick_drain(w->vq[VSOCK_QUEUE_RX]);
        more = true; /* host events may have made RX work; TX is cheap to look at */
    }
    return NULL;
}

static void unwatch_all(struct vsock_worker *w)
{
    for (unsigned i = 0; i < 2; i++)
        if (w->vq[i] && w->vq[i]->kick_fd >= 0)
            vsock_unwatch(w->dev, w->vq[i]->kick_fd);
    vsock_unwatch(w->dev, w->stop_fd);
}

int vsock_worker_start(struct vsock_worker *w)
{
    static const unsigned tags[2] = { TAG_RX, TAG_TX };
    uint64_t v;
    int r;

    if (w->running)
        return -EBUSY;
    if (!w->vq[0] && !w->vq[1])
        return 0;
    while (read(w->stop_fd, &v, sizeof(v)) > 0)
        ;
    r = vsock_watch(w->dev, w->stop_fd, TAG_STOP);
    for (unsigned i = 0; !r && i < 2; i++)
        if (w->vq[i] && w->vq[i]->kick_fd >= 0)
            r = vsock_watch(w->dev, w->vq[i]->kick_fd, tags[i]);
    if (!r && pthread_create(&w->thread, NULL, worker_main, w))
        r = -EAGAIN;
    if (r) {
        unwatch_all(w);
        return r;
    }
    w->running = true;
    return 0;
}

void vsock_worker_stop(struct vsock_worker *w)
{
    uint64_t one = 1;

    if (!w->running)
        return;
    /* An eventfd write only fails on counter overflow, which a pending stop already wins. */
    (void)!write(w->stop_fd, &one, sizeof(one));
    pthread_join(w->thread, NULL);
    w->running = false;
    unwatch_all(w);
}

int vsock_worker_init(struct vsock_worker *w, struct vsock_dev *dev, struct devproc *dp)
{
    bool ok;

    *w = (struct vsock_worker){ .dev = dev, .dp = dp, .stop_fd = -1, .rx_want = 1 };
    /* One block each, large enough for malloc to map it on its own: only the elements a fill
       has used (rx_want grows while a stream reads) take memory, an idle device a page each. */
    w->rxe_mem = malloc(VSOCK_RX_BATCH * sizeof(*w->rxe_mem));
    ok = w->rxe_mem != NULL;
    for (unsigned i = 0; ok && i < VSOCK_RX_BATCH; i++)
        w->rxe[i] = &w->rxe_mem[i];
    w->txe_mem = malloc(VSOCK_TX_GATHER * sizeof(*w->txe_mem));
    ok &= w->txe_mem != NULL;
    for (unsigned i = 0; ok && i < VSOCK_TX_GATHER; i++)
        w->txe[i] = &w->txe_mem[i];
    w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!ok || w->stop_fd < 0) {
        vsock_worker_destroy(w);
        return -ENOMEM;
    }
    return 0;
}

void vsock_worker_destroy(struct vsock_worker *w)
{
    vsock_worker_stop(w);
    for (unsigned i = 0; i < VSOCK_RX_BATCH; i++)
        w->rxe[i] = NULL;
    free(w->rxe_mem);
    w->rxe_mem = NULL;
    for (unsigned i = 0; i < VSOCK_TX_GATHER; i++)
        w->txe[i] = NULL;
    free(w->txe_mem);
    w->txe_mem = NULL;
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    w->stop_fd = -1;
}
