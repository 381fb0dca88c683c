/*
 * Real-mode AP trampoline of the topo payload, copied below 1 MiB and started by a broadcast
 * INIT/SIPI. Each AP takes a slot, fills it with what CPUID tells it about its place in the
 * topology, marks it done and halts. Slot layout (8 x u32): leaf 1 EBX, 0xB.0 EDX (x2APIC id),
 * 0xB.0 EAX, 0xB.0 EBX, 0xB.1 EAX, 0xB.1 EBX, 0x1F.1 EAX, 0x1F.2 EAX.
 */
#define TOPO_MAX_SLOTS 32 /* topo.c has the same */

    .section .rodata
    .code16
    .globl topo_tramp_start, topo_tramp_end, topo_taken_off, topo_done_off, topo_slots_off
topo_tramp_start:
    cli
    movw %cs, %ax
    movw %ax, %ds
    movl $1, %eax
    lock xaddl %eax, (topo_taken - topo_tramp_start)
    cmpl $TOPO_MAX_SLOTS, %eax
    jae 2f
    movw %ax, %si
    shlw $5, %si
    addw $(topo_slots - topo_tramp_start), %si
    movl $1, %eax
    cpuid
    movl %ebx, 0(%si)
    movl $0xb, %eax
    xorl %ecx, %ecx
    cpuid
    movl %edx, 4(%si)
    movl %eax, 8(%si)
    movl %ebx, 12(%si)
    movl $0xb, %eax
    movl $1, %ecx
    cpuid
    movl %eax, 16(%si)
    movl %ebx, 20(%si)
    movl $0x1f, %eax
    movl $1, %ecx
    cpuid
    movl %eax, 24(%si)
    movl $0x1f, %eax
    movl $2, %ecx
    cpuid
    movl %eax, 28(%si)
    lock incl (topo_done - topo_tramp_start)
2:  hlt
    jmp 2b
    .p2align 5
topo_taken:
    .long 0
topo_done:
    .long 0
    .p2align 5
topo_slots:
    .fill TOPO_MAX_SLOTS * 8, 4, 0
topo_tramp_end:
    .p2align 2
topo_taken_off:
    .long topo_taken - topo_tramp_start
topo_done_off:
    .long topo_done - topo_tramp_start
topo_slots_off:
    .long topo_slots - topo_tramp_start
    .code64

    .section .note.GNU-stack, "", @progbits
