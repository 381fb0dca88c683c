/* The request queue of a device the core serves itself (virtio_pci.h's vpci_local). */
#include "core/vm/virtio_pci_local.h"

#include <pthread.h>
#include <unistd.h>

#include "core/vm/virtio_pci_vu.h"

void vpci_local_serve(struct vpci_dev *d, unsigned budget, vring_req_fn fn, void *arg,
                      void (*locked)(void *arg, struct vpci_dev *d), const char *what)
{
    struct vring_req_ring ring;
    struct vpci_queue *q = &d->q[0];
    bool more = false;
    int n;

    pthread_mutex_lock(&d->lock);
    if (!(d->status & VPCI_S_DRIVER_OK) || d->resetting || !q->enabled) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    ring = (struct vring_req_ring){ .desc = q->desc,
                                    .avail = q->avail,
                                    .used = q->used,
                                    .size = q->size,
                                    .last_avail = d->ctrl_avail };
    n = vring_req_process(d->ctx->mem, &ring, budget, fn, arg);
    d->ctrl_avail = ring.last_avail;
    if (n > 0)
        vpci_queue_signalled(d, 0);
    if (n >= 0)
        more = vring_req_pending(d->ctx->mem, &ring);
    if (locked)
        locked(arg, d);
    pthread_mutex_unlock(&d->lock);
    if (n < 0)
        vpci_vu_needs_reset(d, what);
    if (more) {
        uint64_t one = 1;

        (void)!write(q->kick_fd, &one, sizeof(one)); /* after the other devices' turn */
    }
}
