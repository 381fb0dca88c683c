#ifndef CELLVM_IPC_VU_INFLIGHT_H
#define CELLVM_IPC_VU_INFLIGHT_H

/*
 * The frontend's reading of a vhost-user inflight region (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)
 * after its backend died: where each split ring restarts. The layout is device-procs/inflight.h's
 * (QEMU's): per queue a 16-byte header (features u64, version u16, desc_num u16, last_batch_head
 * u16, used_idx u16), then 16 bytes per descriptor head (inflight u8 first), the queue's record
 * padded to 64 bytes. Header-only so that the core and the unit tests share one computation
 * without linking each other.
 */

#include <stdint.h>
#include <string.h>

#define VU_INFLIGHT_VERSION 1
#define VU_INFLIGHT_HDR     16
#define VU_INFLIGHT_DESC    16

/* Bytes one queue of queue_size heads takes in the region; queue i's record is at i times this. */
static inline uint64_t vu_inflight_queue_bytes(uint16_t queue_size)
{
    return (VU_INFLIGHT_HDR + (uint64_t)queue_size * VU_INFLIGHT_DESC + 63) & ~(uint64_t)63;
}

static inline uint16_t vu_inflight_load16(const uint8_t *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

/*
 * Where a ring of qs heads (a power of two) resumes: the used index in guest memory plus the heads
 * the record still marks in flight. Heads the used ring holds past the record's used_idx were
 * pushed by the old backend before it could record them: they are unmarked first (in rec, a
 * private copy of vu_inflight_queue_bytes(qs) bytes, which this changes). used is the used ring
 * (flags, idx, qs entries of 8 bytes) and now its idx, read once by the caller (the guest may
 * write it). A record never attached to a ring of qs heads tracked nothing: now.
 */
static inline uint16_t vu_inflight_ring_base(uint8_t *rec, const uint8_t *used, uint16_t now,
                                             uint16_t qs)
{
    uint16_t count = 0;

    if (vu_inflight_load16(rec + 8) != VU_INFLIGHT_VERSION || vu_inflight_load16(rec + 10) != qs)
        return now;
    for (uint16_t k = vu_inflight_load16(rec + 14), steps = 0; k != now && steps < qs;
         k++, steps++) {
        uint32_t id;

        memcpy(&id, used + 4 + 8u * (k & (qs - 1)), sizeof(id));
        if (id < qs)
            rec[VU_INFLIGHT_HDR + VU_INFLIGHT_DESC * id] = 0;
    }
    for (uint16_t k = 0; k < qs; k++)
        count += rec[VU_INFLIGHT_HDR + VU_INFLIGHT_DESC * k] == 1;
    return (uint16_t)(now + count);
}

#endif
