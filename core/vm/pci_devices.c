#include "core/vm/pci_devices.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/virtio_pci_rc.h"

enum { STEP_GSI = 1, STEP_BUS, STEP_WORKER, STEP_DEVICES, STEP_RUNNING };

static void buses_destroy(struct pci_devices *pd)
{
    for (uint32_t i = 0; pd->buses && i < pd->host.n; i++)
        pci_bus_destroy(&pd->buses[i]);
    free(pd->buses);
    pd->buses = NULL;
    pd->host.n = 0;
}

/* One bus per segment, each with its part of the apertures (pci_layout.h). */
static int buses_init(struct pci_devices *pd, uint32_t n, uint64_t mmio64_start,
                      uint64_t mmio64_end)
{
    if (n > PCI_MAX_SEGMENTS)
        return -EINVAL;
    pd->buses = calloc(n, sizeof(*pd->buses));
    if (!pd->buses)
        return -ENOMEM;
    pd->host = (struct pci_host){ pd->buses, 0, mmio64_start, mmio64_end };
    for (uint32_t i = 0; i < n; i++) {
        struct pci_seg_layout l;
        int r;

        pci_seg_layout(n, i, mmio64_start, mmio64_end, &l);
        r = pci_bus_init_seg(&pd->buses[i], i, &l);
        if (r)
            return r;
        pd->host.n++;
    }
    return 0;
}

int pci_devices_init(struct pci_devices *pd, const struct pci_devices_params *p, struct bus *pio,
                     struct bus *mmio, char *err, size_t errlen)
{
    size_t used = 0;
    int r;

