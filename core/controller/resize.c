#include "core/controller/resize.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/controller/api_ctl.h"
#include "core/controller/balloon_ctl.h"
#include "core/controller/resize_vmem.h"
#include "core/controller/resources.h"
#include "validate.h"

/* Cloud Hypervisor's hot-added DIMMs come in multiples of this (memory_manager.rs). */
#define RAM_BLOCK PB_HOTPLUG_BLOCK

/*
 * desired_ram against the configuration: 0 when it may go ahead (*delta bytes to add on a
 * booted VM, 0: nothing to do), else a 500 message in msg. Cloud Hypervisor refuses zones
 * (InvalidResizeWithMemoryZones), blocks that are not 128 MiB multiples (InvalidSize) and more
 * than hotplug_size holds (InsufficientHotplugRam); a smaller size it ignores on the running
 * VM while its config shrinks, which cellvm refuses instead (the RAM stays).
 */
static int check_ram(const struct api_ctl *a, uint64_t want, bool booted, uint64_t *delta,
                     char *msg, size_t len)
{
    const struct cli_memory *m = &a->cfg->memory;
    uint64_t have = m->size;
    uint64_t room = m->has_hotplug_size && m->hotplug_method == CLI_HOTPLUG_ACPI
                        ? (m->hotplug_size & ~0xfffull)
                        : 0;

    *delta = 0;
    if (resize_vmem_on(a)) { /* *delta: the RAM step has work (virtio-mem answers it) */
        int r = resize_vmem_check(a, want, booted, msg, len);

        *delta = r || !booted ? 0 : want;
        return r;
    }
    if (a->cfg->nzones || !have) {
        snprintf(msg, len, "desired_ram: memory with --memory-zone cannot be resized");
        return -EINVAL;
    }
    if (want < (1ull << 20) || want > PB_MAX_HOTPLUG_SIZE || want % 4096) {
        snprintf(msg, len, "desired_ram %llu: must be 1 MiB to 1 TiB in whole 4 KiB pages",
                 (unsigned long long)want);
        return -EINVAL;
    }
    if (!booted || want == have)
        return 0;
    if (want < have) {
        snprintf(msg, len, "desired_ram: shrinking ACPI hotplugged memory is not supported");
        return -EINVAL;
    }
    if (!room) {
        snprintf(msg, len, "desired_ram: the VM has no memory hotplug_size");
        return -ENOSPC;
    }
    if ((want - have) % RAM_BLOCK) {
        snprintf(msg, len, "desired_ram: %llu bytes more is not a multiple of 128 MiB",
                 (unsigned long long)(want - have));
        return -EINVAL;
    }
    if (a->mem_added > room || want - have > room - a->mem_added) {
        snprintf(msg, len,
                 "desired_ram: %llu MiB more do not fit in the %llu MiB of hotplug_size "
                 "left",
                 (unsigned long long)((want - have) >> 20),
                 (unsigned long long)(a->mem_added < room ? (room - a->mem_added) >> 20 : 0));
        return -ENOSPC;
    }
    *delta = want - have;
    return 0;
}

/* A memfd of delta bytes sealed like boot RAM, to the core; it holds the only copy then. */
static int send_ram(struct api_ctl *a, struct sv_child *core, uint64_t delta, char *msg, size_t len)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__AddMemory am = CELLVM__ADD_MEMORY__INIT;
    const struct cli_memory *m = &a->cfg->memory;
    uint64_t huge = m->hugepages ? (m->has_hugepage_size ? m->hugepage_size : 2ull << 20) : 0;
    int fd = -1, r = resources_create_ram(delta, huge, &fd, msg, len);

    if (r)
        return r;
    am.size = delta;
    env.body_case = CELLVM__ENVELOPE__BODY_ADD_MEMORY;
    env.add_memory = &am;
    r = core ? sv_send(core, &env, &fd, 1) : -ENOTCONN;
    close(fd);
    if (r)
        snprintf(msg, len, "the core cannot be reached");
    return r;
}

static int send_vcpus(struct sv_child *core, uint32_t want)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VmResize vr = CELLVM__VM_RESIZE__INIT;

    vr.desired_vcpus = want;
    env.body_case = CELLVM__ENVELOPE__BODY_VM_RESIZE;
    env.vm_resize = &vr;
    return core ? sv_send(core, &env, NULL, 0) : -ENOTCONN;
}

/* The next step of the pending vm.resize: vCPUs first, then RAM (Cloud Hypervisor's order);
 * answered 204 when nothing is left. */
static void next_step(struct api_ctl *a)
{
    struct sv_child *core = a->ops->core(a->arg);
    uint64_t id = a->vm_resize_id, delta;
    char msg[PB_MAX_MESSAGE_LEN];
    int r = 0;

    if (a->vm_resize_cpus) {
        if (send_vcpus(core, a->vm_resize_cpus)) {
            snprintf(msg, sizeof(msg), "the core cannot be reached");
            r = -ENOTCONN;
        }
    } else if (a->vm_resize_ram && resize_vmem_on(a)) {
        r = resize_vmem_send_ram(a, core, a->vm_resize_ram, msg, sizeof(msg));
    } else if (a->vm_resize_ram) {
        r = check_ram(a, a->vm_resize_ram, true, &delta, msg, sizeof(msg));
        if (!r && delta)
            r = send_ram(a, core, delta, msg, sizeof(msg));
        else if (!r)
            a->vm_resize_ram = 0;
    }
    if (!r && (a->vm_resize_cpus || a->vm_resize_ram))
        return; /* waiting for the core */
    a->vm_resize_id = 0;
    a->vm_resize_cpus = 0;
    a->vm_resize_ram = 0;
    api_ctl_respond(a, id, r ? 500 : 204, r ? msg : NULL, NULL);
}

