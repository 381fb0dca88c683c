#include "core/vm/vm_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/acpi/acpi.h"
#include "core/platform.h"
#include "core/vm/boot_cpu.h"
#include "core/vm/cpuid.h"
#include "core/vm/kvm_ioctl.h"
#include "core/vm/log.h"
#include "core/vm/pci_devices.h"
#include "core/vm/vcpu.h"
#include "core/vm/vm_devices.h"
#include "core/vm/vm_iommu.h"
#include "core/vm/vm_migrate.h"
#include "core/vm/vm_numa.h"
#include "core/vm/vm_sys.h"
#include "core/vm/vmev.h"

int vm_set_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!err || !errlen)
        return r;
    va_start(ap, fmt);
    n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (r < 0 && n >= 0 && (size_t)n < errlen)
        snprintf(err + n, errlen - (size_t)n, ": %s", strerror(-r));
    return r;
}

static int setup_kvm(struct vm *vm, char *err, size_t errlen)
{
    int r = vm->early ? 0 : vm_early_start(&vm->early, vm->kvm_fd, &vm->mem, err, errlen);

    if (r < 0)
        return r;
    vm->vm_fd = vm->early->vm_fd;
    vm->early->taken = true;
    r = vm_early_joined(vm, err, errlen); /* slots, TSS, identity map and irqchip */
    if (r < 0)
        return r;
    r = kvm_vcpu_mmap_size(vm->kvm_fd);
    if (r < (int)sizeof(struct kvm_run))
        return vm_set_err(err, errlen, r < 0 ? r : -EINVAL, "KVM_GET_VCPU_MMAP_SIZE");
    vm->run_size = (size_t)r;
    vm->supported = vm->early->supported; /* read on the early thread (vm_slots.h) */
    vm->early->supported = NULL;
    if (!vm->supported)
        return vm_set_err(err, errlen, vm->early->cpuid_r, "KVM_GET_SUPPORTED_CPUID");
    return 0;
}

/* --cpus affinity for the vCPUs that exist (the others are hot-plug material). */
static int set_affinity(struct vm *vm, const struct vm_params *p, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < p->naffinity; i++) {
        const struct vm_cpu_affinity *a = &p->affinity[i];
        int r;

        if (a->vcpu >= vm->ncreated)
            continue;
        r = vcpu_set_affinity(&vm->vcpus[a->vcpu], a->host_cpus, a->nhost_cpus);
        if (r < 0)
            return vm_set_err(err, errlen, r, "vcpu%u: affinity", a->vcpu);
    }
    return 0;
}

