#ifndef CELLVM_CORE_VM_H
#define CELLVM_CORE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/boot/boot.h"
#include "core/boot/smbios.h"
#include "core/mem/guest_mem.h"
#include "core/vm/vfio_pci.h"
#include "core/vm/virtio_pci.h"

/*
 * The VM as the core process runs it: KVM VM with in-kernel irqchip (no PIT), vCPU threads,
 * the platform devices in the exit path (8250 COM1, i8042 reset, CMOS RTC, ACPI PM sleep/reset
 * registers, GED), ACPI tables and the kernel loaded through core/boot.
 */

struct vm;

/* --cpus affinity: the host CPUs one vCPU's thread may run on. */
struct vm_cpu_affinity {
    uint32_t vcpu;
    const uint32_t *host_cpus; /* borrowed */
    uint32_t nhost_cpus;
};

/* A node whose only member is a PCI device (--numa device_id=): a Generic Initiator. */
struct vm_numa_initiator {
    const char *device_id; /* a vpci_params or vfio_pci_params id */
    uint32_t node;
};

/* Guest NUMA (--numa): what SRAT and SLIT describe. nnodes 0: no NUMA tables. */
struct vm_numa {
    uint32_t nnodes;           /* proximity domains 0..nnodes-1 */
    const uint32_t *cpu_node;  /* max_vcpus entries: the node of each vCPU */
    const uint32_t *zone_node; /* mem.nzones entries: the node of each memory zone */
    const uint8_t *distances;  /* nnodes * nnodes, row-major, 10 on the diagonal */
    const struct vm_numa_initiator *initiators;
    uint32_t ninitiators;
};

/* A virtio-mem device (issue 17): its region in vm_params.mem (one added with
 * guest_mem_add_vmem), the bytes asked for at boot (hotplugged_size) and its guest NUMA node
 * (-1: none, no ACPI_PXM). */
struct vm_vmem_params {
    uint32_t region;
    uint64_t requested;
    int node;
};

/* A virtio-pmem device (issue 20): its region in vm_params.mem (added with
 * guest_mem_add_pmem; its fd is the file, fdatasync'd on FLUSH), id and PCI segment. */
#define VM_MAX_PMEM    8
#define VM_PMEM_ID_LEN 64
struct vm_pmem_params {
    uint32_t region;
    const char *id; /* borrowed for vm_create */
    uint16_t pci_segment;
    bool owned; /* the mapping is the VM's (a restored vm.add-pmem file): unmapped when it leaves */
};

/* Who asked for a reboot. */
enum vm_reset_cause {
    VM_RESET_GUEST = 0, /* ACPI reset register, i8042, triple fault */
    VM_RESET_API,       /* vm_reboot */
    VM_RESET_WATCHDOG,  /* the virtio-watchdog fired */
};

/* The KVM VM, guest RAM's memory slots and the irqchip, begun before the rest (vm_slots.h): the
 * caller may start them before it jails itself, so they overlap the jail and the irqchip's SRCU
 * grace period starts as early as it can; the VM fd (vm_early_fd) must then stay open through
 * the jail. 0 or -errno with err. */
struct vm_early;
int vm_early_start(struct vm_early **out, int kvm_fd, const struct guest_mem *mem, char *err,
                   size_t errlen);
int vm_early_fd(const struct vm_early *e);
/* Waits for the early thread and closes what vm_create did not take. NULL is fine. */
void vm_early_free(struct vm_early *e);

