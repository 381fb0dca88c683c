#ifndef CELLVM_DEVICE_PROCS_VIRTQ_H
#define CELLVM_DEVICE_PROCS_VIRTQ_H

/*
 * Split virtqueue, device side, with VIRTIO_RING_F_EVENT_IDX and VIRTIO_RING_F_INDIRECT_DESC.
 *
 * Threading: the backend sets a virtq up on the control thread and hands it to the device in
 * ops->start_queue; from then until ops->stop_queue returns, exactly one device thread owns it
 * and calls the functions below. Nothing here locks, but for the IOTLB's read lock around each
 * chain walk when the queue translates IOVAs (VIRTIO_F_ACCESS_PLATFORM, device-procs/iotlb.h).
 *
 * Typical device loop (kick_fd is an eventfd owned by the backend; never close it):
 *
 *     for (;;) {
 *         wait for kick_fd readable (or the device's own stop signal); virtq_kick_drain(vq);
 *         do {
 *             virtq_disable_notify(vq);
 *             while ((r = virtq_pop(vq, elem)) == 1)
 *                 handle elem, then virtq_push(vq, elem, bytes_written);
 *             if (r < 0) stop touching the ring (the backend reports the device broken);
 *             virtq_notify(vq);
 *         } while (virtq_enable_notify(vq));  // true: buffers arrived meanwhile, go again
 *     }
 *
 * virtq_start_queue contract: the device must look at the ring once when it starts, without
 * waiting for a kick (a frontend reconnecting to a restarted backend may never kick again).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

struct devmem;
struct iotlb;
struct virtq_inflight;

/* Most segments (iovecs) one element may have, after indirect expansion and region splits. */
#define VIRTQ_MAX_SEGS 1024u
/* Most bytes one element may describe, readable plus writable (written counts must fit u32). */
#define VIRTQ_MAX_ELEM_BYTES (1u << 30)
/* Largest ring (virtio 1.x split ring limit). */
#define VIRTQ_MAX_SIZE 32768u

struct virtq_elem {
    uint16_t head;    /* descriptor index to give back in virtq_push */
    uint16_t out_num; /* iov[0..out_num): driver-written buffers the device reads */
    uint16_t in_num;  /* iov[out_num..out_num+in_num): device-writable buffers */
    uint64_t out_len; /* total bytes in the readable part */
    uint64_t in_len;  /* total bytes in the writable part */
    struct iovec iov[VIRTQ_MAX_SEGS];
};

struct virtq_stats {
    uint64_t kicks;
    uint64_t notifies;
    uint64_t popped;
    uint64_t bytes_in; /* bytes the device reported written */
};

/*
 * Dirty logging (vhost-user LOG_ALL with a SET_LOG_BASE log): set by the backend while the queue
 * is stopped, read by the device thread. With base set, every write this file makes into guest
 * memory marks its pages: the writable bytes a push reports (the chain walked again from its
 * head), and the used ring at used_gpa (flags, entries, idx, avail_event) when `used` is set
 * (SET_VRING_ADDR's VHOST_VRING_F_LOG). Devices that write guest memory outside a chain call
 * virtq_log_write.
 */
struct virtq_log {
    uint8_t *base; /* borrowed from the backend; NULL: not logging */
    uint64_t size; /* bytes */
    bool used;
    uint64_t used_gpa;
};

struct virtq {
    uint16_t index;
    uint16_t num;   /* ring size, a power of two */
    bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    int kick_fd;    /* owned by the backend; -1 means polling (no fd) */
    int call_fd;    /* owned by the backend; -1 means no notifications */
    const struct devmem *mem;
    /* VIRTIO_F_ACCESS_PLATFORM: descriptor addresses are I/O virtual addresses translated
     * through this table (owned by the backend, locked per chain walk); NULL: guest-physical. */
    struct iotlb *iotlb;
    struct vring_desc *desc; /* host addresses inside mem */
    struct vring_avail *avail;
    struct vring_used *used;

