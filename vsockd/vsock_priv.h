/* vsockd's device state, shared by vsock.c (connections, the guest's TX) and vsock_rx.c (what
 * goes to the guest on RX); nothing outside vsockd/vsock*.c includes this. */
#ifndef CELLVM_VSOCKD_VSOCK_PRIV_H
#define CELLVM_VSOCKD_VSOCK_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vsockd/conn.h"
#include "vsockd/vsock.h"

/* epoll data: small integers are the listener and the caller's tags, anything else a conn. */
#define EP_LISTEN      0u
#define EP_MAX_TAG     31u
#define HS_PEER        UINT32_MAX /* peer port of a connection still in its handshake */
#define ACCEPT_BATCH   64         /* accepts per listener wakeup: others get their turn */
#define EP_BATCH       64
#define SCAN_EVERY_MS  250
#define CONN_EP_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
/* Payloads of consecutive RW packets of one stream go to the host in one sendmsg, up to: */
#define GATHER_SEGS  64u
#define GATHER_BYTES (512u * 1024u)

struct rst_entry {
    uint32_t local_port, peer_port;
};

struct vsock_dev {
    uint64_t guest_cid;
    int ep;        /* owned: epoll over the listener, the host sockets and the caller's fds */
    int listen_fd; /* owned: the socket host programs connect to, or -1 */
    char *uds_dir, *uds_name;
    uint32_t buf_alloc, max_conns;
    const struct vsock_mem *mem;
    int (*connect)(void *arg, uint32_t port, int *fd); /* vsock_cfg.connect */
    void *connect_arg;
    struct conn_table conns;
    struct conn_list rxq; /* connections with a packet for the guest */
    struct rst_entry rst[VSOCK_RST_QUEUE];
    uint32_t rst_head, rst_len;
    uint32_t next_local_port;
    uint64_t next_scan_ms;
    /* Guest payload of pend not sent yet: addresses inside TX elements the caller keeps until
       the end of vsock_tx_batch. pend has nothing buffered while it is set. */
    struct vsock_conn *pend;
    struct iovec pend_iov[GATHER_SEGS];
    unsigned pend_n;
    size_t pend_len;
    struct vsock_stats st;
};

/* Host bytes can go to the guest now. */
bool vsock_data_ready(const struct vsock_conn *c);
/* c has a packet for the guest: on the RX queue (once). */
void vsock_rxq_kick(struct vsock_dev *d, struct vsock_conn *c);
/* c has none any more: off the RX queue. */
void vsock_rxq_drop(struct vsock_dev *d, struct vsock_conn *c);
/* Ends c at once (an RST to the guest when it knew the stream). */
void vsock_conn_kill(struct vsock_dev *d, struct vsock_conn *c);
/* Sends what c buffered for the host; false when c ended. */
bool vsock_settle(struct vsock_dev *d, struct vsock_conn *c);

#endif
