#ifndef CELLVM_CORE_VM_VM_PRIV_H
#define CELLVM_CORE_VM_VM_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "core/platform.h"
#include "core/vm/cpuid.h"
#include "core/vm/log.h"
#include "core/vm/pci_devices.h"
#include "core/vm/pci_hotplug.h"
#include "core/vm/vcpu.h"
#include "core/vm/vfio_pci.h"
#include "core/vm/vm.h"
#include "core/vm/vm_devices.h"
#include "core/vm/vm_numa.h"
#include "core/vm/vm_slots.h"
#include "core/vm/pio_coal.h"
#include "core/vm/vmev.h"

/* The VM's state, shared by vm.c (build, run, pause) and vm_hotplug.c (devices added and
 * removed while it runs). */

#define KVM_API_VERSION_EXPECTED   12
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define CPUID_MAX_ENTRIES          512
/* A guest that reboots this often this fast is looping, not working. */
#define REBOOT_BURST     16
#define REBOOT_WINDOW_NS 1000000000ll
/* Passed-through functions: every one takes a slot on bus 0. */
#define VM_MAX_VFIO PCI_SLOTS

/* vm_run's pause states (vm.c), also read by vm_snapshot.c. */
enum pause_state { PAUSE_NONE, PAUSE_ASKED, PAUSE_DONE, PAUSE_ENDED };
#define PAUSE_DONE_STATE PAUSE_DONE

struct vm {
    struct log log;
    int kvm_fd;                 /* borrowed */
    int vm_fd;                  /* owned */
    struct vm_early *early;     /* owned: guest RAM's KVM slots, installed meanwhile */
    struct guest_mem mem;       /* borrowed mapping */
    struct boot_params_in boot; /* fds borrowed; cmdline points at our copy */
    char *cmdline;              /* owned */
    uint8_t smbios[SMBIOS_MAX]; /* the SMBIOS image for GPA_SMBIOS, built once */
    size_t smbios_len;
    struct cpuid_config cpu;
    uint32_t boot_vcpus, max_vcpus;
    struct vcpu *vcpus; /* owned, room for max_vcpus; ncreated created (all of them once built) */
    uint32_t ncreated;
    uint32_t nvcpus; /* vCPUs 0..nvcpus-1 run (boot_vcpus, then as vm.resize changes it) */
    /* vCPUs the guest was asked to eject, and those it ejected that still wait for a higher
     * one (vm_hotplug.c); one bit each. */
    uint64_t cpu_removing[CPU_HOTPLUG_WORDS], cpu_ejected[CPU_HOTPLUG_WORDS];
    struct vm_numa_state numa;
    struct kvm_cpuid2 *supported; /* owned */
    size_t run_size;
    struct vmev ev;
    struct pio_coal coal; /* COM1's coalesced writes, when KVM has them */
    atomic_bool stopping;
    struct vcpu_env env;
    struct vm_devices dev;
    bool dev_inited;
    struct pci_devices pci;
    bool pci_inited;
    struct vfio_pci_ctx vfio_ctx;
    struct vfio_pci_dev *vfio[VM_MAX_VFIO]; /* each owned; nvfio of them, in slot order of adding */
    uint32_t nvfio;
    /* PCI hotplug (vm_hotplug.c): removals announced to the guest and not ejected yet, one bit
     * per slot; the eventfd the guest's ejects wake the control thread with (owned). */
    uint32_t removing[PCI_MAX_SEGMENTS];
    int hp_fd;
    bool vfio_paused; /* vm_vfio_detach stopped the vCPUs (control thread only) */
    /* ACPI memory hotplug (vm_memhp.c): [memhp_base, memhp_base + memhp_size) is where
     * hot-added RAM goes; each added region's memfd (owned, for later memory tables and
     * DMA_MAPs) and mapping (owned), in the order of vm->mem's last nhotplug regions. */
    uint64_t memhp_base, memhp_size;
    int memhp_fd[GUEST_MEM_MAX_HOTPLUG];
    uint8_t *memhp_host[GUEST_MEM_MAX_HOTPLUG];
    /* virtio-mem devices (vm_virtio_mem.c): owned array, nvmem of them. */
    struct vm_vmem *vmem;
    uint32_t nvmem;
    /* virtio-pmem devices (vm_pmem.c): owned array of VM_MAX_PMEM entries, npmem in use. */
    struct vm_pmem *pmem;
    uint32_t npmem;
    /* virtio-watchdog (vm_watchdog.c): owned, or NULL without --watchdog. */
    struct vm_watchdog *watchdog;
    /* virtio-iommu (vm_iommu.c): owned, or NULL without one. */
    struct vm_iommu *iommu;
    /* enum vm_reset_cause of the reboot asked last, VM_RESET_GUEST unless vm_reboot or the
     * watchdog set it; vm_run's reboot takes it and tells guest_reset (vm_params). */
    atomic_int reset_cause;
    void (*guest_reset)(void *arg, enum vm_reset_cause cause);
    void *guest_reset_arg;
    /* Why a device stopped the VM (set once, by the frontend thread, before VMEV_ERROR). */
    char dev_err[200];
    atomic_bool dev_failed;
    struct timespec reboot_at[REBOOT_BURST]; /* ring of recent reboot times */
    atomic_int pause_state;      /* enum pause_state: set by vm_run, polled by vm_pause/resume */
    struct kvm_clock_data clock; /* the guest clock while paused */
    bool start_paused;           /* restored (issue 18): vm_run starts in the pause */
    unsigned int reboots;
};

