/* The queue thread. Requests are popped into slots (a request plus its element), validated by
 * the device model, executed by the raw backend or the QCOW2 engine on this thread's ring, and
 * pushed back in completion order. Slots are allocated on demand and never exceed the ring
 * size, because the driver cannot have more chains outstanding than it has descriptors.
 *
 * QCOW2: the engine is shared by all queues; its lock covers only mapping and metadata, so
 * queues wait on each other for that, never for each other's data I/O. A write overlapping
 * another queue's in-flight write is parked by the engine and woken by the thread that
 * finishes that write; the wake-up is handed back here (wake list + eventfd read on our ring)
 * so the request is resumed, submits its I/O and completes on its own thread only. */
#include "blk_queue.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blockd/qcow2/qcow2.h"
#include "qchan.h"
#include "uring_sys.h"

/* user_data of the ring's own reads; ios carry their (aligned) struct blk_io pointer. */
#define UD_KICK 1u
#define UD_STOP 2u
#define UD_WAKE 3u

/* Fixed files of the ring; the image is RAW_FILE_IMAGE (0). */
#define FILE_KICK 1
#define FILE_STOP 2
#define FILE_WAKE 3

#define QUIET_MIN 8       /* requests in flight from which the driver's kicks stay off (drain) */
#define POLL_NS   1000000 /* a frontend without a kick fd: look at the ring every millisecond */

struct blk_queue;

struct blk_slot {
    struct blk_req req;
    struct blk_slot *next; /* free list, or the wake list while parked by the engine */
    struct blk_queue *q;
    struct qcow2_req qreq;
    struct virtq_elem elem;
    uint64_t start_us; /* popped at, CLOCK_MONOTONIC: the request's latency runs from here */
};

struct blk_queue {
    const struct blk_disk *disk;
    const struct raw_image *img;
    struct qcow2 *q2;        /* NULL: raw */
    struct blk_stats *stats; /* this queue's entry of the backend's array, or NULL */
    struct ratelimit *rl;    /* the disk's, or NULL */
    uint64_t throttle_ns;    /* the limiter refused the ring's next request: look again then */
    struct qcow2_file *chan; /* owned by the thread: q2's data channel on our ring */
    struct virtq *vq;
    struct devproc *dp;
    struct io_uring ring; /* owned by the thread: created and torn down there */
    int stop_fd;          /* owner: this queue; eventfd written by blk_queue_stop */
    int wake_fd;          /* owner: this queue; eventfd written by other queues' threads */
    pthread_mutex_t wake_lock;
    struct blk_slot *woken; /* parked requests the engine let go; under wake_lock */
    pthread_t thread;
    sem_t started;
    int start_rc;
    uint64_t kick_val, stop_val, wake_val; /* read targets of the ring's eventfd reads */
    struct blk_slot *free;
    unsigned nslots;   /* allocated, free or in use */
    unsigned inflight; /* requests with ios in the ring */
    bool stopping, broken, starved, pushed;
    bool quiet; /* the driver's kicks are off: QUIET_MIN or more requests in flight (drain) */
};

static struct blk_slot *slot_get(struct blk_queue *q)
{
    struct blk_slot *s = q->free;

    if (s) {
        q->free = s->next;
        return s;
    }
    if (q->nslots >= q->vq->num)
        return NULL;
    s = malloc(sizeof(*s));
    if (s)
        q->nslots++;
    return s;
}

static void slot_put(struct blk_queue *q, struct blk_slot *s)
{
    s->next = q->free;
    q->free = s;
}

static void slots_free(struct blk_queue *q)
{
    while (q->free) {
        struct blk_slot *s = q->free;

        q->free = s->next;
        free(s);
    }
}

