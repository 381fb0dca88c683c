/* The VM's virtio-pmem devices (issue 20): PCI functions the core serves itself. The file is
 * guest memory (its own region and KVM slot), so the guest reads and writes it directly; the
 * one queue only carries FLUSH requests, answered with fdatasync on the file. A
 * discard_writes=on region is a private copy-on-write mapping only the core has: device
 * processes cannot map it (their table leaves it out), as Cloud Hypervisor gives no device DMA
 * access to pmem either. Boot devices sit above RAM (core_layout.c, which owns their mappings);
 * vm.add-pmem places a new one above the PCI MMIO64 window, as Cloud Hypervisor takes it from
 * its device area, and owns the mapping and the fd. Either kind leaves when the guest ejects
 * it: the region goes from KVM, the device processes and the passed-through functions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/vm/kvm_ioctl.h"
#include "core/vm/virtio_pci_local.h"
#include "core/vm/virtio_pci_vu.h"
#include "core/vm/virtio_pmem.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vm_snapshot.h"
#include "core/vm/vm_sys.h"
#include "core/vm/vring_req.h"

#define PMEM_QUEUE_SIZE 256 /* as Cloud Hypervisor */
#define PMEM_BUDGET     256 /* requests one kick answers before the other devices' turn */
#define PMEM_ALIGN      (2ull << 20)

struct vm_pmem {
    struct vpci_local local; /* the transport's view of it */
    uint8_t config[PMEM_CONFIG_SIZE];
    struct vm *vm;
    int fd; /* the file: borrowed at boot, owned when hot-added */
    bool discard_writes;
    bool used;
    bool hot;      /* vm.add-pmem: fd and host are owned here */
    bool own_map;  /* hot, or restored from a snapshot where it was: host is owned here */
    uint8_t *host; /* the mapping */
    uint64_t gpa, size;
    char id[VM_PMEM_ID_LEN];
};

static int flush(void *arg)
{
    struct vm_pmem *v = arg;
    int r;

    if (v->discard_writes) /* writes go to private pages: nothing of them is the file's */
        return 0;
    r = vm_sys_fdatasync(v->fd);
    if (r)
        log_warn(&v->vm->log, "%s: flush: %s", v->id, strerror(-r));
    return r;
}

static size_t answer(void *arg, const uint8_t *in, size_t len, uint8_t out[VRING_RESP_MAX])
{
    pmem_request(in, len, flush, arg, out);
    return PMEM_RESP_SIZE;
}

/* Frontend thread: the driver kicked the request queue. */
static void serve(void *arg, struct vpci_dev *d)
{
    vpci_local_serve(d, PMEM_BUDGET, answer, arg, NULL, "malformed virtio-pmem request queue");
}

int vm_pmem_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                 char *err, size_t errlen)
{
    struct vpci_params *list;

    if (p->npmem > VM_MAX_PMEM)
        return vm_set_err(err, errlen, -EINVAL, "vm: %u virtio-pmem devices", p->npmem);
    /* Room for vm.add-pmem too: the PCI functions point into this array, so it never moves. */
    vm->pmem = calloc(VM_MAX_PMEM, sizeof(*vm->pmem));
    if (!vm->pmem)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-pmem");
    for (uint32_t i = 0; i < VM_MAX_PMEM; i++)
        vm->pmem[i].fd = -1;
    if (!p->npmem)
        return 0;
    list = realloc(*all, (*n + p->npmem + 1) * sizeof(*list));
    if (!list)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-pmem");
    *all = list;
    for (uint32_t i = 0; i < p->npmem; i++) {
        const struct vm_pmem_params *pp = &p->pmem[i];
        const struct guest_mem_region *g =
            pp->region < vm->mem.nregions ? &vm->mem.regions[pp->region] : NULL;
        struct vm_pmem *v = &vm->pmem[i];

        if (!g || !g->pmem)
            return vm_set_err(err, errlen, -EINVAL, "vm: virtio-pmem %u names no region", i);
        v->vm = vm;
        v->fd = g->fd;
        v->discard_writes = g->core_only;
        v->used = true;
        v->host = g->host;
        v->own_map = pp->owned;
        v->gpa = g->gpa;
        v->size = g->size;
        snprintf(v->id, sizeof(v->id), "%s", pp->id ? pp->id : "_pmem");
        pmem_config(g->gpa, g->size, v->config);
        v->local = (struct vpci_local){
            .config = v->config, .config_len = PMEM_CONFIG_SIZE, .serve = serve, .arg = v
        };
        list[(*n)++] = (struct vpci_params){ .id = v->id,
                                             .virtio_id = PMEM_VIRTIO_ID,
                                             .num_queues = 1,
                                             .queue_size = PMEM_QUEUE_SIZE,
                                             .sock = -1,
                                             .pci_segment = pp->pci_segment,
                                             .local = &v->local };
        vm->npmem++;
        log_info(&vm->log, "%s: %llu MiB at 0x%llx%s", v->id, (unsigned long long)(g->size >> 20),
                 (unsigned long long)g->gpa, v->discard_writes ? ", writes discarded" : "");
    }
    return 0;
}

