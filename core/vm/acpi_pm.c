#include "core/vm/acpi_pm.h"

#include "core/platform.h"

#define SLP_EN            0x20
#define SLP_TYP(v)        (((v) >> 2) & 0x7)
#define OFF_SLEEP_CONTROL (PORT_ACPI_SLEEP_CONTROL - PORT_ACPI_PM_BASE)
#define OFF_RESET         (PORT_ACPI_RESET - PORT_ACPI_PM_BASE)

void acpi_pm_init(struct acpi_pm *pm, struct vmev *ev)
{
    pm->ev = ev;
}

static void pm_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    (void)opaque;
    (void)off;
    (void)len;
    /* Nothing latched: no wake status, no sleep in progress. */
    *val = 0;
}

static void pm_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct acpi_pm *pm = opaque;

    if (len != 1)
        return;
    if (off == OFF_SLEEP_CONTROL && (val & SLP_EN) && SLP_TYP(val) == ACPI_S5_SLP_TYP)
        vmev_post(pm->ev, VMEV_POWEROFF);
    else if (off == OFF_RESET && val == ACPI_RESET_VALUE)
        vmev_post(pm->ev, VMEV_REBOOT);
}

const struct bus_ops acpi_pm_bus_ops = {
    .read = pm_read,
    .write = pm_write,
};
