#ifndef CELLVM_CORE_VM_VRING_REQ_H
#define CELLVM_CORE_VM_VRING_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"

/*
 * A split ring the core serves itself whose chains are one request and one response: the
 * readable descriptors hold the request (the first VRING_REQ_MAX bytes are kept), the first
 * writable descriptor takes the response. The virtio-mem queue is one (virtio_mem.h).
 */

#define VRING_REQ_MAX  64 /* request bytes kept for the callback */
#define VRING_RESP_MAX 64

struct vring_req_ring {
    uint64_t desc, avail, used; /* guest-physical */
    uint16_t size;              /* a power of two, at most 32768 */
    uint16_t last_avail;        /* next avail entry to take */
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated: publish avail_event */
};

/* Answers one request (len bytes in `in`) into out; returns the response length (at most
 * VRING_RESP_MAX). */
typedef size_t (*vring_req_fn)(void *arg, const uint8_t *in, size_t len,
                               uint8_t out[VRING_RESP_MAX]);

/*
 * Completes the chains the driver made available, at most `budget` of them. Returns how many,
 * or -EFAULT when the ring or a descriptor lies outside RAM, a chain is malformed or its
 * writable part is too small for the response (the device then needs a reset; the chains
 * before it are completed).
 */
int vring_req_process(const struct guest_mem *m, struct vring_req_ring *r, unsigned budget,
                      vring_req_fn fn, void *arg);

/* The driver made chains available that vring_req_process has not taken yet. */
bool vring_req_pending(const struct guest_mem *m, const struct vring_req_ring *r);

#endif
