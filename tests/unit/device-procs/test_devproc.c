/* devproc_main end to end in a forked child: --fd, --socket-path (two frontends in turn),
 * --print-capabilities, and the controller's control channel. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echo_dev.h"
#include "ipc/channel.h"
#include "ipc/msg.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

static struct echo_dev dev;
/* Criterion's worker reaps children itself, so the child reports its status on a pipe. */
static int status_pipe[2] = { -1, -1 };

/* close_a and close_b: the parent's ends, which the child must not keep open. */
static pid_t spawn(char **argv, int argc, int close_a, int close_b)
{
    pid_t pid;

    if (status_pipe[0] < 0)
        cr_assert_eq(pipe2(status_pipe, O_CLOEXEC), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int rc;

        if (close_a >= 0)
            close(close_a);
        if (close_b >= 0)
            close(close_b);
        echo_init(&dev);
        rc = devproc_main(argc, argv, &echo_ops, &dev);
        if (write(status_pipe[1], &rc, sizeof(rc)) < 0)
            rc = 99;
        _exit(rc);
    }
    return pid;
}

/* The child's exit status, or -1 (and the child killed) if it does not exit in 5 s. */
static int wait_exit(pid_t pid)
{
    struct pollfd p = { .fd = status_pipe[0], .events = POLLIN };
    int rc = -1;

    if (poll(&p, 1, 5000) == 1 && read(status_pipe[0], &rc, sizeof(rc)) == sizeof(rc))
        return rc;
    kill(pid, SIGKILL);
    return -1;
}

/* A whole session through the frontend library: echo one request. */
static void session(struct vu_frontend *fe)
{
    struct vu_gmem gm;
    struct vu_gring ring;
    struct vu_fe_region r;
    struct vu_fe_vring v;
    uint64_t offered, out, in;
    struct vu_gbuf bufs[2];
    uint16_t head, h;
    uint32_t len = 0;
    int got = 0;

    cr_assert_eq(vu_gmem_create(&gm, 1 << 20), 0);
    r = vu_gmem_region(&gm);
    cr_assert_eq(vu_fe_negotiate(fe, ~0ull, &offered), 0);
    cr_assert_eq(vu_fe_set_features(fe, offered), 0);
    cr_assert_eq(vu_fe_set_mem_table(fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 16, true), 0);
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_start_vring(fe, 0, &v), 0);
    out = vu_gmem_alloc(&gm, 64, 8);
    in = vu_gmem_alloc(&gm, 64, 8);
    memcpy(vu_gmem_ptr(&gm, out), "jailed", 6);
    bufs[0] = (struct vu_gbuf){ out, 6 };
    bufs[1] = (struct vu_gbuf){ in, 64 };
    cr_assert_eq(vu_gring_add(&ring, bufs, 1, 1, &head), 0);
    vu_gring_want_interrupt(&ring);
    vu_gring_kick(&ring);
    for (int i = 0; i < 300 && !got; i++) {
        got = vu_gring_get_used(&ring, &h, &len) == 1;
        if (!got)
            vu_gring_wait(&ring, 10);
    }
    cr_assert(got, "the device process answered");
    cr_assert_eq(len, 6);
    cr_assert_eq(memcmp(vu_gmem_ptr(&gm, in), "jailed", 6), 0);
    vu_gring_destroy(&ring);
    vu_gmem_destroy(&gm);
}

static void fd_mode(const char *seccomp)
{
    int sv[2];
    char fdarg[16];
    struct vu_frontend fe;
    pid_t pid;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    {
        char *argv[] = { "echo", "--fd", fdarg, "--echo", "x", "--seccomp", (char *)seccomp, NULL };

        pid = spawn(argv, 7, sv[0], -1);
    }
    close(sv[1]);
    vu_fe_init(&fe, sv[0]);
    session(&fe);
    vu_fe_close(&fe);
    cr_assert_eq(wait_exit(pid), 0, "exits cleanly when its only frontend leaves");
}

Test(devproc, fd_mode_serves_then_exits, .timeout = 30)
{
    fd_mode("log");
}

/* The interim allowlist is complete for a whole session: nothing outside it is called. */
Test(devproc, fd_mode_seccomp_kill, .timeout = 30)
{
    fd_mode("on");
}

Test(devproc, socket_path_accepts_next_frontend, .timeout = 30)
{
    char path[] = "/tmp/cellvm-devproc-XXXXXX";
    char sock[64];
    struct vu_frontend fe;
    pid_t pid;

    cr_assert(mkdtemp(path));
    snprintf(sock, sizeof(sock), "%s/s", path);
    {
        char *argv[] = { "echo", "--socket-path", sock, "--echo", "x", NULL };

        pid = spawn(argv, 5, -1, -1);
    }
    for (int round = 0; round < 2; round++) {
        int r = -1;

        for (int i = 0; i < 200 && r; i++) {
            r = vu_fe_connect(&fe, sock);
            if (r)
                usleep(10000);
        }
        cr_assert_eq(r, 0);
        session(&fe);
        vu_fe_close(&fe);
    }
    kill(pid, SIGTERM);
    cr_assert_eq(wait_exit(pid), 0, "SIGTERM ends it with status 0");
    unlink(sock);
    rmdir(path);
}

