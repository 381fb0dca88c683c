#include "lib.h"

/*
 * Boots, says so, and halts forever with interrupts off: a baseline for memory measurements,
 * and a guest only the VMM can stop (vm_request_stop, or the runner's timeout).
 */
void payload_main(uint32_t start_info)
{
    (void)start_info;
    payload_say("ready idle", "");
    payload_halt();
}