static void mark_broken(struct blk_queue *q, int err)
{
    q->broken = true;
    fprintf(stderr, "cellvm-blockd: queue %u: ring broken (%s), not served until reset\n",
            q->vq->index, strerror(-err));
    if (q->dp)
        devproc_needs_reset(q->dp, q->vq->index, err);
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Reads and writes that completed with OK count, as Cloud Hypervisor's counters; requests the
 * device model refused never reach the READ/WRITE ops. */
static void count(struct blk_queue *q, struct blk_slot *s, uint8_t status)
{
    const struct blk_req *r = &s->req;
    uint64_t t;

    if (!q->stats || status != VIRTIO_BLK_S_OK || (r->op != BLK_OP_READ && r->op != BLK_OP_WRITE))
        return;
    t = now_us();
    blk_stats_record(q->stats, r->op == BLK_OP_WRITE, r->len,
                     t > s->start_us ? t - s->start_us : 0);
}

static void finish(struct blk_queue *q, struct blk_req *r, uint8_t status)
{
    struct blk_slot *s = (struct blk_slot *)((uint8_t *)r - offsetof(struct blk_slot, req));
    uint32_t len;
    int e;

    count(q, s, status);
    len = blk_req_finish(r, status);

    if (!q->broken && (e = virtq_push(q->vq, &s->elem, len)) < 0)
        mark_broken(q, e);
    q->pushed = true;
    slot_put(q, s);
}

static uint8_t q2_status(int res)
{
    if (res == 0)
        return VIRTIO_BLK_S_OK;
    return res == -ENOTSUP || res == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
}

/* Runs on this queue's thread: inline from qcow2_submit/qcow2_resume or from a completion. */
static void q2_done(struct qcow2_req *qr, int res)
{
    struct blk_slot *s = qr->opaque;
    struct blk_queue *q = s->q;

    /* Write-through: the data is down, the mapping that finds it must be too. */
    if (res == 0 && s->req.durable)
        res = qcow2_flush(q->q2);
    q->inflight--;
    finish(q, &s->req, q2_status(res));
}

/* Any thread: the engine let a parked request of ours go. */
static void q2_wake(struct qcow2_req *qr)
{
    struct blk_slot *s = qr->opaque;
    struct blk_queue *q = s->q;
    uint64_t one = 1;

    pthread_mutex_lock(&q->wake_lock);
    s->next = q->woken;
    q->woken = s;
    pthread_mutex_unlock(&q->wake_lock);
    if (write(q->wake_fd, &one, sizeof(one)) != sizeof(one))
        fprintf(stderr, "cellvm-blockd: queue %u: wake signal lost\n", q->vq->index);
}

static void resume_woken(struct blk_queue *q)
{
    struct blk_slot *s, *fifo = NULL;

    pthread_mutex_lock(&q->wake_lock);
    s = q->woken;
    q->woken = NULL;
    pthread_mutex_unlock(&q->wake_lock);
    while (s) { /* the list is newest first: resume in arrival order */
        struct blk_slot *next = s->next;

        s->next = fifo;
        fifo = s;
        s = next;
    }
    while (fifo) {
        struct blk_slot *next = fifo->next;

        qcow2_resume(&fifo->qreq);
        fifo = next;
    }
}

static int q2_submit(struct blk_queue *q, struct blk_slot *s)
{
    static const enum qcow2_op ops[] = {
        [BLK_OP_READ] = QCOW2_OP_READ,
        [BLK_OP_WRITE] = QCOW2_OP_WRITE,
        [BLK_OP_FLUSH] = QCOW2_OP_FLUSH,
        [BLK_OP_DISCARD] = QCOW2_OP_DISCARD,
        [BLK_OP_WRITE_ZEROES] = QCOW2_OP_WRITE_ZEROES,
    };
    struct blk_req *r = &s->req;
    int e;

    s->q = q;
    /* Field by field: the engine-owned fields need no clearing, and a compound literal
     * would zero the whole request first, on every request. */
    s->qreq.op = ops[r->op];
    s->qreq.offset = r->off;
    s->qreq.len = r->len;
    s->qreq.iov = r->iov;
    s->qreq.iovcnt = r->niov;
    s->qreq.chan = q->chan;
    s->qreq.done = q2_done;
    s->qreq.wake = q2_wake;
    s->qreq.opaque = s;
    /* Counted first: done() may run before qcow2_submit returns. */
    q->inflight++;
    e = qcow2_submit(q->q2, &s->qreq);
    if (e < 0)
        q->inflight--;
    return e;
}

/*
 * As Cloud Hypervisor: every request the device model accepted costs one op, reads and writes
 * their data bytes too; refused ones (answered in blk_req_prepare) cost nothing. Preparing has
 * no side effect for such requests, so a refused one simply goes back to the ring.
 */
static bool admit(struct blk_queue *q, struct blk_slot *s)
{
    const struct blk_req *r = &s->req;
    uint64_t bytes = r->op == BLK_OP_READ || r->op == BLK_OP_WRITE ? r->len : 0;

    if (!q->rl || rl_take(q->rl, bytes, rl_now(), &q->throttle_ns))
        return true;
    virtq_unpop(q->vq);
    slot_put(q, s);
    return false;
}

/* Returns false when the limiter held the request back (it is back in the ring). */
static bool handle(struct blk_queue *q, struct blk_slot *s)
{
    struct blk_req *r = &s->req;

    s->start_us = q->stats ? now_us() : 0;
    blk_req_prepare(q->disk, &s->elem, r);
    if (r->op == BLK_OP_DONE) {
        finish(q, r, r->result);
        return true;
    }
    if (!admit(q, s))
        return false;
    if (q->q2) {
        if (q2_submit(q, s) < 0)
            finish(q, r, VIRTIO_BLK_S_IOERR);
        return true;
    }
    /* A memory-file-system image: the read is a copy out of its page cache, done now. */
    if (r->op == BLK_OP_READ) {
        int e = imgmap_read(&q->img->map, r->off, r->len, r->iov, r->niov);

        if (e != -ERANGE) {
            finish(q, r, e ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
            return true;
        }
    }
    if (raw_submit(&q->ring, q->img, r) < 0) {
        finish(q, r, VIRTIO_BLK_S_IOERR);
        return true;
    }
    q->inflight++;
    return true;
}

/* Pops and starts everything available, then re-arms notifications (virtq.h's loop). */
static void drain(struct blk_queue *q)
{
    struct blk_slot *s;
    int r;

    q->starved = false;
    q->throttle_ns = 0;
    if (q->broken || q->stopping)
        return;
    do {
        virtq_disable_notify(q->vq);
        for (;;) {
            s = slot_get(q);
            if (!s) {
                /* Out of memory (or slots): go on once a request completes. */
                q->starved = true;
                return;
            }
            r = virtq_pop(q->vq, &s->elem);
            if (r <= 0) {
                slot_put(q, s);
                if (r < 0) {
                    mark_broken(q, r);
                    return;
                }
                break;
            }
            /* Throttled: notifications stay off, the wait's timeout brings us back. */
            if (!handle(q, s))
                return;
        }
        /* With QUIET_MIN requests or more in flight, their completions bring this thread back
         * to the ring soon, so the driver need not kick for what it adds meanwhile (a kick is
         * an exit or a system call on its side and a read completion on ours). With fewer,
         * one slow request (a flush) would hold a new one back until it ends: kicks go on. */
        q->quiet = q->inflight >= QUIET_MIN;
        if (q->quiet)
            return;
    } while (virtq_enable_notify(q->vq));
}

static int arm_read(struct blk_queue *q, int file, uint64_t *val, uint64_t ud)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

    if (!sqe && io_uring_submit(&q->ring) >= 0)
        sqe = io_uring_get_sqe(&q->ring);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_read(sqe, file, val, sizeof(*val), 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud);
    return 0;
}

/* Handles one completion; returns true when it was a kick. */
static bool on_cqe(struct blk_queue *q, const struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    struct blk_req *r;

    if (ud == UD_KICK) {
        q->vq->stats.kicks++;
        if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -EAGAIN)
            fprintf(stderr, "cellvm-blockd: queue %u: kick read: %s\n", q->vq->index,
                    strerror(-cqe->res));
        if (arm_read(q, FILE_KICK, &q->kick_val, UD_KICK) < 0)
            fprintf(stderr, "cellvm-blockd: queue %u: cannot re-arm the kick\n", q->vq->index);
        return true;
    }
    if (ud == UD_STOP) {
        q->stopping = true;
        return false;
    }
    if (ud == 0) /* a no-op left by a failed submit */
        return false;
    if (ud == UD_WAKE) {
        if (arm_read(q, FILE_WAKE, &q->wake_val, UD_WAKE) < 0)
            fprintf(stderr, "cellvm-blockd: queue %u: cannot re-arm wake-ups\n", q->vq->index);
        resume_woken(q);
        return q->starved;
    }
    if (q->q2) {
        unsigned before = q->inflight;

        qchan_complete(ud, cqe->res);
        return q->starved && q->inflight < before;
    }
    r = raw_complete(&q->ring, q->img, (struct blk_io *)(uintptr_t)ud, cqe->res);
    if (r) {
        q->inflight--;
        finish(q, r, r->result);
        if (q->starved)
            return true;
    }
    return false;
}

