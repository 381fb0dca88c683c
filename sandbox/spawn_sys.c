#include "sandbox/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define NS_ALL_BUT_USER \
    (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

struct attempt {
    uint64_t flags;
    const char *kind;
};

/* In the child between clone3 and exec: async-signal-safe calls only, then exec or _exit. */
static void child_exec(const struct sbx_spawn *s, char *const envp[], int sync_rd, bool to_ns_root)
{
    int tmp[SBX_SPAWN_MAX_FDS];
    char go;

    /* Wait for the maps (or for the parent's failure: EOF). */
    if (read(sync_rd, &go, 1) != 1)
        _exit(127);
    /* Root's ids are not in the map (only the per-VM id is): take ns root, which is that id,
     * and shed root's supplementary groups. Raw syscalls: no glibc setxid broadcast here. */
    if (to_ns_root && (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 0, 0, 0) < 0 ||
                       syscall(SYS_setresuid, 0, 0, 0) < 0))
        _exit(127);
    /* The controller's death takes its children along. After the id change, which clears it
     * (commit_creds); the parent was alive when it sent the maps just before. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        _exit(127);
    /* Above every target first, so no dup2 below clobbers a source. */
    for (unsigned i = 0; i < s->nfds; i++) {
        tmp[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, (int)s->nfds);
        if (tmp[i] < 0)
            _exit(127);
    }
    for (unsigned i = 0; i < s->nfds; i++)
        if (dup2(tmp[i], (int)i) < 0)
            _exit(127);
    if (syscall(SYS_close_range, s->nfds, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
        _exit(127);
    syscall(SYS_execveat, s->exe_fd, "", s->argv, envp, AT_EMPTY_PATH);
    _exit(127);
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
    char path[64];
    size_t n = strlen(text);
    int fd, r = 0;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, text, n) != (ssize_t)n)
        r = errno ? -errno : -EIO;
    close(fd);
    return r;
}

/* Unprivileged, gid_map needs setgroups denied first; root (CAP_SETGID here) leaves setgroups
 * allowed so the child can drop root's supplementary groups, none of which are mapped. */
static int write_maps(pid_t pid, unsigned uid, unsigned gid, bool root)
{
    char map[48];
    int r = root ? 0 : write_proc(pid, "setgroups", "deny");

    snprintf(map, sizeof(map), "0 %u 1", uid);
    if (!r)
        r = write_proc(pid, "uid_map", map);
    snprintf(map, sizeof(map), "0 %u 1", gid);
    if (!r)
        r = write_proc(pid, "gid_map", map);
    return r;
}

/* A child that failed to start: reaped here, or, a sibling (CLONE_PARENT), named in out->pid
 * for the parent that alone can reap it. */
static void reap_or_hand_over(const struct sbx_spawn *s, pid_t pid, struct sbx_child *out)
{
    if (s->sibling)
        out->pid = pid;
    else
        waitpid(pid, NULL, 0);
}

/* environ without any inherited SBX_LAUNCH_ENV, with one free slot at the end. */
static char **child_env(size_t *slot)
{
    size_t n = 0, k = 0, plen = strlen(SBX_LAUNCH_ENV);
    char **env;

    while (environ && environ[n])
        n++;
    env = calloc(n + 2, sizeof(*env));
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], SBX_LAUNCH_ENV "=", plen + 1))
            env[k++] = environ[i];
    *slot = k;
    return env;
}

