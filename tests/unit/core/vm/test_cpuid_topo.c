/* Topology -> CPUID leaves 0x1, 0x4, 0xB, 0x1F, 0x80000008 and the TSC leaves, for several
 * --cpus topology values, on every vCPU of each. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/vm/cpuid.h"

/* Intel-like with leaf 0x1F and 0x15 available, AMD-like with the extended topology bits. */
static const struct kvm_cpuid_entry2 intel[] = {
    { .function = 0, .eax = 0x1f, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69 },
    { .function = 1, .eax = 0x906ea, .ebx = 0xff000800 },
    { .function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc004121 },
    { .function = 4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc004143 },
    { .function = 4, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0xfc01c163 },
    { .function = 0x15, .eax = 2, .ebx = 100, .ecx = 24000000 },
    { .function = 0x80000000, .eax = 0x80000008 },
    { .function = 0x80000008, .eax = 0x302e },
};
static const struct kvm_cpuid_entry2 amd[] = {
    { .function = 0, .eax = 0x10, .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65 },
    { .function = 1, .eax = 0x800f12, .ebx = 0x00000800 },
    { .function = 0x80000000, .eax = 0x80000008 },
    { .function = 0x80000008, .eax = 0x3030, .ecx = 0x7007 },
};

struct topo_case {
    uint32_t threads, cores, dies, packages, max_phys_bits;
    unsigned int tb, cb, db; /* expected field widths */
};

static const struct topo_case cases[] = {
    { 1, 1, 1, 1, 46, 0, 0, 0 }, { 1, 4, 1, 1, 40, 0, 2, 0 }, { 2, 2, 1, 1, 39, 1, 1, 0 },
    { 2, 3, 1, 2, 46, 1, 2, 0 }, { 2, 2, 2, 2, 36, 1, 1, 1 }, { 4, 1, 3, 1, 46, 2, 0, 2 },
    { 1, 7, 1, 3, 52, 0, 3, 0 },
};

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid_entry2 *t, int n, uint32_t f,
                                           uint32_t i)
{
    const struct kvm_cpuid_entry2 *e = cpuid_find(t, (uint32_t)n, f, i);

    cr_assert_not_null(e, "leaf 0x%x.%u missing", f, i);
    return e;
}

/* Leaf 0xB or 0x1F: levels (type, shift) then the invalid level, x2APIC id in every edx. */
static void check_levels(const struct kvm_cpuid_entry2 *t, int n, uint32_t f, uint32_t apic,
                         const uint32_t (*want)[2], uint32_t nlevels)
{
    for (uint32_t i = 0; i <= nlevels; i++) {
        const struct kvm_cpuid_entry2 *e = leaf(t, n, f, i);

        cr_expect_eq(e->edx, apic, "0x%x.%u x2apic id", f, i);
        cr_expect_eq(e->ecx & 0xff, i, "0x%x.%u level number", f, i);
        if (i == nlevels) {
            cr_expect_eq((e->ecx >> 8) & 0xff, 0, "0x%x ends after %u levels", f, nlevels);
            cr_expect_eq(e->ebx, 0);
            continue;
        }
        cr_expect_eq((e->ecx >> 8) & 0xff, want[i][0], "0x%x.%u type", f, i);
        cr_expect_eq(e->eax & 0x1f, want[i][1], "0x%x.%u shift", f, i);
        cr_expect_eq(e->ebx & 0xffff, 1u << want[i][1], "0x%x.%u logical count", f, i);
    }
}

static void check_intel(const struct topo_case *c, uint32_t idx, const struct cpuid_config *cfg)
{
    struct kvm_cpuid_entry2 out[64];
    uint32_t apic = cpuid_apic_id(&cfg->topo, idx), pkg_bits = c->tb + c->cb + c->db;
    const uint32_t b_levels[2][2] = { { 1, c->tb }, { 2, pkg_bits } };
    const uint32_t v2_levels[3][2] = { { 1, c->tb }, { 2, c->tb + c->cb }, { 5, pkg_bits } };
    const struct kvm_cpuid_entry2 *e;
    int n = cpuid_build(intel, sizeof(intel) / sizeof(intel[0]), cfg, apic, out, 64);

    cr_assert_gt(n, 0);
    e = leaf(out, n, 1, 0);
    cr_expect_eq(e->ebx >> 24, apic & 0xff, "leaf 1 initial APIC id");
    cr_expect_eq((e->ebx >> 16) & 0xff, (1u << pkg_bits) > 0xff ? 0xff : 1u << pkg_bits);
    cr_expect_eq(!!(e->edx & (1u << 28)), pkg_bits > 0, "HTT");
    check_levels(out, n, 0xb, apic, b_levels, 2);
    check_levels(out, n, 0x1f, apic, v2_levels, 3);
    /* L1/L2 shared by a core's threads, L3 by the package; cores per package in 31:26. */
    e = leaf(out, n, 4, 0);
    cr_expect_eq((e->eax >> 14) & 0xfff, (1u << c->tb) - 1, "L1 sharing");
    cr_expect_eq(e->eax >> 26, (1u << (c->cb + c->db)) - 1, "cores per package");
    e = leaf(out, n, 4, 2);
    cr_expect_eq((e->eax >> 14) & 0xfff, (1u << pkg_bits) - 1, "L3 sharing");
    e = leaf(out, n, 0x80000008, 0);
    cr_expect_eq(e->eax & 0xff, c->max_phys_bits < 0x2e ? c->max_phys_bits : 0x2e,
                 "phys bits = min(max_phys_bits, host)");
    e = leaf(out, n, 0x15, 0);
    cr_expect_eq((uint64_t)e->ecx * e->ebx / e->eax, 2100000ull * 1000, "TSC Hz from 0x15");
    e = leaf(out, n, 0x40000010, 0);
    cr_expect_eq(e->eax, 2100000, "TSC kHz");
    cr_expect_eq(leaf(out, n, 0, 0)->eax, 0x1f);
}

