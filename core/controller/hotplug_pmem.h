#ifndef CELLVM_CORE_CONTROLLER_HOTPLUG_PMEM_H
#define CELLVM_CORE_CONTROLLER_HOTPLUG_PMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "api.pb-c.h"
#include "control.pb-c.h"

struct api_ctl;

/*
 * vm.add-pmem (issue 20). The PmemConfig is parsed by --pmem's own parser and checked with the
 * whole configuration (id unique, pci_segment below num_pci_segments, ...). Before boot it
 * joins the configuration (204, Cloud Hypervisor's cold add); on a booted VM the controller
 * opens the file as --pmem does (a directory gets a temporary file of size; a file smaller
 * than size is refused) and the core maps it, hands the region to every device process and
 * puts a virtio-pmem function on the bus: 200 with {"id","bdf"}. Input the VM cannot take (the
 * configuration check, the file, an id the core already has, no pmem slot or address space,
 * a segment the VM lacks) is answered 400 and leaves nothing behind; the VM keeps running. A
 * body without `file` is 500, as Cloud Hypervisor's file lists. One vm.add-pmem at a time.
 */
void hotplug_pmem_add(struct api_ctl *a, uint64_t id, const Cellvm__ApiPmemConfig *pc);

/* The core's DeviceAdded for the pending vm.add-pmem: true when it was that (consumed). */
bool hotplug_pmem_on_added(struct api_ctl *a, const Cellvm__DeviceAdded *m);

/* vm.remove-device of a virtio-pmem device (no device row: the core serves it): true when
 * dev_id is one (answered: 204 once the guest is asked; the region goes when it ejects). */
bool hotplug_pmem_remove(struct api_ctl *a, uint64_t id, const char *dev_id);

/* DeviceEjected for a virtio-pmem device: it leaves the configuration, device-removed goes
 * out. True when dev_id was one. */
bool hotplug_pmem_on_ejected(struct api_ctl *a, const char *dev_id);

/* The VM's processes are gone (hotplug_drop) or the API ends: a pending add is answered 500
 * and leaves the configuration; the timer is freed on close. */
void hotplug_pmem_drop(struct api_ctl *a);
void hotplug_pmem_close(struct api_ctl *a);

#endif
