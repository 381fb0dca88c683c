#ifndef CELLVM_VSOCKD_WORKER_H
#define CELLVM_VSOCKD_WORKER_H

/*
 * The data-plane thread: waits on the device's epoll (host sockets, the RX and TX kick
 * eventfds, its stop eventfd), feeds TX packets to the model and fills RX buffers from it.
 * Started and stopped from the control thread; connections live in the model and survive a
 * stop (GET_VRING_BASE, memory table changes) until the device is reset.
 */

#include <pthread.h>
#include <stdbool.h>

#include "device-procs/devproc.h"
#include "vsockd/vsock.h"

#define VSOCK_QUEUE_RX 0u
#define VSOCK_QUEUE_TX 1u
/* TX elements popped before any is given back: their payloads may leave in one sendmsg. */
#define VSOCK_TX_GATHER 8u

struct vsock_worker {
    struct vsock_dev *dev; /* borrowed */
    struct devproc *dp;    /* borrowed, may be NULL (tests): broken rings are reported */
    struct virtq *vq[2];   /* rx, tx: borrowed from the backend while started */
    struct virtq_elem *rxe[VSOCK_RX_BATCH];  /* RX elements of one fill, in rxe_mem */
    struct virtq_elem *rxe_mem;              /* owned: VSOCK_RX_BATCH elements */
    unsigned rx_want;                        /* RX elements to pop next (1..VSOCK_RX_BATCH) */
    struct virtq_elem *txe[VSOCK_TX_GATHER]; /* TX elements held for one gather, in txe_mem */
    struct virtq_elem *txe_mem;              /* owned: VSOCK_TX_GATHER elements */
    int stop_fd;                             /* owned: eventfd that ends the thread */
    pthread_t thread;
    bool running;
};

/* 0 or -errno. */
int vsock_worker_init(struct vsock_worker *w, struct vsock_dev *dev, struct devproc *dp);
void vsock_worker_destroy(struct vsock_worker *w);
/* (Re)starts the thread with whichever of vq[] are set. 0 or -errno. */
int vsock_worker_start(struct vsock_worker *w);
/* Returns once the thread no longer touches any ring or connection. */
void vsock_worker_stop(struct vsock_worker *w);

#endif
