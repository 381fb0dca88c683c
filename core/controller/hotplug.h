#ifndef CELLVM_CORE_CONTROLLER_HOTPLUG_H
#define CELLVM_CORE_CONTROLLER_HOTPLUG_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"

struct api_ctl;

/* Which list of the configuration a hot-added device is in. */
enum hotplug_kind {
    HOTPLUG_DISK,
    HOTPLUG_NET,
    HOTPLUG_VSOCK,
    HOTPLUG_DEVICE,
    HOTPLUG_USER_DEVICE,
    HOTPLUG_FS,
};

/*
 * PCI hotplug on a booted (running or paused) VM. The API layer has already added the device
 * to a->cfg (validated, its id filled in) at `index` of the kind's list (0 for the vsock);
 * hotplug_add starts its process, hands it to the core and answers request `id` itself: 200
 * with {"id","bdf"} once the guest has been told, or an error after taking the entry out of
 * a->cfg again.
 */
void hotplug_add(struct api_ctl *a, uint64_t id, enum hotplug_kind kind, size_t index);

/* vm.remove-device on a booted VM: answers 204 at once when the device exists and is not being
 * removed (the rest happens when the guest ejects), an error otherwise. */
void hotplug_remove(struct api_ctl *a, uint64_t id, const char *dev_id);

/* The core's answers (from the controller's core message handler): a hot-added device is on
 * the bus or was refused; a device left the VM (the guest ejected it) or cannot be removed. */
void hotplug_on_added(struct api_ctl *a, const Cellvm__DeviceAdded *m);
void hotplug_on_ejected(struct api_ctl *a, const Cellvm__DeviceEjected *m);
/* The VM's processes are gone: adds still in progress are answered (500) and leave the
 * configuration; removals in progress end with the VM (the device stays configured). */
void hotplug_drop(struct api_ctl *a);

#endif
