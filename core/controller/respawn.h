#ifndef CELLVM_CORE_CONTROLLER_RESPAWN_H
#define CELLVM_CORE_CONTROLLER_RESPAWN_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Device processes that die while the VM runs are replaced (issue 19). The controller kept the
 * device's data fds (image, TAPs, vsock listener), so the replacement starts jailed exactly as
 * the first one did; once it is Ready the core gets a new vhost-user connection to it
 * (AttachDevice with reconnect) and answers DeviceReconnected. A replacement that dies or fails
 * that handshake counts like any other death.
 *
 * Budget, as systemd's defaults StartLimitBurst=5 in StartLimitIntervalSec=10: a device
 * restarted RESPAWN_BURST times within RESPAWN_INTERVAL_S seconds is not restarted again; the
 * VM stops with the device's name and its last exit reason. Cloud Hypervisor has no respawn.
 *
 * cellvm-vfiod: the controller keeps the container, group and device fds (vfio_host.h), so the
 * function keeps its state (no disable, no reset: the kernel does those when the last device fd
 * closes) and the container its DMA mappings and interrupt triggers while no vfiod runs. The core
 * is told VfioDetach first (it stops the vCPUs and unmaps the BARs it had from the dead vfiod);
 * once it answers (DeviceReconnected) the replacement starts with the same fds, and the core
 * reconnects it without resetting the device: DMA_MAP of ranges the container still has is
 * taken as done, the interrupts stay as they were, the BARs are mapped again, the vCPUs go on.
 */

#define RESPAWN_BURST      5
#define RESPAWN_INTERVAL_S 10

struct device;
struct devices;

struct respawn {
    uint64_t when_ms[RESPAWN_BURST]; /* CLOCK_MONOTONIC of the last restarts, a ring */
    unsigned count;                  /* restarts so far */
    int core_sock;     /* frontend end for the replacement, until it is Ready; owned, or -1 */
    bool reconnecting; /* the core has that connection and has not answered yet */
    bool detaching;    /* VFIO: the core was told VfioDetach and has not answered yet */
    char failure[160]; /* why the controller killed the last replacement, "" if it did not */
};

/* Whether one more restart at now_ms (CLOCK_MONOTONIC) fits: fewer than RESPAWN_BURST within
 * the RESPAWN_INTERVAL_S before it. Records it when it does. */
bool respawn_budget_take(struct respawn *rs, uint64_t now_ms);

void respawn_init(struct respawn *rs);
void respawn_close(struct respawn *rs);

/* dv's process exited with wait status st while the VM runs: start a replacement, or stop the
 * VM when the budget is spent or the start fails. */
void respawn_on_exit(struct devices *d, struct device *dv, int st);

/* dv's replacement is Ready: hand the core its connection. */
void respawn_on_ready(struct devices *d, struct device *dv);

/* The core's DeviceReconnected for device id. */
void respawn_on_reconnected(struct devices *d, const char *id, int errnum);

#endif
