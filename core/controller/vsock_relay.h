#ifndef CELLVM_CORE_CONTROLLER_VSOCK_RELAY_H
#define CELLVM_CORE_CONTROLLER_VSOCK_RELAY_H

/*
 * The controller's side of cellvm-vsockd's connect channel (vsockd/vconn.h): the jailed daemon
 * runs as another user and cannot connect to a host listener that only the invoking user may
 * reach (mode 0755, the ordinary way), so for each guest connect to host port P it sends
 * VsockConnect and the controller connects to <socket>_<port> itself, <socket> being the --vsock
 * path it was configured with (never a path from the daemon), and passes the socket back in
 * VsockConnectResult. The connect is non-blocking (a unix-socket connect completes or fails at
 * once; a full backlog is answered as a refusal), and so is the channel on this side: a daemon
 * that does not read its answers loses them instead of stalling the controller's loop.
 */

#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;

struct vsock_relay {
    int fd;           /* owned: the controller's end of the connect channel, or -1 */
    struct event *ev; /* owned: readable fd, in the controller's loop */
    char prefix[108]; /* the --vsock socket path: ports are <prefix>_<port> */
};

void vsock_relay_init(struct vsock_relay *vr);
/* Makes the channel for the socket path `socket`; *dev_fd is the daemon's end, the caller's.
   0 or -errno (-ENAMETOOLONG when no <socket>_<port> would fit a unix socket address). */
int vsock_relay_open(struct vsock_relay *vr, const char *socket, int *dev_fd);
/* Answers requests from base's loop from now on. 0 or -errno. */
int vsock_relay_watch(struct vsock_relay *vr, struct event_base *base);
/* Reads and answers one request: 1 answered, 0 when the packet was no request (dropped), or
   -errno when the channel broke (-EPIPE: the daemon's end is closed). The loop's callback;
   exposed for tests. */
int vsock_relay_answer(struct vsock_relay *vr);
void vsock_relay_close(struct vsock_relay *vr);

#endif
