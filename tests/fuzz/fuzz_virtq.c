/*
 * Fuzz target: the split-virtqueue walker and inflight tracking against a hostile driver and a
 * hostile (stale) inflight buffer. Guest memory is three heap buffers of exact size, so ASan sees
 * any access past a region: R (the rings, at the front of the guest's memory), then D1 and D2
 * (data, adjacent in guest-physical space so one descriptor may span both).
 *
 * Input: a 4-byte header, then the initial bytes of the descriptor table, the avail ring, the
 * used ring, the inflight buffer and D1 (in that order; short input leaves the rest zero), then
 * one op per byte (some take an argument byte): pop, push, push_n, unpop, the driver publishing
 * a head or scribbling on the rings, notify/enable/disable, and a backend restart that detaches
 * and reattaches the inflight buffer (resubmission).
 *
 * Invariants checked beyond ASan/UBSan: every popped head < num; segment counts and lengths
 * add up and stay under the limits; every iovec lies inside one region; push writes the used
 * entry it says; and, with a buffer this run initialised, a restart resubmits exactly the heads
 * popped and not pushed, never a head given back with virtq_unpop; the pop right after
 * virtq_unpop returns the element given back, resubmitted or not. FUZZ_VIRTQ_LAX=1 drops the
 * two unpop rules (what the walker promised before inflight_unpop existed), for campaigns on an
 * older tree. FUZZ_VIRTQ_TRACE=1 prints one line per op, to read a reproducer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device-procs/devmem.h"
#include "device-procs/inflight.h"
#include "device-procs/virtq.h"

#define GPA_R   0x100000ull
#define GPA_D1  0x200000ull
#define D_SIZE  4096u
#define GPA_D2  (GPA_D1 + D_SIZE)
#define UVA_R   0x7f0000000000ull
#define UVA_D   0x7f0000100000ull
#define MAX_NUM 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    const uint8_t *in;
    size_t len, pos;
    uint16_t num;
    uint8_t *r, *d1, *d2, *inf_buf;
    size_t r_len, inf_len;
    uint64_t avail_off, used_off;
    struct devmem dm;
    struct virtq vq;
    struct virtq_inflight inf;
    bool use_inflight;
    bool fresh; /* the inflight buffer started zero: its marks are ours to predict */
    bool dup;   /* a head was popped while already in flight: marks are ambiguous */
    uint16_t pending[MAX_NUM * 4];
    unsigned npending;
    uint8_t unpopped[MAX_NUM]; /* popped, then given back: not in flight */
    uint8_t queued[MAX_NUM];   /* resubmitted by a restart, not yet popped again: in flight */
    int last_head;             /* head of the last pop if the next op may unpop it, else -1 */
    int expect_head;           /* given back by the previous op: the next pop must return it */
};

static struct virtq_elem elem;
static int efd = -1;
static bool strict;
static bool trace;

static uint8_t next(struct run *s)
{
    return s->pos < s->len ? s->in[s->pos++] : 0;
}

static void fill(struct run *s, void *dst, size_t n)
{
    size_t k = s->len - s->pos < n ? s->len - s->pos : n;

    memcpy(dst, s->in + s->pos, k);
    s->pos += k;
}

static bool inside(const void *p, size_t n, const uint8_t *base, size_t blen)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

    return a >= b && a - b <= blen && n <= blen - (a - b);
}

static void check_elem(struct run *s, const struct virtq_elem *e)
{
    uint64_t out = 0, in = 0;
    volatile uint8_t sink = 0;

    if (e->head >= s->num)
        abort();
    if ((unsigned)e->out_num + e->in_num > VIRTQ_MAX_SEGS)
        abort();
    if (e->out_len + e->in_len > VIRTQ_MAX_ELEM_BYTES)
        abort();
    for (unsigned i = 0; i < (unsigned)e->out_num + e->in_num; i++) {
        const struct iovec *v = &e->iov[i];

        if (!v->iov_len)
            abort(); /* devmem_gpa_iov never makes an empty segment */
        if (!inside(v->iov_base, v->iov_len, s->r, s->r_len) &&
            !inside(v->iov_base, v->iov_len, s->d1, D_SIZE) &&
            !inside(v->iov_base, v->iov_len, s->d2, D_SIZE))
            abort();
        if (i < e->out_num) {
            out += v->iov_len;
            sink ^= ((const uint8_t *)v->iov_base)[v->iov_len - 1];
        } else {
            in += v->iov_len;
        }
    }
    (void)sink;
    if (out != e->out_len || in != e->in_len)
        abort();
}

