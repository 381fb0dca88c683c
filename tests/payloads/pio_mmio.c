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

static int check(const char *what, uint64_t got, uint64_t want)
{
    serial_puts(PAYLOAD_MARK NAME ": ");
    serial_puts(what);
    serial_puts(" = ");
    serial_puthex(got);
    serial_puts(got == want ? " ok\n" : " BAD\n");
    return got == want ? 0 : 1;
}

static int bcd_ok(uint8_t v, uint8_t max_tens)
{
    return (v & 0xf) <= 9 && (v >> 4) <= max_tens;
}

static int check_rtc(void)
{
    uint8_t a, b, sec, min;
    int spins = 0;

    /* All-ones is no RTC at all (QEMU's microvm under KVM leaves it out unless rtc=on). */
    a = cmos_read(RTC_STATUS_A);
    if (a == 0xff)
        return check("rtc status A present", a, 0x26);
    while ((cmos_read(RTC_STATUS_A) & RTC_A_UIP) && spins < RTC_UIP_SPIN_MAX)
        spins++;
    if (spins == RTC_UIP_SPIN_MAX)
        return check("rtc update in progress ends", spins, 0);
    b = cmos_read(RTC_STATUS_B);
    sec = cmos_read(RTC_SECONDS);
    min = cmos_read(RTC_MINUTES);
    if (b & RTC_B_BINARY)
        return check("rtc seconds (binary) < 60", sec < 60 && min < 60, 1);
    return check("rtc seconds (bcd) valid", bcd_ok(sec, 5) && bcd_ok(min, 5), 1);
}

void payload_main(uint32_t start_info)
{
    int bad = 0;

    (void)start_info;
    bad += check("inb unclaimed port", inb(PORT_UNCLAIMED), 0xff);
    bad += check("inw unclaimed port", inw(PORT_UNCLAIMED), 0xffff);
    bad += check("inl unclaimed port", inl(PORT_UNCLAIMED), 0xffffffff);
    bad += check_rtc();
    bad += check("mmio8 unclaimed", mmio_read8(MMIO_UNCLAIMED_A), 0xff);
    bad += check("mmio32 unclaimed", mmio_read32(MMIO_UNCLAIMED_A), 0xffffffff);
    bad += check("mmio32 unclaimed (top)", mmio_read32(MMIO_UNCLAIMED_B), 0xffffffff);
    if (bad)
        payload_fail(NAME, "a check above is BAD");
    payload_pass(NAME);
}
