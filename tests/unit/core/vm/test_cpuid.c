#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/vm/cpuid.h"

Test(topology, defaults_and_validation)
{
    struct cpuid_topology t = { 0 };

    cr_assert_eq(cpuid_topology_fixup(&t, 6), 0);
    cr_assert_eq(t.threads_per_core, 1);
    cr_assert_eq(t.cores_per_die, 6);
    cr_assert_eq(t.dies_per_package, 1);
    cr_assert_eq(t.packages, 1);

    t = (struct cpuid_topology){ 2, 0, 1, 2 };
    cr_assert_eq(cpuid_topology_fixup(&t, 8), 0);
    cr_assert_eq(t.cores_per_die, 2);

    t = (struct cpuid_topology){ 2, 2, 1, 1 };
    cr_assert_eq(cpuid_topology_fixup(&t, 5), -EINVAL);
    cr_assert_eq(cpuid_topology_fixup(&t, 4), 0);
    t = (struct cpuid_topology){ 0 };
    cr_assert_eq(cpuid_topology_fixup(&t, 0), -EINVAL);
}

Test(topology, apic_ids_use_power_of_two_fields)
{
    /* 3 cores need a 2-bit field; 2 threads 1 bit; 2 dies 1 bit. */
    struct cpuid_topology t = { 2, 3, 2, 2 };

    cr_assert_eq(cpuid_thread_bits(&t), 1);
    cr_assert_eq(cpuid_core_bits(&t), 2);
    cr_assert_eq(cpuid_die_bits(&t), 1);
    cr_assert_eq(cpuid_apic_id(&t, 0), 0);
    cr_assert_eq(cpuid_apic_id(&t, 1), 1, "second thread");
    cr_assert_eq(cpuid_apic_id(&t, 2), 2, "core 1");
    cr_assert_eq(cpuid_apic_id(&t, 5), 5, "core 2 thread 1");
    cr_assert_eq(cpuid_apic_id(&t, 6), 8, "die 1 starts at bit 3");
    cr_assert_eq(cpuid_apic_id(&t, 12), 16, "package 1 starts at bit 4");
    cr_assert_eq(cpuid_apic_id(&t, 23), 16 + 8 + 4 + 1);

    t = (struct cpuid_topology){ 1, 4, 1, 1 };
    cr_assert_eq(cpuid_apic_id(&t, 3), 3);
    cr_assert_eq(cpuid_thread_bits(&t), 0);
}

/* A small Intel-like supported list. */
static const struct kvm_cpuid_entry2 sup[] = {
    { .function = 0, .eax = 0x16, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 },
    { .function = 1, .eax = 0x906ea, .ebx = 0xff000800, .ecx = 0x00200000, .edx = 0x10000000 },
    { .function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc004121 },
    { .function = 4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc004122 },
    { .function = 4, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc004143 },
    { .function = 4, .index = 3, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc01c163 },
    { .function = 4, .index = 4, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0 },
    { .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = 0x20000400 },
    { .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 99 },
    { .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b },
    { .function = 0x40000001, .eax = 0x01007efb },
    { .function = 0x40000080, .eax = 0xdead },
    { .function = 0x80000000, .eax = 0x80000008 },
    { .function = 0x80000008, .eax = 0x3030 },
};
#define NSUP (sizeof(sup) / sizeof(sup[0]))

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *t, int n, uint32_t f,
                                           uint32_t i)
{
    const struct kvm_cpuid_entry2 *e = cpuid_find(t, (uint32_t)n, f, i);

    cr_assert_not_null(e, "leaf 0x%x.%u missing", f, i);
    return e;
}

static int build(const struct cpuid_config *cfg, uint32_t apic_id, struct kvm_cpuid_entry2 *out)
{
    int n = cpuid_build(sup, NSUP, cfg, apic_id, out, 64);

    cr_assert_gt(n, 0);
    return n;
}

Test(cpuid, topology_leaves)
{
    struct cpuid_config cfg = { .topo = { 2, 2, 1, 1 } };
    struct kvm_cpuid_entry2 out[64];
    int n = build(&cfg, 3, out);
    const struct kvm_cpuid_entry2 *e;

    e = find(out, n, 1, 0);
    cr_assert_eq(e->ebx >> 24, 3);
    cr_assert_eq((e->ebx >> 16) & 0xff, 4);
    cr_assert_eq(e->ebx & 0xffff, 0x0800, "CLFLUSH size kept");
    cr_assert(e->ecx & (1u << 31), "hypervisor bit");
    cr_assert(e->edx & (1u << 28), "HTT");

    e = find(out, n, 0xb, 0);
    cr_assert_eq(e->eax, 1);
    cr_assert_eq(e->ebx, 2);
    cr_assert_eq(e->ecx, 0x100);
    cr_assert_eq(e->edx, 3);
    e = find(out, n, 0xb, 1);
    cr_assert_eq(e->eax, 2);
    cr_assert_eq(e->ebx, 4);
    cr_assert_eq(e->ecx, 0x201);
    e = find(out, n, 0xb, 2);
    cr_assert_eq(e->ebx, 0);
    cr_assert_eq(e->ecx, 2, "invalid level terminates");
    cr_assert_null(cpuid_find(out, (uint32_t)n, 0x1f, 0), "no 0x1f below max leaf 0x1f");

    e = find(out, n, 4, 0);
    cr_assert_eq((e->eax >> 14) & 0xfff, 1, "L1 shared by the 2 threads");
    cr_assert_eq(e->eax >> 26, 1, "2 cores per package");
    cr_assert_eq(e->eax & 0x3fff, 0x0121);
    e = find(out, n, 4, 3);
    cr_assert_eq((e->eax >> 14) & 0xfff, 3, "L3 shared by the package");
    e = find(out, n, 4, 4);
    cr_assert_eq(e->eax, 0, "no-cache terminator untouched");
}

