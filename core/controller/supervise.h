#ifndef CELLVM_CORE_SUPERVISE_H
#define CELLVM_CORE_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>

#include "control.pb-c.h"
#include "core/controller/launch.h"

struct event;
struct event_base;
struct evmon;
struct supervisor;
struct sv_child;

/*
 * The controller's event loop over every child of one VM (core, device processes, the API
 * process). Each child is a struct sv_child with a small ops table for its role; the loop relays
 * its stderr with a "cellvm-ROLE(ID):" prefix, reads its control channel, watches its pidfd, and
 * turns SIGINT/SIGTERM into an orderly stop. Stopping goes stage by stage: every child of stage
 * 0 (the core) is asked to stop first, then, once all of them have exited, stage 1 (devices),
 * and so on; whatever is still alive SV_KILL_AFTER_S seconds after the stop began is killed.
 */

#define SV_MAX_CHILDREN 80
#define SV_KILL_AFTER_S 10

struct sv_child_ops {
    /*
     * One validated message from the child. fds[0..nfds) belong to the handler (it closes what it
     * does not keep). Required.
     */
    void (*on_message)(struct sv_child *c, Cellvm__Envelope *env, int *fds, size_t nfds);
    /*
     * The child exited with wait status `st`; called once. Optional: without it an exit while the
     * supervisor is not stopping is reported (sv_describe_death) and fails the run.
     */
    void (*on_exit)(struct sv_child *c, int st);
    /* Asked to stop. Optional: the default sends Shutdown, or SIGKILL when that fails. */
    void (*on_stop)(struct sv_child *c);
};

struct sv_child {
    struct supervisor *sv;
    struct child *proc; /* pid, pidfd, channel, log pipe; borrowed */
    const struct sv_child_ops *ops;
    void *arg;      /* the role's context, for the ops */
    unsigned stage; /* stop order, see above */
    bool exited;
    bool stop_sent;
    bool killed; /* the supervisor sent SIGKILL (sv_kill): its death is no news */
    struct event *ev_chan, *ev_log, *ev_pidfd; /* owned */
    char line[1024];                           /* partial log line */
    size_t linelen;
};

struct supervisor {
    struct event_base *base; /* borrowed */
    int log_out;             /* prefixed log lines and reports go here; borrowed */
    int kmsg;                /* /dev/kmsg for seccomp audit records, or -errno; owned */
    struct sv_child *children[SV_MAX_CHILDREN]; /* borrowed */
    size_t nchildren;
    bool stopping;
    unsigned stop_stage; /* the stage asked to stop last */
    bool have_status;
    int status;
    struct evmon *evmon; /* --event-monitor, told of every child's exit; borrowed, or NULL */
    struct event *ev_sig[3], *ev_kill; /* owned */
};

/* Opens the audit source (before any child can jail itself). 0 or -errno. */
int sv_init(struct supervisor *sv, struct event_base *base, int log_out);
void sv_destroy(struct supervisor *sv);

/* Watches a spawned child; c is filled here and must outlive sv_run. 0 or -errno. */
int sv_add(struct supervisor *sv, struct sv_child *c, struct child *proc,
           const struct sv_child_ops *ops, void *arg, unsigned stage);

/*
 * Respawn (issue 19), for a child whose process exited: sv_unwatch reads what is left of its
 * log (bounded) and drops its events; the caller then closes c->proc and starts a new process
 * in it; sv_rewatch watches that one in the same slot, stage and ops. 0 or -errno.
 */
void sv_unwatch(struct sv_child *c);
int sv_rewatch(struct sv_child *c);

/* A child that exited leaves the supervisor for good (sv_unwatch, then out of its list): the
 * VM stopped while the VMM stays, and its slot may be added again at the next boot. */
void sv_remove(struct sv_child *c);

/* Sends one message with fds (still owned by the caller) on the child's channel. */
int sv_send(struct sv_child *c, const Cellvm__Envelope *env, const int *fds, size_t nfds);
int sv_send_shutdown(struct sv_child *c);

__attribute__((format(printf, 2, 3))) void sv_report(struct supervisor *sv, const char *fmt, ...);

/* SIGKILL to a child that is still running, remembered in c->killed. */
void sv_kill(struct sv_child *c);

/* How the run ends: 0 or 1; the first call wins. */
void sv_set_status(struct supervisor *sv, int status);

/* Begins the orderly stop (idempotent). */
void sv_stop(struct supervisor *sv);

/* Asks one child to stop now, ahead of its stage (its on_stop, else a Shutdown or SIGKILL);
 * once per child. */
void sv_stop_child(struct sv_child *c);

/* One line on why a child died, naming the syscall when its seccomp filter killed it. */
void sv_describe_death(struct supervisor *sv, const struct sv_child *c, int st, char *msg,
                       size_t len);

/* Whether c has exited, reaped or not (its exit may still wait in the loop). */
bool sv_child_gone(const struct sv_child *c);

/* The same, waiting up to ms for an exit under way (a peer that saw c's sockets close may hear
 * of it before c is gone); blocks the caller that long at most. */
bool sv_child_gone_within(const struct sv_child *c, int ms);

/* Handles messages already queued on every child's channel (a device's death is judged only
 * after the core's last word, which may be waiting there). */
void sv_drain(struct supervisor *sv);

/* Runs until every child has exited and its log is drained. Returns the exit status: the one
 * set with sv_set_status, or 1 when none was. */
int sv_run(struct supervisor *sv);

#endif
