#ifndef CELLVM_DEVICE_PROCS_VU_BACKEND_H
#define CELLVM_DEVICE_PROCS_VU_BACKEND_H

/*
 * The vhost-user backend state machine. It owns no event loop: whoever owns the socket calls
 * vu_backend_handle() when it is readable, and vu_backend_disconnect() when the connection
 * goes away (or handle returned an error). The device is driven through its devproc_ops.
 *
 * Ring states follow the spec's two axes: started (addresses, size and kick fd known; stopped by
 * GET_VRING_BASE) and enabled (SET_VRING_ENABLE, or every ring at once when SET_FEATURES comes
 * without VHOST_USER_F_PROTOCOL_FEATURES). The device runs a queue only while both hold; a
 * disabled but started ring is left untouched and keeps its state.
 *
 * Every device offers VIRTIO_F_ACCESS_PLATFORM (with BACKEND_REQ and REPLY_ACK): once acked,
 * ring and descriptor addresses are IOVAs translated through the table IOTLB_MSG UPDATE and
 * INVALIDATE fill (device-procs/iotlb.h), acked once in force for every queue thread. A queue
 * whose ring is not mapped does not start (logged) until an UPDATE maps it; a change touching a
 * running ring restarts it. The table survives RESET_DEVICE and goes with the connection.
 */

#include <stdint.h>

#include "device-procs/devproc.h"

struct vu_backend;

/* ops and dev must outlive the backend. Returns NULL on allocation failure. */
struct vu_backend *vu_backend_new(const struct devproc_ops *ops, void *dev);
void vu_backend_free(struct vu_backend *b);

/*
 * Receives and processes one message from the frontend on sock (a blocking stream socket).
 * Returns 0 when the connection may go on, or -errno when it must be dropped: -EPIPE for a
 * clean end of stream, anything else for a malformed message or a broken peer. Requests that
 * are well-formed but refused (a vring index beyond the queue count, a region that does not
 * fit) are answered with a failure where the protocol has a way to say so (REPLY_ACK, size-0
 * config) and otherwise end the connection.
 */
int vu_backend_handle(struct vu_backend *b, int sock);

/*
 * The frontend is gone: stop every queue, unmap guest memory, close every fd received, forget
 * negotiated features and reset the device, ready for the next frontend. Idempotent.
 */
void vu_backend_disconnect(struct vu_backend *b);

/* Sends CONFIG_CHANGE_MSG on the backend channel if BACKEND_REQ and CONFIG were negotiated. */
int vu_backend_config_changed(struct vu_backend *b);

/* True once every queue is stopped (the device is suspended). */
bool vu_backend_suspended(const struct vu_backend *b);

/*
 * A DEVICE_STATE transfer in progress: the pipe fd the owner's loop should watch (for writing
 * when *write, else reading), -1 when none. vu_backend_xfer_pump moves what the pipe allows
 * without blocking, bounded per call; when it or vu_backend_handle ends the transfer, the fd
 * is closed and vu_backend_xfer_fd returns -1 (or the next transfer's fd).
 */
int vu_backend_xfer_fd(const struct vu_backend *b, bool *write);
void vu_backend_xfer_pump(struct vu_backend *b);

/* Per-queue counters for stats; NULL for an index beyond max_queues. */
const struct virtq *vu_backend_queue(const struct vu_backend *b, uint16_t idx);

#endif
