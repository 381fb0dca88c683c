/* PCI hotplug on a running VM (vm.h): devices join and leave while the vCPUs are stopped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/platform.h"
#include "core/vm/vm_iommu.h"
#include "core/vm/vm_priv.h"

/* The guest wrote B0EJ (vCPU thread): wake the control thread, nothing more. */
void vm_hotplug_eject_wake(void *arg)
{
    struct vm *vm = arg;
    uint64_t one = 1;

    (void)!write(vm->hp_fd, &one, sizeof(one));
}

int vm_hotplug_fd(const struct vm *vm)
{
    return vm->hp_fd;
}

/* Stops the vCPUs unless the user already did: true when they are to be resumed after. */
static int quiesce(struct vm *vm, bool *resume)
{
    int r = vm_pause(vm);

    *resume = r == 0;
    return r == -EALREADY ? 0 : r;
}

static int vfio_add(struct vm *vm, const struct vfio_pci_params *p, unsigned *slot, char *err,
                    size_t errlen)
{
    struct vfio_pci_dev *d;
    int r;

    if (p->pci_segment) {
        close(p->sock);
        return vm_set_err(err, errlen, -EOPNOTSUPP,
                          "%s: passed-through functions live on PCI segment 0 only so far", p->id);
    }
    if (vm->nvfio >= VM_MAX_VFIO || vfio_pci_find(vm->vfio, vm->nvfio, p->id)) {
        close(p->sock);
        return vm_set_err(err, errlen, vm->nvfio >= VM_MAX_VFIO ? -ENOSPC : -EEXIST,
                          "%s: cannot add another passed-through function", p->id);
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        close(p->sock);
        return vm_set_err(err, errlen, -ENOMEM, "%s", p->id);
    }
    r = vfio_pci_init(d, &vm->vfio_ctx, p, err, errlen); /* cleans up after itself */
    if (r) {
        free(d);
        return r;
    }
    vm->vfio[vm->nvfio++] = d;
    *slot = d->pci.slot;
    return 0;
}

int vm_hot_add(struct vm *vm, const struct vm_hot_add *p, unsigned *slot, char *err, size_t errlen)
{
    const char *id = p->virtio ? p->virtio->id : p->vfio->id;
    uint32_t seg = p->virtio ? p->virtio->pci_segment : p->vfio->pci_segment;
    bool resume;
    int r;

    if (!vm->pci_inited || pci_devices_find(&vm->pci, id) ||
        vfio_pci_find(vm->vfio, vm->nvfio, id)) {
        close(p->virtio ? p->virtio->sock : p->vfio->sock);
        return vm_set_err(err, errlen, -EEXIST, "%s: a device with this id exists", id);
    }
    r = p->virtio ? vm_iommu_check_hot_add(vm, p->virtio, err, errlen) : 0;
    if (r) {
        close(p->virtio->sock);
        return r;
    }
    r = quiesce(vm, &resume);
    if (r) {
        close(p->virtio ? p->virtio->sock : p->vfio->sock);
        return vm_set_err(err, errlen, r, "%s: cannot stop the vCPUs", id);
    }
    if (p->virtio)
        r = pci_devices_hot_add(&vm->pci, p->virtio, slot, err, errlen);
    else
        r = vfio_add(vm, p->vfio, slot, err, errlen);
    if (resume)
        (void)vm_resume(vm);
    if (r)
        return r;
    vm->removing[seg] &= ~(1u << *slot);
    log_info(&vm->log, "hotplug: %s added in slot %u of segment %u", id, *slot, seg);
    (void)pci_hotplug_announce(&vm->dev.hp, seg, *slot, true);
    ged_raise(&vm->dev.ged, GED_EVENT_PCI);
    return 0;
}

/* The segment and slot device id sits in, or -1. */
static int slot_of(const struct vm *vm, const char *id, uint32_t *seg)
{
    const struct vfio_pci_dev *f = vfio_pci_find(vm->vfio, vm->nvfio, id);
    const struct vpci_dev *d = vm->pci_inited ? pci_devices_find(&vm->pci, id) : NULL;

    *seg = d ? d->seg : 0;
    return f ? f->pci.slot : d ? d->pci.slot : -1;
}

