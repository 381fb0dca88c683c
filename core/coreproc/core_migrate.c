#include "core/coreproc/core_migrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/msg.h"
#include "validate.h"

#define WAIT_MAX_MSGS 64 /* messages dropped while waiting for MigrationLocks */

static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

static int send_step(struct core_mig *m, Cellvm__MigrationStep *st)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;

    env.body_case = CELLVM__ENVELOPE__BODY_MIGRATION_STEP;
    env.migration_step = st;
    return ipc_send_envelope(m->chan, &env, NULL, 0);
}

/* SWITCH to the controller, then its MigrationLocks. Other messages meanwhile are dropped (the
 * controller sends none during a migration but Shutdown, which fails the switch). */
static int switch_over(void *arg, char *err, size_t errlen)
{
    struct core_mig *m = arg;
    Cellvm__MigrationStep st = CELLVM__MIGRATION_STEP__INIT;
    int r;

    st.step = CELLVM__MIGRATION_STEP__STEP__STEP_SWITCH;
    st.message = (char *)"";
    r = send_step(m, &st);
    if (r) {
        snprintf(err, errlen, "migration: the controller is not reachable");
        return r;
    }
    for (int k = 0; k < WAIT_MAX_MSGS; k++) {
        Cellvm__Envelope *env = NULL;
        const char *why = NULL;
        int fds[2];
        size_t nfds = 0;

        r = ipc_recv_envelope(m->chan, &env, fds, 2, &nfds, &why);
        if (r == -EINVAL || r == -EBADMSG || r == -EMSGSIZE)
            continue;
        if (r) {
            snprintf(err, errlen, "migration: the controller went away");
            return r;
        }
        ipc_close_fds(fds, nfds);
        if (env->body_case == CELLVM__ENVELOPE__BODY_MIGRATION_LOCKS) {
            r = env->migration_locks->errnum ? -env->migration_locks->errnum : 0;
            if (r)
                snprintf(err, errlen, "migration: disk locks: %s", env->migration_locks->message);
            ipc_free_envelope(env);
            return r;
        }
        if (env->body_case == CELLVM__ENVELOPE__BODY_SHUTDOWN) {
            m->stop = true;
            ipc_free_envelope(env);
            snprintf(err, errlen, "migration: the VM is being shut down");
            return -ECANCELED;
        }
        fprintf(stderr, "cellvm-core: control message %d dropped during the migration\n",
                (int)env->body_case);
        ipc_free_envelope(env);
    }
    snprintf(err, errlen, "migration: no answer about the disk locks");
    return -ETIMEDOUT;
}

static void send_done(struct core_mig *m, int r, char *err, const struct vm_migrate_stats *vs)
{
    Cellvm__MigrationStep st = CELLVM__MIGRATION_STEP__INIT;

    printable(err);
    st.step = CELLVM__MIGRATION_STEP__STEP__STEP_DONE;
    st.errnum = r < 0 && -r < 4096 ? -r : r ? EIO : 0;
    st.message = err;
    if (vs) {
        st.bytes = vs->bytes;
        st.passes = vs->passes;
        st.total_ms = vs->total_ms;
        st.downtime_ms = vs->downtime_ms;
        st.pages_outside_log = vs->pages_outside_log;
        st.outcome_unknown = vs->outcome_unknown;
    }
    (void)send_step(m, &st);
}

void core_migrate_send(struct core_mig *m, const Cellvm__VmMigrate *vmg, int sock)
{
    struct vm_migrate_ops ops = { .switch_over = switch_over, .arg = m, .local = vmg->local };
    struct vm_migrate_stats vs;
    char err[PB_MAX_MESSAGE_LEN] = "";
    int r = vm_migrate_send(m->vm, sock, vmg->config_json, strlen(vmg->config_json), &ops, &vs, err,
                            sizeof(err));

    close(sock);
    if (r)
        fprintf(stderr, "cellvm-core: %s\n", err);
    send_done(m, r, r ? err : (char[]){ "" }, &vs);
}

void core_migrate_finish(struct core_mig *m, int sock)
{
    struct vm_migrate_ops ops = { .switch_over = switch_over, .arg = m };
    char err[PB_MAX_MESSAGE_LEN] = "";
    int r = vm_migrate_finish(m->vm, sock, &ops, err, sizeof(err));

    close(sock);
    if (r)
        fprintf(stderr, "cellvm-core: %s\n", err);
    send_done(m, r, r ? err : (char[]){ "" }, NULL);
}
