#ifndef CELLVM_QCOW2_URING_H
#define CELLVM_QCOW2_URING_H

#include "blockd/qcow2/qcow2_file.h"

/*
 * A file layer whose submit() queues on a private io_uring (depth entries); completions run
 * from qcow2_uring_poll() in the owner thread. fd is not owned. One per data-plane thread.
 */
int qcow2_uring_file_new(int fd, unsigned depth, struct qcow2_file **out);

/* Submits what is queued and runs completions: waits for at least `wait` of them. Returns the
 * number run or -errno. */
int qcow2_uring_poll(struct qcow2_file *f, unsigned wait);

/* The ring fd, for an event loop to wait on. */
int qcow2_uring_fd(struct qcow2_file *f);

#endif
