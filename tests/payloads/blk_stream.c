#include "lib.h"

/*
 * The guest side of the respawn benchmark (tests/bench/respawn_bench.c, issue 19): a steady
 * stream of one-sector virtio-blk requests, one at a time, through the virtio-blk payload's
 * one-ring driver, with one '.' on the serial port after each completed request so the host
 * can timestamp every completion. Rounds alternate a write and a read-back that is verified, so
 * a replacement device process that lost or replayed a request wrongly shows as a FAIL. It
 * runs until the host stops the VM; a request waits up to about a minute of TSC time.
 */

#define payload_main virtio_blk_main
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "virtio_blk.c"
#pragma GCC diagnostic pop
#undef payload_main
#undef NAME

#define NAME         "blk-stream"
#define FIRST_SECTOR 2048u
#define SECTORS      64u
#define WAIT_CYCLES  (200ull * 1000 * 1000 * 1000)

static uint8_t pattern(uint32_t round, uint64_t sector, uint32_t i)
{
    return (uint8_t)((i & 1 ? round : sector) + i * 13u);
}

void payload_main(uint32_t start_info)
{
    uint8_t *data = (uint8_t *)(uintptr_t)DATA_GPA;

    (void)start_info;
    blk_bring_up(NAME);
    payload_say("streaming", "");
    for (uint32_t r = 1;; r++) {
        uint64_t s = FIRST_SECTOR + r % SECTORS;

        for (uint32_t i = 0; i < 512; i++)
            data[i] = pattern(r, s, i);
        if (!request_until(1, s, WAIT_CYCLES))
            payload_fail(NAME, "a write did not complete");
        serial_putc('.');
        memset(data, 0, 512);
        if (!request_until(0, s, WAIT_CYCLES))
            payload_fail(NAME, "a read did not complete");
        serial_putc('.');
        for (uint32_t i = 0; i < 512; i++)
            if (data[i] != pattern(r, s, i))
                payload_fail(NAME, "a read returned other data than was written");
    }
}