static int setup_vcpus(struct vm *vm, char *err, size_t errlen)
{
    struct kvm_cpuid_entry2 *table = NULL;
    uint32_t i;
    int r = 0, n;

    /* Every vCPU up to max exists from the start; boot_vcpus of them run, the others wait for
     * vm.resize (vm_hotplug.c). */
    vm->vcpus = calloc(vm->max_vcpus, sizeof(*vm->vcpus));
    table = calloc(CPUID_MAX_ENTRIES, sizeof(*table));
    if (!vm->vcpus || !table) {
        r = vm_set_err(err, errlen, -ENOMEM, "vcpus");
        goto out;
    }
    for (i = 0; i < vm->max_vcpus; i++) {
        uint32_t apic_id = cpuid_apic_id(&vm->cpu.topo, i);

        r = vcpu_create(&vm->vcpus[i], vm->vm_fd, i, apic_id, vm->run_size, &vm->env);
        if (r < 0) {
            vm_set_err(err, errlen, r, "vcpu%u: create", i);
            goto out;
        }
        vm->ncreated++;
        if (i == 0) {
            /* Probe what the host honours before the first CPUID table is built. */
            vm->cpu.host.arch_caps_msr =
                vcpu_msr_honoured(&vm->vcpus[0], vm->kvm_fd, MSR_IA32_ARCH_CAPABILITIES);
            r = kvm_get_tsc_khz(vm->vcpus[0].fd);
            vm->cpu.host.tsc_khz = r > 0 ? (uint32_t)r : 0;
            vm->cpu.host.tsc_deadline =
                kvm_check_extension(vm->kvm_fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
            log_debug(&vm->log, "host: arch_capabilities msr %s, tsc %u kHz",
                      vm->cpu.host.arch_caps_msr ? "yes" : "no", vm->cpu.host.tsc_khz);
        }
        n = cpuid_build(vm->supported->entries, vm->supported->nent, &vm->cpu, apic_id, table,
                        CPUID_MAX_ENTRIES);
        r = n < 0 ? n : vcpu_set_cpuid(&vm->vcpus[i], table, (uint32_t)n);
        if (r < 0) {
            vm_set_err(err, errlen, r, "vcpu%u: cpuid", i);
            goto out;
        }
    }
    vm->nvcpus = vm->boot_vcpus;
    r = 0;
out:
    free(table);
    return r;
}

/* The slot of virtio or passed-through device id on segment 0, or -1 (vm_numa_acpi). */
static int vm_slot_of(const void *arg, const char *id)
{
    const struct vm *vm = arg;
    const struct vfio_pci_dev *f =
        vfio_pci_find((struct vfio_pci_dev *const *)vm->vfio, vm->nvfio, id);
    const struct vpci_dev *d = vm->pci_inited ? pci_devices_find(&vm->pci, id) : NULL;

    return f ? f->pci.slot : d && d->seg == 0 ? d->pci.slot : -1;
}

static int write_acpi(struct vm *vm, char *err, size_t errlen)
{
    struct acpi_cpu *cpus = calloc(vm->max_vcpus, sizeof(*cpus));
    struct acpi_mem_range ranges[GUEST_MEM_MAX_REGIONS];
    struct acpi_pci_initiator initiators[ACPI_MAX_INITIATORS];
    struct viot_params viot;
    struct acpi_params ap = { .cpus = cpus,
                              .ncpus = vm->max_vcpus,
                              .no_com1 = !vm->dev.serial_enabled };
    uint8_t *buf = guest_mem_ptr(&vm->mem, GPA_ACPI_TABLES, ACPI_TABLES_MAX);
    long n;
    uint32_t i;

    if (!cpus)
        return vm_set_err(err, errlen, -ENOMEM, "acpi");
    if (vm->pci_inited) {
        ap.pci = true;
        ap.pci_mmio64_start = vm->pci.host.mmio64_start;
        ap.pci_mmio64_end = vm->pci.host.mmio64_end;
        ap.pci_segments = vm->pci.host.n;
    }
    if (vm->dev.memhp_on) {
        ap.mem_hotplug_slots = vm->dev.memhp.nslots;
        ap.hotplug_mem_base = vm->memhp_base;
        ap.hotplug_mem_size = vm->memhp_size;
    }
    if (!buf) {
        free(cpus);
        return vm_set_err(err, errlen, -ENOSPC, "acpi: guest memory too small");
    }
    for (i = 0; i < vm->max_vcpus; i++) {
        cpus[i].apic_id = cpuid_apic_id(&vm->cpu.topo, i);
        cpus[i].enabled = i < vm->nvcpus; /* with the ones hot-added before a reboot */
    }
    vm_numa_acpi(&vm->numa, &vm->mem, vm_slot_of, vm, ranges, initiators, &ap);
    if (vm_iommu_viot(vm, &viot))
        ap.viot = &viot;
    n = acpi_build(&ap, buf, GPA_ACPI_TABLES, ACPI_TABLES_MAX);
    free(cpus);
    if (n < 0)
        return n == -ENOSPC ? vm_set_err(err, errlen, (int)n,
                                         "acpi: the tables for %u PCI segments and %u vCPUs do "
                                         "not fit in the %llu KiB below 1 MiB (each segment takes "
                                         "about 4 KiB; about 28 segments fit)",
                                         ap.pci_segments, vm->max_vcpus,
                                         (unsigned long long)ACPI_TABLES_MAX >> 10)
                            : vm_set_err(err, errlen, (int)n, "acpi: building tables");
    return 0;
}

static int build_smbios(struct vm *vm, const struct smbios_params *sp, char *err, size_t errlen)
{
    long n = smbios_build(sp, vm->smbios, GPA_SMBIOS, sizeof(vm->smbios));

    if (n < 0)
        return n == -ENOSPC ? vm_set_err(err, errlen, (int)n,
                                         "smbios: the strings do not fit in the %zu bytes at "
                                         "0x%llx",
                                         sizeof(vm->smbios), (unsigned long long)GPA_SMBIOS)
                            : vm_set_err(err, errlen, (int)n, "smbios: building tables");
    vm->smbios_len = (size_t)n;
    return 0;
}

/* Everything a (re)boot writes: ACPI and SMBIOS tables, kernel, boot structures, vCPU state. */
static int load_guest(struct vm *vm, char *err, size_t errlen)
{
    struct boot_entry entry;
    uint32_t i;
    int r = write_acpi(vm, err, errlen);

    if (r < 0)
        return r;
    r = guest_mem_write(&vm->mem, GPA_SMBIOS, vm->smbios, vm->smbios_len);
    if (r < 0)
        return vm_set_err(err, errlen, r, "smbios: writing tables");
    vm->boot.acpi_rsdp_gpa = GPA_ACPI_TABLES;
    memset(&entry, 0, sizeof(entry));
    r = boot_load(&vm->mem, &vm->boot, &entry, err, errlen);
    if (r < 0)
        return r;
    r = boot_cpu_write_tables(&vm->mem, entry.mode);
    if (r < 0)
        return vm_set_err(err, errlen, r, "boot: writing GDT and page tables");
    for (i = 0; i < vm->nvcpus; i++) {
        r = vcpu_reset(&vm->vcpus[i], i == 0 ? &entry : NULL);
        if (r < 0)
            return vm_set_err(err, errlen, r, "vcpu%u: reset", i);
    }
    return 0;
}

static int check_params(const struct vm_params *p, struct cpuid_topology *topo, char *err,
                        size_t errlen)
{
    if (p->kvm_fd < 0 || !p->mem.nregions || p->mem.nregions > GUEST_MEM_MAX_REGIONS ||
        p->mem.size < GPA_HIGH_RAM_START)
        return vm_set_err(err, errlen, -EINVAL, "vm: no /dev/kvm or less than 1 MiB of RAM");
    if (p->boot_vcpus == 0 || p->max_vcpus < p->boot_vcpus)
        return vm_set_err(err, errlen, -EINVAL, "vm: %u boot vCPUs with max %u", p->boot_vcpus,
                          p->max_vcpus);
    *topo = (struct cpuid_topology){ p->threads_per_core, p->cores_per_die, p->dies_per_package,
                                     p->packages };
    if (cpuid_topology_fixup(topo, p->max_vcpus) < 0)
        return vm_set_err(err, errlen, -EINVAL,
                          "vm: topology %u:%u:%u:%u holds fewer than %u vCPUs", p->threads_per_core,
                          p->cores_per_die, p->dies_per_package, p->packages, p->max_vcpus);
    return 0;
}

static void device_fatal(void *arg, const char *msg)
{
    struct vm *vm = arg;
    bool was = false;

    if (atomic_compare_exchange_strong(&vm->dev_failed, &was, true)) {
        snprintf(vm->dev_err, sizeof(vm->dev_err), "%s", msg);
        vmev_post(&vm->ev, VMEV_ERROR);
    }
}

/* MMIO64 for 64-bit BARs: from the first 1 GiB boundary above RAM and the memory hotplug
 * area, 64 GiB, below the guest's physical address width. */
static void mmio64_window(const struct vm *vm, uint64_t *start, uint64_t *end)
{
    uint64_t ram_end = vm->memhp_size ? vm->memhp_base + vm->memhp_size
                                      : GPA_RAM_ABOVE_4G + guest_mem_high_size(&vm->mem);

    if (guest_mem_end(&vm->mem) > ram_end) /* virtio-mem regions sit above RAM */
        ram_end = guest_mem_end(&vm->mem);
    uint32_t bits = vm->cpu.max_phys_bits ? vm->cpu.max_phys_bits : 46;
    uint64_t limit = bits >= 63 ? UINT64_MAX : 1ull << bits;

    *start = (ram_end + (1ull << 30) - 1) & ~((1ull << 30) - 1);
    *end = *start + (64ull << 30);
    if (*end > limit)
        *end = limit > *start ? limit : *start;
}

static int setup_pci(struct vm *vm, const struct vm_params *p, char *err, size_t errlen)
{
    struct pci_devices_params pp = {
        .vm_fd = vm->vm_fd,
        .mem = &vm->mem,
        .log = &vm->log,
        .fatal = device_fatal,
        .fatal_arg = vm,
        .lost = p->device_lost,
        .lost_arg = p->device_lost_arg,
    };
    struct vpci_params *all = NULL;
    int r;

    mmio64_window(vm, &pp.mmio64_start, &pp.mmio64_end);
    pp.segments = p->pci_segments;
    r = vm_vmem_init(vm, p, &all, &pp.nvirtio, err, errlen); /* the virtio-mem devices last */
    if (!r)
        r = vm_pmem_init(vm, p, &all, &pp.nvirtio, err, errlen); /* then virtio-pmem */
    if (!r)
        r = vm_watchdog_init(vm, p, &all, &pp.nvirtio, err, errlen); /* then the watchdog */
    if (!r)
        r = vm_iommu_init(vm, p, &all, &pp.nvirtio, err, errlen); /* then the virtio-iommu */
    if (r) {
        free(all);
        for (uint32_t i = 0; i < p->nvirtio; i++)
            close(p->virtio[i].sock);
        return r;
    }
    pp.virtio = all;
    vm_iommu_hook(vm, &pp.iotlb_replay, &pp.iotlb_arg);
    r = pci_devices_init(&vm->pci, &pp, &vm->dev.pio, &vm->dev.mmio, err, errlen);
    free(all);
    if (r == 0)
        vm->pci_inited = true;
    vm_vmem_bind(vm);
    vm_watchdog_bind(vm);
    vm_iommu_bind(vm);
    return r;
}

/* The passed-through functions, after the virtio ones (sockets taken over, closed on failure
 * too). The context exists with or without them: vm.add-device may come later. */
static int setup_vfio(struct vm *vm, const struct vm_params *p, char *err, size_t errlen)
{
    uint32_t i = 0;
    int r = p->nvfio <= VM_MAX_VFIO ? 0 : vm_set_err(err, errlen, -ENOSPC, "vm: vfio devices");

    vfio_pci_ctx_init(&vm->vfio_ctx, vm->vm_fd, &vm->pci.gsi, &vm->mem, &vm->log,
                      &vm->pci.buses[0]);
    for (; !r && i < p->nvfio; i++) {
        struct vfio_pci_dev *d = calloc(1, sizeof(*d));

        r = d ? vfio_pci_init(d, &vm->vfio_ctx, &p->vfio[i], err, errlen)
              : vm_set_err(err, errlen, -ENOMEM, "vm: vfio devices");
        if (!r)
            vm->vfio[vm->nvfio++] = d;
        else
            free(d); /* vfio_pci_init cleans up after itself */
        if (!d)
            close(p->vfio[i].sock);
    }
    for (; r && i < p->nvfio; i++)
        close(p->vfio[i].sock);
    return r;
}

int vm_create(struct vm **out, const struct vm_params *p, char *err, size_t errlen)
{
    struct vm_devices_params dp;
    struct vm *vm = calloc(1, sizeof(*vm));
    bool socks_taken = false;
    int r;

    *out = NULL;
    if (!vm) {
        vm_early_free(p->early);
        for (uint32_t i = 0; i < p->nvirtio; i++)
            close(p->virtio[i].sock);
        for (uint32_t i = 0; i < p->nvfio; i++)
            close(p->vfio[i].sock);
        return vm_set_err(err, errlen, -ENOMEM, "vm");
    }
    atomic_init(&vm->dev_failed, false);
    vm->early = p->early;
    vm->vm_fd = -1;
    vm->hp_fd = -1;
    vm->ev.efd = -1;
    pio_coal_init(&vm->coal, &vm->ev);
    vm_memhp_init(vm, p); /* fds -1 before any failure path reaches vm_destroy */
    log_init(&vm->log, STDERR_FILENO, p->verbosity);
    atomic_init(&vm->reset_cause, VM_RESET_GUEST);
    vm->guest_reset = p->guest_reset;
    vm->guest_reset_arg = p->guest_reset_arg;
    r = check_params(p, &vm->cpu.topo, err, errlen);
    if (r < 0)
        goto fail;
    vm->kvm_fd = p->kvm_fd;
    vm->mem = p->mem;
    vm->boot = p->boot;
    vm->boot_vcpus = p->boot_vcpus;
    vm->max_vcpus = p->max_vcpus;
    vm->cpu.max_phys_bits = p->max_phys_bits;
    r = vm_numa_copy(&vm->numa, &p->numa, p->max_vcpus, p->mem.nzones, p->virtio, p->nvirtio,
                     p->vfio, p->nvfio);
    if (r < 0) {
        vm_set_err(err, errlen, r,
                   r == -ENOENT ? "vm: NUMA device_id names no device" : "vm: NUMA layout");
        goto fail;
    }
    if (p->boot.cmdline) {
        vm->cmdline = strdup(p->boot.cmdline);
        if (!vm->cmdline) {
            r = vm_set_err(err, errlen, -ENOMEM, "vm");
            goto fail;
        }
    }
    vm->boot.cmdline = vm->cmdline;
    r = build_smbios(vm, &p->smbios, err, errlen);
    if (r < 0)
        goto fail;
    atomic_init(&vm->stopping, false);
    r = vmev_init(&vm->ev);
    if (r < 0) {
        vm_set_err(err, errlen, r, "vm: eventfd");
        goto fail;
    }
    r = vm_sys_install_kick_handler(VCPU_KICK_SIGNAL);
    if (r < 0) {
        vm_set_err(err, errlen, r, "vm: signal handler");
        goto fail;
    }
    r = setup_kvm(vm, err, errlen);
    if (r < 0)
        goto fail;
    vm->hp_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->hp_fd < 0) {
        r = vm_set_err(err, errlen, -errno, "vm: eventfd");
        goto fail;
    }
    dp = (struct vm_devices_params){
        .vm_fd = vm->vm_fd,
        .ev = &vm->ev,
        .log = &vm->log,
        .serial_enabled = p->serial_enabled,
        .serial_in_fd = p->serial_in_fd,
        .serial_out_fd = p->serial_out_fd,
        .pci_segments = p->pci_segments,
        .max_vcpus = p->max_vcpus,
        .boot_vcpus = p->boot_vcpus,
        .mem_hotplug_slots = vm->memhp_size ? GUEST_MEM_MAX_HOTPLUG : 0,
        .pci_eject = vm_hotplug_eject_wake,
        .pci_eject_arg = vm,
    };
    r = vm_devices_init(&vm->dev, &dp);
    if (r < 0) {
        vm_set_err(err, errlen, r, "vm: platform devices");
        goto fail;
    }
    vm->dev_inited = true;
    socks_taken = true; /* setup_pci closes them on failure */
    r = setup_pci(vm, p, err, errlen);
    if (r < 0) {
        for (uint32_t i = 0; i < p->nvfio; i++)
            close(p->vfio[i].sock);
        goto fail;
    }
    r = setup_vfio(vm, p, err, errlen);
    if (r < 0)
        goto fail;
    vm->env = (struct vcpu_env){ .pio = &vm->dev.pio,
                                 .mmio = &vm->dev.mmio,
                                 .ev = &vm->ev,
                                 .coal = &vm->coal,
                                 .log = &vm->log,
                                 .stopping = &vm->stopping,
                                 .thread_init = p->vcpu_thread_init,
                                 .thread_arg = p->vcpu_thread_arg };
    r = setup_vcpus(vm, err, errlen);
    if (r == 0)
        r = set_affinity(vm, p, err, errlen);
    if (r < 0)
        goto fail;
    /* Without it, every write exits as before, and COM1's output is not held back. */
    if (vm->early->coalesced &&
        pio_coal_start(&vm->coal, vm->vcpus[0].run, vm->run_size, PORT_SERIAL_COM1,
                       PORT_SERIAL_COM1, PORT_SERIAL_COM1 + 8, &vm->dev.pio) == 0) {
        pio_coal_on_tick(&vm->coal, serial_host_tick, &vm->dev.serial);
        serial_host_set_buffered(&vm->dev.serial, true);
    }
    /* A restore (issue 18) takes RAM, vCPUs and devices from the snapshot instead. */
    r = p->migrate   ? vm_migrate_receive(vm, p->migrate_fd, err, errlen)
        : p->restore ? vm_restore(vm, p->restore_state_fd, p->restore_ram_fd, err, errlen)
                     : load_guest(vm, err, errlen);
    if (r < 0)
        goto fail;
    *out = vm;
    return 0;
fail:
    if (p->failed) /* before the device connections close: the reason goes out first */
        p->failed(p->failed_arg, r, err);
    for (uint32_t i = 0; !socks_taken && i < p->nvirtio; i++)
        close(p->virtio[i].sock);
    for (uint32_t i = 0; !socks_taken && i < p->nvfio; i++)
        close(p->vfio[i].sock);
    vm_destroy(vm);
    return r;
}

