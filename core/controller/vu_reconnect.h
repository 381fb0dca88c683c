#ifndef CELLVM_CORE_CONTROLLER_VU_RECONNECT_H
#define CELLVM_CORE_CONTROLLER_VU_RECONNECT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * External vhost-user backends (vhost_user=on,socket=PATH) that go away while the VM runs
 * (issue 19), reconnected the way QEMU's chardev reconnect= does it. The core sees the hang-up,
 * keeps the device waiting (the guest sees slow requests) and tells the controller (DeviceLost,
 * event device-disconnected). The controller connects to PATH again with non-blocking attempts
 * on a timer, VU_RECONNECT_FIRST_MS after the loss, each delay doubled up to
 * VU_RECONNECT_MAX_MS; the first connection goes to the core as AttachDevice with reconnect,
 * and the core reconnects it as it does a respawned device process (same features, memory
 * table, inflight region, each ring from where it was) and answers DeviceReconnected (event
 * device-reconnected). A backend that is not back within VU_RECONNECT_TIMEOUT_S, or comes back
 * without the features the guest negotiated, stops the VM with the device's name and why.
 *
 * The timeout is cellvm's choice: Cloud Hypervisor has no reconnection, and QEMU's reconnect=
 * is only a retry period, with no end. 30 s bounds how long a guest's device stalls (Linux's
 * virtio-blk request timeout is 30 s too). Not configurable.
 */

#define VU_RECONNECT_FIRST_MS  100
#define VU_RECONNECT_MAX_MS    1000
#define VU_RECONNECT_TIMEOUT_S 30

struct device;
struct devices;
struct event;

struct vu_reconnect {
    char path[108];      /* the backend's socket; "" for a device process of this VM */
    struct devices *d;   /* set while attempts run; borrowed */
    struct event *timer; /* owned, or NULL */
    uint64_t lost_ms;    /* CLOCK_MONOTONIC of the loss */
    unsigned delay_ms;   /* before the next attempt */
    unsigned attempts;   /* since the loss */
    int last_err;        /* the last attempt's -errno */
    bool waiting;        /* lost; attempts run */
    char why[160];       /* how it went away, from the core */
};

/* The delay after one of delay_ms: doubled, at most VU_RECONNECT_MAX_MS. */
static inline unsigned vu_reconnect_next_delay(unsigned delay_ms)
{
    return delay_ms >= VU_RECONNECT_MAX_MS / 2 ? VU_RECONNECT_MAX_MS : delay_ms * 2;
}

void vu_reconnect_init(struct vu_reconnect *vr);
void vu_reconnect_close(struct vu_reconnect *vr);

/* The core's DeviceLost: starts the attempts for external device id. */
void vu_reconnect_on_lost(struct devices *d, const char *id, const char *why);

/* The core's DeviceReconnected for external device dv (errnum 0 or a positive errno). */
void vu_reconnect_on_reconnected(struct devices *d, struct device *dv, int errnum);

#endif