static int ring_setup(struct blk_queue *q)
{
    int files[4] = { q->img->fd, q->vq->kick_fd, q->stop_fd, q->wake_fd };
    unsigned entries = 2u * q->vq->num + 8;
    int r;

    /* Without a kick fd the slot is a placeholder the ring never reads. */
    if (files[FILE_KICK] < 0)
        files[FILE_KICK] = q->stop_fd;
    if (entries > 4096)
        entries = 4096;
    r = blk_uring_create(&q->ring, entries, files, 4, q->q2 ? qchan_uring_ops : raw_uring_ops,
                         q->q2 ? qchan_uring_nops : raw_uring_nops);
    if (r < 0)
        return r;
    if (q->q2)
        r = qchan_new(q->img->fd, &q->img->map, &q->ring, RAW_FILE_IMAGE, &q->chan);
    if (r == 0)
        r = arm_read(q, FILE_STOP, &q->stop_val, UD_STOP);
    if (r == 0 && q->q2)
        r = arm_read(q, FILE_WAKE, &q->wake_val, UD_WAKE);
    if (r == 0 && q->vq->kick_fd >= 0)
        r = arm_read(q, FILE_KICK, &q->kick_val, UD_KICK);
    if (r < 0) {
        qcow2_file_destroy(q->chan);
        q->chan = NULL;
        io_uring_queue_exit(&q->ring);
    }
    return r;
}

