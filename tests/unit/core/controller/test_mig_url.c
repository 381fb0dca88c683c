/* Migration URLs as Cloud Hypervisor v51.0 takes them (unix:/path, tcp:host:port with IPv4,
 * IPv6 and names), the bad forms refused with a reason, and the real sockets: a listener and a
 * connection on loopback, a port in use, a refused connection, a unix socket file left over. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/controller/mig_url.h"

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
