#include "lib.h"

#include "core/platform.h"

/*
 * Exit-path dispatch: reads of ports and MMIO that no device claims return all-ones, and the
 * CMOS RTC answers with a valid seconds value. Each check prints a line, the last line is the
 * verdict. (QEMU reads unassigned MMIO as zero, so there the MMIO checks report BAD.)
 */

#define NAME             "pio-mmio"
#define PORT_UNCLAIMED   0x2f0
#define MMIO_UNCLAIMED_A 0xd0000000ull /* MMIO32 window, no BAR in a payload VM */
#define MMIO_UNCLAIMED_B 0xdffff000ull
#define RTC_SECONDS      0x00
#define RTC_MINUTES      0x02
#define RTC_STATUS_A     0x0a
#define RTC_STATUS_B     0x0b
#define RTC_A_UIP        0x80
#define RTC_B_BINARY     0x04
#define RTC_UIP_SPIN_MAX 100000

static void check(const char *what, uint64_t got, uint64_t want)
{
    payload_check(got == want, what, got);
}

static int bcd_ok(uint8_t v, uint8_t max_tens)
{
    return (v & 0xf) <= 9 && (v >> 4) <= max_tens;
}

static void check_rtc(void)
{
    uint8_t b, sec, min;
    int spins = 0;

    /* All-ones is no RTC at all (QEMU's microvm under KVM leaves it out unless rtc=on). */
    if (cmos_read(RTC_STATUS_A) == 0xff) {
        check("rtc status A present", 0xff, 0x26);
        return;
    }
    while ((cmos_read(RTC_STATUS_A) & RTC_A_UIP) && spins < RTC_UIP_SPIN_MAX)
        spins++;
    if (spins == RTC_UIP_SPIN_MAX) {
        check("rtc update in progress ends", spins, 0);
        return;
    }
    b = cmos_read(RTC_STATUS_B);
    sec = cmos_read(RTC_SECONDS);
    min = cmos_read(RTC_MINUTES);
    if (b & RTC_B_BINARY)
        check("rtc seconds (binary) < 60", sec < 60 && min < 60, 1);
    else
        check("rtc seconds (bcd) valid", bcd_ok(sec, 5) && bcd_ok(min, 5), 1);
}

void payload_main(uint32_t start_info)
{
    (void)start_info;
    serial_init();
    check("inb unclaimed port", inb(PORT_UNCLAIMED), 0xff);
    check("inw unclaimed port", inw(PORT_UNCLAIMED), 0xffff);
    check("inl unclaimed port", inl(PORT_UNCLAIMED), 0xffffffff);
    check_rtc();
    check("mmio8 unclaimed", mmio_read8(MMIO_UNCLAIMED_A), 0xff);
    check("mmio32 unclaimed", mmio_read32(MMIO_UNCLAIMED_A), 0xffffffff);
    check("mmio32 unclaimed (top)", mmio_read32(MMIO_UNCLAIMED_B), 0xffffffff);
    payload_finish(NAME);
}
