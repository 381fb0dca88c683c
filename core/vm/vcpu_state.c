#include "core/vm/vcpu_state.h"

#include <errno.h>
#include <string.h>

#include "core/platform.h"
#include "core/vm/boot_cpu.h"
#include "core/vm/kvm_ioctl.h"

#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102

#define MISC_ENABLE_FAST_STRING 0x1ull
#define MTRR_ENABLE_WB          ((1ull << 11) | 0x6) /* MTRRs on, default type write-back */

#define APIC_BASE_BSP           (1ull << 8)
#define APIC_BASE_ENABLE        (1ull << 11)

/* Local APIC register offsets (Intel SDM vol. 3 table 11-1). */
#define APIC_ID         0x20
#define APIC_LVR        0x30
#define APIC_DFR        0xe0
#define APIC_SVR        0xf0
#define APIC_LVTT       0x320
#define APIC_LVTTHM     0x330
#define APIC_LVTPC      0x340
#define APIC_LVT0       0x350
#define APIC_LVT1       0x360
#define APIC_LVTERR     0x370
#define APIC_LVT_MASKED 0x10000u
#define APIC_DM_NMI     0x400u
#define APIC_DM_EXTINT  0x700u

static const uint32_t boot_msrs[][2] = {
    { MSR_IA32_SYSENTER_CS, 0 },
    { MSR_IA32_SYSENTER_ESP, 0 },
    { MSR_IA32_SYSENTER_EIP, 0 },
    { MSR_STAR, 0 },
    { MSR_LSTAR, 0 },
    { MSR_CSTAR, 0 },
    { MSR_SYSCALL_MASK, 0 },
    { MSR_KERNEL_GS_BASE, 0 },
};

/*
 * KVM paravirt MSRs that make KVM write into guest memory (kvmclock, steal time, async PF, PV
 * EOI). A reboot must turn them off: otherwise KVM keeps updating the previous kernel's
 * structures, now in the middle of the freshly loaded one. Hosts without a given MSR refuse the
 * write, which is fine (nothing to turn off), so failures are ignored.
 */
static const uint32_t kvm_pv_msrs[][2] = {
    { 0x12, 0 },       /* MSR_KVM_SYSTEM_TIME */
    { 0x4b564d01, 0 }, /* MSR_KVM_SYSTEM_TIME_NEW */
    { 0x4b564d02, 0 }, /* MSR_KVM_ASYNC_PF_EN */
    { 0x4b564d03, 0 }, /* MSR_KVM_STEAL_TIME */
    { 0x4b564d04, 0 }, /* MSR_KVM_PV_EOI_EN */
    { 0x4b564d05, 1 }, /* MSR_KVM_POLL_CONTROL: 1 is its reset value */
    { 0x4b564d06, 0 }, /* MSR_KVM_ASYNC_PF_INT */
};

#define NPV_MSRS   (sizeof(kvm_pv_msrs) / sizeof(kvm_pv_msrs[0]))
#define NBOOT_MSRS (sizeof(boot_msrs) / sizeof(boot_msrs[0]))
#define NMSRS      (NPV_MSRS + NBOOT_MSRS + 2)

/*
 * One KVM_SET_MSRS for all of them: each vCPU ioctl costs a vcpu_load, 5-6 us on this host (a
 * loop of 2000: 17 single writes 83-103 us, one batch 5 us). KVM writes the entries in order
 * and stops at the first it refuses, returning how many it wrote; a refused paravirt MSR is
 * skipped and the rest sent again, a refused architectural one fails the reset. Each pass
 * moves past at least one entry, so there are at most NPV_MSRS + 1.
 */
static int reset_msrs(int fd)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[NMSRS];
    } m;
    size_t i, n = 0;

    memset(&m, 0, sizeof(m));
    for (i = 0; i < NPV_MSRS; i++, n++) {
        m.e[n].index = kvm_pv_msrs[i][0];
        m.e[n].data = kvm_pv_msrs[i][1];
    }
    for (i = 0; i < NBOOT_MSRS; i++, n++) {
        m.e[n].index = boot_msrs[i][0];
        m.e[n].data = boot_msrs[i][1];
    }
    m.e[n].index = MSR_IA32_MISC_ENABLE;
    m.e[n++].data = MISC_ENABLE_FAST_STRING;
    m.e[n].index = MSR_MTRR_DEF_TYPE;
    m.e[n++].data = MTRR_ENABLE_WB;
    /* Paravirt MSRs come first: `pv` of them are still in the batch. */
    for (size_t pv = NPV_MSRS; n > 0;) {
        int r;

        m.hdr.nmsrs = (uint32_t)n;
        r = kvm_set_msrs(fd, &m.hdr);
        if (r < 0)
            return r;
        if ((size_t)r == n)
            break;
        if ((size_t)r >= pv)
            return -EINVAL;
        /* a paravirt MSR this host does not have (nothing to turn off): send the rest */
        n -= (size_t)r + 1;
        pv -= (size_t)r + 1;
        memmove(m.e, &m.e[r + 1], n * sizeof(m.e[0]));
    }
    return 0;
}

