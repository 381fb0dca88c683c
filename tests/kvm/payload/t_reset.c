/*
 * Reboot paths. The boot count lives in CMOS NVRAM, which survives a guest reset: the first
 * boot resets through the ACPI reset register, the second through the i8042 (0xFE), the third
 * powers off.
 */
#include "lib.h"

#define CMOS_BOOT_COUNT 0x40

void payload_main(uint64_t start_info)
{
    uint8_t n = cmos_read(CMOS_BOOT_COUNT);

    (void)start_info;
    serial_init();
    cmos_write(CMOS_BOOT_COUNT, (uint8_t)(n + 1));
    if (n == 0) {
        print("boot 1: acpi reset\n");
        acpi_reset();
    }
    if (n == 1) {
        print("boot 2: i8042 reset\n");
        outb(0x64, 0xfe);
        halt_forever();
    }
    check(n == 2, "boot 3", n);
    finish();
}
