#ifndef CELLVM_IPC_DIRTY_LOG_H
#define CELLVM_IPC_DIRTY_LOG_H

/*
 * The vhost-user dirty log (issue 18): a bitmap over guest-physical 4 KiB pages, bit p % 8 of
 * byte p / 8 for page p = gpa >> 12, shared between the core (which creates it in a memfd for a
 * live migration and reads it) and every device process that writes guest memory (which sets
 * bits with atomic OR). The same arithmetic serves the core's own queue writes.
 */

#include <stdbool.h>
#include <stdint.h>

#define DIRTY_LOG_PAGE_SHIFT 12
#define DIRTY_LOG_PAGE       (1ull << DIRTY_LOG_PAGE_SHIFT)
/* The largest log a backend maps: 256 MiB covers 8 TiB of guest-physical space. */
#define DIRTY_LOG_MAX (256ull << 20)

/* Bytes of log covering guest-physical [0, gpa_end): one bit a page, whole 64-bit words. */
uint64_t dirty_log_bytes(uint64_t gpa_end);

/*
 * Marks every page [gpa, gpa + len) touches in the log of `size` bytes at base (atomic OR, so
 * any number of writers may share it). Pages beyond the log are ignored (the log bounds it);
 * len 0 marks nothing; a range that wraps is cut at the top of the address space.
 */
void dirty_log_mark(uint8_t *base, uint64_t size, uint64_t gpa, uint64_t len);

/* Reads and clears 64-bit word w (pages 64w .. 64w + 63) in one atomic exchange; the caller
 * keeps w < size / 8 and base 8-byte aligned. */
uint64_t dirty_log_take(uint8_t *base, uint64_t w);

/* Whether page is marked (tests, diagnostics); false beyond the log. */
bool dirty_log_test(const uint8_t *base, uint64_t size, uint64_t page);

#endif
