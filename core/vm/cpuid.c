#include "core/vm/cpuid.h"

#include <errno.h>
#include <string.h>

#define LEAF_VENDOR         0x0u
#define LEAF_FEATURES       0x1u
#define LEAF_CACHE          0x4u
#define LEAF_EXT_FEATURES   0x7u
#define LEAF_TOPOLOGY       0xbu
#define LEAF_TSC            0x15u
#define LEAF_TOPOLOGY_V2    0x1fu
#define LEAF_KVM_SIG        0x40000000u
#define LEAF_KVM_FEATURES   0x40000001u
#define LEAF_HV_TIMING      0x40000010u
#define LEAF_HV_LAST        0x400000ffu
#define LEAF_ADDR_SIZES     0x80000008u

#define F1_ECX_TSC_DEADLINE (1u << 24)
#define F1_ECX_HYPERVISOR   (1u << 31)
#define F1_EDX_HTT          (1u << 28)
#define F7_EDX_ARCH_CAPS    (1u << 29)

#define TOPO_LEVEL_SMT      1u
#define TOPO_LEVEL_CORE     2u
#define TOPO_LEVEL_DIE      5u

#define VENDOR_INTEL_EBX    0x756e6547u /* "Genu" */
#define VENDOR_AMD_EBX      0x68747541u /* "Auth" */

/* KVM's local APIC timer runs at 1 GHz (APIC_BUS_CYCLE_NS = 1). */
#define KVM_APIC_BUS_KHZ 1000000u

static unsigned int bits_for(uint32_t count)
{
    unsigned int b = 0;

    while (b < 32 && (1ull << b) < count)
        b++;
    return b;
}

int cpuid_topology_fixup(struct cpuid_topology *t, uint32_t max_vcpus)
{
    uint64_t total;

    if (max_vcpus == 0)
        return -EINVAL;
    if (!t->threads_per_core && !t->cores_per_die && !t->dies_per_package && !t->packages) {
        t->threads_per_core = 1;
        t->cores_per_die = max_vcpus;
        t->dies_per_package = 1;
        t->packages = 1;
        return 0;
    }
    if (!t->threads_per_core)
        t->threads_per_core = 1;
    if (!t->dies_per_package)
        t->dies_per_package = 1;
    if (!t->packages)
        t->packages = 1;
    if (!t->cores_per_die) {
        uint64_t per_core = (uint64_t)t->threads_per_core * t->dies_per_package * t->packages;

        t->cores_per_die = (uint32_t)((max_vcpus + per_core - 1) / per_core);
    }
    total = (uint64_t)t->threads_per_core * t->cores_per_die * t->dies_per_package * t->packages;
    if (total < max_vcpus)
        return -EINVAL;
    /* APIC IDs must fit 32 bits. */
    if (bits_for(t->threads_per_core) + bits_for(t->cores_per_die) + bits_for(t->dies_per_package) +
            bits_for(t->packages) >
        32)
        return -EINVAL;
    return 0;
}

unsigned int cpuid_thread_bits(const struct cpuid_topology *t)
{
    return bits_for(t->threads_per_core);
}

unsigned int cpuid_core_bits(const struct cpuid_topology *t)
{
    return bits_for(t->cores_per_die);
}

unsigned int cpuid_die_bits(const struct cpuid_topology *t)
{
    return bits_for(t->dies_per_package);
}

uint32_t cpuid_apic_id(const struct cpuid_topology *t, uint32_t cpu_index)
{
    unsigned int tb = cpuid_thread_bits(t), cb = cpuid_core_bits(t), db = cpuid_die_bits(t);
    uint32_t thread = cpu_index % t->threads_per_core;
    uint32_t core = (cpu_index / t->threads_per_core) % t->cores_per_die;
    uint32_t die = (cpu_index / t->threads_per_core / t->cores_per_die) % t->dies_per_package;
    uint64_t pkg = cpu_index / t->threads_per_core / t->cores_per_die / t->dies_per_package;

    return (uint32_t)(pkg << (tb + cb + db) | (uint64_t)die << (tb + cb) | (uint64_t)core << tb |
                      thread);
}

const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid_entry2 *e, uint32_t n,
                                          uint32_t function, uint32_t index)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (e[i].function != function)
            continue;
        if (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == index)
            return &e[i];
    }
    return NULL;
}

