#include "lib.h"

/* Smallest boot check: the loader handed over a valid hvm_start_info and the UART prints. */
void payload_main(uint32_t start_info)
{
    const volatile uint32_t *si = (const volatile uint32_t *)(uintptr_t)start_info;

    if (si[0] != PAYLOAD_PVH_MAGIC)
        payload_fail("hello", "EBX does not point to an hvm_start_info");
    if (si[1] < 1)
        payload_fail("hello", "hvm_start_info version 0");
    payload_pass("hello");
}
