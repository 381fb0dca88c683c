#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/vm/virtio_pci_rc.h"
#include "core/vm/virtio_pci_vu.h"

/* VM pause and resume on the frontend thread (split from virtio_pci_vu.c): every started ring
 * stopped with GET_VRING_BASE and restarted where the backend left it. */

/* How long a VM pause or resume waits for the backends, twice (before and after shutting down
 * a silent one's socket): within the 5 s vm_pause and vm_resume give the VM thread. */
#define VPCI_PAUSE_WAIT_MS 2000

enum { VPCI_PAUSE_STOP = 1, VPCI_PAUSE_START = 2, VPCI_LOG_ON = 3, VPCI_LOG_OFF = 4 };
_Static_assert(VPCI_MAX_QUEUES <= 64, "vpci_paused.rings is a 64-bit mask");

/* Frontend thread: stops d's started rings; the transport keeps what the guest set up. */
static void pause_rings(struct vpci_dev *d, struct vpci_paused *ps)
{
    int r = 0;

    ps->rings = 0;
    for (uint16_t i = 0; i < d->nqueues; i++) {
        if (!d->q[i].started) /* only this thread changes it */
            continue;
        r = vu_fe_get_vring_base(&d->fe, i, &ps->base[i]);
        if (r)
            break;
        vpci_vu_set_started(d, i, false);
        ps->rings |= 1ull << i;
    }
    if (r)
        vpci_vu_fail(d, "did not stop its rings for a pause", r);
    else if (ps->rings)
        log_debug(d->ctx->log, "%s: rings 0x%llx stopped for a pause", d->id,
                  (unsigned long long)ps->rings);
}

/* Frontend thread: the rings pause_rings stopped, handed back where the backend left them. */
static void resume_rings(struct vpci_dev *d, struct vpci_paused *ps)
{
    for (uint16_t i = 0; i < d->nqueues; i++) {
        struct vpci_queue q;
        struct vu_fe_vring v;
        int r;

        if (!(ps->rings & (1ull << i)))
            continue;
        pthread_mutex_lock(&d->lock);
        q = d->q[i];
        pthread_mutex_unlock(&d->lock);
        if (vpci_vu_ring_uvas(d, q.desc, q.avail, q.used, q.size, &v)) {
            vpci_vu_needs_reset(d, "a ring lies outside guest RAM");
            break;
        }
        r = vu_fe_set_vring_num(&d->fe, i, q.size);
        if (!r)
            r = vu_fe_set_vring_addr_log(&d->fe, i, v.desc_uva, v.avail_uva, v.used_uva,
                                         d->fe.log_all, q.used);
        if (!r)
            r = vu_fe_set_vring_base(&d->fe, i, ps->base[i]);
        if (!r)
            r = vu_fe_set_vring_call(&d->fe, i, q.call_fd);
        if (!r)
            r = vu_fe_set_vring_kick(&d->fe, i, q.kick_fd); /* restarts the ring */
        if (r) {
            vpci_vu_fail(d, "refused to restart a ring after a pause", r);
            break;
        }
        vpci_vu_set_started(d, i, true);
    }
    ps->rings = 0;
    /* The streams stayed with the saved backend: the guest drops its ends too. */
    if (ps->transport_reset && !vpci_vu_failed(d))
        vpci_rc_transport_reset(d);
    ps->transport_reset = false;
}

/*
 * Frontend thread: d's backend logs into the migration's log (on) or stops (off): SET_LOG_BASE,
 * SET_FEATURES with LOG_ALL, and each started ring's addresses again with VHOST_VRING_F_LOG.
 * Returns false when d's writes are not logged: no LOG_SHMFD (an external backend), or it
 * refused the log.
 */
static bool log_switch(struct vpci_worker *w, struct vpci_dev *d, bool on)
{
    bool started;
    int r = 0;

    if (on && !(d->fe.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD))) {
        log_info(d->ctx->log,
                 "%s: the backend offers no dirty log (LOG_SHMFD): its writes are found by "
                 "hashing guest RAM while paused",
                 d->id);
        return false;
    }
    if (!on && !d->fe.log_all)
        return true;
    if (on) {
        r = vu_fe_set_log_base(&d->fe, w->log_fd, w->log_size, 0);
        if (r == -EIO) {
            log_warn(d->ctx->log,
                     "%s: the backend refused the dirty log: its writes are found by hashing "
                     "guest RAM while paused",
                     d->id);
            return false;
        }
    }
    pthread_mutex_lock(&d->lock);
    started = d->backend_dirty;
    pthread_mutex_unlock(&d->lock);
    /* A device the driver has not started has no features to send yet: do_start adds LOG_ALL
     * to the driver's when it comes. */
    if (!r && started)
        r = vu_fe_set_log_all(&d->fe, on);
    else
        d->fe.log_all = on;
    for (uint16_t i = 0; i < d->nqueues && !r; i++) {
        struct vpci_queue q;
        struct vu_fe_vring v;

        if (!d->q[i].started) /* only this thread changes it */
            continue;
        pthread_mutex_lock(&d->lock);
        q = d->q[i];
        pthread_mutex_unlock(&d->lock);
        if (vpci_vu_ring_uvas(d, q.desc, q.avail, q.used, q.size, &v))
            continue; /* the ring cannot run anyway */
        r = vu_fe_set_vring_addr_log(&d->fe, i, v.desc_uva, v.avail_uva, v.used_uva, on, q.used);
    }
    if (r) {
        vpci_vu_fail(d, on ? "failed to start dirty logging" : "failed to stop dirty logging", r);
        return false;
    }
    log_debug(d->ctx->log, "%s: dirty logging %s", d->id, on ? "on" : "off");
    return true;
}

