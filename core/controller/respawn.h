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
 * cellvm-vfiod: the core's BAR mappings hold the dead vfiod's device file and so its group, so
 * the core is told VfioDetach first; once it answers (DeviceReconnected), the group and container
 * are reopened (vfio_host_reopen) and the replacement starts as at boot. The core resets the
 * device on reconnection; a device without reset stops the VM (its state is lost). Opt-in for
 * now (CELLVM_VFIO_RESPAWN set in the controller's environment; without it a dead vfiod stops
 * the VM): on the nested bench the guest's NVMe gets no interrupt after the replacement (its
 * commands complete only when the driver's timeout polls them).
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
