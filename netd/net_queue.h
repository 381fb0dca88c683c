#ifndef CELLVM_NETD_NET_QUEUE_H
#define CELLVM_NETD_NET_QUEUE_H

/*
 * One thread per queue pair: receive queue 2i and transmit queue 2i+1 over the pair's TAP fd.
 * The control thread starts and stops queues; the pair's thread runs while either is started.
 * Bad input from the driver or the TAP is counted and logged once per kind, never fatal: the
 * other queues go on.
 */

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "device-procs/ratelimit.h"
#include "device-procs/virtq.h"
#include "netd/net_hdr.h"

struct devproc;

enum net_ctr {
    NET_C_RX_FRAMES,
    NET_C_RX_BYTES,
    NET_C_TX_FRAMES,
    NET_C_TX_BYTES,
    NET_C_RX_STALLS,     /* the ring was empty: TAP reads paused until the driver kicks */
    NET_C_RX_NO_BUFFERS, /* frames dropped: the ring ran out of buffers halfway through one */
    NET_C_RX_TOO_BIG,    /* frames dropped: larger than the driver's buffers */
    NET_C_RX_SHORT,      /* receive buffers too short for the header, returned empty */
    NET_C_TX_SHORT,      /* transmit chains shorter than header + Ethernet header */
    NET_C_TX_TOO_BIG,    /* transmit frames beyond the negotiated size */
    NET_C_TX_BAD_HDR,    /* headers asking for offloads not negotiated */
    NET_C_TX_BAD_SEGS,   /* chains with more segments than one writev takes */
    NET_C_TAP_ERRORS,    /* TAP writes or reads that failed */
    NET_C_LINK_DOWN,     /* frames dropped while the link was down */
    NET_C_TAP_GONE,      /* 1 once the TAP went away */
    NET_C_COUNT,
};

/* Device-wide state the pair threads read. cfg changes only while no queue runs. */
struct net_shared {
    struct net_cfg cfg;
    bool link_up;       /* atomic: LinkState from the controller */
    struct devproc *dp; /* for devproc_needs_reset; NULL in tests */
    /* --net bw_* and ops_*: every pair limits each direction with its own buckets */
    struct rl_config rl;
};

struct net_pair {
    unsigned index;
    const struct net_shared *sh;
    int tap_fd;            /* borrowed: netd owns the TAP fds */
    int stop_fd;           /* owned: eventfd that ends the thread */
    struct virtq *rx, *tx; /* borrowed from the backend while started */
    pthread_t thread;
    bool running;
    bool tap_dead;             /* the thread's: the TAP went away, stop polling it */
    bool rx_wait_kick;         /* the thread's: the receive ring was empty, TAP reads paused */
    uint64_t ctr[NET_C_COUNT]; /* the thread adds, others read (relaxed atomics) */
    unsigned logged;           /* the thread's: error kinds already logged */
    /* The thread's: Cloud Hypervisor's rx and tx limiters of this pair ([0] receive, [1]
     * transmit), and how long the direction waits for tokens (0: not throttled). A throttled
     * direction leaves its ring (and, receiving, the TAP) alone until then. */
    struct ratelimit rl[2];
    uint64_t throttle_ns[2];

    /* The thread's buffers, allocated once. */
    uint8_t *frame;
    size_t frame_cap;
    size_t pending;             /* bytes of the frame being placed, 0 if none */
    struct virtq_elem *elem[2]; /* [0] the first buffer of a frame, [1] the others / TX */
    uint16_t *heads;
    uint32_t *lens;
    struct iovec *txiov; /* NET_TX_BATCH runs of IOV_MAX: a frame's header, then its buffers */

    /* Transmit batches: up to NET_TX_BATCH frames go to the TAP in one io_uring_enter, a
     * WRITEV each, instead of a writev system call per frame. The ring is made before the jail
     * (netd's seccomp allows only io_uring_enter) and runs nothing but WRITEV; without it
     * (io_uring refused by the host) frames go one writev at a time, as with a limiter. */
    struct io_uring ring; /* owned when ring_on */
    bool ring_on;
    struct virtq_elem *txe;        /* [NET_TX_BATCH] the batch's chains */
    uint8_t (*txhdr)[NET_HDR_LEN]; /* [NET_TX_BATCH] their checked headers */
};

#define NET_TX_BATCH 32

int net_pair_init(struct net_pair *p, unsigned index, int tap_fd, const struct net_shared *sh);
void net_pair_destroy(struct net_pair *p);

/* The pair's transmit ring, which the jail must keep open; -1 without one. */
int net_pair_ring_fd(const struct net_pair *p);

/* Starts (vq) or stops (NULL) the pair's receive or transmit queue; returns when the thread
   runs with the new set, or is gone when both are stopped. 0 or -errno. */
int net_pair_set(struct net_pair *p, bool tx, struct virtq *vq);

uint64_t net_pair_counter(const struct net_pair *p, enum net_ctr c);

/* One pass over the pair's work, as the thread does it; exposed for the unit tests, which drive
   it without a thread. Returns true when more work is left (a budget ran out). */
bool net_pair_run_rx(struct net_pair *p);
bool net_pair_run_tx(struct net_pair *p);

#endif
