#include "ipc/dirty_log.h"

uint64_t dirty_log_bytes(uint64_t gpa_end)
{
    uint64_t pages = (gpa_end >> DIRTY_LOG_PAGE_SHIFT) + !!(gpa_end & (DIRTY_LOG_PAGE - 1));

    return (pages + 63) / 64 * 8;
}

void dirty_log_mark(uint8_t *base, uint64_t size, uint64_t gpa, uint64_t len)
{
    uint64_t first, last, limit;

    if (!base || !size || !len)
        return;
    limit = size * 8; /* pages the log holds; size <= DIRTY_LOG_MAX keeps this from wrapping */
    first = gpa >> DIRTY_LOG_PAGE_SHIFT;
    last = (len - 1 > UINT64_MAX - gpa ? UINT64_MAX : gpa + len - 1) >> DIRTY_LOG_PAGE_SHIFT;
    if (first >= limit)
        return;
    if (last >= limit)
        last = limit - 1;
    /* One atomic OR per byte touched: the bits of that byte the range covers. */
    for (uint64_t p = first; p <= last;) {
        uint64_t byte = p / 8, end = byte * 8 + 7 < last ? byte * 8 + 7 : last;
        uint8_t mask = (uint8_t)((0xffu << (p % 8)) & (0xffu >> (7 - end % 8)));

        __atomic_fetch_or(&base[byte], mask, __ATOMIC_RELEASE);
        p = end + 1;
    }
}

uint64_t dirty_log_take(uint8_t *base, uint64_t w)
{
    return __atomic_exchange_n((uint64_t *)(void *)(base + 8 * w), 0, __ATOMIC_ACQ_REL);
}

bool dirty_log_test(const uint8_t *base, uint64_t size, uint64_t page)
{
    if (!base || page / 8 >= size)
        return false;
    return __atomic_load_n(&base[page / 8], __ATOMIC_ACQUIRE) & (1u << (page % 8));
}
