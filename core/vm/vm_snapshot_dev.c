#include "core/vm/vm_snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/virtio_pci_vu.h"
#include "core/vm/virtio_pci_rc.h"
#include "ipc/le.h"

/*
 * The virtio-pci functions in a snapshot (issue 18). Saved: config space, the MSI-X table and
 * pending bits, the transport registers, the config the guest sees, and per ring its layout and
 * the avail index its backend stopped at when the VM paused (GET_VRING_BASE), so the restore
 * knows each ring's position exactly instead of guessing it from guest memory. Loaded into the
 * devices the restored core built afresh from config.json: registers first, then config space
 * with the command register last (the BAR decodes again, the notify ioeventfds follow), then the
 * irqfds; a started device's new backend gets the features, the memory table and its enabled
 * rings, and the rings stay stopped at their saved position until vm.resume restarts them.
 */

#define PCI_BAR0         0x10
#define PCI_BAR_END      0x28
#define PCI_COMMAND      0x04
#define PCI_IRQLINE      0x3c
#define PCI_CAPS         0x40
#define VIRTIO_ID_NET_   1
#define VIRTIO_ID_VSOCK_ 19

static void save_one(struct vpci_dev *d, struct pci_bus *bus, const struct vpci_paused *ps,
                     struct vms_device *o)
{
    snprintf(o->id, sizeof(o->id), "%s", d->id);
    pthread_mutex_lock(&bus->lock);
    memcpy(o->cfg, d->pci.cfg, VMS_CFG_SIZE);
    pthread_mutex_unlock(&bus->lock);
    pthread_mutex_lock(&d->lock);
    o->virtio_id = d->virtio_id;
    o->seg = d->seg;
    o->slot = d->pci.slot;
    o->nvec = d->msix.nvec;
    memcpy(o->msix_table, d->msix.table, (size_t)d->msix.nvec * MSIX_ENTRY_SIZE);
    memcpy(o->msix_pba, d->msix.pba, sizeof(o->msix_pba));
    o->driver_features = d->driver_features;
    o->dfselect = d->dfselect;
    o->gfselect = d->gfselect;
    o->status = d->status;
    o->isr = d->isr;
    o->generation = d->generation;
    o->config_vector = d->config_vector;
    o->queue_select = d->queue_select;
    o->ctrl_avail = d->ctrl_avail;
    o->pairs = d->rc.pairs;
    o->config_len = d->config_len;
    memcpy(o->config, d->config, d->config_len);
    o->nqueues = d->nqueues;
    for (uint16_t i = 0; i < d->nqueues; i++) {
        const struct vpci_queue *q = &d->q[i];

        o->q[i] = (struct vms_queue){ .size = q->size,
                                      .vector = q->vector,
                                      .enabled = q->enabled,
                                      .desc = q->desc,
                                      .avail = q->avail,
                                      .used = q->used,
                                      .running = (ps->rings >> i) & 1,
                                      .avail_idx = ps->base[i] };
    }
    pthread_mutex_unlock(&d->lock);
}

/*
 * The backend's own state, rings stopped by the pause: saved through DEVICE_STATE when the
 * backend has it (cellvm's daemons), else recorded as frontend-only, which is all Cloud
 * Hypervisor v51.0 keeps of any vhost-user device. The worker is stopped: this thread owns
 * the connection meanwhile.
 */
static int save_backend(struct vpci_dev *d, struct vms_device *o, char *err, size_t errlen)
{
    size_t len = 0;
    int r;

    o->dstate_kind = VMS_DSTATE_NONE;
    /* A device the core serves (virtio-mem, ...) has no backend: its queue position is
     * core_queue_avail, its own state is saved by the core (vm_snapshot.c). */
    if (!(o->status & VPCI_S_DRIVER_OK) || d->local)
        return 0;
    if (!vu_fe_has_device_state(&d->fe)) {
        o->dstate_kind = VMS_DSTATE_FRONTEND;
        log_info(d->ctx->log,
                 "%s: backend without DEVICE_STATE: snapshot keeps the frontend's state only",
                 d->id);
        return 0;
    }
    r = vu_fe_save_state(&d->fe, &o->dstate, &len, VMS_MAX_DSTATE);
    if (r)
        return vm_set_err(err, errlen, r, "snapshot: device %s did not save its backend state",
                          d->id);
    o->dstate_kind = VMS_DSTATE_BACKEND;
    o->dstate_len = (uint32_t)len;
    log_info(d->ctx->log, "%s: backend state saved (%zu bytes, DEVICE_STATE)", d->id, len);
    return 0;
}

