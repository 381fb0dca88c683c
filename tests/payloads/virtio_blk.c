#include "lib.h"

#include "core/platform.h"

/*
 * PCI and virtio-pci from the guest's side, against a real device process: enumerate bus 0
 * through ECAM (and compare with 0xCF8/0xCFC), size and enable the virtio-blk function's BAR,
 * program MSI-X, negotiate VERSION_1, set up one split ring, write a sector and read back both
 * it and a sector the test filled beforehand, see the completion interrupt arrive as an MSI,
 * mask the vector and see the pending bit latch, unmask and see it delivered, then reset the
 * device. The runner gives it a raw disk whose sector 16 starts with DISK_PATTERN and checks
 * afterwards that sector 8 holds WRITE_PATTERN. The first boot reboots (ACPI reset) right after
 * its I/O, with the ring still running; the second boot does everything again and powers off.
 */

#define NAME                  "virtio-blk"
#define CMOS_BOOT_COUNT       0x41 /* the reset payload uses 0x40 */

#define ECAM(dev, reg)        (GPA_ECAM_START + ((uint64_t)(dev) << 15) + (reg))
#define PCI_VENDOR_VIRTIO     0x1af4
#define PCI_DEVICE_BLK        0x1042
#define PCI_COMMAND           0x04
#define PCI_CAP_PTR           0x34
#define PCI_BAR0              0x10
#define CAP_VNDR              0x09
#define CAP_MSIX              0x11

#define VIRTIO_F_VERSION_1_HI 1u /* bit 32 */
#define S_ACK                 1
#define S_DRIVER              2
#define S_DRIVER_OK           4
#define S_FEATURES_OK         8

#define QSIZE                 8
#define RING_GPA              0x1000000ull
#define DESC_GPA              RING_GPA
#define AVAIL_GPA             (RING_GPA + 0x100)
#define USED_GPA              (RING_GPA + 0x200)
#define HDR_GPA               (RING_GPA + 0x1000)
#define DATA_GPA              (RING_GPA + 0x2000)
#define STATUS_GPA            (RING_GPA + 0x3000)
#define SPIN_MAX              400000000u
#define VEC_A                 0x41
#define VEC_B                 0x42
#define DISK_PATTERN          "CELLVM-DISK-PATTERN"
#define WRITE_PATTERN         "CELLVM-WRITTEN-BY-GUEST"

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct blk_hdr {
    uint32_t type, ioprio;
    uint64_t sector;
};

static uint64_t common, notify, device, msix_table, msix_pba;
static uint32_t notify_mult;
static uint32_t pcicfg_cap; /* VIRTIO_PCI_CAP_PCI_CFG in config space */
static uint16_t used_seen;

static uint16_t rd16(uint64_t a)
{
    return *(volatile uint16_t *)(uintptr_t)a;
}

static void wr16(uint64_t a, uint16_t v)
{
    *(volatile uint16_t *)(uintptr_t)a = v;
}

static void wr8(uint64_t a, uint8_t v)
{
    *(volatile uint8_t *)(uintptr_t)a = v;
}

static void wr64(uint64_t a, uint64_t v)
{
    mmio_write32(a, (uint32_t)v);
    mmio_write32(a + 4, (uint32_t)(v >> 32));
}

static bool streq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* Slot 1..31 holding the virtio-blk function, or -1; also checks the host bridge and CF8. */
static int find_blk(void)
{
    int found = -1;

    payload_check(mmio_read32(ECAM(0, 0)) == 0x00081b36, "host bridge 00.0 id",
                  mmio_read32(ECAM(0, 0)));
    outl(0xcf8, 0x80000000u);
    payload_check(inl(0xcfc) == mmio_read32(ECAM(0, 0)), "cf8/cfc reads the same id", inl(0xcfc));
    for (int d = 1; d < 32; d++) {
        uint32_t id = mmio_read32(ECAM(d, 0));

        if (id == 0xffffffffu)
            continue;
        if (id == ((uint32_t)PCI_DEVICE_BLK << 16 | PCI_VENDOR_VIRTIO) && found < 0)
            found = d;
    }
    payload_check(mmio_read32(ECAM(0, 0) + (1ull << 20)) == 0xffffffffu, "bus 1 is empty",
                  mmio_read32(ECAM(0, 0) + (1ull << 20)));
    return found;
}

