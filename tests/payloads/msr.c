#include "lib.h"

/*
 * MSRs the CPUID table promises must be readable: with ARCH_CAPABILITIES (CPUID 7.EDX[29])
 * advertised, RDMSR 0x10a must not fault. (No IDT here: a #GP would triple-fault, which the
 * runner sees as an unexpected reboot.)
 */

#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define CPUID7_EDX_ARCH_CAP        (1u << 29)

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

void payload_main(uint32_t start_info)
{
    struct cpuid_regs r = cpuid(7, 0);

    (void)start_info;
    serial_init();
    if (r.edx & CPUID7_EDX_ARCH_CAP)
        payload_check(true, "arch_capabilities advertised and read",
                      rdmsr(MSR_IA32_ARCH_CAPABILITIES));
    else
        payload_check(true, "arch_capabilities not advertised", r.edx);
    payload_finish("msr");
}
