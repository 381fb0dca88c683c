/* Halts with interrupts off forever: only vm_request_stop() ends this VM. */
#include "lib.h"

void payload_main(uint64_t start_info)
{
    (void)start_info;
    serial_init();
    print("halting\n");
    halt_forever();
}
