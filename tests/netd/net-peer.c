/* net-peer: both ends of the checked TCP streams in the nested net tests, in L1 and (linked
 * static, appended to the L2 initramfs) in the guest. busybox nc stops reading at the peer's
 * half-close, so it cannot carry a stream that is checked on both ends; this can.
 *
 *   net-peer serve PORT N                 accept N streams on TCP PORT (any IPv4 address)
 *   net-peer send HOST PORT N LEN         N streams of LEN bytes each to HOST:PORT (IPv4)
 *
 * The streams are tests/common/stream_check.h's (shared with vsock-peer): a preamble
 * {seed, length}, then length bytes of an xorshift64 sequence; the server checks every byte
 * and answers "SUM <length> <hash>\n", which the sender compares with its own hash, so a
 * corrupted, short or long stream fails on both ends. The sender retries the
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
#include <unistd.h>

#include "../common/stream_check.h"

#define RUN_LIMIT_S   600
#define CONNECT_TRIES 1200 /* 100 ms apart: two minutes */

static int serve(int port, int n)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    double secs;
    int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 16)) {
        perror("net-peer serve: listen");
        return 1;
    }
    printf("net-peer: listening on port %d\n", port);
    fflush(stdout);
    if (stream_serve_all(ls, n, "net-peer", &secs))
        return 1;
    printf("net-peer: served %d streams in %.2f s\n", n, secs);
    return 0;
}

/* stream_send_all's connect: the other end may not listen yet. */
static int connect_retry(const void *ctx, int i)
{
    const struct sockaddr_in *sa = ctx;

    (void)i;
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
    double secs;

    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "net-peer send: bad IPv4 address '%s'\n", host);
        return 2;
    }
    if (stream_send_all(n, len, len, connect_retry, &sa, "net-peer", &secs))
        return 1;
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
