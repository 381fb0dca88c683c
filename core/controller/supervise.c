#include "core/controller/supervise.h"

#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/controller/event_monitor.h"
#include "ipc/channel.h"
#include "ipc/msg.h"
#include "sandbox/audit.h"

void sv_report(struct supervisor *sv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdprintf(sv->log_out, fmt, ap);
    va_end(ap);
}

void sv_set_status(struct supervisor *sv, int status)
{
    if (!sv->have_status) {
        sv->status = status;
        sv->have_status = true;
    }
}

int sv_send(struct sv_child *c, const Cellvm__Envelope *env, const int *fds, size_t nfds)
{
    if (c->exited || c->proc->chan < 0)
        return -EPIPE;
    return ipc_send_envelope(c->proc->chan, env, fds, nfds);
}

int sv_send_shutdown(struct sv_child *c)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Shutdown sd = CELLVM__SHUTDOWN__INIT;

    env.body_case = CELLVM__ENVELOPE__BODY_SHUTDOWN;
    env.shutdown = &sd;
    return sv_send(c, &env, NULL, 0);
}

void sv_kill(struct sv_child *c)
{
    if (c->exited || c->proc->pid <= 0)
        return;
    c->killed = true;
    kill(c->proc->pid, SIGKILL);
}

static bool all_done(const struct supervisor *sv)
{
    for (size_t i = 0; i < sv->nchildren; i++)
        if (!sv->children[i]->exited || sv->children[i]->ev_log)
            return false;
    return true;
}

static void maybe_exit_loop(struct supervisor *sv)
{
    if (all_done(sv))
        event_base_loopexit(sv->base, NULL);
}

static void stop_child(struct sv_child *c)
{
    if (c->exited || c->stop_sent)
        return;
    c->stop_sent = true;
    if (c->ops->on_stop)
        c->ops->on_stop(c);
    else if (sv_send_shutdown(c))
        sv_kill(c);
}

void sv_stop_child(struct sv_child *c)
{
    stop_child(c);
}

/* Asks the next stage to stop once every child of the earlier stages has exited. */
static void advance_stop(struct supervisor *sv)
{
    unsigned max_stage = 0;

    if (!sv->stopping)
        return;
    for (size_t i = 0; i < sv->nchildren; i++)
        if (sv->children[i]->stage > max_stage)
            max_stage = sv->children[i]->stage;
    for (unsigned s = 0; s <= max_stage; s++) {
        bool alive = false;

        for (size_t i = 0; i < sv->nchildren; i++) {
            struct sv_child *c = sv->children[i];

            if (c->stage != s || c->exited)
                continue;
            alive = true;
            stop_child(c);
        }
        sv->stop_stage = s;
        if (alive)
            return;
    }
}

static void on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
    struct supervisor *sv = arg;

    (void)fd;
    (void)what;
    for (size_t i = 0; i < sv->nchildren; i++) {
        struct sv_child *c = sv->children[i];

        if (!c->exited && c->proc->pid > 0) {
            sv_report(sv, "cellvm: the %s process (%s) did not stop; killing it\n", c->proc->role,
                      c->proc->id);
            sv_kill(c);
        }
    }
}

void sv_stop(struct supervisor *sv)
{
    struct timeval tv = { .tv_sec = SV_KILL_AFTER_S };

    if (sv->stopping)
        return;
    sv->stopping = true;
    sv->ev_kill = evtimer_new(sv->base, on_kill_timer, sv);
    if (sv->ev_kill)
        evtimer_add(sv->ev_kill, &tv);
    advance_stop(sv);
}

static void flush_line(struct sv_child *c)
{
    const struct child *p = c->proc;

    if (!c->linelen)
        return;
    if (!strcmp(p->id, p->role))
        dprintf(c->sv->log_out, "cellvm-%s: %.*s\n", p->role, (int)c->linelen, c->line);
    else
        dprintf(c->sv->log_out, "cellvm-%s(%s): %.*s\n", p->role, p->id, (int)c->linelen, c->line);
    c->linelen = 0;
}

/* Bytes of the child's log into whole lines, each one prefixed and written out. */
static void feed_log(struct sv_child *c, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || c->linelen == sizeof(c->line)) {
            flush_line(c);
            if (buf[i] == '\n')
                continue;
        }
        c->line[c->linelen++] = buf[i];
    }
}

static void on_log(evutil_socket_t fd, short what, void *arg)
{
    struct sv_child *c = arg;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    (void)what;
    if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        flush_line(c);
        event_free(c->ev_log);
        c->ev_log = NULL;
        maybe_exit_loop(c->sv);
        return;
    }
    feed_log(c, buf, (size_t)n);
}

