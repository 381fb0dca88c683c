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
    /* The bss, which the loader zeroes already (an ELF loader fills what a segment's memsz adds
     * to its filesz); cleared here too, for a loader that does not. The stack is not in it: a
     * stack needs no zeroes, and on a hypervisor that emulates every guest instruction (kvm_pvm
     * on the project's test host) a rep stosq over its 16 KiB took a page-table walk per 8 bytes,
     * 1.6-3.7 ms of every boot in both VMMs. */
    movq $__bss_start, %rdi
    movq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    xorl %eax, %eax
    rep stosq
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

    /* The page tables are assembled into the image rather than written by a loop before
     * paging is on: without paging, a hypervisor that cannot run such code directly (kvm_pvm
     * on the project's test host) emulates it instruction by instruction, which cost 20+ ms per
     * boot in both VMMs for the 2048 entries and a byte-wise clear of the bss. */
    .section .data
    .p2align 12
pml4:
    .quad pdpt + PTE_PRESENT_RW
    .fill 511, 8, 0
pdpt:
    .quad pd + PTE_PRESENT_RW
    .quad pd + 0x1000 + PTE_PRESENT_RW
    .quad pd + 0x2000 + PTE_PRESENT_RW
    .quad pd + 0x3000 + PTE_PRESENT_RW
    .fill 508, 8, 0
pd: /* 2048 entries of 2 MiB: the first 4 GiB */
    .set pde, PDE_2M
    .rept 2048
    .quad pde
    .set pde, pde + 0x200000
    .endr

    .section .stack, "aw", @nobits
    .p2align 4
stack:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