int sbx_spawn(const struct sbx_spawn *s, struct sbx_child *out, char *err, size_t errlen)
{
    const bool root = geteuid() == 0;
    const unsigned vm_id =
        SBX_VM_ID_BASE + (unsigned)(s->id_pid > 0 ? s->id_pid : getpid()) % SBX_VM_ID_SPAN;
    const unsigned uid = root ? vm_id : (unsigned)geteuid();
    const unsigned gid = root ? vm_id : (unsigned)getegid();
    const struct attempt attempts[] = {
        { CLONE_NEWUSER | NS_ALL_BUT_USER, SBX_LAUNCH_USERNS },
        { NS_ALL_BUT_USER, SBX_LAUNCH_ROOT },
        { 0, SBX_LAUNCH_NONE },
    };
    char entry[64];
    int sync[2] = { -1, -1 }, pidfd = -1, r = 0, clone_errno;
    bool shared = false;
    size_t slot;
    char **env = NULL;
    pid_t pid = -1;
    unsigned i;

    out->pid = 0;
    out->pidfd = -1;
    if (s->nfds > SBX_SPAWN_MAX_FDS)
        return -E2BIG;
    env = child_env(&slot);
    if (!env)
        return -ENOMEM;
    if (pipe2(sync, O_CLOEXEC) < 0) {
        r = -errno;
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto out;
    }
    for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        struct clone_args ca = { .flags = attempts[i].flags | CLONE_PIDFD |
                                          (s->sibling ? CLONE_PARENT : 0),
                                 .pidfd = (uint64_t)(uintptr_t)&pidfd,
                                 /* clone3 wants none with CLONE_PARENT: the child then
                                  * signals its parent as the caller does (SIGCHLD). */
                                 .exit_signal = s->sibling ? 0 : SIGCHLD };

        /* Without a user namespace, namespaces need root; the per-VM uid is root's too. */
        if (i == 1 && !root)
            continue;
        if (i == 1)
            snprintf(entry, sizeof(entry), "%s=%s:%u:%u", SBX_LAUNCH_ENV, SBX_LAUNCH_ROOT, uid,
                     gid);
        else
            snprintf(entry, sizeof(entry), "%s=%s", SBX_LAUNCH_ENV, attempts[i].kind);
        env[slot] = entry;
        /* The VM's network namespace instead of a new one: the child inherits this thread's. */
        shared = (ca.flags & CLONE_NEWNET) && s->netns && sbx_netns_enter(s->netns) == 0;
        if (shared)
            ca.flags &= ~(uint64_t)CLONE_NEWNET;
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid == 0) {
            close(sync[1]);
            child_exec(s, env, sync[0], i == 0 && root);
        }
        clone_errno = errno;
        if (shared && sbx_netns_leave(s->netns) < 0) {
            r = -errno;
            snprintf(err, errlen, "back to the host's network namespace: %s", strerror(errno));
            if (pid > 0) {
                close(sync[1]); /* EOF: the child exits */
                sync[1] = -1;
                reap_or_hand_over(s, pid, out);
            }
            goto out;
        }
        errno = clone_errno;
        if (pid > 0)
            break;
        if (errno != EPERM && errno != EINVAL && errno != ENOSPC && errno != EUSERS) {
            r = -errno;
            snprintf(err, errlen, "clone3: %s", strerror(errno));
            goto out;
        }
    }
    if (pid < 0) {
        r = -EPERM;
        snprintf(err, errlen, "clone3: no way to start a child");
        goto out;
    }
    if (i == 0) {
        r = write_maps(pid, uid, gid, root);
        if (r) {
            snprintf(err, errlen, "uid/gid maps of the child: %s", strerror(-r));
            close(sync[1]); /* EOF: the child exits */
            sync[1] = -1;
            reap_or_hand_over(s, pid, out);
            goto out;
        }
    }
    if (write(sync[1], "g", 1) != 1) {
        r = -errno;
        snprintf(err, errlen, "starting the child: %s", strerror(errno));
        kill(pid, SIGKILL);
        reap_or_hand_over(s, pid, out);
        goto out;
    }
    out->pid = pid;
    out->self_pid = attempts[i].flags & CLONE_NEWPID ? 1 : pid;
    out->pidfd = pidfd;
    pidfd = -1;
    if (i == 0)
        snprintf(out->how, sizeof(out->how), "userns uid %u%s", uid, shared ? ", VM netns" : "");
    else if (i == 1)
        snprintf(out->how, sizeof(out->how), "root uid %u%s", uid, shared ? ", VM netns" : "");
    else
        snprintf(out->how, sizeof(out->how), "none");
out:
    if (pidfd >= 0)
        close(pidfd);
    if (sync[0] >= 0)
        close(sync[0]);
    if (sync[1] >= 0)
        close(sync[1]);
    free(env);
    return r;
}
