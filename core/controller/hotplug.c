#include "core/controller/hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "core/controller/api_cfg.h"
#include "core/controller/api_ctl.h"
#include "core/controller/devices.h"
#include "core/controller/hotplug_pmem.h"

/*
 * PCI hotplug in the controller: a hot-added device is a row opened like the boot ones, its
 * process started and jailed the same way, and only once that process is Ready does the core
 * get the connection (so the vCPUs stop only for the core's part). Removal: the core asks the
 * guest; when the guest has ejected and the core has let go, the process is ended, every fd the
 * row kept closed, the entry leaves the configuration and `device-removed` goes out.
 */

/* A hot-added process has this long to be Ready, and the core as long again to answer (it maps
 * guest RAM for a passed-through function); a guest this long to eject keeps the device. */
#define HOT_READY_MS 20000
#define HOT_ADD_MS   60000
#define HOT_EJECT_MS 30000

static void timer_fired(evutil_socket_t fd, short what, void *arg);

static void arm(struct api_ctl *a, struct device *dv, unsigned ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    dv->hot_owner = a;
    if (!dv->hot_timer)
        dv->hot_timer = evtimer_new(a->svc.sv->base, timer_fired, dv);
    if (dv->hot_timer) {
        evtimer_del(dv->hot_timer);
        evtimer_add(dv->hot_timer, &tv);
    }
}

static void disarm(struct device *dv)
{
    if (dv->hot_timer)
        evtimer_del(dv->hot_timer);
}

/* The row's device is out of the VM and its process (if any) gone: close everything. */
static void finish(struct api_ctl *a, struct device *dv, bool announce)
{
    char id[sizeof(dv->id)];

    snprintf(id, sizeof(id), "%s", dv->id);
    if (dv->svc.sv)
        sv_remove(&dv->svc);
    devices_fail_pending(a->devs, dv);
    devices_release(dv);
    if (announce)
        evmon_device(a->evmon, "device-removed", id);
}

/* Ends the row's process, then finish(); without a live process at once. */
static void end_device(struct api_ctl *a, struct device *dv, bool announce)
{
    disarm(dv);
    dv->hot = DEV_HOT_ENDING;
    dv->hot_req = 0; /* answered already, or by the caller */
    dv->hot_removed = announce;
    if (dv->svc.sv && !dv->svc.exited) {
        sv_kill(&dv->svc);
        return;
    }
    finish(a, dv, announce);
}

/* A hot add that did not make it: the answer, the entry out of the configuration, the row
 * ended. */
static void add_failed(struct api_ctl *a, struct device *dv, const char *why)
{
    char msg[PB_MAX_MESSAGE_LEN];
    uint64_t req = dv->hot_req;
    uint16_t status = dv->hot_err_status ? dv->hot_err_status : 500;

    snprintf(msg, sizeof(msg), "cannot add %s: %s", dv->id, why);
    (void)api_ctl_remove_device(a, dv->id);
    end_device(a, dv, false);
    if (req)
        api_ctl_respond(a, req, status, msg, NULL);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
    struct device *dv = arg;
    struct api_ctl *a = dv->hot_owner;

    (void)fd;
    (void)what;
    if (dv->hot == DEV_HOT_REMOVING) {
        /* The device stays; vm.remove-device may ask again. */
        dv->hot = DEV_HOT_NONE;
        sv_report(a->svc.sv,
                  "cellvm: warning: device %s: the guest did not eject it within %d s; it stays\n",
                  dv->id, HOT_EJECT_MS / 1000);
        evmon_device(a->evmon, "device-removal-timeout", dv->id);
        return;
    }
    if (dv->hot == DEV_HOT_STARTING || dv->hot == DEV_HOT_ATTACHING)
        add_failed(a, dv,
                   dv->hot == DEV_HOT_STARTING ? "its device process did not become ready"
                                               : "the core did not answer");
}

