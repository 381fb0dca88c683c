#ifndef CELLVM_DEVICE_PROCS_VU_BACKEND_PRIV_H
#define CELLVM_DEVICE_PROCS_VU_BACKEND_PRIV_H

/* State shared by vu_backend.c (dispatch, negotiation) and vu_ring.c (rings, memory). */

#include <stdbool.h>
#include <stdint.h>

#include "device-procs/devmem.h"
#include "device-procs/inflight.h"
#include "device-procs/iotlb.h"
#include "device-procs/vu_backend.h"
#include "ipc/vhost_user.h"

struct vu_queue {
    struct virtq vq; /* vq.kick_fd and vq.call_fd are owned here */
    int err_fd;      /* owned: SET_VRING_ERR eventfd, -1 if none */
    bool addr_set;
    /* Frontend user addresses, or IOVAs when ACCESS_PLATFORM is acked. */
    uint64_t desc_uva, avail_uva, used_uva;
    bool log_used;    /* SET_VRING_ADDR carried VHOST_VRING_F_LOG */
    uint64_t log_gpa; /* ... and this guest-physical address of the used ring */
    bool kick_set;    /* SET_VRING_KICK seen since the last stop */
    bool enabled;
    bool running; /* handed to the device with start_queue */
    /* Its ring failed to map through the IOTLB (logged once until it starts). */
    bool unmapped;
    struct virtq_inflight inflight;
};

/* A DEVICE_STATE transfer (vu_xfer.c), from SET_DEVICE_STATE_FD to CHECK_DEVICE_STATE. */
struct vub_xfer {
    int fd;       /* owned: the pipe end while bytes are left to move, -1 otherwise */
    bool started; /* SET_DEVICE_STATE_FD seen since the last check */
    bool load;
    uint8_t *buf; /* owned: the blob, VU_DEVSTATE_MAX + 1 bytes while the fd is open */
    size_t len, pos;
    int result;      /* 0, or the first -errno */
    const char *why; /* static text for result */
};

struct vu_backend {
    const struct devproc_ops *ops;
    void *dev;
    uint64_t offered;    /* virtio features offered, incl. bit 30 */
    uint64_t offered_pf; /* protocol features offered */
    uint64_t features;   /* acked */
    uint64_t pf;         /* acked protocol features */
    bool features_set;
    int backend_req_fd;  /* owned: BACKEND_REQ channel, -1 if none */
    void *inflight_base; /* owned mapping of the inflight buffer, NULL if none */
    uint64_t inflight_size;
    int inflight_guard; /* devmem_guard slot of a SET_INFLIGHT_FD mapping, -1 if none */
    uint16_t inflight_nq, inflight_qs;
    uint8_t *log_base; /* owned mapping of SET_LOG_BASE's dirty log, NULL if none */
    uint64_t log_size;
    int log_guard; /* its devmem_guard slot, -1 if none */
    struct devmem mem;
    uint16_t nqueues;
    struct vu_queue *q; /* owned: nqueues entries */
    struct vub_xfer xfer;
    /* IOTLB_MSG's table (vu_backend_iotlb.c): consulted only while ACCESS_PLATFORM is acked,
     * kept across RESET_DEVICE (the IOMMU's mappings are not the device's state), cleared on
     * disconnect. */
    struct iotlb iotlb;
};

static inline bool vub_has_pf(const struct vu_backend *b, unsigned bit)
{
    return b->pf & (1ull << bit);
}

/* Starts or stops queue i so that it runs exactly when it is set up, kicked and enabled. */
int vub_sync_queue(struct vu_backend *b, uint16_t i);
/* Stops queue i if it runs (state kept). */
void vub_stop_queue(struct vu_backend *b, uint16_t i);
void vub_stop_all(struct vu_backend *b);
/* Syncs every queue; returns the first error. */
int vub_sync_all(struct vu_backend *b);
/* Forgets queue i's setup (RESET_DEVICE, disconnect): stops it, closes its fds. */
void vub_reset_queue(struct vu_backend *b, uint16_t i);

/* VIRTIO_F_ACCESS_PLATFORM acked: ring and descriptor addresses are IOVAs. */
static inline bool vub_iotlb_on(const struct vu_backend *b)
{
    return b->features & (1ull << VIRTIO_F_ACCESS_PLATFORM);
}

/* IOTLB_MSG (vu_backend_iotlb.c): UPDATE and INVALIDATE applied (and in force for every queue
 * thread) when it returns 0; MISS and ACCESS_FAIL are the backend's to send: -EINVAL. */
int vub_iotlb_msg(struct vu_backend *b, const struct vu_iotlb_msg *msg);

/* LOG_ALL negotiated with a log mapped: the queues mark what they write. */
static inline bool vub_logging(const struct vu_backend *b)
{
    return (b->features & (1ull << VHOST_USER_F_LOG_ALL)) && b->log_base;
}

/* Every queue reset, guest memory, the inflight buffer and the log dropped (disconnect). */
void vub_ring_teardown(struct vu_backend *b);

/*
 * Ring and memory requests. Each returns 0 or -errno, and may fill the reply (*reply_size
 * payload bytes in m, *reply_fd an fd to send and then close).
 */
int vub_ring_request(struct vu_backend *b, struct vu_msg *m, int *fds, size_t nfds,
                     uint32_t *reply_size, int *reply_fd);

/* SET_DEVICE_STATE_FD and CHECK_DEVICE_STATE (vu_xfer.c): always answered, 0 or -EPROTO when
 * DEVICE_STATE was not negotiated. fds[0] is taken over when used. */
int vub_state_request(struct vu_backend *b, struct vu_msg *m, int *fds, uint32_t *reply_size);
/* Ends a transfer in progress, closing its fd (disconnect, reset, a new transfer). */
void vub_xfer_abort(struct vu_backend *b);

#endif
