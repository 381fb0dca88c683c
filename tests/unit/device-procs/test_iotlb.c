/* The device-side IOTLB (VIRTIO_F_ACCESS_PLATFORM): the table's arithmetic (overlap, split,
 * merge, wrap, bound, permissions), then a split virtqueue whose rings and buffers are IOVAs
 * translated through it into a fake guest memory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "device-procs/devmem.h"
#include "device-procs/iotlb.h"
#include "device-procs/virtq.h"
#include "ipc/dirty_log.h"

#define GPA  0x100000ull
#define SIZE 0x10000ull
#define UVA  0x7f0000000000ull
#define NUM  8
#define RO   IOTLB_READ
#define WO   IOTLB_WRITE
#define RW   (IOTLB_READ | IOTLB_WRITE)

static struct iotlb t;

static void table_setup(void)
{
    cr_assert_eq(iotlb_init(&t), 0);
}

static void table_teardown(void)
{
    iotlb_destroy(&t);
}

/* uaddr of iova (one entry, read access), or UINT64_MAX when not mapped. */
static uint64_t at(uint64_t iova)
{
    uint64_t u;

    return iotlb_lookup(&t, iova, 1, 0, &u) ? UINT64_MAX : u;
}

TestSuite(iotlb, .init = table_setup, .fini = table_teardown);

Test(iotlb, update_and_lookup)
{
    uint64_t u;

    cr_assert_eq(iotlb_update(&t, 0x1000, 0x2000, 0x50000, RW), 0);
    cr_assert_eq(at(0x1000), 0x50000);
    cr_assert_eq(at(0x2fff), 0x51fff);
    cr_assert_eq(at(0xfff), UINT64_MAX);
    cr_assert_eq(at(0x3000), UINT64_MAX);
    cr_assert_eq(iotlb_lookup(&t, 0x2000, 0x1000, RW, &u), 0);
    cr_assert_eq(iotlb_lookup(&t, 0x2000, 0x1001, RO, &u), -EFAULT, "runs past the entry");
    cr_assert_eq(iotlb_count(&t), 1);
}

Test(iotlb, bad_ranges_refused)
{
    cr_assert_eq(iotlb_update(&t, 0x1000, 0, 0x50000, RW), -EINVAL, "size 0");
    cr_assert_eq(iotlb_update(&t, UINT64_MAX - 0xfff, 0x1001, 0x50000, RW), -EINVAL, "iova wraps");
    cr_assert_eq(iotlb_update(&t, 0x1000, 0x1000, UINT64_MAX - 0x10, RW), -EINVAL, "uaddr wraps");
    cr_assert_eq(iotlb_update(&t, 0x1000, 0x1000, 0x50000, 0), -EINVAL, "no permission");
    cr_assert_eq(iotlb_update(&t, 0x1000, 0x1000, 0x50000, 4), -EINVAL, "unknown permission");
    cr_assert_eq(iotlb_invalidate(&t, 0x1000, 0), -EINVAL);
    cr_assert_eq(iotlb_invalidate(&t, 2, UINT64_MAX), -EINVAL);
    cr_assert_eq(iotlb_count(&t), 0);
}

Test(iotlb, range_ending_at_2_64)
{
    uint64_t u;

    cr_assert_eq(iotlb_update(&t, UINT64_MAX - 0xfff, 0x1000, 0x50000, RW), 0);
    cr_assert_eq(at(UINT64_MAX), 0x50fff);
    cr_assert_eq(iotlb_lookup(&t, UINT64_MAX - 0xfff, 0x1000, RW, &u), 0);
    cr_assert_eq(iotlb_lookup(&t, UINT64_MAX, 2, RW, &u), -EFAULT, "a lookup that wraps");
    cr_assert_eq(iotlb_invalidate(&t, UINT64_MAX - 0x7ff, 0x800), 0);
    cr_assert_eq(at(UINT64_MAX - 0x800), 0x507ff);
    cr_assert_eq(at(UINT64_MAX - 0x7ff), UINT64_MAX);
}

