#include "core/vm/pio_coal.h"

#include <errno.h>
#include <string.h>

/* KVM's ring fills one page (x86_64: 4 KiB) after its two indexes. */
#define RING_PAGE 4096u

void pio_coal_init(struct pio_coal *pc, struct vmev *ev)
{
    memset(pc, 0, sizeof(*pc));
    pc->ev = ev;
    pthread_mutex_init(&pc->lock, NULL);
}

int pio_coal_start(struct pio_coal *pc, void *run, size_t run_size, uint16_t port,
                   uint16_t watch_lo, uint16_t watch_hi, const struct bus *pio)
{
    size_t off = (size_t)KVM_COALESCED_MMIO_PAGE_OFFSET * RING_PAGE;

    if (run_size < off + RING_PAGE)
        return -ENOTSUP;
    pc->max = (uint32_t)((RING_PAGE - sizeof(struct kvm_coalesced_mmio_ring)) /
                         sizeof(struct kvm_coalesced_mmio));
    pc->port = port;
    pc->watch_lo = watch_lo;
    pc->watch_hi = watch_hi;
    pc->pio = pio;
    pc->ring = (struct kvm_coalesced_mmio_ring *)((uint8_t *)run + off);
    return 0;
}

void pio_coal_on_tick(struct pio_coal *pc, void (*fn)(void *arg), void *arg)
{
    pc->on_tick = fn;
    pc->on_tick_arg = arg;
}

void pio_coal_destroy(struct pio_coal *pc)
{
    pio_coal_play(pc); /* the last writes before the end still reach the device */
    pc->ring = NULL;
    pthread_mutex_destroy(&pc->lock);
}

uint32_t pio_coal_play(struct pio_coal *pc)
{
    struct kvm_coalesced_mmio_ring *ring = pc->ring;
    uint32_t n = 0, first;

    if (!ring || __atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
                     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&pc->lock);
    first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
    /* At most one ring's worth: KVM exits instead of filling it further. */
    while (n < pc->max && first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
        const struct kvm_coalesced_mmio *m = &ring->coalesced_mmio[first % pc->max];
        uint64_t v = 0;
        uint32_t len = m->len;

        /* KVM fills the entries; anything but a write of 1-4 bytes to the port is skipped. */
        if (m->pio && m->phys_addr == pc->port && len >= 1 && len <= 4) {
            memcpy(&v, m->data, len);
            bus_write(pc->pio, m->phys_addr, len, v);
        }
        first = (first + 1) % pc->max;
        __atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
        n++;
    }
    pthread_mutex_unlock(&pc->lock);
    return n;
}

void pio_coal_exit(struct pio_coal *pc, const struct kvm_run *run)
{
    bool used;

    if (!pc || !pc->ring)
        return;
    used = pio_coal_play(pc) > 0;
    if (run->exit_reason == KVM_EXIT_IO && run->io.port >= pc->watch_lo &&
        run->io.port < pc->watch_hi)
        used = true;
    if (!used)
        return;
    atomic_fetch_add(&pc->activity, 1);
    if (!atomic_exchange(&pc->watching, true))
        vmev_post(pc->ev, 0); /* a plain wake-up: the VM thread starts its ticks */
}

/* A tick of the VM thread: play the ring; stop watching after PIO_COAL_IDLE_MS unused. */
static void tick(struct pio_coal *pc)
{
    unsigned int now = atomic_load(&pc->activity);

    pio_coal_play(pc);
    if (pc->on_tick)
        pc->on_tick(pc->on_tick_arg);
    if (now != pc->seen) {
        pc->seen = now;
        pc->idle = 0;
        return;
    }
    if (++pc->idle < PIO_COAL_IDLE_MS / PIO_COAL_TICK_MS)
        return;
    pc->idle = 0;
    atomic_store(&pc->watching, false);
    /* A use between the read above and the store: that vCPU saw watching set and did not wake
     * this thread, so keep watching. */
    if (atomic_load(&pc->activity) != now)
        atomic_store(&pc->watching, true);
}

unsigned int pio_coal_wait(struct pio_coal *pc)
{
    for (;;) {
        bool watching = pc->ring && atomic_load(&pc->watching);
        unsigned int bits = vmev_wait(pc->ev, watching ? PIO_COAL_TICK_MS : -1);

        if (bits)
            return bits;
        if (watching)
            tick(pc);
    }
}