static int start_all(struct vm *vm)
{
    uint32_t i;
    int r;

    atomic_store(&vm->stopping, false);
    vmev_resume(&vm->ev);
    r = vm_devices_start(&vm->dev);
    for (i = 0; !r && i < vm->nvcpus; i++)
        r = vcpu_start(&vm->vcpus[i]);
    return r;
}

static void stop_all(struct vm *vm)
{
    uint32_t i;

    atomic_store(&vm->stopping, true);
    for (i = 0; i < vm->nvcpus; i++)
        vcpu_kick(&vm->vcpus[i]);
    for (i = 0; i < vm->nvcpus; i++)
        vcpu_join(&vm->vcpus[i]);
    vm_devices_stop(&vm->dev);
}

/* The state a triple-faulted vCPU stopped in (vCPUs stopped), for whoever reads the log. */
static void log_triple_faults(struct vm *vm)
{
    for (uint32_t i = 0; i < vm->nvcpus; i++) {
        struct kvm_regs g;
        struct kvm_sregs s;

        if (!vm->vcpus[i].triple_fault)
            continue;
        vm->vcpus[i].triple_fault = false;
        if (kvm_get_regs(vm->vcpus[i].fd, &g) || kvm_get_sregs(vm->vcpus[i].fd, &s))
            continue;
        log_warn(&vm->log,
                 "vcpu%u: triple fault at rip 0x%llx rsp 0x%llx cr0 0x%llx cr2 0x%llx cr3 0x%llx "
                 "cr4 0x%llx efer 0x%llx idt 0x%llx+0x%x cs 0x%x",
                 i, (unsigned long long)g.rip, (unsigned long long)g.rsp, (unsigned long long)s.cr0,
                 (unsigned long long)s.cr2, (unsigned long long)s.cr3, (unsigned long long)s.cr4,
                 (unsigned long long)s.efer, (unsigned long long)s.idt.base, s.idt.limit,
                 s.cs.selector);
    }
}

