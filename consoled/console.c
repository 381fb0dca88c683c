#include "consoled/console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int con_init(struct con_dev *c)
{
    memset(c, 0, sizeof(*c));
    c->out_fd = c->in_fd = -1;
    c->elem = malloc(sizeof(*c->elem));
    c->buf = malloc(CON_OUT_BUF);
    if (!c->elem || !c->buf) {
        con_destroy(c);
        return -ENOMEM;
    }
    return 0;
}

void con_destroy(struct con_dev *c)
{
    free(c->elem);
    free(c->buf);
    c->elem = NULL;
    c->buf = NULL;
}

static int64_t now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec;
}

/* One line per CON_LOG_INTERVAL_S at most: a host side that keeps failing keeps being asked. */
static void log_limited(struct con_dev *c, const char *what, int err)
{
    int64_t t = now_s();

    if (t < c->log_next_s)
        return;
    fprintf(stderr, "cellvm-consoled: %s: %s (dropped %llu bytes so far)\n", what, strerror(err),
            (unsigned long long)c->st.dropped);
    c->log_next_s = t + CON_LOG_INTERVAL_S;
}

size_t con_buffer(struct con_dev *c, const uint8_t *p, size_t len)
{
    size_t room = CON_OUT_BUF - c->len, take = len < room ? len : room, done = 0;

    if (c->out_fd < 0) { /* nowhere to go: taken and forgotten, as a sink does */
        c->st.tx_bytes += len;
        return len;
    }
    while (done < take) {
        size_t tail = (c->head + c->len) % CON_OUT_BUF;
        size_t chunk = CON_OUT_BUF - tail;

        if (chunk > take - done)
            chunk = take - done;
        memcpy(c->buf + tail, p + done, chunk);
        c->len += chunk;
        done += chunk;
    }
    c->st.tx_bytes += take;
    c->st.dropped += len - take;
    return take;
}

enum con_pass con_tx_pass(struct con_dev *c)
{
    struct virtq *vq = c->txq;
    struct virtq_elem *e = c->elem;
    unsigned reqs = 0;
    enum con_pass out = CON_PASS_IDLE;

    do {
        virtq_disable_notify(vq);
        for (;;) {
            int p;

            if (reqs >= CON_MAX_PASS_REQS) {
                out = CON_PASS_MORE;
                break;
            }
            p = virtq_pop(vq, e);
            if (p < 0) {
                out = CON_PASS_BROKEN;
                break;
            }
            if (p == 0)
                break;
            /* Device-writable parts of a transmit chain carry nothing (virtio 1.2, 5.3.6):
               skipped; the readable ones are bounded by the virtq code. */
            for (unsigned i = 0; i < e->out_num; i++)
                con_buffer(c, e->iov[i].iov_base, e->iov[i].iov_len);
            if (virtq_push(vq, e, 0) < 0) {
                out = CON_PASS_BROKEN;
                break;
            }
            c->st.tx_chains++;
            reqs++;
        }
        virtq_notify(vq);
        if (out != CON_PASS_IDLE)
            return vq->broken ? CON_PASS_BROKEN : out;
    } while (virtq_enable_notify(vq));
    return vq->broken ? CON_PASS_BROKEN : CON_PASS_IDLE;
}

int con_flush(struct con_dev *c)
{
    /* Bounded: each turn writes something or stops; the buffer is at most CON_OUT_BUF. */
    while (c->len) {
        size_t chunk = CON_OUT_BUF - c->head;
        ssize_t n;

        if (chunk > c->len)
            chunk = c->len;
        n = write(c->out_fd, c->buf + c->head, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return -EAGAIN;
        if (n <= 0) {
            /* The host side failed (a closed pipe, a device error): what is waiting is dropped
               so the guest's output keeps flowing; the next bytes try again. */
            c->st.out_errors++;
            c->st.dropped += c->len;
            c->head = c->len = 0;
            log_limited(c, "console output", n < 0 ? errno : EIO);
            return 0;
        }
        c->st.written += (size_t)n;
        c->head = (c->head + (size_t)n) % CON_OUT_BUF;
        c->len -= (size_t)n;
    }
    c->head = 0;
    return 0;
}

enum con_pass con_rx_once(struct con_dev *c)
{
    struct virtq *vq = c->rxq;
    struct virtq_elem *e = c->elem;
    struct iovec *iov;
    size_t want;
    ssize_t n;
    int p;

    if (c->in_fd < 0 || c->in_eof)
        return CON_PASS_INPUT_END;
    p = virtq_pop(vq, e);
    if (p == 0 && virtq_enable_notify(vq))
        p = virtq_pop(vq, e); /* a buffer came while notifications were off */
    if (p < 0)
        return CON_PASS_BROKEN;
    if (p == 0)
        return CON_PASS_NO_BUF;
    if (!e->in_num) {
        /* Nothing the device can write: given back empty, the driver's mistake. */
        if (virtq_push(vq, e, 0) < 0)
            return CON_PASS_BROKEN;
        virtq_notify(vq);
        return vq->broken ? CON_PASS_BROKEN : CON_PASS_MORE;
    }
    /* One read, into the first writable segment: level-triggered readiness promises one read
       that does not block, even on a blocking terminal shared with the controller. */
    iov = &e->iov[e->out_num];
    want = iov->iov_len < CON_MAX_RX_BYTES ? iov->iov_len : CON_MAX_RX_BYTES;
    n = read(c->in_fd, iov->iov_base, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        virtq_unpop(vq);
        return CON_PASS_IDLE;
    }
    if (n <= 0) {
        if (n < 0)
            log_limited(c, "console input", errno);
        virtq_unpop(vq);
        c->in_eof = true;
        return CON_PASS_INPUT_END;
    }
    if (virtq_push(vq, e, (uint32_t)n) < 0)
        return CON_PASS_BROKEN;
    c->st.rx_chains++;
    c->st.rx_bytes += (uint64_t)n;
    virtq_notify(vq);
    return vq->broken ? CON_PASS_BROKEN : CON_PASS_IDLE;
}