void vm_pmem_destroy(struct vm *vm)
{
    for (uint32_t i = 0; vm->pmem && i < VM_MAX_PMEM; i++) {
        struct vm_pmem *v = &vm->pmem[i];

        if (!v->used)
            continue;
        if (v->own_map)
            vm_sys_unmap(v->host, v->size);
        if (v->hot)
            close(v->fd);
    }
    free(vm->pmem);
    vm->pmem = NULL;
    vm->npmem = 0;
}

/* The index of the pmem region at gpa, or -1. */
static int region_at(const struct vm *vm, uint64_t gpa)
{
    for (uint32_t i = 0; i < vm->mem.nregions; i++)
        if (vm->mem.regions[i].pmem && vm->mem.regions[i].gpa == gpa)
            return (int)i;
    return -1;
}

/*
 * Where a new file of size bytes goes: the first 2 MiB-aligned gap at or above the end of the
 * PCI MMIO64 window (and of every non-detachable region) that no detachable region covers,
 * below the guest's physical address width. 0 with *at, or -ENOSPC.
 */
static int place(const struct vm *vm, uint64_t size, uint64_t *at)
{
    uint32_t bits = vm->cpu.max_phys_bits ? vm->cpu.max_phys_bits : 46;
    uint64_t limit = bits >= 52 ? 1ull << 52 : 1ull << bits;
    uint64_t a = vm->pci.host.mmio64_end;
    bool moved = true;

    if (guest_mem_end(&vm->mem) > a)
        a = guest_mem_end(&vm->mem);
    a = (a + PMEM_ALIGN - 1) & ~(PMEM_ALIGN - 1);
    /* Each pass moves past one region at least, so nregions + 1 passes settle it. */
    for (uint32_t pass = 0; moved && pass <= vm->mem.nregions; pass++) {
        moved = false;
        for (uint32_t i = 0; i < vm->mem.nregions; i++) {
            const struct guest_mem_region *g = &vm->mem.regions[i];

            if (a < g->gpa + g->size && g->gpa < a + size) {
                a = (g->gpa + g->size + PMEM_ALIGN - 1) & ~(PMEM_ALIGN - 1);
                moved = true;
            }
        }
    }
    if (moved || a >= limit || size > limit - a)
        return -ENOSPC;
    *at = a;
    return 0;
}

/* Every passed-through function maps region g (device processes get it through
 * pci_devices_update_memory); a core-only region is none of theirs. */
static int vfio_map(struct vm *vm, const struct guest_mem_region *g, char *err, size_t errlen)
{
    return g->core_only ? 0 : vm_vfio_map_region(vm, g, err, errlen);
}

/*
 * Region idx leaves guest memory (vCPUs and the frontend thread stopped): its KVM slot is
 * deleted and the regions after it move down one slot each, as their index is their slot.
 */
