#include "core/vm/kvm_ioctl.h"

#include <errno.h>
#include <sys/ioctl.h>

static int ret_or_errno(int r)
{
    return r < 0 ? -errno : r;
}

int kvm_api_version(int kvm_fd)
{
    return ret_or_errno(ioctl(kvm_fd, KVM_GET_API_VERSION, 0));
}

int kvm_check_extension(int kvm_fd, long cap)
{
    return ret_or_errno(ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap));
}

int kvm_create_vm(int kvm_fd)
{
    /* KVM hands back the VM fd with O_CLOEXEC already set. */
    return ret_or_errno(ioctl(kvm_fd, KVM_CREATE_VM, 0));
}

int kvm_vcpu_mmap_size(int kvm_fd)
{
    return ret_or_errno(ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0));
}

int kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 *out)
{
    return ret_or_errno(ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, out));
}

int kvm_set_tss_addr(int vm_fd, uint64_t gpa)
{
    return ret_or_errno(ioctl(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)gpa));
}

int kvm_set_identity_map_addr(int vm_fd, uint64_t gpa)
{
    __u64 addr = gpa;

    return ret_or_errno(ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr));
}

int kvm_create_irqchip(int vm_fd)
{
    return ret_or_errno(ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0));
}

int kvm_set_user_memory_region(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (__u64)(uintptr_t)host,
    };

    return ret_or_errno(ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r));
}

int kvm_set_memory_slot_log(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                            bool log)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .flags = log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (__u64)(uintptr_t)host,
    };

    return ret_or_errno(ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r));
}

int kvm_get_dirty_log(int vm_fd, uint32_t slot, uint64_t *bitmap)
{
    struct kvm_dirty_log d = { .slot = slot, .dirty_bitmap = bitmap };

    return ret_or_errno(ioctl(vm_fd, KVM_GET_DIRTY_LOG, &d));
}

int kvm_create_vcpu(int vm_fd, uint32_t id)
{
    return ret_or_errno(ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)id));
}

int kvm_irq_line(int vm_fd, uint32_t irq, int level)
{
    struct kvm_irq_level l = { .irq = irq, .level = (__u32)level };

    return ret_or_errno(ioctl(vm_fd, KVM_IRQ_LINE, &l));
}

int kvm_get_irqchip(int vm_fd, struct kvm_irqchip *chip)
{
    return ret_or_errno(ioctl(vm_fd, KVM_GET_IRQCHIP, chip));
}

int kvm_set_irqchip(int vm_fd, const struct kvm_irqchip *chip)
{
    return ret_or_errno(ioctl(vm_fd, KVM_SET_IRQCHIP, chip));
}

int kvm_get_clock(int vm_fd, struct kvm_clock_data *data)
{
    return ret_or_errno(ioctl(vm_fd, KVM_GET_CLOCK, data));
}

int kvm_set_clock(int vm_fd, const struct kvm_clock_data *data)
{
    return ret_or_errno(ioctl(vm_fd, KVM_SET_CLOCK, data));
}

int kvm_run(int vcpu_fd)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_RUN, 0));
}

int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *cpuid)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid));
}

int kvm_get_regs(int vcpu_fd, struct kvm_regs *regs)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_REGS, regs));
}

int kvm_set_regs(int vcpu_fd, const struct kvm_regs *regs)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_REGS, regs));
}

int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_SREGS, sregs));
}

int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_SREGS, sregs));
}

int kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *fpu)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_FPU, fpu));
}

int kvm_set_vcpu_events(int vcpu_fd, const struct kvm_vcpu_events *ev)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, ev));
}

int kvm_set_xcrs(int vcpu_fd, const struct kvm_xcrs *xcrs)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_XCRS, xcrs));
}

int kvm_get_msrs(int fd, struct kvm_msrs *msrs)
{
    return ret_or_errno(ioctl(fd, KVM_GET_MSRS, msrs));
}

int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *msrs)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_MSRS, msrs));
}

int kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *lapic)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_LAPIC, lapic));
}

int kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *lapic)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_LAPIC, lapic));
}

int kvm_set_mp_state(int vcpu_fd, uint32_t state)
{
    struct kvm_mp_state mp = { .mp_state = state };

    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_MP_STATE, &mp));
}

int kvm_nmi(int vcpu_fd)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_NMI));
}

int kvm_get_tsc_khz(int vcpu_fd)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0));
}

int kvm_set_gsi_routing(int vm_fd, const struct kvm_irq_routing *table)
{
    return ret_or_errno(ioctl(vm_fd, KVM_SET_GSI_ROUTING, table));
}

int kvm_irqfd(int vm_fd, int fd, uint32_t gsi, bool assign)
{
    struct kvm_irqfd i = { .fd = (__u32)fd,
                           .gsi = gsi,
                           .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

    return ret_or_errno(ioctl(vm_fd, KVM_IRQFD, &i));
}

int kvm_irqfd_resample(int vm_fd, int fd, int resample_fd, uint32_t gsi, bool assign)
{
    struct kvm_irqfd i = { .fd = (__u32)fd, .gsi = gsi };

    if (assign) {
        i.flags = KVM_IRQFD_FLAG_RESAMPLE;
        i.resamplefd = (__u32)resample_fd;
    } else {
        i.flags = KVM_IRQFD_FLAG_DEASSIGN;
    }
    return ret_or_errno(ioctl(vm_fd, KVM_IRQFD, &i));
}

int kvm_ioeventfd(int vm_fd, int fd, uint64_t gpa, uint32_t len, bool assign)
{
    struct kvm_ioeventfd e = {
        .addr = gpa,
        .len = len,
        .fd = fd,
        .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
    };

    return ret_or_errno(ioctl(vm_fd, KVM_IOEVENTFD, &e));
}

int kvm_ioeventfd_pio(int vm_fd, int fd, uint16_t port, uint32_t len, bool assign)
{
    struct kvm_ioeventfd e = {
        .addr = port,
        .len = len,
        .fd = fd,
        .flags = KVM_IOEVENTFD_FLAG_PIO | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };

    return ret_or_errno(ioctl(vm_fd, KVM_IOEVENTFD, &e));
}

int kvm_register_coalesced_pio(int vm_fd, uint16_t port, uint32_t len)
{
    struct kvm_coalesced_mmio_zone z = { .addr = port, .size = len, .pio = 1 };

    if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0)
        return -ENOTSUP;
    return ret_or_errno(ioctl(vm_fd, KVM_REGISTER_COALESCED_MMIO, &z));
}

int kvm_signal_msi(int vm_fd, uint64_t addr, uint32_t data)
{
    struct kvm_msi m = { .address_lo = (__u32)addr,
                         .address_hi = (__u32)(addr >> 32),
                         .data = data };

    return ret_or_errno(ioctl(vm_fd, KVM_SIGNAL_MSI, &m));
}
