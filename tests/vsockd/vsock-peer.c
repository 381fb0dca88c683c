/* vsock-peer: both ends of the vsockd stream checks, in the guest (AF_VSOCK, linked static and
 * added to the L2 initramfs) and on the host (the hybrid unix-socket protocol).
 *
 *   vsock-peer serve vsock PORT N          accept N streams on AF_VSOCK PORT
 *   vsock-peer serve unix PATH N           accept N streams on the unix socket PATH
 *   vsock-peer send vsock CID PORT N BIG SMALL
 *   vsock-peer send unix PATH PORT N BIG SMALL   ("CONNECT PORT\n", expects "OK <n>\n")
 *   vsock-peer refused vsock CID PORT      a connect must be refused (nobody listens)
 *   vsock-peer flood unix PATH COUNT       COUNT bad or unanswerable connection attempts
 *   vsock-peer hold vsock CID PORT SECS    open a stream and wait (at most SECS) for it to be
 *                                          reset: exit 0 on an error such as ECONNRESET, 1 on
 *                                          an orderly end or the timeout (device respawn test)
 *   vsock-peer hold unix PATH SECS         accept one stream on PATH, wait for its end
 *
 * send opens N streams at once (one process each): stream 0 carries BIG bytes, the others
 * SMALL. Each stream starts with a 16-byte preamble {seed, length} and continues with
 * xorshift64 bytes from seed; the sender half-closes, the server checks every byte against
 * the same generator and answers "SUM <length> <hash>\n", which the sender compares with its
 * own hash. So both ends verify (the protocol is tests/common/stream_check.h, shared with
 * net-peer). Every wait is bounded (alarm). Exit 0 when all passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "../common/stream_check.h"

#define TIMEOUT_S 540 /* 64 MiB through L2 under a TCG L1 on a loaded machine */

static int vsock_connect(uint32_t cid, uint32_t port)
{
    struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
    int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (s < 0)
        return -errno;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;

        close(s);
        return -e;
    }
    return s;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (s < 0 || strlen(path) >= sizeof(sa.sun_path))
        return -EINVAL;
    strcpy(sa.sun_path, path);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;

        close(s);
        return -e;
    }
    return s;
}

/* Hybrid: CONNECT PORT, then the OK line. The guest may not listen yet: retry a while. */
static int hybrid_connect(const char *path, uint32_t port)
{
    for (int tries = 0; tries < 600; tries++) {
        char line[64];
        int s = unix_connect(path);

        if (s >= 0) {
            snprintf(line, sizeof(line), "CONNECT %u\n", port);
            if (!stream_write_all(s, line, strlen(line)) &&
                !stream_read_line(s, line, sizeof(line)) && !strncmp(line, "OK ", 3))
                return s;
            close(s);
        }
        usleep(100000);
    }
    return -ETIMEDOUT;
}

static int do_serve(int ls, int n)
{
    double secs;

    if (listen(ls, 64) < 0) {
        perror("listen");
        return 1;
    }
    if (stream_serve_all(ls, n, "vsock-peer", &secs))
        return 1;
    printf("vsock-peer: served %d streams in %.2f s\n", n, secs);
    return 0;
}

static int serve(int argc, char **argv)
{
    int ls;

    if (argc != 3)
        return 2;
    if (!strcmp(argv[0], "vsock")) {
        struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
                                  .svm_cid = VMADDR_CID_ANY,
                                  .svm_port = (unsigned)atoi(argv[1]) };

        ls = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            perror("vsock bind");
            return 1;
        }
    } else {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
        unlink(argv[1]);
        if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            perror("unix bind");
            return 1;
        }
        /* A jailed vsockd started by root runs as nobody: let it connect. */
        chmod(argv[1], 0666);
    }
    return do_serve(ls, atoi(argv[2]));
}

/* Where send connects: AF_VSOCK cid:port, or the hybrid unix socket path and its port. */
struct send_target {
    bool vsock;
    const char *where; /* the CID (vsock) or the unix socket path */
    uint32_t port;
};

/* stream_send_all's connect: the guest may not listen yet, so both ways retry a while. */
static int send_connect(const void *ctx, int i)
{
    const struct send_target *t = ctx;
    int s = -ECONNREFUSED;

    (void)i;
    if (!t->vsock)
        return hybrid_connect(t->where, t->port);
    for (int tries = 0; s < 0 && tries < 100; tries++) {
        s = vsock_connect((uint32_t)atoi(t->where), t->port);
        if (s < 0)
            usleep(100000);
    }
    return s;
}

static int send_cmd(int argc, char **argv)
{
    struct send_target t;
    uint64_t big, small;
    double secs;
    int n;

    if (argc != 6)
        return 2;
    t.vsock = !strcmp(argv[0], "vsock");
    t.where = argv[1];
    t.port = (uint32_t)atoi(argv[2]);
    n = atoi(argv[3]);
    big = strtoull(argv[4], NULL, 0) & ~7ull;
    small = strtoull(argv[5], NULL, 0) & ~7ull;
    if (stream_send_all(n, big, small, send_connect, &t, "vsock-peer", &secs))
        return 1;
    printf("vsock-peer: sent %d streams (%" PRIu64 " + %d x %" PRIu64 " bytes) in %.2f s\n", n, big,
           n - 1, small, secs);
    return 0;
}