static void drop_region(struct vm *vm, uint32_t idx)
{
    const struct guest_mem_region *g = &vm->mem.regions[idx];

    (void)kvm_set_user_memory_region(vm->vm_fd, idx, g->gpa, 0, g->host);
    for (uint32_t j = idx + 1; j < vm->mem.nregions; j++) {
        const struct guest_mem_region *n = &vm->mem.regions[j];
        int r;

        (void)kvm_set_user_memory_region(vm->vm_fd, j, n->gpa, 0, n->host);
        r = kvm_set_user_memory_region(vm->vm_fd, j - 1, n->gpa, n->size, n->host);
        if (r)
            log_warn(&vm->log, "pmem: KVM slot %u for 0x%llx: %s", j - 1,
                     (unsigned long long)n->gpa, strerror(-r));
    }
    (void)guest_mem_remove(&vm->mem, idx);
}

/* The region of v out of every process and KVM (vCPUs stopped); memory tables resent. */
static void region_out(struct vm *vm, struct vm_pmem *v)
{
    int idx = region_at(vm, v->gpa);
    bool running = vm->pci_inited && vm->pci.worker.running;
    char err[160] = "";

    if (idx < 0)
        return;
    for (uint32_t i = 0; !vm->mem.regions[idx].core_only && i < vm->nvfio; i++)
        vfio_pci_unmap_region(vm->vfio[i], &vm->mem.regions[idx]);
    /* The frontend thread reads guest memory: not while the table moves. */
    if (vm->pci_inited)
        vpci_worker_stop(&vm->pci.worker);
    drop_region(vm, (uint32_t)idx);
    if (vm->pci_inited && pci_devices_update_memory(&vm->pci, err, sizeof(err)))
        log_warn(&vm->log, "pmem %s: %s", v->id, err);
    if (running && vpci_worker_start(&vm->pci.worker))
        vm->pci.ctx.fatal(vm->pci.ctx.fatal_arg, "virtio frontend thread cannot be restarted");
}

