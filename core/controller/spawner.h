#ifndef CELLVM_CORE_CONTROLLER_SPAWNER_H
#define CELLVM_CORE_CONTROLLER_SPAWNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/spawn.h"

/*
 * --landlock (issue 20): the controller restricts itself with Landlock once the VM is
 * configured, and Landlock is inherited and forbids mount and pivot_root, which every jail
 * (sandbox/jail.h) needs. So just before restricting itself the controller forks this small
 * unrestricted spawner, which from then on starts every child (hotplug, respawn, a vm.boot
 * after vm.shutdown) with sbx_spawn exactly as the controller would, with one difference:
 * CLONE_PARENT, so each child is the controller's own child. The controller keeps reaping
 * with waitpid, gets SIGCHLD and the child's pidfd (sent back with SCM_RIGHTS) and its
 * supervision (supervise.c, respawn.c) does not change; the spawner never has a child.
 *
 * The spawner is privileged for the controller (it can mount, pivot_root, open any path), so
 * it trusts nothing it is sent:
 * - it talks only over one SEQPACKET socketpair made before the fork, whose peer it checks
 *   (SO_PEERCRED is its parent), and exits when that closes or its parent dies;
 * - it keeps no fd but that socket, /dev/null, stderr and the daemon executables it opened at
 *   start-up (SPAWNER_DAEMONS, next to the controller or in $CELLVM_LIBEXEC_DIR): a request
 *   names one of those by name and can start nothing else;
 * - each request is one fixed-size message (struct spawner_req) checked by spawner_req_check:
 *   argv[0] is the daemon's name, strings bounded and printable, fds a pipe (stderr) then
 *   sockets (channel, vhost-user end), at most SBX_SPAWN_MAX_FDS - 2.
 */

#define SPAWNER_MAGIC    0x6c6c7370u /* "psll" */
#define SPAWNER_NAME_MAX 32
#define SPAWNER_ARGS_MAX 1024
#define SPAWNER_MAX_ARGV 16
#define SPAWNER_MAX_FDS  (SBX_SPAWN_MAX_FDS - 2) /* fds 0 and 1 are the spawner's /dev/null */

/* The executables the spawner opens at start-up; nothing else can be started through it. */
#define SPAWNER_DAEMONS                                                               \
    {                                                                                 \
        "cellvm-core", "cellvm-api", "cellvm-blockd", "cellvm-netd", "cellvm-vsockd", \
            "cellvm-vfiod", "cellvm-balloond", "cellvm-rngd", "cellvm-consoled"       \
    }
#define SPAWNER_NDAEMONS 9

struct spawner_req {
    uint32_t magic;
    uint32_t argc;               /* 1..SPAWNER_MAX_ARGV strings in args */
    uint32_t args_len;           /* bytes of args used, the last one a NUL */
    char name[SPAWNER_NAME_MAX]; /* one of SPAWNER_DAEMONS, NUL-terminated */
    char args[SPAWNER_ARGS_MAX]; /* argc NUL-terminated strings, argv[0] == name */
};

struct spawner_rep {
    int32_t err; /* 0, or -errno with why */
    int32_t pid;
    int32_t self_pid;
    int32_t stray_pid; /* a child started and killed again: the controller reaps it; or 0 */
    char how[48];
    char why[160];
};

/* The controller's handle. */
struct spawner {
    pid_t pid; /* the spawner process, 0 when none */
    int sock;  /* the controller's end; owned */
};

void spawner_init(struct spawner *s);
/* Forks the spawner. The controller must be single-threaded (it is). 0 or -errno with err. */
int spawner_start(struct spawner *s, char *err, size_t errlen);
/* Asks the spawner to start daemon `name` with argv and fds[i] (borrowed) as fd 2 + i: the
 * stderr pipe, the control channel, extras. On success out is filled and out->pidfd is the
 * caller's. 0 or -errno with err. */
int spawner_spawn(struct spawner *s, const char *name, char *const argv[], const int *fds,
                  unsigned nfds, struct sbx_child *out, char *err, size_t errlen);
/* Closes the socket (the spawner exits) and reaps it. */
void spawner_close(struct spawner *s);

/* Packs a request; -E2BIG when it does not fit, -EINVAL for an empty argv or a long name. */
int spawner_req_pack(struct spawner_req *q, const char *name, char *const argv[]);
/*
 * The spawner's check of one received message of len bytes with nfds fds: 0 and argv[] (into
 * q->args, NULL-terminated, SPAWNER_MAX_ARGV + 1 slots) and *daemon (index into
 * SPAWNER_DAEMONS), or -EINVAL with why. fd types are checked separately (spawner_fds_check).
 */
int spawner_req_check(struct spawner_req *q, size_t len, size_t nfds, char *argv[],
                      unsigned *daemon, char *why, size_t whylen);
/* fds[0] a pipe or FIFO, every other one a socket. 0 or -EINVAL with why. */
int spawner_fds_check(const int *fds, size_t nfds, char *why, size_t whylen);

#endif
