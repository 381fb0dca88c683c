/* stream_check.h: the checked-stream protocol shared by tests/vsockd/vsock-peer.c and
 * tests/netd/net-peer.c, so the two test peers speak it the same way and a fix lands in both.
 *
 * A stream starts with a 16-byte preamble {seed, length}, then length bytes (a multiple of 8)
 * of an xorshift64 sequence from seed. The sender half-closes; the receiver checks every byte
 * against the same sequence and answers "SUM <length> <hash>\n" (hash: FNV-1a style over the
 * sequence's words); the sender compares that with its own hash, so a corrupted, short or long
 * stream fails on both ends. Both ends of every stream are the same program, so the constants
 * only have to agree with themselves.
 *
 * Header-only (static functions): both peers are linked static by invoking the compiler
 * directly on one source file (custom_targets 'vsock-peer' and 'net-peer' in
 * tests/nested/meson.build, kept off the build's sanitizer options), so there is no library to
 * link this into. Those targets list this file in depend_files. Callers ignore SIGPIPE.
 */
#ifndef CELLVM_TESTS_STREAM_CHECK_H
#define CELLVM_TESTS_STREAM_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STREAM_CHUNK    (64 * 1024)
#define STREAM_LINE_MAX 80

struct stream_gen {
    uint64_t x, hash;
};

static void stream_gen_init(struct stream_gen *g, uint64_t seed)
{
    g->x = seed ? seed : 0x2545f4914f6cdd1dull; /* xorshift must not start at 0 */
    g->hash = 0xcbf29ce484222325ull;
}

/* Fills out with the next words of the sequence and folds them into the hash. */
static void stream_gen_fill(struct stream_gen *g, uint64_t *out, size_t words)
{
    for (size_t i = 0; i < words; i++) {
        g->x ^= g->x << 13;
        g->x ^= g->x >> 7;
        g->x ^= g->x << 17;
        out[i] = g->x;
        g->hash = (g->hash ^ g->x) * 0x100000001b3ull;
    }
}

/* The seed of stream i of a run: distinct, never 0. */
static uint64_t stream_seed(int i)
{
    return 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
}

/* fd is a socket. 0, or -1 on an error or a closed peer. */
static int stream_write_all(int fd, const void *p, size_t n)
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
static ssize_t stream_read_full(int fd, void *p, size_t n)
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

/* One '\n'-terminated line (the '\n' replaced by 0) of at most max - 1 bytes; 0 or -1. */
static int stream_read_line(int fd, char *line, size_t max)
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

/* Receiving end of one stream on s: checks it and answers the SUM line. 0 when it passed,
 * 1 otherwise (an exit status). who prefixes the messages. */
static int stream_check(int s, const char *who)
{
    static uint64_t got[STREAM_CHUNK / 8], want[STREAM_CHUNK / 8];
    uint64_t pre[2], left;
    struct stream_gen g;
    char line[STREAM_LINE_MAX];

    if (stream_read_full(s, pre, sizeof(pre)) != (ssize_t)sizeof(pre)) {
        fprintf(stderr, "%s serve: short preamble\n", who);
        return 1;
    }
    if (pre[1] % 8) {
        fprintf(stderr, "%s serve: length %" PRIu64 " not a multiple of 8\n", who, pre[1]);
        return 1;
    }
    stream_gen_init(&g, pre[0]);
    for (left = pre[1]; left;) {
        size_t n = left < STREAM_CHUNK ? (size_t)left : STREAM_CHUNK;

        if (stream_read_full(s, got, n) != (ssize_t)n) {
            fprintf(stderr, "%s serve: stream ended %" PRIu64 " bytes early\n", who, left);
            return 1;
        }
        stream_gen_fill(&g, want, n / 8);
        if (memcmp(got, want, n)) {
            fprintf(stderr, "%s serve: data differs %" PRIu64 " bytes before the end\n", who, left);
            return 1;
        }
        left -= n;
    }
    if (stream_read_full(s, got, 1) != 0) {
        fprintf(stderr, "%s serve: bytes past the announced length, or no EOF\n", who);
        return 1;
    }
    snprintf(line, sizeof(line), "SUM %" PRIu64 " %016" PRIx64 "\n", pre[1], g.hash);
    return stream_write_all(s, line, strlen(line)) ? 1 : 0;
}

/* Sending end of one stream on s: len bytes (a multiple of 8) from seed, then the SUM line
 * checked against the own hash. 0 when it passed, 1 otherwise. */
static int stream_send(int s, uint64_t seed, uint64_t len, const char *who)
{
    static uint64_t buf[STREAM_CHUNK / 8];
    uint64_t pre[2] = { seed, len };
    char line[STREAM_LINE_MAX], want[STREAM_LINE_MAX];
    struct stream_gen g;

    stream_gen_init(&g, seed);
    if (stream_write_all(s, pre, sizeof(pre)))
        return 1;
    for (uint64_t left = len; left;) {
        size_t n = left < STREAM_CHUNK ? (size_t)left : STREAM_CHUNK;

        stream_gen_fill(&g, buf, n / 8);
        if (stream_write_all(s, buf, n)) {
            fprintf(stderr, "%s send: %s with %" PRIu64 " bytes left\n", who, strerror(errno),
                    left);
            return 1;
        }
        left -= n;
    }
    shutdown(s, SHUT_WR);
    if (stream_read_line(s, line, sizeof(line))) {
        fprintf(stderr, "%s send: no SUM line from the server\n", who);
        return 1;
    }
    snprintf(want, sizeof(want), "SUM %" PRIu64 " %016" PRIx64, len, g.hash);
    if (strcmp(line, want)) {
        fprintf(stderr, "%s send: server says '%s', want '%s'\n", who, line, want);
        return 1;
    }
    return 0;
}

/* Waits for n children; how many did not exit 0. */
static int stream_wait_all(int n)
{
    int bad = 0, st;

    for (int i = 0; i < n; i++)
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
            bad++;
    return bad;
}

static double stream_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Accepts n streams on the listening socket ls, each checked in its own child. 0 when all
 * passed; *secs is the time from the call to the last stream's end. */
static int stream_serve_all(int ls, int n, const char *who, double *secs)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

        if (s < 0) {
            fprintf(stderr, "%s serve: accept: %s\n", who, strerror(errno));
            return 1;
        }
        if (fork() == 0)
            _exit(stream_check(s, who));
        close(s);
    }
    if (stream_wait_all(n)) {
        fprintf(stderr, "%s serve: a stream failed\n", who);
        return 1;
    }
    *secs = stream_since(&t0);
    return 0;
}

/* Sends n streams at once, one child each: stream 0 carries first bytes, the others rest.
 * connect_fn(ctx, i) returns a connected socket for stream i or -errno. 0 when all passed;
 * *secs is the time the whole run took. */
static int stream_send_all(int n, uint64_t first, uint64_t rest,
                           int (*connect_fn)(const void *ctx, int i), const void *ctx,
                           const char *who, double *secs)
{
    struct timespec t0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        if (fork() == 0) {
            int s = connect_fn(ctx, i);

            if (s < 0) {
                fprintf(stderr, "%s send: stream %d: connect: %s\n", who, i, strerror(-s));
                _exit(1);
            }
            _exit(stream_send(s, stream_seed(i), i ? rest : first, who));
        }
    }
    if (stream_wait_all(n)) {
        fprintf(stderr, "%s send: a stream failed\n", who);
        return 1;
    }
    *secs = stream_since(&t0);
    return 0;
}

#endif /* CELLVM_TESTS_STREAM_CHECK_H */