Test(iotlb, update_replaces_the_overlapped_part)
{
    uint64_t u;

    cr_assert_eq(iotlb_update(&t, 0x1000, 0x4000, 0x50000, RW), 0);
    cr_assert_eq(iotlb_update(&t, 0x2000, 0x1000, 0x90000, RO), 0);
    cr_assert_eq(iotlb_count(&t), 3);
    cr_assert_eq(at(0x1fff), 0x50fff);
    cr_assert_eq(at(0x2000), 0x90000);
    cr_assert_eq(at(0x3000), 0x52000, "the right part keeps its own uaddr");
    cr_assert_eq(iotlb_lookup(&t, 0x2000, 1, WO, &u), -EACCES);
    cr_assert_eq(iotlb_lookup(&t, 0x3000, 1, WO, &u), 0);
    /* Across three entries at once, wider than them. */
    cr_assert_eq(iotlb_update(&t, 0x800, 0x5000, 0xa0000, WO), 0);
    cr_assert_eq(iotlb_count(&t), 1);
    cr_assert_eq(at(0x800), 0xa0000);
    cr_assert_eq(at(0x57ff), 0xa4fff);
    cr_assert_eq(iotlb_lookup(&t, 0x1000, 1, RO, &u), -EACCES);
}

Test(iotlb, invalidate_splits)
{
    cr_assert_eq(iotlb_update(&t, 0x0, 0x4000, 0x50000, RW), 0);
    cr_assert_eq(iotlb_update(&t, 0x8000, 0x2000, 0x70000, RW), 0);
    cr_assert_eq(iotlb_invalidate(&t, 0x1000, 0x1000), 0);
    cr_assert_eq(iotlb_count(&t), 3);
    cr_assert_eq(at(0xfff), 0x50fff);
    cr_assert_eq(at(0x1000), UINT64_MAX);
    cr_assert_eq(at(0x1fff), UINT64_MAX);
    cr_assert_eq(at(0x2000), 0x52000);
    /* Across the gap and into the next entry: the tail of one, the head of the other. */
    cr_assert_eq(iotlb_invalidate(&t, 0x3000, 0x6000), 0);
    cr_assert_eq(at(0x2fff), 0x52fff);
    cr_assert_eq(at(0x3000), UINT64_MAX);
    cr_assert_eq(at(0x8fff), UINT64_MAX);
    cr_assert_eq(at(0x9000), 0x71000);
    cr_assert_eq(iotlb_count(&t), 3);
    /* Nothing there: a no-op. */
    cr_assert_eq(iotlb_invalidate(&t, 0x100000, 0x1000), 0);
    cr_assert_eq(iotlb_count(&t), 3);
    iotlb_clear(&t);
    cr_assert_eq(iotlb_count(&t), 0);
    cr_assert_eq(at(0), UINT64_MAX);
}

Test(iotlb, adjacent_continuations_merge_and_replays_do_not_grow)
{
    cr_assert_eq(iotlb_update(&t, 0x0, 0x1000, 0x50000, RW), 0);
    cr_assert_eq(iotlb_update(&t, 0x2000, 0x1000, 0x52000, RW), 0);
    cr_assert_eq(iotlb_count(&t), 2);
    cr_assert_eq(iotlb_update(&t, 0x1000, 0x1000, 0x51000, RW), 0);
    cr_assert_eq(iotlb_count(&t), 1, "three pages continuing each other are one entry");
    cr_assert_eq(iotlb_update(&t, 0x1000, 0x1000, 0x51000, RW), 0);
    cr_assert_eq(iotlb_count(&t), 1, "a replayed mapping changes nothing");
    cr_assert_eq(iotlb_update(&t, 0x3000, 0x1000, 0x53000, RO), 0);
    cr_assert_eq(iotlb_update(&t, 0x4000, 0x1000, 0x90000, RW), 0);
    cr_assert_eq(iotlb_count(&t), 3, "other permission, other uaddr: separate");
}

Test(iotlb, bounded)
{
    uint32_t i;
    uint64_t u;

    /* Gaps between them, so none merges. */
    for (i = 0; i < IOTLB_MAX_ENTRIES; i++)
        cr_assert_eq(iotlb_update(&t, (uint64_t)i * 0x2000, 0x1000, (uint64_t)i * 0x3000, RW), 0);
    cr_assert_eq(iotlb_count(&t), IOTLB_MAX_ENTRIES);
    cr_assert_eq(iotlb_update(&t, (uint64_t)i * 0x2000, 0x1000, 0, RW), -ENOSPC);
    cr_assert_eq(at((uint64_t)i * 0x2000), UINT64_MAX, "a refused update changes nothing");
    cr_assert_eq(iotlb_update(&t, 0x2000, 0x1000, 0x3000, RW), 0, "a replay fits");
    cr_assert_eq(iotlb_update(&t, 0x2000, 0x1000, 0x5000, RO), 0, "a replacement fits");
    cr_assert_eq(iotlb_count(&t), IOTLB_MAX_ENTRIES);
    /* An unmap in the middle of an entry would need one more: the entry goes whole. */
    cr_assert_eq(iotlb_invalidate(&t, 0x4400, 0x400), 0);
    cr_assert_eq(iotlb_count(&t), IOTLB_MAX_ENTRIES - 1);
    cr_assert_eq(iotlb_lookup(&t, 0x4000, 1, RO, &u), -EFAULT);
    cr_assert_eq(iotlb_lookup(&t, 0x4fff, 1, RO, &u), -EFAULT);
    cr_assert_eq(at(0x6000), 0x9000, "the neighbours stay");
    /* With room again, a split works as asked. */
    cr_assert_eq(iotlb_invalidate(&t, 0x8400, 0x400), 0);
    cr_assert_eq(iotlb_count(&t), IOTLB_MAX_ENTRIES);
    cr_assert_eq(at(0x83ff), 0xc3ff);
    cr_assert_eq(at(0x8800), 0xc800);
    cr_assert_eq(at(0x8400), UINT64_MAX);
}

