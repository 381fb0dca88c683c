#ifndef CELLVM_RNGD_RNG_H
#define CELLVM_RNGD_RNG_H

/*
 * The virtio-rng device model (virtio id 4): one request queue, no config space, no device
 * features. Each request is a chain of device-writable buffers the device fills from the
 * entropy source (an fd it was handed: it never opens a path) and gives back with the byte
 * count written. Requests are served on the control loop (rngd/main.c), so every pass is
 * bounded: RNG_MAX_REQ_BYTES per request, RNG_MAX_PASS_BYTES and RNG_MAX_PASS_REQS per pass.
 * A source that fails or ends completes the request with 0 bytes (the driver asks again) and
 * is logged at most once per RNG_LOG_INTERVAL_S; a source with nothing to read yet (EAGAIN) keeps
 * the request on the ring until the source is readable.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "device-procs/virtq.h"

#define RNG_MAX_REQ_BYTES  (64u * 1024)
#define RNG_MAX_PASS_BYTES (256u * 1024)
#define RNG_MAX_PASS_REQS  64u
#define RNG_LOG_INTERVAL_S 10

struct rng_stats {
    uint64_t requests;   /* completed */
    uint64_t bytes;      /* written into guest buffers */
    uint64_t empty;      /* completed with 0 bytes (source error or end, no writable buffer) */
    uint64_t src_errors; /* reads that failed or hit the end of the source */
    uint64_t src_waits;  /* passes that stopped because the source had nothing yet */
};

struct rng_dev {
    int src_fd;              /* the entropy source; owned by rngd/main.c, -1 until known */
    struct virtq *vq;        /* the request queue while started, else NULL */
    struct virtq_elem *elem; /* scratch for one popped request; owned (rng_init) */
    struct rng_stats st;
    int64_t log_next_s;   /* monotonic second before which source errors are only counted */
    uint64_t log_dropped; /* errors not logged since the last line */
};

/* What a pass left behind. */
enum rng_pass {
    RNG_PASS_IDLE,     /* the ring is empty and notifications are on: wait for a kick */
    RNG_PASS_MORE,     /* the pass budget ran out with requests left: come back soon */
    RNG_PASS_WAIT_SRC, /* the source would block: the next request stays until it is readable */
    RNG_PASS_BROKEN,   /* the ring is broken (vq->broken): stop touching it */
};

/* 0 or -ENOMEM. src_fd starts at -1. */
int rng_init(struct rng_dev *r);
void rng_destroy(struct rng_dev *r);

/*
 * Reads at most max bytes from fd into iov[0..n), segment by segment, stopping at the first
 * short read. Returns the bytes read; *err is 0, -EAGAIN (nothing more yet), -ENODATA (end of
 * the source) or the read's -errno.
 */
size_t rng_fill(int fd, const struct iovec *iov, unsigned n, size_t max, int *err);

/* One bounded pass over r->vq (which must be set), notifying the driver as needed. */
enum rng_pass rng_pass(struct rng_dev *r);

#endif
