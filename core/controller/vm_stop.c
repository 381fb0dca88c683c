#include "core/controller/vm_stop.h"

#include <event2/event.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/controller/hotplug.h"
#include "core/controller/resize.h"

bool vm_stop_active(const struct controller *ctl)
{
    return ctl->stop.active && !ctl->sv.stopping;
}

static bool alive(const struct sv_child *c)
{
    return c->sv && !c->exited && c->proc->pid > 0;
}

/* Shutdown where the process can act on one, SIGKILL otherwise; once per process. */
static void ask(struct sv_child *c, bool kill_now)
{
    if (!alive(c) || c->stop_sent)
        return;
    c->stop_sent = true;
    if (kill_now || sv_send_shutdown(c))
        sv_kill(c);
}

static void on_kill(evutil_socket_t fd, short what, void *arg)
{
    struct controller *ctl = arg;

    (void)fd;
    (void)what;
    if (ctl->core_watched && alive(&ctl->core_svc)) {
        sv_report(&ctl->sv, "cellvm: the core process did not stop; killing it\n");
        sv_kill(&ctl->core_svc);
    }
    for (size_t i = 0; i < ctl->devs.n; i++) {
        struct device *dv = &ctl->devs.v[i];

        if (alive(&dv->svc)) {
            sv_report(&ctl->sv, "cellvm: the %s process (%s) did not stop; killing it\n",
                      dv->kind ? dv->proc.role : "device", dv->id);
            sv_kill(&dv->svc);
        }
    }
}

/* Requests the stopped devices owed an answer to are closed with EIO, so the API's pending
 * vm.counters or vm.resize-disk does not outlive the device rows. */
static void drop_requests(struct devices *d)
{
    for (size_t i = 0; i < d->n; i++)
        devices_fail_pending(d, &d->v[i]);
}

/* Every process of the VM has exited: out of the supervisor, and the VM's fds closed. */
static void finish(struct controller *ctl)
{
    struct devices *d = &ctl->devs;
    bool failed = ctl->stop.failed;

    if (ctl->core_watched)
        sv_remove(&ctl->core_svc);
    ctl->core_watched = false;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].svc.sv)
            sv_remove(&d->v[i].svc);
    drop_requests(d);
    hotplug_drop(&ctl->api);
    resize_drop(&ctl->api);
    linkwatch_close(&ctl->lw);
    devices_close(d); /* TAP fds, the vsock socket file */
    d->core = NULL;
    d->stopping = false;
    serial_close(&ctl->serial);
    serial_init(&ctl->serial);
    console_host_close(&ctl->console);
    console_host_init(&ctl->console);
    resources_close(&ctl->res);
    child_close(&ctl->core);
    child_init(&ctl->core, "core");
    ctl->core_state = CORE_WAIT_HELLO;
    vm_stop_close(ctl);
    ctl->stop.active = false;
    ctl->stop.failed = false;
    if (failed)
        api_ctl_boot_failed(&ctl->api, ctl->stop.why);
    else
        api_ctl_vm_ended(&ctl->api);
}

static void on_finish(evutil_socket_t fd, short what, void *arg)
{
    struct controller *ctl = arg;

    (void)fd;
    (void)what;
    if (vm_stop_active(ctl))
        finish(ctl);
}

void vm_stop_step(struct controller *ctl)
{
    bool kill_now = ctl->stop.failed;

    if (!vm_stop_active(ctl))
        return;
    /* The core first: a device stopped under a running core would be respawned by it. */
    if (ctl->core_watched && alive(&ctl->core_svc)) {
        ask(&ctl->core_svc, kill_now || ctl->core_state == CORE_WAIT_HELLO);
        return;
    }
    for (size_t i = 0; i < ctl->devs.n; i++)
        ask(&ctl->devs.v[i].svc, false);
    for (size_t i = 0; i < ctl->devs.n; i++)
        if (alive(&ctl->devs.v[i].svc))
            return;
    /* From the loop, not from inside the exit callback of a child whose row finish() frees. */
    if (ctl->stop.ev_finish)
        event_active(ctl->stop.ev_finish, EV_TIMEOUT, 0);
    else
        finish(ctl);
}

void vm_stop_begin(struct controller *ctl, const char *why)
{
    struct timeval tv = { .tv_sec = SV_KILL_AFTER_S };

    if (ctl->sv.stopping)
        return; /* the VMM is ending: its own stop takes everything */
    if (why && !ctl->stop.failed) {
        ctl->stop.failed = true;
        snprintf(ctl->stop.why, sizeof(ctl->stop.why), "%s", why);
    }
    if (ctl->stop.active) {
        vm_stop_step(ctl); /* a failure while stopping: the core may now be killed */
        return;
    }
    ctl->stop.active = true;
    ctl->devs.stopping = true;
    ctl->stop.ev_kill = evtimer_new(ctl->base, on_kill, ctl);
    if (ctl->stop.ev_kill)
        evtimer_add(ctl->stop.ev_kill, &tv);
    ctl->stop.ev_finish = evtimer_new(ctl->base, on_finish, ctl);
    vm_stop_step(ctl);
}

void vm_stop_close(struct controller *ctl)
{
    if (ctl->stop.ev_kill)
        event_free(ctl->stop.ev_kill);
    if (ctl->stop.ev_finish)
        event_free(ctl->stop.ev_finish);
    ctl->stop.ev_kill = ctl->stop.ev_finish = NULL;
}
