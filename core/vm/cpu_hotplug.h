#ifndef CELLVM_CORE_VM_CPU_HOTPLUG_H
#define CELLVM_CORE_VM_CPU_HOTPLUG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"
#include "core/vm/bus.h"

/*
 * Cloud Hypervisor's ACPI CPU hotplug controller (\_SB_.PRES in the DSDT, its methods in
 * \_SB_.CPUS): 12 bytes at GPA_CPU_HOTPLUG_START.
 *   0 CSEL   dword read/write: the selected vCPU (any value is kept; one of max_vcpus or more
 *            selects nothing)
 *   4 status byte, of the selected vCPU (reads 0 when none is selected):
 *            bit 0 CPEN  read: the vCPU is enabled (runs, or may run)
 *            bit 1 CINS  read: inserting, not yet seen by the guest; write 1: clears it
 *            bit 2 CRMV  read: the host asked for removal; write 1: clears it
 *            bit 3 CEJ0  write 1: the guest ejected the vCPU (its _EJ0 ran)
 *   5 CCMD, 8 CDAT  unused, as in Cloud Hypervisor
 * The status byte is read and written with a 1-, 2- or 4-byte access at offset 4 (the AML's
 * Field is ByteAcc); CSEL with a 4-byte access. Other offsets and widths read 0 and ignore
 * writes.
 *
 * Hot-add (vm.resize up): the core creates the vCPU, then cpu_hotplug_insert, then raises
 * GED_EVENT_CPU; the guest's CSCN notifies Cxxx (device check), reads CPEN through _STA and
 * onlines the CPU with INIT/SIPI. Hot-remove (vm.resize down): cpu_hotplug_request_remove,
 * GED_EVENT_CPU; the guest offlines the CPU and runs _EJ0, which sets CEJ0: the vCPU is
 * disabled at once (so _STA right after _EJ0 reads absent, as Linux checks) and latched, and
 * eject(opaque) is called. The vCPU path only latches: eject must do no more than wake whoever
 * calls cpu_hotplug_take_ejects, which then stops those vCPU threads. An eject of a vCPU that
 * is not enabled is ignored.
 */
#define CPU_HOTPLUG_MAX_VCPUS 255 /* PB_MAX_VCPUS */
#define CPU_HOTPLUG_WORDS     ((CPU_HOTPLUG_MAX_VCPUS + 63) / 64)

struct cpu_hotplug {
    pthread_mutex_t lock;
    uint32_t max_vcpus; /* 1..CPU_HOTPLUG_MAX_VCPUS */
    uint32_t sel;       /* CSEL */
    uint64_t enabled[CPU_HOTPLUG_WORDS];
    uint64_t inserting[CPU_HOTPLUG_WORDS];
    uint64_t removing[CPU_HOTPLUG_WORDS];
    uint64_t ejected[CPU_HOTPLUG_WORDS]; /* CEJ0 writes not taken yet */
    void (*eject)(void *opaque);
    void *opaque;
};

/* vCPUs 0..boot_vcpus-1 start enabled (1 <= boot_vcpus <= max_vcpus <= CPU_HOTPLUG_MAX_VCPUS).
 * 0 or -EINVAL / -errno (mutex). */
int cpu_hotplug_init(struct cpu_hotplug *h, uint32_t max_vcpus, uint32_t boot_vcpus,
                     void (*eject)(void *opaque), void *opaque);
void cpu_hotplug_destroy(struct cpu_hotplug *h);
/* Guest reboot: CSEL 0, inserting and removing clear; which vCPUs are enabled stays (the
 * rebooted guest finds them in _STA), and so do ejects not taken yet. */
void cpu_hotplug_reset(struct cpu_hotplug *h);
/* Marks cpu enabled and inserting; the caller has created the vCPU and raises GED_EVENT_CPU.
 * -EINVAL for cpu out of range, -EEXIST if it is enabled already. */
int cpu_hotplug_insert(struct cpu_hotplug *h, uint32_t cpu);
/* Marks cpu removing; the caller raises GED_EVENT_CPU and waits for the eject. -EINVAL for cpu
 * out of range, -ENODEV if it is not enabled. */
int cpu_hotplug_request_remove(struct cpu_hotplug *h, uint32_t cpu);
/* Moves the latched ejects (vCPUs the guest ejected, already disabled) into
 * mask[0..CPU_HOTPLUG_WORDS), bit cpu % 64 of word cpu / 64, and clears them; true when any
 * bit was set. */
bool cpu_hotplug_take_ejects(struct cpu_hotplug *h, uint64_t mask[CPU_HOTPLUG_WORDS]);
bool cpu_hotplug_enabled(struct cpu_hotplug *h, uint32_t cpu); /* false out of range */

extern const struct bus_ops cpu_hotplug_bus_ops;

#endif
