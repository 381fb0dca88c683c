#ifndef CELLVM_BALLOOND_BQUEUE_H
#define CELLVM_BALLOOND_BQUEUE_H

/*
 * One thread per running balloon queue (inflate, deflate, reporting): it waits on the queue's
 * kick fd and a stop eventfd, pops each request, hands it to the model (balloon.h) and returns
 * it with nothing written. The stop eventfd is made before the jail (bqueue_init).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "balloond/balloon.h"
#include "device-procs/virtq.h"

struct devproc;

struct bqueue {
    uint16_t index; /* enum balloon_queue */
    struct balloon *b;
    struct devproc *dp;
    int stop_fd;      /* owned: eventfd */
    struct virtq *vq; /* the running ring, NULL when stopped */
    pthread_t thread;
    struct virtq_elem *elem; /* owned: one popped request */
};

int bqueue_init(struct bqueue *q, uint16_t index, struct balloon *b, struct devproc *dp);
/* Starts (vq) or stops (NULL) the queue's thread; stopping returns once it has let go of the
   ring. 0 or -errno. */
int bqueue_set(struct bqueue *q, struct virtq *vq);
void bqueue_destroy(struct bqueue *q);

#endif
