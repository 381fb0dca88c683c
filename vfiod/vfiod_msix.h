#ifndef CELLVM_VFIOD_VFIOD_MSIX_H
#define CELLVM_VFIOD_VFIOD_MSIX_H

/*
 * Which parts of a BAR a vfio-user client may map: everything but the pages that hold the
 * MSI-X table and the PBA, so every access to them reaches the core's emulation (the core
 * emulates MSI-X; a mapped table would let the guest program the real one). Pure functions over
 * a config-space copy, so they are unit-tested without a device.
 */

#include <stddef.h>
#include <stdint.h>

#include "ipc/vfio_user.h"

/* The MSI-X capability as the function's config space states it (PCI 3.0, 6.8.2). */
struct vfiod_msix {
    uint16_t table_size; /* entries, 1..2048 */
    uint8_t table_bar;   /* BIR: 0..5 (other values: no BAR holds it) */
    uint8_t pba_bar;
    uint32_t table_off; /* byte offset in table_bar */
    uint32_t pba_off;
};

/*
 * Walks the standard capability list of cfg (len bytes of config space, at least 64; a
 * bounded walk that stops at a loop or a pointer outside the buffer). 0 with *m filled, -ENOENT
 * when the function has no MSI-X capability, -EINVAL for a config space too short to hold one.
 */
int vfiod_msix_find(const uint8_t *cfg, size_t len, struct vfiod_msix *m);

/*
 * The mappable areas of BAR `bar` (size bytes) with pages of `page` bytes (a power of two):
 * the kernel's sparse areas in[0..nin) (nin 0: the whole BAR), each clipped to the BAR and
 * shrunk to whole pages, minus the page-aligned ranges holding the MSI-X table and the PBA when
 * they live in this BAR (m NULL: the function has no MSI-X). Written to out sorted by offset,
 * overlapping or touching areas merged. Returns the count (0: nothing is mappable), -E2BIG
 * when more than max areas result, -EINVAL for a bad page size.
 */
int vfiod_msix_sparse(const struct vfiod_msix *m, unsigned bar, uint64_t size, uint64_t page,
                      const struct vfu_sparse_area *in, unsigned nin, struct vfu_sparse_area *out,
                      unsigned max);

#endif
