/* The unrestricted spawner of a --landlock controller: see spawner.h for why and how. */
#include "core/controller/spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/controller/launch.h"
#include "ipc/channel.h"
#include "sandbox/jail_sys.h"

/* How long the controller waits for an answer; the spawner answers at once (one clone3). */
#define SPAWNER_REPLY_MS 10000

static const char *const daemon_names[SPAWNER_NDAEMONS] = SPAWNER_DAEMONS;

/* What the spawner process holds. */
struct spawner_proc {
    int sock;
    int devnull;
    int exe[SPAWNER_NDAEMONS]; /* -1: not installed next to the controller */
    pid_t parent;
};

void spawner_init(struct spawner *s)
{
    s->pid = 0;
    s->sock = -1;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Closes every fd but keep[0..n) (and stderr): nothing of the controller's stays here. */
static int close_all_but(int *keep, size_t n)
{
    unsigned next = 3;

    qsort(keep, n, sizeof(*keep), cmp_int);
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < 3)
            continue;
        if ((unsigned)keep[i] > next &&
            syscall(SYS_close_range, next, (unsigned)keep[i] - 1, 0) < 0)
            return -errno;
        next = (unsigned)keep[i] + 1;
    }
    if (syscall(SYS_close_range, next, ~0u, 0) < 0)
        return -errno;
    return 0;
}

static void reply(const struct spawner_proc *p, const struct spawner_rep *rep, int pidfd)
{
    /* A controller that went away is noticed at the next receive. */
    ipc_send(p->sock, rep, sizeof(*rep), pidfd >= 0 ? &pidfd : NULL, pidfd >= 0 ? 1 : 0);
}

static void serve_one(const struct spawner_proc *p, struct spawner_req *q, size_t len, int *rfds,
                      size_t nrfds)
{
    struct spawner_rep rep = { 0 };
    char *argv[SPAWNER_MAX_ARGV + 1];
    int fds[SBX_SPAWN_MAX_FDS];
    struct sbx_child ch = { 0 };
    unsigned d = 0;
    int r;

    r = spawner_req_check(q, len, nrfds, argv, &d, rep.why, sizeof(rep.why));
    if (!r)
        r = spawner_fds_check(rfds, nrfds, rep.why, sizeof(rep.why));
    if (!r && p->exe[d] < 0) {
        snprintf(rep.why, sizeof(rep.why), "%s was not found when the spawner started",
                 daemon_names[d]);
        r = -ENOENT;
    }
    if (!r) {
        struct sbx_spawn sp = { .exe_fd = p->exe[d],
                                .argv = argv,
                                .fds = fds,
                                .nfds = (unsigned)nrfds + 2,
                                .sibling = true,
                                .id_pid = p->parent };

        fds[0] = fds[1] = p->devnull;
        memcpy(fds + 2, rfds, nrfds * sizeof(int));
        r = sbx_spawn(&sp, &ch, rep.why, sizeof(rep.why));
        if (r)
            rep.stray_pid = ch.pid;
    }
    if (r) {
        fprintf(stderr, "cellvm: spawner: %s\n", rep.why);
        rep.err = r;
        reply(p, &rep, -1);
        return;
    }
    rep.pid = ch.pid;
    rep.self_pid = ch.self_pid;
    snprintf(rep.how, sizeof(rep.how), "%s", ch.how);
    reply(p, &rep, ch.pidfd);
    close(ch.pidfd);
}

static __attribute__((noreturn)) void spawner_main(struct spawner_proc *p)
{
    struct spawner_req *q = malloc(sizeof(*q));

    if (!q)
        _exit(1);
    for (;;) {
        int rfds[IPC_MAX_FDS];
        size_t nrfds = 0;
        ssize_t n = ipc_recv(p->sock, q, sizeof(*q), rfds, IPC_MAX_FDS, &nrfds);

        if (n == 0 || (n < 0 && n != -EMSGSIZE && n != -EINTR))
            _exit(0); /* the controller closed its end, or is gone */
        if (n < 0) {
            struct spawner_rep rep = { .err = -EINVAL };

            snprintf(rep.why, sizeof(rep.why), "refused request: oversized");
            reply(p, &rep, -1);
            continue;
        }
        serve_one(p, q, (size_t)n, rfds, nrfds);
        ipc_close_fds(rfds, nrfds);
    }
}

