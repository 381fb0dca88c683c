#ifndef CELLVM_TESTS_UNIT_CORE_VM_VFU_HARNESS_H
#define CELLVM_TESTS_UNIT_CORE_VM_VFU_HARNESS_H

/* vfiod's server with the fake device on a thread, at the far end of a socketpair: what the
 * core's vfio-user client talks to in the unit tests. */

#include <pthread.h>

#include "tests/unit/vfiod/fake_dev.h"
#include "vfiod/vfiod_server.h"

struct vfu_harness {
    struct fake_dev dev;
    struct vfiod_server srv;
    int srv_sock; /* the server's end; the thread's */
    pthread_t thread;
};

/* Starts the server; returns the client's end of the socket (the caller's). */
int harness_start(struct vfu_harness *h);
/* Waits for the server to see the client close, then frees it. */
void harness_stop(struct vfu_harness *h);

#endif
