#ifndef CELLVM_CORE_CONTROLLER_SNAPSHOT_CHECK_H
#define CELLVM_CORE_CONTROLLER_SNAPSHOT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "core/cli/cli.h"

/*
 * What a snapshot, a restore or a migration of the VM cfg describes cannot carry (issue 18),
 * checked before anything is written or started: a passed-through (VFIO or vfio-user) device,
 * as Cloud Hypervisor v51.0 refuses it; and what cellvm's state.json does not hold yet: RAM
 * hot-added through ACPI (mem_added bytes since boot, 0 on restore), memory zones, virtio-mem
 * (its plugged blocks), and the devices the core serves itself (virtio-pmem, virtio-watchdog),
 * whose queues and device state are not saved. A printable reason naming verb ("snapshot",
 * "restore", "migrate") and the device, in buf, or NULL when the VM can go.
 */
const char *snapshot_cfg_refusal(const struct cli_config *cfg, uint64_t mem_added, const char *verb,
                                 char *buf, size_t len);

#endif
