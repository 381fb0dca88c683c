#ifndef CELLVM_CORE_VM_PCI_H
#define CELLVM_CORE_VM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pci_layout.h"
#include "core/vm/bus.h"

/*
 * PCI segments (pci_layout.h), each a host bridge at 00.0 and up to 31 type-0 functions on bus 0,
 * reached through its 1 MiB of ECAM (segment 0 also through the legacy 0xCF8/0xCFC ports). Config space is 256 bytes per
 * function with a write mask; memory BARs are allocated from the segment's MMIO32 and MMIO64
 * windows and dispatched by their current address, so a guest may move them. One lock covers
 * every function's config space; device callbacks run with it held and may take their own lock
 * (bus lock first), never the other way round.
 */

#define PCI_SLOTS        32
#define PCI_CFG_SIZE     256
#define PCI_NUM_BARS     6
#define PCI_CAP_START    0x40
#define PCI_BAR_UNMAPPED UINT64_MAX

struct pci_dev;

struct pci_dev_ops {
    /* An access inside memory BAR `bar` at byte offset off (len 1, 2, 4 or 8). No lock held. */
    void (*bar_read)(struct pci_dev *d, unsigned bar, uint64_t off, uint32_t len, uint64_t *val);
    void (*bar_write)(struct pci_dev *d, unsigned bar, uint64_t off, uint32_t len, uint64_t val);
    /* A config write reached [off, off + len) (header or capability area; BAR decode already
     * updated); bytes already stored. Bus lock held. */
    void (*cfg_written)(struct pci_dev *d, uint32_t off, uint32_t len);
    /* Optional: a config read of [off, off + len) in the capability area or covering the
     * status register is about to return cfg's bytes; the device may refresh them first. Bus
     * lock held. */
    void (*cfg_read)(struct pci_dev *d, uint32_t off, uint32_t len);
    /* The BAR now decodes at addr, or stopped decoding (PCI_BAR_UNMAPPED). */
    void (*bar_mapped)(struct pci_dev *d, unsigned bar, uint64_t addr);
};

struct pci_dev {
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];
    uint64_t bar_size[PCI_NUM_BARS]; /* 0: no BAR there (or the upper half of a 64-bit one) */
    bool bar64[PCI_NUM_BARS];
    bool bar_prefetch[PCI_NUM_BARS]; /* set before pci_dev_add_bar: the prefetchable bit */
    uint64_t bar_home[PCI_NUM_BARS]; /* where the allocator put it: restored on reset */
    uint64_t bar_at[PCI_NUM_BARS];   /* last address reported to bar_mapped */
    const struct pci_dev_ops *ops;
    void *opaque;
    uint8_t slot;
    uint8_t cap_tail; /* offset of the next-pointer to patch for the next capability */
    uint8_t cap_free; /* first free byte of the capability area */
};

struct pci_window {
    struct pci_bus *bus;
    uint64_t start, end; /* [start, end) */
};

struct pci_bus {
    pthread_mutex_t lock;
    uint32_t seg;                     /* the PCI segment (domain) */
    struct pci_dev *slots[PCI_SLOTS]; /* borrowed; slot 0 is the host bridge */
    struct pci_dev host;
    uint32_t cf8; /* CONFIG_ADDRESS */
    struct pci_window mmio32, mmio64;
};

/* Every segment of a VM, decoded together: one ECAM range, one MMIO32 and one MMIO64 range
 * (each segment's windows are a part of them). */
struct pci_host {
    struct pci_bus *bus;               /* n of them, segment i at bus[i]; borrowed */
    uint32_t n;                        /* 1..PCI_MAX_SEGMENTS */
    uint64_t mmio64_start, mmio64_end; /* the whole MMIO64 aperture, may be empty */
};

/* Segment seg with the windows of l. 0 or -errno. */
int pci_bus_init_seg(struct pci_bus *b, uint32_t seg, const struct pci_seg_layout *l);
/* A lone segment 0: MMIO32 whole, mmio64 window [mmio64_start, mmio64_end) (may be empty). */
int pci_bus_init(struct pci_bus *b, uint64_t mmio64_start, uint64_t mmio64_end);
void pci_bus_destroy(struct pci_bus *b);
/* Claims ECAM and both apertures on mmio, 0xCF8/0xCFC (segment 0) on pio; h must outlive the
 * buses. 0 or -errno. */
int pci_host_register(struct pci_host *h, struct bus *pio, struct bus *mmio);

/* A type-0 header: ids, class code (24 bits) and revision, no interrupt pin. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
                  uint8_t revision, uint16_t subsys_id, const struct pci_dev_ops *ops,
                  void *opaque);
/* A memory BAR of size bytes (power of two, >= 4 KiB), placed in MMIO32 (or MMIO64 when
 * prefer64 and that window exists) at the lowest free address of the window (space of removed
 * functions is used again). 0 or -ENOSPC/-EINVAL. */
int pci_dev_add_bar(struct pci_bus *b, struct pci_dev *d, unsigned bar, uint64_t size, bool is64,
                    bool prefer64);
/* Appends a capability of len bytes (id and next pointer filled in); returns its offset or
 * -ENOSPC. The caller sets wmask for its writable bytes. */
int pci_dev_add_cap(struct pci_dev *d, uint8_t id, uint8_t len);
/* Puts d in the next free slot. 0 or -ENOSPC. */
int pci_bus_add(struct pci_bus *b, struct pci_dev *d);
/* Hot removal: memory decode off (bar_mapped reports every BAR unmapped), then the slot is
 * free and its BAR space can be allocated again. No vCPU may be inside d's callbacks (the
 * caller has stopped them). 0 or -ENOENT. */
int pci_bus_remove(struct pci_bus *b, struct pci_dev *d);

/* Power-on state for every function: command 0, BARs back home and unmapped. */
void pci_bus_reset(struct pci_bus *b);

/* Config access as ECAM decodes it (also used by tests). reg < 4096, len 1, 2 or 4. */
uint32_t pci_cfg_read(struct pci_bus *b, uint8_t bus, uint8_t dev, uint8_t fn, uint32_t reg,
                      uint32_t len);
void pci_cfg_write(struct pci_bus *b, uint8_t bus, uint8_t dev, uint8_t fn, uint32_t reg,
                   uint32_t len, uint32_t val);

#endif