static int reboot(struct vm *vm, char *err, size_t errlen)
{
    int cause = atomic_exchange(&vm->reset_cause, VM_RESET_GUEST);
    int r = vm_note_reboot(vm);

    log_triple_faults(vm);
    if (r < 0) {
        vm_set_err(err, errlen, 0, "vm: reboot loop, %d reboots within a second", REBOOT_BURST);
        return r;
    }
    log_info(&vm->log, "vm: guest reboot");
    vm_devices_reset(&vm->dev);
    vm_vmem_reboot(vm);
    vm_watchdog_reboot(vm);
    vm_iommu_reboot(vm);
    if (vm->pci_inited) {
        r = pci_devices_reset(&vm->pci, err, errlen);
        if (r < 0)
            return r;
    }
    /* A passed-through function that does not come back is logged and left dead: the guest
     * may go on without it. */
    for (uint32_t i = 0; i < vm->nvfio; i++)
        (void)vfio_pci_reset(vm->vfio[i]);
    r = vm_reset_irqchip(vm);
    if (r < 0)
        return vm_set_err(err, errlen, r, "vm: irqchip reset");
    r = load_guest(vm, err, errlen);
    if (r == 0 && cause != VM_RESET_API && vm->guest_reset)
        vm->guest_reset(vm->guest_reset_arg, (enum vm_reset_cause)cause);
    return r;
}

