#ifndef CELLVM_CORE_CONTROLLER_SNAPSHOT_CHECK_H
#define CELLVM_CORE_CONTROLLER_SNAPSHOT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "core/cli/cli.h"

/*
 * What a snapshot, a restore or a migration of the VM cfg describes cannot carry (issue 18),
 * checked before anything is written or started: a passed-through (VFIO or vfio-user) device,
 * as Cloud Hypervisor v51.0 refuses it; a migration ("migrate") of RAM hot-added through ACPI
 * (mem_added bytes since boot, 0 on restore), whose layout the destination cannot know before
 * the state arrives (snapshot and restore carry it; the core's sender refuses it too, for a
 * restored VM whose controller saw no resize); a migration of virtio-pmem,
 * whose content is its file (snapshot and restore keep it there, as Cloud Hypervisor does);
 * and a pmem whose file= is a directory (an unnamed temporary file nothing can open again).
 * The virtio-watchdog goes everywhere. A printable reason naming verb ("snapshot",
 * "restore", "migrate") and the device, in buf, or NULL when the VM can go.
 */
const char *snapshot_cfg_refusal(const struct cli_config *cfg, uint64_t mem_added, const char *verb,
                                 char *buf, size_t len);

#endif