static int save_backends(struct vm *vm, struct vm_state *s, char *err, size_t errlen)
{
    struct vpci_worker *w = &vm->pci.worker;
    bool running = w->running;
    int r = 0;

    vpci_worker_stop(w);
    for (uint32_t k = 0; k < s->ndevices && !r; k++)
        r = save_backend(vm->pci.devp[k], &s->dev[k], err, errlen);
    if (running && vpci_worker_start(w) && !r)
        r = vm_set_err(err, errlen, -EIO, "snapshot: the virtio frontend thread did not restart");
    return r;
}

int vm_snapshot_devices(struct vm *vm, struct vm_state *s, char *err, size_t errlen)
{
    struct vpci_worker *w = &vm->pci.worker;

    vm_pmem_save(vm, s);
    vm_watchdog_save(vm, &s->watchdog);

    s->ndevices = vm->pci_inited ? (uint32_t)vm->pci.n : 0;
    for (uint32_t k = 0; k < s->ndevices; k++) {
        struct vpci_dev *d = vm->pci.devp[k];
        bool gone;

        pthread_mutex_lock(&d->lock);
        gone = d->failed || d->rc.disconnected || d->busy || d->work || d->resetting;
        pthread_mutex_unlock(&d->lock);
        if (gone)
            return vm_set_err(err, errlen, -EBUSY,
                              "snapshot: device %s has no backend or work in progress now", d->id);
        save_one(d, &vm->pci.buses[d->seg], &w->paused[k], &s->dev[k]);
    }
    return s->ndevices ? save_backends(vm, s, err, errlen) : 0;
}

static const struct vms_device *find(const struct vm_state *s, const char *id)
{
    for (uint32_t i = 0; i < s->ndevices; i++)
        if (!strcmp(s->dev[i].id, id))
            return &s->dev[i];
    return NULL;
}

/* The saved registers against what the new device can hold; nothing is changed. */
static int check_one(const struct vpci_dev *d, const struct vms_device *o, char *err, size_t errlen)
{
    if (o->virtio_id != d->virtio_id || o->seg != d->seg || o->slot != d->pci.slot)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: device %s is virtio type %u at %04x:00:%02x.0 in the "
                          "snapshot, type %u at %04x:00:%02x.0 as config.json builds it",
                          d->id, o->virtio_id, o->seg, o->slot, d->virtio_id, d->seg, d->pci.slot);
    if (o->nqueues != d->nqueues || o->nvec != d->msix.nvec || o->config_len != d->config_len)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: device %s: %u queues, %u vectors, %u config bytes in the "
                          "snapshot, %u, %u, %u now",
                          d->id, o->nqueues, o->nvec, o->config_len, d->nqueues, d->msix.nvec,
                          d->config_len);
    if (o->driver_features & ~d->host_features)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: device %s: the driver had features 0x%llx, the new backend "
                          "offers 0x%llx",
                          d->id, (unsigned long long)o->driver_features,
                          (unsigned long long)d->host_features);
    if ((o->config_vector >= o->nvec && o->config_vector != MSIX_NO_VECTOR) ||
        (d->virtio_id == VIRTIO_ID_NET_ && o->pairs > d->ctrl_pairs))
        return vm_set_err(err, errlen, -EINVAL, "restore: device %s: bad config vector or pairs",
                          d->id);
    for (uint16_t i = 0; i < o->nqueues; i++) {
        const struct vms_queue *q = &o->q[i];

        if (!q->size || q->size > d->q[i].max_size || (q->size & (q->size - 1)) ||
            (q->vector >= o->nvec && q->vector != MSIX_NO_VECTOR) ||
            (q->running && (!q->enabled || (int)i == d->ctrl_q)))
            return vm_set_err(err, errlen, -EINVAL, "restore: device %s: queue %u is invalid",
                              d->id, i);
    }
    return 0;
}

