#ifndef CELLVM_IPC_MSG_H
#define CELLVM_IPC_MSG_H

#include <stddef.h>

#include "control.pb-c.h"

/* Packs one envelope and sends it with nfds fds (still owned by the caller). 0 or -errno. */
int ipc_send_envelope(int sock, const Cellvm__Envelope *env, const int *fds, size_t nfds);

/*
 * Receives, unpacks and validates one envelope. On success *out is the message (free it with
 * ipc_free_envelope) and fds[0..*nfds) are owned by the caller. On any failure every received
 * fd is closed, *why names the problem, and -errno is returned: -EPIPE when the peer closed,
 * -EBADMSG for a packet that does not unpack, -EINVAL for one that fails validation.
 */
int ipc_recv_envelope(int sock, Cellvm__Envelope **out, int *fds, size_t maxfds, size_t *nfds,
                      const char **why);

void ipc_free_envelope(Cellvm__Envelope *env);

#endif
