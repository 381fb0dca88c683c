#include "lib.h"

#include "core/platform.h"

#define UART_THR      0
#define UART_IER      1
#define UART_FCR      2
#define UART_LCR      3
#define UART_LSR      5
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1  0x03
#define UART_FCR_ALL  0x07 /* enable, clear both FIFOs */
#define UART_LSR_THRE 0x20
#define UART_SPIN_MAX 100000
#define ACPI_SLP_EN   (1 << 5)
#define APIC_SVR      0xf0
#define APIC_SVR_ON   0x1ff /* enabled, spurious vector 0xff */
#define APIC_IRR      0x200
#define IOAPIC_WINDOW 0x10
#define IOAPIC_REDTBL 0x10

static unsigned int bad_checks;

void serial_init(void)
{
    outb(PORT_SERIAL_COM1 + UART_IER, 0x00);
    outb(PORT_SERIAL_COM1 + UART_LCR, UART_LCR_DLAB);
    outb(PORT_SERIAL_COM1 + 0, 0x01); /* divisor 1: 115200 */
    outb(PORT_SERIAL_COM1 + 1, 0x00);
    outb(PORT_SERIAL_COM1 + UART_LCR, UART_LCR_8N1);
    outb(PORT_SERIAL_COM1 + UART_FCR, UART_FCR_ALL);
}

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

void payload_say(const char *a, const char *b)
{
    serial_puts(PAYLOAD_MARK);
    serial_puts(a);
    serial_puts(b);
    serial_puts("\n");
}

uint8_t cmos_read(uint8_t reg)
{
    outb(PORT_CMOS_INDEX, reg & 0x7f);
    return inb(PORT_CMOS_DATA);
}

void cmos_write(uint8_t reg, uint8_t v)
{
    outb(PORT_CMOS_INDEX, reg & 0x7f);
    outb(PORT_CMOS_DATA, v);
}

void lapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(GPA_LAPIC + reg, v);
}

void lapic_enable(void)
{
    lapic_write(APIC_SVR, APIC_SVR_ON);
}

bool lapic_irr_pending(uint8_t vector)
{
    return mmio_read32(GPA_LAPIC + APIC_IRR + (vector / 32u) * 0x10) & (1u << (vector % 32u));
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(GPA_IOAPIC, reg);
    mmio_write32(GPA_IOAPIC + IOAPIC_WINDOW, v);
}

void ioapic_route(unsigned int pin, uint8_t vector)
{
    ioapic_write(IOAPIC_REDTBL + 2 * pin + 1, 0); /* destination APIC 0 */
    ioapic_write(IOAPIC_REDTBL + 2 * pin, vector);
}

bool payload_check(bool ok, const char *what, uint64_t got)
{
    serial_puts(PAYLOAD_MARK);
    serial_puts(ok ? "ok " : "BAD ");
    serial_puts(what);
    serial_puts(" = ");
    serial_puthex(got);
    serial_puts("\n");
    if (!ok)
        bad_checks++;
    return ok;
}

void payload_halt(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

void payload_poweroff(int failed)
{
    outb(PORT_ACPI_SLEEP_CONTROL, (ACPI_S5_SLP_TYP << 2) | ACPI_SLP_EN);
    /* Still running: not cellvm. QEMU with isa-debug-exit exits with (code << 1) | 1. */
    outb(PAYLOAD_DEBUG_EXIT_PORT, failed ? 1 : 0);
    payload_halt();
}

void payload_acpi_reset(void)
{
    outb(PORT_ACPI_RESET, ACPI_RESET_VALUE);
    payload_halt();
}

void payload_pass(const char *name)
{
    payload_say("PASS ", name);
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

void payload_finish(const char *name)
{
    if (bad_checks)
        payload_fail(name, "a check above is BAD");
    payload_pass(name);
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
