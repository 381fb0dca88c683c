/* The split-virtqueue walker and guest-memory translation against a fake guest memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "device-procs/devmem.h"
#include "device-procs/inflight.h"
#include "device-procs/virtq.h"

#define GPA  0x100000ull
#define SIZE 0x10000ull
#define UVA  0x7f0000000000ull
#define NUM  8

static uint8_t *mem;
static struct devmem dm;
static struct virtq vq;
static struct virtq_elem *e;

static void setup(void)
{
    mem = aligned_alloc(4096, SIZE);
    cr_assert(mem);
    memset(mem, 0, SIZE);
    devmem_init(&dm);
    cr_assert_eq(devmem_add_host(&dm, GPA, UVA, mem, SIZE), 0);
    virtq_init(&vq, 0);
    vq.num = NUM;
    cr_assert_eq(virtq_map(&vq, &dm, UVA, UVA + 0x1000, UVA + 0x2000), 0);
    virtq_prepare(&vq);
    e = malloc(sizeof(*e));
}

static void teardown(void)
{
    free(e);
    free(mem);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc *d = (struct vring_desc *)mem + i;

    d->addr = addr;
    d->len = len;
    d->flags = flags;
    d->next = next;
}

static void publish(uint16_t head)
{
    struct vring_avail *a = (struct vring_avail *)(mem + 0x1000);

    a->ring[a->idx % NUM] = head;
    a->idx++;
}

static struct vring_used *used(void)
{
    return (struct vring_used *)(mem + 0x2000);
}

TestSuite(virtq, .init = setup, .fini = teardown);

Test(virtq, empty_then_simple_chain)
{
    cr_assert_eq(virtq_pop(&vq, e), 0);
    desc(0, GPA + 0x4000, 16, VRING_DESC_F_NEXT, 1);
    desc(1, GPA + 0x5000, 32, VRING_DESC_F_WRITE, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->head, 0);
    cr_assert_eq(e->out_num, 1);
    cr_assert_eq(e->in_num, 1);
    cr_assert_eq(e->iov[0].iov_base, mem + 0x4000);
    cr_assert_eq(e->iov[1].iov_len, 32);
    cr_assert_eq(virtq_push(&vq, e, 100), 0);
    cr_assert_eq(used()->idx, 1);
    cr_assert_eq(used()->ring[0].len, 32, "written is clamped to the writable length");
    cr_assert_eq(vq.last_avail_idx, 1);
    cr_assert_eq(virtq_pop(&vq, e), 0);
}

Test(virtq, loop_in_chain)
{
    desc(0, GPA + 0x4000, 16, VRING_DESC_F_NEXT, 1);
    desc(1, GPA + 0x4000, 16, VRING_DESC_F_NEXT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -ELOOP);
    cr_assert_eq(virtq_pop(&vq, e), -ELOOP, "broken is sticky");
    cr_assert(virtq_empty(&vq));
}

Test(virtq, self_loop)
{
    desc(3, GPA + 0x4000, 16, VRING_DESC_F_NEXT, 3);
    publish(3);
    cr_assert_eq(virtq_pop(&vq, e), -ELOOP);
}

Test(virtq, buffer_past_guest_memory)
{
    desc(0, GPA + SIZE - 8, 16, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(virtq, buffer_below_guest_memory)
{
    desc(0, GPA - 8, 8, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(virtq, buffer_wraps_2_64)
{
    desc(0, UINT64_MAX - 7, 16, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(virtq, readable_after_writable)
{
    desc(0, GPA + 0x4000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    desc(1, GPA + 0x5000, 16, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, next_out_of_range)
{
    desc(0, GPA + 0x4000, 16, VRING_DESC_F_NEXT, NUM);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, head_out_of_range)
{
    publish(NUM + 1);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, avail_index_runs_ahead)
{
    struct vring_avail *a = (struct vring_avail *)(mem + 0x1000);

    a->idx = NUM + 1;
    cr_assert_eq(virtq_pop(&vq, e), -EPROTO);
}

Test(virtq, avail_index_wraps_u16)
{
    vq.last_avail_idx = 0xffff;
    desc(0, GPA + 0x4000, 16, 0, 0);
    ((struct vring_avail *)(mem + 0x1000))->ring[0xffff % NUM] = 0;
    ((struct vring_avail *)(mem + 0x1000))->idx = 0; /* 0xffff + 1 */
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(vq.last_avail_idx, 0);
}