/* A translating thread against a changing table: once iotlb_invalidate has returned (the point
 * where the backend acks), no translation that starts afterwards may still find the entry; the
 * table grows and shrinks meanwhile (reallocations under readers). */
struct racer {
    uint64_t gen;  /* gen % 4: 0 mapping, 1 mapped, 2 unmapping, 3 unmapped */
    uint64_t seen; /* the last gen % 4 == 1 a reader found the entry in */
    bool stop;
    unsigned stale, ok;
};

static void *race_reader(void *arg)
{
    struct racer *rc = arg;

    while (!__atomic_load_n(&rc->stop, __ATOMIC_ACQUIRE)) {
        uint64_t g = __atomic_load_n(&rc->gen, __ATOMIC_ACQUIRE), u = 0;
        int r;

        iotlb_rdlock(&t);
        r = iotlb_lookup(&t, 0x7000, 0x800, RO, &u);
        iotlb_unlock(&t);
        /* Stale only if no new round began meanwhile: the writer moves gen on before it maps
         * the entry again, so a lookup that found the next round's mapping sees gen moved. */
        if (g % 4 == 3 && r == 0 && __atomic_load_n(&rc->gen, __ATOMIC_ACQUIRE) == g)
            __atomic_fetch_add(&rc->stale, 1, __ATOMIC_RELAXED); /* acked before it began */
        if (r == 0 && g % 4 == 1)
            __atomic_store_n(&rc->seen, g, __ATOMIC_RELEASE);
        if (r == 0)
            __atomic_fetch_add(&rc->ok, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

Test(iotlb, invalidate_returns_only_when_no_reader_can_see_the_entry)
{
    struct racer rc = { 0 };
    pthread_t th[3];

    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, race_reader, &rc), 0);
    for (uint64_t round = 0; round < 1000; round++) {
        __atomic_store_n(&rc.gen, 4 * round, __ATOMIC_RELEASE);
        cr_assert_eq(iotlb_update(&t, 0x7000, 0x1000, 0x50000, RW), 0);
        __atomic_store_n(&rc.gen, 4 * round + 1, __ATOMIC_RELEASE);
        /* The writer-preferring lock lets a writer that never pauses starve readers: let one
         * see the mapping now and then (bounded). */
        for (unsigned spin = 0; round % 16 == 0 && spin < 100000; spin++) {
            if (__atomic_load_n(&rc.seen, __ATOMIC_ACQUIRE) == 4 * round + 1)
                break;
            sched_yield();
        }
        for (uint64_t k = 0; k < 8; k++)
            cr_assert_eq(iotlb_update(&t, 0x100000 + 0x2000 * (round % 512) + k * 0x100000000ull,
                                      0x1000, k * 0x10000, RO),
                         0);
        __atomic_store_n(&rc.gen, 4 * round + 2, __ATOMIC_RELEASE);
        cr_assert_eq(iotlb_invalidate(&t, 0x7400, 0x100), 0);
        __atomic_store_n(&rc.gen, 4 * round + 3, __ATOMIC_RELEASE);
        if (round % 64 == 63)
            iotlb_clear(&t);
    }
    __atomic_store_n(&rc.stop, true, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(__atomic_load_n(&rc.stale, __ATOMIC_RELAXED), 0,
                 "%u lookups found an entry after its invalidation was acked", rc.stale);
    cr_assert_gt(rc.ok, 0, "the readers did run against mapped states");
}

/* --- a split virtqueue through the IOTLB --------------------------------------------------- */

/* IOVAs the guest gave: rings at RING_IOVA (one entry over guest pages 0-2), buffers elsewhere. */
#define RING_IOVA 0x40000000ull
#define BUF_IOVA  0x80000000ull

static uint8_t *mem;
static struct devmem dm;
static struct virtq vq;
static struct virtq_elem *e;

static void q_setup(void)
{
    uint64_t used_gpa = 0;

    table_setup();
    mem = aligned_alloc(4096, SIZE);
    cr_assert(mem);
    memset(mem, 0, SIZE);
    devmem_init(&dm);
    cr_assert_eq(devmem_add_host(&dm, GPA, UVA, mem, SIZE), 0);
    cr_assert_eq(iotlb_update(&t, RING_IOVA, 0x3000, UVA, RW), 0);
    virtq_init(&vq, 0);
    vq.num = NUM;
    cr_assert_eq(
        virtq_map_iotlb(&vq, &dm, &t, RING_IOVA, RING_IOVA + 0x1000, RING_IOVA + 0x2000, &used_gpa),
        0);
    cr_assert_eq(used_gpa, GPA + 0x2000, "the used ring's guest-physical address, for the log");
    cr_assert_eq((uint8_t *)vq.desc, mem);
    vq.indirect = true;
    virtq_prepare(&vq);
    e = malloc(sizeof(*e));
}

static void q_teardown(void)
{
    free(e);
    free(mem);
    table_teardown();
}

static void desc(struct vring_desc *tbl, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next)
{
    tbl[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static struct vring_desc *ring_desc(void)
{
    return (struct vring_desc *)mem;
}

static void publish(uint16_t head)
{
    struct vring_avail *a = (struct vring_avail *)(mem + 0x1000);

    a->ring[a->idx % NUM] = head;
    a->idx++;
}

TestSuite(iotlb_virtq, .init = q_setup, .fini = q_teardown);

Test(iotlb_virtq, buffers_across_two_entries_on_non_adjacent_pages)
{
    /* One readable buffer of 2 pages, IOVA-contiguous, on guest pages 8 and 5 (in that order);
     * one writable buffer on page 10. */
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x8000, RO), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x1000, 0x1000, UVA + 0x5000, RO), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x4000, 0x1000, UVA + 0xa000, WO), 0);
    desc(ring_desc(), 0, BUF_IOVA + 0x800, 0x1000, VRING_DESC_F_NEXT, 1);
    desc(ring_desc(), 1, BUF_IOVA + 0x4000, 0x100, VRING_DESC_F_WRITE, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->out_num, 2);
    cr_assert_eq(e->in_num, 1);
    cr_assert_eq(e->iov[0].iov_base, mem + 0x8800);
    cr_assert_eq(e->iov[0].iov_len, 0x800);
    cr_assert_eq(e->iov[1].iov_base, mem + 0x5000);
    cr_assert_eq(e->iov[1].iov_len, 0x800);
    cr_assert_eq(e->iov[2].iov_base, mem + 0xa000);
    cr_assert_eq(e->iov[2].iov_len, 0x100);
    cr_assert_eq(e->out_len, 0x1000);
    cr_assert_eq(e->in_len, 0x100);
    cr_assert_eq(virtq_push(&vq, e, 0x100), 0);
}

