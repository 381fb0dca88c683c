#include "lib.h"

#include "core/platform.h"

/*
 * Reboot paths. The boot count lives in CMOS NVRAM, which survives a guest reset: the first
 * boot resets through the ACPI reset register, the second through the i8042 (0xFE), the third
 * powers off. Each boot prints "CELLVM-PAYLOAD: boot N: ...", so a runner can count them.
 */

#define CMOS_BOOT_COUNT 0x40
#define I8042_RESET     0xfe

void payload_main(uint32_t start_info)
{
    uint8_t n = cmos_read(CMOS_BOOT_COUNT);

    (void)start_info;
    serial_init();
    cmos_write(CMOS_BOOT_COUNT, (uint8_t)(n + 1));
    if (n == 0) {
        payload_say("boot 1: acpi reset", "");
        payload_acpi_reset();
    }
    if (n == 1) {
        payload_say("boot 2: i8042 reset", "");
        outb(PORT_I8042_CMD, I8042_RESET);
        payload_halt();
    }
    payload_say("boot 3: power off", "");
    payload_check(n == 2, "boot count before this boot", n);
    payload_finish("reset");
}
