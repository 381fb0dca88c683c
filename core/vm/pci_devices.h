#ifndef CELLVM_CORE_VM_PCI_DEVICES_H
#define CELLVM_CORE_VM_PCI_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"
#include "core/vm/bus.h"
#include "core/vm/gsi.h"
#include "core/vm/log.h"
#include "core/vm/pci.h"
#include "core/vm/virtio_pci.h"
#include "core/vm/virtio_pci_vu.h"

/*
 * Everything PCI in one VM: segment 0's bus, the GSI routing table, the virtio-pci devices and
 * their frontend thread, built and torn down together (in reverse).
 */
struct pci_devices {
    struct pci_bus bus;
    struct gsi_table gsi;
    struct vpci_ctx ctx;
    struct vpci_dev *devs; /* owned, n of them */
    struct vpci_dev **devp;
    size_t n, ninited;
    struct vpci_worker worker;
    unsigned inited; /* init steps done, for unwinding */
};

struct pci_devices_params {
    int vm_fd;
    const struct guest_mem *mem;
    const struct log *log;
    uint64_t mmio64_start, mmio64_end;
    const struct vpci_params *virtio; /* sockets taken over, closed on failure too */
    size_t nvirtio;
    void (*fatal)(void *arg, const char *msg);
    void *fatal_arg;
    void (*lost)(void *arg, const char *id, const char *why); /* vpci_ctx.lost; optional */
    void *lost_arg;
};

/* Builds the bus on pio/mmio, connects every backend and starts the frontend thread. 0 or
 * -errno with err. */
int pci_devices_init(struct pci_devices *pd, const struct pci_devices_params *p, struct bus *pio,
                     struct bus *mmio, char *err, size_t errlen);
/* Guest reboot (vCPUs stopped). 0 or -EIO with err. */
int pci_devices_reset(struct pci_devices *pd, char *err, size_t errlen);
void pci_devices_destroy(struct pci_devices *pd);

/* The connection to the replacement of device id's backend (taken over); done(arg, id, err)
 * comes from the frontend thread once it is taken over or refused. 0, or -ENODEV (no such
 * running device, or an external one without a lost callback). */
int pci_devices_reconnect(struct pci_devices *pd, const char *id, int sock,
                          void (*done)(void *arg, const char *id, int err), void *arg);

#endif