/* Registers and config space; the caller holds nothing, the vCPUs and the worker are stopped. */
static void load_one(struct vpci_dev *d, struct pci_bus *bus, const struct vms_device *o)
{
    uint8_t slot = d->pci.slot;

    pthread_mutex_lock(&d->lock);
    memcpy(d->msix.table, o->msix_table, (size_t)o->nvec * MSIX_ENTRY_SIZE);
    memcpy(d->msix.pba, o->msix_pba, sizeof(d->msix.pba));
    d->driver_features = o->driver_features;
    d->dfselect = o->dfselect;
    d->gfselect = o->gfselect;
    d->status = o->status;
    d->isr = o->isr;
    d->generation = o->generation;
    d->config_vector = o->config_vector;
    d->queue_select = o->queue_select;
    d->ctrl_avail = o->ctrl_avail;
    d->rc.pairs = o->pairs;
    memcpy(d->config, o->config, o->config_len);
    for (uint16_t i = 0; i < o->nqueues; i++) {
        struct vpci_queue *q = &d->q[i];

        q->size = o->q[i].size;
        q->vector = o->q[i].vector;
        q->enabled = o->q[i].enabled;
        q->desc = o->q[i].desc;
        q->avail = o->q[i].avail;
        q->used = o->q[i].used;
    }
    pthread_mutex_unlock(&d->lock);
    /* BARs as the guest placed them, then the capabilities (MSI-X control among them). */
    for (uint32_t reg = PCI_BAR0; reg < PCI_BAR_END; reg += 4)
        pci_cfg_write(bus, 0, slot, 0, reg, 4, le_get32(o->cfg + reg));
    pci_cfg_write(bus, 0, slot, 0, PCI_IRQLINE, 1, o->cfg[PCI_IRQLINE]);
    pthread_mutex_lock(&bus->lock);
    for (uint32_t off = PCI_CAPS; off < VMS_CFG_SIZE; off++)
        d->pci.cfg[off] =
            (uint8_t)((d->pci.cfg[off] & ~d->pci.wmask[off]) | (o->cfg[off] & d->pci.wmask[off]));
    pthread_mutex_unlock(&bus->lock);
    pthread_mutex_lock(&d->lock);
    (void)msix_sync_control(&d->msix);
    pthread_mutex_unlock(&d->lock);
    /* Decoding last: the BAR maps and each enabled queue's notify ioeventfd is registered. */
    pci_cfg_write(bus, 0, slot, 0, PCI_COMMAND, 2, le_get16(o->cfg + PCI_COMMAND));
    pthread_mutex_lock(&d->lock);
    vpci_sync_irqs(d);
    pthread_mutex_unlock(&d->lock);
}

/* The saved backend state into the new backend, its rings not started yet. */
static int load_backend(struct vpci_dev *d, const struct vms_device *o, struct vpci_paused *ps,
                        char *err, size_t errlen)
{
    int r;

    ps->transport_reset = d->virtio_id == VIRTIO_ID_VSOCK_;
    if (o->dstate_kind == VMS_DSTATE_FRONTEND)
        log_info(d->ctx->log,
                 "%s: the snapshot holds the frontend's state only (its backend had no "
                 "DEVICE_STATE)",
                 d->id);
    if (o->dstate_kind != VMS_DSTATE_BACKEND)
        return 0;
    if (!vu_fe_has_device_state(&d->fe))
        return vm_set_err(err, errlen, -EOPNOTSUPP,
                          "restore: device %s: the snapshot holds its backend state and the new "
                          "backend has no DEVICE_STATE to take it",
                          d->id);
    r = vu_fe_load_state(&d->fe, o->dstate, o->dstate_len);
    if (r)
        return vm_set_err(err, errlen, r,
                          "restore: device %s: the new backend refused the saved state (its log "
                          "says why)",
                          d->id);
    log_info(d->ctx->log, "%s: backend state loaded (%u bytes, DEVICE_STATE)", d->id,
             o->dstate_len);
    return 0;
}

/* A started device's new backend: what DRIVER_OK gave the old one, rings left stopped at their
 * saved positions in ps (the resume restarts them). */
