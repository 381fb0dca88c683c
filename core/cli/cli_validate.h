/* Checks across options, as Cloud Hypervisor v51.0 makes them once the whole command line is
 * parsed: queues against boot vCPUs, unique device ids, memory zones against --memory and
 * --numa. Returns 0 or -EINVAL with one line in `err`. */
#ifndef CELLVM_CORE_CLI_CLI_VALIDATE_H
#define CELLVM_CORE_CLI_CLI_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

int cli_validate(struct cli_config *cfg, char *err, size_t errlen);

/* The VM's boot RAM: --memory size plus every --memory-zone (Cloud Hypervisor's ram_size for
 * the balloon check). */
uint64_t cli_ram_size(const struct cli_config *cfg);

/* --balloon size against the RAM: Cloud Hypervisor refuses a balloon as big as the RAM or
 * bigger. 0 or -EINVAL with err. */
int cli_check_balloon(const struct cli_config *cfg, uint64_t size, char *err, size_t errlen);

/* The configuration's PCI segments: --platform num_pci_segments (1 when not given). */
uint32_t cli_num_pci_segments(const struct cli_config *cfg);

/* seg is one of --platform iommu_segments: its devices sit behind the virtio-iommu. */
bool cli_iommu_segment(const struct cli_config *cfg, uint32_t seg);

/* The VM has a virtio-iommu: a device asks for it (iommu=on) or --platform has IOMMU segments
 * (Cloud Hypervisor's VmConfig.iommu, as vm.info reports it). */
bool cli_vm_iommu(const struct cli_config *cfg);

#endif
