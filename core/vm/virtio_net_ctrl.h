#ifndef CELLVM_CORE_VM_VIRTIO_NET_CTRL_H
#define CELLVM_CORE_VM_VIRTIO_NET_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"

/*
 * The virtio-net control queue, which the core serves itself (as QEMU does) while the data
 * queues go to the vhost-user backend: a split ring walked in guest memory, each chain's
 * command (class, command, data) handed to a callback whose ack byte is written back.
 */

#define VNET_CTRL_RX           0
#define VNET_CTRL_MAC          1
#define VNET_CTRL_VLAN         2
#define VNET_CTRL_ANNOUNCE     3
#define VNET_CTRL_MQ           4
#define VNET_CTRL_MQ_PAIRS_SET 0
#define VNET_CTRL_OK           0
#define VNET_CTRL_ERR          1

/* Data bytes of one command kept for the callback; longer commands are truncated. */
#define VNET_CTRL_DATA_MAX 64

struct vnet_ctrl_ring {
    uint64_t desc, avail, used; /* guest-physical */
    uint16_t size;              /* a power of two, at most 32768 */
    uint16_t last_avail;        /* next avail entry to take */
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated: publish avail_event */
};

/* Returns VNET_CTRL_OK or VNET_CTRL_ERR for one command; len is what the chain held (capped). */
typedef uint8_t (*vnet_ctrl_fn)(void *arg, uint8_t cls, uint8_t cmd, const uint8_t *data,
                                size_t len);

/*
 * Completes every chain the driver made available. Returns how many were completed, or
 * -EFAULT when the ring or a descriptor lies outside RAM or a chain is malformed (the device
 * then needs a reset; chains before it are completed).
 */
int vnet_ctrl_process(const struct guest_mem *m, struct vnet_ctrl_ring *r, vnet_ctrl_fn fn,
                      void *arg);

/* The driver made chains available that vnet_ctrl_process has not taken yet. */
bool vnet_ctrl_pending(const struct guest_mem *m, const struct vnet_ctrl_ring *r);

#endif
