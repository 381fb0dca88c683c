#include "core/controller/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/controller/spawner.h"
#include "ipc/channel.h"
#include "sandbox/spawn.h"

void child_init(struct child *c, const char *role)
{
    c->role = role;
    c->id = role;
    c->pid = 0;
    c->self_pid = 0;
    c->pidfd = -1;
    c->jail[0] = '\0';
    c->spawner = NULL;
    c->netns = NULL;
    c->chan = -1;
    c->log_rd = -1;
}

void child_close(struct child *c)
{
    if (c->chan >= 0)
        close(c->chan);
    if (c->log_rd >= 0)
        close(c->log_rd);
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->chan = -1;
    c->log_rd = -1;
    c->pidfd = -1;
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

int child_spawn(struct child *c, const char *exe, char *const argv[])
{
    return child_spawn_fds(c, exe, argv, NULL, 0);
}

int child_spawn_fds(struct child *c, const char *exe, char *const argv[], const int *extra,
                    size_t nextra)
{
    int sv[2] = { -1, -1 }, lp[2] = { -1, -1 }, devnull = -1, exe_fd = -1;
    struct sbx_spawn sp = { .argv = argv, .nfds = LAUNCH_CHANNEL_FD + 1 + (unsigned)nextra };
    struct sbx_child ch;
    int fds[SBX_SPAWN_MAX_FDS];
    char why[160];
    int r;

    if (nextra > SBX_SPAWN_MAX_FDS - LAUNCH_CHANNEL_FD - 1)
        return -E2BIG;
    r = ipc_chan_pair(sv);
    if (r)
        return r;
    if (pipe2(lp, O_CLOEXEC) < 0) {
        r = -errno;
        goto out;
    }
    if (c->spawner) {
        const char *slash = strrchr(exe, '/');

        /* The spawner has its own /dev/null and executables: it gets the rest. */
        fds[0] = lp[1];
        fds[1] = sv[1];
        for (size_t i = 0; i < nextra; i++)
            fds[2 + i] = extra[i];
        r = spawner_spawn(c->spawner, slash ? slash + 1 : exe, argv, fds, 2 + (unsigned)nextra, &ch,
                          why, sizeof(why));
        if (r) {
            fprintf(stderr, "cellvm: %s: %s\n", c->role, why);
            goto out;
        }
        goto started;
    }
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    /* Exec by fd: the child's unprivileged id need not reach the directory exe lives in. */
    exe_fd = devnull < 0 ? -1 : open(exe, O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || exe_fd < 0) {
        r = -errno;
        goto out;
    }
    fds[0] = devnull;
    fds[1] = devnull;
    fds[2] = lp[1];
    fds[LAUNCH_CHANNEL_FD] = sv[1];
    for (size_t i = 0; i < nextra; i++)
        fds[LAUNCH_CHANNEL_FD + 1 + i] = extra[i];
    sp.exe_fd = exe_fd;
    sp.fds = fds;
    sp.netns = c->netns;
    r = sbx_spawn(&sp, &ch, why, sizeof(why));
    if (r) {
        fprintf(stderr, "cellvm: %s: %s\n", c->role, why);
        goto out;
    }
started:
    c->pid = ch.pid;
    c->self_pid = ch.self_pid;
    c->pidfd = ch.pidfd;
    snprintf(c->jail, sizeof(c->jail), "%s", ch.how);
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
    if (exe_fd >= 0)
        close(exe_fd);
    return r;
}