struct table {
    struct kvm_cpuid_entry2 *e;
    uint32_t n, cap;
};

static struct kvm_cpuid_entry2 *table_add(struct table *t, uint32_t function, uint32_t index,
                                          bool indexed)
{
    struct kvm_cpuid_entry2 *e;

    if (t->n == t->cap)
        return NULL;
    e = &t->e[t->n++];
    memset(e, 0, sizeof(*e));
    e->function = function;
    e->index = index;
    e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
    return e;
}

/* The leaves we generate ourselves are dropped from the supported list. */
static bool generated_leaf(uint32_t f, bool tsc_leaf)
{
    return f == LEAF_TOPOLOGY || f == LEAF_TOPOLOGY_V2 || (f == LEAF_TSC && tsc_leaf) ||
           f == LEAF_KVM_SIG || f == LEAF_HV_TIMING;
}

static uint32_t clamp_u32(uint64_t v, uint32_t max)
{
    return v > max ? max : (uint32_t)v;
}

struct shape {
    unsigned int tb, cb, db;
    uint32_t logical_per_pkg; /* 1 << (tb + cb + db), what the fields can address */
    bool intel, amd, v2_leaf, tsc_leaf;
    uint32_t max_basic;
};

static void patch_entry(struct kvm_cpuid_entry2 *e, const struct cpuid_config *cfg,
                        const struct shape *sh, uint32_t apic_id)
{
    uint32_t host_bits, bits;

    switch (e->function) {
    case LEAF_VENDOR:
        if (sh->v2_leaf && e->eax < LEAF_TOPOLOGY_V2)
            e->eax = LEAF_TOPOLOGY_V2;
        break;
    case LEAF_FEATURES:
        e->ebx = (e->ebx & 0xffffu) | clamp_u32(sh->logical_per_pkg, 0xff) << 16 |
                 (apic_id & 0xffu) << 24;
        e->ecx |= F1_ECX_HYPERVISOR;
        if (cfg->host.tsc_deadline)
            e->ecx |= F1_ECX_TSC_DEADLINE;
        if (sh->logical_per_pkg > 1)
            e->edx |= F1_EDX_HTT;
        else
            e->edx &= ~F1_EDX_HTT;
        break;
    case LEAF_CACHE: {
        uint32_t level = (e->eax >> 5) & 0x7;
        unsigned int share_bits = level <= 2 ? sh->tb : sh->tb + sh->cb + sh->db;

        if (!(e->eax & 0x1f))
            break; /* no cache at this subleaf */
        e->eax &= 0x3fffu;
        e->eax |= clamp_u32((1ull << share_bits) - 1, 0xfff) << 14;
        e->eax |= clamp_u32((1ull << (sh->cb + sh->db)) - 1, 0x3f) << 26;
        break;
    }
    case LEAF_EXT_FEATURES:
        /* A guest that sees ARCH_CAPABILITIES reads MSR 0x10a; some hosts refuse it. */
        if (e->index == 0 && !cfg->host.arch_caps_msr)
            e->edx &= ~F7_EDX_ARCH_CAPS;
        break;
    case LEAF_ADDR_SIZES:
        host_bits = e->eax & 0xff;
        bits =
            cfg->max_phys_bits && cfg->max_phys_bits < host_bits ? cfg->max_phys_bits : host_bits;
        e->eax = (e->eax & ~0xffu) | bits;
        if (sh->amd) {
            e->ecx &= ~0xf0ffu;
            e->ecx |= clamp_u32(sh->logical_per_pkg - 1, 0xff) |
                      (uint32_t)(sh->tb + sh->cb + sh->db) << 12;
        }
        break;
    default:
        break;
    }
}

struct topo_level {
    uint32_t type;
    unsigned int shift;
};

