#include "core/controller/balloon_ctl.h"

#include <stdio.h>

#include "core/cli/cli_validate.h"
#include "core/controller/api_ctl.h"

#define BALLOON_ID "__balloon"

static struct device *balloon_row(const struct api_ctl *a)
{
    return a->devs ? devices_row(a->devs, BALLOON_ID) : NULL;
}

uint32_t balloon_ctl_check(const struct api_ctl *a, uint64_t want, char *msg, size_t len)
{
    uint64_t ram = cli_ram_size(a->cfg);

    if (!a->cfg->balloon.present) {
        snprintf(msg, len, "desired_balloon: the VM has no balloon (--balloon)");
        return 500;
    }
    if (want >= ram) {
        snprintf(msg, len,
                 "desired_balloon %llu: the balloon must be smaller than the VM's RAM (%llu "
                 "bytes)",
                 (unsigned long long)want, (unsigned long long)ram);
        return 400;
    }
    return 0;
}

/* Tells a running balloond its (new) target; no_discard stops its punching for good. */
static void send_target(struct api_ctl *a, bool no_discard)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__BalloonTarget bt = CELLVM__BALLOON_TARGET__INIT;
    struct device *dv;

    if (!a->cfg->balloon.present || (a->state != API_VM_RUNNING && a->state != API_VM_PAUSED))
        return;
    dv = balloon_row(a);
    if (!dv)
        return;
    /* A replacement (respawn.h) starts from the spec: it gets the new target too. */
    if (devices_balloon_spec(dv, a->cfg))
        fprintf(stderr, "cellvm: warning: balloon: spec too long to update\n");
    if (!dv->ready || dv->svc.exited)
        return;                                /* starting or being replaced: the spec carries it */
    bt.size = a->cfg->balloon.size & ~4095ull; /* 4 KiB pages, as CH's size >> 12 */
    bt.no_discard = no_discard;
    env.body_case = CELLVM__ENVELOPE__BODY_BALLOON_TARGET;
    env.balloon_target = &bt;
    if (sv_send(&dv->svc, &env, NULL, 0))
        fprintf(stderr, "cellvm: warning: balloon: cannot send the new target\n");
}

void balloon_ctl_set(struct api_ctl *a, uint64_t want)
{
    a->cfg->balloon.size = want; /* as Cloud Hypervisor: what a reboot would use */
    send_target(a, false);
}

void balloon_ctl_no_discard(struct api_ctl *a)
{
    send_target(a, true);
}

uint64_t balloon_ctl_actual(const struct api_ctl *a)
{
    const struct device *dv;
    uint64_t ram = a->cfg->memory.size;

    if (!a->cfg->balloon.present || (a->state != API_VM_RUNNING && a->state != API_VM_PAUSED))
        return 0;
    dv = balloon_row(a);
    if (!dv)
        return 0;
    return dv->balloon_actual < ram ? dv->balloon_actual : ram;
}
