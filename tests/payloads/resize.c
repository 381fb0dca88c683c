/*
 * ACPI CPU and memory hotplug seen from a guest without ACPI (issue 17): the GED's CPU and
 * memory bits and the \_SB_.PRES (CSEL, status byte) and \_SB_.MHPC (MSEL, base, length,
 * status byte) registers, driven by a runner that resizes the VM through the API
 * (tests/kvm/cellvm-cases.sh, case resize: --cpus boot=1,max=3, --memory size=128M,
 * hotplug_size=512M). The guest does what the DSDT's CSCN, MSCN, _EJ0 and _CRS would do:
 *
 *   "ready resize"          idle registers; a CSEL past max, an eject of a vCPU that is not
 *                           enabled and MSELs past the slots, written and read: ignored
 *   "added cpu = N"         GED 0x1 came after desired_vcpus 2; the scan found vCPU N (1)
 *                           inserting and enabled, acknowledged CINS; INIT/SIPI started it
 *   "remove seen cpu = N"   GED 0x1 after desired_vcpus 1; vCPU N removing, CRMV acknowledged
 *   "ejected cpu = N"       after the power button (the runner's go: it checked vm.resize
 *                           answers 429 meanwhile), CSEL = N and CEJ0 written; _STA reads 0
 *   "memory slot = S base = B length = L"
 *                           GED 0x2 after desired_ram 256M; slot S inserting, MINS acknowledged
 *   "memory backed"         the new range mapped, a pattern written and read back in every page
 *   "memory eject ignored"  MEJ0 on the slot: it stays filled, the pattern stays
 *   PASS after the power button.
 *
 * Status bytes are accessed a byte at a time, as the AML's ByteAcc fields do. Every wait is
 * bounded by the TSC (KVM's frequency leaf), 20 s each.
 */
#include "lib.h"

#include "core/platform.h"

#define CPU_CSEL   (GPA_CPU_HOTPLUG_START + 0)
#define CPU_STATUS (GPA_CPU_HOTPLUG_START + 4)
#define CPU_CEN    0x1u /* CPEN */
#define CPU_CINS   0x2u
#define CPU_CRMV   0x4u
#define CPU_CEJ0   0x8u

#define MEM_MSEL   (GPA_MEM_HOTPLUG_START + 0x00) /* write; read: base bits 31:0 */
#define MEM_BASE_H (GPA_MEM_HOTPLUG_START + 0x04)
#define MEM_LEN_L  (GPA_MEM_HOTPLUG_START + 0x08)
#define MEM_LEN_H  (GPA_MEM_HOTPLUG_START + 0x0c)
#define MEM_PXM    (GPA_MEM_HOTPLUG_START + 0x10)
#define MEM_STATUS (GPA_MEM_HOTPLUG_START + 0x14)
#define MEM_MEN    0x1u
#define MEM_MINS   0x2u
#define MEM_MEJ0   0x8u

/* The runner's configuration. */
#define MAX_VCPUS    3u
#define ADDED_CPU    1u
#define MEM_ALIGN    (128ull << 20)
#define HOTPLUG_SIZE (512ull << 20)

#define APIC_ICR_LOW  0x300
#define APIC_ICR_HIGH 0x310
#define ICR_INIT      0x4500u
#define ICR_STARTUP   0x4600u
#define TRAMPOLINE    0x10000u

#define PAGE          4096ull
#define GIB           (1ull << 30)
#define PDE_2M        0x83ull /* present, writable, page size */
#define PTE_PRESENT_RW 0x3ull
#define WAIT_SECONDS  20u

extern const uint8_t ap_tramp_start[], ap_tramp_end[];
extern const uint32_t ap_count_off, ap_apic_id_off;

static uint64_t tsc_per_sec;
static uint32_t ged_seen; /* GED bits read (the read clears them) and not yet waited for */
/* A page directory for the 1 GiB window holding the hot-added range (start.S maps 4 GiB). */
static uint64_t window_pd[512] __attribute__((aligned(4096)));

static inline void mmio_write8(uint64_t gpa, uint8_t v)
{
    *(volatile uint8_t *)(uintptr_t)gpa = v;
}

static inline volatile uint64_t *qword(uint64_t gpa)
{
    return (volatile uint64_t *)(uintptr_t)gpa;
}

static void clock_init(void)
{
    uint32_t khz = 0;

    if (cpuid(0x40000000, 0).eax >= 0x40000010)
        khz = cpuid(0x40000010, 0).eax;
    /* Without the leaf assume a fast TSC: the bound only grows. */
    tsc_per_sec = (uint64_t)(khz > 100000 ? khz : 5000000) * 1000;
}

