#include "core/vm/boot_cpu.h"

#include <errno.h>
#include <string.h>

#include "core/platform.h"

#define GDT_ENTRIES 5
#define SEL_CODE    0x10
#define SEL_DATA    0x18
#define SEL_TSS     0x20

#define CR0_PE      (1ull << 0)
#define CR0_ET      (1ull << 4)
#define CR0_PG      (1ull << 31)
#define CR4_PAE     (1ull << 5)
#define EFER_LME    (1ull << 8)
#define EFER_LMA    (1ull << 10)

#define PTE_PRESENT 0x1ull
#define PTE_RW      0x2ull
#define PTE_PS      0x80ull

#define PD_PAGES    4 /* 4 GiB of 2 MiB pages */

/* Descriptor flags (access byte, then G/DB/L nibble), as in Linux's GDT_ENTRY(). */
#define DESC_CODE64 0xa09bu
#define DESC_CODE32 0xc09bu
#define DESC_DATA   0xc093u
#define DESC_TSS    0x008bu

static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
    return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
           ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
           (uint64_t)(limit & 0x0000ffffu);
}

/* The KVM segment register matching a GDT entry. */
static struct kvm_segment segment_of(uint64_t desc, uint16_t sel)
{
    struct kvm_segment s = {
        .base = (uint32_t)(((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000u)),
        .limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000)),
        .selector = sel,
        .type = (uint8_t)((desc >> 40) & 0xf),
        .present = (uint8_t)((desc >> 47) & 1),
        .dpl = (uint8_t)((desc >> 45) & 3),
        .db = (uint8_t)((desc >> 54) & 1),
        .s = (uint8_t)((desc >> 44) & 1),
        .l = (uint8_t)((desc >> 53) & 1),
        .g = (uint8_t)((desc >> 55) & 1),
    };

    /* The limit in a segment register is in bytes. */
    if (s.g)
        s.limit = (s.limit << 12) | 0xfff;
    return s;
}

static void gdt_build(enum boot_mode mode, uint64_t gdt[GDT_ENTRIES])
{
    memset(gdt, 0, GDT_ENTRIES * sizeof(gdt[0]));
    gdt[SEL_CODE / 8] = gdt_entry(mode == BOOT_LINUX64 ? DESC_CODE64 : DESC_CODE32, 0, 0xfffff);
    gdt[SEL_DATA / 8] = gdt_entry(DESC_DATA, 0, 0xfffff);
    gdt[SEL_TSS / 8] = gdt_entry(DESC_TSS, 0, 0xfffff);
}

static int write_page_tables(const struct guest_mem *gm)
{
    uint64_t pml4[512] = { 0 }, pdpt[512] = { 0 }, pd[512];
    unsigned int i, j;
    int r;

    pml4[0] = GPA_PDPT | PTE_PRESENT | PTE_RW;
    for (i = 0; i < PD_PAGES; i++)
        pdpt[i] = (GPA_PD + i * 4096ull) | PTE_PRESENT | PTE_RW;
    r = guest_mem_write(gm, GPA_PML4, pml4, sizeof(pml4));
    if (!r)
        r = guest_mem_write(gm, GPA_PDPT, pdpt, sizeof(pdpt));
    for (i = 0; !r && i < PD_PAGES; i++) {
        for (j = 0; j < 512; j++)
            pd[j] = ((uint64_t)(i * 512 + j) << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
        r = guest_mem_write(gm, GPA_PD + i * 4096ull, pd, sizeof(pd));
    }
    return r;
}

/*
 * There is no firmware, but a guest may still restart through the BIOS reset vector: Linux on a
 * hardware-reduced ACPI platform without EFI tries EFI, then a real-mode jump to F000:FFF0,
 * before anything else. The few bytes there write the ACPI reset register, so that path reboots
 * like the others: mov dx, PORT_ACPI_RESET; mov al, ACPI_RESET_VALUE; out dx, al; 1: hlt; jmp 1b
 */
static int write_reset_vector(const struct guest_mem *gm)
{
    const uint8_t stub[] = { 0xba,
                             PORT_ACPI_RESET & 0xff,
                             PORT_ACPI_RESET >> 8,
                             0xb0,
                             ACPI_RESET_VALUE,
                             0xee,
                             0xf4,
                             0xeb,
                             0xfd };

    return guest_mem_write(gm, GPA_RESET_VECTOR, stub, sizeof(stub));
}

int boot_cpu_write_tables(const struct guest_mem *gm, enum boot_mode mode)
{
    uint64_t gdt[GDT_ENTRIES];
    int r;

    gdt_build(mode, gdt);
    r = write_reset_vector(gm);
    if (!r)
        r = guest_mem_write(gm, GPA_BOOT_GDT, gdt, sizeof(gdt));
    if (!r && mode == BOOT_LINUX64)
        r = write_page_tables(gm);
    return r;
}

void boot_cpu_sregs(const struct boot_entry *entry, struct kvm_sregs *sregs)
{
    uint64_t gdt[GDT_ENTRIES];
    struct kvm_segment data;

    gdt_build(entry->mode, gdt);
    sregs->gdt.base = GPA_BOOT_GDT;
    sregs->gdt.limit = sizeof(gdt) - 1;
    sregs->idt.base = 0;
    sregs->idt.limit = 0;

    sregs->cs = segment_of(gdt[SEL_CODE / 8], SEL_CODE);
    data = segment_of(gdt[SEL_DATA / 8], SEL_DATA);
    sregs->ds = data;
    sregs->es = data;
    sregs->fs = data;
    sregs->gs = data;
    sregs->ss = data;
    sregs->tr = segment_of(gdt[SEL_TSS / 8], SEL_TSS);
    memset(&sregs->ldt, 0, sizeof(sregs->ldt));
    sregs->ldt.type = 0x2; /* not present: unusable, the guest has no LDT */

    /* Caching on (the reset value has CD/NW set). */
    sregs->cr0 = CR0_PE | CR0_ET;
    sregs->cr4 = 0;
    sregs->efer = 0;
    sregs->cr3 = 0;
    if (entry->mode == BOOT_LINUX64) {
        sregs->cr3 = GPA_PML4;
        sregs->cr4 = CR4_PAE;
        sregs->cr0 |= CR0_PG;
        sregs->efer = EFER_LME | EFER_LMA;
    }
}

void boot_cpu_regs(const struct boot_entry *entry, struct kvm_regs *regs)
{
    memset(regs, 0, sizeof(*regs));
    regs->rflags = 0x2; /* bit 1 is reserved-one; interrupts off */
    regs->rip = entry->rip;
    regs->rsp = entry->rsp ? entry->rsp : GPA_BOOT_STACK;
    regs->rbp = regs->rsp;
    if (entry->mode == BOOT_LINUX64)
        regs->rsi = entry->rsi;
    else
        regs->rbx = entry->rbx;
}
