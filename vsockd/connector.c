#include "vsockd/connector.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "sandbox/jail.h"
#include "vsockd/host_unix.h"
#include "vsockd/vconn.h"

int vconn_serve(int chan, const char *dir, const char *name)
{
    for (;;) {
        struct vconn_req req;
        struct vconn_ans ans;
        int fds[1], s = -1, r;
        size_t nfds = 0;
        ssize_t n = ipc_recv(chan, &req, sizeof(req), fds, 1, &nfds);

        if (n == 0)
            return 0; /* the daemon is gone */
        if (n < 0)
            return (int)n;
        ipc_close_fds(fds, nfds); /* a request carries none */
        if (n != (ssize_t)sizeof(req))
            return -EPROTO;
        /* Non-blocking: connected or refused at once. A full backlog (EAGAIN) is a refusal, as
           the guest would see from a busy host. The path is ours: dir, name and a number. */
        r = host_connect(dir, name, req.port, &s);
        ans = (struct vconn_ans){ .seq = req.seq, .errnum = r == -EAGAIN ? ECONNREFUSED : -r };
        r = ipc_send(chan, &ans, sizeof(ans), &s, ans.errnum ? 0 : 1);
        if (s >= 0)
            close(s);
        if (r)
            return r;
    }
}

static _Noreturn void connector_main(int chan, const char *dir, const char *name,
                                     enum sbx_seccomp mode)
{
    struct sbx_config cfg = {
        .profile = SBX_PROFILE_VSOCKCONN,
        .seccomp = mode,
        .keep_fds = &chan,
        .nkeep = 1,
    };
    char err[256];

    if (sbx_enter_helper(&cfg, err, sizeof(err))) {
        fprintf(stderr, "cellvm-vsockd: connector: %s\n", err);
        _exit(1);
    }
    /* From here on the filter allows no write: whatever ends the loop, the daemon sees EOF. */
    _exit(vconn_serve(chan, dir, name) ? 1 : 0);
}

int vconn_spawn(const char *dir, const char *name, enum sbx_seccomp mode, int *fd)
{
    pid_t mid;
    int sv[2], st, r;

    r = ipc_chan_pair(sv);
    if (r)
        return r;
    mid = fork();
    if (mid < 0) {
        r = -errno;
        close(sv[0]);
        close(sv[1]);
        return r;
    }
    if (mid == 0) {
        pid_t pid = fork();

        if (pid == 0)
            connector_main(sv[1], dir, name, mode);
        _exit(pid < 0 ? 1 : 0);
    }
    close(sv[1]);
    while (waitpid(mid, &st, 0) < 0) {
        if (errno != EINTR) {
            st = -1;
            break;
        }
    }
    if (st != 0) {
        close(sv[0]);
        return -ECHILD;
    }
    *fd = sv[0];
    return 0;
}