/* Frontend thread: a dirty-log switch for every vhost-user device; the core-served ones write
 * through vm_dirty.h and need nothing. */
static void log_work(struct vpci_worker *w, bool on)
{
    unsigned unlogged = 0;

    for (size_t i = 0; i < w->n; i++) {
        struct vpci_dev *d = w->devs[i];
        bool gone;

        if (d->local)
            continue;
        pthread_mutex_lock(&d->lock);
        gone = d->failed || d->rc.disconnected;
        pthread_mutex_unlock(&d->lock);
        if (gone) { /* a replacement would come without the log */
            unlogged++;
            continue;
        }
        atomic_store(&w->pause_dev, (int)i);
        if (!log_switch(w, d, on))
            unlogged++;
    }
    w->log_unlogged = unlogged;
    atomic_store(&w->pause_dev, -1);
    atomic_store(&w->pause_req, 0);
}

/* Frontend thread, after the queued guest work: a pause or resume asked by the VM thread. */
void vpci_pause_work(struct vpci_worker *w)
{
    int req = atomic_load(&w->pause_req);

    if (!req)
        return;
    if (req == VPCI_LOG_ON || req == VPCI_LOG_OFF) {
        log_work(w, req == VPCI_LOG_ON);
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        struct vpci_dev *d = w->devs[i];

        if (vpci_vu_failed(d) || vpci_rc_skip_pause(d, &w->paused[i], req == VPCI_PAUSE_STOP))
            continue;
        atomic_store(&w->pause_dev, (int)i);
        if (req == VPCI_PAUSE_STOP)
            pause_rings(d, &w->paused[i]);
        else
            resume_rings(d, &w->paused[i]);
    }
    atomic_store(&w->pause_dev, -1);
    atomic_store(&w->vm_paused, req == VPCI_PAUSE_STOP);
    atomic_store(&w->pause_req, 0);
}

static const char *what(int req)
{
    return req == VPCI_PAUSE_STOP    ? "stop its rings"
           : req == VPCI_PAUSE_START ? "restart its rings"
           : req == VPCI_LOG_ON      ? "start dirty logging"
                                     : "stop dirty logging";
}

/* Asks the frontend thread for req and waits for it, bounded: a backend that does not answer
 * has its socket shut down, which fails its request (and the device) on the thread. */
static int pause_ask(struct vpci_worker *w, int req, char *err, size_t errlen)
{
    const struct timespec tick = { .tv_nsec = 1000000 };
    uint64_t one = 1;
    int dev = -1, r = 0;

    if (!w->running)
        return 0;
    atomic_store(&w->pause_req, req);
    (void)!write(w->wake_fd, &one, sizeof(one));
    for (int i = 0; i < VPCI_PAUSE_WAIT_MS && atomic_load(&w->pause_req); i++)
        nanosleep(&tick, NULL);
    if (atomic_load(&w->pause_req)) {
        dev = atomic_load(&w->pause_dev);
        if (dev >= 0 && (size_t)dev < w->n)
            shutdown(w->devs[dev]->fe.sock, SHUT_RD); /* its pending recv returns 0 */
        for (int i = 0; i < VPCI_PAUSE_WAIT_MS && atomic_load(&w->pause_req); i++)
            nanosleep(&tick, NULL);
        r = -ETIMEDOUT;
    }
    for (size_t i = 0; i < w->n; i++) {
        struct vpci_dev *d = w->devs[i];

        if (vpci_vu_failed(d) || (r && (int)i == dev)) {
            snprintf(err, errlen, "device %s did not %s%s", d->id, what(req), r ? " in time" : "");
            return r ? r : -EIO;
        }
    }
    if (r)
        snprintf(err, errlen, "the vhost-user frontend did not %s in time", what(req));
    return r;
}

int vpci_pause_all(struct vpci_worker *w, char *err, size_t errlen)
{
    return pause_ask(w, VPCI_PAUSE_STOP, err, errlen);
}

int vpci_resume_all(struct vpci_worker *w, char *err, size_t errlen)
{
    return pause_ask(w, VPCI_PAUSE_START, err, errlen);
}

int vpci_dirty_log(struct vpci_worker *w, int fd, uint64_t size, bool on, unsigned *unlogged,
                   char *err, size_t errlen)
{
    int r;

    *unlogged = 0;
    if (!w->running) {
        /* No frontend thread: no backend can be asked to log. */
        for (size_t i = 0; i < w->n; i++)
            *unlogged += on && !w->devs[i]->local;
        return 0;
    }
    w->log_fd = fd;
    w->log_size = size;
    r = pause_ask(w, on ? VPCI_LOG_ON : VPCI_LOG_OFF, err, errlen);
    if (!r)
        *unlogged = w->log_unlogged;
    return r;
}
