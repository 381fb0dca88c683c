#include "core/controller/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/channel.h"

void child_init(struct child *c, const char *role)
{
    c->role = role;
    c->pid = 0;
    c->chan = -1;
    c->log_rd = -1;
}

void child_close(struct child *c)
{
    if (c->chan >= 0)
        close(c->chan);
    if (c->log_rd >= 0)
        close(c->log_rd);
    c->chan = -1;
    c->log_rd = -1;
}

int child_exe_path(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("CELLVM_LIBEXEC_DIR");
    char self[PATH_MAX];
    ssize_t n;
    int w;

    if (dir && *dir) {
        w = snprintf(buf, len, "%s/%s", dir, name);
        return w > 0 && (size_t)w < len ? 0 : -ENAMETOOLONG;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return -errno;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    w = snprintf(buf, len, "%s/%s", self, name);
    return w > 0 && (size_t)w < len ? 0 : -ENAMETOOLONG;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void child_setup_and_exec(const char *exe, char *const argv[], int chan, int log_wr,
                                 int devnull)
{
    /* Move the channel out of the way first so the dup2s below cannot clobber it. */
    int c = fcntl(chan, F_DUPFD, 10);

    if (c < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(log_wr, 2) < 0 ||
        dup2(c, LAUNCH_CHANNEL_FD) < 0)
        _exit(127);
    if (close_range(LAUNCH_CHANNEL_FD + 1, ~0u, 0) < 0)
        _exit(127);
    execv(exe, argv);
    _exit(127);
}

int child_spawn(struct child *c, const char *exe, char *const argv[])
{
    int sv[2] = { -1, -1 }, lp[2] = { -1, -1 }, devnull = -1;
    pid_t pid;
    int r;

    r = ipc_chan_pair(sv);
    if (r)
        return r;
    if (pipe2(lp, O_CLOEXEC) < 0) {
        r = -errno;
        goto out;
    }
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        r = -errno;
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        r = -errno;
        goto out;
    }
    if (pid == 0)
        child_setup_and_exec(exe, argv, sv[1], lp[1], devnull);
    c->pid = pid;
    c->chan = sv[0];
    c->log_rd = lp[0];
    sv[0] = -1;
    lp[0] = -1;
    r = 0;
out:
    ipc_close_fds(sv, 2);
    ipc_close_fds(lp, 2);
    if (devnull >= 0)
        close(devnull);
    return r;
}
