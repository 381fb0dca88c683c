#ifndef CELLVM_CORE_VM_VM_IOMMU_H
#define CELLVM_CORE_VM_VM_IOMMU_H

#include <stdbool.h>
#include <stddef.h>

#include "core/acpi/viot.h"
#include "core/vm/virtio_pci.h"

/* The VM's virtio-iommu (issue 20): see vm_iommu.c. */

struct vm;
struct vm_params;

/* With p->iommu, the virtio-iommu's params appended to *all (realloc'd), as the watchdog's are.
 * 0 or -errno with err. */
int vm_iommu_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                  char *err, size_t errlen);
/* Once the PCI devices exist: finds the IOMMU's own function. */
void vm_iommu_bind(struct vm *vm);
/* The vpci_ctx.iotlb_replay hook (NULL without an IOMMU). */
void vm_iommu_hook(struct vm *vm, int (**fn)(void *, struct vpci_dev *), void **arg);
/* The VIOT's content: 1 with out filled when the VM has an IOMMU, 0 (out empty) without. */
int vm_iommu_viot(const struct vm *vm, struct viot_params *out);
/* A hot-added virtio device: iommu=on only on an IOMMU segment, and only iommu=on there (Cloud
 * Hypervisor's rules; the VIOT cannot grow after boot). 0 or -EINVAL with err. */
int vm_iommu_check_hot_add(const struct vm *vm, const struct vpci_params *p, char *err,
                           size_t errlen);
/* A device leaves the VM (its guest ejected it): its endpoint no longer belongs to a domain, and
 * a device hot-added into the slot later starts detached. No message goes out. */
void vm_iommu_forget(struct vm *vm, const struct vpci_dev *d);
/* Guest reboot: every endpoint detached, no message sent (the devices are reset too). */
void vm_iommu_reboot(struct vm *vm);
void vm_iommu_destroy(struct vm *vm);

#endif
