#ifndef CELLVM_CORE_VM_KVM_IOCTL_H
#define CELLVM_CORE_VM_KVM_IOCTL_H

#include <stdbool.h>
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
/* The same slot with KVM_MEM_LOG_DIRTY_PAGES on or off (live migration, vm_migrate.c). */
int kvm_set_memory_slot_log(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
                            bool log);
/* The slot's dirty bitmap since the last call (one bit per 4 KiB page), which KVM then clears. */
int kvm_get_dirty_log(int vm_fd, uint32_t slot, uint64_t *bitmap);
int kvm_create_vcpu(int vm_fd, uint32_t id);
int kvm_irq_line(int vm_fd, uint32_t irq, int level);
int kvm_get_irqchip(int vm_fd, struct kvm_irqchip *chip);
int kvm_set_irqchip(int vm_fd, const struct kvm_irqchip *chip);
/* kvmclock as the guest sees it; saved and restored around a pause so the guest clock stops. */
int kvm_get_clock(int vm_fd, struct kvm_clock_data *data);
int kvm_set_clock(int vm_fd, const struct kvm_clock_data *data);
/* Replaces the whole GSI routing table (core/vm/gsi.c is its only caller). */
int kvm_set_gsi_routing(int vm_fd, const struct kvm_irq_routing *table);
/* Binds (assign) or unbinds an eventfd to a GSI: a signal on fd injects that interrupt. */
int kvm_irqfd(int vm_fd, int fd, uint32_t gsi, bool assign);
/* A level-triggered irqfd: a signal on fd asserts GSI gsi (an IOAPIC pin) until the guest's
 * EOI, which deasserts it and signals resample_fd. Unbinding (assign false) deasserts it. */
int kvm_irqfd_resample(int vm_fd, int fd, int resample_fd, uint32_t gsi, bool assign);
/* A guest write of len bytes at MMIO gpa signals fd instead of exiting (no datamatch). */
int kvm_ioeventfd(int vm_fd, int fd, uint64_t gpa, uint32_t len, bool assign);
/* The same on an I/O port. */
int kvm_ioeventfd_pio(int vm_fd, int fd, uint16_t port, uint32_t len, bool assign);
/* Writes to ports [port, port + len) go to the coalesced ring (pio_coal.h) instead of exiting;
 * -ENOTSUP without KVM_CAP_COALESCED_PIO. */
int kvm_register_coalesced_pio(int vm_fd, uint16_t port, uint32_t len);
/* Injects one MSI (a pending MSI-X vector on unmask). 1 delivered, 0 blocked, or -errno. */
int kvm_signal_msi(int vm_fd, uint64_t addr, uint32_t data);

/* vCPU fd */
int kvm_run(int vcpu_fd);
int kvm_set_cpuid2(int vcpu_fd, const struct kvm_cpuid2 *cpuid);
int kvm_get_regs(int vcpu_fd, struct kvm_regs *regs);
int kvm_set_regs(int vcpu_fd, const struct kvm_regs *regs);
int kvm_get_sregs(int vcpu_fd, struct kvm_sregs *sregs);
int kvm_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs);
int kvm_set_fpu(int vcpu_fd, const struct kvm_fpu *fpu);
int kvm_set_vcpu_events(int vcpu_fd, const struct kvm_vcpu_events *ev);
int kvm_set_xcrs(int vcpu_fd, const struct kvm_xcrs *xcrs);
/* Returns the number of MSRs KVM processed. */
/* On a vCPU fd, or on /dev/kvm for feature MSRs. */
int kvm_get_msrs(int fd, struct kvm_msrs *msrs);
int kvm_set_msrs(int vcpu_fd, const struct kvm_msrs *msrs);
int kvm_get_lapic(int vcpu_fd, struct kvm_lapic_state *lapic);
int kvm_set_lapic(int vcpu_fd, const struct kvm_lapic_state *lapic);
int kvm_set_mp_state(int vcpu_fd, uint32_t state);
int kvm_nmi(int vcpu_fd);
/* TSC frequency in kHz. */
int kvm_get_tsc_khz(int vcpu_fd);

#endif
