#include "lib.h"

/* Mirrors core/platform.h (payloads are freestanding and include nothing from the tree). */
#define COM1           0x3f8
#define PORT_SLEEP_CTL 0x600
#define PORT_RESET     0x602
#define SLP_TYP_S5     5
#define SLP_EN         0x20
#define CMOS_INDEX     0x70
#define CMOS_DATA      0x71

static unsigned int nfail;

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;

    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;

    while (n--)
        *p++ = *q++;
    return d;
}

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* DLAB */
    outb(COM1 + 0, 0x01); /* 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0x07); /* FIFO on, cleared */
}

static void putc_serial(char c)
{
    unsigned int spins = 100000;

    while (!(inb(COM1 + 5) & 0x20) && --spins)
        ;
    outb(COM1, (uint8_t)c);
}

void print(const char *s)
{
    while (*s)
        putc_serial(*s++);
}

void print_hex(uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[19];
    int i;

    buf[0] = '0';
    buf[1] = 'x';
    for (i = 0; i < 16; i++)
        buf[2 + i] = digits[(v >> (60 - 4 * i)) & 0xf];
    buf[18] = '\0';
    print(buf);
}

void check(bool cond, const char *name, uint64_t got)
{
    if (cond) {
        print("ok ");
        print(name);
        print("\n");
        return;
    }
    nfail++;
    print("FAIL ");
    print(name);
    print(" (got ");
    print_hex(got);
    print(")\n");
}

unsigned int failures(void)
{
    return nfail;
}

uint8_t cmos_read(uint8_t idx)
{
    outb(CMOS_INDEX, idx);
    return inb(CMOS_DATA);
}

void cmos_write(uint8_t idx, uint8_t v)
{
    outb(CMOS_INDEX, idx);
    outb(CMOS_DATA, v);
}

void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

void poweroff(void)
{
    outb(PORT_SLEEP_CTL, (SLP_TYP_S5 << 2) | SLP_EN);
    halt_forever();
}

void acpi_reset(void)
{
    outb(PORT_RESET, 0x01);
    halt_forever();
}

void finish(void)
{
    print(nfail ? "PAYLOAD FAILED\n" : "PAYLOAD OK\n");
    poweroff();
}
