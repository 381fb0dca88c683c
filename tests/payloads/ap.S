/*
 * Real-mode AP trampoline, copied by the BSP below 1 MiB and started with INIT/SIPI. The AP
 * records its x2APIC ID (CPUID 0xB) and bumps a counter, then halts.
 */
    .section .rodata
    .code16
    .globl ap_tramp_start, ap_tramp_end, ap_count_off, ap_apic_id_off
ap_tramp_start:
    cli
    movw %cs, %ax
    movw %ax, %ds
    movl $0xb, %eax
    xorl %ecx, %ecx
    cpuid
    movl %edx, (ap_apic_id - ap_tramp_start)
    lock incl (ap_count - ap_tramp_start)
1:  hlt
    jmp 1b
    .p2align 2
ap_count:
    .long 0
ap_apic_id:
    .long 0
ap_tramp_end:
    .p2align 2
ap_count_off:
    .long ap_count - ap_tramp_start
ap_apic_id_off:
    .long ap_apic_id - ap_tramp_start
    .code64

    .section .note.GNU-stack, "", @progbits
