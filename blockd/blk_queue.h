/* One request queue: its own thread and its own io_uring, which carries the kick eventfd's
 * reads, the image ios, the stop signal and (QCOW2) the wake-ups of requests another queue's
 * write held back, so the thread sleeps in a single io_uring_enter and never polls. */
#ifndef CELLVM_BLOCKD_BLK_QUEUE_H
#define CELLVM_BLOCKD_BLK_QUEUE_H

#include "blk.h"
#include "blk_stats.h"
#include "device-procs/devproc.h"
#include "device-procs/ratelimit.h"
#include "raw.h"

struct blk_queue;
struct qcow2;

/* What executes a queue's requests: the raw backend on img, or the QCOW2 engine q2 (shared by
 * every queue; each queue gives it its own data channel) with img holding the image fd. */
struct blk_backend {
    const struct raw_image *img;
    struct qcow2 *q2; /* NULL: raw */
    /* vm.counters: one entry per queue, indexed by the ring's index, written by that queue's
     * thread only; NULL: not counted. */
    struct blk_stats *stats;
    /* The disk's rate limiter (its own buckets or its --rate-limit-group's), shared by every
     * queue of the disk; NULL: not limited. A request the limiter refuses goes back to the
     * ring and the queue sleeps until the buckets hold enough again. */
    struct ratelimit *rl;
};

/*
 * Starts serving vq on a new thread; the thread looks at the ring once before waiting for a
 * kick. disk, be (and what it points to) and vq must stay valid until blk_queue_stop returns.
 * dp may be NULL (tests): a broken ring is then only logged. 0 or -errno (nothing started).
 */
int blk_queue_start(struct blk_queue **out, const struct blk_disk *disk,
                    const struct blk_backend *be, struct virtq *vq, struct devproc *dp);

/* Stops popping, waits for every request in flight to complete and be pushed, joins the thread
 * and frees q. After it returns the ring is untouched until the next start. */
void blk_queue_stop(struct blk_queue *q);

#endif
