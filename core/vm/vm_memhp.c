/* ACPI memory hotplug on a running VM (vm.h's vm_add_memory), Cloud Hypervisor's way: RAM is
 * only ever added, in 128 MiB multiples, each piece a DIMM slot of \_SB_.MHPC. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/platform.h"
#include "core/vm/kvm_ioctl.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vm_snapshot.h"
#include "core/vm/vm_sys.h"

#define MEMHP_ALIGN (128ull << 20) /* hot-added DIMMs: start and size, as Cloud Hypervisor */

/*
 * The area starts at the end of RAM rounded up to 128 MiB, or at 4 GiB when RAM ends below
 * the hole (Cloud Hypervisor's MemoryManager::start_addr), and is hotplug_size long.
 */
/* RAM hot-added through ACPI (not a pmem or virtio-mem region of no zone). */
static bool hot_ram(const struct guest_mem_region *g)
{
    return g->zone == GUEST_MEM_HOTPLUG_ZONE && !g->pmem && !g->vmem && !g->detachable;
}

void vm_memhp_init(struct vm *vm, const struct vm_params *p)
{
    uint64_t end = 0;

    /* A restore brings the hot-added regions along (vm_restore_hotplugged): the area is
     * where they were, above everything else. */
    for (uint32_t i = 0; i < p->mem.nregions; i++) {
        const struct guest_mem_region *g = &p->mem.regions[i];

        if (!g->detachable && !hot_ram(g) && g->gpa + g->size > end)
            end = g->gpa + g->size;
    }

    for (uint32_t i = 0; i < GUEST_MEM_MAX_HOTPLUG; i++)
        vm->memhp_fd[i] = -1;
    vm->memhp_size = p->hotplug_size;
    vm->memhp_base =
        end <= GPA_MEM32_END ? GPA_RAM_ABOVE_4G : (end + MEMHP_ALIGN - 1) & ~(MEMHP_ALIGN - 1);
}

void vm_memhp_destroy(struct vm *vm)
{
    uint32_t r = 0;

    for (uint32_t i = 0; i < GUEST_MEM_MAX_HOTPLUG; i++) {
        /* The i-th hot-added RAM region: detachable pmem regions may sit between them. */
        while (r < vm->mem.nregions && (vm->mem.regions[r].zone != GUEST_MEM_HOTPLUG_ZONE ||
                                        vm->mem.regions[r].pmem || vm->mem.regions[r].vmem))
            r++;
        /* A restored region is part of the boot mapping (no memhp_host): not unmapped here. */
        if (i < vm->mem.nhotplug && r < vm->mem.nregions && vm->memhp_host[i])
            vm_sys_unmap(vm->memhp_host[i], vm->mem.regions[r].size);
        if (i < vm->mem.nhotplug && r < vm->mem.nregions)
            r++;
        if (vm->memhp_fd[i] >= 0)
            close(vm->memhp_fd[i]);
        vm->memhp_fd[i] = -1;
        vm->memhp_host[i] = NULL;
    }
}

/* Where the next piece goes, or -ENOSPC / -EINVAL with err. */
static int place(struct vm *vm, uint64_t size, uint64_t *at, char *err, size_t errlen)
{
    uint32_t n = vm->mem.nhotplug;
    uint64_t end = vm->memhp_base + vm->memhp_size;

    if (!vm->memhp_size || !vm->dev.memhp_on)
        return vm_set_err(err, errlen, -ENOSPC, "the VM has no memory hotplug_size");
    if (!size || size % MEMHP_ALIGN)
        return vm_set_err(err, errlen, -EINVAL,
                          "%llu bytes: hot-added memory comes in multiples of 128 MiB",
                          (unsigned long long)size);
    if (n >= GUEST_MEM_MAX_HOTPLUG || n >= vm->dev.memhp.nslots)
        return vm_set_err(err, errlen, -ENOSPC, "all %u memory hotplug slots are used", n);
    /* Pieces are 128 MiB multiples from an aligned base: the next one is aligned too. */
    *at = n ? guest_mem_end(&vm->mem) : vm->memhp_base;
    if (*at > end || size > end - *at)
        return vm_set_err(err, errlen, -ENOSPC,
                          "%llu MiB do not fit in the %llu MiB of hotplug_size left",
                          (unsigned long long)(size >> 20),
                          (unsigned long long)(*at < end ? (end - *at) >> 20 : 0));
    return 0;
}

int vm_vfio_map_region(struct vm *vm, const struct guest_mem_region *g, char *err, size_t errlen)
{
    uint32_t mapped = 0;
    int r = 0;

    for (; !r && mapped < vm->nvfio; mapped++)
        r = vfio_pci_map_region(vm->vfio[mapped], g, err, errlen);
    if (!r)
        return 0;
    /* The failed function mapped nothing; undo the ones before it. */
    while (mapped-- > 1)
        vfio_pci_unmap_region(vm->vfio[mapped - 1], g);
    return r;
}

/* Every device process gets region idx; on failure the ones that got it lose it again. */
static int hand_out(struct vm *vm, uint32_t idx, char *err, size_t errlen)
{
    int r = vm->pci_inited ? pci_devices_update_memory(&vm->pci, err, errlen) : 0;

    return r ? r : vm_vfio_map_region(vm, &vm->mem.regions[idx], err, errlen);
}