    memset(pd, 0, sizeof(*pd));
    pd->ctx = (struct vpci_ctx){ .vm_fd = p->vm_fd,
                                 .gsi = &pd->gsi,
                                 .mem = p->mem,
                                 .log = p->log,
                                 .wake_fd = -1,
                                 .fatal = p->fatal,
                                 .fatal_arg = p->fatal_arg,
                                 .lost = p->lost,
                                 .lost_arg = p->lost_arg,
                                 .iotlb_replay = p->iotlb_replay,
                                 .iotlb_arg = p->iotlb_arg };
    r = gsi_init(&pd->gsi, p->vm_fd);
    if (r) {
        snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_GSI;
    r = buses_init(pd, p->segments ? p->segments : 1, p->mmio64_start, p->mmio64_end);
    if (!r)
        r = pci_host_register(&pd->host, pio, mmio);
    if (r) {
        snprintf(err, errlen, "PCI bus: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_BUS;
    if (p->nvirtio > PCI_DEVICES_MAX) {
        r = -ENOSPC;
        snprintf(err, errlen, "more than %d virtio devices", PCI_DEVICES_MAX);
        goto out;
    }
    r = vpci_worker_init(&pd->worker, &pd->ctx, pd->devp, 0, PCI_DEVICES_MAX);
    if (r) {
        snprintf(err, errlen, "virtio frontend thread: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_WORKER;
    for (; used < p->nvirtio; used++) {
        struct vpci_dev *d = calloc(1, sizeof(*d));

        if (!d) {
            r = -ENOMEM;
            snprintf(err, errlen, "virtio devices: out of memory");
            goto out;
        }
        pd->devp[pd->n++] = d;
        r = p->virtio[used].pci_segment < pd->host.n
                ? vpci_dev_init(d, &pd->ctx, &pd->buses[p->virtio[used].pci_segment],
                                &p->virtio[used], err, errlen)
                : -EINVAL;
        if (r == -EINVAL && p->virtio[used].pci_segment >= pd->host.n)
            snprintf(err, errlen, "%s: PCI segment %u does not exist", p->virtio[used].id,
                     p->virtio[used].pci_segment);
        if (r) {
            used++;
            goto out;
        }
    }
    r = vpci_worker_update(&pd->worker, pd->n, SIZE_MAX);
    if (r) {
        snprintf(err, errlen, "virtio frontend thread: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_DEVICES;
    r = vpci_worker_start(&pd->worker);
    if (r) {
        snprintf(err, errlen, "virtio frontend thread: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_RUNNING;
out:
    /* Sockets not handed to a device yet are still ours to close. */
    for (size_t i = used; r && i < p->nvirtio; i++)
        if (p->virtio[i].sock >= 0)
            close(p->virtio[i].sock);
    if (r)
        pci_devices_destroy(pd);
    return r;
}

int pci_devices_reset(struct pci_devices *pd, char *err, size_t errlen)
{
    if (pd->inited < STEP_BUS)
        return 0;
    for (uint32_t i = 0; i < pd->host.n; i++)
        pci_bus_reset(&pd->buses[i]);
    return pd->inited >= STEP_RUNNING ? vpci_reset_all(&pd->worker, err, errlen) : 0;
}

void pci_devices_destroy(struct pci_devices *pd)
{
    if (pd->inited >= STEP_WORKER)
        vpci_worker_stop(&pd->worker);
    for (size_t i = 0; i < pd->n; i++) {
        vpci_dev_destroy(pd->devp[i]);
        free(pd->devp[i]);
    }
    if (pd->inited >= STEP_WORKER)
        vpci_worker_destroy(&pd->worker);
    buses_destroy(pd);
    if (pd->inited >= STEP_GSI)
        gsi_destroy(&pd->gsi);
    memset(pd, 0, sizeof(*pd));
}

static size_t index_of(const struct pci_devices *pd, const char *id)
{
    size_t i = 0;

    while (i < pd->n && strcmp(pd->devp[i]->id, id))
        i++;
    return i;
}

struct vpci_dev *pci_devices_find(const struct pci_devices *pd, const char *id)
{
    size_t i = index_of(pd, id);

    return i < pd->n ? pd->devp[i] : NULL;
}

int pci_devices_hot_add(struct pci_devices *pd, const struct vpci_params *p, unsigned *slot,
                        char *err, size_t errlen)
{
    struct vpci_dev *d = NULL;
    int r = 0;

    if (p->pci_segment >= pd->host.n) {
        snprintf(err, errlen, "%s: PCI segment %u does not exist", p->id, p->pci_segment);
        r = -EINVAL;
    } else if (pd->inited < STEP_RUNNING || pd->n >= PCI_DEVICES_MAX) {
        snprintf(err, errlen, "%s: no room for another virtio device (%d)", p->id, PCI_DEVICES_MAX);
        r = -ENOSPC;
    } else if (pci_devices_find(pd, p->id)) {
        snprintf(err, errlen, "%s: a device with this id exists", p->id);
        r = -EEXIST;
    } else if (!(d = calloc(1, sizeof(*d)))) {
        snprintf(err, errlen, "%s: out of memory", p->id);
        r = -ENOMEM;
    }
    if (r) {
        close(p->sock);
        return r;
    }
    r = vpci_dev_init(d, &pd->ctx, &pd->buses[p->pci_segment], p, err, errlen);
    if (r) {
        (void)pci_bus_remove(&pd->buses[p->pci_segment], &d->pci);
        vpci_dev_destroy(d);
        free(d);
        return r;
    }
    vpci_worker_stop(&pd->worker);
    pd->devp[pd->n++] = d;
    r = vpci_worker_update(&pd->worker, pd->n, SIZE_MAX);
    if (r) {
        pd->n--;
        snprintf(err, errlen, "%s: virtio frontend thread: %s", p->id, strerror(-r));
    }
    if (vpci_worker_start(&pd->worker)) /* no frontend thread: every device is dead */
        pd->ctx.fatal(pd->ctx.fatal_arg, "virtio frontend thread cannot be restarted");
    if (r) {
        (void)pci_bus_remove(&pd->buses[p->pci_segment], &d->pci);
        vpci_dev_destroy(d);
        free(d);
        return r;
    }
    *slot = d->pci.slot;
    return 0;
}

int pci_devices_update_memory(struct pci_devices *pd, char *err, size_t errlen)
{
    bool running = pd->worker.running;
    int r = 0;

    vpci_worker_stop(&pd->worker);
    for (size_t i = 0; i < pd->n; i++) {
        struct vpci_dev *d = pd->devp[i];
        bool send;
        int e;

        pthread_mutex_lock(&d->lock);
        send = d->backend_dirty && !d->failed;
        pthread_mutex_unlock(&d->lock);
        e = send ? vpci_vu_send_mem_table(d) : 0;
        if (e && !r) {
            r = e;
            snprintf(err, errlen, "%s: the backend refused the new memory table: %s", d->id,
                     strerror(-e));
        }
    }
    if (running && vpci_worker_start(&pd->worker))
        pd->ctx.fatal(pd->ctx.fatal_arg, "virtio frontend thread cannot be restarted");
    return r;
}

int pci_devices_remove(struct pci_devices *pd, const char *id)
{
    size_t i = index_of(pd, id);
    struct vpci_dev *d;
    bool running;

    if (i == pd->n)
        return -ENOENT;
    d = pd->devp[i];
    (void)pci_bus_remove(&pd->buses[d->seg], &d->pci);
    running = pd->worker.running;
    vpci_worker_stop(&pd->worker);
    memmove(&pd->devp[i], &pd->devp[i + 1], (pd->n - i - 1) * sizeof(pd->devp[0]));
    pd->n--;
    (void)vpci_worker_update(&pd->worker, pd->n, i); /* shrinking needs no memory */
    if (running)
        (void)vpci_worker_start(&pd->worker);
    vpci_dev_destroy(d);
    free(d);
    return 0;
}

int pci_devices_reconnect(struct pci_devices *pd, const char *id, int sock,
                          void (*done)(void *arg, const char *id, int err), void *arg)
{
    struct vpci_dev *d = pd->inited >= STEP_RUNNING ? pci_devices_find(pd, id) : NULL;

    if (!d) {
        close(sock);
        return -ENODEV;
    }
    pd->ctx.reconnected = done;
    pd->ctx.reconnected_arg = arg;
    return vpci_rc_post(d, sock);
}