/*
 * vm_run's side of a pause: the vCPUs are stopped already; every backend ring is stopped, the
 * guest clock saved, and the thread waits for a resume (or a stop). Returns the events that
 * end the pause; *r < 0 (with err) when the VM cannot go on.
 */
static unsigned int paused(struct vm *vm, char *err, size_t errlen, int *r)
{
    unsigned int ev = 0;
    bool restored = vm->start_paused; /* rings and clock come from the snapshot */

    vm->start_paused = false;
    /* vm_pause answers only once the backends no longer touch guest memory. */
    *r = vm->pci_inited && !restored ? vpci_pause_all(&vm->pci.worker, err, errlen) : 0;
    if (*r == 0 && !restored) {
        *r = kvm_get_clock(vm->vm_fd, &vm->clock);
        if (*r < 0)
            vm_set_err(err, errlen, *r, "vm: KVM_GET_CLOCK");
    }
    if (*r < 0) {
        atomic_store(&vm->pause_state, PAUSE_NONE);
        return 0;
    }
    vm_watchdog_pause(vm); /* no check fires while the guest cannot ping */
    atomic_store(&vm->pause_state, PAUSE_DONE);
    log_info(&vm->log, "vm: paused");
    while (!(ev & (VMEV_RESUME | VMEV_STOP | VMEV_ERROR)))
        ev |= vmev_wait(&vm->ev, -1);
    if (ev & VMEV_ERROR) { /* a backend died while paused */
        *r = vm_set_err(err, errlen, -EIO, "%s",
                        atomic_load(&vm->dev_failed) ? vm->dev_err : "vm: failed while paused");
    } else if (!(ev & VMEV_STOP) && vm->pci_inited) {
        *r = vpci_resume_all(&vm->pci.worker, err, errlen);
    }
    if (*r == 0 && !(ev & VMEV_STOP)) {
        /* Only the saved value goes back: no realtime adjustment, so the pause is invisible. */
        vm->clock.flags = 0;
        *r = kvm_set_clock(vm->vm_fd, &vm->clock);
        if (*r < 0)
            vm_set_err(err, errlen, *r, "vm: KVM_SET_CLOCK");
    }
    if (*r == 0 && !(ev & VMEV_STOP))
        vm_watchdog_resume(vm); /* its timeout counts from now */
    atomic_store(&vm->pause_state, PAUSE_NONE);
    log_info(&vm->log, "vm: resumed");
    return ev & ~(unsigned int)(VMEV_RESUME | VMEV_PAUSE);
}

