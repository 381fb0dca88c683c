#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "core/vm/boot_cpu.h"

static struct guest_mem mem_of(uint64_t size)
{
    struct guest_mem gm;
    uint8_t *host = calloc(1, size);

    cr_assert_not_null(host);
    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, host, size, -1), 0);
    return gm;
}

static struct guest_mem mem(void)
{
    return mem_of(2 << 20);
}

static uint64_t u64_at(const struct guest_mem *gm, uint64_t gpa)
{
    uint64_t v;

    cr_assert_eq(guest_mem_read(gm, gpa, &v, sizeof(v)), 0);
    return v;
}

Test(boot_cpu, linux64_page_tables_identity_map_4g)
{
    struct guest_mem gm = mem();

    cr_assert_eq(boot_cpu_write_tables(&gm, BOOT_LINUX64), 0);
    cr_assert_eq(u64_at(&gm, GPA_PML4), GPA_PDPT | 3);
    cr_assert_eq(u64_at(&gm, GPA_PDPT + 3 * 8), (GPA_PD + 3 * 4096) | 3);
    cr_assert_eq(u64_at(&gm, GPA_PDPT + 4 * 8), 0);
    cr_assert_eq(u64_at(&gm, GPA_PD), 0x83);
    cr_assert_eq(u64_at(&gm, GPA_PD + 8), (2 << 20) | 0x83);
    cr_assert_eq(u64_at(&gm, GPA_PD + 2047 * 8), 0xffe00000ull | 0x83, "last 2 MiB below 4 GiB");
    cr_assert_eq(u64_at(&gm, GPA_BOOT_GDT + 0x10), 0x00af9b000000ffffull, "64-bit code");
    cr_assert_eq(u64_at(&gm, GPA_BOOT_GDT + 0x18), 0x00cf93000000ffffull, "flat data");
    free(gm.regions[0].host);
}

Test(boot_cpu, pvh_gdt_only)
{
    struct guest_mem gm = mem();

    cr_assert_eq(boot_cpu_write_tables(&gm, BOOT_PVH), 0);
    cr_assert_eq(u64_at(&gm, GPA_BOOT_GDT + 0x10), 0x00cf9b000000ffffull, "32-bit code");
    cr_assert_eq(u64_at(&gm, GPA_PML4), 0, "no page tables for PVH");
    free(gm.regions[0].host);
}

Test(boot_cpu, too_small_memory)
{
    struct guest_mem gm = mem_of(0x1000);

    cr_assert_eq(boot_cpu_write_tables(&gm, BOOT_LINUX64), -EFAULT);
    free(gm.regions[0].host);
}

Test(boot_cpu, pvh_registers)
{
    struct boot_entry e = { .mode = BOOT_PVH, .rip = 0x1000000, .rbx = GPA_PVH_START_INFO };
    struct kvm_sregs s;
    struct kvm_regs r;

    memset(&s, 0xee, sizeof(s));
    boot_cpu_sregs(&e, &s);
    boot_cpu_regs(&e, &r);
    cr_assert_eq(s.cr0 & 0x80000001ull, 1, "protected mode, paging off");
    cr_assert_eq(s.efer, 0);
    cr_assert_eq(s.cs.selector, 0x10);
    cr_assert_eq(s.cs.db, 1);
    cr_assert_eq(s.cs.l, 0);
    cr_assert_eq(s.cs.limit, 0xffffffffu);
    cr_assert_eq(s.cs.type, 0xb);
    cr_assert_eq(s.ds.selector, 0x18);
    cr_assert_eq(s.ss.type, 0x3);
    cr_assert_eq(s.tr.type, 0xb);
    cr_assert_eq(s.gdt.base, GPA_BOOT_GDT);
    cr_assert_eq(r.rip, 0x1000000);
    cr_assert_eq(r.rbx, GPA_PVH_START_INFO);
    cr_assert_eq(r.rflags, 2, "interrupts off");
}

Test(boot_cpu, linux64_registers)
{
    struct boot_entry e = { .mode = BOOT_LINUX64, .rip = 0x1000200, .rsi = GPA_ZERO_PAGE };
    struct kvm_sregs s;
    struct kvm_regs r;

    memset(&s, 0, sizeof(s));
    boot_cpu_sregs(&e, &s);
    boot_cpu_regs(&e, &r);
    cr_assert_eq(s.cr0 & 0x80000001ull, 0x80000001ull);
    cr_assert_eq(s.cr3, GPA_PML4);
    cr_assert(s.cr4 & 0x20, "PAE");
    cr_assert_eq(s.efer & 0x500, 0x500, "LME|LMA");
    cr_assert_eq(s.cs.l, 1);
    cr_assert_eq(s.cs.db, 0);
    cr_assert_eq(r.rsi, GPA_ZERO_PAGE);
    cr_assert_eq(r.rip, 0x1000200);
}