/* Polls the GED register until bit shows; true then (the bit is consumed, others are kept). */
static bool wait_ged(uint32_t bit)
{
    uint64_t end = rdtsc() + WAIT_SECONDS * tsc_per_sec;

    while (!(ged_seen & bit) && rdtsc() < end) {
        ged_seen |= mmio_read32(GPA_GED_START);
        cpu_relax();
    }
    if (!(ged_seen & bit))
        return false;
    ged_seen &= ~bit;
    return true;
}

static uint8_t cpu_status(uint32_t cpu)
{
    mmio_write32(CPU_CSEL, cpu);
    return mmio_read8(CPU_STATUS);
}

static uint8_t mem_status(uint32_t slot)
{
    mmio_write32(MEM_MSEL, slot);
    return mmio_read8(MEM_STATUS);
}

static void say_num(const char *what, uint64_t v)
{
    serial_puts(PAYLOAD_MARK);
    serial_puts(what);
    serial_puts(" = ");
    serial_puthex(v);
    serial_puts("\n");
}

/* CSCN: the one vCPU (below MAX_VCPUS) whose status has bit set, or MAX_VCPUS when none or
 * more than one has; every vCPU's status goes to *all, 8 bits each. */
static uint32_t scan_cpus(uint8_t bit, uint64_t *all)
{
    uint32_t found = MAX_VCPUS, n = 0;

    *all = 0;
    for (uint32_t cpu = 0; cpu < MAX_VCPUS; cpu++) {
        uint8_t s = cpu_status(cpu);

        *all |= (uint64_t)s << (8 * cpu);
        if (s & bit) {
            found = cpu;
            n++;
        }
    }
    return n == 1 ? found : MAX_VCPUS;
}

static bool map_window(uint64_t base, uint64_t len);

static void idle_checks(void)
{
    uint64_t all;

    scan_cpus(0xff, &all);
    payload_check(all == CPU_CEN, "cpu status idle (vcpu0 enabled only)", all);
    /* Selections past max select nothing, whatever is written to them. */
    mmio_write32(CPU_CSEL, MAX_VCPUS);
    payload_check(mmio_read32(CPU_CSEL) == MAX_VCPUS, "csel past max kept", mmio_read32(CPU_CSEL));
    payload_check(mmio_read8(CPU_STATUS) == 0, "cpu past max reads 0", mmio_read8(CPU_STATUS));
    mmio_write8(CPU_STATUS, CPU_CINS | CPU_CRMV | CPU_CEJ0);
    mmio_write32(CPU_CSEL, 0xffffffffu);
    mmio_write8(CPU_STATUS, CPU_CEJ0);
    payload_check(mmio_read8(CPU_STATUS) == 0, "cpu 0xffffffff reads 0", mmio_read8(CPU_STATUS));
    /* An eject of a vCPU the host never enabled, nor asked to remove. */
    mmio_write32(CPU_CSEL, MAX_VCPUS - 1);
    mmio_write8(CPU_STATUS, CPU_CEJ0);
    scan_cpus(0xff, &all);
    payload_check(all == CPU_CEN, "cpu ejects out of range or of absent vcpus ignored", all);

    for (uint32_t slot = 0; slot < MEM_HOTPLUG_MAX_SLOTS; slot++) {
        if (mem_status(slot) != 0) {
            payload_check(false, "memory slot filled before any resize", slot);
            break;
        }
    }
    /* MSEL past the slots (MEM_HOTPLUG_MAX_SLOTS is the most the core ever has). */
    mmio_write32(MEM_MSEL, MEM_HOTPLUG_MAX_SLOTS);
    mmio_write8(MEM_STATUS, MEM_MINS | MEM_MEJ0);
    mmio_write32(MEM_MSEL, 0xffffffffu);
    mmio_write8(MEM_STATUS, MEM_MINS | MEM_MEJ0);
    payload_check((mmio_read32(MEM_MSEL) | mmio_read32(MEM_BASE_H) | mmio_read32(MEM_LEN_L) |
                   mmio_read32(MEM_LEN_H) | mmio_read32(MEM_PXM) | mmio_read8(MEM_STATUS)) == 0,
                  "memory slot 0xffffffff reads 0", 0);
    /* Nothing is RAM at the hotplug area yet: unclaimed MMIO reads all ones. */
    if (!payload_check(map_window(GPA_RAM_ABOVE_4G, MEM_ALIGN), "4 GiB window mapped", 0))
        payload_fail("resize", "cannot map the window at 4 GiB");
    payload_check(mmio_read32(GPA_RAM_ABOVE_4G) == 0xffffffffu, "4 GiB unclaimed before",
                  mmio_read32(GPA_RAM_ABOVE_4G));
}