static void *queue_thread(void *arg)
{
    struct blk_queue *q = arg;
    struct __kernel_timespec poll = { .tv_sec = 0, .tv_nsec = POLL_NS };
    struct io_uring_cqe *cqe;
    unsigned head, n;
    bool kicked;
    int r;

    q->start_rc = ring_setup(q);
    sem_post(&q->started);
    if (q->start_rc < 0)
        return NULL;
    drain(q); /* a reconnecting frontend may never kick again */
    for (;;) {
        if (q->chan) /* writes held back for joining go in with this submission */
            qchan_issue(q->chan);
        if (q->pushed && !q->broken && virtq_notify(q->vq) < 0)
            fprintf(stderr, "cellvm-blockd: queue %u: call failed\n", q->vq->index);
        q->pushed = false;
        if (q->stopping && q->inflight == 0)
            break;
        if (q->throttle_ns && !q->stopping) {
            struct __kernel_timespec t = { .tv_sec = (long long)(q->throttle_ns / 1000000000u),
                                           .tv_nsec = (long long)(q->throttle_ns % 1000000000u) };

            r = io_uring_submit_and_wait_timeout(&q->ring, &cqe, 1, &t, NULL);
        } else if (q->vq->kick_fd < 0 && !q->stopping) {
            r = io_uring_submit_and_wait_timeout(&q->ring, &cqe, 1, &poll, NULL);
        } else {
            r = io_uring_submit_and_wait(&q->ring, 1);
        }
        if (r < 0 && r != -EINTR && r != -ETIME && r != -EBUSY) {
            fprintf(stderr, "cellvm-blockd: queue %u: io_uring: %s\n", q->vq->index, strerror(-r));
            break;
        }
        kicked = q->vq->kick_fd < 0 || q->throttle_ns;
        n = 0;
        io_uring_for_each_cqe(&q->ring, head, cqe)
        {
            kicked |= on_cqe(q, cqe);
            n++;
        }
        io_uring_cq_advance(&q->ring, n);
        if (kicked || (q->quiet && n))
            drain(q);
    }
    qcow2_file_destroy(q->chan);
    io_uring_queue_exit(&q->ring);
    return NULL;
}

int blk_queue_start(struct blk_queue **out, const struct blk_disk *disk,
                    const struct blk_backend *be, struct virtq *vq, struct devproc *dp)
{
    struct blk_queue *q = calloc(1, sizeof(*q));
    int r;

    if (!q)
        return -ENOMEM;
    q->disk = disk;
    q->img = be->img;
    q->q2 = be->q2;
    q->stats = be->stats ? &be->stats[vq->index] : NULL;
    q->rl = be->rl;
    q->vq = vq;
    q->dp = dp;
    q->wake_fd = -1;
    pthread_mutex_init(&q->wake_lock, NULL);
    q->stop_fd = eventfd(0, EFD_CLOEXEC);
    q->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (q->stop_fd < 0 || q->wake_fd < 0) {
        r = -errno;
        goto fail;
    }
    if (sem_init(&q->started, 0, 0) < 0) {
        r = -errno;
        goto fail;
    }
    r = -pthread_create(&q->thread, NULL, queue_thread, q);
    if (r < 0) {
        sem_destroy(&q->started);
        goto fail;
    }
    while (sem_wait(&q->started) < 0 && errno == EINTR)
        ;
    sem_destroy(&q->started);
    r = q->start_rc;
    if (r < 0) {
        pthread_join(q->thread, NULL);
        goto fail;
    }
    *out = q;
    return 0;
fail:
    if (q->stop_fd >= 0)
        close(q->stop_fd);
    if (q->wake_fd >= 0)
        close(q->wake_fd);
    pthread_mutex_destroy(&q->wake_lock);
    free(q);
    return r;
}

void blk_queue_stop(struct blk_queue *q)
{
    uint64_t one = 1;

    if (!q)
        return;
    if (write(q->stop_fd, &one, sizeof(one)) != sizeof(one))
        fprintf(stderr, "cellvm-blockd: queue %u: stop signal: %s\n", q->vq->index,
                strerror(errno));
    pthread_join(q->thread, NULL);
    close(q->stop_fd);
    close(q->wake_fd);
    pthread_mutex_destroy(&q->wake_lock);
    slots_free(q);
    free(q);
}