/* devices.on_hot: a hot-added process is Ready (st < 0), or a hot row's process exited. */
static void on_hot(void *arg, struct device *dv, int st)
{
    struct api_ctl *a = arg;
    struct sv_child *core = a->ops->core(a->arg);
    char msg[320];
    int r;

    if (st < 0) {
        r = core ? devices_send_hot_attach(core, dv) : -ENOTCONN;
        if (r) {
            add_failed(a, dv, "the core cannot be reached");
            return;
        }
        dv->hot = DEV_HOT_ATTACHING;
        arm(a, dv, HOT_ADD_MS);
        return;
    }
    if (dv->hot == DEV_HOT_ENDING) {
        finish(a, dv, dv->hot_removed);
        return;
    }
    sv_describe_death(a->svc.sv, &dv->svc, st, msg, sizeof(msg));
    add_failed(a, dv, msg);
}

/* The id the API layer gave entry `index` of the kind's list. */
static const char *entry_id(const struct cli_config *cfg, enum hotplug_kind kind, size_t index)
{
    switch (kind) {
    case HOTPLUG_DISK:
        return index < cfg->ndisks ? cfg->disks[index].id : NULL;
    case HOTPLUG_NET:
        return index < cfg->nnets ? cfg->nets[index].id : NULL;
    case HOTPLUG_VSOCK:
        return cfg->vsock.present ? cfg->vsock.id : NULL;
    case HOTPLUG_DEVICE:
        return index < cfg->ndevices ? cfg->devices[index].id : NULL;
    case HOTPLUG_USER_DEVICE:
        return index < cfg->nuser_devices ? cfg->user_devices[index].id : NULL;
    default:
        return index < cfg->nfs ? cfg->fs[index].id : NULL;
    }
}

static int kind_index(enum hotplug_kind kind)
{
    switch (kind) {
    case HOTPLUG_DISK:
        return 0;
    case HOTPLUG_NET:
        return 1;
    case HOTPLUG_VSOCK:
        return 2;
    case HOTPLUG_DEVICE:
        return 3;
    case HOTPLUG_USER_DEVICE:
        return 4;
    default:
        return 5;
    }
}

/* Cloud Hypervisor's files give a failed vm.add-device and vm.add-user-device 404, the other
 * add endpoints 500. */
static uint16_t add_error_status(enum hotplug_kind kind)
{
    return kind == HOTPLUG_DEVICE || kind == HOTPLUG_USER_DEVICE ? 404 : 500;
}

void hotplug_add(struct api_ctl *a, uint64_t id, enum hotplug_kind kind, size_t index)
{
    struct sv_child *core = a->ops->core(a->arg);
    char err[PB_MAX_MESSAGE_LEN] = "";
    char msg[PB_MAX_MESSAGE_LEN];
    struct device *dv = NULL;
    int r = core && a->devs ? 0 : -ENOTCONN;

    if (r)
        snprintf(err, sizeof(err), "the VM is not running");
    else
        r = devices_open_one(a->devs, a->cfg, (unsigned)kind_index(kind), index, &dv, err,
                             sizeof(err));
    if (r) {
        const char *eid = entry_id(a->cfg, kind, index);

        snprintf(msg, sizeof(msg), "cannot add the device: %s", err);
        if (eid)
            (void)api_ctl_remove_device(a, eid);
        api_ctl_respond(a, id, add_error_status(kind), msg, NULL);
        return;
    }
    a->devs->on_hot = on_hot;
    a->devs->hot_arg = a;
    dv->hot_req = id;
    dv->hot_err_status = add_error_status(kind);
    if (dv->external) { /* a backend someone else runs: the core gets it at once */
        dv->hot = DEV_HOT_STARTING;
        on_hot(a, dv, -1);
        return;
    }
    dv->hot = DEV_HOT_STARTING;
    r = devices_spawn_one(a->devs, a->svc.sv, dv, err, sizeof(err));
    if (r) {
        add_failed(a, dv, err);
        return;
    }
    arm(a, dv, HOT_READY_MS);
}