Test(devproc, print_capabilities, .timeout = 10)
{
    int p[2];
    char buf[256] = "";
    pid_t pid;

    cr_assert_eq(pipe(p), 0);
    pid = fork();
    if (pid == 0) {
        char *argv[] = { "echo", "--print-capabilities", NULL };

        dup2(p[1], 1);
        echo_init(&dev);
        _exit(devproc_main(2, argv, &echo_ops, &dev));
    }
    close(p[1]);
    cr_assert_gt(read(p[0], buf, sizeof(buf) - 1), 0);
    cr_assert(strstr(buf, "\"type\": \"echo\""));
    (void)pid;
}

Test(devproc, bad_arguments, .timeout = 10)
{
    char *argv[] = { "echo", "--echo", "x", NULL };

    cr_assert_eq(wait_exit(spawn(argv, 3, -1, -1)), 1, "neither --fd nor --socket-path");
}

static Cellvm__Envelope *recv_env(int fd, size_t *nfds)
{
    Cellvm__Envelope *env = NULL;
    int fds[IPC_MAX_FDS];
    const char *why;

    cr_assert_eq(ipc_recv_envelope(fd, &env, fds, IPC_MAX_FDS, nfds, &why), 0);
    return env;
}

Test(devproc, controller_channel, .timeout = 30)
{
    int ctl[2], sv[2];
    char ctlarg[16], fdarg[16];
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT, *got;
    Cellvm__DeviceConfigure cfg = CELLVM__DEVICE_CONFIGURE__INIT;
    Cellvm__StatsRequest sr = CELLVM__STATS_REQUEST__INIT;
    Cellvm__Shutdown sd = CELLVM__SHUTDOWN__INIT;
    struct vu_frontend fe;
    size_t nfds;
    pid_t pid;

    cr_assert_eq(ipc_chan_pair(ctl), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    snprintf(ctlarg, sizeof(ctlarg), "%d", ctl[1]);
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    {
        char *argv[] = { "echo", "--control-fd", ctlarg, "--fd", fdarg, NULL };

        pid = spawn(argv, 5, ctl[0], sv[0]);
    }
    close(ctl[1]);
    close(sv[1]);
    got = recv_env(ctl[0], &nfds);
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_HELLO);
    ipc_free_envelope(got);
    cfg.option = "echo";
    cfg.spec = "x";
    cfg.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_LOG;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE;
    env.device_configure = &cfg;
    cr_assert_eq(ipc_send_envelope(ctl[0], &env, NULL, 0), 0);
    got = recv_env(ctl[0], &nfds);
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_READY, "got %d (%s)", got->body_case,
                 got->body_case == CELLVM__ENVELOPE__BODY_ERROR ? got->error->message : "");
    ipc_free_envelope(got);
    got = recv_env(ctl[0], &nfds);
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_DEVICE_EVENT);
    cr_assert_eq(got->device_event->kind, CELLVM__DEVICE_EVENT__KIND__KIND_FRONTEND_CONNECTED);
    ipc_free_envelope(got);

    vu_fe_init(&fe, sv[0]);
    session(&fe);
    env.body_case = CELLVM__ENVELOPE__BODY_STATS_REQUEST;
    env.stats_request = &sr;
    cr_assert_eq(ipc_send_envelope(ctl[0], &env, NULL, 0), 0);
    got = recv_env(ctl[0], &nfds);
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_DEVICE_STATS);
    cr_assert_eq(got->device_stats->n_queues, ECHO_QUEUES);
    cr_assert_eq(got->device_stats->queues[0]->requests, 1);
    cr_assert(got->device_stats->connected);
    ipc_free_envelope(got);

    env.body_case = CELLVM__ENVELOPE__BODY_SHUTDOWN;
    env.shutdown = &sd;
    cr_assert_eq(ipc_send_envelope(ctl[0], &env, NULL, 0), 0);
    cr_assert_eq(wait_exit(pid), 0);
    vu_fe_close(&fe);
    close(ctl[0]);
}

/* A Configure naming a --rate-limit-group reaches a device without groups (echo): refused with an
 * Error, and the device exits instead of serving unlimited. */
Test(devproc, rate_limit_group_refused_by_a_device_without_groups, .timeout = 30)
{
    int ctl[2], sv[2], mfd;
    char ctlarg[16], fdarg[16];
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT, *got;
    Cellvm__DeviceConfigure cfg = CELLVM__DEVICE_CONFIGURE__INIT;
    size_t nfds;
    pid_t pid;

    cr_assert_eq(ipc_chan_pair(ctl), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    snprintf(ctlarg, sizeof(ctlarg), "%d", ctl[1]);
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    {
        char *argv[] = { "echo", "--control-fd", ctlarg, "--fd", fdarg, NULL };

        pid = spawn(argv, 5, ctl[0], sv[0]);
    }
    close(ctl[1]);
    close(sv[1]);
    got = recv_env(ctl[0], &nfds);
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_HELLO);
    ipc_free_envelope(got);
    mfd = memfd_create("rl", MFD_CLOEXEC);
    cr_assert_geq(mfd, 0);
    cfg.option = "echo";
    cfg.spec = "x";
    cfg.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_LOG;
    cfg.nfds = 1;
    cfg.rate_limit_group = "g0";
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE;
    env.device_configure = &cfg;
    cr_assert_eq(ipc_send_envelope(ctl[0], &env, &mfd, 1), 0);
    close(mfd);
    got = recv_env(ctl[0], &nfds);
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_ERROR, "got %d", got->body_case);
    cr_expect(strstr(got->error->message, "rate limit group g0: not supported"), "%s",
              got->error->message);
    ipc_free_envelope(got);
    cr_expect_neq(wait_exit(pid), 0);
    close(ctl[0]);
    close(sv[0]);
}
