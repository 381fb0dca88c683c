#ifndef CELLVM_VSOCKD_VSOCK_H
#define CELLVM_VSOCKD_VSOCK_H

/*
 * The virtio-vsock device model (stream sockets only, host CID 2): guest packets from the TX
 * queue, packets for the guest into RX buffers, and the host unix sockets behind each stream,
 * all waited on through one epoll fd. No threads and no rings here: the worker (worker.h) or a
 * test pops elements and hands them in, so the model runs without a VM.
 *
 * Threading: after vsock_dev_new, one thread at a time calls everything below.
 */

#include <stdbool.h>
#include <stdint.h>

#include "device-procs/virtq.h"
#include "vsockd/pkt.h"

/* The window we advertise per connection. A large one lets a guest keep sending while the
   host reader catches up (its credit updates come about twice per window, see vsock.c); since
   a guest may fill the window of every stream whose host reader stalls, only the first
   VSOCK_WIDE_CONNS open connections get it, later ones VSOCK_NARROW_BUF_ALLOC at most, which
   bounds what vsockd may hold to about 64 MiB + 1023 x 256 KiB. Each host socket's send buffer
   is sized to hold one window too (vsock.c adopt), so a stalled host reader pins at most twice
   its window, half of it in the kernel. */
#define VSOCK_DEFAULT_BUF_ALLOC (1024u * 1024u)
#define VSOCK_NARROW_BUF_ALLOC  (256u * 1024u)
#define VSOCK_WIDE_CONNS        64u
#define VSOCK_DEFAULT_MAX_CONNS 1023u      /* as Cloud Hypervisor */
#define VSOCK_TIMEOUT_MS        2000u      /* handshake line and REQUEST -> RESPONSE */
#define VSOCK_DRAIN_MS          10000u     /* guest closed, host slow to take the rest */
#define VSOCK_RST_QUEUE         2048u      /* RSTs owed to the guest, beyond connections */
#define VSOCK_LOCAL_PORT_BASE   (1u << 30) /* ports of host-initiated streams */
/* RX elements one read of a host socket may fill (Linux's 4 KiB buffers: 256 KiB per read). */
#define VSOCK_RX_BATCH 64u

struct vsock_cfg {
    uint64_t guest_cid;
    int listen_fd;        /* taken over (closed by vsock_dev_free), or -1 */
    const char *uds_dir;  /* directory of the socket, as this process reaches it; copied */
    const char *uds_name; /* the socket's file name: guests reach <uds_dir>/<uds_name>_<port> */
    uint32_t buf_alloc;   /* 0: VSOCK_DEFAULT_BUF_ALLOC */
    uint32_t max_conns;   /* 0: VSOCK_DEFAULT_MAX_CONNS */
    const struct vsock_mem *mem; /* NULL: vsock_mem_direct */
    /* Connects to host port P for a guest: 0 with *fd (connected, non-blocking, close-on-exec,
       the caller's), or -errno. The jailed daemon asks whoever keeps the user's identity (see
       vsockd/vconn.h); NULL: host_connect to <uds_dir>/<uds_name>_P from this process. */
    int (*connect)(void *arg, uint32_t port, int *fd);
    void *connect_arg;
};

struct vsock_stats {
    uint64_t tx_pkts, rx_pkts;
    uint64_t bad_pkts;    /* malformed, misaddressed or unknown-op packets */
    uint64_t rst_sent;    /* RSTs written to the guest */
    uint64_t rst_dropped; /* owed RSTs dropped because the queue was full */
    uint64_t refused;     /* connections refused: nobody listening, table full, bad handshake */
    uint64_t credit_violations;
    uint64_t opened; /* streams that reached ESTABLISHED */
};

struct vsock_dev;

int vsock_dev_new(const struct vsock_cfg *cfg, struct vsock_dev **out);
/* Closes every connection and the listener. */
void vsock_dev_free(struct vsock_dev *d);

/* Adds fd (level-triggered, readable) to the epoll set under tag 1..31, for the caller's own
   wakeups (kick and stop eventfds). 0 or -errno. */
int vsock_watch(struct vsock_dev *d, int fd, unsigned tag);
void vsock_unwatch(struct vsock_dev *d, int fd);

/*
 * Waits up to timeout_ms for host sockets and watched fds, accepts connections, moves bytes
 * buffered for the host, advances handshakes and deadlines. *fired gets the bit (1u << tag) of
 * every watched fd that was readable. Returns 0 or -errno (epoll failed).
 */
int vsock_poll(struct vsock_dev *d, int timeout_ms, uint32_t *fired);

/* Consumes one TX element (the driver's packet). Never fails: bad packets are counted, and
   answered with an RST where there is someone to answer. */
void vsock_tx(struct vsock_dev *d, const struct virtq_elem *e);

/* The same for n elements in ring order, which must stay valid (not pushed back to the driver)
   until it returns: payloads of consecutive RW packets of one stream are sent to the host in
   one sendmsg. */
void vsock_tx_batch(struct vsock_dev *d, struct virtq_elem *const *e, unsigned n);

/* True when a packet is waiting for an RX buffer. */
bool vsock_rx_pending(struct vsock_dev *d);
/* Fills one RX element: 1 with *written bytes, 0 when nothing was ready (give it back). */
int vsock_rx(struct vsock_dev *d, const struct virtq_elem *e, uint32_t *written);
/*
 * Fills RX elements e[0..n) in ring order: returns how many, the first ones (written[i] bytes
 * each; the rest go back to the driver unused), 0 when nothing was ready. A control packet or
 * an RST takes one element; a stream's data takes as many as one read of its host socket fills
 * (at most VSOCK_RX_BATCH, within the guest's credit, each a packet of its own).
 */
unsigned vsock_rx_batch(struct vsock_dev *d, const struct virtq_elem *const *e, unsigned n,
                        uint32_t *written);

/* Drops every connection (transport reset): the guest forgets its streams too. */
void vsock_reset(struct vsock_dev *d);

/* The fds the model owns (epoll set, listener, host streams) into out[0..max): the count. The
   jail keeps them. */
size_t vsock_dev_fds(const struct vsock_dev *d, int *out, size_t max);
/* Where <uds_name>_<port> sockets are found from now on (the jail moved the directory). */
int vsock_set_uds_dir(struct vsock_dev *d, const char *dir);

void vsock_get_stats(const struct vsock_dev *d, struct vsock_stats *st);
uint32_t vsock_conn_count(const struct vsock_dev *d);

#endif
