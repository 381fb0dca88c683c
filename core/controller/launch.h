#ifndef CELLVM_CORE_LAUNCH_H
#define CELLVM_CORE_LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

/* The fd number at which every child finds its control channel. */
#define LAUNCH_CHANNEL_FD 3

struct sbx_netns;
struct spawner;

struct child {
    const char *role; /* "core", "blockd", ...: for log prefixes */
    const char *id;   /* device id ("disk0"), or the role for the core; borrowed */
    pid_t pid;        /* 0 when not running */
    pid_t self_pid;   /* the pid the child reports for itself (1 in its PID namespace) */
    int pidfd;        /* readable once the child has exited; owned */
    int chan;         /* controller's end of the SEQPACKET control channel; owned */
    int log_rd;       /* read end of the child's stderr pipe; owned */
    char jail[48];    /* what the launcher could do (sandbox/spawn.h), for -v logs */
    /* --landlock: a restricted controller starts children through its spawner (spawner.h);
     * borrowed, NULL to start them itself. */
    struct spawner *spawner;
    /* The VM's shared network namespace (sandbox/netns.h) when it starts itself; borrowed, or
     * NULL for a namespace of its own (the API process, which binds an abstract socket). */
    const struct sbx_netns *netns;
};

void child_init(struct child *c, const char *role);

/*
 * Starts `exe` with argv, its control channel at LAUNCH_CHANNEL_FD, stdin/stdout on /dev/null,
 * stderr on a pipe the controller reads, and no other fd: data fds travel later over the
 * channel. The child starts in new namespaces, a new PID namespace included, as an
 * unprivileged id (sandbox/spawn.h) and jails itself once it holds its fds. On success c->pid,
 * c->pidfd, c->chan and c->log_rd are set and owned by c.
 */
int child_spawn(struct child *c, const char *exe, char *const argv[]);
/* The same with extra[i] (borrowed) at fd LAUNCH_CHANNEL_FD + 1 + i in the child: a device's
 * vhost-user socket end, which it needs before its Configure arrives. */
int child_spawn_fds(struct child *c, const char *exe, char *const argv[], const int *extra,
                    size_t nextra);

/* Closes what c owns (does not kill or reap the process). */
void child_close(struct child *c);

/* Path of a sibling executable (next to /proc/self/exe, or $CELLVM_LIBEXEC_DIR). */
int child_exe_path(const char *name, char *buf, size_t len);

#endif
