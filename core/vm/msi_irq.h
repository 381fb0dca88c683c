#ifndef CELLVM_CORE_VM_MSI_IRQ_H
#define CELLVM_CORE_VM_MSI_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vm/gsi.h"
#include "core/vm/msix.h"

/*
 * What every MSI/MSI-X source of the core does with its eventfd (virtio-pci's call fds,
 * passed-through vectors): while the vector may deliver, the eventfd is a KVM irqfd on the
 * vector's MSI route; while it is masked or disabled, no irqfd, so a signal stays in the
 * eventfd's counter for the owner to latch.
 */

/*
 * deliver: points *gsi (allocated on first use, kept afterwards) at (addr, data) and binds fd's
 * irqfd there; otherwise unbinds it. *bound is the GSI fd is bound to (GSI_NONE: none), kept
 * up to date on failure too. 0, -ENOSPC (no free GSI), or the routing or KVM_IRQFD -errno.
 */
int msi_irq_bind(struct gsi_table *g, int vm_fd, int fd, bool deliver, uint64_t addr, uint32_t data,
                 uint32_t *gsi, uint32_t *bound);

/* Every vector latched pending that may deliver now is injected (KVM_SIGNAL_MSI) and its
 * pending bit cleared. The owner's lock held. */
void msi_irq_flush_pending(struct msix *m, int vm_fd);

#endif