struct vm_params {
    int kvm_fd; /* /dev/kvm, borrowed */
    /* From vm_early_start over mem, or NULL (vm_create starts one); owned by vm_create from
     * the call on, on failure too. */
    struct vm_early *early;
    /* Guest RAM already mapped shared by the caller, one KVM memory slot per region; the
     * mappings and the fds in the regions are borrowed. */
    struct guest_mem mem;
    uint32_t boot_vcpus;
    uint32_t max_vcpus;
    uint32_t threads_per_core, cores_per_die, dies_per_package, packages;
    uint32_t max_phys_bits;
    const struct vm_cpu_affinity *affinity; /* borrowed; vCPUs not listed float */
    uint32_t naffinity;
    struct vm_numa numa; /* arrays borrowed for the duration of vm_create */
    bool serial_enabled; /* false: no COM1 at all (--serial off) */
    int serial_in_fd;    /* -1: no input; borrowed */
    int serial_out_fd;   /* -1: output dropped (--serial null); borrowed */
    struct boot_params_in boot;
    int verbosity; /* 0: errors and warnings; each step adds info, debug */
    /* virtio-pci devices behind vhost-user backends; their sockets are taken over (closed by
     * vm_create on failure, by vm_destroy otherwise). */
    const struct vpci_params *virtio;
    uint32_t nvirtio;
    /* Passed-through functions behind vfio-user servers (--device); their sockets are taken
     * over like the virtio ones. */
    const struct vfio_pci_params *vfio;
    uint32_t nvfio;
    /* Optional: run first in every vCPU thread (the core stacks its vCPU seccomp filter); a
     * non-zero -errno stops the VM with an error. */
    int (*vcpu_thread_init)(void *arg);
    void *vcpu_thread_arg;
    /* Optional, from the frontend thread: the backend of an external virtio device went away
     * (why: printable). With it the device waits for vm_reconnect_device; without it the
     * loss stops the VM. */
    void (*device_lost)(void *arg, const char *id, const char *why);
    void *device_lost_arg;
    uint32_t pci_segments; /* --platform num_pci_segments; 0 reads as 1 */
    /* vm.restore (issue 18): RAM, vCPUs and devices come from the snapshot's state.json and
     * memory-ranges (fds borrowed) instead of a boot; the VM starts paused. */
    bool restore;
    int restore_state_fd, restore_ram_fd;
    /* vm.receive-migration (issue 18): RAM and state come from the migration stream on
     * migrate_fd (borrowed) instead, vm_migrate_receive; the VM starts paused. */
    bool migrate;
    int migrate_fd;
    /* --platform serial_number, uuid, oem_strings: the SMBIOS tables at GPA_SMBIOS, built in
     * vm_create (strings borrowed for its duration) and written again at every reboot. */
    struct smbios_params smbios;
    /* --memory hotplug_size: guest-physical space kept above RAM for vm_add_memory (ACPI
     * memory hotplug, \_SB_.MHPC); 0: none. MMIO64 starts above it. */
    uint64_t hotplug_size;
    /* virtio-mem devices, one per zone with a hotplug_size (array borrowed for vm_create). */
    const struct vm_vmem_params *vmem;
    uint32_t nvmem;
    /* virtio-pmem devices (array borrowed for vm_create). */
    const struct vm_pmem_params *pmem;
    uint32_t npmem;
    /* --watchdog (issue 20): a virtio-watchdog the core serves; a guest that stops pinging it
     * is reset as by its own reboot. */
    bool watchdog;
    /* A virtio-iommu (issue 20) the core serves on segment 0: the virtio devices whose params
     * say iommu sit behind it, and every device of iommu_segments (array borrowed for
     * vm_create; never segment 0). iommu_address_width: bits of its input range, 12..64. */
    bool iommu;
    const uint32_t *iommu_segments;
    uint32_t niommu_segments;
    uint8_t iommu_address_width;
    /* Optional, from vm_run's thread: a reboot done that vm_reboot did not ask for (the guest
     * reset itself, or its watchdog fired). */
    void (*guest_reset)(void *arg, enum vm_reset_cause cause);
    void *guest_reset_arg;
    /* Optional: vm_create failed with r and err, told before anything is torn down (the
     * device processes see their connections close right after). */
    void (*failed)(void *arg, int r, const char *err);
    void *failed_arg;
};

enum vm_result {
    VM_RESULT_POWEROFF = 0, /* the guest powered off (ACPI S5) */
    VM_RESULT_STOPPED = 1,  /* vm_request_stop() was called */
};

/* Builds the VM: KVM objects, ACPI tables, kernel load, vCPU state. -errno and a one-line
 * reason in err on failure, with everything already created torn down. */
int vm_create(struct vm **out, const struct vm_params *p, char *err, size_t errlen);

/*
 * Runs the vCPUs until the guest powers off or a stop is requested. A guest reboot (ACPI reset
 * register, i8042 0xFE, triple fault) resets every vCPU and reloads the kernel inside this call.
 * Returns enum vm_result, or -errno with a reason in err when the VM failed.
 */
int vm_run(struct vm *vm, char *err, size_t errlen);

/* Async-signal-safe and thread-safe: asks vm_run to stop and return VM_RESULT_STOPPED. */
void vm_request_stop(struct vm *vm);

/* Thread-safe: presses the ACPI power button (GED event plus IRQ_GED); the guest decides. */
void vm_power_button(struct vm *vm);

/*
 * Thread-safe, from a thread other than vm_run's: vm_pause stops every vCPU and the guest clock
 * (KVM_GET_CLOCK) and returns once they are stopped; vm_resume restores the clock
 * (KVM_SET_CLOCK) and restarts them. 0, -EALREADY (already paused / not paused), -ETIMEDOUT,
 * or -ECANCELED when the VM stopped meanwhile.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);

/* Thread-safe: the reboot a guest asks for (every vCPU and device reset, the kernel loaded
 * again), asked from outside (vm.reboot). Returns at once; vm_run does it. */
void vm_reboot(struct vm *vm);

