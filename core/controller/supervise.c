#include "core/controller/supervise.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/msg.h"
#include "sandbox/audit.h"

enum sv_state { SV_WAIT_HELLO, SV_WAIT_READY, SV_RUNNING, SV_STOPPING, SV_DONE };

struct sv_run {
    struct supervisor *sv;
    enum sv_state state;
    int status;       /* exit status once known */
    bool have_status; /* the core reported how it ended */
    bool child_exited;
    struct event *ev_chan, *ev_log, *ev_sig[3], *ev_pidfd;
    int kmsg; /* /dev/kmsg for seccomp audit records, or -errno; owned */
    char line[1024];
    size_t linelen;
};

__attribute__((format(printf, 2, 3))) static void report(struct sv_run *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdprintf(r->sv->log_out, fmt, ap);
    va_end(ap);
}

static void finish(struct sv_run *r, int status)
{
    if (!r->have_status) {
        r->status = status;
        r->have_status = true;
    }
}

static void maybe_exit_loop(struct sv_run *r)
{
    if (r->child_exited && !r->ev_log)
        event_base_loopexit(r->sv->base, NULL);
}

static void flush_line(struct sv_run *r)
{
    if (!r->linelen)
        return;
    dprintf(r->sv->log_out, "cellvm-%s: %.*s\n", r->sv->core->role, (int)r->linelen, r->line);
    r->linelen = 0;
}

static void on_log(evutil_socket_t fd, short what, void *arg)
{
    struct sv_run *r = arg;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    (void)what;
    if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        flush_line(r);
        event_free(r->ev_log);
        r->ev_log = NULL;
        maybe_exit_loop(r);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || r->linelen == sizeof(r->line)) {
            flush_line(r);
            if (buf[i] == '\n')
                continue;
        }
        r->line[r->linelen++] = buf[i];
    }
}

static int send_shutdown(struct sv_run *r)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Shutdown sd = CELLVM__SHUTDOWN__INIT;

    env.body_case = CELLVM__ENVELOPE__BODY_SHUTDOWN;
    env.shutdown = &sd;
    return ipc_send_envelope(r->sv->core->chan, &env, NULL, 0);
}

static void on_hello(struct sv_run *r, const Cellvm__Hello *h)
{
    struct supervisor *sv = r->sv;
    int e;

    if (h->role != CELLVM__ROLE__ROLE_CORE || (pid_t)h->pid != sv->core->self_pid) {
        report(r, "cellvm: error: %s\n", "core process introduced itself wrongly");
        finish(r, 1);
        kill(sv->core->pid, SIGKILL);
        return;
    }
    e = ipc_send_envelope(sv->core->chan, sv->config, sv->config_fds, sv->config_nfds);
    if (e) {
        report(r, "cellvm: error: cannot configure the core: %s\n", strerror(-e));
        finish(r, 1);
        kill(sv->core->pid, SIGKILL);
        return;
    }
    if (sv->on_config_sent)
        sv->on_config_sent(sv->arg);
    r->state = SV_WAIT_READY;
}

static void on_message(struct sv_run *r, Cellvm__Envelope *env)
{
    switch (env->body_case) {
    case CELLVM__ENVELOPE__BODY_HELLO:
        if (r->state == SV_WAIT_HELLO) {
            on_hello(r, env->hello);
            return;
        }
        break;
    case CELLVM__ENVELOPE__BODY_READY:
        if (r->state == SV_WAIT_READY) {
            r->state = SV_RUNNING;
            return;
        }
        break;
    case CELLVM__ENVELOPE__BODY_ERROR:
        report(r, "cellvm: error: %s\n", env->error->message);
        finish(r, 1);
        return;
    case CELLVM__ENVELOPE__BODY_EXIT_STATUS:
        if (env->exit_status->reason == CELLVM__EXIT_STATUS__REASON__REASON_ERROR) {
            report(r, "cellvm: error: %s\n", env->exit_status->message);
            finish(r, 1);
        } else {
            finish(r, 0);
        }
        r->state = SV_DONE;
        return;
    default:
        break;
    }
    report(r, "cellvm: %s\n", "unexpected control message from the core ignored");
}

static void on_chan(evutil_socket_t fd, short what, void *arg)
{
    struct sv_run *r = arg;
    Cellvm__Envelope *env;
    const char *why = NULL;
    int fds[1];
    size_t nfds;
    int e;

    (void)what;
    e = ipc_recv_envelope(fd, &env, fds, 1, &nfds, &why);
    if (e == -EPIPE || e == -ECONNRESET) {
        event_del(r->ev_chan);
        return;
    }
    if (e) {
        report(r, "cellvm: bad control message from the core: %s\n", why);
        return;
    }
    on_message(r, env);
    ipc_free_envelope(env);
}

