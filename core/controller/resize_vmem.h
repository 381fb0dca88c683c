#ifndef CELLVM_CORE_CONTROLLER_RESIZE_VMEM_H
#define CELLVM_CORE_CONTROLLER_RESIZE_VMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "control.pb-c.h"
#include "core/controller/supervise.h"

struct api_ctl;

/*
 * virtio-mem (issue 17), Cloud Hypervisor's semantics. Each zone with a hotplug_size (or the
 * default memory) has a virtio-mem device whose region of hotplug_size lies above RAM; what the
 * guest should have plugged is its requested size, hotplugged_size in vm.info.
 */

/* Whether vm.resize's desired_ram goes through virtio-mem (hotplug_method=virtio-mem). */
bool resize_vmem_on(const struct api_ctl *a);

/*
 * vm.resize desired_ram with virtio-mem, checked against the configuration: 0 when it may go
 * ahead, else a 500 message in msg. Memory zones (InvalidResizeWithMemoryZones), less than
 * memory.size (InvalidResizeBelowBootSize), no hotplug_size, more than it holds, not a multiple
 * of the 2 MiB block: refused.
 */
int resize_vmem_check(const struct api_ctl *a, uint64_t want, bool booted, char *msg, size_t len);
/* Sends the default memory's device its new requested size (want - memory.size). 0, or -errno
 * with msg. */
int resize_vmem_send_ram(struct api_ctl *a, struct sv_child *core, uint64_t want, char *msg,
                         size_t len);

/*
 * vm.resize-zone {id, desired_ram}: before boot the zone's size becomes desired_ram (204); on a
 * booted VM the zone's device gets desired_ram - size as its requested size and the zone's
 * hotplugged_size follows (204 once the core did it). No such zone, no zones, less than the
 * zone's size, a zone without hotplug_size, or the device refusing: 500 with why; 429 while
 * another resize waits for the core.
 */
void resize_zone_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmResizeZone *rz);

/* The core's answer to a VirtioMemResize: closes the vm.resize-zone waiting for it, or hands
 * it to vm.resize's RAM step (resize_on_vmem_resized). */
void resize_vmem_on_resized(struct api_ctl *a, const Cellvm__VirtioMemResized *m);

/* The VM's processes are gone: a vm.resize-zone still waiting is answered (500). */
void resize_vmem_drop(struct api_ctl *a);

#endif