Test(cpuid, die_level_adds_leaf_1f)
{
    struct cpuid_config cfg = { .topo = { 1, 2, 2, 1 } };
    struct kvm_cpuid_entry2 out[64];
    int n = build(&cfg, 2, out);
    const struct kvm_cpuid_entry2 *e;

    cr_assert_geq(find(out, n, 0, 0)->eax, 0x1f, "max leaf raised");
    e = find(out, n, 0x1f, 0);
    cr_assert_eq(e->eax, 0);
    cr_assert_eq((e->ecx >> 8) & 0xff, 1);
    e = find(out, n, 0x1f, 1);
    cr_assert_eq(e->eax, 1);
    cr_assert_eq((e->ecx >> 8) & 0xff, 2);
    e = find(out, n, 0x1f, 2);
    cr_assert_eq(e->eax, 2);
    cr_assert_eq(e->ebx, 4);
    cr_assert_eq((e->ecx >> 8) & 0xff, 5, "die level");
    cr_assert_eq(e->edx, 2);
    e = find(out, n, 0x1f, 3);
    cr_assert_eq((e->ecx >> 8) & 0xff, 0);
    e = find(out, n, 0xb, 1);
    cr_assert_eq(e->eax, 2, "0xb's core level spans the package");
}

Test(cpuid, filters_what_the_host_refuses)
{
    struct cpuid_config cfg = { .topo = { 1, 1, 1, 1 } };
    struct kvm_cpuid_entry2 out[64];
    int n = build(&cfg, 0, out);

    cr_assert_eq(find(out, n, 7, 0)->edx, 0x00000400, "ARCH_CAPABILITIES cleared");
    cr_assert_eq(find(out, n, 1, 0)->edx & (1u << 28), 0, "no HTT for one thread");
    cr_assert_eq(find(out, n, 1, 0)->ecx & (1u << 24), 0, "no TSC deadline unless KVM says");
    cfg.host.arch_caps_msr = true;
    cfg.host.tsc_deadline = true;
    n = build(&cfg, 0, out);
    cr_assert_eq(find(out, n, 7, 0)->edx, 0x20000400);
    cr_assert(find(out, n, 1, 0)->ecx & (1u << 24));
}

Test(cpuid, hypervisor_leaves_and_tsc)
{
    struct cpuid_config cfg = { .topo = { 1, 1, 1, 1 }, .host.tsc_khz = 2300000 };
    struct kvm_cpuid_entry2 out[64];
    int n = build(&cfg, 0, out);
    const struct kvm_cpuid_entry2 *e = find(out, n, 0x40000000, 0);
    char sig[13] = { 0 };

    memcpy(sig, &e->ebx, 4);
    memcpy(sig + 4, &e->ecx, 4);
    memcpy(sig + 8, &e->edx, 4);
    cr_assert_str_eq(sig, "KVMKVMKVM");
    cr_assert_eq(e->eax, 0x40000010);
    cr_assert_eq(find(out, n, 0x40000001, 0)->eax, 0x01007efb, "KVM features kept");
    e = find(out, n, 0x40000010, 0);
    cr_assert_eq(e->eax, 2300000);
    cr_assert_eq(e->ebx, 1000000);
    e = find(out, n, 0x15, 0);
    cr_assert_eq((uint64_t)e->ecx * e->ebx / e->eax, 2300000000ull, "crystal * ratio = TSC Hz");
    cr_assert_null(cpuid_find(out, (uint32_t)n, 0x40000080, 0), "other hypervisor leaves dropped");

    cfg.host.tsc_khz = 0;
    n = build(&cfg, 0, out);
    cr_assert_eq(find(out, n, 0x40000000, 0)->eax, 0x40000001);
    cr_assert_null(cpuid_find(out, (uint32_t)n, 0x40000010, 0));
    cr_assert_null(cpuid_find(out, (uint32_t)n, 0x15, 0));
}

Test(cpuid, phys_bits_clamped_to_host)
{
    struct cpuid_config cfg = { .topo = { 1, 1, 1, 1 }, .max_phys_bits = 39 };
    struct kvm_cpuid_entry2 out[64];
    int n = build(&cfg, 0, out);

    cr_assert_eq(find(out, n, 0x80000008, 0)->eax, 0x3027);
    cfg.max_phys_bits = 52;
    n = build(&cfg, 0, out);
    cr_assert_eq(find(out, n, 0x80000008, 0)->eax, 0x3030, "never above the host");
    cfg.max_phys_bits = 0;
    n = build(&cfg, 0, out);
    cr_assert_eq(find(out, n, 0x80000008, 0)->eax, 0x3030);
}

Test(cpuid, no_room)
{
    struct cpuid_config cfg = { .topo = { 1, 1, 1, 1 } };
    struct kvm_cpuid_entry2 out[64];

    cr_assert_eq(cpuid_build(sup, NSUP, &cfg, 0, out, 5), -ENOSPC);
    cr_assert_eq(cpuid_build(sup, NSUP, &cfg, 0, out, NSUP), -ENOSPC);
}