static void read_chan(struct sv_child *c)
{
    Cellvm__Envelope *env;
    const char *why = NULL;
    int fds[IPC_MAX_FDS];
    size_t nfds = 0;
    int e;

    e = ipc_recv_envelope(c->proc->chan, &env, fds, IPC_MAX_FDS, &nfds, &why);
    if (e == -EPIPE || e == -ECONNRESET) {
        event_free(c->ev_chan);
        c->ev_chan = NULL;
        return;
    }
    if (e) {
        sv_report(c->sv, "cellvm: bad control message from the %s process (%s): %s\n",
                  c->proc->role, c->proc->id, why ? why : strerror(-e));
        return;
    }
    c->ops->on_message(c, env, fds, nfds);
    ipc_free_envelope(env);
}

static void on_chan(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    read_chan(arg);
}

bool sv_child_gone(const struct sv_child *c)
{
    siginfo_t si = { 0 };

    if (c->exited || c->proc->pid <= 0)
        return true;
    /* WNOWAIT: only a look; reap() collects it from the loop as usual. */
    return waitid(P_PID, (id_t)c->proc->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == c->proc->pid;
}

bool sv_child_gone_within(const struct sv_child *c, int ms)
{
    struct pollfd p = { .fd = c->proc->pidfd, .events = POLLIN };

    if (sv_child_gone(c))
        return true;
    if (p.fd < 0 || ms <= 0)
        return false;
    /* A pidfd turns readable once its process has exited. */
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

void sv_drain(struct supervisor *sv)
{
    for (size_t i = 0; i < sv->nchildren; i++) {
        struct sv_child *c = sv->children[i];
        /* Bounded: a child cannot have queued more than its socket buffer holds. */
        for (int k = 0; k < 64 && c->proc->chan >= 0 && c->ev_chan; k++) {
            struct pollfd p = { .fd = c->proc->chan, .events = POLLIN };

            if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
                break;
            read_chan(c);
        }
    }
}

void sv_describe_death(struct supervisor *sv, const struct sv_child *c, int st, char *msg,
                       size_t len)
{
    const struct child *p = c->proc;
    char name[64];
    int nr;

    if (!WIFSIGNALED(st)) {
        snprintf(msg, len, "the %s process (%s) exited with status %d before the VM ended", p->role,
                 p->id, WEXITSTATUS(st));
        return;
    }
    if (WTERMSIG(st) != SIGSYS) {
        snprintf(msg, len, "the %s process (%s) died of signal %d", p->role, p->id, WTERMSIG(st));
        return;
    }
    nr = sbx_audit_syscall(sv->kmsg, p->pid, 500);
    if (nr >= 0)
        snprintf(msg, len,
                 "the %s process (%s) was killed by its seccomp filter: syscall %d (%s) "
                 "(--seccomp log lists what a profile lacks)",
                 p->role, p->id, nr, sbx_syscall_name(nr, name, sizeof(name)));
    else
        snprintf(msg, len,
                 "the %s process (%s) was killed by its seccomp filter (syscall unknown: no "
                 "audit record readable)",
                 p->role, p->id);
}

static void reap(struct sv_child *c)
{
    struct supervisor *sv = c->sv;
    int st;

    if (c->exited || c->proc->pid <= 0 || waitpid(c->proc->pid, &st, WNOHANG) != c->proc->pid)
        return;
    c->exited = true;
    if (c->ev_pidfd)
        event_del(c->ev_pidfd);
    /* Whatever the child said before it died counts first. */
    sv_drain(sv);
    evmon_child_exited(sv->evmon, c->proc->role, c->proc->id, c->proc->pid, st);
    if (c->ops->on_exit) {
        c->ops->on_exit(c, st);
    } else if (!sv->stopping) {
        char msg[256];

        sv_describe_death(sv, c, st, msg, sizeof(msg));
        sv_report(sv, "cellvm: error: %s\n", msg);
        sv_set_status(sv, 1);
        sv_stop(sv);
    }
    advance_stop(sv);
    maybe_exit_loop(sv);
}

static void on_pidfd(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reap(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct supervisor *sv = arg;

    (void)what;
    if (sig == SIGCHLD) {
        for (size_t i = 0; i < sv->nchildren; i++)
            reap(sv->children[i]);
        return;
    }
    /* The first SIGINT/SIGTERM stops the VM in order; a second one kills everything. */
    if (!sv->stopping) {
        sv_stop(sv);
        return;
    }
    for (size_t i = 0; i < sv->nchildren; i++)
        sv_kill(sv->children[i]);
    sv_set_status(sv, 1);
}

int sv_init(struct supervisor *sv, struct event_base *base, int log_out)
{
    memset(sv, 0, sizeof(*sv));
    sv->base = base;
    sv->log_out = log_out;
    /* Before any child can jail itself, so a seccomp kill's record comes after this point. */
    sv->kmsg = sbx_audit_open();
    return 0;
}

int sv_add(struct supervisor *sv, struct sv_child *c, struct child *proc,
           const struct sv_child_ops *ops, void *arg, unsigned stage)
{
    bool ok = true;

    memset(c, 0, sizeof(*c));
    if (sv->nchildren == SV_MAX_CHILDREN)
        return -ENOSPC;
    c->sv = sv;
    c->proc = proc;
    c->ops = ops;
    c->arg = arg;
    c->stage = stage;
    sv->children[sv->nchildren++] = c;
    if (proc->pidfd >= 0) {
        c->ev_pidfd = event_new(sv->base, proc->pidfd, EV_READ | EV_PERSIST, on_pidfd, c);
        ok = c->ev_pidfd && !event_add(c->ev_pidfd, NULL);
    }
    c->ev_chan = event_new(sv->base, proc->chan, EV_READ | EV_PERSIST, on_chan, c);
    c->ev_log = event_new(sv->base, proc->log_rd, EV_READ | EV_PERSIST, on_log, c);
    ok = ok && c->ev_chan && c->ev_log && !event_add(c->ev_chan, NULL) &&
         !event_add(c->ev_log, NULL);
    return ok ? 0 : -ENOMEM;
}

void sv_unwatch(struct sv_child *c)
{
    char buf[4096];

    /* The process is gone; its log is read to the end, bounded so a writer that somehow
     * remains cannot hold the controller. */
    for (int k = 0; k < 64 && c->ev_log && c->proc->log_rd >= 0; k++) {
        struct pollfd p = { .fd = c->proc->log_rd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, 50) != 1)
            break;
        n = read(c->proc->log_rd, buf, sizeof(buf));
        if (n <= 0)
            break;
        feed_log(c, buf, (size_t)n);
    }
    flush_line(c);
    if (c->ev_chan)
        event_free(c->ev_chan);
    if (c->ev_log)
        event_free(c->ev_log);
    if (c->ev_pidfd)
        event_free(c->ev_pidfd);
    c->ev_chan = c->ev_log = c->ev_pidfd = NULL;
}

void sv_remove(struct sv_child *c)
{
    struct supervisor *sv = c->sv;

    sv_unwatch(c);
    for (size_t i = 0; sv && i < sv->nchildren; i++) {
        if (sv->children[i] != c)
            continue;
        memmove(&sv->children[i], &sv->children[i + 1],
                (sv->nchildren - i - 1) * sizeof(sv->children[0]));
        sv->nchildren--;
        break;
    }
    c->sv = NULL;
}

int sv_rewatch(struct sv_child *c)
{
    struct supervisor *sv = c->sv;
    bool ok = true;

    c->exited = c->stop_sent = c->killed = false;
    c->linelen = 0;
    if (c->proc->pidfd >= 0) {
        c->ev_pidfd = event_new(sv->base, c->proc->pidfd, EV_READ | EV_PERSIST, on_pidfd, c);
        ok = c->ev_pidfd && !event_add(c->ev_pidfd, NULL);
    }
    c->ev_chan = event_new(sv->base, c->proc->chan, EV_READ | EV_PERSIST, on_chan, c);
    c->ev_log = event_new(sv->base, c->proc->log_rd, EV_READ | EV_PERSIST, on_log, c);
    ok = ok && c->ev_chan && c->ev_log && !event_add(c->ev_chan, NULL) &&
         !event_add(c->ev_log, NULL);
    return ok ? 0 : -ENOMEM;
}

int sv_run(struct supervisor *sv)
{
    static const int sigs[3] = { SIGINT, SIGTERM, SIGCHLD };
    bool ok = true;

    for (int i = 0; i < 3 && ok; i++) {
        sv->ev_sig[i] = evsignal_new(sv->base, sigs[i], on_signal, sv);
        ok = sv->ev_sig[i] && !event_add(sv->ev_sig[i], NULL);
    }
    if (!ok) {
        sv_set_status(sv, 1);
    } else {
        /* A child that died before the handlers existed must still be noticed. */
        on_signal(SIGCHLD, 0, sv);
        if (!all_done(sv))
            event_base_dispatch(sv->base);
    }
    for (size_t i = 0; i < sv->nchildren; i++) {
        struct sv_child *c = sv->children[i];

        if (!c->exited && c->proc->pid > 0) {
            kill(c->proc->pid, SIGKILL);
            waitpid(c->proc->pid, NULL, 0);
        }
        c->proc->pid = 0;
    }
    return sv->have_status ? sv->status : 1;
}

void sv_destroy(struct supervisor *sv)
{
    for (size_t i = 0; i < sv->nchildren; i++) {
        struct sv_child *c = sv->children[i];

        if (c->ev_chan)
            event_free(c->ev_chan);
        if (c->ev_log)
            event_free(c->ev_log);
        if (c->ev_pidfd)
            event_free(c->ev_pidfd);
        c->ev_chan = c->ev_log = c->ev_pidfd = NULL;
    }
    for (int i = 0; i < 3; i++)
        if (sv->ev_sig[i])
            event_free(sv->ev_sig[i]);
    if (sv->ev_kill)
        event_free(sv->ev_kill);
    if (sv->kmsg >= 0)
        close(sv->kmsg);
    sv->nchildren = 0;
}
