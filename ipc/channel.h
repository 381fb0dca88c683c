#ifndef CELLVM_IPC_CHANNEL_H
#define CELLVM_IPC_CHANNEL_H

#include <stddef.h>
#include <sys/types.h>

/* Largest control packet and the most fds one packet may carry. */
#define IPC_MAX_PACKET (128 * 1024) /* room for a 64 KiB kernel command line */
#define IPC_MAX_FDS    16

/* An AF_UNIX SOCK_SEQPACKET pair, both ends O_CLOEXEC. The caller owns both fds. */
int ipc_chan_pair(int sv[2]);

/*
 * Sends one packet with nfds fds in SCM_RIGHTS. The fds stay owned by the caller.
 * Returns 0 or -errno; a short send cannot happen on SEQPACKET and is reported as -EMSGSIZE.
 */
int ipc_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/*
 * Receives one packet. On success returns its length, stores up to maxfds received fds (all
 * O_CLOEXEC, now owned by the caller) and their count in *nfds. A packet larger than cap, or
 * with more fds than maxfds, is an error: every fd that came with it is closed and -EMSGSIZE
 * returned. Returns 0 at end of stream (peer closed).
 */
ssize_t ipc_recv(int sock, void *buf, size_t cap, int *fds, size_t maxfds, size_t *nfds);

/* Closes n fds from an array and sets each to -1. */
void ipc_close_fds(int *fds, size_t n);

#endif
