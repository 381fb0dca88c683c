/*
 * PVH entry for the kvm-suite payloads: the loader enters pvh_start in 32-bit protected mode
 * with paging off and EBX = hvm_start_info. We identity-map 4 GiB with 2 MiB pages (so MMIO in
 * the hole is reachable), enter long mode and call payload_main(start_info).
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CR0_PE      0x00000001
#define CR0_PG      0x80000000
#define CR4_PAE     0x20
#define MSR_EFER    0xc0000080
#define EFER_LME    0x100
#define PTE_TABLE   0x3  /* present, writable */
#define PTE_2M      0x83 /* present, writable, page size */

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                           /* name size: "Xen\0" */
    .long 4                           /* descriptor size */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .p2align 2
    .long pvh_start

    .section .text.entry, "ax"
    .code32
    .globl pvh_start
pvh_start:
    cli
    cld
    movl %ebx, %esi
    movl $stack_top, %esp

    /* Zero .bss: a loader need not (and the page tables below live there). */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    movl $pdpt + PTE_TABLE, pml4
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    addl $pd + PTE_TABLE, %eax
    movl %eax, pdpt(, %ecx, 8)
    incl %ecx
    cmpl $4, %ecx
    jb 1b

    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $PTE_2M, %eax
    movl %eax, pd(, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jb 2b

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PE | CR0_PG), %eax
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
    movl %esi, %edi
    movq $stack_top, %rsp
    call payload_main
3:  cli
    hlt
    jmp 3b

    .section .rodata
    .p2align 3
gdt:
    .quad 0
    .quad 0x00af9b000000ffff /* 0x08: 64-bit code */
    .quad 0x00cf93000000ffff /* 0x10: data */
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
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
