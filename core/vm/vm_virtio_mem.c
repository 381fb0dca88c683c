/* The VM's virtio-mem devices (issue 17): PCI functions the core serves itself (no device
 * process: their queue only carries plug and unplug requests about memory the core owns). The
 * whole region is guest memory from boot (KVM slot, every device process's memory table), so a
 * plugged block is usable and DMA-able at once; an unplugged one is punched out of its memfd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/virtio_mem.h"
#include "core/vm/virtio_pci_local.h"
#include "core/vm/virtio_pci_vu.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vm_snapshot.h"
#include "core/vm/vm_sys.h"
#include "core/vm/vring_req.h"

#define VMEM_QUEUE_SIZE 128 /* as Cloud Hypervisor */
/* Requests one kick answers before the others' turn; the rest come on the next pass. */
#define VMEM_BUDGET 256

struct vm_vmem {
    struct vmem m;           /* under dev->lock */
    struct vpci_local local; /* the transport's view of it */
    uint8_t config[VMEM_CONFIG_SIZE];
    struct vpci_dev *dev; /* borrowed from vm->pci once bound */
    struct vm *vm;
    int fd;           /* the region's memfd, borrowed */
    bool warned_vfio; /* "not punched while VFIO maps it" said once */
    char id[16];
};

static int discard(void *arg, uint64_t offset, uint64_t len)
{
    struct vm_vmem *v = arg;
    int r;

    /* A passed-through function maps the whole region (pinned): punching would leave it
     * DMA-ing into pages the guest no longer sees. QEMU keeps such memory too. */
    if (v->vm->nvfio) {
        if (!v->warned_vfio)
            log_info(&v->vm->log,
                     "%s: unplugged blocks stay allocated while a passed-through "
                     "device maps the region",
                     v->id);
        v->warned_vfio = true;
        return 0;
    }
    r = vm_sys_punch_hole(v->fd, offset, len);
    if (r)
        log_warn(&v->vm->log, "%s: cannot release %llu MiB at +0x%llx: %s", v->id,
                 (unsigned long long)(len >> 20), (unsigned long long)offset, strerror(-r));
    return r;
}

static size_t answer(void *arg, const uint8_t *in, size_t len, uint8_t out[VRING_RESP_MAX])
{
    struct vm_vmem *v = arg;

    vmem_request(&v->m, in, len, out);
    return VMEM_RESP_SIZE;
}

/* Under the device lock after the requests: plugged_size changed (no config interrupt). */
static void refresh_config(void *arg, struct vpci_dev *d)
{
    struct vm_vmem *v = arg;

    vmem_config(&v->m, d->config);
}

/* Frontend thread: the driver kicked the request queue. */
static void serve(void *arg, struct vpci_dev *d)
{
    vpci_local_serve(d, VMEM_BUDGET, answer, arg, refresh_config,
                     "malformed virtio-mem request queue");
}