int vm_hot_remove(struct vm *vm, const char *id)
{
    uint32_t seg;
    int slot = slot_of(vm, id, &seg);

    if (slot <= 0)
        return -ENODEV;
    vm->removing[seg] |= 1u << slot;
    log_info(&vm->log, "hotplug: asking the guest to eject %s (segment %u, slot %d)", id, seg,
             slot);
    (void)pci_hotplug_announce(&vm->dev.hp, seg, (unsigned)slot, false);
    ged_raise(&vm->dev.ged, GED_EVENT_PCI);
    return 0;
}

/* Takes the device in slot of segment seg out of the VM (vCPUs stopped by the caller); its id
 * goes to out first. */
static bool remove_in_slot(struct vm *vm, uint32_t seg, unsigned slot, char *out, size_t outlen)
{
    for (uint32_t i = 0; seg == 0 && i < vm->nvfio; i++) {
        struct vfio_pci_dev *f = vm->vfio[i];

        if (f->pci.slot != slot)
            continue;
        snprintf(out, outlen, "%s", f->id);
        /* Decode off first: the BARs' memory slots go with it, then the mappings. */
        (void)pci_bus_remove(&vm->pci.buses[0], &f->pci);
        vfio_pci_destroy(f);
        free(f);
        memmove(&vm->vfio[i], &vm->vfio[i + 1], (vm->nvfio - i - 1) * sizeof(vm->vfio[0]));
        vm->nvfio--;
        return true;
    }
    for (size_t i = 0; i < vm->pci.n; i++) {
        if (vm->pci.devp[i]->seg != seg || vm->pci.devp[i]->pci.slot != slot)
            continue;
        snprintf(out, outlen, "%s", vm->pci.devp[i]->id);
        vm_iommu_forget(vm, vm->pci.devp[i]);
        return pci_devices_remove(&vm->pci, out) == 0;
    }
    return false;
}

static bool cpu_bit(const uint64_t *m, uint32_t cpu)
{
    return m[cpu / 64] >> (cpu % 64) & 1;
}

int vm_resize_vcpus(struct vm *vm, uint32_t want, char *err, size_t errlen)
{
    uint32_t have = vm->nvcpus;
    bool resume;
    int r;

    if (!want || want > vm->max_vcpus)
        return vm_set_err(err, errlen, -EINVAL, "desired_vcpus %u: must be 1 to %u", want,
                          vm->max_vcpus);
    for (uint32_t i = 0; i < CPU_HOTPLUG_WORDS; i++)
        if (vm->cpu_removing[i])
            return vm_set_err(err, errlen, -EBUSY, "a vCPU removal still awaits the guest's eject");
    if (want < have) {
        /* The highest go, as in Cloud Hypervisor; they stop once the guest ejected them. */
        for (uint32_t cpu = want; cpu < have; cpu++) {
            vm->cpu_removing[cpu / 64] |= 1ull << (cpu % 64);
            (void)cpu_hotplug_request_remove(&vm->dev.cpuhp, cpu);
        }
        log_info(&vm->log, "hotplug: asking the guest to eject vCPUs %u-%u", want, have - 1);
        ged_raise(&vm->dev.ged, GED_EVENT_CPU);
        return 0;
    }
    if (want == have)
        return 0;
    r = quiesce(vm, &resume);
    if (r)
        return vm_set_err(err, errlen, r, "cannot stop the vCPUs");
    /* Each new one waits for the guest's INIT/SIPI; vm_run starts its thread on resume. */
    for (uint32_t cpu = have; !r && cpu < want; cpu++) {
        r = vcpu_reset(&vm->vcpus[cpu], NULL);
        if (r)
            vm_set_err(err, errlen, r, "vcpu%u: reset", cpu);
        else
            vm->nvcpus = cpu + 1;
    }
    if (resume)
        (void)vm_resume(vm);
    for (uint32_t cpu = have; cpu < vm->nvcpus; cpu++)
        (void)cpu_hotplug_insert(&vm->dev.cpuhp, cpu);
    if (vm->nvcpus > have) {
        log_info(&vm->log, "hotplug: vCPUs %u-%u added", have, vm->nvcpus - 1);
        ged_raise(&vm->dev.ged, GED_EVENT_CPU);
    }
    return r;
}