/* Thread-safe: vm_run stops the vCPUs, queues an NMI on each (KVM_NMI: a vCPU ioctl, issued
 * while no thread is in KVM_RUN on it) and restarts them. Returns at once. */
void vm_nmi(struct vm *vm);

/* Thread-safe: sock (taken over) connects device id to the replacement of its dead backend;
 * done(arg, id, err) reports the outcome later from the frontend thread. 0 or -ENODEV. */
int vm_reconnect_device(struct vm *vm, const char *id, int sock,
                        void (*done)(void *arg, const char *id, int err), void *arg);

/* Thread-safe (issue 19), from a thread other than vm_run's: the vfio-user server of
 * passed-through device id died (vfio_pci_detach), or sock (taken over) is its replacement
 * (vfio_pci_reconnect, -ENOTTY when the device cannot be reset). The vCPUs stop at the detach
 * and run again once every detached function is reconnected. 0 or -errno (-ENODEV: no such
 * device; with err for reconnect). */
int vm_vfio_detach(struct vm *vm, const char *id);
int vm_vfio_reconnect(struct vm *vm, const char *id, int sock, char *err, size_t errlen);

/*
 * PCI hotplug (issue 16), Cloud Hypervisor's ACPI way; from one thread other than vm_run's (the
 * core's control thread). The vCPUs are stopped while a device joins or leaves (vm_pause; a VM
 * the user paused stays paused).
 * - vm_hot_add: a virtio device (virtio set) or a passed-through function (vfio set) joins a
 *   free slot of segment 0 (its socket taken over, closed on failure too) and the guest is told
 *   (PCIU, GED). 0 with *slot, or -errno with err and nothing kept.
 * - vm_hot_remove: asks the guest to eject device id (PCID, GED); asking again repeats it.
 *   0 or -ENODEV.
 * - vm_hotplug_fd: readable when the guest ejected slots; vm_hotplug_ejects then removes each
 *   device there (slot, BARs, ioeventfds, irqfds, MSI routes, connection) and calls
 *   gone(arg, id) for it. An eject of an empty slot is logged and ignored.
 */
struct vm_hot_add {
    const struct vpci_params *virtio;
    const struct vfio_pci_params *vfio;
};
int vm_hot_add(struct vm *vm, const struct vm_hot_add *p, unsigned *slot, char *err, size_t errlen);
int vm_hot_remove(struct vm *vm, const char *id);
int vm_hotplug_fd(const struct vm *vm);
/*
 * vm.add-pmem (issue 20, same thread): the file fd (taken over, closed on failure too) is mapped
 * (private with discard_writes) as a new guest-physical region above the PCI MMIO64 window,
 * every device process and passed-through function gets it, then a virtio-pmem function joins
 * a free slot of pci_segment and the guest is told (PCIU, GED). 0 with *slot, or -errno with
 * err and nothing kept (-EEXIST id taken, -ENOSPC no pmem slot or address space left, -EINVAL
 * segment or file). When the guest ejects a virtio-pmem function (boot or hot-added), its
 * region leaves KVM, the device processes' memory tables and the passed-through functions' DMA
 * maps, and a hot-added one is unmapped and its file closed.
 */
struct vm_pmem_hot {
    const char *id;
    int fd;
    uint64_t size;
    bool discard_writes;
    uint16_t pci_segment;
};
int vm_pmem_hot_add(struct vm *vm, const struct vm_pmem_hot *p, unsigned *slot, char *err,
                    size_t errlen);
/* A restore (issue 18), before the layout is made: the virtio-pmem places state.json (fd, read
 * with pread, left as it was) holds, at most VMS_MAX_PMEM into out, so a file vm.add-pmem had
 * placed above the PCI windows goes back there. 0 with *n, or -errno with err. */
struct vms_pmem;
int vm_pmem_peek_state(int fd, struct vms_pmem *out, uint32_t *n, char *err, size_t errlen);
/* vm.resize desired_vcpus (issue 17, same thread): more than run now start at once (the guest is
 * told through the GED's CPU bit and onlines them); fewer: the highest are asked to be ejected
 * and stop once the guest did. 0, or -EINVAL (0 or above max), -EBUSY (a removal still awaits
 * the guest) or another -errno, with err. */
int vm_resize_vcpus(struct vm *vm, uint32_t want, char *err, size_t errlen);
void vm_hotplug_ejects(struct vm *vm, void (*gone)(void *arg, const char *id), void *arg);
/*
 * vm.resize desired_ram (issue 17, ACPI memory hotplug, same thread): fd (taken over, closed on
 * failure too) is a memfd of size bytes (a multiple of 128 MiB). With the vCPUs stopped it is
 * mapped shared at the next free address of the hotplug area, put in a KVM slot and handed to
 * every device process (vhost-user memory table, vfio-user DMA_MAP); then the vCPUs go on and
 * the guest is told (a filled slot of \_SB_.MHPC, the GED's memory bit). 0 with *gpa, or
 * -ENOSPC (no hotplug area, no room or no slot left), -EINVAL or another -errno with err, and
 * nothing kept.
 */
