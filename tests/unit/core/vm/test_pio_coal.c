/* The coalesced-write ring's player (core/vm/pio_coal.c) over a ring laid out as KVM lays it
 * out in a vCPU's mapping, filled here the way KVM fills it. The real ring runs in the kvm
 * suite (every payload prints through it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/vm/pio_coal.h"

#define PORT 0x3f8
#define PAGE 4096u

struct rec {
    char bytes[512];
    size_t n;
};

static void rec_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct rec *r = opaque;

    (void)len;
    if (off == 0 && r->n < sizeof(r->bytes))
        r->bytes[r->n++] = (char)val;
}

static void rec_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    (void)opaque;
    (void)off;
    (void)len;
    *val = 0;
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

struct fixture {
    uint8_t run[3 * PAGE] __attribute__((aligned(4096)));
    struct kvm_coalesced_mmio_ring *ring;
    struct bus bus;
    struct rec rec;
    struct pio_coal pc;
    struct vmev ev;
};

static void setup(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    bus_init(&f->bus);
    cr_assert_eq(bus_add(&f->bus, PORT, 8, &rec_ops, &f->rec, "com1"), 0);
    cr_assert_eq(vmev_init(&f->ev), 0);
    pio_coal_init(&f->pc, &f->ev);
    cr_assert_eq(pio_coal_start(&f->pc, f->run, sizeof(f->run), PORT, PORT, PORT + 8, &f->bus), 0);
    f->ring = (struct kvm_coalesced_mmio_ring *)(f->run + KVM_COALESCED_MMIO_PAGE_OFFSET * PAGE);
}

static void teardown(struct fixture *f)
{
    pio_coal_destroy(&f->pc);
    vmev_destroy(&f->ev);
}

/* What KVM does for one coalesced write. */
static void kvm_put(struct fixture *f, uint64_t addr, uint32_t len, uint32_t pio, uint8_t byte)
{
    struct kvm_coalesced_mmio *m = &f->ring->coalesced_mmio[f->ring->last % f->pc.max];

    memset(m, 0, sizeof(*m));
    m->phys_addr = addr;
    m->len = len;
    m->pio = pio;
    m->data[0] = byte;
    f->ring->last = (f->ring->last + 1) % f->pc.max;
}

static struct fixture *fx(void)
{
    static struct fixture f;

    setup(&f);
    return &f;
}

Test(pio_coal, not_started_is_a_no_op)
{
    struct pio_coal pc;
    struct kvm_run run = { .exit_reason = KVM_EXIT_IO };

    pio_coal_init(&pc, NULL);
    pio_coal_exit(&pc, &run);
    pio_coal_exit(NULL, &run);
    cr_assert_eq(pio_coal_play(&pc), 0);
    cr_assert_eq(pio_coal_start(&pc, &run, sizeof(run), PORT, PORT, PORT + 8, NULL), -ENOTSUP);
    cr_assert_null(pc.ring);
    pio_coal_destroy(&pc);
}

Test(pio_coal, plays_in_order_and_empties_the_ring)
{
    struct fixture *f = fx();

    for (const char *s = "hello\n"; *s; s++)
        kvm_put(f, PORT, 1, 1, (uint8_t)*s);
    cr_assert_eq(pio_coal_play(&f->pc), 6);
    cr_assert_eq(f->rec.n, 6);
    cr_assert_arr_eq(f->rec.bytes, "hello\n", 6);
    cr_assert_eq(f->ring->first, f->ring->last);
    cr_assert_eq(pio_coal_play(&f->pc), 0);
    teardown(f);
}

Test(pio_coal, wraps_around_the_ring)
{
    struct fixture *f = fx();

    f->ring->first = f->ring->last = f->pc.max - 2;
    for (const char *s = "abcd"; *s; s++)
        kvm_put(f, PORT, 1, 1, (uint8_t)*s);
    cr_assert_eq(f->ring->last, 2);
    cr_assert_eq(pio_coal_play(&f->pc), 4);
    cr_assert_arr_eq(f->rec.bytes, "abcd", 4);
    cr_assert_eq(f->ring->first, 2);
    teardown(f);
}

Test(pio_coal, skips_what_is_not_a_write_to_the_port)
{
    struct fixture *f = fx();

    kvm_put(f, PORT + 1, 1, 1, 'x'); /* another port */
    kvm_put(f, PORT, 1, 0, 'x');     /* MMIO at the same number */
    kvm_put(f, PORT, 0, 1, 'x');     /* no bytes */
    kvm_put(f, PORT, 9, 1, 'x');     /* more than a port access */
    kvm_put(f, PORT, 1, 1, 'y');
    cr_assert_eq(pio_coal_play(&f->pc), 5);
    cr_assert_eq(f->rec.n, 1);
    cr_assert_eq(f->rec.bytes[0], 'y');
    teardown(f);
}

