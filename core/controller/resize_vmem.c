#include "core/controller/resize_vmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/controller/api_ctl.h"
#include "core/controller/resize.h"
#include "validate.h"

/* Index in CoreConfig's memory.virtio_mem of zone z's device: the regions go in zone order,
 * one per zone with a hotplug_size (main.c's fill_vmem), or -1 when z has none. */
static int device_of(const struct cli_config *c, uint32_t z)
{
    int n = 0;

    if (!c->nzones)
        return c->memory.has_hotplug_size ? 0 : -1;
    if (z >= c->nzones || !c->zones[z].has_hotplug_size)
        return -1;
    for (uint32_t i = 0; i < z; i++)
        n += c->zones[i].has_hotplug_size;
    return n;
}

bool resize_vmem_on(const struct api_ctl *a)
{
    return a->cfg->memory.hotplug_method == CLI_HOTPLUG_VIRTIO_MEM;
}

/* A device's new requested size, as the device checks it (virtio-mem's resize). */
static int check_size(uint64_t plugged, bool has_room, uint64_t room, const char *what, char *msg,
                      size_t len)
{
    if (!has_room) {
        snprintf(msg, len, "%s: the memory has no hotplug_size", what);
        return -ENOSPC;
    }
    if (plugged > room) {
        snprintf(msg, len, "%s: %llu MiB more do not fit in the %llu MiB of hotplug_size", what,
                 (unsigned long long)(plugged >> 20), (unsigned long long)(room >> 20));
        return -ENOSPC;
    }
    if (plugged % PB_VIRTIO_MEM_BLOCK) {
        snprintf(msg, len, "%s: %llu bytes more is not a multiple of the 2 MiB virtio-mem block",
                 what, (unsigned long long)plugged);
        return -EINVAL;
    }
    return 0;
}

int resize_vmem_check(const struct api_ctl *a, uint64_t want, bool booted, char *msg, size_t len)
{
    const struct cli_memory *m = &a->cfg->memory;

    if (a->cfg->nzones || !m->size) {
        snprintf(msg, len,
                 "desired_ram: memory with --memory-zone is resized with "
                 "vm.resize-zone");
        return -EINVAL;
    }
    if (want < (1ull << 20) || want > PB_MAX_HOTPLUG_SIZE || want % 4096) {
        snprintf(msg, len, "desired_ram %llu: must be 1 MiB to 1 TiB in whole 4 KiB pages",
                 (unsigned long long)want);
        return -EINVAL;
    }
    if (!booted)
        return 0;
    if (want < m->size) {
        snprintf(msg, len, "desired_ram %llu: less than the boot memory size %llu",
                 (unsigned long long)want, (unsigned long long)m->size);
        return -EINVAL;
    }
    return check_size(want - m->size, m->has_hotplug_size, m->hotplug_size, "desired_ram", msg,
                      len);
}

static int send_resize(struct sv_child *core, uint32_t index, uint64_t size)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VirtioMemResize vr = CELLVM__VIRTIO_MEM_RESIZE__INIT;

    vr.index = index;
    vr.requested_size = size;
    env.body_case = CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZE;
    env.virtio_mem_resize = &vr;
    return core ? sv_send(core, &env, NULL, 0) : -ENOTCONN;
}

int resize_vmem_send_ram(struct api_ctl *a, struct sv_child *core, uint64_t want, char *msg,
                         size_t len)
{
    int r = resize_vmem_check(a, want, true, msg, len);

    if (!r && send_resize(core, 0, want - a->cfg->memory.size)) {
        snprintf(msg, len, "the core cannot be reached");
        r = -ENOTCONN;
    }
    a->vm_resize_vmem = r == 0;
    return r;
}

static int find_zone(const struct cli_config *c, const char *id)
{
    for (size_t i = 0; i < c->nzones; i++)
        if (!strcmp(c->zones[i].id, id))
            return (int)i;
    return -1;
}

void resize_zone_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmResizeZone *rz)
{
    bool booted = a->state == API_VM_RUNNING || a->state == API_VM_PAUSED;
    char msg[PB_MAX_MESSAGE_LEN];
    struct cli_memory_zone *z;
    int zi, dev, r;

    if (a->state == API_VM_NONE) { /* Cloud Hypervisor: VmResizeZone(VmNotCreated), a 500 */
        api_ctl_respond(a, id, 500, "the VM is not created", NULL);
        return;
    }
    zi = rz && rz->id ? find_zone(a->cfg, rz->id) : -1;
    if (zi < 0) {
        snprintf(msg, sizeof(msg), "vm.resize-zone: no memory zone '%.64s'",
                 rz && rz->id ? rz->id : "");
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    z = &a->cfg->zones[zi];
    if (rz->desired_ram < 4096 || rz->desired_ram > PB_MAX_HOTPLUG_SIZE || rz->desired_ram % 4096) {
        api_ctl_respond(a, id, 500,
                        "vm.resize-zone: desired_ram must be 4 KiB to 1 TiB in whole "
                        "4 KiB pages",
                        NULL);
        return;
    }
    if (!booted) { /* Cloud Hypervisor: the next boot has a zone of that size */
        z->size = rz->desired_ram;
        api_ctl_respond(a, id, 204, NULL, NULL);
        return;
    }
    if (rz->desired_ram < z->size) {
        snprintf(msg, sizeof(msg),
                 "vm.resize-zone: desired_ram %llu is less than zone '%s''s "
                 "boot size %llu",
                 (unsigned long long)rz->desired_ram, z->id, (unsigned long long)z->size);
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    dev = device_of(a->cfg, (uint32_t)zi);
    r = check_size(rz->desired_ram - z->size, dev >= 0, z->hotplug_size, "vm.resize-zone", msg,
                   sizeof(msg));
    if (r) {
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    if (a->vm_resize_id || a->vm_resize_zone_id) {
        api_ctl_respond(a, id, 429, "another resize is in progress", NULL);
        return;
    }
    if (send_resize(a->ops->core(a->arg), (uint32_t)dev, rz->desired_ram - z->size)) {
        api_ctl_respond(a, id, 500, "the core cannot be reached", NULL);
        return;
    }
    a->vm_resize_zone_id = id;
    a->vm_resize_zone = (uint32_t)zi;
    a->vm_resize_zone_ram = rz->desired_ram;
}

void resize_vmem_on_resized(struct api_ctl *a, const Cellvm__VirtioMemResized *m)
{
    uint64_t id = a->vm_resize_zone_id;
    char msg[PB_MAX_MESSAGE_LEN];
    struct cli_memory_zone *z;

    if (!id) {
        resize_on_vmem_resized(a, m);
        return;
    }
    a->vm_resize_zone_id = 0;
    if (m->errnum) {
        snprintf(msg, sizeof(msg), "vm.resize-zone: %s",
                 m->message && *m->message ? m->message : strerror(m->errnum));
        api_ctl_respond(a, id, 500, msg, NULL);
        return;
    }
    /* Cloud Hypervisor's config: the zone's hotplugged_size follows the request. */
    z = &a->cfg->zones[a->vm_resize_zone];
    z->has_hotplugged_size = true;
    z->hotplugged_size = a->vm_resize_zone_ram - z->size;
    api_ctl_respond(a, id, 204, NULL, NULL);
}

void resize_vmem_drop(struct api_ctl *a)
{
    if (a->vm_resize_zone_id)
        api_ctl_respond(a, a->vm_resize_zone_id, 500,
                        "the VM stopped before the zone resize was done", NULL);
    a->vm_resize_zone_id = 0;
    a->vm_resize_vmem = false;
}
