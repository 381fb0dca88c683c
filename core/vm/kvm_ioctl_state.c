#include "core/vm/kvm_ioctl_state.h"

#include <errno.h>
#include <sys/ioctl.h>

static int ret_or_errno(int r)
{
    return r < 0 ? -errno : r;
}

int kvm_get_msr_index_list(int kvm_fd, struct kvm_msr_list *list)
{
    return ret_or_errno(ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list));
}

int kvm_get_xsave(int vcpu_fd, struct kvm_xsave *x)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_XSAVE, x));
}

int kvm_set_xsave(int vcpu_fd, const struct kvm_xsave *x)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_XSAVE, x));
}

int kvm_get_xcrs(int vcpu_fd, struct kvm_xcrs *x)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_XCRS, x));
}

int kvm_get_vcpu_events(int vcpu_fd, struct kvm_vcpu_events *ev)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, ev));
}

int kvm_get_mp_state(int vcpu_fd, uint32_t *state)
{
    struct kvm_mp_state mp = { 0 };
    int r = ret_or_errno(ioctl(vcpu_fd, KVM_GET_MP_STATE, &mp));

    if (r >= 0)
        *state = mp.mp_state;
    return r;
}

int kvm_get_debugregs(int vcpu_fd, struct kvm_debugregs *d)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_GET_DEBUGREGS, d));
}

int kvm_set_debugregs(int vcpu_fd, const struct kvm_debugregs *d)
{
    return ret_or_errno(ioctl(vcpu_fd, KVM_SET_DEBUGREGS, d));
}