void resize_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmResize *rz)
{
    bool booted = a->state == API_VM_RUNNING || a->state == API_VM_PAUSED;
    uint64_t delta = 0;
    char msg[PB_MAX_MESSAGE_LEN];

    if (a->state == API_VM_NONE) {
        api_ctl_respond(a, id, 404, "the VM is not created", NULL);
        return;
    }
    if (rz->has_desired_balloon) {
        uint32_t st = balloon_ctl_check(a, rz->desired_balloon, msg, sizeof(msg));

        if (st) {
            api_ctl_respond(a, id, st, msg, NULL);
            return;
        }
    }
    if (rz->has_desired_vcpus && (!rz->desired_vcpus || rz->desired_vcpus > a->cfg->cpus.max)) {
        snprintf(msg, sizeof(msg), "desired_vcpus %u: must be between 1 and max_vcpus (%u)",
                 rz->desired_vcpus, a->cfg->cpus.max);
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    if (rz->has_desired_ram && check_ram(a, rz->desired_ram, booted, &delta, msg, sizeof(msg))) {
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    /* The balloon needs no step of its own: its daemon takes the target at once. */
    if (rz->has_desired_balloon)
        balloon_ctl_set(a, rz->desired_balloon);
    if (!booted) { /* Created or Shutdown: the next boot starts with them */
        if (rz->has_desired_vcpus)
            a->cfg->cpus.boot = rz->desired_vcpus;
        if (rz->has_desired_ram)
            a->cfg->memory.size = rz->desired_ram;
        api_ctl_respond(a, id, 204, NULL, NULL);
        return;
    }
    if (!rz->has_desired_vcpus && !delta) {
        api_ctl_respond(a, id, 204, NULL, NULL); /* nothing asked, nothing to do */
        return;
    }
    if (a->vm_resize_id || a->vm_resize_zone_id) {
        api_ctl_respond(a, id, 429, "another vm.resize is in progress", NULL);
        return;
    }
    a->vm_resize_id = id;
    a->vm_resize_cpus = rz->has_desired_vcpus ? rz->desired_vcpus : 0;
    a->vm_resize_ram = delta ? rz->desired_ram : 0;
    next_step(a);
}

static void fail(struct api_ctl *a, int errnum, const char *message)
{
    uint64_t id = a->vm_resize_id;
    char msg[PB_MAX_MESSAGE_LEN];

    a->vm_resize_id = 0;
    a->vm_resize_cpus = 0;
    a->vm_resize_ram = 0;
    snprintf(msg, sizeof(msg), "vm.resize: %s", message && *message ? message : strerror(errnum));
    api_ctl_respond(a, id, errnum == EBUSY ? 429 : 500, msg, NULL);
}

void resize_on_done(struct api_ctl *a, const Cellvm__VmResizeDone *d)
{
    if (!a->vm_resize_id || !a->vm_resize_cpus)
        return;
    if (d->errnum) {
        fail(a, d->errnum, d->message);
        return;
    }
    /* vm.info's boot_vcpus follows the VM, as Cloud Hypervisor's config does. */
    a->cfg->cpus.boot = a->vm_resize_cpus;
    a->vm_resize_cpus = 0;
    next_step(a);
}

void resize_on_memory_added(struct api_ctl *a, const Cellvm__MemoryAdded *m)
{
    if (!a->vm_resize_id || !a->vm_resize_ram || a->vm_resize_cpus)
        return;
    if (m->errnum) {
        fail(a, m->errnum, m->message);
        return;
    }
    /* Cloud Hypervisor's config: memory.size is the RAM the VM has now (and boots with). */
    a->mem_added += m->size;
    a->cfg->memory.size += m->size;
    a->vm_resize_ram = 0;
    next_step(a);
}

/* virtio-mem's answer to vm.resize's RAM step: hotplugged_size follows, as Cloud Hypervisor's
 * config (None when back at the boot size). */
void resize_on_vmem_resized(struct api_ctl *a, const Cellvm__VirtioMemResized *m)
{
    struct cli_memory *mem = &a->cfg->memory;

    if (!a->vm_resize_id || !a->vm_resize_vmem || a->vm_resize_cpus)
        return;
    a->vm_resize_vmem = false;
    if (m->errnum) {
        fail(a, m->errnum, m->message);
        return;
    }
    mem->has_hotplugged_size = a->vm_resize_ram > mem->size;
    mem->hotplugged_size = mem->has_hotplugged_size ? a->vm_resize_ram - mem->size : 0;
    a->vm_resize_ram = 0;
    next_step(a);
}

void resize_drop(struct api_ctl *a)
{
    resize_vmem_drop(a);
    if (a->vm_resize_id)
        api_ctl_respond(a, a->vm_resize_id, 500, "the VM stopped before the resize was done", NULL);
    a->vm_resize_id = 0;
    a->vm_resize_cpus = 0;
    a->vm_resize_ram = 0;
    a->mem_added = 0; /* the next boot's RAM is memory.size, hot-added or not */
}