static void pending_drop(struct run *s, unsigned i)
{
    memmove(&s->pending[i], &s->pending[i + 1], (s->npending - i - 1) * sizeof(s->pending[0]));
    s->npending--;
}

static bool is_pending(const struct run *s, uint16_t head)
{
    for (unsigned i = 0; i < s->npending; i++)
        if (s->pending[i] == head)
            return true;
    return false;
}

static int resub_pos(const struct run *s)
{
    return s->vq.inflight ? s->vq.inflight->resubmit_pos : 0;
}

static void op_pop(struct run *s)
{
    int pos = resub_pos(s), r = virtq_pop(&s->vq, &elem);

    s->last_head = -1;
    if (r < 0) {
        if (!s->vq.broken || virtq_pop(&s->vq, &elem) != r)
            abort(); /* errors are sticky */
        return;
    }
    if (r == 0 && strict && s->expect_head >= 0)
        abort(); /* the element given back is gone */
    if (r == 0)
        return;
    if (r != 1)
        abort();
    check_elem(s, &elem);
    if (trace)
        fprintf(stderr, "  popped head %u\n", elem.head);
    /* Contract (virtq.h): after virtq_unpop the next pop returns the element given back. */
    if (strict && s->expect_head >= 0 && elem.head != s->expect_head)
        abort();
    /* The device writes its whole writable part, as a read request would. */
    for (unsigned i = elem.out_num; i < (unsigned)elem.out_num + elem.in_num; i++)
        memset(elem.iov[i].iov_base, 0xa5, elem.iov[i].iov_len);
    if (resub_pos(s) != pos) {
        if (!s->queued[elem.head])
            abort(); /* handed out from the resubmission list, yet not resubmitted */
        s->queued[elem.head] = 0;
    } else if (s->queued[elem.head]) {
        s->dup = true; /* the driver published a head that is still in flight */
    }
    if (is_pending(s, elem.head))
        s->dup = true;
    if (s->npending < sizeof(s->pending) / sizeof(s->pending[0]))
        s->pending[s->npending++] = elem.head;
    else
        s->dup = true; /* lost track */
    s->unpopped[elem.head] = 0;
    s->last_head = elem.head;
}

static void op_unpop(struct run *s)
{
    int head = s->last_head, pos = resub_pos(s);

    if (head < 0)
        return; /* only right after a pop */
    s->last_head = -1;
    virtq_unpop(&s->vq);
    pending_drop(s, s->npending - 1);
    if (resub_pos(s) != pos)
        s->queued[head] = 1; /* back on the resubmission list */
    else
        s->unpopped[head] = 1;
    s->expect_head = head;
}

static void op_push(struct run *s, uint8_t arg)
{
    uint16_t head, before = s->vq.used_idx;
    uint32_t written = (uint32_t)arg * 97;
    struct vring_used_elem *u;

    s->last_head = -1;
    if (!s->npending)
        return;
    head = s->pending[arg % s->npending];
    /* Re-walking is what a device would not do; rebuild a minimal element instead. */
    memset(&elem, 0, offsetof(struct virtq_elem, iov));
    elem.head = head;
    elem.in_len = 1u << 20;
    if (virtq_push(&s->vq, &elem, written))
        return; /* broken ring: the element stays in flight */
    pending_drop(s, arg % s->npending);
    u = &s->vq.used->ring[before & (s->num - 1)];
    if (u->id != head || u->len != written || s->vq.used->idx != (uint16_t)(before + 1))
        abort();
}

