#include "rngd/rng.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int rng_init(struct rng_dev *r)
{
    memset(r, 0, sizeof(*r));
    r->src_fd = -1;
    r->elem = malloc(sizeof(*r->elem));
    return r->elem ? 0 : -ENOMEM;
}

void rng_destroy(struct rng_dev *r)
{
    free(r->elem);
    r->elem = NULL;
}

size_t rng_fill(int fd, const struct iovec *iov, unsigned n, size_t max, int *err)
{
    size_t done = 0;

    *err = 0;
    for (unsigned i = 0; i < n && done < max; i++) {
        size_t want = iov[i].iov_len < max - done ? iov[i].iov_len : max - done;
        ssize_t got;

        if (!want)
            continue;
        got = read(fd, iov[i].iov_base, want);
        if (got < 0) {
            *err = errno == EWOULDBLOCK ? -EAGAIN : -errno;
            if (*err == -EINTR)
                *err = -EAGAIN; /* nothing lost: the next pass reads again */
            break;
        }
        if (got == 0) {
            *err = -ENODATA;
            break;
        }
        done += (size_t)got;
        if ((size_t)got < want)
            break; /* a device that gives less now is asked again on the next request */
    }
    return done;
}

static int64_t now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

/* A source that fails keeps failing on every request the driver retries: one line per
   RNG_LOG_INTERVAL_S with the count of the ones not shown. */
static void log_src_error(struct rng_dev *r, int err)
{
    int64_t t = now_s();

    r->st.src_errors++;
    if (t < r->log_next_s) {
        r->log_dropped++;
        return;
    }
    fprintf(stderr, "cellvm-rngd: entropy source: %s; request completed with 0 bytes",
            err == -ENODATA ? "end of file" : strerror(-err));
    if (r->log_dropped)
        fprintf(stderr, " (%llu more since the last report)", (unsigned long long)r->log_dropped);
    fprintf(stderr, "\n");
    r->log_dropped = 0;
    r->log_next_s = t + RNG_LOG_INTERVAL_S;
}

/* Serves one popped request with at most budget bytes, written to *got. 1 done, 0 the source
   would block (the request was given back), -1 the ring broke. */
static int serve_one(struct rng_dev *r, size_t budget, size_t *got_out)
{
    struct virtq_elem *e = r->elem;
    size_t want = e->in_len < RNG_MAX_REQ_BYTES ? (size_t)e->in_len : RNG_MAX_REQ_BYTES;
    size_t got = 0;
    int err = 0;

    /* Driver-readable buffers carry nothing for this device (virtio 1.2, 5.4.6): skipped. */
    if (want > budget)
        want = budget;
    if (want)
        got = rng_fill(r->src_fd, e->iov + e->out_num, e->in_num, want, &err);
    if (err == -EAGAIN && !got) {
        virtq_unpop(r->vq);
        return 0;
    }
    if (err && err != -EAGAIN)
        log_src_error(r, err);
    if (virtq_push(r->vq, e, (uint32_t)got) < 0)
        return -1;
    r->st.requests++;
    r->st.bytes += got;
    if (!got)
        r->st.empty++;
    *got_out = got;
    return 1;
}

enum rng_pass rng_pass(struct rng_dev *r)
{
    struct virtq *vq = r->vq;
    size_t budget = RNG_MAX_PASS_BYTES;
    unsigned reqs = 0;
    enum rng_pass out = RNG_PASS_IDLE;

    do {
        virtq_disable_notify(vq);
        for (;;) {
            size_t got = 0;
            int p;

            if (reqs >= RNG_MAX_PASS_REQS || !budget) {
                out = RNG_PASS_MORE;
                break;
            }
            p = virtq_pop(vq, r->elem);
            if (p < 0) {
                out = RNG_PASS_BROKEN;
                break;
            }
            if (p == 0)
                break;
            p = serve_one(r, budget, &got);
            if (p < 0) {
                out = RNG_PASS_BROKEN;
                break;
            }
            if (p == 0) {
                r->st.src_waits++;
                out = RNG_PASS_WAIT_SRC;
                break;
            }
            reqs++;
            budget -= got;
        }
        virtq_notify(vq);
        if (out != RNG_PASS_IDLE)
            return vq->broken ? RNG_PASS_BROKEN : out;
    } while (virtq_enable_notify(vq));
    return vq->broken ? RNG_PASS_BROKEN : RNG_PASS_IDLE;
}