/* Why a child died, naming the syscall when its seccomp filter killed it. */
static void describe_death(struct sv_run *r, const struct child *c, int st, char *msg, size_t len)
{
    char name[64];
    int nr;

    if (!WIFSIGNALED(st)) {
        snprintf(msg, len, "the %s process (%s) exited with status %d before the VM ended", c->role,
                 c->id, WEXITSTATUS(st));
        return;
    }
    if (WTERMSIG(st) != SIGSYS) {
        snprintf(msg, len, "the %s process (%s) died of signal %d", c->role, c->id, WTERMSIG(st));
        return;
    }
    nr = sbx_audit_syscall(r->kmsg, c->pid, 500);
    if (nr >= 0)
        snprintf(msg, len,
                 "the %s process (%s) was killed by its seccomp filter: syscall %d (%s) "
                 "(--seccomp log lists what a profile lacks)",
                 c->role, c->id, nr, sbx_syscall_name(nr, name, sizeof(name)));
    else
        snprintf(msg, len,
                 "the %s process (%s) was killed by its seccomp filter (syscall unknown: no "
                 "audit record readable)",
                 c->role, c->id);
}

static void reap(struct sv_run *r)
{
    pid_t pid = r->sv->core->pid;
    int st;

    if (r->child_exited || waitpid(pid, &st, WNOHANG) != pid)
        return;
    r->child_exited = true;
    if (r->ev_pidfd)
        event_del(r->ev_pidfd);
    if (!r->have_status) {
        char msg[256];

        describe_death(r, r->sv->core, st, msg, sizeof(msg));
        report(r, "cellvm: error: %s\n", msg);
        finish(r, 1);
    }
    maybe_exit_loop(r);
}

static void on_pidfd(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reap(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct sv_run *r = arg;
    pid_t pid = r->sv->core->pid;

    (void)what;
    if (sig == SIGCHLD) {
        reap(r);
        return;
    }
    /* First SIGINT/SIGTERM asks the guest's core to stop; a second one kills it. */
    if (r->state == SV_STOPPING || r->state == SV_WAIT_HELLO || send_shutdown(r)) {
        kill(pid, SIGKILL);
        finish(r, 1);
    }
    r->state = SV_STOPPING;
}

int supervise_run(struct supervisor *sv)
{
    static const int sigs[3] = { SIGINT, SIGTERM, SIGCHLD };
    struct sv_run r = { .sv = sv, .state = SV_WAIT_HELLO };
    int ok = 1;

    /* Before the core can jail itself, so a seccomp kill's record comes after this point. */
    r.kmsg = sbx_audit_open();
    if (sv->core->pidfd >= 0) {
        r.ev_pidfd = event_new(sv->base, sv->core->pidfd, EV_READ | EV_PERSIST, on_pidfd, &r);
        ok = r.ev_pidfd && !event_add(r.ev_pidfd, NULL);
    }
    r.ev_chan = event_new(sv->base, sv->core->chan, EV_READ | EV_PERSIST, on_chan, &r);
    r.ev_log = event_new(sv->base, sv->core->log_rd, EV_READ | EV_PERSIST, on_log, &r);
    ok = ok && r.ev_chan && r.ev_log && !event_add(r.ev_chan, NULL) && !event_add(r.ev_log, NULL);
    for (int i = 0; i < 3 && ok; i++) {
        r.ev_sig[i] = evsignal_new(sv->base, sigs[i], on_signal, &r);
        ok = r.ev_sig[i] && !event_add(r.ev_sig[i], NULL);
    }
    if (!ok) {
        kill(sv->core->pid, SIGKILL);
        finish(&r, 1);
    } else {
        /* A child that died before the handlers existed must still be noticed. */
        on_signal(SIGCHLD, 0, &r);
        event_base_dispatch(sv->base);
    }
    if (!r.child_exited) {
        kill(sv->core->pid, SIGKILL);
        waitpid(sv->core->pid, NULL, 0);
    }
    sv->core->pid = 0;
    for (int i = 0; i < 3; i++)
        if (r.ev_sig[i])
            event_free(r.ev_sig[i]);
    if (r.ev_chan)
        event_free(r.ev_chan);
    if (r.ev_log)
        event_free(r.ev_log);
    if (r.ev_pidfd)
        event_free(r.ev_pidfd);
    if (r.kmsg >= 0)
        close(r.kmsg);
    return r.have_status ? r.status : 1;
}
