/*
 * SMP topology as the guest sees it, on every vCPU. The kernel command line says what to
 * expect: "topo=T:C:D:P boot=N max=M [numa=K]". The BSP checks its own CPUID leaves 0x1, 0xB,
 * 0x1F (and the TSC frequency leaf), starts every AP with a broadcast INIT/SIPI (topo_ap.S),
 * and checks that the APs' x2APIC ids are exactly the ids of vCPUs 1..N-1 under the topology's
 * packing (threads fastest, each field a power of two wide) with consistent leaves. The MADT
 * must list M processors, UID i with the APIC id of vCPU i, enabled for i < N and online-capable
 * after; with numa=K an SRAT with M processor entries and a SLIT of K localities must exist.
 */
#include "lib.h"

#define TOPO_MAX_SLOTS 32 /* topo_ap.S has the same */
#define TRAMPOLINE     0x10000u
#define APIC_ID_REG    0x020
#define APIC_ICR_LOW   0x300
#define ICR_ALL_BUT_ME (3u << 18)
#define ICR_INIT       0x4500u
#define ICR_STARTUP    0x4600u
#define GPA_LAPIC_BASE 0xfee00000ull

extern const uint8_t topo_tramp_start[], topo_tramp_end[];
extern const uint32_t topo_taken_off, topo_done_off, topo_slots_off;

struct start_info_head {
    uint32_t magic, version, flags, nr_modules;
    uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
};

struct topo {
    uint32_t t, c, d, p, boot, max, numa;
    unsigned int tb, cb, db;
};

static unsigned int bits_for(uint32_t n)
{
    unsigned int b = 0;

    while (b < 31 && (1u << b) < n)
        b++;
    return b;
}

static uint32_t apic_id_of(const struct topo *t, uint32_t i)
{
    uint32_t thread = i % t->t, core = (i / t->t) % t->c, die = (i / t->t / t->c) % t->d;
    uint32_t pkg = i / t->t / t->c / t->d;

    return pkg << (t->tb + t->cb + t->db) | die << (t->tb + t->cb) | core << t->tb | thread;
}

/* Finds "key=" in the command line and reads up to n ':'-separated decimals. */
static bool arg(const char *cmd, const char *key, uint32_t *out, int n)
{
    for (const char *p = cmd; *p; p++) {
        const char *k = key, *q = p;

        if (p != cmd && p[-1] != ' ')
            continue;
        while (*k && *q == *k)
            k++, q++;
        if (*k || *q != '=')
            continue;
        q++;
        for (int i = 0; i < n; i++) {
            uint32_t v = 0;

            if (*q < '0' || *q > '9')
                return false;
            while (*q >= '0' && *q <= '9')
                v = v * 10 + (uint32_t)(*q++ - '0');
            out[i] = v;
            if (i + 1 < n && *q++ != ':')
                return false;
        }
        return true;
    }
    return false;
}

static void check_leaves(const struct topo *t, uint32_t who, uint32_t apic, uint32_t l1_ebx,
                         uint32_t b0_eax, uint32_t b0_ebx, uint32_t b1_eax, uint32_t b1_ebx)
{
    unsigned int pkg_bits = t->tb + t->cb + t->db;

    (void)who;
    payload_check((l1_ebx >> 24) == (apic & 0xff), "leaf 1 initial apic id", l1_ebx >> 24);
    payload_check(b0_eax == t->tb && (b0_ebx & 0xffff) == (1u << t->tb), "leaf 0xb smt shift",
                  b0_eax);
    payload_check(b1_eax == pkg_bits && (b1_ebx & 0xffff) == (1u << pkg_bits),
                  "leaf 0xb core shift", b1_eax);
}

static void check_bsp(const struct topo *t, bool has_1f)
{
    struct cpuid_regs l1 = cpuid(1, 0), b0 = cpuid(0xb, 0), b1 = cpuid(0xb, 1), k;
    uint32_t lapic = *(volatile uint32_t *)(uintptr_t)(GPA_LAPIC_BASE + APIC_ID_REG);

    payload_check(b0.edx == 0 && (lapic >> 24) == 0, "bsp apic id 0", lapic);
    check_leaves(t, 0, 0, l1.ebx, b0.eax, b0.ebx, b1.eax, b1.ebx);
    payload_check(((l1.ebx >> 16) & 0xff) ==
                      ((1u << (t->tb + t->cb + t->db)) > 0xff ? 0xff
                                                              : (1u << (t->tb + t->cb + t->db))),
                  "leaf 1 logical count", l1.ebx);
    if (has_1f) {
        payload_check((cpuid(0x1f, 1).eax & 0x1f) == t->tb + t->cb, "leaf 0x1f core shift",
                      cpuid(0x1f, 1).eax);
        payload_check((cpuid(0x1f, 2).eax & 0x1f) == t->tb + t->cb + t->db,
                      "leaf 0x1f die shift", cpuid(0x1f, 2).eax);
    }
    k = cpuid(0x40000000, 0);
    if (payload_check(k.eax >= 0x40000010, "timing leaf present", k.eax))
        payload_check(cpuid(0x40000010, 0).eax > 100000, "tsc khz", cpuid(0x40000010, 0).eax);
}

