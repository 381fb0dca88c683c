#include "echo_dev.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "ipc/vhost_user.h"

struct qarg {
    struct echo_dev *d;
    unsigned idx;
};

static uint32_t echo_elem(struct virtq_elem *e)
{
    uint32_t done = 0;
    unsigned in = e->out_num;
    size_t in_off = 0;

    for (unsigned i = 0; i < e->out_num && in < e->out_num + e->in_num; i++) {
        size_t off = 0;

        while (off < e->iov[i].iov_len && in < e->out_num + e->in_num) {
            size_t n = e->iov[i].iov_len - off;

            if (n > e->iov[in].iov_len - in_off)
                n = e->iov[in].iov_len - in_off;
            memcpy((char *)e->iov[in].iov_base + in_off, (char *)e->iov[i].iov_base + off, n);
            off += n;
            in_off += n;
            done += (uint32_t)n;
            if (in_off == e->iov[in].iov_len) {
                in++;
                in_off = 0;
            }
        }
    }
    return done;
}

static void drain(struct echo_dev *d, struct virtq *vq)
{
    struct virtq_elem *e = malloc(sizeof(*e));
    int r;

    if (!e)
        return;
    do {
        virtq_disable_notify(vq);
        while ((r = virtq_pop(vq, e)) == 1)
            virtq_push(vq, e, echo_elem(e));
        if (r < 0)
            d->broken_err = r;
        virtq_notify(vq);
    } while (virtq_enable_notify(vq));
    free(e);
}

static void *queue_thread(void *arg)
{
    struct qarg *a = arg;
    struct echo_dev *d = a->d;
    unsigned i = a->idx;
    struct virtq *vq = d->vq[i];

    free(a);
    drain(d, vq); /* look once without waiting for a kick */
    for (;;) {
        struct pollfd p[2] = { { .fd = vq->kick_fd, .events = POLLIN },
                               { .fd = d->stop_fd[i], .events = POLLIN } };

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents) {
            virtq_kick_drain(vq);
            drain(d, vq);
        }
    }
    return NULL;
}

static int echo_start(void *dev, uint16_t idx, struct virtq *vq)
{
    struct echo_dev *d = dev;
    struct qarg *a = malloc(sizeof(*a));
    uint64_t v;

    if (!a)
        return -ENOMEM;
    a->d = d;
    a->idx = idx;
    d->vq[idx] = vq;
    while (read(d->stop_fd[idx], &v, sizeof(v)) > 0)
        ;
    if (pthread_create(&d->thread[idx], NULL, queue_thread, a)) {
        free(a);
        return -EAGAIN;
    }
    d->running[idx] = true;
    d->starts++;
    return 0;
}

static int echo_stop(void *dev, uint16_t idx)
{
    struct echo_dev *d = dev;
    uint64_t one = 1;

    if (!d->running[idx])
        return 0;
    if (write(d->stop_fd[idx], &one, sizeof(one)) < 0)
        return -errno;
    pthread_join(d->thread[idx], NULL);
    d->running[idx] = false;
    d->vq[idx] = NULL;
    d->stops++;
    return 0;
}

static void echo_reset(void *dev)
{
    ((struct echo_dev *)dev)->resets++;
}

static int echo_get_config(void *dev, uint8_t *buf, uint32_t off, uint32_t len)
{
    memcpy(buf, ((struct echo_dev *)dev)->config + off, len);
    return 0;
}

static int echo_set_config(void *dev, const uint8_t *buf, uint32_t off, uint32_t len,
                           uint32_t flags)
{
    struct echo_dev *d = dev;

    if (flags != VHOST_USER_CONFIG_MIGRATION && (off != 0 || len != 1))
        return -EPERM;
    memcpy(d->config + off, buf, len);
    return 0;
}

static int echo_parse(void *dev, const char *opt, const char *val, int *fds, size_t nfds, char *err,
                      size_t errlen)
{
    (void)dev;
    (void)opt;
    (void)val;
    (void)fds;
    (void)nfds;
    (void)err;
    (void)errlen;
    return 0;
}

const struct devproc_ops echo_ops = {
    .name = "echo",
    .spec_option = "echo",
    .virtio_id = 0,
    .features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
                (1ull << VIRTIO_RING_F_INDIRECT_DESC),
    .max_queues = ECHO_QUEUES,
    .protocol_features =
        (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ),
    .config_size = 16,
    .parse_spec = echo_parse,
    .get_config = echo_get_config,
    .set_config = echo_set_config,
    .start_queue = echo_start,
    .stop_queue = echo_stop,
    .reset = echo_reset,
};

void echo_init(struct echo_dev *d)
{
    memset(d, 0, sizeof(*d));
    for (unsigned i = 0; i < ECHO_QUEUES; i++)
        d->stop_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (unsigned i = 0; i < sizeof(d->config); i++)
        d->config[i] = (uint8_t)(0xa0 + i);
}
