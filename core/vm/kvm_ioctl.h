#ifndef CELLVM_CORE_VM_KVM_IOCTL_H
#define CELLVM_CORE_VM_KVM_IOCTL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

/*
 * Thin wrappers around every KVM ioctl the core issues, so the seccomp profile of the core can
 * be read against this one file. Each returns 0 (or a non-negative count/fd) or -errno; none
 * retries except where noted.
 */

/* /dev/kvm */
int kvm_api_version(int kvm_fd);
int kvm_check_extension(int kvm_fd, long cap);
int kvm_create_vm(int kvm_fd);
int kvm_vcpu_mmap_size(int kvm_fd);
/* Fills *out (allocated with room for max entries) from KVM_GET_SUPPORTED_CPUID. */
int kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 *out);

/* VM fd */
int kvm_set_tss_addr(int vm_fd, uint64_t gpa);
int kvm_set_identity_map_addr(int vm_fd, uint64_t gpa);
int kvm_create_irqchip(int vm_fd);
int kvm_set_user_memory_region(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host);
int kvm_create_vcpu(int vm_fd, uint32_t id);
int kvm_irq_line(int vm_fd, uint32_t irq, int level);
int kvm_get_irqchip(int vm_fd, struct kvm_irqchip *chip);
int kvm_set_irqchip(int vm_fd, const struct kvm_irqchip *chip);

/* vCPU fd */
int kvm_run(int vcpu_fd);
int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *cpuid);
int kvm_get_regs(int vcpu_fd, struct kvm_regs *regs);
int kvm_set_regs(int vcpu_fd, const struct kvm_regs *regs);
int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs);
int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs);
int kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *fpu);
/* Returns the number of MSRs KVM processed. */
/* On a vCPU fd, or on /dev/kvm for feature MSRs. */
int kvm_get_msrs(int fd, struct kvm_msrs *msrs);
int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *msrs);
int kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *lapic);
int kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *lapic);
int kvm_set_mp_state(int vcpu_fd, uint32_t state);
/* TSC frequency in kHz. */
int kvm_get_tsc_khz(int vcpu_fd);

#endif
