#ifndef CELLVM_CORE_VM_VM_NUMA_H
#define CELLVM_CORE_VM_VM_NUMA_H

#include <stdint.h>

#include "core/acpi/acpi.h"
#include "core/mem/guest_mem.h"
#include "core/vm/pci_devices.h"
#include "core/vm/vm.h"

/* The VM's own copy of its NUMA layout (struct vm_numa is borrowed only during vm_create), and
 * what the ACPI builder needs from it on every boot. */
struct vm_numa_state {
    uint32_t nnodes;    /* 0: no NUMA */
    uint32_t *cpu_node; /* max_vcpus entries; owned */
    uint32_t zone_node[GUEST_MEM_MAX_ZONES];
    uint8_t *distances; /* nnodes^2; owned */
    uint32_t ninitiators;
    struct {
        char id[VPCI_ID_LEN + 1]; /* a virtio or passed-through device of the VM at boot */
        uint32_t node;
    } initiators[ACPI_MAX_INITIATORS];
};

/* Copies and checks src (every node index below nnodes, nnodes <= ACPI_MAX_NUMA_NODES, every
 * initiator's device_id among the nvirtio and nvfio devices, once). -EINVAL, -ENOENT (a
 * device_id names no device) or -ENOMEM; dst is then empty. */
int vm_numa_copy(struct vm_numa_state *dst, const struct vm_numa *src, uint32_t max_vcpus,
                 uint32_t nzones, const struct vpci_params *virtio, uint32_t nvirtio,
                 const struct vfio_pci_params *vfio, uint32_t nvfio);
void vm_numa_free(struct vm_numa_state *s);

/* Fills the NUMA part of ap (CPU nodes point into s): one memory range per guest_mem region,
 * in out, which has room for GUEST_MEM_MAX_REGIONS; the initiators' PCI functions in gi (room
 * for ACPI_MAX_INITIATORS), each at the slot slot_of(arg, id) finds (segment 0); an initiator
 * whose device has been hot-removed (slot_of < 0) is left out. */
void vm_numa_acpi(const struct vm_numa_state *s, const struct guest_mem *gm,
                  int (*slot_of)(const void *arg, const char *id), const void *arg,
                  struct acpi_mem_range *out, struct acpi_pci_initiator *gi,
                  struct acpi_params *ap);

#endif
