#ifndef CELLVM_CORE_VM_SERIAL_HOST_H
#define CELLVM_CORE_VM_SERIAL_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/vm/log.h"
#include "core/vm/serial.h"

/*
 * COM1 wired to the host: output bytes go to out_fd, input is read from in_fd by a thread that
 * waits while the UART's FIFO is full (so input is held back, never dropped), and the interrupt
 * output drives IRQ_SERIAL_COM1 through KVM_IRQ_LINE.
 */

#define SERIAL_HOST_OBUF 256

struct serial_host {
    struct serial uart;
    /* Line-buffered output (serial_host_set_buffered), under uart.lock: one write per line
     * instead of one per byte. */
    bool buffered;
    uint16_t olen;
    uint8_t obuf[SERIAL_HOST_OBUF];
    int vm_fd;   /* borrowed */
    int in_fd;   /* borrowed; -1: no input */
    int out_fd;  /* borrowed; -1: output dropped */
    int stop_fd; /* eventfd that ends the reader's poll, owned */
    bool stop;   /* under uart.lock */
    bool reader_running;
    pthread_t reader;
    const struct log *log;
};

int serial_host_init(struct serial_host *sh, int vm_fd, int in_fd, int out_fd,
                     const struct log *log);
void serial_host_destroy(struct serial_host *sh);
int serial_host_start_input(struct serial_host *sh);
void serial_host_stop_input(struct serial_host *sh);

/* Output held back until a newline, a full buffer or serial_host_flush, for an owner that
 * flushes every few milliseconds while the guest writes (the VM thread's ticks with coalesced
 * writes, pio_coal.h) and whenever the vCPUs stop. Off: every byte is written at once. */
void serial_host_set_buffered(struct serial_host *sh, bool on);
/* Writes out what the buffer holds. Any thread. */
void serial_host_flush(struct serial_host *sh);
/* serial_host_flush for pio_coal_on_tick: arg is the serial_host. */
void serial_host_tick(void *arg);

#endif
