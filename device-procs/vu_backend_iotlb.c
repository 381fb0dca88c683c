#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "device-procs/vu_backend_priv.h"

/* [a, a + alen) meets [iova, last]; overflow-safe (a ring part that wraps never maps anyway). */
static bool meets(uint64_t a, uint64_t alen, uint64_t iova, uint64_t last)
{
    uint64_t alast = a + alen - 1;

    if (!alen)
        return false;
    if (alast < a)
        alast = UINT64_MAX;
    return a <= last && iova <= alast;
}

static bool ring_meets(const struct vu_queue *q, uint64_t iova, uint64_t last)
{
    uint64_t n = q->vq.num;

    return meets(q->desc_uva, 16 * n, iova, last) || meets(q->avail_uva, 6 + 2 * n, iova, last) ||
           meets(q->used_uva, 6 + 8 * n, iova, last);
}

static const char *type_name(uint8_t type)
{
    switch (type) {
    case VHOST_USER_IOTLB_MISS:
        return "MISS";
    case VHOST_USER_IOTLB_UPDATE:
        return "UPDATE";
    case VHOST_USER_IOTLB_INVALIDATE:
        return "INVALIDATE";
    case VHOST_USER_IOTLB_ACCESS_FAIL:
        return "ACCESS_FAIL";
    default:
        return "unknown";
    }
}

/*
 * The table changes under the write lock (iotlb.c), so descriptor translations after it see
 * the change. Rings are translated once, when a queue starts: a running queue whose ring the
 * change touches is stopped (its state kept) before the ack, and started again right away if its
 * ring still maps; otherwise it waits for the UPDATE that maps it (each UPDATE retries).
 */
int vub_iotlb_msg(struct vu_backend *b, const struct vu_iotlb_msg *msg)
{
    uint64_t last = msg->iova + msg->size - 1;
    int r;

    switch (msg->type) {
    case VHOST_USER_IOTLB_UPDATE:
        r = iotlb_update(&b->iotlb, msg->iova, msg->size, msg->uaddr, msg->perm);
        break;
    case VHOST_USER_IOTLB_INVALIDATE:
        r = iotlb_invalidate(&b->iotlb, msg->iova, msg->size);
        break;
    default:
        /* MISS and ACCESS_FAIL travel from the backend to the frontend, never back. */
        fprintf(stderr, "vhost-user: IOTLB_MSG of type %u (%s) from the frontend refused\n",
                msg->type, type_name(msg->type));
        return -EINVAL;
    }
    if (r) {
        if (r != -ENOSPC) /* iotlb.c said why */
            fprintf(stderr,
                    "vhost-user: IOTLB_MSG %s iova 0x%llx size 0x%llx uaddr 0x%llx perm %u "
                    "refused: %s\n",
                    type_name(msg->type), (unsigned long long)msg->iova,
                    (unsigned long long)msg->size, (unsigned long long)msg->uaddr, msg->perm,
                    strerror(-r));
        return r;
    }
    if (!vub_iotlb_on(b))
        return 0;
    for (uint16_t i = 0; i < b->nqueues; i++)
        if (b->q[i].running && ring_meets(&b->q[i], msg->iova, last))
            vub_stop_queue(b, i);
    /* A queue whose ring does not map stays stopped (logged once by vub_sync_queue): the
     * change itself is in force, which is what the ack reports. */
    vub_sync_all(b);
    return 0;
}
