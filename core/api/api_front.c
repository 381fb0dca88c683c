#include "core/api/api_front.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK         16384
#define MAX_QUEUED    (64 * 1024) /* bytes towards evhttp before the client is read again */
#define WRITE_TIMEOUT 30          /* seconds a client may take to read its answer */
#define AUTOBIND_LEN  ((socklen_t)sizeof(sa_family_t))

struct api_conn {
    struct api_front *front;
    struct api_conn *next;
    int client;              /* accepted API connection; owned */
    int inner;               /* our end towards evhttp; owned */
    struct sockaddr_un name; /* inner's autobound address: evhttp's peer name for it */
    socklen_t namelen;
    struct event *ev_read;         /* client readable */
    struct bufferevent *to_http;   /* writes client bytes to inner, reads the answers */
    struct bufferevent *to_client; /* writes answers to the client; never reads */
    int fds[API_FRONT_MAX_FDS];    /* received, not yet claimed; owned */
    size_t nfds;
    bool fd_overflow; /* more fds than fit, or a truncated set: the next request fails */
    bool client_eof, http_done;
};

void api_front_init(struct api_front *f)
{
    memset(f, 0, sizeof(*f));
    f->listen_fd = -1;
    f->inner_fd = -1;
}

/* A socket bound to a fresh abstract address chosen by the kernel. */
static int autobound_socket(struct sockaddr_un *addr, socklen_t *len)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return -errno;
    *len = sizeof(*addr);
    if (bind(fd, (struct sockaddr *)&a, AUTOBIND_LEN) ||
        getsockname(fd, (struct sockaddr *)addr, len)) {
        int e = -errno;

        close(fd);
        return e;
    }
    return fd;
}

int api_front_prepare(struct api_front *f)
{
    int fd = autobound_socket(&f->inner_addr, &f->inner_len);

    if (fd < 0)
        return fd;
    if (listen(fd, API_FRONT_MAX_CONNS)) {
        int e = -errno;

        close(fd);
        return e;
    }
    f->inner_fd = fd;
    return 0;
}

static void conn_close(struct api_conn *c)
{
    struct api_front *f = c->front;

    for (struct api_conn **p = &f->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    f->nconns--;
    if (c->ev_read)
        event_free(c->ev_read);
    if (c->to_http)
        bufferevent_free(c->to_http);
    if (c->to_client)
        bufferevent_free(c->to_client);
    for (size_t i = 0; i < c->nfds; i++)
        close(c->fds[i]);
    if (c->inner >= 0)
        close(c->inner);
    if (c->client >= 0)
        close(c->client);
    free(c);
}

/* Once evhttp is done with the connection and the client has its last byte, it ends. */
static void maybe_finish(struct api_conn *c)
{
    if (c->http_done && !evbuffer_get_length(bufferevent_get_output(c->to_client)))
        conn_close(c);
}

static void keep_fds(struct api_conn *c, struct msghdr *mh)
{
    if (mh->msg_flags & MSG_CTRUNC)
        c->fd_overflow = true;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        size_t n;
        int *in;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        in = (int *)CMSG_DATA(cm);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, in + i, sizeof(fd));
            if (c->nfds < API_FRONT_MAX_FDS) {
                c->fds[c->nfds++] = fd;
            } else {
                close(fd);
                c->fd_overflow = true;
            }
        }
    }
}

