/*
 * Coalesced writes to the serial port's data register (KVM_CAP_COALESCED_PIO).
 *
 * A guest prints a character with two port accesses: it reads the line status (LSR) and then
 * writes the character (THR). Each was an exit to the core, and on a host whose exits are
 * expensive (kvm_pvm: 12-13 us each) a line of text cost more than starting the VM. KVM can
 * keep writes to one port in a ring page shared with the core instead of exiting; the core
 * then plays them to the port's device, in order, before it handles any other exit of any
 * vCPU, so every read (LSR, IIR) and every other register write sees the UART as if each write
 * had exited. Only THR's port is coalesced: reads always exit.
 *
 * A write is played late when no exit follows it; guests read LSR or IIR before and after
 * their writes (Linux's console and its interrupt path do), which exit. For a guest that goes
 * quiet right after a write, the VM thread plays the ring every PIO_COAL_TICK_MS while the
 * port was used in the last PIO_COAL_IDLE_MS, and does not wake at all once it was not.
 */
#ifndef CELLVM_CORE_VM_PIO_COAL_H
#define CELLVM_CORE_VM_PIO_COAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/vm/bus.h"
#include "core/vm/vmev.h"

#define PIO_COAL_TICK_MS 5
#define PIO_COAL_IDLE_MS 200

struct pio_coal {
    struct kvm_coalesced_mmio_ring *ring; /* in vCPU 0's kvm_run mapping; NULL: not in use */
    uint32_t max;                         /* ring entries */
    uint16_t port, watch_lo, watch_hi;    /* the coalesced port, the device's ports */
    const struct bus *pio;                /* borrowed */
    pthread_mutex_t lock;                 /* one player at a time */
    struct vmev *ev;                      /* the VM thread's events: a plain post wakes it */
    atomic_uint activity;                 /* bumped by every use of the device's ports */
    atomic_bool watching;                 /* the VM thread plays the ring on its ticks */
    unsigned int seen, idle;              /* the VM thread's own */
    void (*on_tick)(void *arg);           /* after each tick's play (optional) */
    void *on_tick_arg;
};

/* Not in use (ring NULL): every call below is then a no-op, and pio_coal_wait is vmev_wait.
 * ev: the VM thread's events (borrowed). */
void pio_coal_init(struct pio_coal *pc, struct vmev *ev);
/* In use over the ring page of a vCPU mapping of run_size bytes, for writes to `port`, whose
 * device answers on [watch_lo, watch_hi). 0 or -errno (then still not in use). */
int pio_coal_start(struct pio_coal *pc, void *run, size_t run_size, uint16_t port,
                   uint16_t watch_lo, uint16_t watch_hi, const struct bus *pio);
void pio_coal_destroy(struct pio_coal *pc);
/* fn(arg) runs on the VM thread after every tick (the device's buffered output goes out). */
void pio_coal_on_tick(struct pio_coal *pc, void (*fn)(void *arg), void *arg);

/* A vCPU thread, each time KVM_RUN returns: plays what the ring holds, notes a use of the
 * device's ports. pc may be NULL. */
void pio_coal_exit(struct pio_coal *pc, const struct kvm_run *run);
/* Plays what the ring holds; returns how many writes. */
uint32_t pio_coal_play(struct pio_coal *pc);
/* The VM thread's wait for VM events (vmev_wait(ev, -1)), playing the ring meanwhile. */
unsigned int pio_coal_wait(struct pio_coal *pc);

#endif
