#ifndef CELLVM_CORE_VM_SERIAL_H
#define CELLVM_CORE_VM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vm/bus.h"

/*
 * A 16550A-compatible UART register model, as Linux's 8250 driver probes and drives it:
 * transmit completes at once (THR and the transmitter are always empty), received bytes wait in
 * a bounded FIFO, loopback mode routes MCR to MSR and THR to the FIFO. The interrupt output is
 * a level (high while IIR reports a pending cause); the owner turns changes into KVM_IRQ_LINE.
 */

#define SERIAL_RX_FIFO  64
#define SERIAL_NR_PORTS 8

struct serial_io {
    void (*set_irq)(void *opaque, int level);
    void (*tx)(void *opaque, uint8_t byte);
    void *opaque;
};

struct serial {
    pthread_mutex_t lock;
    pthread_cond_t rx_space; /* signalled when the guest drains the FIFO */
    struct serial_io io;

    uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
    uint8_t lsr_err;   /* overrun, cleared by reading LSR */
    uint8_t msr_delta; /* delta bits, cleared by reading MSR */
    bool thr_ipending; /* THR-empty interrupt latched, cleared by IIR read or THR write */
    int irq_level;

    uint8_t rx[SERIAL_RX_FIFO];
    unsigned int rx_head, rx_count;
};

int serial_init(struct serial *s, const struct serial_io *io);
void serial_destroy(struct serial *s);
/* Back to power-on register state; drops buffered input and lowers the interrupt. */
void serial_reset(struct serial *s);
/* Registers loaded from a snapshot (issue 18): drives the interrupt line to match them. */
void serial_sync_irq(struct serial *s);

uint8_t serial_read(struct serial *s, uint8_t off);
void serial_write(struct serial *s, uint8_t off, uint8_t val);

/* Queues host input; returns how many bytes fit (0 when the FIFO is full). */
size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t n);
/*
 * Waits until the FIFO has room or *stop becomes true (set it under s->lock via serial_wake).
 * Returns the free space (0 when stopping).
 */
size_t serial_rx_wait_space(struct serial *s, const bool *stop);
void serial_wake(struct serial *s, bool *stop);

extern const struct bus_ops serial_bus_ops;

#endif
