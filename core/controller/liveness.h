#ifndef CELLVM_CORE_CONTROLLER_LIVENESS_H
#define CELLVM_CORE_CONTROLLER_LIVENESS_H

/*
 * A device process that hangs instead of crashing (a deadlock, an endless loop, SIGSTOP) is
 * replaced like one that died (issue 19). Every LIVENESS_PERIOD_MS the controller sends each
 * ready device process it started a StatsRequest (devices_request with DEVICES_TAG_LIVENESS);
 * one that has not answered within LIVENESS_TIMEOUT_MS is killed, and respawn.c replaces it,
 * the log and the device-respawned event saying it stopped answering. That finds a process
 * that is stopped or whose main loop is stuck; the rings run on threads of their own (blockd's
 * queues, netd's pairs, vsockd's worker), so one stuck ring thread alone is not found this way
 * (a per-queue heartbeat in the DeviceStats answer would be). Cloud Hypervisor has no equivalent; the timeout is cellvm's choice (long
 * against a guest's own I/O timeouts, 30 s in Linux's virtio-blk, short enough that the guest
 * has not given up on its requests). Not probed: external backends (not ours to kill),
 * cellvm-vfiod (it answers its channel only between the core's requests, and pinning guest RAM
 * for DMA may keep it busy for long), rows being hot-removed. When the controller's own loop
 * was held up for longer than a period, no verdict is given that round.
 */

#include <stdint.h>

#include "core/controller/devices.h"

#define LIVENESS_PERIOD_MS  2000u
#define LIVENESS_TIMEOUT_MS 10000u

/* Starts probing d's rows from sv's loop (idempotent). 0 or -ENOMEM. */
int liveness_start(struct devices *d, struct supervisor *sv);
void liveness_stop(struct devices *d);

/* dv answered its liveness probe (devices.c, on the DeviceStats with DEVICES_TAG_LIVENESS). */
void liveness_answered(struct device *dv);

#endif
