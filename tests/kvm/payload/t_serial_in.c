/*
 * Serial input: the runner feeds a line longer than the UART FIFO (the host reader must hold
 * back, not drop), and the receive interrupt must reach the local APIC through the IOAPIC
 * (checked in the IRR with interrupts off, so no IDT is needed).
 */
#include "lib.h"

#define COM1          0x3f8
#define IOAPIC        0xfec00000ull
#define LAPIC         0xfee00000ull
#define APIC_SVR      0xf0
#define APIC_IRR      0x200
#define SERIAL_VECTOR 0x34
#define SERIAL_PIN    4

static void ioapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC = reg;
    *(volatile uint32_t *)(uintptr_t)(IOAPIC + 0x10) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(LAPIC + reg);
}

static bool vector_pending(uint32_t vec)
{
    return lapic_read(APIC_IRR + (vec / 32) * 0x10) & (1u << (vec % 32));
}

static int getc_serial(void)
{
    unsigned long spins;

    for (spins = 0; spins < 100000000ul; spins++) {
        if (inb(COM1 + 5) & 1)
            return inb(COM1);
        __asm__ volatile("pause");
    }
    return -1;
}

void payload_main(uint64_t start_info)
{
    char first[5] = { 0 };
    unsigned int n = 0, xs = 0;
    unsigned long spins;
    int c;

    (void)start_info;
    /* No serial_init(): its FIFO reset would drop input the host already queued. */
    *(volatile uint32_t *)(uintptr_t)(LAPIC + APIC_SVR) = 0x1ff;
    ioapic_write(0x10 + 2 * SERIAL_PIN + 1, 0);         /* destination APIC 0 */
    ioapic_write(0x10 + 2 * SERIAL_PIN, SERIAL_VECTOR); /* fixed, edge, unmasked */
    outb(COM1 + 4, 0x0b);                               /* OUT2: IRQ enabled */
    outb(COM1 + 1, 0x01);                               /* receive interrupt */
    for (spins = 0; spins < 100000000ul && !(inb(COM1 + 5) & 1); spins++)
        __asm__ volatile("pause");
    check(inb(COM1 + 5) & 1, "input arrived", inb(COM1 + 5));
    check(vector_pending(SERIAL_VECTOR), "receive interrupt reached the lapic", 0);
    outb(COM1 + 1, 0x00);
    while ((c = getc_serial()) >= 0 && c != '\n') {
        if (n < 4)
            first[n] = (char)c;
        else if (c == 'x')
            xs++;
        n++;
    }
    check(c == '\n', "line complete", (uint64_t)c);
    print("got: ");
    print(first);
    print("\n");
    check(xs == 150, "150 bytes after the first four, none dropped", xs);
    finish();
}
