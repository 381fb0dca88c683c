/* Helpers for tests that drive a standalone cellvm-blockd through the ipc/ frontend library:
 * scratch directories, starting the daemon (and seeing why it refused to start), a frontend
 * with several rings, and requests, synchronous or kept in flight. */
#ifndef CELLVM_TEST_BLOCKD_FE_UTIL_H
#define CELLVM_TEST_BLOCKD_FE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

#define FE_MAX_Q 2
#define FE_RING  64
#define FE_BUF   65536 /* data bytes per request slot */
#define FE_SLOTS 16    /* request slots per ring */

struct fe_slot {
    uint64_t hdr, data, status; /* gpas */
    uint16_t head;
    bool busy;
    /* What the test put in flight, for its own bookkeeping. */
    uint32_t type;
    uint64_t sector;
    uint32_t len;
    uint64_t cookie;
};

struct fe_daemon {
    pid_t pid;
    char dir[64], sock[128], ctl[128], log[128];
    struct vu_frontend fe;
    struct vu_gmem mem;
    struct vu_gring ring[FE_MAX_Q];
    struct fe_slot slot[FE_MAX_Q][FE_SLOTS];
    unsigned nq;
    bool connected;
    int config_changes;
};

/* CLOCK_MONOTONIC in seconds. */
double fe_now(void);
/* Runs a shell command built from fmt with stdout and stderr dropped; its exit status or -1. */
int fe_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool fe_have(const char *prog);

/* A fresh scratch dir in d->dir (pid -1, nothing running). */
void fe_init(struct fe_daemon *d);
/* Stops everything and removes the scratch dir. */
void fe_fini(struct fe_daemon *d);

/*
 * Starts cellvm-blockd --disk spec (and --control-socket d->ctl if ctl). 0 once its socket
 * exists; if it exits first, returns its exit status (> 0) with its stderr in d->log. Skips the
 * test when CELLVM_BLOCKD is unset.
 */
int fe_start(struct fe_daemon *d, const char *spec, bool ctl);
/* As fe_start for a spec that must be refused: the daemon's exit status (> 0), or 0 if it
 * was still running after 10 s. */
int fe_start_refused(struct fe_daemon *d, const char *spec);
/* True if d->log contains s. */
bool fe_log_has(const struct fe_daemon *d, const char *s);

/* Connects, negotiates VERSION_1 (+ MQ when nq > 1), BACKEND_REQ and CONFIG; starts nq rings. */
void fe_connect(struct fe_daemon *d, unsigned nq);

/* Starts a request on ring q in slot s: header, len data bytes (device-writable if `in`), the
 * status byte; DISCARD/WRITE_ZEROES take their segment in the data buffer. Kicks. */
void fe_submit(struct fe_daemon *d, unsigned q, unsigned s, uint32_t type, uint64_t sector,
               uint32_t len, bool in);
/* Reaps completions on ring q; returns the slot of one, or -1 if none is ready. */
int fe_reap(struct fe_daemon *d, unsigned q);
/* Waits up to ms for any ring's call eventfd. */
void fe_wait(struct fe_daemon *d, int ms);
uint8_t fe_status(struct fe_daemon *d, unsigned q, unsigned s);
uint8_t *fe_data(struct fe_daemon *d, unsigned q, unsigned s);

/* One synchronous request on ring 0 slot 0; returns the status byte. */
uint8_t fe_req(struct fe_daemon *d, uint32_t type, uint64_t sector, uint32_t len, bool in);
/* A DISCARD or WRITE_ZEROES of num sectors at sector, synchronously. */
uint8_t fe_dwz(struct fe_daemon *d, uint32_t type, uint64_t sector, uint32_t num);

/* Handles whatever arrived on the BACKEND_REQ channel (CONFIG_CHANGE counts). */
void fe_poll_backend(struct fe_daemon *d, int ms);

#endif
