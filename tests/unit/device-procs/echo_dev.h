#ifndef CELLVM_TESTS_ECHO_DEV_H
#define CELLVM_TESTS_ECHO_DEV_H

/*
 * A trivial device for the runtime's tests: each request's readable bytes are copied into its
 * writable buffers, one thread per queue, as a real device would run. Config space is 16 bytes
 * of which byte 0 is writable by the guest.
 */

#include <pthread.h>
#include <stdbool.h>

#include "device-procs/devproc.h"

#define ECHO_QUEUES 2

struct echo_dev {
    pthread_t thread[ECHO_QUEUES];
    int stop_fd[ECHO_QUEUES]; /* owned: eventfd that ends the queue thread */
    struct virtq *vq[ECHO_QUEUES];
    bool running[ECHO_QUEUES];
    int starts, stops, resets;
    uint8_t config[16];
    int broken_err; /* last virtq_pop error seen */
};

extern const struct devproc_ops echo_ops;

void echo_init(struct echo_dev *d);

#endif
