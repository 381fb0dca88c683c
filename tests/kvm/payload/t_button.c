/*
 * ACPI power button: the runner calls vm_power_button(); the GED register must report the
 * event once (reads clear it) and IRQ_GED must reach the local APIC through the IOAPIC.
 */
#include "lib.h"

#define GED        0xfeb00000ull
#define IOAPIC     0xfec00000ull
#define LAPIC      0xfee00000ull
#define APIC_SVR   0xf0
#define APIC_IRR   0x200
#define GED_VECTOR 0x35
#define GED_PIN    5

static void ioapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC = reg;
    *(volatile uint32_t *)(uintptr_t)(IOAPIC + 0x10) = v;
}

void payload_main(uint64_t start_info)
{
    volatile uint32_t *ged = (volatile uint32_t *)(uintptr_t)GED;
    volatile uint32_t *irr =
        (volatile uint32_t *)(uintptr_t)(LAPIC + APIC_IRR + (GED_VECTOR / 32) * 0x10);
    unsigned long spins;
    uint32_t ev = 0;

    (void)start_info;
    serial_init();
    *(volatile uint32_t *)(uintptr_t)(LAPIC + APIC_SVR) = 0x1ff;
    ioapic_write(0x10 + 2 * GED_PIN + 1, 0);
    ioapic_write(0x10 + 2 * GED_PIN, GED_VECTOR);
    print("waiting for the power button\n");
    for (spins = 0; spins < 2000000000ul && !ev; spins++) {
        ev = *ged;
        __asm__ volatile("pause");
    }
    check(ev == 1, "ged power button event", ev);
    check(*ged == 0, "ged read cleared the event", 0);
    check(*irr & (1u << (GED_VECTOR % 32)), "ged interrupt reached the lapic", *irr);
    finish();
}
