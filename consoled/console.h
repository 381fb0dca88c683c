#ifndef CELLVM_CONSOLED_CONSOLE_H
#define CELLVM_CONSOLED_CONSOLE_H

/*
 * The virtio-console device model (virtio id 3), one port, no MULTIPORT: receiveq (queue 0,
 * host to guest) and transmitq (queue 1, guest to host). The host side is two fds handed in
 * (consoled never opens a path once jailed): out_fd takes what the guest writes, in_fd (or -1)
 * gives what the guest reads.
 *
 * Everything runs on the device process's control loop, so no call may block:
 *   - transmitq: every chain the guest offers is consumed at once (Linux's hvc put_chars spins
 *     on the used ring, so holding a chain would hold a guest vCPU). Its bytes go into a bounded
 *     buffer of CON_OUT_BUF bytes that con_flush() writes to out_fd; what does not fit while
 *     the host side is not taking bytes (a full pty nobody reads, a stopped terminal) is DROPPED
 *     and counted (st.dropped), never waited for.
 *   - receiveq: one read() of in_fd per readiness, into one guest buffer. No guest buffer: the
 *     caller stops watching in_fd until the guest adds one (the host side waits, the ring never).
 * Chains are bounded by the virtq code (segments, bytes); per pass at most CON_MAX_PASS_REQS
 * chains and CON_MAX_RX_BYTES per receive buffer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device-procs/virtq.h"

#define CON_OUT_BUF        (64u * 1024)
#define CON_MAX_PASS_REQS  64u
#define CON_MAX_RX_BYTES   4096u
#define CON_LOG_INTERVAL_S 10

#define CON_RXQ            0
#define CON_TXQ            1

struct con_stats {
    uint64_t tx_chains;  /* transmitq chains consumed */
    uint64_t tx_bytes;   /* guest bytes taken into the buffer */
    uint64_t written;    /* bytes written to out_fd */
    uint64_t dropped;    /* guest bytes dropped: buffer full or out_fd failing */
    uint64_t out_errors; /* writes to out_fd that failed (not EAGAIN) */
    uint64_t rx_chains;  /* receiveq buffers filled */
    uint64_t rx_bytes;   /* host bytes given to the guest */
};

struct con_dev {
    int out_fd;              /* borrowed from consoled/main.c; -1: output discarded */
    int in_fd;               /* borrowed likewise; -1: no input */
    struct virtq *rxq, *txq; /* while started, else NULL */
    struct virtq_elem *elem; /* scratch for one chain; owned (con_init) */
    uint8_t *buf;            /* CON_OUT_BUF bytes, a ring; owned */
    size_t head, len;        /* first unwritten byte, bytes waiting */
    bool in_eof;             /* in_fd ended or failed: never read again */
    struct con_stats st;
    int64_t log_next_s;
};

enum con_pass {
    CON_PASS_IDLE,      /* nothing more to do until the next event */
    CON_PASS_MORE,      /* the pass budget ran out with work left: come back after the loop */
    CON_PASS_NO_BUF,    /* receiveq: no guest buffer; stop watching in_fd until a kick */
    CON_PASS_INPUT_END, /* receiveq: in_fd ended or failed; stop watching it for good */
    CON_PASS_BROKEN,    /* the ring is broken (vq->broken): stop touching it */
};

/* 0 or -ENOMEM; out_fd and in_fd start at -1. */
int con_init(struct con_dev *c);
void con_destroy(struct con_dev *c);

/* Consumes transmitq chains into the buffer (bounded pass) and notifies the driver. */
enum con_pass con_tx_pass(struct con_dev *c);

/* Writes what is buffered to out_fd: 0 all written (or dropped after an error), -EAGAIN the fd
 * takes no more now (wait until it is writable). */
int con_flush(struct con_dev *c);

/* One read of in_fd into one receiveq buffer, if the guest offered one. */
enum con_pass con_rx_once(struct con_dev *c);

/* Appends at most len bytes to the buffer; returns the bytes taken (the rest is dropped). */
size_t con_buffer(struct con_dev *c, const uint8_t *p, size_t len);

#endif
