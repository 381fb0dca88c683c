/* vsock-peer: both ends of the vsockd stream checks, in the guest (AF_VSOCK, linked static and
 * added to the L2 initramfs) and on the host (the hybrid unix-socket protocol).
 *
 *   vsock-peer serve vsock PORT N          accept N streams on AF_VSOCK PORT
 *   vsock-peer serve unix PATH N           accept N streams on the unix socket PATH
 *   vsock-peer send vsock CID PORT N BIG SMALL
 *   vsock-peer send unix PATH PORT N BIG SMALL   ("CONNECT PORT\n", expects "OK <n>\n")
 *   vsock-peer refused vsock CID PORT      a connect must be refused (nobody listens)
 *   vsock-peer flood unix PATH COUNT       COUNT bad or unanswerable connection attempts
 *
 * send opens N streams at once (one process each): stream 0 carries BIG bytes, the others
 * SMALL. Each stream starts with a 16-byte preamble {seed, length} and continues with
 * xorshift64 bytes from seed; the sender half-closes, the server checks every byte against
 * the same generator and answers "SUM <length> <hash>\n", which the sender compares with its
 * own hash. So both ends verify. Every wait is bounded (alarm). Exit 0 when all passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define TIMEOUT_S 540 /* 64 MiB through L2 under a TCG L1 on a loaded machine */
#define CHUNK     (64 * 1024)

struct gen {
    uint64_t s, h;
};

static void gen_init(struct gen *g, uint64_t seed)
{
    g->s = seed ? seed : 1;
    g->h = 1469598103934665603ull;
}

/* Fills buf (a multiple of 8 bytes) and hashes it. */
static void gen_fill(struct gen *g, uint64_t *buf, size_t words)
{
    for (size_t i = 0; i < words; i++) {
        g->s ^= g->s << 13;
        g->s ^= g->s >> 7;
        g->s ^= g->s << 17;
        buf[i] = g->s;
        g->h = (g->h ^ g->s) * 1099511628211ull;
    }
}

static int write_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t read_full(int fd, void *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int read_line(int fd, char *line, size_t max)
{
    size_t n = 0;

    while (n + 1 < max) {
        ssize_t r = read(fd, line + n, 1);

        if (r <= 0)
            return -1;
        if (line[n] == '\n') {
            line[n] = 0;
            return 0;
        }
        n++;
    }
    return -1;
}

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
            if (!write_all(s, line, strlen(line)) && !read_line(s, line, sizeof(line)) &&
                !strncmp(line, "OK ", 3))
                return s;
            close(s);
        }
        usleep(100000);
    }
    return -ETIMEDOUT;
}

static int serve_stream(int s)
{
    static uint64_t got[CHUNK / 8], want[CHUNK / 8];
    uint64_t pre[2], left;
    struct gen g;
    char line[64];

    if (read_full(s, pre, sizeof(pre)) != sizeof(pre)) {
        fprintf(stderr, "serve: short preamble\n");
        return 1;
    }
    gen_init(&g, pre[0]);
    for (left = pre[1]; left;) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;

        if (read_full(s, got, n) != (ssize_t)n) {
            fprintf(stderr, "serve: stream ended %" PRIu64 " bytes early\n", left);
            return 1;
        }
        gen_fill(&g, want, n / 8);
        if (memcmp(got, want, n)) {
            fprintf(stderr, "serve: data differs %" PRIu64 " bytes before the end\n", left);
            return 1;
        }
        left -= n;
    }
    if (read(s, got, 1) != 0) {
        fprintf(stderr, "serve: bytes after the announced length, or no EOF\n");
        return 1;
    }
    snprintf(line, sizeof(line), "SUM %" PRIu64 " %016" PRIx64 "\n", pre[1], g.h);
    return write_all(s, line, strlen(line)) ? 1 : 0;
}

static int send_stream(int s, uint64_t seed, uint64_t len)
{
    static uint64_t buf[CHUNK / 8];
    uint64_t pre[2] = { seed, len };
    char line[64], want[64];
    struct gen g;

    gen_init(&g, seed);
    if (write_all(s, pre, sizeof(pre)))
        return 1;
    for (uint64_t left = len; left;) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;

        gen_fill(&g, buf, n / 8);
        if (write_all(s, buf, n)) {
            fprintf(stderr, "send: write failed: %s\n", strerror(errno));
            return 1;
        }
        left -= n;
    }
    shutdown(s, SHUT_WR);
    if (read_line(s, line, sizeof(line))) {
        fprintf(stderr, "send: no SUM line\n");
        return 1;
    }
    snprintf(want, sizeof(want), "SUM %" PRIu64 " %016" PRIx64, len, g.h);
    if (strcmp(line, want)) {
        fprintf(stderr, "send: got '%s', want '%s'\n", line, want);
        return 1;
    }
    return 0;
}

static int wait_all(int n)
{
    int bad = 0, st;

    for (int i = 0; i < n; i++)
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
            bad++;
    return bad;
}

static int do_serve(int ls, int n)
{
    struct timespec t0, t1;

    listen(ls, 64);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        int s = accept(ls, NULL, NULL);

        if (s < 0) {
            perror("accept");
            return 1;
        }
        if (fork() == 0)
            _exit(serve_stream(s));
        close(s);
    }
    if (wait_all(n)) {
        fprintf(stderr, "serve: a stream failed\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("vsock-peer: served %d streams in %.2f s\n", n,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
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

static int send_cmd(int argc, char **argv)
{
    bool vs = argc == 6 && !strcmp(argv[0], "vsock");
    int n, started = 0;
    uint64_t big, small;
    struct timespec t0, t1;
    double secs;

    if (argc != 6)
        return 2;
    n = atoi(argv[3]);
    big = strtoull(argv[4], NULL, 0) & ~7ull;
    small = strtoull(argv[5], NULL, 0) & ~7ull;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++, started++) {
        if (fork() == 0) {
            int s = vs ? -ECONNREFUSED : hybrid_connect(argv[1], (uint32_t)atoi(argv[2]));

            for (int t = 0; vs && s < 0 && t < 100; t++) {
                s = vsock_connect((uint32_t)atoi(argv[1]), (uint32_t)atoi(argv[2]));
                if (s < 0)
                    usleep(100000);
            }
            if (s < 0) {
                fprintf(stderr, "send: stream %d: connect: %s\n", i, strerror(-s));
                _exit(1);
            }
            _exit(send_stream(s, 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1), i ? small : big));
        }
    }
    if (wait_all(started)) {
        fprintf(stderr, "send: a stream failed\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
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
static int flood(int argc, char **argv)
{
    int n, answered = 0;

    if (argc != 3 || strcmp(argv[0], "unix"))
        return 2;
    n = atoi(argv[2]);
    for (int i = 0; i < n; i++) {
        static const char *const lines[] = { "CONNECT 7777\n", "HELLO\n", "CONNECT\n",
                                             "CONNECT 99999999999\n", "" };
        const char *l = lines[i % 5];
        char buf[64];
        int s = unix_connect(argv[1]);

        if (s < 0)
            continue; /* backlog full: also fine */
        if (*l)
            (void)!write(s, l, strlen(l));
        if (i % 5 != 4 && read_line(s, buf, sizeof(buf)) == 0)
            answered++;
        close(s);
    }
    printf("vsock-peer: %d attempts, %d answered\n", n, answered);
    return answered ? 1 : 0;
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
    if (r == 2)
        fprintf(stderr, "usage: see the comment at the top of vsock-peer.c\n");
    return r;
}