static int run(struct vm *vm, char *err, size_t errlen)
{
    if (vm->start_paused) {
        /* Restored: paused until vm.resume, which restarts the rings and sets the clock. */
        int r;
        unsigned int ev;

        ev = paused(vm, err, errlen, &r);
        if (r < 0)
            return r;
        if (ev & VMEV_STOP)
            return VM_RESULT_STOPPED;
        if (ev & VMEV_REBOOT) {
            r = reboot(vm, err, errlen);
            if (r < 0)
                return r;
        }
    }
    for (;;) {
        unsigned int ev = 0;
        uint32_t i;
        int r = start_all(vm);

        if (r < 0) {
            stop_all(vm);
            return vm_set_err(err, errlen, r, "vm: starting threads");
        }
        while (!ev)
            ev = pio_coal_wait(&vm->coal);
        log_debug(&vm->log, "vm: event 0x%x, stopping the vCPUs", ev);
        stop_all(vm);
        serial_host_flush(&vm->dev.serial); /* a partial line before a pause, a reboot, the end */
        log_debug(&vm->log, "vm: vCPUs stopped");
        /* Events raised while stopping count too (a stop request must never be lost). */
        ev |= vmev_take(&vm->ev);
        if (ev & VMEV_ERROR) {
            if (atomic_load(&vm->dev_failed)) {
                vm_set_err(err, errlen, 0, "%s", vm->dev_err);
                return -EIO;
            }
            for (i = 0; i < vm->nvcpus; i++) {
                if (vm->vcpus[i].err[0])
                    return vm_set_err(err, errlen, -EIO, "%s", vm->vcpus[i].err);
            }
            return vm_set_err(err, errlen, -EIO, "vm: failed");
        }
        if (ev & VMEV_STOP)
            return VM_RESULT_STOPPED;
        if (ev & VMEV_POWEROFF)
            return VM_RESULT_POWEROFF;
        if ((ev & VMEV_NMI) && !(ev & VMEV_REBOOT)) {
            for (i = 0; i < vm->nvcpus; i++) {
                r = kvm_nmi(vm->vcpus[i].fd);
                if (r < 0)
                    return vm_set_err(err, errlen, r, "vm: KVM_NMI on vCPU %u", i);
            }
            log_info(&vm->log, "vm: NMI injected on %u vCPUs", vm->nvcpus);
            ev &= ~(unsigned int)VMEV_NMI;
            if (!ev)
                continue;
        }
        if ((ev & VMEV_PAUSE) && !(ev & VMEV_REBOOT)) {
            ev = paused(vm, err, errlen, &r);
            if (r < 0)
                return r;
            if (ev & VMEV_STOP)
                return VM_RESULT_STOPPED;
            if (!(ev & VMEV_REBOOT))
                continue;
        }
        r = reboot(vm, err, errlen);
        if (r < 0)
            return r;
        /* A pause asked while the reboot was pending applies to the rebooted guest: dropping
         * it would leave vm_pause waiting on a state nobody moves. */
        if (ev & VMEV_PAUSE)
            vmev_post(&vm->ev, VMEV_PAUSE);
    }
}

