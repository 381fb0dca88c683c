#include "core/controller/liveness.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <time.h>

#include "core/controller/supervise.h"

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void arm(struct devices *d)
{
    const struct timeval tv = { .tv_sec = LIVENESS_PERIOD_MS / 1000u,
                                .tv_usec = (LIVENESS_PERIOD_MS % 1000u) * 1000u };

    evtimer_add(d->ev_live, &tv);
}

static bool probed(const struct devices *d, const struct device *dv)
{
    return !dv->unused && !dv->external && !dv->vfio_user && dv->ready && !dv->svc.exited &&
           dv->hot != DEV_HOT_REMOVING && dv->hot != DEV_HOT_ENDING && !d->stopping &&
           !dv->svc.sv->stopping;
}

static void check(struct device *dv, uint64_t now, bool judge)
{
    if (!dv->probe_ms) {
        if (!devices_request(dv, NULL, DEVICES_TAG_LIVENESS))
            dv->probe_ms = now ? now : 1;
        return;
    }
    if (!judge) {
        dv->probe_ms = now ? now : 1; /* a fresh start for the one still outstanding */
        return;
    }
    if (now - dv->probe_ms < LIVENESS_TIMEOUT_MS)
        return;
    snprintf(dv->rs.failure, sizeof(dv->rs.failure),
             "stopped answering its control channel for %u s; killed", LIVENESS_TIMEOUT_MS / 1000u);
    sv_report(dv->svc.sv, "cellvm: device %s: the %s process %s\n", dv->id, dv->proc.role,
              dv->rs.failure);
    dv->probe_ms = 0;
    sv_kill(&dv->svc); /* its exit brings respawn_on_exit, which gives the reason */
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    struct devices *d = arg;
    uint64_t now = now_ms();
    /* Our own loop was held up (a stopped controller, a loaded host): the answers may be
     * waiting unread, so none is judged late this round. */
    bool judge = d->live_ms && now - d->live_ms < 2u * LIVENESS_PERIOD_MS;

    (void)fd;
    (void)what;
    d->live_ms = now;
    if (judge)
        sv_drain(d->live_sv);
    for (size_t i = 0; i < d->n; i++)
        if (probed(d, &d->v[i]))
            check(&d->v[i], now, judge);
    arm(d);
}

int liveness_start(struct devices *d, struct supervisor *sv)
{
    if (d->ev_live)
        return 0;
    d->live_sv = sv;
    d->ev_live = evtimer_new(sv->base, tick, d);
    if (!d->ev_live)
        return -ENOMEM;
    d->live_ms = 0;
    arm(d);
    return 0;
}

void liveness_stop(struct devices *d)
{
    if (d->ev_live)
        event_free(d->ev_live);
    d->ev_live = NULL;
}

void liveness_answered(struct device *dv)
{
    dv->probe_ms = 0;
}
