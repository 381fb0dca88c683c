/*
 * CPUID and topology as the runners set them up (tests/kvm/meson.build, cellvm-cases.sh):
 * 2 boot vCPUs of a 4-vCPU topology with 2 threads per core and 2 cores, max_phys_bits 39.
 * Checks the BSP's view and then starts the AP with INIT/SIPI.
 */
#include "lib.h"

#define APIC_ICR_LOW  0x300
#define APIC_ICR_HIGH 0x310
#define ICR_INIT      0x4500u
#define ICR_STARTUP   0x4600u
#define TRAMPOLINE    0x10000u

extern const uint8_t ap_tramp_start[], ap_tramp_end[];
extern const uint32_t ap_count_off, ap_apic_id_off;

static void check_cpuid(void)
{
    struct cpuid_regs r = cpuid(1, 0), k;

    payload_check(r.ecx & (1u << 31), "hypervisor bit", r.ecx);
    payload_check((r.ebx >> 24) == 0, "leaf 1 apic id", r.ebx);
    payload_check(((r.ebx >> 16) & 0xff) == 4, "leaf 1 logical count", r.ebx);
    k = cpuid(0x40000000, 0);
    payload_check(k.ebx == 0x4b4d564b && k.ecx == 0x564b4d56 && k.edx == 0x4d, "kvm signature",
                  k.ebx);
    payload_check(k.eax >= 0x40000001, "kvm max leaf", k.eax);
    r = cpuid(0x40000001, 0);
    payload_check(r.eax & ((1u << 0) | (1u << 3)), "kvmclock feature", r.eax);
    if (k.eax >= 0x40000010) {
        r = cpuid(0x40000010, 0);
        payload_check(r.eax > 100000 && r.ebx == 1000000, "tsc/apic frequency leaf", r.eax);
    }
    r = cpuid(0xb, 0);
    payload_check(r.eax == 1 && (r.ebx & 0xffff) == 2 && ((r.ecx >> 8) & 0xff) == 1 && r.edx == 0,
                  "leaf 0xb smt level", r.ebx);
    r = cpuid(0xb, 1);
    payload_check(r.eax == 2 && (r.ebx & 0xffff) == 4 && ((r.ecx >> 8) & 0xff) == 2,
                  "leaf 0xb core level", r.ebx);
    r = cpuid(0xb, 2);
    payload_check(((r.ecx >> 8) & 0xff) == 0, "leaf 0xb end", r.ecx);
    r = cpuid(0x80000008, 0);
    payload_check((r.eax & 0xff) == 39, "phys address bits", r.eax);
    r = cpuid(7, 0);
    payload_check(true, "info: leaf 7 edx", r.edx);
}

static void start_ap(void)
{
    uint8_t *dst = (uint8_t *)(uintptr_t)TRAMPOLINE;
    volatile uint32_t *count = (volatile uint32_t *)(uintptr_t)(TRAMPOLINE + ap_count_off);
    volatile uint32_t *id = (volatile uint32_t *)(uintptr_t)(TRAMPOLINE + ap_apic_id_off);
    unsigned long spins;

    memcpy(dst, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
    lapic_enable();
    lapic_write(APIC_ICR_HIGH, 1u << 24);
    lapic_write(APIC_ICR_LOW, ICR_INIT);
    lapic_write(APIC_ICR_HIGH, 1u << 24);
    lapic_write(APIC_ICR_LOW, ICR_STARTUP | (TRAMPOLINE >> 12));
    for (spins = 0; spins < 200000000ul && *count == 0; spins++)
        cpu_relax();
    payload_check(*count == 1, "ap started", *count);
    payload_check(*id == 1, "ap x2apic id", *id);
}

void payload_main(uint32_t start_info)
{
    (void)start_info;
    serial_init();
    check_cpuid();
    start_ap();
    payload_finish("smp");
}