static void op_push_n(struct run *s)
{
    uint16_t heads[MAX_NUM], before = s->vq.used_idx;
    uint32_t lens[MAX_NUM];
    unsigned n = s->npending < s->num ? s->npending : s->num;

    s->last_head = -1;
    for (unsigned i = 0; i < n; i++) {
        heads[i] = s->pending[i];
        lens[i] = i;
    }
    if (virtq_push_n(&s->vq, heads, lens, n))
        return;
    for (unsigned i = 0; i < n; i++) {
        const struct vring_used_elem *u = &s->vq.used->ring[(uint16_t)(before + i) & (s->num - 1)];

        if (u->id != heads[i] || u->len != lens[i])
            abort();
    }
    for (unsigned i = 0; i < n; i++)
        pending_drop(s, 0);
}

/* The backend dies and a new one takes over the same rings and inflight buffer. */
static void op_restart(struct run *s)
{
    uint8_t want[MAX_NUM] = { 0 };

    s->last_head = -1;
    if (!s->use_inflight)
        return;
    inflight_detach(&s->vq);
    virtq_prepare(&s->vq);
    if (inflight_attach(&s->vq, &s->inf, s->inf_buf)) {
        if (s->fresh)
            abort(); /* our own buffer, refused */
        s->use_inflight = false;
        return;
    }
    if (trace)
        for (unsigned i = 0; i < s->inf.nresubmit; i++)
            fprintf(stderr, "  resubmit %u\n", s->inf.resubmit[i]);
    if (s->fresh && !s->dup) {
        /* Exactly the heads popped and not yet pushed come back. */
        for (unsigned i = 0; i < s->npending; i++)
            want[s->pending[i]] = 1;
        for (unsigned i = 0; i < s->num; i++)
            if (s->queued[i])
                want[i] = 1;
        for (unsigned i = 0; i < s->inf.nresubmit; i++) {
            uint16_t h = s->inf.resubmit[i];

            if (h >= s->num)
                abort();
            if (!want[h] && (strict || !s->unpopped[h]))
                abort(); /* never popped, or already pushed */
            want[h] = 2;
        }
        for (unsigned i = 0; i < s->num; i++)
            if (want[i] == 1)
                abort(); /* in flight, yet not resubmitted */
    }
    /* The old backend's elements are gone; resubmitted ones get popped again. */
    s->npending = 0;
    memset(s->unpopped, 0, sizeof(s->unpopped));
    memset(s->queued, 0, sizeof(s->queued));
    for (unsigned i = 0; i < s->inf.nresubmit; i++) {
        if (s->inf.resubmit[i] >= s->num)
            abort();
        s->queued[s->inf.resubmit[i]] = 1;
    }
}

static void op_publish(struct run *s, uint8_t head)
{
    struct vring_avail *a = s->vq.avail;

    s->last_head = -1;
    a->ring[a->idx & (s->num - 1)] = head;
    __atomic_store_n(&a->idx, (uint16_t)(a->idx + 1), __ATOMIC_RELEASE);
}

static void op_scribble(struct run *s, uint8_t where)
{
    uint64_t off = ((uint64_t)where * 2) % (s->r_len - 1);

    s->last_head = -1;
    if (off + 1 >= s->used_off)
        s->dup = true; /* the driver wrote the used ring: inflight recovery trusts it */
    s->r[off] = next(s);
    s->r[off + 1] = next(s);
}