/* vm_snapshot.c (issue 18): a freshly built VM (kernel not loaded) takes the snapshot's state
 * and RAM, and will start paused. 0 or -errno with err. */
int vm_restore(struct vm *vm, int state_fd, int ram_fd, char *err, size_t errlen);

/* vm_hotplug.c: the eject callback of the PCI hotplug registers (vCPU thread). */
void vm_hotplug_eject_wake(void *arg);

/* vm_memhp.c: the hotplug area from p (vm_create, before the PCI windows are placed), and the
 * hot-added regions' fds and mappings released (vm_destroy). */
void vm_memhp_init(struct vm *vm, const struct vm_params *p);
void vm_memhp_destroy(struct vm *vm);
/* vm_memhp.c: memory slots the guest ejected are logged and ignored (control thread). */
void vm_memhp_ejects(struct vm *vm);
/* vm_memhp.c: every passed-through function maps the new region g (its DMA map); on failure
 * the ones that did unmap it again. 0 or -errno with err. */
int vm_vfio_map_region(struct vm *vm, const struct guest_mem_region *g, char *err, size_t errlen);

/* vm_virtio_mem.c: the virtio-mem devices of p (vm_create, before setup_pci) as virtio
 * params appended to p's own in *all (owned by the caller, *n entries); after the bus is built
 * each is bound to its PCI function; at a guest reboot every block is unplugged; vm_destroy
 * frees them (after the PCI devices). */
int vm_vmem_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                 char *err, size_t errlen);
void vm_vmem_bind(struct vm *vm);
void vm_vmem_reboot(struct vm *vm);
void vm_vmem_destroy(struct vm *vm);

/* vm_pmem.c: the virtio-pmem devices of p appended to *all (realloc'd, *n entries), after the
 * virtio-mem ones; vm_destroy frees them after the PCI devices. */
int vm_pmem_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                 char *err, size_t errlen);
void vm_pmem_destroy(struct vm *vm);
/* vm_pmem.c: the guest ejected function id (vCPUs stopped): if it is a virtio-pmem device, its
 * region leaves the VM (vm.h's vm_pmem_hot_add). */
void vm_pmem_gone(struct vm *vm, const char *id);

/* vm_watchdog.c: the virtio-watchdog of p, if any, appended to *all like the pmem devices and
 * bound to its PCI function once the bus is built; a reboot disarms it, a pause stops its
 * checks and a resume restarts its timeout (vm_run's thread); vm_destroy frees it after the
 * PCI devices. */
int vm_watchdog_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                     char *err, size_t errlen);
void vm_watchdog_bind(struct vm *vm);
void vm_watchdog_reboot(struct vm *vm);
void vm_watchdog_pause(struct vm *vm);
void vm_watchdog_resume(struct vm *vm);
void vm_watchdog_destroy(struct vm *vm);
/* vm_reboot.c: vm_reboot with its cause (thread-safe); -ELOOP when this reboot is the
 * REBOOT_BURST-th within REBOOT_WINDOW_NS, else counted; the IOAPIC's pins masked and the PICs
 * cleared, so nothing the old guest set up fires early (0 or -errno). */
void vm_reboot_for(struct vm *vm, enum vm_reset_cause cause);
int vm_note_reboot(struct vm *vm);
int vm_reset_irqchip(struct vm *vm);

int vm_set_err(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