int vm_add_memory(struct vm *vm, int fd, uint64_t size, uint64_t *gpa, char *err, size_t errlen)
{
    uint64_t at = 0;
    uint8_t *host = NULL;
    bool resume = false;
    int idx = -1, r = place(vm, size, &at, err, errlen);
    char ignored[64];

    if (r)
        goto fail;
    host = vm_sys_map_ram(fd, size);
    if (!host) {
        r = vm_set_err(err, errlen, -errno, "mmap of %llu MiB", (unsigned long long)(size >> 20));
        goto fail;
    }
    r = vm_pause(vm);
    resume = r == 0;
    r = r == -EALREADY ? 0 : r;
    if (r) {
        vm_set_err(err, errlen, r, "cannot stop the vCPUs");
        goto fail;
    }
    idx = guest_mem_add_at(&vm->mem, at, host, size, fd);
    if (idx < 0) {
        r = vm_set_err(err, errlen, idx, "guest memory at 0x%llx", (unsigned long long)at);
        goto fail;
    }
    r = kvm_set_user_memory_region(vm->vm_fd, (uint32_t)idx, at, size, host);
    if (r) {
        vm_set_err(err, errlen, r, "KVM_SET_USER_MEMORY_REGION: slot %d at 0x%llx", idx,
                   (unsigned long long)at);
        goto fail;
    }
    r = hand_out(vm, (uint32_t)idx, err, errlen);
    if (r)
        goto fail;
    if (resume)
        (void)vm_resume(vm);
    vm->memhp_fd[vm->mem.nhotplug - 1] = fd;
    vm->memhp_host[vm->mem.nhotplug - 1] = host;
    (void)mem_hotplug_insert(&vm->dev.memhp, vm->mem.nhotplug - 1, at, size);
    log_info(&vm->log, "hotplug: %llu MiB of RAM added at 0x%llx (slot %u)",
             (unsigned long long)(size >> 20), (unsigned long long)at, vm->mem.nhotplug - 1);
    ged_raise(&vm->dev.ged, GED_EVENT_MEMORY);
    *gpa = at;
    return 0;
fail:
    if (idx >= 0) {
        (void)kvm_set_user_memory_region(vm->vm_fd, (uint32_t)idx, at, 0, host);
        guest_mem_drop_last(&vm->mem);
        /* Backends that took the grown table get the old one back (best effort). */
        if (vm->pci_inited)
            (void)pci_devices_update_memory(&vm->pci, ignored, sizeof(ignored));
    }
    if (resume)
        (void)vm_resume(vm);
    vm_sys_unmap(host, size);
    close(fd);
    return r;
}

/* The guest ejected memory slots: Cloud Hypervisor never removes ACPI memory, nor does cellvm. */
void vm_memhp_ejects(struct vm *vm)
{
    uint64_t mask;

    if (vm->dev.memhp_on && mem_hotplug_take_ejects(&vm->dev.memhp, &mask))
        log_warn(&vm->log,
                 "hotplug: the guest ejected memory slots 0x%llx; ACPI memory is "
                 "never removed, ignored",
                 (unsigned long long)mask);
}

void vm_memhp_save(struct vm *vm, struct vm_state *s)
{
    struct mem_hotplug *h = &vm->dev.memhp;

    memset(&s->memhp, 0, sizeof(s->memhp));
    if (!vm->dev.memhp_on)
        return;
    pthread_mutex_lock(&h->lock);
    s->memhp.nslots = h->nslots < VMS_MAX_MEMHP_SLOTS ? h->nslots : VMS_MAX_MEMHP_SLOTS;
    s->memhp.sel = h->sel;
    s->memhp.ejected = h->ejected;
    for (uint32_t i = 0; i < s->memhp.nslots; i++) {
        const struct mem_hotplug_slot *sl = &h->slots[i];

        s->memhp.slot[i] = (struct vms_memhp_slot){ .base = sl->enabled ? sl->base : 0,
                                                    .size = sl->enabled ? sl->size : 0,
                                                    .enabled = sl->enabled,
                                                    .inserting = sl->enabled && sl->inserting,
                                                    .removing = sl->enabled && sl->removing };
    }
    pthread_mutex_unlock(&h->lock);
}

int vm_memhp_load(struct vm *vm, const struct vm_state *s, char *err, size_t errlen)
{
    struct mem_hotplug *h = &vm->dev.memhp;
    uint32_t want = vm->dev.memhp_on ? h->nslots : 0, slot = 0;

    if (s->memhp.nslots != want)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %u memory hotplug slots, config.json %u "
                          "(hotplug_size, hotplug_method)",
                          s->memhp.nslots, want);
    /* The i-th hot-added region is the i-th slot, as vm_add_memory fills them. */
    for (uint32_t i = 0; i < vm->mem.nregions; i++) {
        const struct guest_mem_region *g = &vm->mem.regions[i];

        if (!hot_ram(g))
            continue;
        if (slot >= want || !s->memhp.slot[slot].enabled || s->memhp.slot[slot].base != g->gpa ||
            s->memhp.slot[slot].size != g->size)
            return vm_set_err(err, errlen, -EINVAL,
                              "restore: hot-added RAM at 0x%llx+0x%llx is not memory hotplug "
                              "slot %u of the snapshot",
                              (unsigned long long)g->gpa, (unsigned long long)g->size, slot);
        slot++;
    }
    if (slot < want && s->memhp.slot[slot].enabled)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: memory hotplug slot %u holds RAM the VM was not given", slot);
    if (!want)
        return 0;
    pthread_mutex_lock(&h->lock);
    h->sel = s->memhp.sel;
    h->ejected = s->memhp.ejected;
    for (uint32_t i = 0; i < want; i++)
        h->slots[i] = (struct mem_hotplug_slot){ .base = s->memhp.slot[i].base,
                                                 .size = s->memhp.slot[i].size,
                                                 .enabled = s->memhp.slot[i].enabled,
                                                 .inserting = s->memhp.slot[i].inserting,
                                                 .removing = s->memhp.slot[i].removing };
    pthread_mutex_unlock(&h->lock);
    if (slot)
        log_info(&vm->log, "restore: %u hot-added RAM regions in their memory hotplug slots", slot);
    return 0;
}