void hotplug_on_added(struct api_ctl *a, const Cellvm__DeviceAdded *m)
{
    Cellvm__ApiResponse rs = CELLVM__API_RESPONSE__INIT;
    Cellvm__ApiPciDeviceInfo info = CELLVM__API_PCI_DEVICE_INFO__INIT;
    struct device *dv = a->devs ? devices_row(a->devs, m->id) : NULL;
    char bdf[16];
    uint64_t req;

    if (hotplug_pmem_on_added(a, m))
        return; /* vm.add-pmem: no device row, the core serves it */
    if (!dv || dv->hot != DEV_HOT_ATTACHING)
        return; /* late: the request was answered when its bound passed */
    disarm(dv);
    if (m->errnum) {
        add_failed(a, dv, m->message && *m->message ? m->message : strerror(m->errnum));
        return;
    }
    req = dv->hot_req;
    dv->hot = DEV_HOT_NONE;
    dv->hot_req = 0;
    /* Cloud Hypervisor's PciDeviceInfo: segment, bus 0, slot, function 0, lowercase hex. */
    snprintf(bdf, sizeof(bdf), "%04x:00:%02x.0", m->pci_segment & 0xffff, m->slot & 0x1f);
    info.id = dv->id;
    info.bdf = bdf;
    rs.pci_device = &info;
    evmon_device(a->evmon, "device-added", dv->id);
    api_ctl_respond(a, req, 200, NULL, &rs);
}

void hotplug_remove(struct api_ctl *a, uint64_t id, const char *dev_id)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceRemove rm = CELLVM__DEVICE_REMOVE__INIT;
    struct device *dv = a->devs ? devices_row(a->devs, dev_id) : NULL;
    struct sv_child *core = a->ops->core(a->arg);
    char msg[PB_MAX_MESSAGE_LEN];
    const char *why = NULL;

    if (!dv && core && hotplug_pmem_remove(a, id, dev_id))
        return; /* a virtio-pmem device: the core serves it, no process to end */
    /* Cloud Hypervisor's files allow 404 and no other error here. */
    if (!dv) {
        snprintf(msg, sizeof(msg), "no device with id '%.64s'", dev_id);
        api_ctl_respond(a, id, 404, msg, NULL);
        return;
    }
    if (dv->hot == DEV_HOT_STARTING || dv->hot == DEV_HOT_ATTACHING)
        why = "is still being added";
    else if (!core)
        why = "cannot be removed: the VM is not running";
    if (!why && dv->hot == DEV_HOT_ENDING) {
        api_ctl_respond(a, id, 204, NULL, NULL); /* out of the VM already, its process ending */
        return;
    }
    /* Asked again while the guest has not ejected: asked again, as Cloud Hypervisor does. */
    rm.id = dv->id;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_REMOVE;
    env.device_remove = &rm;
    if (!why && sv_send(core, &env, NULL, 0))
        why = "cannot be removed: the core cannot be reached";
    if (why) {
        snprintf(msg, sizeof(msg), "device '%.64s' %s", dev_id, why);
        api_ctl_respond(a, id, 404, msg, NULL);
        return;
    }
    a->devs->on_hot = on_hot;
    a->devs->hot_arg = a;
    dv->hot = DEV_HOT_REMOVING;
    arm(a, dv, HOT_EJECT_MS);
    api_ctl_respond(a, id, 204, NULL, NULL);
}

void hotplug_on_ejected(struct api_ctl *a, const Cellvm__DeviceEjected *m)
{
    struct device *dv = a->devs ? devices_row(a->devs, m->id) : NULL;

    if (!dv && !m->errnum && hotplug_pmem_on_ejected(a, m->id))
        return;
    if (!dv)
        return;
    if (m->errnum) {
        sv_report(a->svc.sv, "cellvm: warning: device %s cannot be removed: %s\n", dv->id,
                  strerror(m->errnum));
        if (dv->hot == DEV_HOT_REMOVING) {
            disarm(dv);
            dv->hot = DEV_HOT_NONE;
        }
        return;
    }
    /* Asked for, or the guest ejected it by itself (Cloud Hypervisor honours that too). */
    (void)api_ctl_remove_device(a, dv->id);
    end_device(a, dv, true);
}

void hotplug_drop(struct api_ctl *a)
{
    hotplug_pmem_drop(a);
    for (size_t i = 0; a->devs && i < a->devs->n; i++) {
        struct device *dv = &a->devs->v[i];

        disarm(dv);
        if (dv->unused || (dv->hot != DEV_HOT_STARTING && dv->hot != DEV_HOT_ATTACHING))
            continue;
        (void)api_ctl_remove_device(a, dv->id);
        if (dv->hot_req)
            api_ctl_respond(a, dv->hot_req, 500, "the VM stopped before the device was added",
                            NULL);
        dv->hot_req = 0;
        dv->hot = DEV_HOT_NONE;
    }
}
