/* Migration URLs as Cloud Hypervisor v51.0 takes them (unix:/path, tcp:host:port with IPv4,
 * IPv6 and names), the bad forms refused with a reason, and the real sockets: a listener and a
 * connection on loopback, a port in use, a refused connection, a unix socket file left over,
 * and a connect that does not answer while the event loop goes on serving (mig_connect.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/controller/mig_connect.h"
#include "core/controller/mig_url.h"

struct conn_result {
    int calls, fd, r, ticks;
    char err[400];
};

static void conn_done(void *arg, int fd, int r, const char *err)
{
    struct conn_result *c = arg;

    c->calls++;
    c->fd = fd;
    c->r = r;
    snprintf(c->err, sizeof(c->err), "%s", err);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((struct conn_result *)arg)->ticks++;
}

/* mig_connect_start run to its end in a loop of its own, a 20 ms timer beside it: the result
 * as mig_connect's done saw it; done is called exactly once, never from the start. */
static int conn(const struct mig_url *u, int ms, int *fd, char *err, struct conn_result *c)
{
    struct event_base *base = event_base_new();
    struct mig_connect *mc = NULL;
    struct event *t = event_new(base, -1, EV_PERSIST, tick, c);
    struct timeval tv = { .tv_usec = 20000 };
    int r;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    cr_assert(base && t && !event_add(t, &tv));
    r = mig_connect_start(base, u, ms, conn_done, c, &mc, err, 300);
    if (!r) {
        cr_assert_eq(c->calls, 0, "done came from mig_connect_start");
        while (!c->calls)
            cr_assert_geq(event_base_loop(base, EVLOOP_ONCE), 0);
        cr_assert_eq(c->calls, 1);
        r = c->r;
        snprintf(err, 300, "%.299s", c->err);
        cr_assert(r ? c->fd == -1 : c->fd >= 0);
    }
    *fd = c->fd;
    event_free(t);
    event_base_free(base);
    return r;
}

static int mig_url_connect(const struct mig_url *u, int ms, int *fd, char *err, size_t errlen)
{
    struct conn_result c;

    (void)errlen;
    return conn(u, ms, fd, err, &c);
}

static int parse(const char *url, struct mig_url *u, char *err)
{
    return mig_url_parse("receiver_url", url, u, err, 300);
}

Test(mig_url, good_forms)
{
    static const struct {
        const char *url, *host, *port, *again;
    } tcp[] = {
        { "tcp:0.0.0.0:6000", "0.0.0.0", "6000", "tcp:0.0.0.0:6000" },
        { "tcp:127.0.0.1:1", "127.0.0.1", "1", "tcp:127.0.0.1:1" },
        { "tcp:[::1]:65535", "::1", "65535", "tcp:[::1]:65535" },
        { "tcp:[::]:6000", "::", "6000", "tcp:[::]:6000" },
        { "tcp:::1:6000", "::1", "6000", "tcp:[::1]:6000" }, /* the last colon ends the host */
        { "tcp:localhost:6000", "localhost", "6000", "tcp:localhost:6000" },
        { "tcp:dst.example.org:06000", "dst.example.org", "6000", "tcp:dst.example.org:6000" },
    };
    struct mig_url u;
    char err[300], buf[400];

    for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++) {
        cr_assert_eq(parse(tcp[i].url, &u, err), 0, "%s: %s", tcp[i].url, err);
        cr_assert_eq(u.kind, MIG_URL_TCP);
        cr_assert_str_eq(u.host, tcp[i].host);
        cr_assert_str_eq(u.port, tcp[i].port);
        mig_url_format(&u, buf, sizeof(buf));
        cr_assert_str_eq(buf, tcp[i].again);
    }
    cr_assert_eq(parse("unix:/run/mig.sock", &u, err), 0, "%s", err);
    cr_assert_eq(u.kind, MIG_URL_UNIX);
    cr_assert_str_eq(u.path, "/run/mig.sock");
}