int vm_vmem_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                 char *err, size_t errlen)
{
    struct vpci_params *list;

    *all = NULL;
    *n = p->nvirtio;
    if (p->nvmem > GUEST_MEM_MAX_ZONES)
        return vm_set_err(err, errlen, -EINVAL, "vm: %u virtio-mem devices", p->nvmem);
    list = calloc(p->nvirtio + p->nvmem + 1, sizeof(*list));
    vm->vmem = calloc(p->nvmem + 1, sizeof(*vm->vmem));
    if (!list || !vm->vmem) {
        free(list);
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-mem");
    }
    if (p->nvirtio)
        memcpy(list, p->virtio, p->nvirtio * sizeof(*list));
    for (uint32_t i = 0; i < p->nvmem; i++) {
        const struct vm_vmem_params *vp = &p->vmem[i];
        const struct guest_mem_region *g =
            vp->region < vm->mem.nregions ? &vm->mem.regions[vp->region] : NULL;
        struct vm_vmem *v = &vm->vmem[i];
        int r;

        if (!g || !g->vmem) {
            free(list);
            return vm_set_err(err, errlen, -EINVAL, "vm: virtio-mem %u names no region", i);
        }
        v->vm = vm;
        v->fd = g->fd;
        snprintf(v->id, sizeof(v->id), "_mem%u", i);
        r = vmem_init(&v->m, g->gpa, g->size, vp->requested, vp->node, discard, v);
        if (r) {
            free(list);
            return vm_set_err(err, errlen, r, "%s: region of %llu MiB at 0x%llx, %llu MiB asked",
                              v->id, (unsigned long long)(g->size >> 20),
                              (unsigned long long)g->gpa,
                              (unsigned long long)(vp->requested >> 20));
        }
        vm->nvmem++;
        vmem_config(&v->m, v->config);
        v->local = (struct vpci_local){ .features = vmem_features(&v->m),
                                        .config = v->config,
                                        .config_len = VMEM_CONFIG_SIZE,
                                        .serve = serve,
                                        .arg = v };
        list[p->nvirtio + i] = (struct vpci_params){ .id = v->id,
                                                     .virtio_id = VMEM_VIRTIO_ID,
                                                     .num_queues = 1,
                                                     .queue_size = VMEM_QUEUE_SIZE,
                                                     .sock = -1,
                                                     .local = &v->local };
        log_info(&vm->log, "%s: %llu MiB at 0x%llx, %llu MiB asked at boot", v->id,
                 (unsigned long long)(g->size >> 20), (unsigned long long)g->gpa,
                 (unsigned long long)(vp->requested >> 20));
    }
    *all = list;
    *n = p->nvirtio + p->nvmem;
    return 0;
}

void vm_vmem_bind(struct vm *vm)
{
    for (uint32_t i = 0; i < vm->nvmem; i++)
        vm->vmem[i].dev = vm->pci_inited ? pci_devices_find(&vm->pci, vm->vmem[i].id) : NULL;
}

int vm_vmem_resize(struct vm *vm, uint32_t index, uint64_t size, char *err, size_t errlen)
{
    struct vm_vmem *v = index < vm->nvmem ? &vm->vmem[index] : NULL;
    uint64_t was;
    int r;

    if (!v || !v->dev)
        return vm_set_err(err, errlen, -ENODEV, "virtio-mem device %u does not exist", index);
    pthread_mutex_lock(&v->dev->lock);
    was = v->m.requested_size;
    r = vmem_set_requested(&v->m, size);
    if (!r) {
        vmem_config(&v->m, v->dev->config);
        vpci_raise_config(v->dev);
    }
    pthread_mutex_unlock(&v->dev->lock);
    if (r == -EEXIST)
        return vm_set_err(err, errlen, r, "%s: %llu bytes is the requested size already", v->id,
                          (unsigned long long)size);
    if (r)
        return vm_set_err(err, errlen, r,
                          "%s: %llu bytes is above the region (%llu) or not a multiple of %llu",
                          v->id, (unsigned long long)size, (unsigned long long)v->m.region_size,
                          (unsigned long long)VMEM_BLOCK_SIZE);
    log_info(&vm->log, "%s: requested size %llu MiB -> %llu MiB", v->id,
             (unsigned long long)(was >> 20), (unsigned long long)(size >> 20));
    return 0;
}

/* A guest reboot starts with nothing plugged (the new kernel's driver would unplug it all). */
void vm_vmem_reboot(struct vm *vm)
{
    for (uint32_t i = 0; i < vm->nvmem; i++) {
        struct vm_vmem *v = &vm->vmem[i];

        if (!v->dev)
            continue;
        pthread_mutex_lock(&v->dev->lock);
        vmem_reset(&v->m);
        vmem_config(&v->m, v->dev->config);
        pthread_mutex_unlock(&v->dev->lock);
    }
}

void vm_vmem_destroy(struct vm *vm)
{
    for (uint32_t i = 0; i < vm->nvmem; i++)
        vmem_destroy(&vm->vmem[i].m);
    free(vm->vmem);
    vm->vmem = NULL;
    vm->nvmem = 0;
}

