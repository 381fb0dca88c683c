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

enum { VPCI_PAUSE_STOP = 1, VPCI_PAUSE_START = 2 };
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
        if (vpci_vu_ring_uvas(d->ctx->mem, q.desc, q.avail, q.used, q.size, &v)) {
            vpci_vu_needs_reset(d, "a ring lies outside guest RAM");
            break;
        }
        r = vu_fe_set_vring_num(&d->fe, i, q.size);
        if (!r)
            r = vu_fe_set_vring_addr(&d->fe, i, v.desc_uva, v.avail_uva, v.used_uva);
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
}

/* Frontend thread, after the queued guest work: a pause or resume asked by the VM thread. */
void vpci_pause_work(struct vpci_worker *w)
{
    int req = atomic_load(&w->pause_req);

    if (!req)
        return;
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
            snprintf(err, errlen, "device %s did not %s its rings%s", d->id,
                     req == VPCI_PAUSE_STOP ? "stop" : "restart", r ? " in time" : "");
            return r ? r : -EIO;
        }
    }
    if (r)
        snprintf(err, errlen, "the vhost-user frontend did not %s the rings in time",
                 req == VPCI_PAUSE_STOP ? "stop" : "restart");
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
