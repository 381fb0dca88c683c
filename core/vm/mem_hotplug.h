#ifndef CELLVM_CORE_VM_MEM_HOTPLUG_H
#define CELLVM_CORE_VM_MEM_HOTPLUG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"
#include "core/vm/bus.h"

/*
 * Cloud Hypervisor's ACPI memory hotplug controller (\_SB_.MHPC in the DSDT): 24 bytes at
 * GPA_MEM_HOTPLUG_START, one slot (a PNP0C80 memory device Mnnn) per hot-added region.
 *   0x00 read: MHBL, base of the selected slot, bits 31:0   write: MSEL, selects a slot
 *   0x04 read: MHBH, base bits 63:32                        write: MOEV, ignored
 *   0x08 read: MHLL, length bits 31:0                       write: MOSC, ignored
 *   0x0c read: MHLH, length bits 63:32
 *   0x10 MHPX (proximity domain): reads 0, as in Cloud Hypervisor
 *   0x14 status byte of the selected slot:
 *        bit 0 MEN_  read: the slot holds memory
 *        bit 1 MINS  read: inserting, not yet seen by the guest; write 1: clears it
 *        bit 2 MRMV  read: removing (never set: ACPI memory is not removed); write 1: clears it
 *        bit 3 MEJ0  write 1: the guest ejected the slot
 * The dword registers take 4-byte accesses; the status byte 1-, 2- or 4-byte accesses (the
 * AML's Field is ByteAcc there). A selection of nslots or more selects nothing: every register
 * then reads 0. Other offsets and widths read 0 and ignore writes.
 *
 * Hot-add (vm.resize of memory): the core maps the region and hands it to every device process
 * first, then mem_hotplug_insert, then raises GED_EVENT_MEMORY; the guest's MSCN notifies Mnnn,
 * whose _CRS reads the base and length back. Cloud Hypervisor never removes ACPI memory: an
 * eject changes nothing here but is latched and reported through eject(opaque) (which must only
 * wake whoever calls mem_hotplug_take_ejects) so that the core can log and refuse it.
 */
struct mem_hotplug_slot {
    uint64_t base, size;
    bool enabled, inserting, removing;
};

struct mem_hotplug {
    pthread_mutex_t lock;
    uint32_t nslots; /* 1..MEM_HOTPLUG_MAX_SLOTS */
    uint32_t sel;    /* MSEL */
    struct mem_hotplug_slot slots[MEM_HOTPLUG_MAX_SLOTS];
    uint64_t ejected; /* MEJ0 writes not taken yet, bit = slot */
    void (*eject)(void *opaque);
    void *opaque;
};

/* nslots 1..MEM_HOTPLUG_MAX_SLOTS. 0 or -EINVAL / -errno (mutex). */
int mem_hotplug_init(struct mem_hotplug *h, uint32_t nslots, void (*eject)(void *opaque),
                     void *opaque);
void mem_hotplug_destroy(struct mem_hotplug *h);
/* Guest reboot: MSEL 0, inserting and removing clear; filled slots stay (the rebooted guest
 * finds them through _STA and _CRS), and so do ejects not taken yet. */
void mem_hotplug_reset(struct mem_hotplug *h);
/* Fills slot with [base, base + size) and marks it inserting; the caller raises
 * GED_EVENT_MEMORY. -EINVAL for a slot out of range, size 0 or a range past 2^64, -EEXIST if
 * the slot is filled already. */
int mem_hotplug_insert(struct mem_hotplug *h, uint32_t slot, uint64_t base, uint64_t size);
/* Moves the latched ejects (bit = slot) into *mask and clears them; true when any was set. */
bool mem_hotplug_take_ejects(struct mem_hotplug *h, uint64_t *mask);

extern const struct bus_ops mem_hotplug_bus_ops;

#endif
