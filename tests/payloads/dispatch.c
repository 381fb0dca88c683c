/*
 * Exit dispatch: unknown ports and unbacked MMIO read as all-ones and ignore writes, port 0x80
 * is silent, the CMOS RTC answers with sane BCD time and keeps NVRAM, the 8250 registers
 * behave as Linux's probe expects, the GED register reads 0 when nothing is pending.
 */
#include "lib.h"

#include "core/platform.h"

#define COM1         PORT_SERIAL_COM1
#define UNKNOWN_PORT 0x2f8         /* COM2: not present */
#define HOLE_MMIO    0xd0000000ull /* MMIO32 BAR window, nothing mapped in a payload VM */
#define GED_MMIO     GPA_GED_START

static bool bcd_ok(uint8_t v, uint8_t max)
{
    return (v & 0xf) <= 9 && (v >> 4) <= 9 && ((v >> 4) * 10 + (v & 0xf)) <= max;
}

static void check_ports(void)
{
    outb(UNKNOWN_PORT, 0x12);
    outl(UNKNOWN_PORT, 0x12345678);
    payload_check(inb(UNKNOWN_PORT) == 0xff, "unknown port inb", inb(UNKNOWN_PORT));
    payload_check(inw(UNKNOWN_PORT) == 0xffff, "unknown port inw", inw(UNKNOWN_PORT));
    payload_check(inl(UNKNOWN_PORT) == 0xffffffffu, "unknown port inl", inl(UNKNOWN_PORT));
    outb(0x80, 0x55);
    payload_check(inb(0x80) == 0xff, "post port read", inb(0x80));
}

static void check_mmio(void)
{
    volatile uint8_t *b = (volatile uint8_t *)(uintptr_t)HOLE_MMIO;
    volatile uint16_t *w = (volatile uint16_t *)(uintptr_t)HOLE_MMIO;
    volatile uint32_t *l = (volatile uint32_t *)(uintptr_t)HOLE_MMIO;
    volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)HOLE_MMIO;
    volatile uint32_t *ged = (volatile uint32_t *)(uintptr_t)GED_MMIO;

    *l = 0x12345678;
    payload_check(*b == 0xff, "unbacked mmio 8-bit", *b);
    payload_check(*w == 0xffff, "unbacked mmio 16-bit", *w);
    payload_check(*l == 0xffffffffu, "unbacked mmio 32-bit", *l);
    payload_check(*q == ~0ull, "unbacked mmio 64-bit", *q);
    payload_check(*ged == 0, "ged idle", *ged);
}

static void check_cmos(void)
{
    uint8_t b = cmos_read(0x0b), sec = cmos_read(0x00), min = cmos_read(0x02);
    uint8_t hour = cmos_read(0x04), mon = cmos_read(0x08), cent = cmos_read(0x32);

    payload_check(b == 0x02, "cmos status b: 24h bcd", b);
    payload_check((cmos_read(0x0a) & 0x80) == 0, "cmos update not in progress", cmos_read(0x0a));
    payload_check(cmos_read(0x0d) == 0x80, "cmos status d: valid", cmos_read(0x0d));
    payload_check(bcd_ok(sec, 59), "cmos seconds bcd", sec);
    payload_check(bcd_ok(min, 59), "cmos minutes bcd", min);
    payload_check(bcd_ok(hour, 23), "cmos hours bcd", hour);
    payload_check(bcd_ok(mon, 12) && mon != 0, "cmos month bcd", mon);
    payload_check(cent == 0x20, "cmos century", cent);
    cmos_write(0x0b, 0x06); /* binary, 24h */
    sec = cmos_read(0x00);
    payload_check(sec <= 59, "cmos binary seconds", sec);
    payload_check(cmos_read(0x32) == 20, "cmos binary century", cmos_read(0x32));
    cmos_write(0x0b, 0x02);
    cmos_write(0x50, 0xa5);
    payload_check(cmos_read(0x50) == 0xa5, "cmos nvram", cmos_read(0x50));
    outb(0x70, 0x80 | 0x50); /* NMI-disable bit is not part of the index */
    payload_check(inb(0x71) == 0xa5, "cmos index masks nmi bit", 0);
}

static void check_uart(void)
{
    uint8_t lsr = inb(COM1 + 5), msr, data;

    outb(COM1 + 7, 0xa5);
    payload_check(inb(COM1 + 7) == 0xa5, "uart scratch", inb(COM1 + 7));
    payload_check((lsr & 0x60) == 0x60, "uart lsr thre+temt", lsr);
    outb(COM1 + 1, 0x0f);
    payload_check(inb(COM1 + 1) == 0x0f, "uart ier", inb(COM1 + 1));
    outb(COM1 + 1, 0x00);
    payload_check((inb(COM1 + 2) & 0xc0) == 0xc0, "uart fifo enabled", inb(COM1 + 2));
    /* Loopback, as Linux's autoconfig checks it: OUT2|RTS give DCD|CTS. Output would loop
     * back too, so results are printed after leaving loopback. */
    outb(COM1 + 4, 0x10 | 0x0a);
    msr = inb(COM1 + 6) & 0xf0;
    outb(COM1, 0x5a);
    lsr = inb(COM1 + 5);
    data = inb(COM1);
    outb(COM1 + 4, 0x0b);
    payload_check(msr == 0x90, "uart loopback msr", msr);
    payload_check((lsr & 0x01) && data == 0x5a, "uart loopback data", data);
    payload_check(!(inb(COM1 + 5) & 0x01), "uart rx empty", inb(COM1 + 5));
}

void payload_main(uint32_t start_info)
{
    (void)start_info;
    serial_init();
    check_ports();
    check_mmio();
    check_cmos();
    check_uart();
    payload_finish("dispatch");
}