int vm_vmem_save(struct vm *vm, struct vm_state *s, char *err, size_t errlen)
{
    if (vm->nvmem > VMS_MAX_VMEM)
        return vm_set_err(err, errlen, -E2BIG, "snapshot: %u virtio-mem devices", vm->nvmem);
    for (uint32_t i = 0; i < vm->nvmem; i++) {
        struct vm_vmem *v = &vm->vmem[i];
        struct vms_vmem *o = &s->vmem[i];
        uint64_t words = vms_vmem_words(v->m.region_size);

        if (words != (v->m.nblocks + 63) / 64)
            return vm_set_err(err, errlen, -EINVAL, "snapshot: %s: block size", v->id);
        o->plugged = calloc(words, sizeof(uint64_t));
        if (!o->plugged)
            return vm_set_err(err, errlen, -ENOMEM, "snapshot: %s", v->id);
        s->nvmem = i + 1;
        if (v->dev)
            pthread_mutex_lock(&v->dev->lock);
        o->addr = v->m.addr;
        o->region_size = v->m.region_size;
        o->usable_size = v->m.usable_region_size;
        o->plugged_size = v->m.plugged_size;
        o->requested_size = v->m.requested_size;
        memcpy(o->plugged, v->m.plugged, words * sizeof(uint64_t));
        if (v->dev)
            pthread_mutex_unlock(&v->dev->lock);
    }
    return 0;
}

int vm_vmem_load(struct vm *vm, const struct vm_state *s, char *err, size_t errlen)
{
    if (s->nvmem != vm->nvmem)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %u virtio-mem devices, config.json %u",
                          s->nvmem, vm->nvmem);
    for (uint32_t i = 0; i < vm->nvmem; i++) {
        struct vm_vmem *v = &vm->vmem[i];
        const struct vms_vmem *o = &s->vmem[i];

        if (o->addr != v->m.addr || o->region_size != v->m.region_size || !o->plugged)
            return vm_set_err(err, errlen, -EINVAL,
                              "restore: %s: region 0x%llx+0x%llx in the snapshot, 0x%llx+0x%llx "
                              "as config.json builds it",
                              v->id, (unsigned long long)o->addr,
                              (unsigned long long)o->region_size, (unsigned long long)v->m.addr,
                              (unsigned long long)v->m.region_size);
    }
    for (uint32_t i = 0; i < vm->nvmem; i++) {
        struct vm_vmem *v = &vm->vmem[i];
        const struct vms_vmem *o = &s->vmem[i];

        if (v->dev)
            pthread_mutex_lock(&v->dev->lock);
        /* vm_state_from_json checked the sizes against the region and the bitmap. */
        memcpy(v->m.plugged, o->plugged, vms_vmem_words(o->region_size) * sizeof(uint64_t));
        v->m.usable_region_size = o->usable_size;
        v->m.plugged_size = o->plugged_size;
        v->m.requested_size = o->requested_size;
        if (v->dev)
            vmem_config(&v->m, v->dev->config);
        if (v->dev)
            pthread_mutex_unlock(&v->dev->lock);
        log_info(&vm->log, "restore: %s: %llu of %llu MiB plugged, %llu MiB requested", v->id,
                 (unsigned long long)(o->plugged_size >> 20),
                 (unsigned long long)(o->region_size >> 20),
                 (unsigned long long)(o->requested_size >> 20));
    }
    return 0;
}

bool vm_vmem_unplugged(struct vm *vm, uint64_t gpa)
{
    for (uint32_t i = 0; i < vm->nvmem; i++) {
        struct vm_vmem *v = &vm->vmem[i];
        uint64_t b;
        bool plugged;

        if (gpa < v->m.addr || gpa - v->m.addr >= v->m.region_size)
            continue;
        b = (gpa - v->m.addr) / VMEM_BLOCK_SIZE;
        if (v->dev)
            pthread_mutex_lock(&v->dev->lock);
        plugged = v->m.plugged[b / 64] >> (b % 64) & 1;
        if (v->dev)
            pthread_mutex_unlock(&v->dev->lock);
        return !plugged;
    }
    return false;
}
