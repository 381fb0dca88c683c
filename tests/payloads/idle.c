#include "lib.h"

/* Boots, says so, and halts forever with interrupts off: a baseline for memory measurements. */
void payload_main(uint32_t start_info)
{
    (void)start_info;
    serial_puts(PAYLOAD_MARK "ready idle\n");
    payload_halt();
}