/* vCPUs the guest ejected: from the highest down, each stops running (its KVM vCPU stays,
 * parked, for a later vm.resize). One ejected below a running one waits for it. */
static void cpu_ejects(struct vm *vm)
{
    uint64_t mask[CPU_HOTPLUG_WORDS];
    uint32_t have = vm->nvcpus, keep = have;
    bool resume;

    if (!cpu_hotplug_take_ejects(&vm->dev.cpuhp, mask))
        return;
    for (uint32_t i = 0; i < CPU_HOTPLUG_WORDS; i++)
        vm->cpu_ejected[i] |= mask[i];
    while (keep > 1 && cpu_bit(vm->cpu_ejected, keep - 1))
        keep--;
    if (keep == have)
        return;
    /* nvcpus drops only while the vCPUs are stopped: the pause joins the threads of the first
     * nvcpus vCPUs, the ejected ones among them, and the resume starts only those kept. */
    if (quiesce(vm, &resume)) {
        log_warn(&vm->log, "hotplug: cannot stop the vCPUs to park the ejected ones");
        return; /* still latched: the next eject retries */
    }
    vm->nvcpus = keep;
    for (uint32_t cpu = keep; cpu < have; cpu++) {
        vm->cpu_ejected[cpu / 64] &= ~(1ull << (cpu % 64));
        vm->cpu_removing[cpu / 64] &= ~(1ull << (cpu % 64));
    }
    if (resume)
        (void)vm_resume(vm);
    log_info(&vm->log, "hotplug: vCPUs %u-%u ejected by the guest", keep, have - 1);
}

void vm_hotplug_ejects(struct vm *vm, void (*gone)(void *arg, const char *id), void *arg)
{
    uint32_t masks[PCI_MAX_SEGMENTS];
    bool any = false, resume;
    uint64_t v;

    (void)!read(vm->hp_fd, &v, sizeof(v));
    cpu_ejects(vm);
    vm_memhp_ejects(vm);
    if (!pci_hotplug_take_ejects(&vm->dev.hp, masks))
        return;
    for (uint32_t seg = 0; seg < vm->dev.hp.nseg; seg++)
        any |= (masks[seg] & ~1u) != 0; /* slot 0 is the host bridge */
    if (!any || quiesce(vm, &resume)) {
        log_warn(&vm->log, "hotplug: %s",
                 any ? "cannot stop the vCPUs to remove ejected slots"
                     : "the guest ejected the host bridge; ignored");
        return;
    }
    for (uint32_t seg = 0; seg < vm->dev.hp.nseg; seg++) {
        for (unsigned slot = 1; slot < PCI_SLOTS; slot++) {
            char id[VPCI_ID_LEN + 1];

            if (!(masks[seg] & (1u << slot)))
                continue;
            if (!remove_in_slot(vm, seg, slot, id, sizeof(id))) {
                log_warn(&vm->log,
                         "hotplug: the guest ejected slot %u of segment %u, which is "
                         "empty; ignored",
                         slot, seg);
                continue;
            }
            log_info(&vm->log, "hotplug: %s ejected by the guest%s", id,
                     vm->removing[seg] & (1u << slot) ? "" : " on its own");
            vm_pmem_gone(vm, id); /* a virtio-pmem function's region leaves with it */
            vm->removing[seg] &= ~(1u << slot);
            gone(arg, id);
        }
    }
    if (resume)
        (void)vm_resume(vm);
}
