/* The transports of live migration (issue 18), as Cloud Hypervisor v51.0 names them:
 * "unix:/path" and "tcp:host:port" (host an IPv4 address, an IPv6 address in brackets or bare,
 * or a name the resolver knows; port 1-65535). The controller parses the URL, connects or
 * listens and accepts, and hands the connected stream to the core, whose filter allows no
 * socket of its own. */
#ifndef CELLVM_CORE_CONTROLLER_MIG_URL_H
#define CELLVM_CORE_CONTROLLER_MIG_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

struct addrinfo;

#define MIG_URL_HOST_MAX   255   /* a DNS name's bound; addresses are shorter */
#define MIG_URL_CONNECT_MS 10000 /* a destination accepts the connection within this */

enum mig_url_kind { MIG_URL_UNIX, MIG_URL_TCP };

struct mig_url {
    enum mig_url_kind kind;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix: absolute */
    char host[MIG_URL_HOST_MAX + 1];                        /* tcp: brackets removed */
    char port[6];                                           /* tcp: decimal 1-65535 */
};

/* url as destination_url or receiver_url (`what` names it in err). 0, or -EINVAL with err. */
int mig_url_parse(const char *what, const char *url, struct mig_url *u, char *err, size_t errlen);

/* The URL again for messages: "unix:/path", "tcp:host:port" ("[v6]:port" for IPv6). */
void mig_url_format(const struct mig_url *u, char *buf, size_t len);

/* getaddrinfo for u (tcp only; passive for a listener): 0 with *res (freeaddrinfo), or
 * -ENOENT/-EAGAIN/-EINVAL with err. */
int mig_url_resolve(const struct mig_url *u, bool passive, struct addrinfo **res, char *err,
                    size_t errlen);

/* A CLOEXEC non-blocking listener on u (backlog 1; SO_REUSEADDR on TCP, so a port in
 * TIME_WAIT is free and one someone listens on is -EADDRINUSE). 0 with *fd, or -errno with
 * err. */
int mig_url_listen(const struct mig_url *u, int *fd, char *err, size_t errlen);

/* An accepted or connected stream made ready for the migration: blocking, TCP_NODELAY on TCP. */
void mig_url_accepted(int fd);

#endif
