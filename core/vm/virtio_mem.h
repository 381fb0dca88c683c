#ifndef CELLVM_CORE_VM_VIRTIO_MEM_H
#define CELLVM_CORE_VM_VIRTIO_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The virtio-mem device model (virtio 1.2, 5.15), without transport: its config, the state of
 * each block of its region (one bit, set when plugged) and the answer to each request of its
 * one queue. The region itself is guest memory the core mapped at boot; a plugged block is
 * usable at once, an unplugged one is given back to the host through discard().
 * Every request is checked against alignment, bounds and the blocks' current state; the work
 * per request is bounded by the region's blocks (one bitmap pass and one discard call).
 */

#define VMEM_VIRTIO_ID    24
#define VMEM_F_ACPI_PXM   0
#define VMEM_BLOCK_SIZE   (2ull << 20)   /* Cloud Hypervisor's default block size */
#define VMEM_REGION_ALIGN (128ull << 20) /* regions start and end on this (Cloud Hypervisor) */
#define VMEM_MAX_REGION   (1ull << 40)   /* as --memory hotplug_size */
#define VMEM_MAX_BLOCKS   (VMEM_MAX_REGION / VMEM_BLOCK_SIZE)
#define VMEM_CONFIG_SIZE  56
#define VMEM_REQ_SIZE     24
#define VMEM_RESP_SIZE    10

/* Request types and response codes (5.15.6). */
enum vmem_req_type {
    VMEM_REQ_PLUG = 0,
    VMEM_REQ_UNPLUG = 1,
    VMEM_REQ_UNPLUG_ALL = 2,
    VMEM_REQ_STATE = 3,
};
enum vmem_resp_type {
    VMEM_RESP_ACK = 0,
    VMEM_RESP_NACK = 1,
    VMEM_RESP_BUSY = 2,
    VMEM_RESP_ERROR = 3,
};
enum vmem_state {
    VMEM_STATE_PLUGGED = 0,
    VMEM_STATE_UNPLUGGED = 1,
    VMEM_STATE_MIXED = 2,
};

/* Gives [offset, offset + len) of the region back to the host; 0 or -errno. */
typedef int (*vmem_discard_fn)(void *arg, uint64_t offset, uint64_t len);

struct vmem {
    uint64_t addr, region_size; /* guest-physical; fixed */
    uint64_t usable_region_size, plugged_size, requested_size;
    uint16_t node_id;
    bool has_node;     /* VIRTIO_MEM_F_ACPI_PXM offered */
    uint64_t nblocks;  /* region_size / VMEM_BLOCK_SIZE */
    uint64_t *plugged; /* owned bitmap, nblocks bits */
    vmem_discard_fn discard;
    void *discard_arg;
};

/*
 * A device for the region [addr, addr + size) (both multiples of VMEM_REGION_ALIGN, size at
 * most VMEM_MAX_REGION), every block unplugged, requested_size `requested` (a multiple of
 * VMEM_BLOCK_SIZE, at most size). node < 0: no ACPI_PXM. 0, -EINVAL or -ENOMEM.
 */
int vmem_init(struct vmem *m, uint64_t addr, uint64_t size, uint64_t requested, int node,
              vmem_discard_fn discard, void *arg);
void vmem_destroy(struct vmem *m);

/* Feature bits the device offers besides VERSION_1. */
uint64_t vmem_features(const struct vmem *m);

/* The config block as the driver reads it (little endian, VMEM_CONFIG_SIZE bytes). */
void vmem_config(const struct vmem *m, uint8_t out[VMEM_CONFIG_SIZE]);

/*
 * A new requested_size (Cloud Hypervisor's checks): -EEXIST when it is the current one,
 * -EINVAL when above region_size or not a block multiple. The caller raises the config
 * interrupt.
 */
int vmem_set_requested(struct vmem *m, uint64_t size);

/*
 * One request (in: what the driver's readable descriptors held, len bytes) answered in out
 * (VMEM_RESP_SIZE bytes). A request shorter than VMEM_REQ_SIZE or of an unknown type is
 * answered VMEM_RESP_ERROR.
 */
void vmem_request(struct vmem *m, const uint8_t *in, size_t len, uint8_t out[VMEM_RESP_SIZE]);

/* Device reset (the driver starts over; 5.15.5): every block unplugged and discarded. */
void vmem_reset(struct vmem *m);

#endif