static int refused(int argc, char **argv)
{
    int s;

    if (argc != 3 || strcmp(argv[0], "vsock"))
        return 2;
    s = vsock_connect((uint32_t)atoi(argv[1]), (uint32_t)atoi(argv[2]));
    if (s >= 0) {
        fprintf(stderr, "refused: connect to port %s succeeded\n", argv[2]);
        return 1;
    }
    printf("vsock-peer: connect refused as expected: %s\n", strerror(-s));
    return 0;
}

/* Half the attempts send garbage or nothing, half ask for a port nobody listens on. */
/* At most FLOOD_SECS in all: once the guest has gone (its VMM ended before the flood did, on a
 * slow host) a standalone vsockd leaves new connections in its listen backlog, unanswered;
 * each read waits at most 1 s, and the attempts stop at the deadline. */
#define FLOOD_SECS 20

static int flood(int argc, char **argv)
{
    const struct timeval rcv = { .tv_sec = 1 };
    time_t end = time(NULL) + FLOOD_SECS;
    int n, i, answered = 0;

    if (argc != 3 || strcmp(argv[0], "unix"))
        return 2;
    n = atoi(argv[2]);
    for (i = 0; i < n && time(NULL) < end; i++) {
        static const char *const lines[] = { "CONNECT 7777\n", "HELLO\n", "CONNECT\n",
                                             "CONNECT 99999999999\n", "" };
        const char *l = lines[i % 5];
        char buf[64];
        int s = unix_connect(argv[1]);

        if (s < 0)
            continue; /* backlog full: also fine */
        (void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
        if (*l)
            (void)!write(s, l, strlen(l));
        if (i % 5 != 4 && stream_read_line(s, buf, sizeof(buf)) == 0)
            answered++;
        close(s);
    }
    printf("vsock-peer: %d of %d attempts, %d answered\n", i, n, answered);
    return answered ? 1 : 0;
}

/* The stream's end, at most secs from now: 0 after an orderly end, -errno after an error, or
 * -ETIMEDOUT. Bytes the peer sends are read and dropped. */
static int wait_end(int s, int secs)
{
    struct pollfd p = { .fd = s, .events = POLLIN };
    char buf[256];

    alarm(0);
    for (;;) {
        ssize_t n;
        int r = poll(&p, 1, secs * 1000);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -ETIMEDOUT;
        /* A reset shows as the socket's error before any read; a read would say ENOTCONN. */
        if (p.revents & (POLLERR | POLLHUP)) {
            int e = 0;
            socklen_t len = sizeof(e);

            if (!getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) && e)
                return -e;
        }
        n = read(s, buf, sizeof(buf));
        if (n == 0)
            return 0;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -errno;
    }
}

static int hold(int argc, char **argv)
{
    int s, secs, r;

    if (argc != 3 && argc != 4)
        return 2;
    if (!strcmp(argv[0], "vsock") && argc == 4) {
        struct send_target t = { .vsock = true, .where = argv[1], .port = (uint32_t)atoi(argv[2]) };

        s = send_connect(&t, 0);
        if (s < 0) {
            fprintf(stderr, "hold: connect to port %s: %s\n", argv[2], strerror(-s));
            return 1;
        }
        secs = atoi(argv[3]);
        printf("vsock-peer: holding a stream to port %s\n", argv[2]);
    } else if (!strcmp(argv[0], "unix") && argc == 3) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
        unlink(argv[1]);
        if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0) {
            perror("hold: unix listen");
            return 1;
        }
        chmod(argv[1], 0666);
        s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        close(ls);
        if (s < 0) {
            perror("hold: accept");
            return 1;
        }
        secs = atoi(argv[2]);
        printf("vsock-peer: holding an accepted stream\n");
    } else {
        return 2;
    }
    fflush(stdout);
    r = wait_end(s, secs > 0 ? secs : 1);
    close(s);
    if (r == -ETIMEDOUT) {
        fprintf(stderr, "hold: the stream still stands after %d s\n", secs);
        return 1;
    }
    printf("vsock-peer: the stream %s%s\n", r ? "failed: " : "ended in order",
           r ? strerror(-r) : "");
    /* The guest end must see its transport reset; the host end sees its connection closed. */
    return !strcmp(argv[0], "vsock") && !r ? 1 : 0;
}

int main(int argc, char **argv)
{
    int r = 2;

    alarm(TIMEOUT_S);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        r = serve(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "send"))
        r = send_cmd(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "refused"))
        r = refused(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "flood"))
        r = flood(argc - 2, argv + 2);
    else if (argc >= 2 && !strcmp(argv[1], "hold"))
        r = hold(argc - 2, argv + 2);
    if (r == 2)
        fprintf(stderr, "usage: see the comment at the top of vsock-peer.c\n");
    return r;
}
