#include "lib.h"

#include "core/platform.h"

/*
 * Prints a boot line and resets. The runner counts "CELLVM-PAYLOAD: boot reset" lines (each
 * is one boot, so two lines prove a reset brought the guest back) and stops the VM itself.
 */
static const struct {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed)) empty_idt;

void payload_main(uint32_t start_info)
{
    (void)start_info;
    serial_puts(PAYLOAD_MARK "boot reset\n");
    outb(PORT_ACPI_RESET, ACPI_RESET_VALUE);
    /* Not reset yet (not cellvm): try the keyboard controller, then a triple fault. */
    outb(PORT_I8042_CMD, 0xfe);
    __asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
    payload_halt();
}