int vm_add_memory(struct vm *vm, int fd, uint64_t size, uint64_t *gpa, char *err, size_t errlen);

/*
 * vm.resize / vm.resize-zone with virtio-mem (issue 17, control thread): virtio-mem device
 * `index` (in vm_params.vmem order) asks the guest for `size` bytes of its region (its config's
 * requested_size, and the config interrupt); the guest plugs or unplugs blocks to match. 0, or
 * -ENODEV (no such device), -EEXIST (already the requested size), -EINVAL (above the region or
 * not a multiple of the block size), with err.
 */
int vm_vmem_resize(struct vm *vm, uint32_t index, uint64_t size, char *err, size_t errlen);

/*
 * vm.snapshot (issue 18), from a thread other than vm_run's, the VM paused: state.json to
 * state_fd, guest RAM to ram_fd (memory-ranges: every region in gpa order, all-zero pages left
 * as holes). 0, or -EBUSY (not paused), -EOPNOTSUPP (a passed-through device) or another
 * -errno, with err.
 */
int vm_snapshot(struct vm *vm, int state_fd, int ram_fd, char *err, size_t errlen);

/*
 * vm.restore of a VM that vm.resize gave RAM (issue 18), before its memory is mapped: the RAM
 * regions the snapshot's state.json (state_fd, read from offset 0, borrowed) lists in its ACPI
 * memory hotplug slots, in slot order, at most max of them into gpa[] and size[] (*n set). The
 * caller makes them again at the same places; vm_restore checks them against the slots. 0, or
 * -EINVAL (a state.json this cellvm cannot read, more than max regions) / -errno, with err.
 */
int vm_restore_hotplugged(int state_fd, uint64_t *gpa, uint64_t *size, uint32_t max, uint32_t *n,
                          char *err, size_t errlen);

/*
 * Live migration (issue 18, vm_migrate.c, vm_migrate_recv.c), on a connected stream socket
 * (borrowed) in the stream of ipc/mig_stream.h. switch_over (optional) is called at the
 * switch: on the source with the VM paused and the state accepted by the destination (the
 * controller releases the disks); on the destination when Complete came (the controller takes
 * them). It returns 0 or -errno with err.
 *
 * - vm_migrate_send, from a thread other than vm_run's: Start and Config (config_len bytes of
 *   config), guest RAM with dirty-page passes, the pause, the state, Complete. 0 when the
 *   destination runs the VM (this one stays paused, for the caller to end); -errno with err
 *   otherwise, the VM running again if it ran before (Abandon sent).
 * - vm_migrate_receive, inside vm_create (vm_params.migrate): answers Config, takes Memory
 *   and State; the VM will start paused. 0 or -errno with err (the source told why).
 * - vm_migrate_finish, once vm_run runs: waits for Complete, switch_over, resumes the VM and
 *   answers. 0, or -errno with err (the VM stays paused, for the caller to end).
 */
struct vm_migrate_ops {
    int (*switch_over)(void *arg, char *err, size_t errlen);
    void *arg;
    /* vm_migrate_send: local=true, the guest RAM goes as fds (MEMORY_FD) after Start and no
     * page is copied (the peer is on this host, over unix:). */
    bool local;
};
struct vm_migrate_stats {
    uint64_t bytes, pages;       /* guest RAM sent, every pass together */
    uint64_t pages_outside_log;  /* resent because their bytes changed outside both logs (the
                                 * hash fallback, only with a backend that cannot log) */
    uint64_t pages_kvm_log;      /* dirty pages KVM's log named, every pass together */
    uint64_t pages_dev_log;      /* ... the device processes' and core's log named */
    uint64_t pages_dev_log_only; /* ... of those, not in KVM's log of the same pass */
    uint32_t passes;             /* dirty-page passes while running */
    uint64_t total_ms, downtime_ms;
    bool outcome_unknown; /* Complete went out and no answer came back: the destination may run
                           * the guest, so this VM stays paused (never both running) */
};
int vm_migrate_send(struct vm *vm, int sock, const char *config, size_t config_len,
                    const struct vm_migrate_ops *ops, struct vm_migrate_stats *st, char *err,
                    size_t errlen);
int vm_migrate_finish(struct vm *vm, int sock, const struct vm_migrate_ops *ops, char *err,
                      size_t errlen);

/* Guest reboots handled so far by vm_run (for tests and status). */
unsigned int vm_reboot_count(const struct vm *vm);

void vm_destroy(struct vm *vm);

#endif
