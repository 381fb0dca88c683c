#ifndef CELLVM_CORE_VM_VM_DEVICES_H
#define CELLVM_CORE_VM_VM_DEVICES_H

#include <stdbool.h>

#include "core/vm/acpi_pm.h"
#include "core/vm/bus.h"
#include "core/vm/ged.h"
#include "core/vm/i8042.h"
#include "core/vm/mem_hotplug.h"
#include "core/vm/log.h"
#include "core/vm/cpu_hotplug.h"
#include "core/vm/pci_hotplug.h"
#include "core/vm/rtc.h"
#include "core/vm/serial_host.h"
#include "core/vm/vmev.h"

/*
 * The platform devices in the vCPU exit path and the two buses that reach them. Everything is
 * registered from one table in vm_devices.c, in order, and torn down in reverse.
 */

struct vm_devices {
    struct bus pio, mmio;
    bool serial_enabled;
    struct serial_host serial;
    struct rtc rtc;
    struct i8042 kbd;
    struct acpi_pm pm;
    struct ged ged;
    struct pci_hotplug hp;
    struct cpu_hotplug cpuhp;
    struct mem_hotplug memhp; /* only with mem_hotplug_slots */
    bool memhp_on;
    int vm_fd; /* borrowed, for GED's interrupt */
    const struct log *log;
    unsigned int inited; /* how many init steps ran, for unwinding */
};

struct vm_devices_params {
    int vm_fd;
    struct vmev *ev;
    const struct log *log;
    bool serial_enabled;
    int serial_in_fd, serial_out_fd;
    uint32_t pci_segments;          /* 0 reads as 1 */
    uint32_t max_vcpus, boot_vcpus; /* the CPU hotplug registers' vCPUs */
    uint32_t mem_hotplug_slots;     /* 0: no memory hotplug registers */
    /* The guest ejected a PCI slot, a vCPU or a memory slot (pci_hotplug.h, cpu_hotplug.h,
     * mem_hotplug.h); vCPU thread. */
    void (*pci_eject)(void *arg);
    void *pci_eject_arg;
};

int vm_devices_init(struct vm_devices *d, const struct vm_devices_params *p);
void vm_devices_destroy(struct vm_devices *d);
/* Device state back to power-on (guest reboot); CMOS NVRAM is kept. */
void vm_devices_reset(struct vm_devices *d);
int vm_devices_start(struct vm_devices *d);
void vm_devices_stop(struct vm_devices *d);

#endif
