#ifndef CELLVM_VSOCKD_VCONN_H
#define CELLVM_VSOCKD_VCONN_H

/*
 * How the jailed daemon reaches host listeners. It cannot connect to <socket>_<port> itself:
 * the jail runs it as another user (nobody, for a daemon started by root), and a listener made
 * the ordinary way (mode 0755, as socat or a systemd socket unit leaves it) refuses other
 * users' connects with EACCES. So, as OpenBSD's vmd does, whoever kept the invoking user's
 * identity connects and passes the socket back over a SOCK_SEQPACKET channel:
 *
 *   - under cellvm, the controller (VCONN_CONTROLLER): protobuf VsockConnect, answered by
 *     VsockConnectResult (proto/control.proto), the socket in SCM_RIGHTS;
 *   - standalone, a connector process forked before the jail (VCONN_CONNECTOR, connector.h):
 *     struct vconn_req, answered by struct vconn_ans, the socket in SCM_RIGHTS.
 *
 * vconn_connect is vsock_cfg.connect for both. It is synchronous, like the direct connect it
 * replaces: the data-plane thread waits for the answer, at most VCONN_WAIT_MS. The peer never
 * waits itself (a non-blocking unix-socket connect completes or fails at once; a full backlog
 * is a refusal), so the wait is one round trip unless the peer is stuck; then the guest gets
 * an RST and the answer, when it comes, is recognised by its seq and dropped.
 */

#include <stdint.h>

#define VCONN_WAIT_MS 500

enum vconn_kind {
    VCONN_NONE,       /* no channel: every connect fails with -ENOTCONN */
    VCONN_CONTROLLER, /* protobuf envelopes */
    VCONN_CONNECTOR,  /* the fixed structs below */
};

/* The connector's wire format (both ends are this program, on one machine). */
struct vconn_req {
    uint32_t seq, port;
};
struct vconn_ans {
    uint32_t seq;
    int32_t errnum; /* 0: the socket is the one fd; else a positive errno and no fd */
};

struct vconn {
    int fd; /* owned: our end of the channel, or -1 */
    enum vconn_kind kind;
    uint32_t seq; /* of the last request */
};

void vconn_init(struct vconn *vc);
/* Adopts fd as the channel to a peer of this kind. */
void vconn_set(struct vconn *vc, int fd, enum vconn_kind kind);
void vconn_close(struct vconn *vc);

/* vsock_cfg.connect: arg is a struct vconn. 0 with *fd, or -errno (the peer's, -ETIMEDOUT,
   -EPROTO for an answer that makes no sense). One thread at a time. */
int vconn_connect(void *arg, uint32_t port, int *fd);

#endif
