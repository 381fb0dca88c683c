#ifndef CELLVM_TESTS_UNIT_VFIOD_FAKE_DEV_H
#define CELLVM_TESTS_UNIT_VFIOD_FAKE_DEV_H

/*
 * A fake PCI device behind vfiod's device seam, for unit tests of the vfio-user server and of
 * its clients. Regions (9, as vfio-pci): BAR0 4 KiB read/write/mmap backed by a memfd (one sparse
 * area covering it, so clients see the sparse-mmap capability), BAR2 256 bytes trapped, config
 * space (index 7) 256 bytes with only the command register writable; other BARs absent.
 * Irqs (3): INTx count 1, MSI count 1, MSI-X count 8. Every set_irqs, dma_map and dma_unmap is
 * recorded; reset returns reset_ret (-ENOTTY by default, as QEMU's edu).
 */

#include <stdbool.h>
#include <stdint.h>

#include "vfiod/vfiod_dev.h"

#define FAKE_BAR0_SIZE 4096u
#define FAKE_BAR2_SIZE 256u
#define FAKE_CFG_SIZE  256u
#define FAKE_LOG       64

struct fake_irq_call {
    uint32_t flags, index, start, count;
    unsigned nfds_valid; /* how many of the fds were open at the call */
    uint8_t bools[8];
};

struct fake_dma_call {
    uint64_t iova, size;
    void *vaddr;
    uint32_t prot;
};

struct fake_dev {
    int bar0_fd; /* memfd, owned */
    uint8_t bar2[FAKE_BAR2_SIZE];
    uint8_t cfg[FAKE_CFG_SIZE];
    unsigned bar0_nsparse; /* 1 by default; 0: the whole BAR is mappable without a capability */
    int reset_ret;
    int dma_map_ret; /* returned by dma_map when nonzero (failure injection) */

    unsigned nirq_calls; /* all calls; the log keeps the first FAKE_LOG */
    struct fake_irq_call irq_calls[FAKE_LOG];
    int last_irq_fds[16]; /* the fd numbers of the last DATA_EVENTFD call */
    unsigned last_irq_nfds;

    unsigned nmap_calls, nunmap_calls;
    struct fake_dma_call map_calls[FAKE_LOG], unmap_calls[FAKE_LOG];
    unsigned live_maps;
    unsigned nresets;
};

extern const struct vfiod_dev_ops fake_dev_ops;

int fake_dev_init(struct fake_dev *d);
void fake_dev_fini(struct fake_dev *d);

#endif
