#include "balloond/bqueue.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device-procs/devproc.h"

/* A polling ring (no kick fd) is looked at this often. */
#define BQ_POLL_MS 10

int bqueue_init(struct bqueue *q, uint16_t index, struct balloon *b, struct devproc *dp)
{
    memset(q, 0, sizeof(*q));
    q->index = index;
    q->b = b;
    q->dp = dp;
    q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    q->elem = malloc(sizeof(*q->elem));
    if (q->stop_fd < 0 || !q->elem) {
        bqueue_destroy(q);
        return -ENOMEM;
    }
    return 0;
}

void bqueue_destroy(struct bqueue *q)
{
    bqueue_set(q, NULL);
    if (q->stop_fd >= 0)
        close(q->stop_fd);
    q->stop_fd = -1;
    free(q->elem);
    q->elem = NULL;
}

static void handle(struct bqueue *q, struct virtq *vq)
{
    uint32_t pfns[BALLOON_MAX_PFNS];
    size_t n;

    switch (q->index) {
    case BALLOON_Q_INFLATE:
        n = balloon_read_pfns(q->b, q->elem, pfns, BALLOON_MAX_PFNS);
        balloon_inflate(q->b, vq->mem, pfns, n);
        /* A discarded page reads as zeros now: a live migration must send it again. */
        for (size_t i = 0; i < n; i++)
            virtq_log_write(vq, (uint64_t)pfns[i] << BALLOON_PAGE_SHIFT, BALLOON_PAGE_SIZE);
        break;
    case BALLOON_Q_DEFLATE:
        n = balloon_read_pfns(q->b, q->elem, pfns, BALLOON_MAX_PFNS);
        balloon_deflate(q->b, vq->mem, pfns, n);
        break;
    default:
        balloon_report(q->b, vq->mem, q->elem);
        break;
    }
}

/* Drains the ring; false once it is broken (the device needs a reset). */
static bool drain(struct bqueue *q, struct virtq *vq)
{
    int r;

    do {
        virtq_disable_notify(vq);
        /* Each pass takes at most what the driver published (virtq_pop refuses more). */
        while ((r = virtq_pop(vq, q->elem)) == 1) {
            handle(q, vq);
            r = virtq_push(vq, q->elem, 0);
            if (r < 0)
                break;
        }
        virtq_notify(vq);
        if (r < 0) {
            devproc_needs_reset(q->dp, q->index, r);
            return false;
        }
    } while (virtq_enable_notify(vq));
    return true;
}

static void *queue_thread(void *arg)
{
    struct bqueue *q = arg;
    struct virtq *vq = q->vq;
    sigset_t all;
    bool ok;

    /* Signals belong to the control loop. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    ok = drain(q, vq); /* look once without waiting for a kick */
    for (;;) {
        struct pollfd fds[2] = { { .fd = q->stop_fd, .events = POLLIN },
                                 { .fd = vq->kick_fd, .events = POLLIN } };
        nfds_t n = ok && vq->kick_fd >= 0 ? 2 : 1;
        int timeout = ok && vq->kick_fd < 0 ? BQ_POLL_MS : -1;

        if (poll(fds, n, timeout) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        if (!ok)
            continue;
        if (n == 2 && fds[1].revents)
            virtq_kick_drain(vq);
        ok = drain(q, vq);
    }
    return NULL;
}

int bqueue_set(struct bqueue *q, struct virtq *vq)
{
    uint64_t v = 1;
    int r;

    if (q->vq) {
        if (write(q->stop_fd, &v, sizeof(v)) < 0)
            return -errno;
        pthread_join(q->thread, NULL);
        while (read(q->stop_fd, &v, sizeof(v)) > 0)
            ;
        q->vq = NULL;
    }
    if (!vq)
        return 0;
    q->vq = vq;
    r = pthread_create(&q->thread, NULL, queue_thread, q);
    if (r) {
        q->vq = NULL;
        return -r;
    }
    return 0;
}