int vm_pmem_hot_add(struct vm *vm, const struct vm_pmem_hot *p, unsigned *slot, char *err,
                    size_t errlen)
{
    struct vm_pmem *v = NULL;
    struct vpci_params vp;
    uint8_t *host = NULL;
    uint64_t gpa = 0;
    bool resume = false, added = false;
    int r = 0, idx = -1;

    for (uint32_t i = 0; vm->pmem && i < VM_MAX_PMEM && !v; i++)
        v = vm->pmem[i].used ? NULL : &vm->pmem[i];
    if (!vm->pci_inited || !vm->pmem)
        r = vm_set_err(err, errlen, -ENODEV, "%s: the VM has no PCI bus", p->id);
    else if (pci_devices_find(&vm->pci, p->id) || vfio_pci_find(vm->vfio, vm->nvfio, p->id))
        r = vm_set_err(err, errlen, -EEXIST, "%s: a device with this id exists", p->id);
    else if (!v)
        r = vm_set_err(err, errlen, -ENOSPC, "%s: all %d virtio-pmem devices are in use", p->id,
                       VM_MAX_PMEM);
    else if (p->pci_segment >= vm->pci.host.n)
        r = vm_set_err(err, errlen, -EINVAL, "%s: PCI segment %u does not exist (the VM has %u)",
                       p->id, p->pci_segment, vm->pci.host.n);
    else if (!p->size || p->size % PMEM_ALIGN)
        r = vm_set_err(err, errlen, -EINVAL, "%s: %llu bytes is not a multiple of 2 MiB", p->id,
                       (unsigned long long)p->size);
    else if (place(vm, p->size, &gpa))
        r = vm_set_err(err, errlen, -ENOSPC,
                       "%s: no guest-physical room for %llu MiB above the PCI windows", p->id,
                       (unsigned long long)(p->size >> 20));
    if (!r) {
        r = vm_sys_map_pmem(p->fd, p->size, p->discard_writes, &host);
        if (r)
            vm_set_err(err, errlen, r, "%s: cannot map %llu bytes of the file", p->id,
                       (unsigned long long)p->size);
    }
    if (!r) {
        r = vm_pause(vm);
        resume = r == 0;
        r = r == -EALREADY ? 0 : r;
        if (r)
            vm_set_err(err, errlen, r, "%s: cannot stop the vCPUs", p->id);
    }
    if (!r) {
        idx = guest_mem_add_detachable(&vm->mem, gpa, host, p->size, p->fd, p->discard_writes);
        if (idx < 0)
            r = vm_set_err(err, errlen, idx, "%s: no room in the guest memory map", p->id);
    }
    if (!r) {
        r = kvm_set_user_memory_region(vm->vm_fd, (uint32_t)idx, gpa, p->size, host);
        if (r)
            vm_set_err(err, errlen, r, "%s: KVM_SET_USER_MEMORY_REGION: slot %d at 0x%llx", p->id,
                       idx, (unsigned long long)gpa);
        else
            added = true;
    }
    /* Every device process and passed-through function has it before the guest can see it. */
    if (!r)
        r = pci_devices_update_memory(&vm->pci, err, errlen);
    if (!r)
        r = vfio_map(vm, &vm->mem.regions[idx], err, errlen);
    if (!r) {
        *v = (struct vm_pmem){ .vm = vm,
                               .fd = p->fd,
                               .discard_writes = p->discard_writes,
                               .used = true,
                               .hot = true,
                               .own_map = true,
                               .host = host,
                               .gpa = gpa,
                               .size = p->size };
        snprintf(v->id, sizeof(v->id), "%s", p->id);
        pmem_config(gpa, p->size, v->config);
        v->local = (struct vpci_local){
            .config = v->config, .config_len = PMEM_CONFIG_SIZE, .serve = serve, .arg = v
        };
        vp = (struct vpci_params){ .id = v->id,
                                   .virtio_id = PMEM_VIRTIO_ID,
                                   .num_queues = 1,
                                   .queue_size = PMEM_QUEUE_SIZE,
                                   .sock = -1,
                                   .pci_segment = p->pci_segment,
                                   .local = &v->local };
        r = pci_devices_hot_add(&vm->pci, &vp, slot, err, errlen);
        if (r) {
            for (uint32_t i = 0; !p->discard_writes && i < vm->nvfio; i++)
                vfio_pci_unmap_region(vm->vfio[i], &vm->mem.regions[idx]);
            memset(v, 0, sizeof(*v));
            v->fd = -1;
        }
    }
    if (r && idx >= 0) {
        char ignored[64];

        if (added) {
            if (vm->pci.worker.running) {
                vpci_worker_stop(&vm->pci.worker);
                drop_region(vm, (uint32_t)idx);
                if (vpci_worker_start(&vm->pci.worker))
                    vm->pci.ctx.fatal(vm->pci.ctx.fatal_arg,
                                      "virtio frontend thread cannot be restarted");
            } else {
                drop_region(vm, (uint32_t)idx);
            }
        } else {
            (void)guest_mem_remove(&vm->mem, (uint32_t)idx);
        }
        /* Backends that took the grown table get the old one back (best effort). */
        (void)pci_devices_update_memory(&vm->pci, ignored, sizeof(ignored));
    }
    if (resume)
        (void)vm_resume(vm);
    if (r) {
        vm_sys_unmap(host, p->size);
        close(p->fd);
        return r;
    }
    vm->npmem++;
    vm->removing[p->pci_segment] &= ~(1u << *slot);
    log_info(&vm->log, "hotplug: %s: %llu MiB at 0x%llx%s in slot %u of segment %u", v->id,
             (unsigned long long)(p->size >> 20), (unsigned long long)gpa,
             p->discard_writes ? ", writes discarded" : "", *slot, p->pci_segment);
    (void)pci_hotplug_announce(&vm->dev.hp, p->pci_segment, *slot, true);
    ged_raise(&vm->dev.ged, GED_EVENT_PCI);
    return 0;
}