static void start_ap(uint32_t apic_id)
{
    uint8_t *dst = (uint8_t *)(uintptr_t)TRAMPOLINE;
    volatile uint32_t *count = (volatile uint32_t *)(uintptr_t)(TRAMPOLINE + ap_count_off);
    volatile uint32_t *id = (volatile uint32_t *)(uintptr_t)(TRAMPOLINE + ap_apic_id_off);
    uint64_t end;

    memcpy(dst, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
    lapic_enable();
    lapic_write(APIC_ICR_HIGH, apic_id << 24);
    lapic_write(APIC_ICR_LOW, ICR_INIT);
    lapic_write(APIC_ICR_HIGH, apic_id << 24);
    lapic_write(APIC_ICR_LOW, ICR_STARTUP | (TRAMPOLINE >> 12));
    end = rdtsc() + WAIT_SECONDS * tsc_per_sec;
    while (*count == 0 && rdtsc() < end)
        cpu_relax();
    payload_check(*count == 1, "hot-added vcpu runs", *count);
    payload_check(*id == apic_id, "hot-added vcpu x2apic id", *id);
}

static void cpu_add(void)
{
    uint64_t all;
    uint32_t cpu;

    if (!payload_check(wait_ged(GED_EVENT_CPU), "ged cpu event (add)", 0))
        payload_fail("resize", "no GED CPU event after desired_vcpus 2");
    cpu = scan_cpus(CPU_CINS, &all);
    payload_check(cpu == ADDED_CPU, "one vcpu inserting", all);
    payload_check(cpu_status(ADDED_CPU) == (CPU_CEN | CPU_CINS), "inserting vcpu enabled",
                  cpu_status(ADDED_CPU));
    mmio_write8(CPU_STATUS, CPU_CINS); /* CSCN writes the bit back */
    scan_cpus(0xff, &all);
    payload_check(all == (CPU_CEN | CPU_CEN << 8), "cins cleared, vcpus 0 and 1 enabled", all);
    if (cpu != ADDED_CPU)
        payload_fail("resize", "the scan did not find the added vCPU");
    start_ap(ADDED_CPU);
    say_num("added cpu", cpu);
}

static void cpu_remove(void)
{
    uint64_t all;
    uint32_t cpu;

    if (!payload_check(wait_ged(GED_EVENT_CPU), "ged cpu event (remove)", 0))
        payload_fail("resize", "no GED CPU event after desired_vcpus 1");
    cpu = scan_cpus(CPU_CRMV, &all);
    payload_check(cpu == ADDED_CPU, "one vcpu removing", all);
    payload_check(cpu_status(ADDED_CPU) == (CPU_CEN | CPU_CRMV), "removing vcpu still enabled",
                  cpu_status(ADDED_CPU));
    mmio_write8(CPU_STATUS, CPU_CRMV);
    payload_check(cpu_status(ADDED_CPU) == CPU_CEN, "crmv cleared", cpu_status(ADDED_CPU));
    if (cpu != ADDED_CPU)
        payload_fail("resize", "the scan did not find the vCPU to remove");
    say_num("remove seen cpu", cpu);
    /* The runner checks that vm.resize is refused while this eject is awaited. */
    if (!payload_check(wait_ged(GED_EVENT_POWER_BUTTON), "runner's go for the eject", 0))
        payload_fail("resize", "no power button before the eject");
    mmio_write32(CPU_CSEL, cpu); /* _EJ0 -> CEJ0 (Arg0) */
    mmio_write8(CPU_STATUS, CPU_CEJ0);
    scan_cpus(0xff, &all);
    payload_check(all == CPU_CEN, "ejected vcpu reads absent at once", all);
    say_num("ejected cpu", cpu);
}

/* Maps the 1 GiB window around [base, base + len) with 2 MiB pages in the PDPT start.S made
 * (CR3 -> PML4[0] -> PDPT); false when the range does not fit one window past 4 GiB. */
static bool map_window(uint64_t base, uint64_t len)
{
    uint64_t win = base & ~(GIB - 1), cr3;
    uint64_t *pml4, *pdpt;

    if (base < GPA_RAM_ABOVE_4G || base >= 512 * GIB || len > GIB || base + len > win + GIB)
        return false;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    pml4 = (uint64_t *)(uintptr_t)(cr3 & ~(PAGE - 1));
    pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~(PAGE - 1));
    for (uint64_t i = 0; i < 512; i++)
        window_pd[i] = (win + (i << 21)) | PDE_2M;
    pdpt[win / GIB] = (uint64_t)(uintptr_t)window_pd | PTE_PRESENT_RW;
    __asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
    return true;
}

