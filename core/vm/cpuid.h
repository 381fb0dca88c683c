#ifndef CELLVM_CORE_VM_CPUID_H
#define CELLVM_CORE_VM_CPUID_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

/*
 * vCPU topology and CPUID, computed without touching KVM so they can be unit-tested.
 *
 * APIC IDs pack thread, core, die and package numbers into bit fields, each as wide as the
 * count rounded up to a power of two (the Intel SDM's "x2APIC ID" layout, which Cloud
 * Hypervisor and QEMU use), so leaf 0xB/0x1F shifts describe them exactly.
 */

struct cpuid_topology {
    uint32_t threads_per_core, cores_per_die, dies_per_package, packages;
};

/* Fills zero fields with defaults (one thread per core, one die, one package, as many cores as
 * it takes) and checks that the topology holds max_vcpus. -EINVAL otherwise. */
int cpuid_topology_fixup(struct cpuid_topology *t, uint32_t max_vcpus);
/* Bit widths of the thread, core and die fields. */
unsigned int cpuid_thread_bits(const struct cpuid_topology *t);
unsigned int cpuid_core_bits(const struct cpuid_topology *t);
unsigned int cpuid_die_bits(const struct cpuid_topology *t);
/* APIC ID of the cpu_index-th vCPU (threads fastest, then cores, dies, packages). */
uint32_t cpuid_apic_id(const struct cpuid_topology *t, uint32_t cpu_index);

/* What the host can honour beyond the supported-CPUID list itself. */
struct cpuid_host {
    bool arch_caps_msr; /* KVM accepts MSR_IA32_ARCH_CAPABILITIES (0x10a) */
    bool tsc_deadline;  /* KVM_CAP_TSC_DEADLINE_TIMER */
    uint32_t tsc_khz;   /* 0: unknown, no TSC frequency leaves */
};

struct cpuid_config {
    struct cpuid_topology topo;
    uint32_t max_phys_bits; /* 0: the host's */
    struct cpuid_host host;
};

/*
 * Builds the CPUID table of the vCPU with the given APIC ID from KVM_GET_SUPPORTED_CPUID's
 * entries. Returns the number of entries written to out, or -ENOSPC if cap is too small.
 */
int cpuid_build(const struct kvm_cpuid_entry2 *sup, uint32_t nsup, const struct cpuid_config *cfg,
                uint32_t apic_id, struct kvm_cpuid_entry2 *out, uint32_t cap);

/* Finds function/index in a table (index ignored for leaves without a significant index). */
const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid_entry2 *e, uint32_t n,
                                          uint32_t function, uint32_t index);

#endif