static int add_topology_leaf(struct table *t, uint32_t leaf, const struct shape *sh,
                             uint32_t apic_id)
{
    struct topo_level levels[4];
    uint32_t n = 0, i;

    levels[n++] = (struct topo_level){ TOPO_LEVEL_SMT, sh->tb };
    if (leaf == LEAF_TOPOLOGY_V2) {
        levels[n++] = (struct topo_level){ TOPO_LEVEL_CORE, sh->tb + sh->cb };
        levels[n++] = (struct topo_level){ TOPO_LEVEL_DIE, sh->tb + sh->cb + sh->db };
    } else {
        /* Leaf 0xB has no die level: its core level spans the package. */
        levels[n++] = (struct topo_level){ TOPO_LEVEL_CORE, sh->tb + sh->cb + sh->db };
    }
    for (i = 0; i <= n; i++) {
        struct kvm_cpuid_entry2 *e = table_add(t, leaf, i, true);

        if (!e)
            return -ENOSPC;
        e->ecx = i;
        e->edx = apic_id;
        if (i == n)
            break; /* the terminating invalid level */
        e->eax = levels[i].shift;
        e->ebx = clamp_u32(1ull << levels[i].shift, 0xffff);
        e->ecx |= levels[i].type << 8;
    }
    return 0;
}

static int add_hv_leaves(struct table *t, uint32_t tsc_khz)
{
    static const char sig[12] = "KVMKVMKVM\0\0\0";
    struct kvm_cpuid_entry2 *e = table_add(t, LEAF_KVM_SIG, 0, false);

    if (!e)
        return -ENOSPC;
    e->eax = tsc_khz ? LEAF_HV_TIMING : LEAF_KVM_FEATURES;
    memcpy(&e->ebx, sig, 4);
    memcpy(&e->ecx, sig + 4, 4);
    memcpy(&e->edx, sig + 8, 4);
    if (!tsc_khz)
        return 0;
    /* VMware's timing leaf, which Linux and Cloud Hypervisor's guests read: TSC and APIC bus
     * frequency in kHz. */
    e = table_add(t, LEAF_HV_TIMING, 0, false);
    if (!e)
        return -ENOSPC;
    e->eax = tsc_khz;
    e->ebx = KVM_APIC_BUS_KHZ;
    return 0;
}

int cpuid_build(const struct kvm_cpuid_entry2 *sup, uint32_t nsup, const struct cpuid_config *cfg,
                uint32_t apic_id, struct kvm_cpuid_entry2 *out, uint32_t cap)
{
    struct table t = { .e = out, .n = 0, .cap = cap };
    const struct kvm_cpuid_entry2 *v = cpuid_find(sup, nsup, LEAF_VENDOR, 0);
    struct shape sh = { 0 };
    uint32_t i;
    int r;

    sh.tb = cpuid_thread_bits(&cfg->topo);
    sh.cb = cpuid_core_bits(&cfg->topo);
    sh.db = cpuid_die_bits(&cfg->topo);
    sh.logical_per_pkg = clamp_u32(1ull << (sh.tb + sh.cb + sh.db), UINT32_MAX);
    sh.max_basic = v ? v->eax : 0;
    sh.intel = v && v->ebx == VENDOR_INTEL_EBX;
    sh.amd = v && v->ebx == VENDOR_AMD_EBX;
    sh.v2_leaf = sh.max_basic >= LEAF_TOPOLOGY_V2 || cfg->topo.dies_per_package > 1;
    sh.tsc_leaf = cfg->host.tsc_khz && sh.intel && sh.max_basic >= LEAF_TSC;

    for (i = 0; i < nsup; i++) {
        struct kvm_cpuid_entry2 *e;

        if (generated_leaf(sup[i].function, sh.tsc_leaf))
            continue;
        if (sup[i].function > LEAF_HV_TIMING && sup[i].function <= LEAF_HV_LAST)
            continue;
        if (t.n == t.cap)
            return -ENOSPC;
        e = &t.e[t.n++];
        *e = sup[i];
        patch_entry(e, cfg, &sh, apic_id);
    }
    r = add_topology_leaf(&t, LEAF_TOPOLOGY, &sh, apic_id);
    if (!r && sh.v2_leaf)
        r = add_topology_leaf(&t, LEAF_TOPOLOGY_V2, &sh, apic_id);
    if (!r && sh.tsc_leaf) {
        /* TSC = crystal * EBX / EAX: a 1 MHz crystal and EBX = kHz keep every field 32-bit. */
        struct kvm_cpuid_entry2 *e = table_add(&t, LEAF_TSC, 0, false);

        if (!e)
            return -ENOSPC;
        e->eax = 1000;
        e->ebx = cfg->host.tsc_khz;
        e->ecx = 1000000;
    }
    if (!r)
        r = add_hv_leaves(&t, cfg->host.tsc_khz);
    return r < 0 ? r : (int)t.n;
}
