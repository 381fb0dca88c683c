#include "core/vm/pci_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/virtio_pci_rc.h"

enum { STEP_GSI = 1, STEP_BUS, STEP_WORKER, STEP_DEVICES, STEP_RUNNING };

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
                                 .lost_arg = p->lost_arg };
    r = gsi_init(&pd->gsi, p->vm_fd);
    if (r) {
        snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_GSI;
    r = pci_bus_init(&pd->bus, p->mmio64_start, p->mmio64_end);
    if (!r)
        r = pci_bus_register(&pd->bus, pio, mmio);
    if (r) {
        snprintf(err, errlen, "PCI bus: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_BUS;
    pd->n = p->nvirtio;
    pd->devs = p->nvirtio ? calloc(p->nvirtio, sizeof(*pd->devs)) : NULL;
    pd->devp = p->nvirtio ? calloc(p->nvirtio, sizeof(*pd->devp)) : NULL;
    if (p->nvirtio && (!pd->devs || !pd->devp)) {
        r = -ENOMEM;
        snprintf(err, errlen, "virtio devices: out of memory");
        goto out;
    }
    r = vpci_worker_init(&pd->worker, &pd->ctx, pd->devp, pd->n);
    if (r) {
        snprintf(err, errlen, "virtio frontend thread: %s", strerror(-r));
        goto out;
    }
    pd->inited = STEP_WORKER;
    for (; used < p->nvirtio; used++) {
        pd->devp[used] = &pd->devs[used];
        r = vpci_dev_init(&pd->devs[used], &pd->ctx, &pd->bus, &p->virtio[used], err, errlen);
        pd->ninited++;
        if (r) {
            used++;
            goto out;
        }
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
    pci_bus_reset(&pd->bus);
    return pd->inited >= STEP_RUNNING ? vpci_reset_all(&pd->worker, err, errlen) : 0;
}

void pci_devices_destroy(struct pci_devices *pd)
{
    if (pd->inited >= STEP_WORKER)
        vpci_worker_stop(&pd->worker);
    for (size_t i = 0; i < pd->ninited; i++)
        vpci_dev_destroy(&pd->devs[i]);
    if (pd->inited >= STEP_WORKER)
        vpci_worker_destroy(&pd->worker);
    if (pd->inited >= STEP_BUS)
        pci_bus_destroy(&pd->bus);
    if (pd->inited >= STEP_GSI)
        gsi_destroy(&pd->gsi);
    free(pd->devs);
    free(pd->devp);
    memset(pd, 0, sizeof(*pd));
}

int pci_devices_reconnect(struct pci_devices *pd, const char *id, int sock,
                          void (*done)(void *arg, const char *id, int err), void *arg)
{
    for (size_t i = 0; i < pd->ninited && pd->inited >= STEP_RUNNING; i++) {
        if (strcmp(pd->devs[i].id, id))
            continue;
        pd->ctx.reconnected = done;
        pd->ctx.reconnected_arg = arg;
        return vpci_rc_post(&pd->devs[i], sock);
    }
    close(sock);
    return -ENODEV;
}
