#ifndef CELLVM_CORE_VM_BUS_H
#define CELLVM_CORE_VM_BUS_H

#include <stdint.h>

/*
 * An address-range table for one kind of exit (port I/O or MMIO). Ranges are registered before
 * any vCPU runs and never change while they run, so lookups take no lock; each device locks
 * its own state. Handlers get the offset into their range and an access of 1, 2, 4 or 8 bytes.
 */

struct bus_ops {
    /* Fills *val (already all-ones) for a read of len bytes at off. */
    void (*read)(void *opaque, uint64_t off, uint32_t len, uint64_t *val);
    void (*write)(void *opaque, uint64_t off, uint32_t len, uint64_t val);
};

struct bus_range {
    uint64_t base, len;
    const struct bus_ops *ops;
    void *opaque;
    const char *name;
};

#define BUS_MAX_RANGES 32

struct bus {
    struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base, non-overlapping */
    unsigned int n;
};

void bus_init(struct bus *b);
/* -EINVAL for an empty or wrapping range, -EEXIST on overlap, -ENOSPC when full. */
int bus_add(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *opaque,
            const char *name);
const struct bus_range *bus_find(const struct bus *b, uint64_t addr);

/*
 * Dispatch an access. Returns 1 when a device handled it, 0 when nothing is mapped there (reads
 * then yield all-ones), so the caller can log. Accesses that straddle the end of a range go to
 * the device anyway: the device sees off + len past its length and must bound itself.
 */
int bus_read(const struct bus *b, uint64_t addr, uint32_t len, uint64_t *val);
int bus_write(const struct bus *b, uint64_t addr, uint32_t len, uint64_t val);

/* All-ones of len bytes (len 1..8). */
uint64_t bus_ones(uint32_t len);

#endif