static uint64_t setup_bar(int d)
{
    uint32_t lo, hi;
    uint64_t bar, size;

    lo = mmio_read32(ECAM(d, PCI_BAR0));
    hi = mmio_read32(ECAM(d, PCI_BAR0 + 4));
    payload_check((lo & 0x6) == 0x4, "BAR0 is 64-bit memory", lo);
    mmio_write32(ECAM(d, PCI_BAR0), 0xffffffffu);
    mmio_write32(ECAM(d, PCI_BAR0 + 4), 0xffffffffu);
    size = ~(((uint64_t)mmio_read32(ECAM(d, PCI_BAR0 + 4)) << 32 |
              (mmio_read32(ECAM(d, PCI_BAR0)) & ~0xfu))) +
           1;
    payload_check(size == 0x8000, "BAR0 size", size);
    mmio_write32(ECAM(d, PCI_BAR0), lo);
    mmio_write32(ECAM(d, PCI_BAR0 + 4), hi);
    bar = ((uint64_t)hi << 32) | (lo & ~0xfu);
    payload_check(bar >= GPA_MMIO32_START && bar < GPA_MMIO32_END, "BAR0 in MMIO32", bar);
    mmio_write32(ECAM(d, PCI_COMMAND), 0x6); /* memory decode, bus master */
    return bar;
}

static void walk_caps(int d, uint64_t bar, uint32_t *msix_cap)
{
    uint8_t p = (uint8_t)mmio_read32(ECAM(d, PCI_CAP_PTR));

    for (int n = 0; p && n < 48; n++) {
        uint32_t w0 = mmio_read32(ECAM(d, p));
        uint8_t id = (uint8_t)w0, type = (uint8_t)(w0 >> 24);
        uint32_t off = mmio_read32(ECAM(d, p + 8));

        if (id == CAP_MSIX) {
            *msix_cap = p;
            msix_table = bar + (mmio_read32(ECAM(d, p + 4)) & ~7u);
            msix_pba = bar + (mmio_read32(ECAM(d, p + 8)) & ~7u);
        } else if (id == CAP_VNDR && type == 1) {
            common = bar + off;
        } else if (id == CAP_VNDR && type == 2) {
            notify = bar + off;
            notify_mult = mmio_read32(ECAM(d, p + 16));
        } else if (id == CAP_VNDR && type == 4) {
            device = bar + off;
        } else if (id == CAP_VNDR && type == 5) {
            pcicfg_cap = p;
        }
        p = (uint8_t)(w0 >> 8);
    }
    payload_check(common && notify && device && *msix_cap, "virtio and MSI-X capabilities", common);
}

/* Points the VIRTIO_PCI_CAP_PCI_CFG window at BAR 0 + off, width bytes. */
static void pcicfg_point(int d, uint32_t off, uint32_t width)
{
    wr8(ECAM(d, pcicfg_cap + 4), 0);
    mmio_write32(ECAM(d, pcicfg_cap + 8), off);
    mmio_write32(ECAM(d, pcicfg_cap + 12), width);
}

/*
 * The common config read and written through config space only (the window the spec requires
 * of modern devices), checked against the same registers read through the BAR.
 */
static void pcicfg_checks(int d)
{
    uint32_t v;

    payload_check(pcicfg_cap != 0, "VIRTIO_PCI_CAP_PCI_CFG present", pcicfg_cap);
    pcicfg_point(d, 0x12, 2); /* num_queues */
    v = mmio_read32(ECAM(d, pcicfg_cap + 16)) & 0xffff;
    payload_check(v == rd16(common + 0x12) && v >= 1, "num_queues through PCI_CFG", v);
    pcicfg_point(d, 0x00, 4); /* device_feature_select := 1 */
    mmio_write32(ECAM(d, pcicfg_cap + 16), 1);
    payload_check(mmio_read32(common + 0x00) == 1, "feature select written through PCI_CFG",
                  mmio_read32(common + 0x00));
    pcicfg_point(d, 0x04, 4); /* device_feature, bits 32..63 */
    v = mmio_read32(ECAM(d, pcicfg_cap + 16));
    payload_check(v == mmio_read32(common + 0x04) && (v & VIRTIO_F_VERSION_1_HI),
                  "device features through PCI_CFG", v);
    pcicfg_point(d, 0x14, 1); /* device_status, one byte: ACKNOWLEDGE, read back both ways */
    mmio_write32(ECAM(d, pcicfg_cap + 16), S_ACK);
    payload_check(mmio_read8(common + 0x14) == S_ACK, "status written through PCI_CFG",
                  mmio_read8(common + 0x14));
    v = mmio_read32(ECAM(d, pcicfg_cap + 16)) & 0xff;
    payload_check(v == S_ACK, "status read through PCI_CFG", v);
}