/* In the forked child: becomes the spawner, or exits. */
static __attribute__((noreturn)) void become_spawner(int sock, pid_t parent)
{
    struct spawner_proc p = { .sock = sock, .parent = parent };
    int keep[SPAWNER_NDAEMONS + 2];
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    sigset_t none;
    size_t nkeep = 0;

    if (sbx_sys_set_pdeathsig(SIGKILL) < 0 || getppid() != parent)
        _exit(1);
    /* The controller's libevent handlers mean nothing here; a terminal's ^C reaches the whole
     * process group and is the controller's to act on: it closes the socket, we exit. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* The socketpair was made by the controller: its credentials are the peer's. */
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.pid != parent)
        _exit(1);
    p.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (p.devnull < 0)
        _exit(1);
    keep[nkeep++] = sock;
    keep[nkeep++] = p.devnull;
    for (unsigned i = 0; i < SPAWNER_NDAEMONS; i++) {
        char path[PATH_MAX];

        p.exe[i] = -1;
        if (!child_exe_path(daemon_names[i], path, sizeof(path)))
            p.exe[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (p.exe[i] >= 0)
            keep[nkeep++] = p.exe[i];
    }
    if (close_all_but(keep, nkeep))
        _exit(1);
    spawner_main(&p);
}

int spawner_start(struct spawner *s, char *err, size_t errlen)
{
    int sv[2];
    pid_t parent = getpid(), pid;
    int r = ipc_chan_pair(sv);

    if (r) {
        snprintf(err, errlen, "the spawner's socketpair: %s", strerror(-r));
        return r;
    }
    pid = fork();
    if (pid < 0) {
        r = -errno;
        snprintf(err, errlen, "cannot fork the spawner: %s", strerror(errno));
        ipc_close_fds(sv, 2);
        return r;
    }
    if (pid == 0) {
        close(sv[0]);
        become_spawner(sv[1], parent);
    }
    close(sv[1]);
    s->pid = pid;
    s->sock = sv[0];
    return 0;
}

/* Waits for the answer, bounded: a spawner that stopped answering is an error, not a hang. */
static int recv_reply(struct spawner *s, struct spawner_rep *rep, int *pidfd, char *err,
                      size_t errlen)
{
    struct pollfd pf = { .fd = s->sock, .events = POLLIN };
    size_t nfds = 0;
    ssize_t n;
    int pr;

    do
        pr = poll(&pf, 1, SPAWNER_REPLY_MS);
    while (pr < 0 && errno == EINTR);
    if (pr <= 0) {
        snprintf(err, errlen, "the spawner did not answer");
        return -ETIMEDOUT;
    }
    n = ipc_recv(s->sock, rep, sizeof(*rep), pidfd, 1, &nfds);
    if (n != (ssize_t)sizeof(*rep) || (rep->err == 0) != (nfds == 1)) {
        if (nfds)
            close(*pidfd);
        snprintf(err, errlen, "the spawner is gone or answered badly");
        return -EPIPE;
    }
    if (!nfds)
        *pidfd = -1;
    return 0;
}

int spawner_spawn(struct spawner *s, const char *name, char *const argv[], const int *fds,
                  unsigned nfds, struct sbx_child *out, char *err, size_t errlen)
{
    struct spawner_req *q = calloc(1, sizeof(*q));
    struct spawner_rep rep;
    int pidfd = -1, r;

    if (!q)
        return -ENOMEM;
    r = s->sock < 0 ? -EPIPE : spawner_req_pack(q, name, argv);
    if (r) {
        snprintf(err, errlen, "cannot ask the spawner: %s", strerror(-r));
        goto out;
    }
    r = ipc_send(s->sock, q, sizeof(*q), fds, nfds);
    if (r) {
        snprintf(err, errlen, "cannot reach the spawner: %s", strerror(-r));
        goto out;
    }
    r = recv_reply(s, &rep, &pidfd, err, errlen);
    if (r)
        goto out;
    rep.why[sizeof(rep.why) - 1] = rep.how[sizeof(rep.how) - 1] = '\0';
    /* A child that started and was killed again is ours to reap. */
    if (rep.stray_pid > 0)
        waitpid(rep.stray_pid, NULL, 0);
    if (rep.err) {
        r = rep.err < 0 && rep.err > -4096 ? rep.err : -EIO;
        snprintf(err, errlen, "spawner: %s", rep.why);
        goto out;
    }
    out->pid = rep.pid;
    out->self_pid = rep.self_pid;
    out->pidfd = pidfd;
    snprintf(out->how, sizeof(out->how), "%s", rep.how);
out:
    free(q);
    return r;
}

void spawner_close(struct spawner *s)
{
    if (s->sock >= 0)
        close(s->sock);
    s->sock = -1;
    if (s->pid > 0)
        waitpid(s->pid, NULL, 0);
    s->pid = 0;
}
