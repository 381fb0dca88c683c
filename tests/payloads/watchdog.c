#include "lib.h"

/*
 * The virtio-watchdog (--watchdog, issue 20) from the guest's side. Boot 1 finds the function
 * (1af4:1063, virtio id 35) on bus 0, sets up its one queue through the virtio-blk payload's
 * driver, and pings it PINGS times, PING_GAP seconds apart by the RTC, each ping a one-byte
 * writable buffer the device must mark with 1; then it prints "stopped pinging" and halts, and
 * the watchdog must reset the VM. Boot 2 (the boot count lives in CMOS, which survives the
 * reset) checks that the device came back reset (status 0) and powers off with PASS. The
 * runner measures when the second boot starts.
 */

/* The virtio-blk payload's driver, without its own checks and entry point. */
#define payload_main virtio_blk_main
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "virtio_blk.c"
#pragma GCC diagnostic pop
#undef payload_main
#undef NAME
#undef CMOS_BOOT_COUNT

#define NAME            "watchdog"
#define CMOS_BOOT_COUNT 0x42 /* reset uses 0x40, virtio-blk 0x41 */
#define PCI_DEVICE_WDT  0x1063 /* 0x1040 + virtio id 35 */
#define PINGS           7
#define PING_GAP        4 /* seconds: 7 pings cover 24 s, past the check 30 s after the first */
#define PING_GPA        (RING_GPA + 0x4000)
#define RTC_SPIN_MAX    2000000000u

static int find_wdt(void)
{
    for (int d = 1; d < 32; d++)
        if (mmio_read32(ECAM(d, 0)) == ((uint32_t)PCI_DEVICE_WDT << 16 | PCI_VENDOR_VIRTIO))
            return d;
    return -1;
}

/* Waits until the RTC's seconds register has changed n times; false if it never does. */
static bool wait_seconds(unsigned n)
{
    uint8_t last = cmos_read(0);

    for (uint32_t i = 0; i < RTC_SPIN_MAX && n; i++) {
        uint8_t now = cmos_read(0);

        if (now != last) {
            last = now;
            n--;
        }
        cpu_relax();
    }
    return n == 0;
}

/* One ping: a writable one-byte buffer made available; true when the device returned it
 * marked 1 with a used length of 1. */
static bool ping(void)
{
    struct vdesc *desc = (struct vdesc *)(uintptr_t)DESC_GPA;
    volatile uint16_t *avail = (volatile uint16_t *)(uintptr_t)AVAIL_GPA;
    volatile uint8_t *buf = (volatile uint8_t *)(uintptr_t)PING_GPA;
    volatile uint32_t *used_len;
    uint16_t slot = avail[1];

    *buf = 0;
    desc[slot % QSIZE] = (struct vdesc){ PING_GPA, 1, 2 /* WRITE */, 0 };
    avail[2 + slot % QSIZE] = slot % QSIZE;
    __asm__ volatile("" ::: "memory");
    avail[1] = (uint16_t)(slot + 1);
    __asm__ volatile("mfence" ::: "memory");
    wr16(notify, 0);
    if (!wait_used())
        return false;
    used_len = (volatile uint32_t *)(uintptr_t)(USED_GPA + 4 + 8u * ((used_seen - 1) % QSIZE) + 4);
    return *buf == 1 && *used_len == 1;
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
    payload_check(boot < 2, "watchdog boot", boot);
    lapic_enable();
    d = find_wdt();
    if (d < 0)
        payload_fail(NAME, "no virtio-watchdog function on bus 0");
    payload_check(true, "virtio-watchdog at slot", (uint64_t)d);
    bar = setup_bar(d);
    walk_caps(d, bar, &msix_cap);
    if (!common)
        payload_finish(NAME);
    if (boot > 0) {
        /* The watchdog's reset is a VM reset: the device is back at power-on. */
        payload_check(mmio_read8(common + 0x14) == 0, "status 0 after the watchdog's reset",
                      mmio_read8(common + 0x14));
        payload_finish(NAME);
    }
    msix_entry(0, VEC_A, false);
    mmio_write32(ECAM(d, msix_cap), mmio_read32(ECAM(d, msix_cap)) | 0x80000000u);
    if (!negotiate())
        payload_fail(NAME, "FEATURES_OK refused");
    payload_check(rd16(common + 0x12) == 1, "one queue", rd16(common + 0x12));
    wr16(common + 0x10, 0xffff); /* no config vector */
    setup_queue();
    wr8(common + 0x14, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    for (unsigned i = 0; i < PINGS; i++) {
        if (i && !wait_seconds(PING_GAP))
            payload_fail(NAME, "the RTC does not tick");
        if (!payload_check(ping(), "ping answered", i))
            payload_finish(NAME);
    }
    payload_say("stopped pinging", "");
    payload_halt();
}