static void apic_set(struct kvm_lapic_state *l, unsigned int reg, uint32_t v)
{
    memcpy(&l->regs[reg], &v, sizeof(v));
}

static uint32_t apic_get(const struct kvm_lapic_state *l, unsigned int reg)
{
    uint32_t v;

    memcpy(&v, &l->regs[reg], sizeof(v));
    return v;
}

/* A local APIC as after RESET in xAPIC mode, with the LINT pins wired the PC way: LINT0 to the
 * 8259's INTR (ExtINT), LINT1 to NMI, which is what Linux expects to find on the BSP. */
static int reset_lapic(int fd, uint32_t apic_id)
{
    struct kvm_lapic_state l;
    uint32_t version;
    int r = kvm_get_lapic(fd, &l);

    if (r < 0)
        return r;
    version = apic_get(&l, APIC_LVR);
    memset(&l, 0, sizeof(l));
    apic_set(&l, APIC_ID, apic_id << 24);
    apic_set(&l, APIC_LVR, version);
    apic_set(&l, APIC_DFR, 0xffffffffu);
    apic_set(&l, APIC_SVR, 0xff);
    apic_set(&l, APIC_LVTT, APIC_LVT_MASKED);
    apic_set(&l, APIC_LVTTHM, APIC_LVT_MASKED);
    apic_set(&l, APIC_LVTPC, APIC_LVT_MASKED);
    apic_set(&l, APIC_LVTERR, APIC_LVT_MASKED);
    apic_set(&l, APIC_LVT0, APIC_DM_EXTINT);
    apic_set(&l, APIC_LVT1, APIC_DM_NMI);
    return kvm_set_lapic(fd, &l);
}

static int reset_fpu(int fd)
{
    struct kvm_fpu fpu;

    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;    /* FNINIT state */
    fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
    return kvm_set_fpu(fd, &fpu);
}

/* Exceptions, interrupts and NMIs KVM still holds for the previous run must not reach the
 * next one; XCR0 goes back to its power-on value (x87 only). Hosts without XSAVE refuse the XCR
 * write, which leaves nothing to reset. */
static int reset_events(int fd)
{
    struct kvm_vcpu_events ev;
    struct kvm_xcrs xcrs;

    memset(&xcrs, 0, sizeof(xcrs));
    xcrs.nr_xcrs = 1;
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = 1;
    (void)kvm_set_xcrs(fd, &xcrs);
    memset(&ev, 0, sizeof(ev));
    return kvm_set_vcpu_events(fd, &ev);
}

int vcpu_state_reset(int vcpu_fd, uint32_t apic_id, const struct boot_entry *entry)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs;
    int r;

    r = kvm_get_sregs(vcpu_fd, &sregs);
    if (r < 0)
        return r;
    /* KVM_SET_SREGS also sets the APIC base, leaving x2APIC mode a guest may have entered. */
    sregs.apic_base = GPA_LAPIC | APIC_BASE_ENABLE | (entry ? APIC_BASE_BSP : 0);
    memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
    if (entry)
        boot_cpu_sregs(entry, &sregs);
    r = kvm_set_sregs(vcpu_fd, &sregs);
    if (!r)
        r = reset_lapic(vcpu_fd, apic_id);
    if (!r)
        r = reset_msrs(vcpu_fd);
    if (!r)
        r = reset_fpu(vcpu_fd);
    if (!r)
        r = reset_events(vcpu_fd);
    if (!r && entry) {
        boot_cpu_regs(entry, &regs);
        r = kvm_set_regs(vcpu_fd, &regs);
    }
    if (!r)
        r = kvm_set_mp_state(vcpu_fd, entry ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED);
    return r;
}
