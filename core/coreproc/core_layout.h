#ifndef CELLVM_CORE_CORE_LAYOUT_H
#define CELLVM_CORE_CORE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"
#include "core/vm/vm.h"
#include "validate.h"

/*
 * Guest memory and CPU placement as the CoreConfig describes them: one shared mapping per
 * memory zone (bound to its host node and prefaulted when asked), the guest NUMA layout and
 * the vCPU affinity, in the shapes vm_create takes. The config was validated on receipt
 * (pb_validate_core_config), so indices here are in range.
 */
struct core_layout {
    struct {
        uint8_t *host; /* owned mapping */
        uint64_t size;
    } zone[GUEST_MEM_MAX_ZONES];
    uint32_t nzones;
    struct {
        uint8_t *host; /* owned mapping of a virtio-mem region */
        uint64_t size;
    } vmem_map[GUEST_MEM_MAX_ZONES];
    struct vm_vmem_params vmem[GUEST_MEM_MAX_ZONES];
    uint32_t nvmem;
    struct {
        uint8_t *host; /* owned mapping of a virtio-pmem file */
        uint64_t size;
    } pmem_map[GUEST_MEM_MAX_PMEM];
    struct vm_pmem_params pmem[GUEST_MEM_MAX_PMEM];
    uint32_t npmem;
    /* vm.restore of a VM vm.resize gave RAM (set before core_layout_apply): the regions to
     * make again at the same places, from the end of memory.size's memfd (its last bytes). */
    struct {
        uint64_t gpa, size;
    } hot[GUEST_MEM_MAX_HOTPLUG];
    uint32_t nhot;
    struct guest_mem mem;
    uint32_t cpu_node[PB_MAX_VCPUS];
    uint32_t zone_node[GUEST_MEM_MAX_ZONES];
    uint8_t distances[PB_MAX_NUMA_NODES * PB_MAX_NUMA_NODES];
    struct vm_cpu_affinity affinity[PB_MAX_VCPUS];
    struct vm_numa_initiator initiators[PB_MAX_NUMA_NODES]; /* ids borrowed from the config */
};

void core_layout_init(struct core_layout *l);

/*
 * Maps every zone and virtio-mem region (fds[i] is the fd of cfg->fds[i]) and fills p->mem,
 * p->vmem, p->numa and p->affinity, which point into l. 0, or -errno with one line in err.
 */
int core_layout_apply(struct core_layout *l, const Cellvm__CoreConfig *cfg, const int *fds,
                      struct vm_params *p, char *err, size_t errlen);

void core_layout_release(struct core_layout *l);

#endif