static int setup(struct run *s)
{
    uint8_t h0 = next(s), h1 = next(s), h2 = next(s), h3 = next(s);

    s->num = (uint16_t)(1u << (h0 % 7));
    s->vq.event_idx = h1 & 1;
    s->vq.indirect = h1 & 2;
    s->use_inflight = h1 & 4;
    s->fresh = !(h1 & 8);
    s->avail_off = 16ull * s->num;
    s->used_off = (s->avail_off + 6 + 2ull * s->num + 3) & ~3ull;
    s->r_len = s->used_off + 6 + 8ull * s->num;
    s->inf_len = inflight_queue_bytes(s->num);
    s->r = aligned_alloc(16, (s->r_len + 15) & ~15ull);
    s->d1 = malloc(D_SIZE);
    s->d2 = malloc(D_SIZE);
    s->inf_buf = aligned_alloc(64, s->inf_len);
    if (!s->r || !s->d1 || !s->d2 || !s->inf_buf)
        return -ENOMEM;
    memset(s->r, 0, s->r_len);
    memset(s->d1, 0, D_SIZE);
    memset(s->d2, 0, D_SIZE);
    memset(s->inf_buf, 0, s->inf_len);
    fill(s, s->r, s->r_len);
    if (!s->fresh)
        fill(s, s->inf_buf, s->inf_len);
    fill(s, s->d1, 512);

    devmem_init(&s->dm);
    if (devmem_add_host(&s->dm, GPA_R, UVA_R, s->r, s->r_len) ||
        devmem_add_host(&s->dm, GPA_D1, UVA_D, s->d1, D_SIZE) ||
        devmem_add_host(&s->dm, GPA_D2, UVA_D + D_SIZE, s->d2, D_SIZE))
        abort();
    bool ev = s->vq.event_idx, ind = s->vq.indirect;
    virtq_init(&s->vq, 0);
    s->vq.num = s->num;
    s->vq.event_idx = ev;
    s->vq.indirect = ind;
    s->vq.kick_fd = efd;
    s->vq.call_fd = efd;
    if (virtq_map(&s->vq, &s->dm, UVA_R, UVA_R + s->avail_off, UVA_R + s->used_off))
        abort();
    s->vq.last_avail_idx = (uint16_t)(h2 | h3 << 8); /* SET_VRING_BASE */
    virtq_prepare(&s->vq);
    if (s->use_inflight && inflight_attach(&s->vq, &s->inf, s->inf_buf)) {
        if (s->fresh)
            abort();
        s->use_inflight = false;
    }
    for (unsigned i = 0; s->use_inflight && i < s->inf.nresubmit; i++)
        s->queued[s->inf.resubmit[i]] = 1;
    s->last_head = -1;
    s->expect_head = -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run *s;
    unsigned steps = 0;

    if (efd < 0) {
        efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        strict = getenv("FUZZ_VIRTQ_LAX") == NULL;
        trace = getenv("FUZZ_VIRTQ_TRACE") != NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return 0;
    s->in = data;
    s->len = size;
    if (setup(s) < 0)
        goto out;
    while (s->pos < s->len && steps++ < 4096) {
        uint8_t op = next(s);
        int expect = s->expect_head;

        if (trace)
            fprintf(stderr, "op %u: last_avail %u used %u pending %u resub %d/%d broken %d\n",
                    op % 12, s->vq.last_avail_idx, s->vq.used_idx, s->npending,
                    s->vq.inflight ? s->vq.inflight->resubmit_pos : -1,
                    s->vq.inflight ? s->vq.inflight->nresubmit : -1, s->vq.broken);

        switch (op % 12) {
        case 0:
        case 1:
        case 2:
            op_pop(s);
            break;
        case 3:
            op_push(s, next(s));
            break;
        case 4:
            op_push_n(s);
            break;
        case 5:
            op_unpop(s);
            break;
        case 6:
            op_restart(s);
            break;
        case 7:
            op_publish(s, next(s));
            break;
        case 8:
            op_scribble(s, next(s));
            break;
        case 9:
            s->last_head = -1;
            virtq_disable_notify(&s->vq);
            (void)virtq_enable_notify(&s->vq);
            break;
        case 10:
            s->last_head = -1;
            if (virtq_notify(&s->vq) < 0)
                abort();
            (void)virtq_kick_drain(&s->vq);
            break;
        default:
            s->last_head = -1;
            (void)virtq_empty(&s->vq);
            break;
        }
        if (s->expect_head == expect)
            s->expect_head = -1; /* only the op right after an unpop is checked */
    }
out:
    inflight_detach(&s->vq);
    free(s->r);
    free(s->d1);
    free(s->d2);
    free(s->inf_buf);
    free(s);
    return 0;
}