static void start_aps(const struct topo *t, bool has_1f)
{
    uint8_t *base = (uint8_t *)(uintptr_t)TRAMPOLINE;
    volatile uint32_t *done = (volatile uint32_t *)(base + topo_done_off);
    volatile uint32_t *slots = (volatile uint32_t *)(base + topo_slots_off);
    uint32_t want = t->boot - 1, seen = 0;
    unsigned long spins;

    memcpy(base, topo_tramp_start, (size_t)(topo_tramp_end - topo_tramp_start));
    lapic_enable();
    lapic_write(APIC_ICR_LOW, ICR_ALL_BUT_ME | ICR_INIT);
    lapic_write(APIC_ICR_LOW, ICR_ALL_BUT_ME | ICR_STARTUP | (TRAMPOLINE >> 12));
    for (spins = 0; spins < 400000000ul && *done < want; spins++)
        cpu_relax();
    payload_check(*done == want, "aps started", *done);
    for (uint32_t s = 0; s < *done && s < TOPO_MAX_SLOTS; s++) {
        volatile uint32_t *r = slots + s * 8;
        uint32_t apic = r[1], i;

        for (i = 1; i < t->boot; i++)
            if (apic_id_of(t, i) == apic)
                break;
        if (!payload_check(i < t->boot, "ap x2apic id is a boot vcpu's", apic))
            continue;
        if (seen & (1u << (i % 32)))
            payload_check(false, "ap x2apic id seen twice", apic);
        seen |= 1u << (i % 32);
        check_leaves(t, i, apic, r[0], r[2], r[3], r[4], r[5]);
        if (has_1f)
            payload_check((r[6] & 0x1f) == t->tb + t->cb && (r[7] & 0x1f) == t->tb + t->cb + t->db,
                          "ap leaf 0x1f shifts", r[7]);
    }
}

static const uint8_t *table(uint64_t rsdp, const char *sig)
{
    const uint8_t *r = (const uint8_t *)(uintptr_t)rsdp;
    const uint8_t *x = (const uint8_t *)(uintptr_t)(*(const uint64_t *)(r + 24));
    uint32_t len = *(const uint32_t *)(x + 4);

    for (uint32_t off = 36; off + 8 <= len; off += 8) {
        const uint8_t *t = (const uint8_t *)(uintptr_t)(*(const uint64_t *)(x + off));

        if (t[0] == sig[0] && t[1] == sig[1] && t[2] == sig[2] && t[3] == sig[3])
            return t;
    }
    return NULL;
}

static void check_acpi(const struct topo *t, uint64_t rsdp)
{
    const uint8_t *madt = table(rsdp, "APIC"), *srat = table(rsdp, "SRAT");
    const uint8_t *slit = table(rsdp, "SLIT");
    uint32_t n = 0, bad = 0, len, off;

    if (!payload_check(madt != NULL, "madt present", 0))
        return;
    len = *(const uint32_t *)(madt + 4);
    for (off = 44; off + 2 <= len && madt[off + 1] >= 2; off += madt[off + 1]) {
        const uint8_t *e = madt + off;
        uint32_t uid, id, flags;

        if (e[0] == 0) {
            uid = e[2], id = e[3], flags = *(const uint32_t *)(e + 4);
        } else if (e[0] == 9) {
            id = *(const uint32_t *)(e + 4), flags = *(const uint32_t *)(e + 8);
            uid = *(const uint32_t *)(e + 12);
        } else {
            continue;
        }
        n++;
        if (uid >= t->max || id != apic_id_of(t, uid) ||
            (flags & 3) != (uid < t->boot ? 1u : 2u))
            bad++;
    }
    payload_check(n == t->max, "madt processors", n);
    payload_check(bad == 0, "madt ids and enabled/online-capable flags", bad);
    if (!t->numa) {
        payload_check(srat == NULL && slit == NULL, "no srat/slit without numa", 0);
        return;
    }
    if (!payload_check(srat != NULL && slit != NULL, "srat and slit present", 0))
        return;
    len = *(const uint32_t *)(srat + 4);
    n = 0;
    for (off = 48; off + 2 <= len && srat[off + 1] >= 2; off += srat[off + 1])
        n += srat[off] == 0 || srat[off] == 2;
    payload_check(n == t->max, "srat processor affinities", n);
    payload_check(*(const uint64_t *)(slit + 36) == t->numa, "slit localities",
                  *(const uint64_t *)(slit + 36));
}

void payload_main(uint32_t start_info)
{
    const volatile struct start_info_head *si =
        (const volatile struct start_info_head *)(uintptr_t)start_info;
    const char *cmd = (const char *)(uintptr_t)si->cmdline_paddr;
    struct topo t = { 0 };
    uint32_t v[4];
    bool has_1f;

    serial_init();
    if (!si->cmdline_paddr || !arg(cmd, "topo", v, 4) || !arg(cmd, "boot", &t.boot, 1) ||
        !arg(cmd, "max", &t.max, 1))
        payload_fail("topo", "cmdline needs topo=T:C:D:P boot=N max=M");
    t.t = v[0], t.c = v[1], t.d = v[2], t.p = v[3];
    (void)arg(cmd, "numa", &t.numa, 1);
    if (!t.t || !t.c || !t.d || !t.p || t.boot == 0 || t.boot > TOPO_MAX_SLOTS + 1 ||
        t.boot > t.max)
        payload_fail("topo", "bad topo/boot/max on the cmdline");
    t.tb = bits_for(t.t), t.cb = bits_for(t.c), t.db = bits_for(t.d);
    has_1f = cpuid(0, 0).eax >= 0x1f;
    payload_check(true, "info: max basic leaf", cpuid(0, 0).eax);
    check_bsp(&t, has_1f);
    if (t.boot > 1)
        start_aps(&t, has_1f);
    check_acpi(&t, si->rsdp_paddr);
    payload_finish("topo");
}
