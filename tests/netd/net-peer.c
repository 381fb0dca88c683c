/* net-peer: both ends of the checked TCP streams in the nested net tests, in L1 and (linked
 * static, appended to the L2 initramfs) in the guest. busybox nc stops reading at the peer's
 * half-close, so it cannot carry a stream that is checked on both ends; this can.
 *
 *   net-peer serve PORT N                 accept N streams on TCP PORT (any IPv4 address)
 *   net-peer send HOST PORT N LEN         N streams of LEN bytes each to HOST:PORT (IPv4)
 *
 * Each stream starts with a 16-byte preamble {seed, length}, then length bytes of a
 * xorshift64 sequence from seed. The sender half-closes; the server checks every byte against
 * the same sequence and answers "SUM <length> <hash>\n"; the sender compares that with its own
 * hash, so a corrupted, short or long stream fails on both ends. The sender retries the
 * connect for a bounded time (the other end may not listen yet); a whole run is bounded by
 * alarm(). Exit 0 when every stream passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_LIMIT_S   600
#define CONNECT_TRIES 1200 /* 100 ms apart: two minutes */
#define CHUNK         (64 * 1024)

struct seq {
    uint64_t x, hash;
};

static void seq_init(struct seq *q, uint64_t seed)
{
    q->x = seed ? seed : 0x2545f4914f6cdd1dull;
    q->hash = 0xcbf29ce484222325ull;
}

static void seq_next(struct seq *q, uint64_t *out, size_t words)
{
    for (size_t i = 0; i < words; i++) {
        q->x ^= q->x << 13;
        q->x ^= q->x >> 7;
        q->x ^= q->x << 17;
        out[i] = q->x;
        q->hash = (q->hash ^ q->x) * 0x100000001b3ull;
    }
}

static int put_all(int fd, const void *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until n bytes or EOF; the count, or -1 on an error. */
static ssize_t get_all(int fd, void *p, size_t n)
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

static int get_line(int fd, char *line, size_t max)
{
    for (size_t n = 0; n + 1 < max; n++) {
        if (read(fd, line + n, 1) != 1)
            return -1;
        if (line[n] == '\n') {
            line[n] = 0;
            return 0;
        }
    }
    return -1;
}

static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int check_stream(int s)
{
    static uint64_t got[CHUNK / 8], want[CHUNK / 8];
    uint64_t pre[2], left;
    struct seq q;
    char line[80];

    if (get_all(s, pre, sizeof(pre)) != (ssize_t)sizeof(pre)) {
        fprintf(stderr, "net-peer serve: short preamble\n");
        return 1;
    }
    if (pre[1] % 8) {
        fprintf(stderr, "net-peer serve: length %" PRIu64 " not a multiple of 8\n", pre[1]);
        return 1;
    }
    seq_init(&q, pre[0]);
    for (left = pre[1]; left;) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;

        if (get_all(s, got, n) != (ssize_t)n) {
            fprintf(stderr, "net-peer serve: stream ended %" PRIu64 " bytes early\n", left);
            return 1;
        }
        seq_next(&q, want, n / 8);
        if (memcmp(got, want, n)) {
            fprintf(stderr, "net-peer serve: data differs %" PRIu64 " bytes before the end\n",
                    left);
            return 1;
        }
        left -= n;
    }
    if (get_all(s, got, 1) != 0) {
        fprintf(stderr, "net-peer serve: bytes past the announced length\n");
        return 1;
    }
    snprintf(line, sizeof(line), "SUM %" PRIu64 " %016" PRIx64 "\n", pre[1], q.hash);
    return put_all(s, line, strlen(line)) ? 1 : 0;
}

static int send_stream(int s, uint64_t seed, uint64_t len)
{
    static uint64_t buf[CHUNK / 8];
    uint64_t pre[2] = { seed, len };
    char line[80], want[80];
    struct seq q;

    seq_init(&q, seed);
    if (put_all(s, pre, sizeof(pre)))
        return 1;
    for (uint64_t left = len; left;) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;

        seq_next(&q, buf, n / 8);
        if (put_all(s, buf, n)) {
            fprintf(stderr, "net-peer send: %s with %" PRIu64 " bytes left\n", strerror(errno),
                    left);
            return 1;
        }
        left -= n;
    }
    shutdown(s, SHUT_WR);
    if (get_line(s, line, sizeof(line))) {
        fprintf(stderr, "net-peer send: no SUM line from the server\n");
        return 1;
    }
    snprintf(want, sizeof(want), "SUM %" PRIu64 " %016" PRIx64, len, q.hash);
    if (strcmp(line, want)) {
        fprintf(stderr, "net-peer send: server says '%s', want '%s'\n", line, want);
        return 1;
    }
    return 0;
}

static int reap(int n)
{
    int bad = 0, st;

    for (int i = 0; i < n; i++)
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
            bad++;
    return bad;
}

static int serve(int port, int n)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timespec t0;
    int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 16)) {
        perror("net-peer serve: listen");
        return 1;
    }
    printf("net-peer: listening on port %d\n", port);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

        if (s < 0) {
            perror("net-peer serve: accept");
            return 1;
        }
        if (fork() == 0)
            _exit(check_stream(s));
        close(s);
    }
    if (reap(n)) {
        fprintf(stderr, "net-peer serve: a stream failed\n");
        return 1;
    }
    printf("net-peer: served %d streams in %.2f s\n", n, since(&t0));
    return 0;
}

static int connect_retry(const struct sockaddr_in *sa)
{
    for (int t = 0; t < CONNECT_TRIES; t++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (s < 0)
            return -errno;
        if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
            return s;
        close(s);
        usleep(100000);
    }
    return -ETIMEDOUT;
}

static int send_cmd(const char *host, int port, int n, uint64_t len)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timespec t0;
    double secs;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "net-peer send: bad IPv4 address '%s'\n", host);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        if (fork() == 0) {
            int s = connect_retry(&sa);

            if (s < 0) {
                fprintf(stderr, "net-peer send: stream %d: connect: %s\n", i, strerror(-s));
                _exit(1);
            }
            _exit(send_stream(s, 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1), len));
        }
    }
    if (reap(n)) {
        fprintf(stderr, "net-peer send: a stream failed\n");
        return 1;
    }
    secs = since(&t0);
    printf("net-peer: sent %d x %" PRIu64 " bytes in %.2f s (%.1f MiB/s)\n", n, len, secs,
           secs > 0 ? (double)n * (double)len / secs / 1048576.0 : 0.0);
    return 0;
}

int main(int argc, char **argv)
{
    int r = 2;

    alarm(RUN_LIMIT_S);
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && !strcmp(argv[1], "serve"))
        r = serve(atoi(argv[2]), atoi(argv[3]));
    else if (argc == 6 && !strcmp(argv[1], "send"))
        r = send_cmd(argv[2], atoi(argv[3]), atoi(argv[4]), strtoull(argv[5], NULL, 0) & ~7ull);
    if (r == 2)
        fprintf(stderr, "usage: see the comment at the top of net-peer.c\n");
    fflush(stdout);
    return r;
}