Test(pio_coal, one_ring_per_play_at_most)
{
    struct fixture *f = fx();

    /* An index that never matches: the play still ends, one ring's worth later. */
    f->ring->last = f->pc.max + 7;
    cr_assert_eq(pio_coal_play(&f->pc), f->pc.max);
    teardown(f);
}

Test(pio_coal, an_exit_on_the_device_wakes_the_vm_thread_once)
{
    struct fixture *f = fx();
    struct kvm_run run = { .exit_reason = KVM_EXIT_IO };
    struct pollfd p = { .fd = f->ev.efd, .events = POLLIN };

    run.io.port = 0x80;
    pio_coal_exit(&f->pc, &run);
    cr_assert_not(atomic_load(&f->pc.watching), "another port is no use of the device");
    run.io.port = PORT + 5; /* LSR */
    pio_coal_exit(&f->pc, &run);
    cr_assert(atomic_load(&f->pc.watching));
    cr_assert_eq(poll(&p, 1, 0), 1);
    cr_assert_eq(vmev_take(&f->ev), 0, "a plain wake-up: no event bits");
    pio_coal_exit(&f->pc, &run); /* watching already: no second wake-up */
    cr_assert_eq(poll(&p, 1, 0), 0);
    teardown(f);
}

/* The guest reads LSR: an exit on the device's ports. */
static void lsr_read(struct fixture *f)
{
    struct kvm_run run = { .exit_reason = KVM_EXIT_IO };

    run.io.port = PORT + 5;
    pio_coal_exit(&f->pc, &run);
}

/* The VM thread's wait, until `poster` (on a thread) posts VMEV_STOP. */
static void wait_for(struct fixture *f, void *(*poster)(void *))
{
    pthread_t t;

    cr_assert_eq(pthread_create(&t, NULL, poster, f), 0);
    cr_assert_eq(pio_coal_wait(&f->pc), VMEV_STOP);
    pthread_join(t, NULL);
}

static void *post_later(void *arg)
{
    struct fixture *f = arg;
    const struct timespec t = { .tv_nsec = 30 * 1000000 };

    nanosleep(&t, NULL);
    /* The VM thread played the write on a tick meanwhile, with no exit to play it. */
    vmev_post(&f->ev, f->rec.n == 1 ? VMEV_STOP : VMEV_ERROR);
    return NULL;
}

Test(pio_coal, the_vm_thread_plays_writes_no_exit_follows)
{
    struct fixture *f = fx();

    lsr_read(f); /* before the write */
    kvm_put(f, PORT, 1, 1, '!');
    wait_for(f, post_later);
    teardown(f);
}

static void *post_much_later(void *arg)
{
    struct fixture *f = arg;
    const struct timespec t = { .tv_nsec = 3 * PIO_COAL_IDLE_MS * 1000000L };

    nanosleep(&t, NULL);
    vmev_post(&f->ev, VMEV_STOP);
    return NULL;
}

Test(pio_coal, an_unused_port_stops_the_ticks)
{
    struct fixture *f = fx();

    lsr_read(f);
    wait_for(f, post_much_later);
    cr_assert_not(atomic_load(&f->pc.watching), "idle for %d ms and still ticking",
                  3 * PIO_COAL_IDLE_MS);
    teardown(f);
}

struct hook {
    struct fixture *f;
    atomic_int calls;
    atomic_int played_first; /* writes played when the hook first ran */
};

static void count_tick(void *arg)
{
    struct hook *h = arg;

    if (atomic_fetch_add(&h->calls, 1) == 0)
        atomic_store(&h->played_first, (int)h->f->rec.n);
}

/* The owner's hook (COM1's buffered output goes out there) runs on each tick, after the tick
 * played the ring. */
Test(pio_coal, each_tick_runs_the_hook_after_its_play)
{
    struct fixture *f = fx();
    struct hook h = { .f = f };

    pio_coal_on_tick(&f->pc, count_tick, &h);
    lsr_read(f);
    kvm_put(f, PORT, 1, 1, '!');
    wait_for(f, post_later);
    cr_assert_geq(atomic_load(&h.calls), 1, "no tick ran the hook in 30 ms");
    cr_assert_eq(atomic_load(&h.played_first), 1, "the hook ran before the tick's play");
    teardown(f);
}
