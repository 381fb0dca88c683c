#ifndef CELLVM_VSOCKD_CONN_H
#define CELLVM_VSOCKD_CONN_H

/*
 * One stream between a guest port and a host unix socket, and the table that finds it by
 * (local port, peer port). The local port is the host side's port as the guest sees it: the
 * port a guest connected to, or the one vsockd allocated for a host-initiated connection.
 * Credit counters follow virtio 1.2, 5.10.6.3: everything wraps at 2^32.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "vsockd/pkt.h"

enum conn_state {
    CONN_HANDSHAKE,   /* host connected to the socket; reading "CONNECT <port>\n" */
    CONN_LOCAL_INIT,  /* REQUEST queued or sent to the guest; waiting for its RESPONSE */
    CONN_ESTABLISHED, /* data flows */
    CONN_DRAINING,    /* the guest closed; flushing what it sent to the host, then closing */
};

/* Control packets owed to the guest (conn.need). */
#define CONN_NEED_REQUEST  1u
#define CONN_NEED_RESPONSE 2u
#define CONN_NEED_SHUTDOWN 4u /* SHUTDOWN(SEND): the host sent EOF */
#define CONN_NEED_CREDIT   8u /* CREDIT_UPDATE */

struct vsock_conn {
    int fd; /* owned: the host unix socket (non-blocking), registered in the device's epoll */
    enum conn_state state;
    uint32_t local_port, peer_port;
    uint32_t need;
    bool readable;        /* the host socket may have bytes (edge-triggered epoll) */
    bool peer_shut_send;  /* the guest sends no more: shut the host's read side once flushed */
    bool peer_shut_rcv;   /* the guest takes no more: stop reading the host */
    bool host_eof;        /* the host sent EOF (SHUTDOWN(SEND) owed or sent) */
    bool hs_started;      /* handshake: counted against the handshake limit */
    uint64_t deadline_ms; /* handshake, RESPONSE or drain deadline; 0 none */

    uint32_t rx_cnt;       /* payload bytes received from the guest */
    uint32_t fwd_cnt;      /* of those, bytes the host socket took */
    uint32_t fwd_cnt_sent; /* fwd_cnt last told to the guest */
    uint32_t tx_cnt;       /* payload bytes sent to the guest */
    uint32_t peer_buf_alloc, peer_fwd_cnt;

    /* Guest bytes the host has not taken yet: a ring of buf_alloc bytes, allocated when first
       needed. Never more than buf_alloc: a guest that ignores its credit is reset. */
    uint8_t *buf;
    uint32_t buf_head, buf_len, buf_size;

    struct vsock_conn *hnext; /* hash chain */
    TAILQ_ENTRY(vsock_conn) all;
    TAILQ_ENTRY(vsock_conn) rxq;
    bool in_rxq;
};

TAILQ_HEAD(conn_list, vsock_conn);

#define CONN_BUCKETS 1024u

struct conn_table {
    struct vsock_conn *bucket[CONN_BUCKETS];
    struct conn_list all;
    uint32_t count;
};

void conn_table_init(struct conn_table *t);
struct vsock_conn *conn_find(const struct conn_table *t, uint32_t local_port, uint32_t peer_port);
/* A new connection owning fd, in the table. NULL if out of memory (fd stays the caller's). */
struct vsock_conn *conn_new(struct conn_table *t, int fd, uint32_t local_port, uint32_t peer_port,
                            uint32_t buf_size);
/* Re-keys a handshake connection once its ports are known. */
void conn_rekey(struct conn_table *t, struct vsock_conn *c, uint32_t local_port,
                uint32_t peer_port);
/* Removes c from the table, closes its fd, frees it. The caller unlinks it from the rx queue. */
void conn_free(struct conn_table *t, struct vsock_conn *c);

/* Bytes the guest may still send us on c, and may still receive from us (its credit). */
uint32_t conn_our_free(const struct vsock_conn *c);
uint32_t conn_peer_credit(const struct vsock_conn *c);

/* Appends len guest bytes at off in iov[0..n) (read through mem). -ENOBUFS past buf_size. */
int conn_buf_append(struct vsock_conn *c, const struct vsock_mem *mem, const struct iovec *iov,
                    unsigned n, size_t off, size_t len);
/* Sends len guest bytes in iov[0..n) (host addresses inside guest memory) to the host socket
   in one sendmsg, counting what it took in fwd_cnt; the rest is appended to the buffer (read
   through mem) for EPOLLOUT. The caller has checked that nothing is buffered. 0 or -errno. */
int conn_send_iov(struct vsock_conn *c, const struct vsock_mem *mem, const struct iovec *iov,
                  unsigned n, size_t len);
/* Writes buffered bytes to the host socket; 0 (possibly with bytes left), or -errno. */
int conn_buf_flush(struct vsock_conn *c);

#endif