void vm_pmem_gone(struct vm *vm, const char *id)
{
    for (uint32_t i = 0; vm->pmem && i < VM_MAX_PMEM; i++) {
        struct vm_pmem *v = &vm->pmem[i];

        if (!v->used || strcmp(v->id, id))
            continue;
        region_out(vm, v);
        log_info(&vm->log, "%s: its %llu MiB at 0x%llx left guest memory", v->id,
                 (unsigned long long)(v->size >> 20), (unsigned long long)v->gpa);
        /* A boot file's mapping is core_layout's, unmapped when the core ends; a hot-added
         * one's (also when a restore mapped it again) goes now. */
        if (v->own_map)
            vm_sys_unmap(v->host, v->size);
        if (v->hot)
            close(v->fd);
        memset(v, 0, sizeof(*v));
        v->fd = -1;
        vm->npmem--;
        return;
    }
}

/* The pmem regions of a snapshot (issue 18): where each file sits and whether vm.add-pmem
 * placed it (a detachable region above the PCI windows). Their content stays in the files. */
void vm_pmem_save(struct vm *vm, struct vm_state *s)
{
    s->npmem = 0;
    for (uint32_t i = 0; vm->pmem && i < VM_MAX_PMEM && s->npmem < VMS_MAX_PMEM; i++) {
        const struct vm_pmem *v = &vm->pmem[i];
        int idx = v->used ? region_at(vm, v->gpa) : -1;

        if (idx < 0)
            continue;
        s->pmem[s->npmem++] = (struct vms_pmem){ .gpa = v->gpa,
                                                 .size = v->size,
                                                 .hot = vm->mem.regions[idx].detachable };
        snprintf(s->pmem[s->npmem - 1].id, sizeof(s->pmem[0].id), "%s", v->id);
    }
}

int vm_pmem_check(struct vm *vm, const struct vm_state *s, char *err, size_t errlen)
{
    uint64_t floor = vm->pci_inited ? vm->pci.host.mmio64_end : 0;
    uint32_t n = 0;

    for (uint32_t i = 0; vm->pmem && i < VM_MAX_PMEM; i++) {
        const struct vm_pmem *v = &vm->pmem[i];
        const struct vms_pmem *o = NULL;

        if (!v->used)
            continue;
        n++;
        for (uint32_t k = 0; k < s->npmem && k < VMS_MAX_PMEM && !o; k++)
            o = strcmp(s->pmem[k].id, v->id) ? NULL : &s->pmem[k];
        if (!o)
            return vm_set_err(err, errlen, -EINVAL,
                              "restore: pmem '%s' of config.json is not in the snapshot", v->id);
        if (o->gpa != v->gpa || o->size != v->size)
            return vm_set_err(err, errlen, -EINVAL,
                              "restore: pmem '%s' is %llu bytes at 0x%llx in the snapshot, %llu "
                              "bytes at 0x%llx as config.json builds it",
                              v->id, (unsigned long long)o->size, (unsigned long long)o->gpa,
                              (unsigned long long)v->size, (unsigned long long)v->gpa);
        if (o->hot && o->gpa < floor)
            return vm_set_err(err, errlen, -EINVAL,
                              "restore: hot-added pmem '%s' at 0x%llx lies below the end of the "
                              "PCI MMIO64 window (0x%llx)",
                              v->id, (unsigned long long)o->gpa, (unsigned long long)floor);
    }
    if (n != s->npmem)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %u virtio-pmem devices, config.json %u",
                          s->npmem, n);
    return 0;
}

int vm_pmem_peek_state(int fd, struct vms_pmem *out, uint32_t *n, char *err, size_t errlen)
{
    struct vm_state s = { 0 };
    int r = vm_state_read(fd, &s, err, errlen);

    *n = 0;
    if (!r) {
        *n = s.npmem;
        memcpy(out, s.pmem, s.npmem * sizeof(*out));
    }
    vm_state_free(&s);
    return r;
}