    uint16_t last_avail_idx; /* next avail entry to pop: what GET_VRING_BASE reports */
    uint16_t used_idx;       /* next used entry to fill (shadow of used->idx) */
    uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
    bool signalled_used_valid;
    int broken; /* 0 or the -errno that broke the ring; sticky until re-setup */
    struct virtq_inflight *inflight; /* INFLIGHT_SHMFD region for this queue, or NULL */
    struct virtq_stats stats;
    struct virtq_log log;
};

/* Marks [gpa, gpa + len) in the queue's dirty log, if one is set (a device's write to guest
 * memory outside the chains it pushes). gpa is guest-physical even with an IOTLB (the balloon's
 * page numbers are). */
void virtq_log_write(struct virtq *vq, uint64_t gpa, uint64_t len);

/*
 * Pops the next available chain into elem. Returns 1 popped, 0 ring empty, or -errno for a
 * broken ring (-EFAULT address outside guest memory or wrapping, or with an IOTLB an address it
 * does not map with the access the descriptor needs, -ELOOP chain loops or is longer
 * than the ring, -EINVAL bad index, a readable descriptor after a writable one, bad indirect
 * table, -E2BIG more than VIRTQ_MAX_SEGS segments or VIRTQ_MAX_ELEM_BYTES bytes, -EPROTO the
 * driver published more than num new entries). After an error every later call returns it too;
 * the device stops touching the ring and the frontend learns through NEEDS_RESET or a reset.
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);

/* Returns a popped element with `written` bytes written into its writable part. 0 or -errno. */
int virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t written);

/*
 * Returns n popped elements at once, heads[i] with lens[i] bytes written (the caller keeps each
 * within its element's writable size), publishing the used index once: a driver never sees part
 * of the group (virtio-net's mergeable receive buffers). n <= num. 0 or -errno.
 */
int virtq_push_n(struct virtq *vq, const uint16_t *heads, const uint32_t *lens, unsigned n);

/*
 * Gives the newest popped element back unused (pop undone): the next pop returns it again.
 * Several unpops undo pops newest first. With an inflight buffer a resubmitted element goes
 * back on the resubmit list and one from the ring loses its inflight mark, so each head is
 * handed out once per (re)start.
 */
void virtq_unpop(struct virtq *vq);

/*
 * Signals the driver for everything pushed since the last notify, if it wants to be told
 * (VRING_AVAIL_F_NO_INTERRUPT or used_event with EVENT_IDX). Returns 1 signalled, 0 not needed
 * or no call fd, -errno if the eventfd write failed.
 */
int virtq_notify(struct virtq *vq);

/* Stop asking for kicks while draining (used->flags or avail_event). */
void virtq_disable_notify(struct virtq *vq);

/* Ask for kicks again; returns true if buffers are already available (drain again). */
bool virtq_enable_notify(struct virtq *vq);

/* True if no new avail entry (or the ring is broken). */
bool virtq_empty(struct virtq *vq);

/* Reads (clears) the kick eventfd counter; counts a kick. 0, or -errno other than EAGAIN. */
int virtq_kick_drain(struct virtq *vq);

/*
 * Backend side (the device does not call these). virtq_init clears vq for ring idx;
 * virtq_map translates the ring addresses (frontend user addresses) through mem, checking
 * size, alignment and that each part lies inside one region; the indices are kept.
 */
void virtq_init(struct virtq *vq, uint16_t idx);
int virtq_map(struct virtq *vq, const struct devmem *mem, uint64_t desc_uva, uint64_t avail_uva,
              uint64_t used_uva);
/*
 * The same with ACCESS_PLATFORM: the ring addresses are IOVAs translated through t (desc and
 * avail readable, used writable), each part contiguous in host memory (and the used ring in
 * guest-physical memory too: *used_gpa gets its address for the dirty log). From then on the
 * queue translates descriptors through t. -EFAULT for a part not mapped (or not contiguously).
 */
int virtq_map_iotlb(struct virtq *vq, const struct devmem *mem, struct iotlb *t, uint64_t desc,
                    uint64_t avail, uint64_t used, uint64_t *used_gpa);
/* Prepares a queue to (re)start: clears the broken state and the interrupt shadow. */
void virtq_prepare(struct virtq *vq);

#endif
