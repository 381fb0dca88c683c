#include <criterion/criterion.h>

#include "core/platform.h"
#include "core/vm/acpi_pm.h"
#include "core/vm/bus.h"
#include "core/vm/ged.h"
#include "core/vm/i8042.h"
#include "core/vm/vmev.h"

Test(power, acpi_sleep_and_reset)
{
    struct vmev ev;
    struct acpi_pm pm;
    struct bus b;
    uint64_t v;

    cr_assert_eq(vmev_init(&ev), 0);
    acpi_pm_init(&pm, &ev);
    bus_init(&b);
    cr_assert_eq(bus_add(&b, PORT_ACPI_PM_BASE, ACPI_PM_NR_PORTS, &acpi_pm_bus_ops, &pm, "pm"), 0);
    bus_write(&b, PORT_ACPI_SLEEP_CONTROL, 1, ACPI_S5_SLP_TYP << 2);
    cr_assert_eq(vmev_take(&ev), 0, "no SLP_EN");
    bus_write(&b, PORT_ACPI_SLEEP_CONTROL, 1, (3 << 2) | 0x20);
    cr_assert_eq(vmev_take(&ev), 0, "S3 is not supported");
    bus_write(&b, PORT_ACPI_SLEEP_CONTROL, 1, (ACPI_S5_SLP_TYP << 2) | 0x20);
    cr_assert_eq(vmev_take(&ev), VMEV_POWEROFF);
    bus_write(&b, PORT_ACPI_RESET, 1, 0x02);
    cr_assert_eq(vmev_take(&ev), 0);
    bus_write(&b, PORT_ACPI_RESET, 1, ACPI_RESET_VALUE);
    cr_assert_eq(vmev_wait(&ev, 1000), VMEV_REBOOT);
    bus_read(&b, PORT_ACPI_SLEEP_STATUS, 1, &v);
    cr_assert_eq(v, 0);
    vmev_destroy(&ev);
}

Test(power, i8042_reset)
{
    struct vmev ev;
    struct i8042 k;
    uint64_t v = 1;

    cr_assert_eq(vmev_init(&ev), 0);
    i8042_init(&k, &ev);
    i8042_cmd_bus_ops.read(&k, 0, 1, &v);
    cr_assert_eq(v, 0, "input buffer empty");
    i8042_cmd_bus_ops.write(&k, 0, 1, 0xaa);
    cr_assert_eq(vmev_take(&ev), 0);
    i8042_data_bus_ops.write(&k, 0, 1, 0xfe);
    cr_assert_eq(vmev_take(&ev), 0, "0xfe on the data port is no command");
    i8042_cmd_bus_ops.write(&k, 0, 1, 0xfe);
    cr_assert_eq(vmev_take(&ev), VMEV_REBOOT);
    vmev_destroy(&ev);
}

static void count_pulse(void *opaque)
{
    (*(int *)opaque)++;
}

Test(power, ged_read_clears)
{
    struct ged g;
    int pulses = 0;
    uint64_t v;

    ged_init(&g, count_pulse, &pulses);
    ged_bus_ops.read(&g, 0, 4, &v);
    cr_assert_eq(v, 0);
    ged_raise(&g, GED_EVENT_POWER_BUTTON);
    cr_assert_eq(pulses, 1);
    ged_bus_ops.read(&g, 4, 4, &v);
    cr_assert_eq(v, 0, "only the register at offset 0");
    ged_bus_ops.read(&g, 0, 4, &v);
    cr_assert_eq(v, GED_EVENT_POWER_BUTTON);
    ged_bus_ops.read(&g, 0, 4, &v);
    cr_assert_eq(v, 0, "read cleared it");
    ged_raise(&g, GED_EVENT_POWER_BUTTON);
    ged_reset(&g);
    ged_bus_ops.read(&g, 0, 4, &v);
    cr_assert_eq(v, 0);
}

Test(power, vmev_accumulates)
{
    struct vmev ev;

    cr_assert_eq(vmev_init(&ev), 0);
    cr_assert_eq(vmev_wait(&ev, 0), 0);
    vmev_post(&ev, VMEV_REBOOT);
    vmev_post(&ev, VMEV_STOP);
    cr_assert_eq(vmev_wait(&ev, -1), VMEV_REBOOT | VMEV_STOP);
    cr_assert_eq(vmev_take(&ev), 0);
    vmev_destroy(&ev);
}