Test(cpuid_topo, intel_every_vcpu_of_several_topologies)
{
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct topo_case *c = &cases[k];
        struct cpuid_config cfg = { .topo = { c->threads, c->cores, c->dies, c->packages },
                                    .max_phys_bits = c->max_phys_bits,
                                    .host = { .tsc_khz = 2100000 } };
        uint32_t max = c->threads * c->cores * c->dies * c->packages;

        cr_assert_eq(cpuid_topology_fixup(&cfg.topo, max), 0);
        cr_expect_eq(cpuid_thread_bits(&cfg.topo), c->tb, "case %zu", k);
        cr_expect_eq(cpuid_core_bits(&cfg.topo), c->cb, "case %zu", k);
        cr_expect_eq(cpuid_die_bits(&cfg.topo), c->db, "case %zu", k);
        for (uint32_t i = 0; i < max; i++)
            check_intel(c, i, &cfg);
    }
}

Test(cpuid_topo, apic_ids_unique_and_decompose)
{
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct topo_case *c = &cases[k];
        struct cpuid_topology t = { c->threads, c->cores, c->dies, c->packages };
        uint32_t max = c->threads * c->cores * c->dies * c->packages;

        for (uint32_t i = 0; i < max; i++) {
            uint32_t id = cpuid_apic_id(&t, i);

            cr_expect_eq(id & ((1u << c->tb) - 1), i % c->threads, "thread of %u", i);
            cr_expect_eq((id >> c->tb) & ((1u << c->cb) - 1), (i / c->threads) % c->cores);
            cr_expect_eq(id >> (c->tb + c->cb + c->db), i / (c->threads * c->cores * c->dies),
                         "package of %u", i);
            for (uint32_t j = 0; j < i; j++)
                cr_expect_neq(cpuid_apic_id(&t, j), id, "case %zu: %u and %u share an id", k, j, i);
        }
    }
}

Test(cpuid_topo, amd_extended_topology)
{
    struct cpuid_config cfg = { .topo = { 2, 4, 1, 1 }, .max_phys_bits = 40 };
    struct kvm_cpuid_entry2 out[64];
    const struct kvm_cpuid_entry2 *e;
    int n = cpuid_build(amd, sizeof(amd) / sizeof(amd[0]), &cfg, 5, out, 64);

    cr_assert_gt(n, 0);
    e = leaf(out, n, 0x80000008, 0);
    cr_expect_eq(e->eax & 0xff, 40);
    cr_expect_eq(e->ecx & 0xff, 7, "logical CPUs per package - 1");
    cr_expect_eq((e->ecx >> 12) & 0xf, 3, "APIC id bits for the package");
    /* No 0x1F on a part whose max basic leaf is below it and that has one die. */
    cr_expect_null(cpuid_find(out, (uint32_t)n, 0x1f, 0));
    cr_expect_null(cpuid_find(out, (uint32_t)n, 0x15, 0), "TSC leaf 0x15 is Intel's");
    e = leaf(out, n, 0xb, 1);
    cr_expect_eq(e->eax & 0x1f, 3);
    cr_expect_eq(e->edx, 5);
}

Test(cpuid_topo, no_tsc_leaves_without_a_frequency)
{
    struct cpuid_config cfg = { .topo = { 1, 2, 1, 1 } };
    struct kvm_cpuid_entry2 out[64];
    int n = cpuid_build(intel, sizeof(intel) / sizeof(intel[0]), &cfg, 0, out, 64);

    cr_assert_gt(n, 0);
    cr_expect_null(cpuid_find(out, (uint32_t)n, 0x40000010, 0));
    /* The host's own 0x15 passes through untouched. */
    cr_expect_eq(leaf(out, n, 0x15, 0)->ebx, 100);
}
