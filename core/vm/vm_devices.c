#include "core/vm/vm_devices.h"

#include <stddef.h>
#include <string.h>

#include "core/platform.h"
#include "core/vm/kvm_ioctl.h"

static void sink_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    (void)opaque;
    (void)off;
    (void)len;
    (void)val; /* stays all-ones */
}

static void sink_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    (void)opaque;
    (void)off;
    (void)len;
    (void)val;
}

/* Port 0x80: Linux's I/O delay and POST codes; claimed so it is not logged as unknown. */
static const struct bus_ops sink_bus_ops = { .read = sink_read, .write = sink_write };

enum dev_bus { DEV_PIO, DEV_MMIO };

struct dev_slot {
    const char *name;
    enum dev_bus bus;
    uint64_t base, len;
    const struct bus_ops *ops;
    size_t ctx;  /* offset of the device state in struct vm_devices */
    bool serial; /* only with serial_enabled */
};

static const struct dev_slot dev_table[] = {
    { "com1", DEV_PIO, PORT_SERIAL_COM1, SERIAL_NR_PORTS, &serial_bus_ops,
      offsetof(struct vm_devices, serial.uart), true },
    { "i8042-data", DEV_PIO, PORT_I8042_DATA, 1, &i8042_data_bus_ops,
      offsetof(struct vm_devices, kbd), false },
    { "i8042-cmd", DEV_PIO, PORT_I8042_CMD, 1, &i8042_cmd_bus_ops, offsetof(struct vm_devices, kbd),
      false },
    { "cmos", DEV_PIO, PORT_CMOS_INDEX, 2, &rtc_bus_ops, offsetof(struct vm_devices, rtc), false },
    { "post", DEV_PIO, PORT_POST_CODE, 1, &sink_bus_ops, 0, false },
    { "acpi-pm", DEV_PIO, PORT_ACPI_PM_BASE, ACPI_PM_NR_PORTS, &acpi_pm_bus_ops,
      offsetof(struct vm_devices, pm), false },
    { "ged", DEV_MMIO, GPA_GED_START, GPA_GED_SIZE, &ged_bus_ops, offsetof(struct vm_devices, ged),
      false },
    { "pci-hotplug", DEV_MMIO, GPA_PCI_HOTPLUG_START, GPA_PCI_HOTPLUG_SIZE, &pci_hotplug_bus_ops,
      offsetof(struct vm_devices, hp), false },
    { "cpu-hotplug", DEV_MMIO, GPA_CPU_HOTPLUG_START, GPA_CPU_HOTPLUG_SIZE, &cpu_hotplug_bus_ops,
      offsetof(struct vm_devices, cpuhp), false },
};

static void ged_pulse(void *opaque)
{
    struct vm_devices *d = opaque;
    int r = kvm_irq_line(d->vm_fd, IRQ_GED, 1);

    if (!r)
        r = kvm_irq_line(d->vm_fd, IRQ_GED, 0);
    if (r < 0)
        log_warn(d->log, "ged: KVM_IRQ_LINE: %s", strerror(-r));
}

static int register_all(struct vm_devices *d)
{
    size_t i;
    int r;

    for (i = 0; i < sizeof(dev_table) / sizeof(dev_table[0]); i++) {
        const struct dev_slot *s = &dev_table[i];
        struct bus *b = s->bus == DEV_PIO ? &d->pio : &d->mmio;

        if (s->serial && !d->serial_enabled)
            continue;
        r = bus_add(b, s->base, s->len, s->ops, (char *)d + s->ctx, s->name);
        if (r < 0) {
            log_error(d->log, "%s: cannot register at 0x%llx: %s", s->name,
                      (unsigned long long)s->base, strerror(-r));
            return r;
        }
    }
    if (!d->memhp_on)
        return 0;
    r = bus_add(&d->mmio, GPA_MEM_HOTPLUG_START, GPA_MEM_HOTPLUG_SIZE, &mem_hotplug_bus_ops,
                &d->memhp, "mem-hotplug");
    if (r < 0)
        log_error(d->log, "mem-hotplug: cannot register at 0x%llx: %s",
                  (unsigned long long)GPA_MEM_HOTPLUG_START, strerror(-r));
    return r;
}

/* Init steps, unwound in reverse by vm_devices_destroy() up to d->inited. */
enum { STEP_SERIAL = 1, STEP_RTC, STEP_HOTPLUG, STEP_CPU_HOTPLUG, STEP_MEM_HOTPLUG, STEP_DONE };

int vm_devices_init(struct vm_devices *d, const struct vm_devices_params *p)
{
    int r;

    memset(d, 0, sizeof(*d));
    d->vm_fd = p->vm_fd;
    d->log = p->log;
    d->serial_enabled = p->serial_enabled;
    bus_init(&d->pio);
    bus_init(&d->mmio);

    r = serial_host_init(&d->serial, p->vm_fd, p->serial_in_fd, p->serial_out_fd, p->log);
    if (r < 0)
        goto out;
    d->inited = STEP_SERIAL;
    r = rtc_init(&d->rtc, NULL, NULL);
    if (r < 0)
        goto out;
    d->inited = STEP_RTC;
    r = pci_hotplug_init(&d->hp, p->pci_segments ? p->pci_segments : 1, p->pci_eject,
                         p->pci_eject_arg);
    if (r < 0)
        goto out;
    d->inited = STEP_HOTPLUG;
    r = cpu_hotplug_init(&d->cpuhp, p->max_vcpus, p->boot_vcpus, p->pci_eject, p->pci_eject_arg);
    if (r < 0)
        goto out;
    d->inited = STEP_CPU_HOTPLUG;
    if (p->mem_hotplug_slots) {
        r = mem_hotplug_init(&d->memhp, p->mem_hotplug_slots, p->pci_eject, p->pci_eject_arg);
        if (r < 0)
            goto out;
        d->memhp_on = true;
    }
    d->inited = STEP_MEM_HOTPLUG;
    i8042_init(&d->kbd, p->ev);
    acpi_pm_init(&d->pm, p->ev);
    ged_init(&d->ged, ged_pulse, d);
    r = register_all(d);
    if (r < 0)
        goto out;
    d->inited = STEP_DONE;
out:
    if (r < 0)
        vm_devices_destroy(d);
    return r;
}

void vm_devices_destroy(struct vm_devices *d)
{
    if (d->inited >= STEP_MEM_HOTPLUG && d->memhp_on)
        mem_hotplug_destroy(&d->memhp);
    if (d->inited >= STEP_CPU_HOTPLUG)
        cpu_hotplug_destroy(&d->cpuhp);
    if (d->inited >= STEP_HOTPLUG)
        pci_hotplug_destroy(&d->hp);
    if (d->inited >= STEP_RTC)
        rtc_destroy(&d->rtc);
    if (d->inited >= STEP_SERIAL)
        serial_host_destroy(&d->serial);
    d->inited = 0;
}

void vm_devices_reset(struct vm_devices *d)
{
    serial_reset(&d->serial.uart);
    ged_reset(&d->ged);
    pci_hotplug_reset(&d->hp);
    cpu_hotplug_reset(&d->cpuhp);
    if (d->memhp_on)
        mem_hotplug_reset(&d->memhp);
}

int vm_devices_start(struct vm_devices *d)
{
    return d->serial_enabled ? serial_host_start_input(&d->serial) : 0;
}

void vm_devices_stop(struct vm_devices *d)
{
    serial_host_stop_input(&d->serial);
}
