#include "core/controller/respawn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/controller/devices.h"
#include "core/controller/event_monitor.h"
#include "ipc/channel.h"

/* How long a device process whose reconnection failed with its peer gone gets to be seen
 * exiting before the failure is put down to the handshake (respawn_on_reconnected). */
#define EXIT_GRACE_MS 200

void respawn_init(struct respawn *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->core_sock = -1;
}

void respawn_close(struct respawn *rs)
{
    if (rs->core_sock >= 0)
        close(rs->core_sock);
    rs->core_sock = -1;
}

/* The errors the core reports when the process at the other end closed its socket. */
static bool peer_left(int errnum)
{
    return errnum == ECONNRESET || errnum == EPIPE || errnum == ENOTCONN || errnum == ECONNABORTED;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void give_up(struct device *dv, const char *what, const char *why)
{
    struct supervisor *sv = dv->svc.sv;

    sv_report(sv, "cellvm: error: device %s: %s; %s; stopping the VM\n", dv->id, why, what);
    sv_set_status(sv, 1);
    sv_stop(sv);
}

/* A new socketpair: the device end goes to the new process, the frontend end waits for its
 * Ready (or replaces the one the core has not been sent yet). */
static int new_connection(struct device *dv)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if (dv->dev_sock >= 0)
        close(dv->dev_sock);
    dv->dev_sock = sv[1];
    if (dv->core_sock >= 0) { /* the core was not configured yet: it gets this one at boot */
        close(dv->core_sock);
        dv->core_sock = sv[0];
        return 0;
    }
    respawn_close(&dv->rs);
    dv->rs.core_sock = sv[0];
    return 0;
}

static void start_replacement(struct device *dv);

/* The core lets go of the dead vfiod's device (respawn.h); its answer comes to
 * respawn_on_reconnected. */
static void vfio_detach(struct devices *d, struct device *dv)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VfioDetach vd = CELLVM__VFIO_DETACH__INIT;
    int r;

    if (!d->core) { /* before the VM was built: the core holds nothing yet */
        start_replacement(dv);
        return;
    }
    vd.id = dv->id;
    env.body_case = CELLVM__ENVELOPE__BODY_VFIO_DETACH;
    env.vfio_detach = &vd;
    r = sv_send(d->core, &env, NULL, 0);
    if (r) {
        dv->svc.exited = true;
        if (!dv->svc.sv->stopping)
            give_up(dv, strerror(-r), "cannot tell the core to let go of the device");
        return;
    }
    dv->rs.detaching = true;
}

void respawn_on_exit(struct devices *d, struct device *dv, int st)
{
    struct sv_child *c = &dv->svc;
    char why[320];

    if (dv->rs.failure[0])
        snprintf(why, sizeof(why), "the %s process (%s) %s", dv->proc.role, dv->id, dv->rs.failure);
    else
        sv_describe_death(c->sv, c, st, why, sizeof(why));
    dv->rs.failure[0] = '\0';
    dv->rs.reconnecting = false;
    dv->rs.detaching = false;
    devices_fail_pending(d, dv);
    if (!respawn_budget_take(&dv->rs, now_ms())) {
        char what[96];

        snprintf(what, sizeof(what), "restarted %d times within %d s already", RESPAWN_BURST,
                 RESPAWN_INTERVAL_S);
        give_up(dv, what, why);
        return;
    }
    sv_report(c->sv, "cellvm: device %s: %s; starting a replacement (restart %u)\n", dv->id, why,
              dv->rs.count);
    if (d->evmon) {
        const struct evmon_prop p[2] = { { "id", dv->id }, { "reason", why } };

        evmon_emit(d->evmon, "vm", "device-respawned", p, 2);
    }
    sv_unwatch(c);
    child_close(&dv->proc);
    dv->configured = dv->ready = false;
    if (dv->vfio_user) {
        vfio_detach(d, dv);
        return;
    }
    start_replacement(dv);
}

/* A new process in dv's slot, on a new connection; the VM stops when that fails. */
static void start_replacement(struct device *dv)
{
    struct sv_child *c = &dv->svc;
    char err[256];
    int r = new_connection(dv);

    if (!r)
        r = devices_start_process(dv, err, sizeof(err));
    else
        snprintf(err, sizeof(err), "socketpair: %s", strerror(-r));
    if (!r)
        r = sv_rewatch(c);
    if (r) {
        c->exited = true; /* nothing runs in this slot */
        give_up(dv, err, "cannot start a replacement");
    }
}

void respawn_on_ready(struct devices *d, struct device *dv)
{
    int r;

    if (dv->rs.core_sock < 0)
        return; /* a first start, or a restart before the core had its connection */
    r = d->core ? devices_send_attach(d->core, dv, dv->rs.core_sock, true) : -ENOTCONN;
    respawn_close(&dv->rs);
    if (r) {
        /* No core to reconnect: the VM is ending already (the VMM, or only the VM: vm.shutdown
         * while the replacement started, whose Ready came after the core was gone; the VMM
         * serves on then), or ends now. */
        if (!dv->svc.sv->stopping && !d->stopping)
            give_up(dv, strerror(-r), "cannot hand the core its replacement");
        return;
    }
    dv->rs.reconnecting = true;
}

void respawn_on_reconnected(struct devices *d, const char *id, int errnum)
{
    for (size_t i = 0; i < d->n; i++) {
        struct device *dv = &d->v[i];

        if (!strcmp(dv->id, id) && dv->rs.detaching) {
            dv->rs.detaching = false;
            if (dv->svc.sv->stopping) {
                dv->svc.exited = true; /* nothing runs in this slot */
                return;
            }
            if (errnum) {
                dv->svc.exited = true;
                give_up(dv, strerror(errnum), "the core could not let go of the device");
                return;
            }
            start_replacement(dv); /* with the fds the row kept (vfio_host.h) */
            return;
        }
        if (strcmp(dv->id, id) || !dv->rs.reconnecting)
            continue;
        dv->rs.reconnecting = false;
        if (dv->external) { /* a backend found again, not a replacement (vu_reconnect.h) */
            vu_reconnect_on_reconnected(d, dv, errnum);
            return;
        }
        if (!errnum) {
            sv_report(dv->svc.sv, "cellvm: device %s: the replacement %s process took over\n",
                      dv->id, dv->proc.role);
            if (d->evmon)
                evmon_device(d->evmon, "device-reconnected", dv->id);
            return;
        }
        /* Its death brings respawn_on_exit, which counts it against the budget. A process
         * that died meanwhile (killed, crashed: the core then saw its socket reset) is
         * described by its death there, not by the handshake it could not finish. Its sockets
         * close before it is gone, so the core's word may come first: a reset waits for the
         * exit a moment (CI once saw "failed its vhost-user reconnection: Connection reset by
         * peer" for a replacement killed with SIGKILL). */
        if (sv_child_gone_within(&dv->svc, peer_left(errnum) ? EXIT_GRACE_MS : 0))
            return;
        snprintf(dv->rs.failure, sizeof(dv->rs.failure), "failed its vhost-user reconnection: %s",
                 strerror(errnum));
        sv_kill(&dv->svc);
        return;
    }
}
