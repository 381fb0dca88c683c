#include "core/controller/vu_reconnect.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/controller/devices.h"
#include "core/controller/event_monitor.h"
#include "core/controller/unix_sock.h"

void vu_reconnect_init(struct vu_reconnect *vr)
{
    memset(vr, 0, sizeof(*vr));
}

void vu_reconnect_close(struct vu_reconnect *vr)
{
    if (vr->timer)
        event_free(vr->timer);
    vr->timer = NULL;
    vr->waiting = false;
    vr->d = NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

__attribute__((format(printf, 3, 4))) static void
give_up(struct supervisor *sv, const struct device *dv, const char *fmt, ...)
{
    char what[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    sv_report(sv, "cellvm: error: device %s: its vhost-user backend at %s %s; stopping the VM\n",
              dv->id, dv->vr.path, what);
    sv_set_status(sv, 1);
    sv_stop(sv);
}

static bool vm_ending(const struct devices *d)
{
    return !d->core || d->stopping || d->core->sv->stopping;
}

static void arm(struct vu_reconnect *vr)
{
    struct timeval tv = { .tv_sec = vr->delay_ms / 1000, .tv_usec = (vr->delay_ms % 1000) * 1000 };

    evtimer_add(vr->timer, &tv);
}

/* The new connection to the core, as a respawned process's (fd closed here). 0 or -errno. */
static int send_attach(struct devices *d, struct device *dv, int fd)
{
    int r = devices_send_attach(d->core, dv, fd, true);

    close(fd);
    if (!r)
        dv->rs.reconnecting = true; /* the core answers DeviceReconnected */
    return r;
}

static void attempt(evutil_socket_t fd_unused, short what_unused, void *arg)
{
    struct device *dv = arg;
    struct vu_reconnect *vr = &dv->vr;
    struct devices *d = vr->d;
    uint64_t waited;
    int fd = -1, r;

    (void)fd_unused;
    (void)what_unused;
    if (!vr->waiting || !d || vm_ending(d)) {
        vr->waiting = false;
        return;
    }
    vr->attempts++;
    r = unix_connect(vr->path, true, &fd);
    waited = now_ms() - vr->lost_ms;
    if (!r) {
        vr->waiting = false;
        sv_report(d->core->sv,
                  "cellvm: device %s: connected to %s again after %llu ms (%u attempts); "
                  "reconnecting\n",
                  dv->id, vr->path, (unsigned long long)waited, vr->attempts);
        r = send_attach(d, dv, fd);
        if (r)
            give_up(d->core->sv, dv, "is back, but the core cannot be given it: %s", strerror(-r));
        return;
    }
    vr->last_err = r;
    if (waited >= VU_RECONNECT_TIMEOUT_S * 1000ull) {
        vr->waiting = false;
        give_up(d->core->sv, dv, "did not come back within %d s (%s; last attempt: %s)",
                VU_RECONNECT_TIMEOUT_S, vr->why, strerror(-r));
        return;
    }
    vr->delay_ms = vu_reconnect_next_delay(vr->delay_ms);
    if (vr->delay_ms > VU_RECONNECT_TIMEOUT_S * 1000ull - waited)
        vr->delay_ms = (unsigned)(VU_RECONNECT_TIMEOUT_S * 1000ull - waited);
    arm(vr);
}

void vu_reconnect_on_lost(struct devices *d, const char *id, const char *why)
{
    struct device *dv = NULL;

    for (size_t i = 0; i < d->n && !dv; i++)
        if (!strcmp(d->v[i].id, id))
            dv = &d->v[i];
    if (vm_ending(d))
        return; /* the VM stops anyway */
    if (!dv || !dv->external) {
        sv_report(d->core->sv, "cellvm: the core reported the loss of '%s', no external device\n",
                  id);
        return;
    }
    if (dv->vr.waiting || dv->rs.reconnecting)
        return;
    snprintf(dv->vr.why, sizeof(dv->vr.why), "%s", why);
    if (!dv->vr.timer)
        dv->vr.timer = evtimer_new(d->core->sv->base, attempt, dv);
    if (!dv->vr.timer) {
        give_up(d->core->sv, dv, "%s, and no timer to reconnect it", why);
        return;
    }
    sv_report(d->core->sv,
              "cellvm: device %s: its vhost-user backend at %s %s; reconnecting for up to %d s\n",
              dv->id, dv->vr.path, why, VU_RECONNECT_TIMEOUT_S);
    if (d->evmon) {
        const struct evmon_prop p[2] = { { "id", dv->id }, { "reason", why } };

        evmon_emit(d->evmon, "vm", "device-disconnected", p, 2);
    }
    dv->vr.d = d;
    dv->vr.waiting = true;
    dv->vr.lost_ms = now_ms();
    dv->vr.attempts = 0;
    dv->vr.last_err = 0;
    dv->vr.delay_ms = VU_RECONNECT_FIRST_MS;
    arm(&dv->vr);
}

void vu_reconnect_on_reconnected(struct devices *d, struct device *dv, int errnum)
{
    struct supervisor *sv = d->core ? d->core->sv : NULL;

    if (!sv || vm_ending(d))
        return;
    if (errnum) {
        /* Most likely it lacks a feature the guest negotiated; trying again would not help. */
        give_up(sv, dv, "came back but failed its reconnection: %s%s", strerror(errnum),
                errnum == EPROTO ? " (it must offer the features the guest negotiated)" : "");
        return;
    }
    sv_report(sv, "cellvm: device %s: its vhost-user backend at %s took over again\n", dv->id,
              dv->vr.path);
    if (d->evmon)
        evmon_device(d->evmon, "device-reconnected", dv->id);
}