int vm_run(struct vm *vm, char *err, size_t errlen)
{
    int r = run(vm, err, errlen);

    /* Whatever ended it, the VM does not run again: the device processes may go now. */
    atomic_store(&vm->pci.ctx.ending, true);
    return r;
}

void vm_request_stop(struct vm *vm)
{
    vmev_post(&vm->ev, VMEV_STOP);
}

/* Waits (bounded) for vm_run to move pause_state away from `from`. */
static int wait_pause_state(struct vm *vm, int from)
{
    const struct timespec tick = { .tv_nsec = 1000000 };

    for (int i = 0; i < 5000; i++) {
        int s = atomic_load(&vm->pause_state);

        if (s != from)
            return s;
        nanosleep(&tick, NULL);
    }
    return -ETIMEDOUT;
}

int vm_pause(struct vm *vm)
{
    int expect = PAUSE_NONE;
    int s;

    if (!atomic_compare_exchange_strong(&vm->pause_state, &expect, PAUSE_ASKED))
        return -EALREADY;
    vmev_post(&vm->ev, VMEV_PAUSE);
    s = wait_pause_state(vm, PAUSE_ASKED);
    return s == PAUSE_DONE ? 0 : s < 0 ? s : -ECANCELED;
}

int vm_resume(struct vm *vm)
{
    int s;

    if (atomic_load(&vm->pause_state) != PAUSE_DONE)
        return -EALREADY;
    vmev_post(&vm->ev, VMEV_RESUME);
    s = wait_pause_state(vm, PAUSE_DONE);
    return s == PAUSE_NONE ? 0 : s < 0 ? s : -ECANCELED;
}