Test(virtq, too_many_bytes)
{
    /* A large region (never touched: pop only computes iovecs) and a chain adding up past
       VIRTQ_MAX_ELEM_BYTES. */
    cr_assert_eq(devmem_add_host(&dm, 1ull << 40, 1ull << 41, mem, 1ull << 31), 0);
    desc(0, 1ull << 40, 0x30000000, VRING_DESC_F_NEXT, 1);
    desc(1, (1ull << 40) + 0x30000000, 0x30000000, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -E2BIG);
}

Test(virtq, indirect_not_negotiated)
{
    desc(0, GPA + 0x4000, 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, indirect_ok)
{
    struct vring_desc *t = (struct vring_desc *)(mem + 0x4000);

    vq.indirect = true;
    t[0] = (struct vring_desc){ GPA + 0x6000, 8, VRING_DESC_F_NEXT, 1 };
    t[1] = (struct vring_desc){ GPA + 0x7000, 8, VRING_DESC_F_WRITE, 0 };
    desc(0, GPA + 0x4000, 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->out_num + e->in_num, 2);
    cr_assert_eq(e->iov[1].iov_base, mem + 0x7000);
}

Test(virtq, indirect_loop)
{
    struct vring_desc *t = (struct vring_desc *)(mem + 0x4000);

    vq.indirect = true;
    t[0] = (struct vring_desc){ GPA + 0x6000, 8, VRING_DESC_F_NEXT, 1 };
    t[1] = (struct vring_desc){ GPA + 0x6000, 8, VRING_DESC_F_NEXT, 0 };
    desc(0, GPA + 0x4000, 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -ELOOP);
}

Test(virtq, indirect_outside_memory)
{
    vq.indirect = true;
    desc(0, GPA + SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(virtq, indirect_wraps)
{
    vq.indirect = true;
    desc(0, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(virtq, indirect_bad_length)
{
    vq.indirect = true;
    desc(0, GPA + 0x4000, 24, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, indirect_nested)
{
    struct vring_desc *t = (struct vring_desc *)(mem + 0x4000);

    vq.indirect = true;
    t[0] = (struct vring_desc){ GPA + 0x4000, 16, VRING_DESC_F_INDIRECT, 0 };
    desc(0, GPA + 0x4000, 16, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, indirect_with_next)
{
    vq.indirect = true;
    desc(0, GPA + 0x4000, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, indirect_next_out_of_table)
{
    struct vring_desc *t = (struct vring_desc *)(mem + 0x4000);

    vq.indirect = true;
    t[0] = (struct vring_desc){ GPA + 0x6000, 8, VRING_DESC_F_NEXT, 2 };
    desc(0, GPA + 0x4000, 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EINVAL);
}

Test(virtq, too_many_segments)
{
    /* 1100 indirect descriptors of one byte each: more than VIRTQ_MAX_SEGS. */
    struct vring_desc *t = (struct vring_desc *)(mem + 0x4000);
    unsigned n = 1100;

    vq.indirect = true;
    for (unsigned i = 0; i < n; i++)
        t[i] = (struct vring_desc){ GPA + 0x8000 + i, 1, VRING_DESC_F_NEXT, (uint16_t)(i + 1) };
    t[n - 1].flags = 0;
    desc(0, GPA + 0x4000, n * 16, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -E2BIG);
}

Test(virtq, buffer_across_two_regions)
{
    uint8_t *second = aligned_alloc(4096, 4096);

    cr_assert_eq(devmem_add_host(&dm, GPA + SIZE, UVA + SIZE, second, 4096), 0);
    desc(0, GPA + SIZE - 16, 32, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->out_num, 2);
    cr_assert_eq(e->iov[0].iov_len, 16);
    cr_assert_eq(e->iov[1].iov_base, second);
    free(second);
}

Test(virtq, notify_no_interrupt_flag)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct vring_avail *a = (struct vring_avail *)(mem + 0x1000);

    vq.call_fd = fd;
    desc(0, GPA + 0x4000, 16, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    virtq_push(&vq, e, 0);
    a->flags = VRING_AVAIL_F_NO_INTERRUPT;
    cr_assert_eq(virtq_notify(&vq), 0);
    a->flags = 0;
    cr_assert_eq(virtq_notify(&vq), 1);
    close(fd);
}

Test(virtq, notify_event_idx)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct vring_avail *a = (struct vring_avail *)(mem + 0x1000);

    vq.call_fd = fd;
    vq.event_idx = true;
    desc(0, GPA + 0x4000, 16, 0, 0);
    for (int i = 0; i < 3; i++) {
        publish(0);
        cr_assert_eq(virtq_pop(&vq, e), 1);
        virtq_push(&vq, e, 0);
    }
    a->ring[NUM] = 5; /* used_event: tell me when used passes 5 */
    cr_assert_eq(virtq_notify(&vq), 1, "first notify always signals");
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    virtq_push(&vq, e, 0);
    cr_assert_eq(virtq_notify(&vq), 0, "used 4 has not passed used_event 5");
    for (int i = 0; i < 2; i++) {
        publish(0);
        cr_assert_eq(virtq_pop(&vq, e), 1);
        virtq_push(&vq, e, 0);
    }
    cr_assert_eq(virtq_notify(&vq), 1);
    close(fd);
}

Test(virtq, enable_notify_rechecks)
{
    uint16_t ev;

    vq.event_idx = true;
    cr_assert_not(virtq_enable_notify(&vq));
    memcpy(&ev, mem + 0x2000 + 4 + 8 * NUM, 2);
    cr_assert_eq(ev, 0, "avail_event written");
    desc(0, GPA + 0x4000, 16, 0, 0);
    publish(0);
    cr_assert(virtq_enable_notify(&vq));
    vq.event_idx = false;
    virtq_disable_notify(&vq);
    cr_assert_eq(used()->flags, VRING_USED_F_NO_NOTIFY);
    cr_assert(virtq_enable_notify(&vq));
    cr_assert_eq(used()->flags, 0);
}

Test(virtq, ring_outside_memory_refused)
{
    struct virtq q;

    virtq_init(&q, 1);
    q.num = NUM;
    cr_assert_eq(virtq_map(&q, &dm, UVA + SIZE - 16, UVA + 0x1000, UVA + 0x2000), -EFAULT);
    cr_assert_eq(virtq_map(&q, &dm, UVA, UINT64_MAX - 4, UVA + 0x2000), -EFAULT);
    cr_assert_eq(virtq_map(&q, &dm, UVA + 8, UVA + 0x1000, UVA + 0x2000), -EINVAL);
    q.num = 3;
    cr_assert_eq(virtq_map(&q, &dm, UVA, UVA + 0x1000, UVA + 0x2000), -EINVAL);
}

Test(virtq, inflight_resubmits_in_order)
{
    uint8_t *region = calloc(1, inflight_queue_bytes(NUM));
    struct virtq_inflight inf, inf2;

    cr_assert_eq(inflight_attach(&vq, &inf, region), 0);
    desc(0, GPA + 0x4000, 16, 0, 0);
    desc(1, GPA + 0x4000, 16, 0, 0);
    desc(2, GPA + 0x4000, 16, 0, 0);
    publish(2);
    publish(0);
    publish(1);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    virtq_push(&vq, e, 0); /* head 0 completes; 2 stays in flight */
    cr_assert_eq(virtq_pop(&vq, e), 1);
    inflight_detach(&vq);
    /* A new backend attaches the same buffer: heads 2 then 1 come back first. */
    cr_assert_eq(inflight_attach(&vq, &inf2, region), 0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->head, 2);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->head, 1);
    cr_assert_eq(virtq_pop(&vq, e), 0);
    inflight_detach(&vq);
    free(region);
}

Test(virtq, inflight_foreign_shape_refused)
{
    uint8_t *region = calloc(1, inflight_queue_bytes(NUM));
    struct virtq_inflight inf;

    ((struct virtq_inflight_hdr *)region)->version = 1;
    ((struct virtq_inflight_hdr *)region)->desc_num = 4;
    cr_assert_eq(inflight_attach(&vq, &inf, region), -EINVAL);
    free(region);
}

Test(devmem, overlap_and_wrap_refused)
{
    struct devmem *m = malloc(sizeof(*m));
    uint8_t buf[64];

    devmem_init(m);
    cr_assert_eq(devmem_add_host(m, 0x1000, 0x9000, buf, 64), 0);
    cr_assert_eq(devmem_add_host(m, 0x1020, 0xa000, buf, 64), -EINVAL, "gpa overlap");
    cr_assert_eq(devmem_add_host(m, 0x2000, 0x9010, buf, 64), -EINVAL, "uva overlap");
    cr_assert_eq(devmem_add_host(m, UINT64_MAX - 10, 0xb000, buf, 64), -EINVAL, "gpa wraps");
    cr_assert_eq(devmem_add_host(m, 0x3000, 0xc000, buf, 0), -EINVAL, "empty");
    cr_assert_eq(devmem_gpa(m, 0x1000, 64), buf);
    cr_assert_null(devmem_gpa(m, 0x1000, 65));
    cr_assert_null(devmem_gpa(m, 0x1001, UINT64_MAX));
    cr_assert_null(devmem_gpa(m, 0xfff, 2));
    cr_assert_null(devmem_uva(m, 0x9000, 0));
    cr_assert_eq(devmem_uva(m, 0x903f, 1), buf + 63);
    free(m);
}

Test(devmem, table_full)
{
    struct devmem *m = malloc(sizeof(*m));
    uint8_t buf[16];

    devmem_init(m);
    for (unsigned i = 0; i < DEVMEM_MAX_REGIONS; i++)
        cr_assert_eq(devmem_add_host(m, i * 0x100ull, i * 0x100ull, buf, 16), 0);
    cr_assert_eq(devmem_add_host(m, 1ull << 40, 1ull << 40, buf, 16), -ENOSPC);
    for (unsigned i = 0; i < DEVMEM_MAX_REGIONS; i += 37)
        cr_assert_eq(devmem_gpa(m, i * 0x100ull + 15, 1), buf + 15);
    free(m);
}

/* Three chains published, all popped into the inflight buffer and never pushed: a backend that
   died with them in flight. A new one attaches the buffer with the ring where it was. */
static uint8_t *crash_with_three_in_flight(struct virtq_inflight *inf)
{
    uint8_t *region = calloc(1, inflight_queue_bytes(NUM));

    cr_assert_eq(inflight_attach(&vq, inf, region), 0);
    for (unsigned i = 0; i < 3; i++) {
        desc(i, GPA + 0x4000, 16, 0, 0);
        publish((uint16_t)i);
        cr_assert_eq(virtq_pop(&vq, e), 1);
    }
    inflight_detach(&vq);
    return region;
}

Test(virtq, unpop_of_resubmitted_element_keeps_the_avail_index)
{
    struct virtq_inflight inf, inf2;
    uint8_t *region = crash_with_three_in_flight(&inf);
    uint16_t seen[8];
    unsigned n = 0;
    int r;

    cr_assert_eq(inflight_attach(&vq, &inf2, region), 0);
    desc(3, GPA + 0x4000, 16, 0, 0);
    publish(3);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->head, 0);
    virtq_unpop(&vq); /* the host side could not take it */
    cr_assert_eq(vq.last_avail_idx, 3, "a resubmitted element never came from the avail index");
    while ((r = virtq_pop(&vq, e)) == 1 && n < 8)
        seen[n++] = e->head;
    cr_assert_eq(r, 0);
    cr_assert_eq(n, 4, "each head exactly once");
    cr_assert(seen[0] == 0 && seen[1] == 1 && seen[2] == 2 && seen[3] == 3);
    inflight_detach(&vq);
    free(region);
}

Test(virtq, unpops_undo_in_reverse_across_resubmit_and_avail)
{
    struct virtq_inflight inf, inf2;
    uint8_t *region = crash_with_three_in_flight(&inf);

    cr_assert_eq(inflight_attach(&vq, &inf2, region), 0);
    desc(3, GPA + 0x4000, 16, 0, 0);
    desc(4, GPA + 0x4000, 16, 0, 0);
    publish(3);
    publish(4);
    /* netd gives back every buffer of a frame that does not fit: 2, 3 and 4 here. */
    for (unsigned i = 0; i < 5; i++)
        cr_assert_eq(virtq_pop(&vq, e), 1);
    for (unsigned i = 0; i < 3; i++)
        virtq_unpop(&vq);
    cr_assert_eq(vq.last_avail_idx, 3);
    for (uint16_t want = 2; want <= 4; want++) {
        cr_assert_eq(virtq_pop(&vq, e), 1);
        cr_assert_eq(e->head, want);
    }
    cr_assert_eq(virtq_pop(&vq, e), 0);
    inflight_detach(&vq);
    free(region);
}

Test(virtq, unpopped_element_is_not_resubmitted_after_a_restart)
{
    uint8_t *region = calloc(1, inflight_queue_bytes(NUM));
    struct virtq_inflight inf, inf2;
    int r;

    cr_assert_eq(inflight_attach(&vq, &inf, region), 0);
    desc(0, GPA + 0x4000, 16, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    virtq_unpop(&vq);
    /* GET_VRING_BASE then a restart at the reported index, with the same inflight buffer. */
    inflight_detach(&vq);
    cr_assert_eq(vq.last_avail_idx, 0);
    cr_assert_eq(inflight_attach(&vq, &inf2, region), 0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->head, 0);
    r = virtq_pop(&vq, e);
    cr_assert_eq(r, 0, "head 0 handed out once, not from the inflight list and the ring both");
    inflight_detach(&vq);
    free(region);
}
