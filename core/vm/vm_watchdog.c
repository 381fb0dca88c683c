/* The VM's virtio-watchdog (--watchdog, issue 20): a PCI function the core serves itself, as
 * it serves virtio-mem and virtio-pmem. It breaks the rule that each device with a data path
 * runs in its own process because it has none: its queue carries no guest data (a ping is an
 * empty writable buffer the device marks with one byte), and its only action is a VM reset,
 * which the core owns (vm_reboot, the path a guest's ACPI or i8042 reset takes). A device
 * process would hold guest memory and a channel back to the core only to ask for that reset.
 * Its periodic check needs no thread or timer fd either: the frontend thread's poll timeout
 * carries it (vpci_local.tick). A guest that floods the queue gets WDT_QUEUE_SIZE answers per
 * pass of that thread, its kicks folded by the eventfd; only the first ping of an arming is
 * logged. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/vm/virtio_pci_local.h"
#include "core/vm/virtio_watchdog.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vm_snapshot.h"
#include "core/vm/vring_req.h"

#define WDT_ID "_watchdog0" /* Cloud Hypervisor's id for it */

struct vm_watchdog {
    struct wdt w;            /* under dev->lock */
    struct vpci_local local; /* the transport's view of it */
    uint8_t config[1];       /* none: the device has no config (config_len 0) */
    struct vpci_dev *dev;    /* borrowed from vm->pci once bound */
    struct vm *vm;
    int64_t now;   /* serve's clock reading, for the pings it answers (frontend thread) */
    bool announce; /* a ping armed the checks: logged after the device lock (frontend thread) */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under the device lock: one ping. */
static size_t answer(void *arg, const uint8_t *in, size_t len, uint8_t out[VRING_RESP_MAX])
{
    struct vm_watchdog *v = arg;

    (void)in;
    (void)len;
    if (wdt_ping(&v->w, v->now))
        v->announce = true;
    return wdt_answer(out);
}

/* Frontend thread: the driver kicked the queue. */
static void serve(void *arg, struct vpci_dev *d)
{
    struct vm_watchdog *v = arg;

    v->now = now_ms();
    v->announce = false;
    vpci_local_serve(d, WDT_QUEUE_SIZE, answer, v, NULL, "malformed virtio-watchdog queue");
    if (v->announce)
        log_info(&v->vm->log, "%s: first ping, checking every %d seconds", WDT_ID,
                 WDT_INTERVAL_MS / 1000);
}

/* Frontend thread, every pass of its loop: the check that is due. A driver that reset the
 * device (status 0) stops the watchdog until it pings again. */
static int64_t tick(void *arg, struct vpci_dev *d)
{
    struct vm_watchdog *v = arg;
    bool fire;
    int64_t next, gap;

    pthread_mutex_lock(&d->lock);
    if (!(d->status & VPCI_S_DRIVER_OK) || d->resetting)
        v->w.armed = false;
    next = wdt_tick(&v->w, now_ms(), &fire, &gap);
    pthread_mutex_unlock(&d->lock);
    if (fire) {
        log_warn(&v->vm->log,
                 "%s: watchdog triggered, %lld seconds since the last ping: resetting the VM",
                 WDT_ID, (long long)gap);
        vm_reboot_for(v->vm, VM_RESET_WATCHDOG);
    }
    return next;
}

int vm_watchdog_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                     char *err, size_t errlen)
{
    struct vpci_params *list;
    struct vm_watchdog *v;

    if (!p->watchdog)
        return 0;
    list = realloc(*all, (*n + 2) * sizeof(*list));
    if (!list)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-watchdog");
    *all = list;
    v = calloc(1, sizeof(*v));
    if (!v)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-watchdog");
    v->vm = vm;
    wdt_reset(&v->w);
    v->local = (struct vpci_local){ .config = v->config, .serve = serve, .tick = tick, .arg = v };
    list[(*n)++] = (struct vpci_params){ .id = WDT_ID,
                                         .virtio_id = WDT_VIRTIO_ID,
                                         .num_queues = 1,
                                         .queue_size = WDT_QUEUE_SIZE,
                                         .sock = -1,
                                         .local = &v->local };
    vm->watchdog = v;
    return 0;
}

void vm_watchdog_bind(struct vm *vm)
{
    if (vm->watchdog)
        vm->watchdog->dev = vm->pci_inited ? pci_devices_find(&vm->pci, WDT_ID) : NULL;
}

void vm_watchdog_reboot(struct vm *vm)
{
    struct vm_watchdog *v = vm->watchdog;

    if (!v || !v->dev)
        return;
    pthread_mutex_lock(&v->dev->lock);
    wdt_reset(&v->w); /* the new guest arms it with its own first ping */
    pthread_mutex_unlock(&v->dev->lock);
}

void vm_watchdog_pause(struct vm *vm)
{
    struct vm_watchdog *v = vm->watchdog;

    if (!v || !v->dev)
        return;
    pthread_mutex_lock(&v->dev->lock);
    wdt_pause(&v->w, now_ms());
    pthread_mutex_unlock(&v->dev->lock);
}

void vm_watchdog_save(struct vm *vm, struct vms_watchdog *out)
{
    struct vm_watchdog *v = vm->watchdog;

    *out = (struct vms_watchdog){ .present = v != NULL };
    if (!v || !v->dev)
        return;
    pthread_mutex_lock(&v->dev->lock);
    wdt_save(&v->w, VMS_WDT_MAX_MS, &out->armed, &out->since_ping_ms, &out->to_check_ms);
    pthread_mutex_unlock(&v->dev->lock);
}

int vm_watchdog_load(struct vm *vm, const struct vms_watchdog *in, char *err, size_t errlen)
{
    struct vm_watchdog *v = vm->watchdog;

    if (in->present != (v != NULL))
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %s virtio-watchdog, config.json %s",
                          in->present ? "a" : "no", v ? "has one" : "has none");
    if (!v || !v->dev)
        return 0;
    pthread_mutex_lock(&v->dev->lock);
    wdt_load(&v->w, now_ms(), in->armed, in->since_ping_ms, in->to_check_ms);
    pthread_mutex_unlock(&v->dev->lock);
    if (in->armed)
        log_info(&vm->log,
                 "%s: restored armed (%u ms after the last ping when paused); the checks restart "
                 "%d seconds after vm.resume",
                 WDT_ID, in->since_ping_ms, WDT_INTERVAL_MS / 1000);
    return 0;
}

void vm_watchdog_resume(struct vm *vm)
{
    struct vm_watchdog *v = vm->watchdog;
    uint64_t one = 1;
    bool armed;

    if (!v || !v->dev)
        return;
    pthread_mutex_lock(&v->dev->lock);
    wdt_resume(&v->w, now_ms());
    armed = v->w.armed;
    pthread_mutex_unlock(&v->dev->lock);
    if (armed) { /* the frontend thread may sleep without a timeout: schedule the check */
        log_info(&vm->log, "%s: resumed, next check in %d seconds", WDT_ID, WDT_INTERVAL_MS / 1000);
        (void)!write(vm->pci.ctx.wake_fd, &one, sizeof(one));
    }
}

void vm_watchdog_destroy(struct vm *vm)
{
    free(vm->watchdog);
    vm->watchdog = NULL;
}
