#include "core/vm/cpu_hotplug.h"

#include <errno.h>
#include <string.h>

enum cpuhp_reg {
    CPUHP_CSEL = 0,
    CPUHP_STATUS = 4,
    CPUHP_REGS_END = 12,
};

enum cpuhp_status {
    CPUHP_ENABLED = 1u << 0,
    CPUHP_INSERTING = 1u << 1,
    CPUHP_REMOVING = 1u << 2,
    CPUHP_EJECT = 1u << 3,
};

static bool test_bit(const uint64_t *m, uint32_t n)
{
    return m[n / 64] >> (n % 64) & 1;
}

static void set_bit(uint64_t *m, uint32_t n)
{
    m[n / 64] |= 1ull << (n % 64);
}

static void clear_bit(uint64_t *m, uint32_t n)
{
    m[n / 64] &= ~(1ull << (n % 64));
}

int cpu_hotplug_init(struct cpu_hotplug *h, uint32_t max_vcpus, uint32_t boot_vcpus,
                     void (*eject)(void *opaque), void *opaque)
{
    int err;

    if (max_vcpus == 0 || max_vcpus > CPU_HOTPLUG_MAX_VCPUS || boot_vcpus == 0 ||
        boot_vcpus > max_vcpus)
        return -EINVAL;
    memset(h, 0, sizeof(*h));
    err = pthread_mutex_init(&h->lock, NULL);
    if (err)
        return -err;
    h->max_vcpus = max_vcpus;
    for (uint32_t i = 0; i < boot_vcpus; i++)
        set_bit(h->enabled, i);
    h->eject = eject;
    h->opaque = opaque;
    return 0;
}

void cpu_hotplug_destroy(struct cpu_hotplug *h)
{
    pthread_mutex_destroy(&h->lock);
}

void cpu_hotplug_reset(struct cpu_hotplug *h)
{
    pthread_mutex_lock(&h->lock);
    h->sel = 0;
    memset(h->inserting, 0, sizeof(h->inserting));
    memset(h->removing, 0, sizeof(h->removing));
    pthread_mutex_unlock(&h->lock);
}

int cpu_hotplug_insert(struct cpu_hotplug *h, uint32_t cpu)
{
    int err = 0;

    if (cpu >= h->max_vcpus)
        return -EINVAL;
    pthread_mutex_lock(&h->lock);
    if (test_bit(h->enabled, cpu)) {
        err = -EEXIST;
    } else {
        set_bit(h->enabled, cpu);
        set_bit(h->inserting, cpu);
    }
    pthread_mutex_unlock(&h->lock);
    return err;
}

int cpu_hotplug_request_remove(struct cpu_hotplug *h, uint32_t cpu)
{
    int err = 0;

    if (cpu >= h->max_vcpus)
        return -EINVAL;
    pthread_mutex_lock(&h->lock);
    if (test_bit(h->enabled, cpu))
        set_bit(h->removing, cpu);
    else
        err = -ENODEV;
    pthread_mutex_unlock(&h->lock);
    return err;
}

bool cpu_hotplug_take_ejects(struct cpu_hotplug *h, uint64_t mask[CPU_HOTPLUG_WORDS])
{
    bool any = false;

    pthread_mutex_lock(&h->lock);
    for (unsigned w = 0; w < CPU_HOTPLUG_WORDS; w++) {
        mask[w] = h->ejected[w];
        any |= mask[w] != 0;
        h->ejected[w] = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return any;
}

bool cpu_hotplug_enabled(struct cpu_hotplug *h, uint32_t cpu)
{
    bool on;

    if (cpu >= h->max_vcpus)
        return false;
    pthread_mutex_lock(&h->lock);
    on = test_bit(h->enabled, cpu);
    pthread_mutex_unlock(&h->lock);
    return on;
}

/* CSEL is a dword; the status byte may be read with any width up to a dword (the value is in
 * its low byte), as Cloud Hypervisor answers every width there. */
static bool is_csel(uint64_t off, uint32_t len)
{
    return off == CPUHP_CSEL && len == 4;
}

static bool is_status(uint64_t off, uint32_t len)
{
    return off == CPUHP_STATUS && (len == 1 || len == 2 || len == 4);
}

static void cpuhp_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    struct cpu_hotplug *h = opaque;
    uint32_t v = 0;

    if (!is_csel(off, len) && !is_status(off, len)) {
        *val = 0;
        return;
    }
    pthread_mutex_lock(&h->lock);
    if (off == CPUHP_CSEL) {
        v = h->sel;
    } else if (h->sel < h->max_vcpus) {
        v |= test_bit(h->enabled, h->sel) ? CPUHP_ENABLED : 0;
        v |= test_bit(h->inserting, h->sel) ? CPUHP_INSERTING : 0;
        v |= test_bit(h->removing, h->sel) ? CPUHP_REMOVING : 0;
    }
    pthread_mutex_unlock(&h->lock);
    *val = v;
}

static void cpuhp_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct cpu_hotplug *h = opaque;
    bool ejected = false;
    uint32_t cpu;

    if (!is_csel(off, len) && !is_status(off, len))
        return;
    pthread_mutex_lock(&h->lock);
    cpu = h->sel;
    if (off == CPUHP_CSEL) {
        h->sel = (uint32_t)val;
    } else if (cpu < h->max_vcpus) {
        /* The guest acknowledges a Notify by writing the bit back. */
        if (val & CPUHP_INSERTING)
            clear_bit(h->inserting, cpu);
        if (val & CPUHP_REMOVING)
            clear_bit(h->removing, cpu);
        if (val & CPUHP_EJECT && test_bit(h->enabled, cpu)) {
            clear_bit(h->enabled, cpu);
            clear_bit(h->inserting, cpu);
            clear_bit(h->removing, cpu);
            set_bit(h->ejected, cpu);
            ejected = true;
        }
    }
    pthread_mutex_unlock(&h->lock);
    /* Outside the lock: the callback may wake a thread that takes the ejects at once. */
    if (ejected && h->eject)
        h->eject(h->opaque);
}

const struct bus_ops cpu_hotplug_bus_ops = {
    .read = cpuhp_read,
    .write = cpuhp_write,
};
