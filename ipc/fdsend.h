#ifndef CELLVM_IPC_FDSEND_H
#define CELLVM_IPC_FDSEND_H

#include <stddef.h>
#include <sys/socket.h>

/* The most fds one message may carry through ipc_sendv (every protocol here sends fewer). */
#define IPC_SENDV_MAX_FDS 32

/*
 * Sends every byte of iov[0..iovcnt) on sock with nfds fds in SCM_RIGHTS, attached to the first
 * byte: loops over EINTR and short sends (a stream socket; a SEQPACKET send is whole or fails).
 * iov is consumed (its entries advanced). The fds stay the caller's. MSG_NOSIGNAL: a closed
 * peer is -EPIPE, not a signal. 0 or -errno (-EINVAL for more than IPC_SENDV_MAX_FDS fds).
 */
int ipc_sendv(int sock, struct iovec *iov, size_t iovcnt, const int *fds, size_t nfds);

#endif
