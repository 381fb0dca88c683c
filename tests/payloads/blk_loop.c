#include "lib.h"

/*
 * A guest that keeps a virtio-blk device busy while its device process may be killed under it
 * (issue 19): ROUNDS rounds, each writing a sector with a pattern of its own (round number and
 * sector in every byte pair) and reading it back into a cleared buffer, one request at a time
 * through the same one-ring driver as the virtio-blk payload (whose helpers it includes). It
 * prints "round N" every REPORT_EVERY rounds so the runner knows when to strike, and PASS only
 * when every round read back exactly what it wrote. A request waits up to about a minute of
 * TSC time: a replacement device process must finish it.
 */

/* The virtio-blk payload's driver, without its own checks and entry point. */
#define payload_main virtio_blk_main
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "virtio_blk.c"
#pragma GCC diagnostic pop
#undef payload_main
#undef NAME

#define NAME         "blk-loop"
#define ROUNDS       300u
#define REPORT_EVERY 10u
#define FIRST_SECTOR 1024u
#define SECTORS      64u
#define WAIT_CYCLES  (200ull * 1000 * 1000 * 1000) /* ~1 min at a few GHz */

static uint8_t pattern(uint32_t round, uint64_t sector, uint32_t i)
{
    return (uint8_t)((i & 1 ? round : sector) + i * 7u);
}

void payload_main(uint32_t start_info)
{
    uint8_t *data = (uint8_t *)(uintptr_t)DATA_GPA;

    (void)start_info;
    blk_bring_up(NAME);
    payload_say("looping", "");
    for (uint32_t r = 1; r <= ROUNDS; r++) {
        uint64_t s = FIRST_SECTOR + r % SECTORS;

        for (uint32_t i = 0; i < 512; i++)
            data[i] = pattern(r, s, i);
        if (!request_until(1, s, WAIT_CYCLES))
            payload_fail(NAME, "a write did not complete");
        memset(data, 0, 512);
        if (!request_until(0, s, WAIT_CYCLES))
            payload_fail(NAME, "a read did not complete");
        for (uint32_t i = 0; i < 512; i++)
            if (data[i] != pattern(r, s, i))
                payload_fail(NAME, "a read returned other data than was written");
        if (r % REPORT_EVERY == 0) {
            serial_puts(PAYLOAD_MARK "round ");
            serial_puthex(r);
            serial_puts("\n");
        }
    }
    payload_pass(NAME);
}