static uint64_t pattern(uint64_t gpa)
{
    return (gpa * 0x9e3779b97f4a7c15ull) ^ 0x5a17c0de5a17c0deull;
}

/* Every page of [base, base + len): its first and last qword, and all of the first and the last
 * page. The mismatches after a write-then-read pass. */
static uint64_t pattern_pass(uint64_t base, uint64_t len, bool write)
{
    uint64_t bad = 0;

    for (uint64_t p = base; p < base + len; p += PAGE) {
        bool whole = p == base || p + PAGE == base + len;

        for (uint64_t a = p; a < p + PAGE; a += whole ? 8 : PAGE - 8) {
            if (write)
                *qword(a) = pattern(a);
            else
                bad += *qword(a) != pattern(a);
        }
    }
    return bad;
}

static void mem_add(void)
{
    uint32_t slot = MEM_HOTPLUG_MAX_SLOTS, n = 0;
    uint64_t base, len, bad;

    if (!payload_check(wait_ged(GED_EVENT_MEMORY), "ged memory event", 0))
        payload_fail("resize", "no GED memory event after desired_ram");
    for (uint32_t s = 0; s < MEM_HOTPLUG_MAX_SLOTS; s++) {
        if (mem_status(s) & MEM_MINS) {
            slot = s;
            n++;
        }
    }
    payload_check(n == 1 && slot == 0, "one memory slot inserting (slot 0)", slot);
    if (n != 1)
        payload_fail("resize", "no single inserting memory slot");
    payload_check(mem_status(slot) == (MEM_MEN | MEM_MINS), "slot enabled and inserting",
                  mem_status(slot));
    /* _CRS: base and length, a dword at a time. */
    base = mmio_read32(MEM_MSEL) | (uint64_t)mmio_read32(MEM_BASE_H) << 32;
    len = mmio_read32(MEM_LEN_L) | (uint64_t)mmio_read32(MEM_LEN_H) << 32;
    payload_check(mmio_read32(MEM_PXM) == 0, "proximity 0", mmio_read32(MEM_PXM));
    mmio_write8(MEM_STATUS, MEM_MINS); /* MSCN writes the bit back */
    payload_check(mem_status(slot) == MEM_MEN, "mins cleared", mem_status(slot));
    payload_check(base >= GPA_RAM_ABOVE_4G && base % MEM_ALIGN == 0, "base above 4 GiB, aligned",
                  base);
    payload_check(len && len % MEM_ALIGN == 0 && len <= HOTPLUG_SIZE, "length in 128 MiB blocks",
                  len);
    payload_check(mem_status(slot + 1) == 0, "next slot empty", mem_status(slot + 1));
    serial_puts(PAYLOAD_MARK "memory slot = ");
    serial_puthex(slot);
    serial_puts(" base = ");
    serial_puthex(base);
    serial_puts(" length = ");
    serial_puthex(len);
    serial_puts("\n");
    if (!payload_check(map_window(base, len), "hot-added range mapped", base))
        payload_fail("resize", "the new range cannot be mapped");
    (void)pattern_pass(base, len, true);
    bad = pattern_pass(base, len, false);
    if (payload_check(bad == 0, "pattern read back in every page", bad))
        payload_say("memory backed", "");

    /* An eject of the slot: Cloud Hypervisor never removes ACPI memory, nor may cellvm. */
    mmio_write32(MEM_MSEL, slot);
    mmio_write8(MEM_STATUS, MEM_MEJ0);
    payload_check(mem_status(slot) == MEM_MEN, "slot still enabled after mej0", mem_status(slot));
    bad = pattern_pass(base, len, false);
    if (payload_check(bad == 0, "pattern intact after mej0", bad))
        payload_say("memory eject ignored", "");
}

void payload_main(uint32_t start_info)
{
    (void)start_info;
    serial_init();
    clock_init();
    idle_checks();
    payload_say("ready resize", "");
    cpu_add();
    cpu_remove();
    mem_add();
    payload_check(wait_ged(GED_EVENT_POWER_BUTTON), "power button ends the run", 0);
    payload_finish("resize");
}
