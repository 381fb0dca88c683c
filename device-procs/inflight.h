#ifndef CELLVM_DEVICE_PROCS_INFLIGHT_H
#define CELLVM_DEVICE_PROCS_INFLIGHT_H

/*
 * Inflight tracking (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) for split rings. The buffer is ours
 * (created at GET_INFLIGHT_FD); the frontend only keeps it across a backend restart and sends it
 * back with SET_INFLIGHT_FD. Per queue: a header, then one entry per descriptor head. A head is
 * marked when popped and cleared when pushed; after a restart the marked heads are handed out
 * again, oldest first, before the avail ring. The buffer may be stale or hostile (a previous
 * backend, a frontend): recovery validates every entry it reads.
 */

#include <stddef.h>
#include <stdint.h>

struct virtq;

struct virtq_inflight_desc {
    uint8_t inflight;
    uint8_t padding[5];
    uint16_t next;
    uint64_t counter;
};

struct virtq_inflight_hdr {
    uint64_t features;
    uint16_t version;
    uint16_t desc_num;
    uint16_t last_batch_head;
    uint16_t used_idx;
};

struct virtq_inflight {
    struct virtq_inflight_hdr *hdr; /* in the shared buffer, not owned */
    struct virtq_inflight_desc *desc;
    uint64_t counter;   /* last stamp given out */
    uint16_t num;       /* ring size, a power of two (the buffer's header is not trusted) */
    uint16_t *resubmit; /* owned: heads to hand out again, oldest first */
    uint16_t nresubmit;
    uint16_t resubmit_pos;
    /* Undoing pops (virtq_unpop), newest first. Every resubmitted head is handed out before the
       avail ring is looked at, so while from_avail > 0 the newest pop came from the ring. */
    uint16_t *popped;    /* shares resubmit's allocation: head popped at avail index i & (num-1) */
    uint64_t from_avail; /* pops from the avail ring not undone */
};

/* Bytes one queue of queue_size entries needs in the buffer (64-byte aligned). */
uint64_t inflight_queue_bytes(uint16_t queue_size);

/*
 * Attaches region (inflight_queue_bytes(num) bytes) to vq and recovers: a fresh region
 * (version 0) is initialised, a used one yields its in-flight heads for resubmission and puts
 * vq's avail index just past them (used index + heads in flight), whatever base the frontend
 * set: a frontend whose backend died cannot ask it for its index and restarts the ring at the
 * used index (QEMU), which would hand those heads out a second time from the ring. 0 or -errno
 * (-ENOMEM, -EINVAL for a region of another ring size).
 */
int inflight_attach(struct virtq *vq, struct virtq_inflight *inf, void *region);
void inflight_detach(struct virtq *vq);

/* Hooks for virtq_pop / virtq_push / virtq_unpop. avail_idx is the avail index head came from. */
void inflight_mark(struct virtq_inflight *inf, uint16_t head, uint16_t avail_idx);
void inflight_clear(struct virtq_inflight *inf, uint16_t head, uint16_t used_idx);
/* Next head to resubmit, or -1 when none is left. */
int inflight_next_resubmit(struct virtq_inflight *inf);
/*
 * Undoes the newest pop. Returns 1 when it was a resubmitted head (back on the list: the avail
 * index must not move), 0 when it came from the avail ring at avail_idx (its mark is cleared, so
 * a later restart finds it in the ring only; the caller steps the avail index back).
 */
int inflight_unpop(struct virtq_inflight *inf, uint16_t avail_idx);

#endif
