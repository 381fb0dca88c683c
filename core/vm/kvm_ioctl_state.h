#ifndef CELLVM_CORE_VM_KVM_IOCTL_STATE_H
#define CELLVM_CORE_VM_KVM_IOCTL_STATE_H

#include <stdint.h>

#include <linux/kvm.h>

/*
 * The KVM ioctls only a snapshot and a restore issue (issue 18), beside kvm_ioctl.h so the
 * core's seccomp profile can be read against them. Each returns 0 (or a count) or -errno.
 */

/* /dev/kvm: the MSRs KVM saves and restores; list->nmsrs is the room in, the count out. */
int kvm_get_msr_index_list(int kvm_fd, struct kvm_msr_list *list);

/* vCPU fd */
int kvm_get_xsave(int vcpu_fd, struct kvm_xsave *x);
int kvm_set_xsave(int vcpu_fd, const struct kvm_xsave *x);
int kvm_get_xcrs(int vcpu_fd, struct kvm_xcrs *x);
int kvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *ev);
int kvm_get_mp_state(int vcpu_fd, uint32_t *state);
int kvm_get_debugregs(int vcpu_fd, struct kvm_debugregs *d);
int kvm_set_debugregs(int vcpu_fd, const struct kvm_debugregs *d);

#endif
