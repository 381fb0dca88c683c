#ifndef CELLVM_CORE_VM_VIRTIO_PCI_LOCAL_H
#define CELLVM_CORE_VM_VIRTIO_PCI_LOCAL_H

#include "core/vm/virtio_pci.h"
#include "core/vm/vring_req.h"

/*
 * Frontend thread, the driver kicked queue 0 of a core-served device (virtio-mem, virtio-pmem):
 * at most budget requests answered by fn(arg) while the driver is ready and the queue enabled;
 * then locked(arg, d), if not NULL, still under the device lock. A malformed ring marks the
 * device as needing a reset (`what` says which queue); requests left over are served after the
 * other devices' turn.
 */
void vpci_local_serve(struct vpci_dev *d, unsigned budget, vring_req_fn fn, void *arg,
                      void (*locked)(void *arg, struct vpci_dev *d), const char *what);

#endif
