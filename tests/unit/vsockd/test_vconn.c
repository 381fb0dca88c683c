/*
 * The connect channel (vsockd/vconn.h): the standalone connector (under its own seccomp filter)
 * and the controller's relay connect to <socket>_<port> for the daemon and pass the socket
 * back; refusals come back as errnos; answers that arrive after their request gave up, or make
 * no sense, never become a stream. As root, a requester running as nobody is shown the point
 * of it all: its own connect to root's 0755 listener fails with EACCES, the relayed one works.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/controller/vsock_relay.h"
#include "ipc/channel.h"
#include "vsockd/connector.h"
#include "vsockd/host_unix.h"
#include "vsockd/vconn.h"

static char dir[64];
static char sock[96]; /* <dir>/v.sock */

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    strcpy(dir, "/tmp/cellvm-vconn-ut.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(chmod(dir, 0755), 0);
    snprintf(sock, sizeof(sock), "%s/v.sock", dir);
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
}

TestSuite(vconn, .init = setup, .fini = teardown, .timeout = 30);

/* A listener on <sock>_port, made the ordinary way; backlog as given (-1: bound, no listen). */
static int port_listener(uint32_t port, int backlog)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(s, 0);
    cr_assert_lt(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", sock, port),
                 (int)sizeof(sa.sun_path));
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (backlog >= 0)
        cr_assert_eq(listen(s, backlog), 0);
    return s;
}

/* The stream we got is connected to l: bytes cross. */
static void check_stream(int s, int l)
{
    int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    char buf[4];

    cr_assert_geq(a, 0);
    cr_assert_eq(write(s, "abc", 3), 3);
    cr_assert_eq(read(a, buf, sizeof(buf)), 3);
    cr_assert_eq(memcmp(buf, "abc", 3), 0);
    close(a);
}

Test(vconn, connector_connects_and_refuses)
{
    struct vconn vc;
    int fd, s = -1, l = port_listener(7000, 4), dead = port_listener(7002, -1), busy, extra[8];
    int n = 0;

    vconn_init(&vc);
    cr_assert_eq(vconn_spawn(dir, "v.sock", SBX_SECCOMP_ON, &fd), 0);
    vconn_set(&vc, fd, VCONN_CONNECTOR);
    cr_assert_eq(vconn_connect(&vc, 7000, &s), 0);
    check_stream(s, l);
    close(s);
    cr_assert_eq(vconn_connect(&vc, 7001, &s), -ENOENT, "nobody at _7001");
    cr_assert_eq(vconn_connect(&vc, 7002, &s), -ECONNREFUSED, "bound, not listening");
    /* A full backlog is a refusal, never a wait. */
    busy = port_listener(7003, 0);
    for (; n < 8; n++) {
        extra[n] = -1;
        if (host_connect(dir, "v.sock", 7003, &extra[n]) < 0)
            break;
    }
    cr_assert_lt(n, 8, "the backlog never filled");
    cr_assert_eq(vconn_connect(&vc, 7003, &s), -ECONNREFUSED);
    /* The filter let every step through: the connector still answers. */
    cr_assert_eq(vconn_connect(&vc, 7000, &s), 0);
    close(s);
    for (int i = 0; i < n; i++)
        close(extra[i]);
    vconn_close(&vc);
    close(l);
    close(dead);
    close(busy);
}

Test(vconn, serve_ends_when_the_daemon_goes)
{
    int sv[2];

    cr_assert_eq(ipc_chan_pair(sv), 0);
    close(sv[0]);
    cr_assert_eq(vconn_serve(sv[1], dir, "v.sock"), 0);
    close(sv[1]);
}

Test(vconn, serve_refuses_malformed_requests)
{
    uint32_t half = 7;
    int sv[2];

    cr_assert_eq(ipc_chan_pair(sv), 0);
    cr_assert_eq(ipc_send(sv[0], &half, sizeof(half), NULL, 0), 0);
    cr_assert_eq(vconn_serve(sv[1], dir, "v.sock"), -EPROTO);
    close(sv[0]);
    close(sv[1]);
}

/* A scripted connector: what it answers to each request. */
struct script {
    int fd;
    int step; /* 0: late answer then the right one; 1: silence; 2: nonsense */
};

