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
 * Everything PCI in one VM: the buses of its PCI segments, the GSI routing table, the virtio-pci devices and
 * their frontend thread, built and torn down together (in reverse). Devices come at boot and
 * by hotplug, and leave by hot removal; the frontend thread is stopped while the list changes.
 */
#define PCI_DEVICES_MAX 64 /* virtio devices of one VM */

struct pci_devices {
    struct pci_bus *buses; /* owned, host.n of them: segment i at buses[i] */
    struct pci_host host;
    struct gsi_table gsi;
    struct vpci_ctx ctx;
    struct vpci_dev *devp[PCI_DEVICES_MAX]; /* each owned; n of them */
    size_t n;
    struct vpci_worker worker;
    unsigned inited; /* init steps done, for unwinding */
};

struct pci_devices_params {
    int vm_fd;
    const struct guest_mem *mem;
    const struct log *log;
    uint64_t mmio64_start, mmio64_end;
    uint32_t segments;                /* 0 reads as 1 */
    const struct vpci_params *virtio; /* sockets taken over, closed on failure too */
    size_t nvirtio;
    void (*fatal)(void *arg, const char *msg);
    void *fatal_arg;
    void (*lost)(void *arg, const char *id, const char *why); /* vpci_ctx.lost; optional */
    void *lost_arg;
    int (*iotlb_replay)(void *arg, struct vpci_dev *d); /* vpci_ctx.iotlb_replay; optional */
    void *iotlb_arg;
};

/* Builds the bus on pio/mmio, connects every backend and starts the frontend thread. 0 or
 * -errno with err. */
int pci_devices_init(struct pci_devices *pd, const struct pci_devices_params *p, struct bus *pio,
                     struct bus *mmio, char *err, size_t errlen);
/* Guest reboot (vCPUs stopped). 0 or -EIO with err. */
int pci_devices_reset(struct pci_devices *pd, char *err, size_t errlen);
void pci_devices_destroy(struct pci_devices *pd);

/* The virtio device with this id, or NULL. */
struct vpci_dev *pci_devices_find(const struct pci_devices *pd, const char *id);

/*
 * Guest memory grew (ACPI memory hotplug), vCPUs and rings stopped: every backend that holds a
 * memory table gets the new one (the regions it lacks, ADD_MEM_REG beyond the eight a
 * SET_MEM_TABLE carries), on the frontend thread's connections while that thread is stopped.
 * Backends not started yet, or gone, get it when they start or reconnect. 0, or the first
 * failure (-errno with err); the others are still sent.
 */
int pci_devices_update_memory(struct pci_devices *pd, char *err, size_t errlen);

/* Hotplug, vCPUs stopped: connects the backend behind p->sock (taken over, closed on failure
 * too), puts the function in a free slot and gives it to the frontend thread. 0 with *slot, or
 * -errno with err (nothing is kept). */
int pci_devices_hot_add(struct pci_devices *pd, const struct vpci_params *p, unsigned *slot,
                        char *err, size_t errlen);
/* Hot removal, vCPUs stopped: the function leaves its slot (BARs and notify ioeventfds
 * released), the frontend thread forgets it, its irqfds, MSI routes and eventfds are freed and
 * its connection closed. 0 or -ENOENT. */
int pci_devices_remove(struct pci_devices *pd, const char *id);

/* The connection to the replacement of device id's backend (taken over); done(arg, id, err)
 * comes from the frontend thread once it is taken over or refused. 0, or -ENODEV (no such
 * running device, or an external one without a lost callback). */
int pci_devices_reconnect(struct pci_devices *pd, const char *id, int sock,
                          void (*done)(void *arg, const char *id, int err), void *arg);

#endif
