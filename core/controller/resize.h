#ifndef CELLVM_CORE_CONTROLLER_RESIZE_H
#define CELLVM_CORE_CONTROLLER_RESIZE_H

#include <stdint.h>

#include "api.pb-c.h"
#include "control.pb-c.h"

struct api_ctl;

/*
 * vm.resize (issue 17), Cloud Hypervisor's answers: before boot the configuration changes
 * (204); on a booted VM the core adds vCPUs at once (204) or asks the guest to eject the
 * highest ones (204; 429 while an earlier removal still awaits the guest, which Kata retries);
 * then desired_ram above memory.size is added by ACPI memory hotplug: a memfd of the
 * difference (a 128 MiB multiple within what hotplug_size has left) goes to the core, which
 * answers MemoryAdded once every device process has it and the guest was told; memory.size
 * then grows (204). More than max_vcpus, zero, less RAM than now (Cloud Hypervisor ignores
 * that silently; cellvm refuses it) or memory zones: 500 with why. desired_balloon goes to
 * cellvm-balloond at once (balloon_ctl.h): 500 without a balloon, 400 at or above the RAM.
 */
void resize_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmResize *rz);
/* The core's answer to the VmResize sent for the request in a->vm_resize_id. */
void resize_on_done(struct api_ctl *a, const Cellvm__VmResizeDone *d);
/* The core's answer to the AddMemory sent for the request in a->vm_resize_id. */
void resize_on_memory_added(struct api_ctl *a, const Cellvm__MemoryAdded *m);
/* The core's answer to the VirtioMemResize of vm.resize's RAM step (resize_vmem.c). */
void resize_on_vmem_resized(struct api_ctl *a, const Cellvm__VirtioMemResized *m);
/* The VM's processes are gone: a resize still waiting for the core is answered (500). */
void resize_drop(struct api_ctl *a);

#endif