static void *fake_peer(void *arg)
{
    struct script *sc = arg;
    struct vconn_req req;
    size_t nfds;
    int fds[1], pair[2];

    if (ipc_recv(sc->fd, &req, sizeof(req), fds, 1, &nfds) != sizeof(req))
        return NULL;
    if (sc->step == 0) {
        struct vconn_ans stale = { .seq = req.seq - 1, .errnum = 0 };
        struct vconn_ans right = { .seq = req.seq, .errnum = ECONNREFUSED };

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
        ipc_send(sc->fd, &stale, sizeof(stale), &pair[0], 1);
        close(pair[0]);
        close(pair[1]);
        ipc_send(sc->fd, &right, sizeof(right), NULL, 0);
    } else if (sc->step == 2) {
        struct vconn_ans no_fd = { .seq = req.seq, .errnum = 0 };

        ipc_send(sc->fd, &no_fd, sizeof(no_fd), NULL, 0);
    }
    return NULL;
}

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(vconn, stale_silent_and_nonsense_answers)
{
    struct script sc;
    struct vconn vc;
    pthread_t t;
    int sv[2], s = -1;
    int64_t t0;

    cr_assert_eq(ipc_chan_pair(sv), 0);
    vconn_init(&vc);
    vconn_set(&vc, sv[0], VCONN_CONNECTOR);
    sc.fd = sv[1];

    sc.step = 0; /* the answer to an earlier request is dropped, its socket closed */
    pthread_create(&t, NULL, fake_peer, &sc);
    cr_assert_eq(vconn_connect(&vc, 1, &s), -ECONNREFUSED);
    pthread_join(t, NULL);

    sc.step = 1; /* a stuck peer costs at most VCONN_WAIT_MS */
    pthread_create(&t, NULL, fake_peer, &sc);
    t0 = ms_now();
    cr_assert_eq(vconn_connect(&vc, 2, &s), -ETIMEDOUT);
    cr_assert_geq(ms_now() - t0, VCONN_WAIT_MS - 10);
    cr_assert_lt(ms_now() - t0, VCONN_WAIT_MS + 1000);
    pthread_join(t, NULL);

    sc.step = 2; /* "connected" without a socket */
    pthread_create(&t, NULL, fake_peer, &sc);
    cr_assert_eq(vconn_connect(&vc, 3, &s), -EPROTO);
    pthread_join(t, NULL);
    cr_assert_eq(s, -1, "no answer became a stream");
    vconn_close(&vc);
    close(sv[1]);
    cr_assert_eq(vconn_connect(&vc, 4, &s), -ENOTCONN);
}

/* The controller's side answers n requests, each within 5 s. */
struct relay_run {
    struct vsock_relay *vr;
    int n, answered;
};

static void *relay_loop(void *arg)
{
    struct relay_run *rr = arg;

    for (int i = 0; i < rr->n; i++) {
        struct pollfd p = { .fd = rr->vr->fd, .events = POLLIN };

        if (poll(&p, 1, 5000) != 1)
            break;
        if (vsock_relay_answer(rr->vr) == 1)
            rr->answered++;
    }
    return NULL;
}

Test(vconn, controller_relay)
{
    struct vsock_relay vr;
    struct relay_run rr = { .vr = &vr, .n = 2 };
    struct vconn vc;
    pthread_t t;
    char longname[120];
    int devfd, s = -1, l = port_listener(7100, 4);

    vsock_relay_init(&vr);
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    cr_assert_eq(vsock_relay_open(&vr, longname, &devfd), -ENAMETOOLONG);
    cr_assert_eq(vsock_relay_open(&vr, sock, &devfd), 0);
    vconn_init(&vc);
    vconn_set(&vc, devfd, VCONN_CONTROLLER);
    pthread_create(&t, NULL, relay_loop, &rr);
    cr_assert_eq(vconn_connect(&vc, 7100, &s), 0);
    check_stream(s, l);
    close(s);
    cr_assert_eq(vconn_connect(&vc, 7101, &s), -ENOENT);
    pthread_join(t, NULL);
    cr_assert_eq(rr.answered, 2);
    /* Anything but a request is dropped, and the relay keeps serving. */
    {
        uint8_t junk[3] = { 0xff, 0xff, 0xff };

        cr_assert_eq(ipc_send(devfd, junk, sizeof(junk), NULL, 0), 0);
        cr_assert_eq(vsock_relay_answer(&vr), 0);
    }
    vconn_close(&vc);
    cr_assert_eq(vsock_relay_answer(&vr), -EPIPE);
    vsock_relay_close(&vr);
    close(l);
}

/* As nobody (the jailed daemon's user), against root's 0755 listener. */
Test(vconn, nobody_reaches_roots_listener_only_through_the_relay)
{
    struct vsock_relay vr;
    struct relay_run rr = { .vr = &vr, .n = 1 };
    pthread_t t;
    int devfd, l, st;
    pid_t pid;

    if (getuid() != 0)
        cr_skip_test("needs root: the requester must run as another user than the listener's");
    l = port_listener(7200, 4);
    vsock_relay_init(&vr);
    cr_assert_eq(vsock_relay_open(&vr, sock, &devfd), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct vconn vc;
        int s = -1, direct;

        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
            _exit(10);
        direct = host_connect(dir, "v.sock", 7200, &s);
        if (direct != -EACCES)
            _exit(11); /* the situation the relay exists for did not arise */
        vconn_init(&vc);
        vconn_set(&vc, devfd, VCONN_CONTROLLER);
        if (vconn_connect(&vc, 7200, &s) != 0)
            _exit(12);
        _exit(write(s, "abc", 3) == 3 ? 0 : 13);
    }
    pthread_create(&t, NULL, relay_loop, &rr);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    pthread_join(t, NULL);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "child status %d (11: no EACCES directly, 12: the relayed connect failed)", st);
    {
        int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        char buf[4];

        cr_assert_geq(a, 0);
        cr_assert_eq(read(a, buf, sizeof(buf)), 3);
        close(a);
    }
    close(devfd);
    vsock_relay_close(&vr);
    close(l);
}
