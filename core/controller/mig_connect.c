#include "core/controller/mig_connect.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/controller/unix_sock.h"

struct mig_connect {
    struct event_base *base;
    struct event *ev;     /* the socket's writability or the deadline; owned */
    struct event *end;    /* activated to call done from the loop; owned */
    struct addrinfo *res; /* tcp: the resolved addresses; owned */
    struct addrinfo *next;
    struct mig_url url;
    int fd; /* the connect in progress (or done, for the unix kind); owned */
    int r;  /* the most telling failure so far */
    uint64_t deadline_ms;
    mig_connect_done done;
    void *arg;
};

static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void mig_connect_cancel(struct mig_connect *c)
{
    if (!c)
        return;
    if (c->ev)
        event_free(c->ev);
    if (c->end)
        event_free(c->end);
    if (c->res)
        freeaddrinfo(c->res);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static void finish(evutil_socket_t unused, short what, void *arg)
{
    struct mig_connect *c = arg;
    char name[sizeof(c->url.host) + sizeof(c->url.port) + 16], err[400] = "";
    mig_connect_done done = c->done;
    void *cb_arg = c->arg;
    int fd = c->r ? -1 : c->fd, r = c->r;

    if (r) {
        mig_url_format(&c->url, name, sizeof(name));
        snprintf(err, sizeof(err), "destination_url: cannot connect to '%.200s': %s", name,
                 r == -ENOENT         ? "no such socket (is the destination receiving?)"
                 : r == -ECONNREFUSED ? "connection refused (is the destination receiving?)"
                 : r == -ETIMEDOUT    ? "no answer within 10 s"
                                      : strerror(-r));
    } else {
        c->fd = -1; /* the callee's now */
        mig_url_accepted(fd);
    }
    (void)unused;
    (void)what;
    mig_connect_cancel(c);
    done(cb_arg, fd, r, err);
}

/* A refusal or timeout says more than the address family a later address lacks. */
static void note_failure(struct mig_connect *c, int e)
{
    if (c->r == -EHOSTUNREACH || c->r == -EAFNOSUPPORT || c->r == -ENETUNREACH)
        c->r = e;
}

static void on_event(evutil_socket_t fd, short what, void *arg);

/* The next address whose connect is in progress or done; finish when none is left. */
static void next_address(struct mig_connect *c)
{
    while (c->next) {
        const struct addrinfo *ai = c->next;
        uint64_t t = now_ms();
        struct timeval tv;

        c->next = ai->ai_next;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
            note_failure(c, -errno);
            continue;
        }
        if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
            note_failure(c, -errno);
            continue;
        }
        /* Connected already or in progress: writability says which way it went. */
        if (c->ev)
            event_free(c->ev);
        c->ev = event_new(c->base, c->fd, EV_WRITE, on_event, c);
        tv.tv_sec = t < c->deadline_ms ? (time_t)((c->deadline_ms - t) / 1000) : 0;
        tv.tv_usec = t < c->deadline_ms ? (suseconds_t)((c->deadline_ms - t) % 1000) * 1000 : 0;
        if (c->ev && !event_add(c->ev, &tv))
            return;
        note_failure(c, -ENOMEM);
    }
    event_active(c->end, EV_TIMEOUT, 0);
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    struct mig_connect *c = arg;
    int e = 0;
    socklen_t sl = sizeof(e);

    if (what & EV_TIMEOUT) {
        c->r = -ETIMEDOUT; /* the deadline is the whole connect's, not one address's */
        event_active(c->end, EV_TIMEOUT, 0);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
        e = errno;
    if (!e) {
        c->r = 0;
        event_active(c->end, EV_TIMEOUT, 0);
        return;
    }
    note_failure(c, -e);
    next_address(c);
}

int mig_connect_start(struct event_base *base, const struct mig_url *u, int timeout_ms,
                      mig_connect_done done, void *arg, struct mig_connect **out, char *err,
                      size_t errlen)
{
    struct mig_connect *c = calloc(1, sizeof(*c));
    int r;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *c =
        (struct mig_connect){ .base = base,
                              .url = *u,
                              .fd = -1,
                              .r = -EHOSTUNREACH,
                              .deadline_ms = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0),
                              .done = done,
                              .arg = arg };
    c->end = event_new(base, -1, 0, finish, c);
    if (!c->end) {
        mig_connect_cancel(c);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (u->kind == MIG_URL_UNIX) {
        /* A local listener answers or refuses at once. */
        c->r = unix_connect(u->path, false, &c->fd);
        event_active(c->end, EV_TIMEOUT, 0);
        *out = c;
        return 0;
    }
    r = mig_url_resolve(u, false, &c->res, err, errlen);
    if (r) {
        mig_connect_cancel(c);
        return r;
    }
    c->next = c->res;
    *out = c;
    next_address(c);
    return 0;
}
