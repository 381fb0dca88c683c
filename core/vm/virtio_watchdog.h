#ifndef CELLVM_CORE_VM_VIRTIO_WATCHDOG_H
#define CELLVM_CORE_VM_VIRTIO_WATCHDOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The virtio-watchdog device model as Cloud Hypervisor has it (virtio device id 35, one queue,
 * no config, no feature besides VERSION_1), without transport or clock: times are milliseconds
 * of a monotonic clock the caller reads.
 *
 * The driver pings by making a chain available whose first descriptor is writable; the device
 * writes 1 into its first byte and returns it. The first ping arms a periodic check every
 * WDT_INTERVAL_MS; a check that finds more than WDT_TIMEOUT_S whole seconds since the last ping
 * fires (the VM is reset). So a guest that stops pinging is reset between 21 and 36 seconds
 * later, as with Cloud Hypervisor. A pause stops the checks; a resume restarts them as if the
 * guest had just pinged.
 */

#define WDT_VIRTIO_ID   35
#define WDT_QUEUE_SIZE  8 /* as Cloud Hypervisor */
#define WDT_INTERVAL_MS 15000
#define WDT_TIMEOUT_S   20 /* Cloud Hypervisor: the interval plus 5 seconds */
#define WDT_RESP_SIZE   1

struct wdt {
    bool armed;           /* a ping came since power-on or the last reset */
    bool paused;          /* the VM is paused: no check runs */
    int64_t last_ping_ms; /* when armed */
    int64_t next_check_ms;
    int64_t paused_ms; /* when paused: the pause's time */
};

/* Power-on: disarmed, not paused. */
void wdt_reset(struct wdt *w);

/* One ping at now; true when it was the first (the checks start). */
bool wdt_ping(struct wdt *w, int64_t now);

/*
 * Runs the check due at now, if any. Returns the milliseconds until the next one, or -1 when
 * none is scheduled (disarmed or paused); *fire is set when the guest missed its deadline, and
 * the watchdog is then disarmed (the reset that follows arms nothing). *gap_s: whole seconds
 * since the last ping, when it fired.
 */
int64_t wdt_tick(struct wdt *w, int64_t now, bool *fire, int64_t *gap_s);

void wdt_pause(struct wdt *w, int64_t now);
/* Checks restart WDT_INTERVAL_MS after now, the time off not counted against the guest. */
void wdt_resume(struct wdt *w, int64_t now);

/*
 * A paused watchdog for a snapshot (issue 18): whether it is armed, and when armed the
 * milliseconds from the last ping to the pause and from the pause to the check that was due
 * (0 when overdue), each at most max_ms. wdt_load puts that back into a paused watchdog at now;
 * its resume then restarts the checks as after any pause (a full period from the resume, as
 * Cloud Hypervisor does), so the time a snapshot sits on disk is never counted against the guest.
 */
void wdt_save(const struct wdt *w, uint32_t max_ms, bool *armed, uint32_t *since_ping_ms,
              uint32_t *to_check_ms);
void wdt_load(struct wdt *w, int64_t now, bool armed, uint32_t since_ping_ms, uint32_t to_check_ms);

/* The answer to one ping: its response bytes (WDT_RESP_SIZE). */
size_t wdt_answer(uint8_t *out);

#endif