static void msix_entry(uint16_t v, uint8_t vector, bool masked)
{
    uint64_t e = msix_table + 16u * v;

    mmio_write32(e, (uint32_t)GPA_LAPIC); /* destination APIC 0 */
    mmio_write32(e + 4, 0);
    mmio_write32(e + 8, vector);
    mmio_write32(e + 12, masked ? 1 : 0);
}

static bool wait_used(void)
{
    volatile uint16_t *idx = (volatile uint16_t *)(uintptr_t)(USED_GPA + 2);

    for (uint32_t i = 0; i < SPIN_MAX; i++) {
        if (*idx != used_seen) {
            used_seen = *idx;
            return true;
        }
        cpu_relax();
    }
    return false;
}

/* One request (type 0 read, 1 write) of one sector through the ring; true when it completed
 * with status 0. */
static bool request(uint32_t type, uint64_t sector)
{
    struct vdesc *desc = (struct vdesc *)(uintptr_t)DESC_GPA;
    volatile uint16_t *avail = (volatile uint16_t *)(uintptr_t)AVAIL_GPA;
    struct blk_hdr *h = (struct blk_hdr *)(uintptr_t)HDR_GPA;
    volatile uint8_t *status = (volatile uint8_t *)(uintptr_t)STATUS_GPA;
    uint16_t slot = avail[1];

    h->type = type;
    h->ioprio = 0;
    h->sector = sector;
    *status = 0xff;
    desc[0] = (struct vdesc){ HDR_GPA, sizeof(*h), 1, 1 };
    desc[1] = (struct vdesc){ DATA_GPA, 512, (uint16_t)(1 | (type == 0 ? 2 : 0)), 2 };
    desc[2] = (struct vdesc){ STATUS_GPA, 1, 2, 0 };
    avail[2 + slot % QSIZE] = 0;
    __asm__ volatile("" ::: "memory");
    avail[1] = (uint16_t)(slot + 1);
    __asm__ volatile("mfence" ::: "memory");
    wr16(notify, 0); /* queue 0, notify offset 0: the ioeventfd's 2-byte write */
    return wait_used() && *status == 0;
}

static void setup_queue(void)
{
    /* RAM keeps the last boot's rings across a reset: start from zeroes. */
    memset((void *)(uintptr_t)RING_GPA, 0, 0x1000);
    used_seen = 0;
    wr16(common + 0x16, 0); /* queue_select */
    payload_check(rd16(common + 0x18) >= QSIZE, "queue 0 size", rd16(common + 0x18));
    wr16(common + 0x18, QSIZE);
    wr16(common + 0x1a, 0); /* queue vector 0 */
    payload_check(rd16(common + 0x1a) == 0, "queue vector accepted", rd16(common + 0x1a));
    wr64(common + 0x20, DESC_GPA);
    wr64(common + 0x28, AVAIL_GPA);
    wr64(common + 0x30, USED_GPA);
    payload_check(rd16(common + 0x1e) == 0, "queue notify offset", rd16(common + 0x1e));
    wr16(common + 0x1c, 1);
}

static bool negotiate(void)
{
    wr8(common + 0x14, 0);
    for (uint32_t i = 0; i < SPIN_MAX && mmio_read8(common + 0x14); i++)
        cpu_relax();
    wr8(common + 0x14, S_ACK | S_DRIVER);
    mmio_write32(common + 0x00, 1);
    payload_check(mmio_read32(common + 0x04) & VIRTIO_F_VERSION_1_HI, "device offers VERSION_1",
                  mmio_read32(common + 0x04));
    mmio_write32(common + 0x08, 0);
    mmio_write32(common + 0x0c, 0);
    mmio_write32(common + 0x08, 1);
    mmio_write32(common + 0x0c, VIRTIO_F_VERSION_1_HI);
    wr8(common + 0x14, S_ACK | S_DRIVER | S_FEATURES_OK);
    return mmio_read8(common + 0x14) & S_FEATURES_OK;
}

static void io_checks(void)
{
    char *data = (char *)(uintptr_t)DATA_GPA;
    uint64_t cap = mmio_read32(device) | (uint64_t)mmio_read32(device + 4) << 32;
    bool ok;

    payload_check(cap == (64u << 20) / 512, "capacity in sectors", cap);
    memset(data, 0, 512);
    ok = request(0, 16) && streq(data, DISK_PATTERN, sizeof(DISK_PATTERN) - 1);
    payload_check(ok, "read sector 16 holds the runner's pattern", (uint8_t)data[0]);
    payload_check(lapic_irr_pending(VEC_A), "completion MSI delivered (vector 0x41)", VEC_A);
    memset(data, 0, 512);
    memcpy(data, WRITE_PATTERN, sizeof(WRITE_PATTERN));
    payload_check(request(1, 8), "write sector 8", 1);
    memset(data, 0, 512);
    ok = request(0, 8) && streq(data, WRITE_PATTERN, sizeof(WRITE_PATTERN));
    payload_check(ok, "read back sector 8", (uint8_t)data[0]);
}

