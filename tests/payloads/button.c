/*
 * ACPI power button: the runner calls vm_power_button(); the GED register must report the
 * event once (reads clear it) and IRQ_GED must reach the local APIC through the IOAPIC.
 */
#include "lib.h"

#include "core/platform.h"

#define GED_VECTOR 0x35
#define SPIN_MAX   2000000000ul

void payload_main(uint32_t start_info)
{
    unsigned long spins;
    uint32_t ev = 0;

    (void)start_info;
    serial_init();
    lapic_enable();
    ioapic_route(IRQ_GED, GED_VECTOR);
    payload_say("waiting for the power button", "");
    for (spins = 0; spins < SPIN_MAX && !ev; spins++) {
        ev = mmio_read32(GPA_GED_START);
        cpu_relax();
    }
    payload_check(ev == GED_EVENT_POWER_BUTTON, "ged power button event", ev);
    payload_check(mmio_read32(GPA_GED_START) == 0, "ged read cleared the event", 0);
    payload_check(lapic_irr_pending(GED_VECTOR), "ged interrupt reached the lapic", 0);
    payload_finish("button");
}