void vm_power_button(struct vm *vm)
{
    ged_raise(&vm->dev.ged, GED_EVENT_POWER_BUTTON);
}

void vm_nmi(struct vm *vm)
{
    vmev_post(&vm->ev, VMEV_NMI);
}

void vm_destroy(struct vm *vm)
{
    uint32_t i;

    if (!vm)
        return;
    vm_early_free(vm->early);    /* joins the early thread */
    pio_coal_destroy(&vm->coal); /* plays what is left, in vCPU 0's mapping, to the devices */
    for (i = 0; i < vm->ncreated; i++)
        vcpu_destroy(&vm->vcpus[i]);
    free(vm->vcpus);
    vm_numa_free(&vm->numa);
    /* Before the bus and the GSI table they use, and before the VM fd their slots are in. */
    for (i = 0; i < vm->nvfio; i++) {
        vfio_pci_destroy(vm->vfio[i]);
        free(vm->vfio[i]);
    }
    if (vm->pci_inited)
        pci_devices_destroy(&vm->pci);
    vm_vmem_destroy(vm); /* after the functions that served them */
    vm_pmem_destroy(vm);
    vm_watchdog_destroy(vm);
    vm_iommu_destroy(vm);
    if (vm->dev_inited)
        vm_devices_destroy(&vm->dev);
    free(vm->supported);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->hp_fd >= 0)
        close(vm->hp_fd);
    vm_memhp_destroy(vm); /* after the VM fd: no KVM slot maps them any more */
    vmev_destroy(&vm->ev);
    free(vm->cmdline);
    free(vm);
}
