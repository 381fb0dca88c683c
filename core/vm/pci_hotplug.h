#ifndef CELLVM_CORE_VM_PCI_HOTPLUG_H
#define CELLVM_CORE_VM_PCI_HOTPLUG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"
#include "core/vm/bus.h"

/*
 * Cloud Hypervisor's ACPI PCI hotplug controller (\_SB_.PHPR in the DSDT): 16 bytes at
 * GPA_PCI_HOTPLUG_START, four 32-bit registers, one bit per slot of the selected segment.
 *   0 PCIU  read: slots added since the last read (read clears)
 *   4 PCID  read: slots the host wants removed since the last read (read clears)
 *   8 B0EJ  write: the guest ejected these slots (its _EJ0 ran); reads 0
 *  12 PSEG  read/write: the selected segment; a write of nseg or more is ignored
 * Other offsets and widths read 0 and ignore writes. The vCPU path only latches: an eject calls
 * eject(opaque), which must do no more than wake whoever calls pci_hotplug_take_ejects.
 */
struct pci_hotplug {
    pthread_mutex_t lock;
    uint32_t nseg; /* 1..PCI_MAX_SEGMENTS */
    uint32_t sel;  /* PSEG */
    uint32_t up[PCI_MAX_SEGMENTS];
    uint32_t down[PCI_MAX_SEGMENTS];
    uint32_t ejected[PCI_MAX_SEGMENTS]; /* B0EJ bits not taken yet */
    void (*eject)(void *opaque);
    void *opaque;
};

/* nseg 1..PCI_MAX_SEGMENTS. 0 or -EINVAL / -errno (mutex). */
int pci_hotplug_init(struct pci_hotplug *h, uint32_t nseg, void (*eject)(void *opaque),
                     void *opaque);
void pci_hotplug_destroy(struct pci_hotplug *h);
/* Guest reboot: PSEG 0, PCIU and PCID clear (a rebooted guest scans every slot anyway);
 * ejects not taken yet stay. */
void pci_hotplug_reset(struct pci_hotplug *h);
/* Latches slot (0..31) of seg in PCIU (add) or PCID (!add); the caller raises GED_EVENT_PCI.
 * -EINVAL for a segment or slot out of range. */
int pci_hotplug_announce(struct pci_hotplug *h, uint32_t seg, unsigned slot, bool add);
/* Moves the latched ejects into masks[0..nseg) (cleared first) and clears them; true when any
 * bit was set. */
bool pci_hotplug_take_ejects(struct pci_hotplug *h, uint32_t *masks);

extern const struct bus_ops pci_hotplug_bus_ops;

#endif