Test(iotlb_virtq, entries_continuing_in_host_memory_give_one_iovec)
{
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x5000, RO), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x1000, 0x1000, UVA + 0x6000, RW), 0);
    desc(ring_desc(), 0, BUF_IOVA, 0x2000, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->out_num, 1);
    cr_assert_eq(e->iov[0].iov_base, mem + 0x5000);
    cr_assert_eq(e->iov[0].iov_len, 0x2000);
}

Test(iotlb_virtq, missing_translation_breaks_the_ring)
{
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x5000, RW), 0);
    desc(ring_desc(), 0, BUF_IOVA + 0x800, 0x1000, 0, 0); /* runs 0x800 past the entry */
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT, "sticky");
}

Test(iotlb_virtq, guest_physical_address_is_not_an_iova)
{
    desc(ring_desc(), 0, GPA + 0x5000, 0x100, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(iotlb_virtq, write_descriptor_on_read_only_mapping_breaks_the_ring)
{
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x5000, RO), 0);
    desc(ring_desc(), 0, BUF_IOVA, 0x100, VRING_DESC_F_WRITE, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(iotlb_virtq, read_descriptor_on_write_only_mapping_breaks_the_ring)
{
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x5000, WO), 0);
    desc(ring_desc(), 0, BUF_IOVA, 0x100, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(iotlb_virtq, invalidated_buffer_fails_the_next_pop)
{
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x5000, RW), 0);
    desc(ring_desc(), 0, BUF_IOVA, 0x100, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(virtq_push(&vq, e, 0), 0);
    cr_assert_eq(iotlb_invalidate(&t, BUF_IOVA, 0x1000), 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(iotlb_virtq, buffer_mapped_outside_guest_memory)
{
    /* The table may say anything: a uaddr the memory table lacks is no memory at all. */
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + SIZE - 0x800, RW), 0);
    desc(ring_desc(), 0, BUF_IOVA, 0x1000, 0, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(iotlb_virtq, indirect_table_through_the_iotlb)
{
    struct vring_desc *ind = (struct vring_desc *)(mem + 0x6000);

    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x6000, RO), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x10000, 0x1000, UVA + 0x7000, RW), 0);
    desc(ind, 0, BUF_IOVA + 0x10000, 0x10, VRING_DESC_F_NEXT, 1);
    desc(ind, 1, BUF_IOVA + 0x10100, 0x20, VRING_DESC_F_WRITE, 0);
    desc(ring_desc(), 0, BUF_IOVA, 2 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(e->iov[0].iov_base, mem + 0x7000);
    cr_assert_eq(e->iov[1].iov_base, mem + 0x7100);
}

Test(iotlb_virtq, indirect_table_not_contiguous_in_host_memory)
{
    struct vring_desc *ind = (struct vring_desc *)(mem + 0x6ff0);

    /* IOVA-contiguous, but its halves are on guest pages 6 and 9. */
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x6000, RO), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x1000, 0x1000, UVA + 0x9000, RO), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x10000, 0x1000, UVA + 0x7000, RW), 0);
    desc(ind, 0, BUF_IOVA + 0x10000, 0x10, 0, 0);
    desc(ring_desc(), 0, BUF_IOVA + 0xff0, 2 * sizeof(struct vring_desc), VRING_DESC_F_INDIRECT, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), -EFAULT);
}