static int start_backend(struct vpci_dev *d, const struct vms_device *o, struct vpci_paused *ps,
                         char *err, size_t errlen)
{
    bool bit30 = d->fe.features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
    int r = vu_fe_set_features(&d->fe, o->driver_features & ~d->core_features);

    if (!r)
        r = vpci_vu_send_mem_table(d);
    if (r)
        return vm_set_err(err, errlen, r, "restore: device %s: features or memory table", d->id);
    pthread_mutex_lock(&d->lock);
    d->backend_dirty = true;
    pthread_mutex_unlock(&d->lock);
    for (uint16_t i = 0; i < o->nqueues && d->rc.inflight_fd < 0; i++)
        if (o->q[i].running)
            vpci_rc_inflight_get(d, o->q[i].size);
    r = load_backend(d, o, ps, err, errlen);
    if (r)
        return r;
    ps->rings = 0;
    for (uint16_t i = 0; i < o->nqueues; i++) {
        bool on = d->virtio_id != VIRTIO_ID_NET_ || !o->pairs || i / 2u < o->pairs;

        if (!o->q[i].running)
            continue;
        ps->rings |= 1ull << i;
        ps->base[i] = o->q[i].avail_idx;
        r = bit30 ? vu_fe_set_vring_enable(&d->fe, i, on) : 0;
        if (r)
            return vm_set_err(err, errlen, r, "restore: device %s: SET_VRING_ENABLE", d->id);
    }
    return 0;
}

/* A core-served device's queue may hold requests the old core had not taken when the VM
 * paused, their kick gone with it: one kick serves them once the frontend thread runs. */
static void kick_local(struct vpci_dev *d)
{
    uint64_t one = 1;
    bool ready;

    pthread_mutex_lock(&d->lock);
    ready = (d->status & VPCI_S_DRIVER_OK) && d->nqueues && d->q[0].enabled;
    pthread_mutex_unlock(&d->lock);
    if (ready)
        (void)!write(d->q[0].kick_fd, &one, sizeof(one));
}

int vm_restore_devices(struct vm *vm, const struct vm_state *s, char *err, size_t errlen)
{
    struct vpci_worker *w = &vm->pci.worker;
    size_t n = vm->pci_inited ? vm->pci.n : 0;
    const struct vms_device *match[VMS_MAX_DEVICES];
    bool running;
    int r = 0;

    if (s->ndevices != n || n > VMS_MAX_DEVICES)
        return vm_set_err(err, errlen, -EINVAL,
                          "restore: the snapshot has %u virtio devices, config.json %zu",
                          s->ndevices, n);
    r = vm_pmem_check(vm, s, err, errlen);
    if (r)
        return r;
    for (size_t k = 0; k < n; k++) {
        const struct vms_device *o = find(s, vm->pci.devp[k]->id);

        if (!o)
            return vm_set_err(err, errlen, -EINVAL, "restore: device %s is not in the snapshot",
                              vm->pci.devp[k]->id);
        if (vm->pci.devp[k]->local && o->dstate_kind == VMS_DSTATE_BACKEND)
            return vm_set_err(err, errlen, -EINVAL,
                              "restore: device %s is served inside the core and has no backend "
                              "state",
                              o->id);
        r = check_one(vm->pci.devp[k], o, err, errlen);
        if (r)
            return r;
        match[k] = o;
    }
    if (!n)
        return 0;
    running = w->running;
    vpci_worker_stop(w); /* the connections are this thread's until it runs again */
    for (size_t k = 0; k < n && !r; k++) {
        struct vpci_dev *d = vm->pci.devp[k];
        const struct vms_device *o = match[k];

        load_one(d, &vm->pci.buses[d->seg], o);
        w->paused[k].rings = 0;
        if (d->local)
            kick_local(d);
        if ((o->status & VPCI_S_DRIVER_OK) && !d->local)
            r = start_backend(d, o, &w->paused[k], err, errlen);
    }
    /* With its device's status loaded: the frontend thread disarms a watchdog whose driver is
     * not ready, and it is stopped until here. */
    if (!r)
        r = vm_watchdog_load(vm, &s->watchdog, err, errlen);
    atomic_store(&w->vm_paused, true);
    if (running && vpci_worker_start(w) && !r)
        r = vm_set_err(err, errlen, -EIO, "restore: the virtio frontend thread did not restart");
    return r;
}
