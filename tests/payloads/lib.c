#include "lib.h"

#include "core/platform.h"

#define UART_THR      0
#define UART_LSR      5
#define UART_LSR_THRE 0x20
#define UART_SPIN_MAX 100000

void serial_putc(char c)
{
    /* Bounded: a missing UART reads all-ones, a stuck one must not hang the payload. */
    for (int i = 0; i < UART_SPIN_MAX; i++) {
        if (inb(PORT_SERIAL_COM1 + UART_LSR) & UART_LSR_THRE)
            break;
    }
    outb(PORT_SERIAL_COM1 + UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            serial_putc('\r');
        serial_putc(*s);
    }
}

void serial_puthex(uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[19];
    int i = 18;

    buf[i] = '\0';
    do {
        buf[--i] = digits[v & 0xf];
        v >>= 4;
    } while (v && i > 2);
    buf[--i] = 'x';
    buf[--i] = '0';
    serial_puts(buf + i);
}

uint8_t cmos_read(uint8_t reg)
{
    outb(PORT_CMOS_INDEX, reg & 0x7f);
    return inb(PORT_CMOS_DATA);
}

void payload_halt(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

void payload_poweroff(int failed)
{
    outb(PORT_ACPI_SLEEP_CONTROL, (ACPI_S5_SLP_TYP << 2) | (1 << 5));
    /* Still running: not cellvm. QEMU with isa-debug-exit exits with (code << 1) | 1. */
    outb(PAYLOAD_DEBUG_EXIT_PORT, failed ? 1 : 0);
    payload_halt();
}

void payload_pass(const char *name)
{
    serial_puts(PAYLOAD_MARK "PASS ");
    serial_puts(name);
    serial_puts("\n");
    payload_poweroff(0);
}

void payload_fail(const char *name, const char *why)
{
    serial_puts(PAYLOAD_MARK "FAIL ");
    serial_puts(name);
    serial_puts(": ");
    serial_puts(why);
    serial_puts("\n");
    payload_poweroff(1);
}

void *memset(void *s, int c, size_t n)
{
    volatile uint8_t *p = s;

    while (n--)
        *p++ = (uint8_t)c;
    return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile uint8_t *dp = d;
    const uint8_t *sp = s;

    while (n--)
        *dp++ = *sp++;
    return d;
}