Test(iotlb_virtq, rings_need_their_mapping_and_access)
{
    struct virtq p;
    uint64_t g;

    p = vq;
    cr_assert_eq(virtq_map_iotlb(&p, &dm, &t, BUF_IOVA, RING_IOVA + 0x1000, RING_IOVA + 0x2000, &g),
                 -EFAULT, "descriptor table not mapped");
    cr_assert_eq(iotlb_update(&t, RING_IOVA + 0x2000, 0x1000, UVA + 0x2000, RO), 0);
    cr_assert_eq(
        virtq_map_iotlb(&p, &dm, &t, RING_IOVA, RING_IOVA + 0x1000, RING_IOVA + 0x2000, &g),
        -EFAULT, "a read-only used ring");
    /* The used ring across two entries on non-adjacent pages: not contiguous. */
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x5000, RW), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x1000, 0x1000, UVA + 0x8000, RW), 0);
    cr_assert_eq(virtq_map_iotlb(&p, &dm, &t, RING_IOVA, RING_IOVA + 0x1000, BUF_IOVA + 0xff0, &g),
                 -EFAULT);
    cr_assert_eq(virtq_map_iotlb(&p, &dm, &t, RING_IOVA, RING_IOVA + 0x1000, BUF_IOVA + 0x100, &g),
                 0);
    cr_assert_eq(g, GPA + 0x5100);
}

Test(iotlb_virtq, dirty_log_marks_the_guest_physical_pages_behind_the_iova)
{
    uint8_t log[64] = { 0 }; /* pages 0..511 */
    uint64_t gpage = GPA / 4096;

    vq.log = (struct virtq_log){ .base = log, .size = sizeof(log) };
    cr_assert_eq(iotlb_update(&t, BUF_IOVA, 0x1000, UVA + 0x9000, WO), 0);
    cr_assert_eq(iotlb_update(&t, BUF_IOVA + 0x1000, 0x1000, UVA + 0x5000, WO), 0);
    desc(ring_desc(), 0, BUF_IOVA + 0x800, 0x1000, VRING_DESC_F_WRITE, 0);
    publish(0);
    cr_assert_eq(virtq_pop(&vq, e), 1);
    cr_assert_eq(virtq_push(&vq, e, 0x900), 0);
    cr_assert(dirty_log_test(log, sizeof(log), gpage + 9));
    cr_assert(dirty_log_test(log, sizeof(log), gpage + 5), "the 0x100 bytes past the first page");
    cr_assert_not(dirty_log_test(log, sizeof(log), gpage + 6));
    cr_assert_not(dirty_log_test(log, sizeof(log), gpage + 10));
}