Test(mig_url, bad_forms)
{
    static const struct {
        const char *url, *why;
    } bad[] = {
        { "", "empty" },
        { "tcp:", "no port" },
        { "tcp:127.0.0.1", "no port" },
        { "tcp:127.0.0.1:", "1-65535" },
        { "tcp:127.0.0.1:0", "1-65535" },
        { "tcp:127.0.0.1:65536", "1-65535" },
        { "tcp:127.0.0.1:123456", "1-65535" },
        { "tcp:127.0.0.1:60a0", "not a number" },
        { "tcp:127.0.0.1:-1", "not a number" },
        { "tcp::6000", "no host" },
        { "tcp:[]:6000", "no host" },
        { "tcp:[::1:6000", "IPv6" },
        { "tcp:[::1]6000", "IPv6" },
        { "tcp:a b:6000", "character" },
        { "tcp:host/x:6000", "character" },
        { "unix:relative/path", "absolute" },
        { "unix:", "absolute" },
        { "udp:1.2.3.4:5", "neither" },
        { "/tmp/sock", "neither" },
        { "TCP:1.2.3.4:5", "neither" },
    };
    struct mig_url u;
    char err[300], longer[400];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(parse(bad[i].url, &u, err), -EINVAL, "'%s' accepted", bad[i].url);
        cr_assert(strstr(err, bad[i].why), "'%s': %s", bad[i].url, err);
        cr_assert(strstr(err, "receiver_url"), "%s", err);
    }
    memset(longer, 'a', sizeof(longer));
    memcpy(longer, "unix:/", 6);
    longer[sizeof(longer) - 1] = '\0';
    cr_assert_eq(parse(longer, &u, err), -EINVAL);
    memcpy(longer, "tcp:", 4);
    strcpy(longer + 300, ":80");
    cr_assert_eq(parse(longer, &u, err), -EINVAL);
    cr_assert(strstr(err, "longer than 255"), "%s", err);
    cr_assert_eq(mig_url_parse("destination_url", NULL, &u, err, sizeof(err)), -EINVAL);
}

/* A free loopback port: bound, read back, closed (the tests then listen on it). */
static int free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* listen, connect, accept over loopback; bytes flow; a second listener is told the port is in
 * use; after the listener closes a connection is refused with that reason. */