static void on_client_read(evutil_socket_t fd, short what, void *arg)
{
    struct api_conn *c = arg;
    union {
        char buf[CMSG_SPACE(sizeof(int) * API_FRONT_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    char data[CHUNK];
    struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl.buf,
        .msg_controllen = sizeof(ctl.buf),
    };
    ssize_t n;

    (void)what;
    n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    keep_fds(c, &mh);
    if (n == 0) {
        /* Half-closed: the answer may still go out; evhttp learns of the end once its bytes
         * are all delivered. */
        c->client_eof = true;
        event_del(c->ev_read);
        if (!evbuffer_get_length(bufferevent_get_output(c->to_http)))
            shutdown(c->inner, SHUT_WR);
        return;
    }
    if (bufferevent_write(c->to_http, data, (size_t)n)) {
        conn_close(c);
        return;
    }
    if (evbuffer_get_length(bufferevent_get_output(c->to_http)) > MAX_QUEUED)
        event_del(c->ev_read); /* back-pressure: resumed once evhttp took it */
}

static void on_http_written(struct bufferevent *bev, void *arg)
{
    struct api_conn *c = arg;

    (void)bev;
    if (c->client_eof)
        shutdown(c->inner, SHUT_WR);
    else
        event_add(c->ev_read, NULL);
}

static void on_http_read(struct bufferevent *bev, void *arg)
{
    struct api_conn *c = arg;

    if (bufferevent_write_buffer(c->to_client, bufferevent_get_input(bev)))
        conn_close(c);
}

static void on_http_event(struct bufferevent *bev, short what, void *arg)
{
    struct api_conn *c = arg;

    (void)what;
    on_http_read(bev, arg);
    c->http_done = true;
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    maybe_finish(c);
}

static void on_client_written(struct bufferevent *bev, void *arg)
{
    (void)bev;
    maybe_finish(arg);
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    conn_close(arg); /* write error or timeout: the client is gone or stalled */
}

static int conn_setup(struct api_conn *c)
{
    struct api_front *f = c->front;
    struct timeval wt = { .tv_sec = WRITE_TIMEOUT };

    c->inner = autobound_socket(&c->name, &c->namelen);
    if (c->inner < 0)
        return c->inner;
    /* A listening AF_UNIX socket with room in its backlog completes the connect at once. */
    if (connect(c->inner, (struct sockaddr *)&f->inner_addr, f->inner_len))
        return -errno;
    c->ev_read = event_new(f->base, c->client, EV_READ | EV_PERSIST, on_client_read, c);
    c->to_http = bufferevent_socket_new(f->base, c->inner, 0);
    c->to_client = bufferevent_socket_new(f->base, c->client, 0);
    if (!c->ev_read || !c->to_http || !c->to_client)
        return -ENOMEM;
    bufferevent_setcb(c->to_http, on_http_read, on_http_written, on_http_event, c);
    bufferevent_setcb(c->to_client, NULL, on_client_written, on_client_event, c);
    bufferevent_set_timeouts(c->to_client, NULL, &wt);
    bufferevent_disable(c->to_client, EV_READ);
    if (bufferevent_enable(c->to_http, EV_READ | EV_WRITE) || event_add(c->ev_read, NULL))
        return -ENOMEM;
    return 0;
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
    struct api_front *f = arg;
    struct api_conn *c;
    int cfd;

    (void)what;
    cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0)
        return;
    if (f->nconns >= API_FRONT_MAX_CONNS) {
        close(cfd);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        close(cfd);
        return;
    }
    c->front = f;
    c->client = cfd;
    c->next = f->conns;
    f->conns = c;
    f->nconns++;
    if (conn_setup(c))
        conn_close(c);
}

int api_front_start(struct api_front *f, struct event_base *base, struct evhttp *http,
                    int listen_fd)
{
    f->base = base;
    f->listen_fd = listen_fd;
    if (evhttp_accept_socket(http, f->inner_fd))
        return -ENOMEM;
    f->inner_fd = -1; /* evhttp's now */
    f->ev_accept = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, f);
    if (!f->ev_accept || event_add(f->ev_accept, NULL))
        return -ENOMEM;
    return 0;
}

int api_front_take_fds(struct api_front *f, int http_fd, int *fds, size_t max)
{
    struct sockaddr_un peer;
    socklen_t len = sizeof(peer);
    struct api_conn *c;
    size_t n;

    if (getpeername(http_fd, (struct sockaddr *)&peer, &len))
        return -ENOENT;
    for (c = f->conns; c; c = c->next)
        if (c->namelen == len && !memcmp(&c->name, &peer, len))
            break;
    if (!c)
        return -ENOENT;
    if (c->fd_overflow || c->nfds > max) {
        for (size_t i = 0; i < c->nfds; i++)
            close(c->fds[i]);
        c->nfds = 0;
        c->fd_overflow = false;
        return -E2BIG;
    }
    n = c->nfds;
    memcpy(fds, c->fds, n * sizeof(int));
    c->nfds = 0;
    return (int)n;
}

void api_front_close(struct api_front *f)
{
    while (f->conns)
        conn_close(f->conns);
    if (f->ev_accept)
        event_free(f->ev_accept);
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    if (f->inner_fd >= 0)
        close(f->inner_fd);
    api_front_init(f);
}
