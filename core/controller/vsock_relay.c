#include "core/controller/vsock_relay.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.pb-c.h"
#include "ipc/channel.h"
#include "ipc/msg.h"
#include "validate.h"

void vsock_relay_init(struct vsock_relay *vr)
{
    vr->fd = -1;
    vr->ev = NULL;
    vr->prefix[0] = '\0';
}

int vsock_relay_open(struct vsock_relay *vr, const char *socket, int *dev_fd)
{
    int sv[2], r;

    /* "_4294967295" is the longest suffix: refuse now what no port could reach later. */
    if (!socket[0] || strlen(socket) + 11 >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return -ENAMETOOLONG;
    r = ipc_chan_pair(sv);
    if (r)
        return r;
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
        r = -errno;
        close(sv[0]);
        close(sv[1]);
        return r;
    }
    snprintf(vr->prefix, sizeof(vr->prefix), "%s", socket);
    vr->fd = sv[0];
    *dev_fd = sv[1];
    return 0;
}

/* Connects to <prefix>_<port> without waiting: 0 with *fd, or -errno and why in msg. */
static int relay_connect(const struct vsock_relay *vr, uint32_t port, int *fd, char *msg,
                         size_t msglen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vr->prefix, port);
    int s, r;

    if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
        r = -ENAMETOOLONG; /* vsock_relay_open checked the length: cannot happen */
        goto out;
    }
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) {
        r = -errno;
        goto out;
    }
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        *fd = s;
        return 0;
    }
    /* EAGAIN: the listener's backlog is full; the guest sees that as a refusal. */
    r = errno == EAGAIN ? -ECONNREFUSED : -errno;
    close(s);
out:
    snprintf(msg, msglen, "connect %.200s: %s", sa.sun_path, strerror(-r));
    for (char *c = msg; *c; c++) /* the validator wants printable ASCII; paths may not be */
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    return r;
}

int vsock_relay_answer(struct vsock_relay *vr)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT, *req = NULL;
    Cellvm__VsockConnectResult res = CELLVM__VSOCK_CONNECT_RESULT__INIT;
    char msg[PB_MAX_MESSAGE_LEN] = "";
    int fds[IPC_MAX_FDS], s = -1, r;
    const char *why = NULL;
    size_t nfds = 0;

    r = ipc_recv_envelope(vr->fd, &req, fds, IPC_MAX_FDS, &nfds, &why);
    if (r == -EPIPE || r == -EAGAIN)
        return r;
    if (r)
        return 0; /* unpacks or validates badly: dropped, its fds closed */
    ipc_close_fds(fds, nfds);
    if (req->body_case != CELLVM__ENVELOPE__BODY_VSOCK_CONNECT) {
        ipc_free_envelope(req);
        return 0;
    }
    r = relay_connect(vr, req->vsock_connect->port, &s, msg, sizeof(msg));
    res.seq = req->vsock_connect->seq;
    res.errnum = -r;
    res.message = msg;
    ipc_free_envelope(req);
    env.body_case = CELLVM__ENVELOPE__BODY_VSOCK_CONNECT_RESULT;
    env.vsock_connect_result = &res;
    /* A daemon that leaves its answers unread fills the channel: this one is lost (-EAGAIN),
       its request times out there, and the loop goes on. */
    r = ipc_send_envelope(vr->fd, &env, &s, s >= 0 ? 1 : 0);
    if (s >= 0)
        close(s);
    return r == -EPIPE ? r : 1;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct vsock_relay *vr = arg;

    (void)fd;
    (void)what;
    /* The daemon's end lives as long as the controller keeps its copy for a respawn, so EOF
       means the row is going away: stop listening rather than spin. */
    if (vsock_relay_answer(vr) == -EPIPE)
        event_del(vr->ev);
}

int vsock_relay_watch(struct vsock_relay *vr, struct event_base *base)
{
    if (vr->fd < 0 || vr->ev)
        return 0;
    vr->ev = event_new(base, vr->fd, EV_READ | EV_PERSIST, on_readable, vr);
    if (!vr->ev || event_add(vr->ev, NULL)) {
        if (vr->ev)
            event_free(vr->ev);
        vr->ev = NULL;
        return -ENOMEM;
    }
    return 0;
}

void vsock_relay_close(struct vsock_relay *vr)
{
    if (vr->ev)
        event_free(vr->ev);
    vr->ev = NULL;
    if (vr->fd >= 0)
        close(vr->fd);
    vr->fd = -1;
}
