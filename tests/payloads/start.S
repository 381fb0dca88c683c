/*
 * PVH entry of every payload. The loader (cellvm, or QEMU's PVH option ROM) enters in 32-bit
 * protected mode without paging, interrupts off, EBX = struct hvm_start_info. This switches to
 * long mode on an identity map of the first 4 GiB (2 MiB pages, so MMIO in the 3-4 GiB hole is
 * reachable) and calls payload_main(start_info).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER                 0xc0000080
#define EFER_LME                 0x100
#define CR0_PE_PG                0x80000001
#define CR4_PAE                  0x20
#define PTE_PRESENT_RW           0x3
#define PDE_2M                   0x83 /* present, writable, page size */

    /* Name "Xen" and an 8-byte entry, 4-byte aligned, as Linux's vmlinux has it. */
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4
    .long 8
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .quad pvh_start

    .section .text.entry, "ax", @progbits
    .code32
    .globl pvh_start
pvh_start:
    cli
    cld
    movl %ebx, %ebp

    /* The stack and page tables live in the bss: clear it before using either. */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    movl $pdpt + PTE_PRESENT_RW, pml4

    movl $pdpt, %edi
    movl $pd + PTE_PRESENT_RW, %eax
    movl $4, %ecx
1:  movl %eax, (%edi)
    addl $4096, %eax
    addl $8, %edi
    loop 1b

    movl $pd, %edi
    movl $PDE_2M, %eax
    movl $2048, %ecx
2:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 2b

    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $CR0_PE_PG, %eax
    movl %eax, %cr0

    lgdt gdt_desc
    ljmp $0x08, $long_mode

    .code64
long_mode:
    movl $0x10, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $stack_top, %rsp
    movl %ebp, %edi
    call payload_main
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .p2align 3
gdt:
    .quad 0
    .quad 0x00af9a000000ffff /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff /* 0x10: flat data */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .section .bss
    .p2align 12
pml4:
    .skip 4096
pdpt:
    .skip 4096
pd:
    .skip 4 * 4096
stack:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