/* Masked vector: the completion latches the pending bit; unmasking delivers it. */
static void mask_checks(void)
{
    bool pending = false;

    msix_entry(0, VEC_B, true);
    payload_check(request(0, 16), "request with the vector masked", 1);
    for (uint32_t i = 0; i < SPIN_MAX && !pending; i++) {
        pending = mmio_read32(msix_pba) & 1;
        cpu_relax();
    }
    payload_check(pending, "pending bit latched while masked", pending);
    payload_check(!lapic_irr_pending(VEC_B), "nothing delivered while masked", 0);
    mmio_write32(msix_table + 12, 0);
    for (uint32_t i = 0; i < SPIN_MAX && !lapic_irr_pending(VEC_B); i++)
        cpu_relax();
    payload_check(lapic_irr_pending(VEC_B), "pending vector delivered on unmask", VEC_B);
    payload_check(!(mmio_read32(msix_pba) & 1), "pending bit cleared", mmio_read32(msix_pba));
}

/* A request that may outlive wait_used's spin bound: keeps looking until `cycles` of TSC time
 * have passed (the respawn payloads: a replacement device process must finish it). */
__attribute__((unused)) static bool request_until(uint32_t type, uint64_t sector, uint64_t cycles)
{
    volatile uint8_t *status = (volatile uint8_t *)(uintptr_t)STATUS_GPA;
    uint64_t start = rdtsc();

    if (request(type, sector))
        return true;
    while (rdtsc() - start < cycles) {
        if (wait_used())
            return *status == 0;
    }
    return false;
}

/* The driver up for the respawn payloads: the function found and set up, no config vector, one
 * ring, DRIVER_OK. Fails the payload `name` otherwise. */
__attribute__((unused)) static void blk_bring_up(const char *name)
{
    uint32_t msix_cap = 0;
    uint64_t bar;
    int d;

    serial_init();
    lapic_enable();
    d = find_blk();
    if (d < 0)
        payload_fail(name, "no virtio-blk function on bus 0");
    bar = setup_bar(d);
    walk_caps(d, bar, &msix_cap);
    if (!common || !negotiate())
        payload_fail(name, "virtio-blk setup failed");
    wr16(common + 0x10, 0xffff); /* no config vector */
    setup_queue();
    wr8(common + 0x14, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

void payload_main(uint32_t start_info)
{
    uint8_t boot = cmos_read(CMOS_BOOT_COUNT);
    uint32_t msix_cap = 0;
    uint64_t bar;
    int d;

    (void)start_info;
    serial_init();
    cmos_write(CMOS_BOOT_COUNT, (uint8_t)(boot + 1));
    payload_check(true, "boot", boot);
    lapic_enable();
    d = find_blk();
    if (d < 0)
        payload_fail(NAME, "no virtio-blk function on bus 0");
    payload_check(true, "virtio-blk at slot", (uint64_t)d);
    bar = setup_bar(d);
    walk_caps(d, bar, &msix_cap);
    if (!common)
        payload_finish(NAME);
    /* MSI-X on, function unmasked, vector 0 -> APIC 0 vector VEC_A. */
    msix_entry(0, VEC_A, false);
    mmio_write32(ECAM(d, msix_cap), mmio_read32(ECAM(d, msix_cap)) | 0x80000000u);
    pcicfg_checks(d);
    if (!negotiate())
        payload_fail(NAME, "FEATURES_OK refused");
    wr16(common + 0x10, 0xffff); /* no config vector */
    setup_queue();
    wr8(common + 0x14, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    io_checks();
    if (boot == 0) {
        /* Reboot with the ring running: the core must stop and reset the backend, and the
         * next boot drives the device from scratch. */
        payload_say("rebooting with the ring running", "");
        payload_acpi_reset();
    }
    mask_checks();
    /* Reset: the device stops its ring and the status reads 0 again. */
    wr8(common + 0x14, 0);
    for (uint32_t i = 0; i < SPIN_MAX && mmio_read8(common + 0x14); i++)
        cpu_relax();
    payload_check(mmio_read8(common + 0x14) == 0, "status 0 after reset",
                  mmio_read8(common + 0x14));
    payload_finish(NAME);
}
