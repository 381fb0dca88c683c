/*
 * Serial input: the runner feeds a line longer than the UART FIFO (the host reader must hold
 * back, not drop), and the receive interrupt must reach the local APIC through the IOAPIC
 * (checked in the IRR with interrupts off, so no IDT is needed). Nothing is printed before the
 * input arrives, so a client of `--serial socket=` that connects late misses nothing.
 */
#include "lib.h"

#include "core/platform.h"

#define COM1          PORT_SERIAL_COM1
#define UART_RBR      0
#define UART_IER      1
#define UART_MCR      4
#define UART_LSR      5
#define UART_IER_RX   0x01
#define UART_MCR_OUT2 0x0b /* DTR, RTS, OUT2: the IRQ line is driven */
#define UART_LSR_DR   0x01
#define SERIAL_VECTOR 0x34
#define SPIN_MAX      100000000ul

static int getc_serial(void)
{
    for (unsigned long spins = 0; spins < SPIN_MAX; spins++) {
        if (inb(COM1 + UART_LSR) & UART_LSR_DR)
            return inb(COM1 + UART_RBR);
        cpu_relax();
    }
    return -1;
}

void payload_main(uint32_t start_info)
{
    char first[5] = { 0 };
    unsigned int n = 0, xs = 0;
    unsigned long spins;
    int c;

    (void)start_info;
    /* No serial_init(): its FIFO reset would drop input the host already queued. */
    lapic_enable();
    ioapic_route(IRQ_SERIAL_COM1, SERIAL_VECTOR);
    outb(COM1 + UART_MCR, UART_MCR_OUT2);
    outb(COM1 + UART_IER, UART_IER_RX);
    for (spins = 0; spins < SPIN_MAX && !(inb(COM1 + UART_LSR) & UART_LSR_DR); spins++)
        cpu_relax();
    payload_check(inb(COM1 + UART_LSR) & UART_LSR_DR, "input arrived", inb(COM1 + UART_LSR));
    payload_check(lapic_irr_pending(SERIAL_VECTOR), "receive interrupt reached the lapic", 0);
    outb(COM1 + UART_IER, 0x00);
    while ((c = getc_serial()) >= 0 && c != '\n') {
        if (n < 4)
            first[n] = (char)c;
        else if (c == 'x')
            xs++;
        n++;
    }
    payload_check(c == '\n', "line complete", (uint64_t)c);
    payload_say("got: ", first);
    payload_check(xs == 150, "150 bytes after the first four, none dropped", xs);
    payload_finish("serial-in");
}
