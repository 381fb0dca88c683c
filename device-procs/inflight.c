#include "device-procs/inflight.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device-procs/virtq.h"

#define INFLIGHT_VERSION 1

_Static_assert(sizeof(struct virtq_inflight_desc) == 16, "inflight entry size");
_Static_assert(sizeof(struct virtq_inflight_hdr) == 16, "inflight header size");

uint64_t inflight_queue_bytes(uint16_t queue_size)
{
    uint64_t n = sizeof(struct virtq_inflight_hdr) +
                 (uint64_t)queue_size * sizeof(struct virtq_inflight_desc);

    return (n + 63) & ~(uint64_t)63;
}

static int cmp_counter(const void *a, const void *b, void *arg)
{
    const struct virtq_inflight_desc *d = arg;
    uint64_t ca = d[*(const uint16_t *)a].counter, cb = d[*(const uint16_t *)b].counter;

    return ca < cb ? -1 : ca > cb;
}

int inflight_attach(struct virtq *vq, struct virtq_inflight *inf, void *region)
{
    struct virtq_inflight_hdr *h = region;
    uint16_t ring_used;

    memset(inf, 0, sizeof(*inf));
    inf->hdr = h;
    inf->desc = (struct virtq_inflight_desc *)(h + 1);
    inf->num = vq->num;
    inf->resubmit = calloc(2 * (size_t)vq->num, sizeof(uint16_t));
    if (!inf->resubmit)
        return -ENOMEM;
    inf->popped = inf->resubmit + vq->num;
    if (h->version == 0) {
        memset(inf->desc, 0, (size_t)vq->num * sizeof(*inf->desc));
        h->desc_num = vq->num;
        h->used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
        h->version = INFLIGHT_VERSION;
        vq->inflight = inf;
        return 0;
    }
    if (h->version != INFLIGHT_VERSION || h->desc_num != vq->num) {
        free(inf->resubmit);
        inf->resubmit = inf->popped = NULL;
        return -EINVAL;
    }
    /* Heads the old backend pushed but had not yet cleared: the used ring is the truth. */
    ring_used = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
    for (uint16_t i = h->used_idx, steps = 0; i != ring_used && steps < vq->num; i++, steps++) {
        uint32_t id = vq->used->ring[i & (vq->num - 1)].id;

        if (id < vq->num)
            inf->desc[id].inflight = 0;
    }
    h->used_idx = ring_used;
    for (uint16_t i = 0; i < vq->num; i++) {
        if (inf->desc[i].inflight != 1) {
            inf->desc[i].inflight = 0;
            continue;
        }
        inf->resubmit[inf->nresubmit++] = i;
        if (inf->desc[i].counter > inf->counter)
            inf->counter = inf->desc[i].counter;
    }
    qsort_r(inf->resubmit, inf->nresubmit, sizeof(uint16_t), cmp_counter, inf->desc);
    vq->last_avail_idx = (uint16_t)(ring_used + inf->nresubmit);
    vq->inflight = inf;
    return 0;
}

void inflight_detach(struct virtq *vq)
{
    if (!vq->inflight)
        return;
    free(vq->inflight->resubmit);
    vq->inflight->resubmit = vq->inflight->popped = NULL;
    vq->inflight = NULL;
}

void inflight_mark(struct virtq_inflight *inf, uint16_t head, uint16_t avail_idx)
{
    inf->desc[head].counter = ++inf->counter;
    inf->desc[head].inflight = 1;
    inf->popped[avail_idx & (inf->num - 1)] = head;
    inf->from_avail++;
}

void inflight_clear(struct virtq_inflight *inf, uint16_t head, uint16_t used_idx)
{
    inf->desc[head].inflight = 0;
    /* Entries cleared before used_idx is recorded: a crash in between is repaired on attach. */
    __atomic_store_n(&inf->hdr->used_idx, used_idx, __ATOMIC_RELEASE);
}

int inflight_next_resubmit(struct virtq_inflight *inf)
{
    if (inf->resubmit_pos >= inf->nresubmit)
        return -1;
    return inf->resubmit[inf->resubmit_pos++];
}

int inflight_unpop(struct virtq_inflight *inf, uint16_t avail_idx)
{
    if (inf->from_avail) {
        inf->from_avail--;
        inf->desc[inf->popped[avail_idx & (inf->num - 1)]].inflight = 0;
        return 0;
    }
    if (inf->resubmit_pos) {
        inf->resubmit_pos--;
        return 1;
    }
    return 0; /* popped before this attach: nothing of ours to undo */
}
