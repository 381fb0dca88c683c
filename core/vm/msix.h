#ifndef CELLVM_CORE_VM_MSIX_H
#define CELLVM_CORE_VM_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vm/pci.h"

/*
 * One function's MSI-X: the capability in config space, the vector table and the pending-bit
 * array in a BAR. Pure state under the owner's lock: the owner decides what a mask change means
 * (detaching an irqfd, re-injecting a pending vector).
 */

#define MSIX_MAX_VECTORS 80
#define MSIX_NO_VECTOR   0xffff
#define MSIX_ENTRY_SIZE  16

struct msix {
    uint16_t nvec;
    uint8_t table[MSIX_MAX_VECTORS][MSIX_ENTRY_SIZE];
    uint64_t pba[(MSIX_MAX_VECTORS + 63) / 64];
    bool enabled, fmask; /* message control, as last synced */
    uint8_t *ctrl;       /* message control in the function's config space */
};

/* Adds the capability to d: nvec vectors, table and PBA at the offsets in BAR `bar`. 0 or
 * -errno. */
int msix_init(struct msix *m, struct pci_dev *d, uint16_t nvec, unsigned bar, uint32_t table_off,
              uint32_t pba_off);

/* Whether vector v may not be delivered now (disabled, function mask, vector mask). */
bool msix_masked(const struct msix *m, uint16_t v);
void msix_message(const struct msix *m, uint16_t v, uint64_t *addr, uint32_t *data);

/* Table and PBA accesses at off in their region; a table write returns the vector it touched
 * (-1 for none). */
void msix_table_read(const struct msix *m, uint64_t off, uint32_t len, uint64_t *val);
int msix_table_write(struct msix *m, uint64_t off, uint32_t len, uint64_t val);
void msix_pba_read(const struct msix *m, uint64_t off, uint32_t len, uint64_t *val);

void msix_set_pending(struct msix *m, uint16_t v, bool pending);
bool msix_pending(const struct msix *m, uint16_t v);

/* Picks up message control after a config write; true when enable or function mask changed. */
bool msix_sync_control(struct msix *m);

/* Power-on state: disabled, every vector masked, nothing pending. */
void msix_reset(struct msix *m);

#endif