Test(mig_url, tcp_loopback)
{
    char url[64], err[300];
    struct mig_url u;
    int lfd, cfd, afd, l2, port = free_port();
    char b[6] = "";

    snprintf(url, sizeof(url), "tcp:127.0.0.1:%d", port);
    cr_assert_eq(parse(url, &u, err), 0, "%s", err);
    cr_assert_eq(mig_url_listen(&u, &lfd, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_url_listen(&u, &l2, err, sizeof(err)), -EADDRINUSE);
    cr_assert(strstr(err, "the port is in use"), "%s", err);
    cr_assert_eq(mig_url_connect(&u, 2000, &cfd, err, sizeof(err)), 0, "%s", err);
    afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(afd, 0);
    mig_url_accepted(afd);
    cr_assert_eq(write(cfd, "hello", 5), 5);
    cr_assert_eq(read(afd, b, 5), 5);
    cr_assert_str_eq(b, "hello");
    close(afd);
    close(cfd);
    close(lfd);
    /* nobody listens: refused, said so */
    cr_assert_eq(mig_url_connect(&u, 2000, &cfd, err, sizeof(err)), -ECONNREFUSED);
    cr_assert(strstr(err, "refused") && strstr(err, url), "%s", err);
    /* a name the resolver knows, and one it cannot */
    snprintf(url, sizeof(url), "tcp:localhost:%d", port);
    cr_assert_eq(parse(url, &u, err), 0, "%s", err);
    cr_assert_eq(mig_url_listen(&u, &lfd, err, sizeof(err)), 0, "%s", err);
    close(lfd);
    cr_assert_eq(parse("tcp:no-such-host.invalid:6000", &u, err), 0, "%s", err);
    cr_assert_neq(mig_url_connect(&u, 2000, &cfd, err, sizeof(err)), 0);
    cr_assert(strstr(err, "cannot resolve"), "%s", err);
}

Test(mig_url, tcp_ipv6_loopback)
{
    char url[64], err[300];
    struct mig_url u;
    int lfd, cfd, port = free_port();
    int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

    if (probe < 0 || bind(probe, (struct sockaddr *)&sa, sizeof(sa))) {
        if (probe >= 0)
            close(probe);
        cr_skip_test("no IPv6 loopback on this host");
    }
    close(probe);
    snprintf(url, sizeof(url), "tcp:[::1]:%d", port);
    cr_assert_eq(parse(url, &u, err), 0, "%s", err);
    cr_assert_eq(mig_url_listen(&u, &lfd, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_url_connect(&u, 2000, &cfd, err, sizeof(err)), 0, "%s", err);
    close(cfd);
    close(lfd);
}

Test(mig_url, unix_socket_file)
{
    char dir[] = "/tmp/mig-url-XXXXXX", url[128], err[300];
    struct mig_url u;
    int lfd, l2, cfd;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(url, sizeof(url), "unix:%s/s", dir);
    cr_assert_eq(parse(url, &u, err), 0, "%s", err);
    cr_assert_eq(mig_url_connect(&u, 1000, &cfd, err, sizeof(err)), -ENOENT);
    cr_assert(strstr(err, "is the destination receiving"), "%s", err);
    cr_assert_eq(mig_url_listen(&u, &lfd, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_url_listen(&u, &l2, err, sizeof(err)), -EADDRINUSE);
    cr_assert(strstr(err, "the file exists"), "%s", err);
    cr_assert_eq(mig_url_connect(&u, 1000, &cfd, err, sizeof(err)), 0, "%s", err);
    close(cfd);
    close(lfd);
    unlink(u.path);
    rmdir(dir);
}

/* A destination whose accept queue is full drops the SYN: the connect waits, the loop keeps
 * serving its timer meanwhile, and the deadline ends it with its reason. Cancelling one in
 * progress calls nothing and leaves no socket. */
Test(mig_url, tcp_no_answer_does_not_block)
{
    char url[64], err[300];
    struct mig_url u;
    struct conn_result c;
    int lfd, fill[4], nfill = 0, fd, port = free_port();
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                              .sin_port = htons((uint16_t)port) };

    snprintf(url, sizeof(url), "tcp:127.0.0.1:%d", port);
    cr_assert_eq(parse(url, &u, err), 0, "%s", err);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(lfd, 0), 0);
    /* Fill the accept queue (never accepted) until a connect stays in progress. */
    for (; nfill < 4; nfill++) {
        struct pollfd pf;

        fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        (void)connect(fill[nfill], (struct sockaddr *)&sa, sizeof(sa));
        pf = (struct pollfd){ .fd = fill[nfill], .events = POLLOUT };
        if (poll(&pf, 1, 200) == 0) {
            nfill++;
            break;
        }
    }
    cr_assert_eq(conn(&u, 400, &fd, err, &c), -ETIMEDOUT, "%s", err);
    cr_assert(strstr(err, "no answer") && strstr(err, url), "%s", err);
    cr_assert_geq(c.ticks, 10, "the loop stood still while connecting (%d ticks)", c.ticks);
    {
        struct event_base *base = event_base_new();
        struct mig_connect *mc = NULL;

        cr_assert_eq(mig_connect_start(base, &u, 5000, conn_done, &c, &mc, err, sizeof(err)), 0);
        c.calls = 0;
        mig_connect_cancel(mc);
        cr_assert_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1, "an event outlived the cancel");
        cr_assert_eq(c.calls, 0);
        event_base_free(base);
    }
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    close(lfd);
}
