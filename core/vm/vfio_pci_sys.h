#ifndef CELLVM_CORE_VM_VFIO_PCI_SYS_H
#define CELLVM_CORE_VM_VFIO_PCI_SYS_H

#include <stddef.h>
#include <stdint.h>

/* The mapping side effects of passed-through BARs (see vfio_pci_bar.c). */

/* size bytes of fd at off, shared, read-write, never executable. NULL with errno on failure. */
void *vfio_sys_map_bar(int fd, uint64_t off, size_t size);
void vfio_sys_unmap_bar(void *addr, size_t size);

#endif
