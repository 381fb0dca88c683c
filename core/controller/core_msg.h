#ifndef CELLVM_CORE_CONTROLLER_CORE_MSG_H
#define CELLVM_CORE_CONTROLLER_CORE_MSG_H

/*
 * The CoreConfig message the controller sends cellvm-core after its Hello: the VM's vCPUs,
 * memory, zones, virtio-mem regions, NUMA nodes, SMBIOS strings and pmem files, with the fds the
 * controller opened for it (/dev/kvm, guest RAM, kernel, initramfs, serial, snapshot files) in
 * the order of their roles.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/controller/controller.h"
#include "validate.h"

/* What the core is told, and the fds it gets, in the same order. */
struct core_msg {
    Cellvm__Envelope env;
    Cellvm__CoreConfig cfg;
    Cellvm__CpuConfig cpus;
    Cellvm__MemoryConfig mem;
    Cellvm__CpuAffinity aff[PB_MAX_VCPUS];
    Cellvm__CpuAffinity *affp[PB_MAX_VCPUS];
    Cellvm__CoreFd roles[PB_MAX_CORE_FDS];
    int fds[PB_MAX_CORE_FDS];
    Cellvm__MemoryZone zone[PB_MAX_ZONES];
    Cellvm__MemoryZone *zonep[PB_MAX_ZONES];
    Cellvm__VirtioMemRegion vmem[PB_MAX_ZONES];
    Cellvm__VirtioMemRegion *vmemp[PB_MAX_ZONES];
    Cellvm__NumaNode node[PB_MAX_NUMA_NODES];
    Cellvm__NumaNode *nodep[PB_MAX_NUMA_NODES];
    uint32_t node_zones[PB_MAX_NUMA_NODES][PB_MAX_ZONES];
    Cellvm__NumaDistance dist[PB_MAX_NUMA_NODES][PB_MAX_NUMA_NODES];
    Cellvm__NumaDistance *distp[PB_MAX_NUMA_NODES][PB_MAX_NUMA_NODES];
    Cellvm__Smbios smbios;
    Cellvm__PmemDevice pmem[PB_MAX_PMEM];
    Cellvm__PmemDevice *pmemp[PB_MAX_PMEM];
};

_Static_assert(RESOURCES_MAX_ZONES == PB_MAX_ZONES, "one fd per zone");
_Static_assert(CLI_MAX_GUEST_ZONES <= PB_MAX_ZONES, "the CLI refuses what the core cannot take");
_Static_assert(CLI_MAX_NUMA_ID < PB_MAX_NUMA_NODES, "the CLI refuses ids the core cannot take");

/* The page size of guest memory with these --memory/--memory-zone keys: 0 for the host's
 * base pages (no hugepages), else hugepage_size or 2 MiB. */
uint64_t core_msg_page_size(bool hugepages, bool has_size, uint64_t size);

/* Fills m from ctl's configuration and opened resources; m borrows from ctl. */
void core_msg_build(struct controller *ctl, struct core_msg *m);

#endif
