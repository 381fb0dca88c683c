#ifndef CELLVM_SANDBOX_SPAWN_H
#define CELLVM_SANDBOX_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "sandbox/netns.h"

/*
 * The controller's side of the jail: starts a child with clone3 in new user, mount, PID,
 * network (or the VM's shared one, sandbox/netns.h), IPC, UTS and cgroup namespaces, writes
 * its uid/gid maps, and execs it. The child finishes the jail itself (sandbox/jail.h) once it
 * holds its fds; SBX_LAUNCH_ENV tells it what was already done:
 *
 *   userns            every namespace exists and root inside maps to one unprivileged host id:
 *                     the per-VM uid when cellvm runs as root, the caller's uid otherwise
 *   root:UID:GID      the host refused a user namespace and cellvm is root: every other
 *                     namespace exists, and the child becomes UID:GID (the per-VM id) itself
 *   none              no namespace could be created (unprivileged, user namespaces refused)
 */
#define SBX_LAUNCH_ENV    "CELLVM_SANDBOX"
#define SBX_LAUNCH_USERNS "userns"
#define SBX_LAUNCH_ROOT   "root"
#define SBX_LAUNCH_NONE   "none"

/* Per-VM ids for a root-started cellvm: SBX_VM_ID_BASE + controller pid % SBX_VM_ID_SPAN, far
 * above distribution, systemd dynamic and container subordinate ranges. */
#define SBX_VM_ID_BASE    0x60000000u
#define SBX_VM_ID_SPAN    0x01000000u

#define SBX_SPAWN_MAX_FDS 16

struct sbx_spawn {
    int exe_fd;        /* the executable, opened O_RDONLY | O_CLOEXEC by the caller; borrowed */
    char *const *argv; /* borrowed */
    const int *fds;    /* fds[i] becomes fd i of the child; every other fd is closed; borrowed */
    unsigned nfds;     /* at most SBX_SPAWN_MAX_FDS */
    /* CLONE_PARENT: the child becomes the caller's parent's child, so that parent reaps it and
     * gets its SIGCHLD (the controller's unrestricted spawner under --landlock uses it). */
    bool sibling;
    pid_t id_pid; /* the pid that names the per-VM id (SBX_VM_ID_BASE); 0: the caller's */
    /* The VM's shared network namespace (sandbox/netns.h), joined instead of a new one where
     * it is usable; NULL: a new one. Borrowed. */
    const struct sbx_netns *netns;
};

struct sbx_child {
    pid_t pid;      /* in the caller's PID namespace */
    pid_t self_pid; /* the pid the child sees for itself: 1 in its own PID namespace */
    int pidfd;      /* owned by the caller afterwards */
    char how[48];   /* what the jail could do: "userns uid 1610612736", "root uid ...", "none" */
};

/* 0, or -errno with a one-line reason in err. On success the child runs (or failed its exec,
 * which shows as exit status 127). On failure out->pid is 0, or with s->sibling the pid of a
 * child that was started and killed again, which only the caller's parent can reap. */
int sbx_spawn(const struct sbx_spawn *s, struct sbx_child *out, char *err, size_t errlen);

#endif
