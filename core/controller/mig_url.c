#include "core/controller/mig_url.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/controller/unix_sock.h"

static int bad(const char *what, const char *url, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: '%.200s' %s", what, url, why);
    return -EINVAL;
}

/* "host:port", "[v6]:port" or "v6:port" (the last colon ends the host, as Cloud Hypervisor's
 * resolver reads it). */
static int parse_tcp(const char *what, const char *url, const char *s, struct mig_url *u, char *err,
                     size_t errlen)
{
    const char *colon, *host = s, *hend;
    unsigned long port = 0;

    if (*s == '[') {
        host = s + 1;
        hend = strchr(host, ']');
        if (!hend || hend[1] != ':')
            return bad(what, url, "is not tcp:[IPv6 address]:port", err, errlen);
        colon = hend + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return bad(what, url, "has no port (tcp:host:port)", err, errlen);
        hend = colon;
    }
    if (hend == host)
        return bad(what, url, "has no host (tcp:host:port, 0.0.0.0 to listen on every address)",
                   err, errlen);
    if ((size_t)(hend - host) > MIG_URL_HOST_MAX)
        return bad(what, url, "names a host longer than 255 characters", err, errlen);
    for (const char *p = host; p < hend; p++)
        if (*p <= ' ' || *p > '~' || *p == '/' || *p == '[' || *p == ']')
            return bad(what, url, "has a character no host name or address has", err, errlen);
    if (!colon[1] || strlen(colon + 1) > 5)
        return bad(what, url, "has no port of 1-65535", err, errlen);
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return bad(what, url, "has a port that is not a number", err, errlen);
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port < 1 || port > 65535)
        return bad(what, url, "has no port of 1-65535", err, errlen);
    u->kind = MIG_URL_TCP;
    memcpy(u->host, host, (size_t)(hend - host));
    u->host[hend - host] = '\0';
    snprintf(u->port, sizeof(u->port), "%lu", port);
    return 0;
}

int mig_url_parse(const char *what, const char *url, struct mig_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    if (!url || !*url)
        return bad(what, url ? url : "", "is empty (unix:/path or tcp:host:port)", err, errlen);
    if (!strncmp(url, "tcp:", 4))
        return parse_tcp(what, url, url + 4, u, err, errlen);
    if (strncmp(url, "unix:", 5))
        return bad(what, url, "is neither unix:/path nor tcp:host:port", err, errlen);
    if (url[5] != '/')
        return bad(what, url, "is not unix:/absolute/path", err, errlen);
    if (strlen(url + 5) >= sizeof(u->path))
        return bad(what, url, "names a socket path too long for a unix socket", err, errlen);
    u->kind = MIG_URL_UNIX;
    strcpy(u->path, url + 5);
    return 0;
}

void mig_url_format(const struct mig_url *u, char *buf, size_t len)
{
    if (u->kind == MIG_URL_UNIX)
        snprintf(buf, len, "unix:%s", u->path);
    else if (strchr(u->host, ':'))
        snprintf(buf, len, "tcp:[%s]:%s", u->host, u->port);
    else
        snprintf(buf, len, "tcp:%s:%s", u->host, u->port);
}

int mig_url_resolve(const struct mig_url *u, bool passive, struct addrinfo **res, char *err,
                    size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) };
    char name[sizeof(u->host) + sizeof(u->port) + 16];
    int g = getaddrinfo(u->host, u->port, &hints, res);

    if (!g)
        return 0;
    mig_url_format(u, name, sizeof(name));
    snprintf(err, errlen, "%s: cannot resolve '%s': %s", name, u->host,
             g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
    return g == EAI_NONAME || g == EAI_NODATA ? -ENOENT : g == EAI_AGAIN ? -EAGAIN : -EINVAL;
}

static void nodelay(int fd)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int mig_url_listen(const struct mig_url *u, int *fd, char *err, size_t errlen)
{
    struct addrinfo *res = NULL;
    char name[sizeof(u->host) + sizeof(u->port) + 16];
    int r = -EADDRNOTAVAIL, one = 1;

    *fd = -1;
    mig_url_format(u, name, sizeof(name));
    if (u->kind == MIG_URL_UNIX) {
        struct sockaddr_un sa;
        int f = unix_stream(u->path, &sa, true);

        r = f < 0 ? f : 0;
        if (!r && (bind(f, (struct sockaddr *)&sa, sizeof(sa)) || listen(f, 1)))
            r = -errno;
        if (r) {
            if (f >= 0)
                close(f);
            snprintf(err, errlen, "receiver_url: cannot listen on '%.200s': %s", u->path,
                     r == -EADDRINUSE ? "the file exists (remove it or pick another path)"
                                      : strerror(-r));
            return r;
        }
        *fd = f;
        return 0;
    }
    r = mig_url_resolve(u, true, &res, err, errlen);
    if (r)
        return r;
    r = -EADDRNOTAVAIL;
    for (const struct addrinfo *ai = res; ai && *fd < 0; ai = ai->ai_next) {
        int f = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (f < 0) {
            r = -errno;
            continue;
        }
        if (setsockopt(f, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
            bind(f, ai->ai_addr, ai->ai_addrlen) || listen(f, 1)) {
            /* In use is the answer worth giving, whatever a later address says. */
            if (r != -EADDRINUSE)
                r = -errno;
            close(f);
            continue;
        }
        *fd = f;
        r = 0;
    }
    freeaddrinfo(res);
    if (r)
        snprintf(err, errlen, "receiver_url: cannot listen on '%.200s': %s", name,
                 r == -EADDRINUSE      ? "the port is in use"
                 : r == -EADDRNOTAVAIL ? "no such address on this host"
                 : r == -EACCES        ? "permission denied (a port below 1024?)"
                                       : strerror(-r));
    return r;
}

void mig_url_accepted(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (fl >= 0 && (fl & O_NONBLOCK))
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (!getsockname(fd, (struct sockaddr *)&ss, &sl) &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
        nodelay(fd);
}
