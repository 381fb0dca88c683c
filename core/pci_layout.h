#ifndef CELLVM_CORE_PCI_LAYOUT_H
#define CELLVM_CORE_PCI_LAYOUT_H

#include <stdint.h>

#include "core/platform.h"

/*
 * Where each PCI segment lives, shared by the core (which decodes it) and the ACPI tables (which
 * describe it): ECAM at GPA_ECAM_START + seg MiB (bus 0 only), and the MMIO32 and MMIO64
 * apertures cut into nseg equal parts in segment order, MMIO32 parts aligned to 1 MiB and
 * MMIO64 parts to 1 GiB (Cloud Hypervisor splits by per-segment weights, all 1 by default).
 * An MMIO64 window too small to give each segment 1 GiB leaves the later segments empty
 * (start == end).
 */
struct pci_seg_layout {
    uint64_t ecam;
    uint64_t mmio32_start, mmio32_end; /* [start, end) */
    uint64_t mmio64_start, mmio64_end; /* [start, end), may be empty */
};

static inline void pci_seg_layout(uint32_t nseg, uint32_t seg, uint64_t mmio64_start,
                                  uint64_t mmio64_end, struct pci_seg_layout *l)
{
    const uint64_t a32 = 1ull << 20, a64 = 1ull << 30;
    uint64_t part32 = (GPA_MMIO32_END - GPA_MMIO32_START) / (nseg ? nseg : 1) / a32 * a32;
    uint64_t s64 = (mmio64_start + a64 - 1) / a64 * a64;
    uint64_t part64 = mmio64_end > s64 ? (mmio64_end - s64) / (nseg ? nseg : 1) / a64 * a64 : 0;

    l->ecam = GPA_ECAM_START + (uint64_t)seg * GPA_ECAM_SEG_SIZE;
    l->mmio32_start = GPA_MMIO32_START + seg * part32;
    l->mmio32_end = l->mmio32_start + part32;
    /* One segment keeps the whole window, as before segments existed. */
    if (nseg <= 1) {
        l->mmio64_start = mmio64_start;
        l->mmio64_end = mmio64_end > mmio64_start ? mmio64_end : mmio64_start;
        return;
    }
    l->mmio64_start = s64 + seg * part64;
    l->mmio64_end = l->mmio64_start + part64;
}

#endif
