/* A QCOW2 file layer whose data I/O goes on a queue thread's own io_uring: guest data of a
 * QCOW2 disk travels the same restricted ring as the queue's kicks, with the image as a fixed
 * file. Completions are run by the queue thread (qchan_complete) as it reaps its ring. */
#ifndef CELLVM_BLOCKD_QCHAN_H
#define CELLVM_BLOCKD_QCHAN_H

#include <liburing.h>

#include "blockd/qcow2/qcow2_file.h"
#include "imgmap.h"

/*
 * A layer for the thread that owns ring; fd is the image (not owned) and `fixed` its index in
 * the ring's fixed files. The synchronous entries work on fd directly. Data reads inside map
 * (imgmap.h; not owned, may be unmapped) are copied from it and complete inline. 0 or -errno.
 */
int qchan_new(int fd, const struct imgmap *map, struct io_uring *ring, unsigned fixed,
              struct qcow2_file **out);

/*
 * Puts the writes the layer holds back for joining into the ring. The owner calls it before
 * every submission that waits for completions (the held writes have none until then).
 */
void qchan_issue(struct qcow2_file *f);

/* Runs the completion of an io the layer queued (cqe user_data) with the cqe's result. */
void qchan_complete(uint64_t user_data, int res);

/* The io_uring opcodes the layer uses, for the ring's restriction list. */
extern const uint8_t qchan_uring_ops[];
extern const unsigned qchan_uring_nops;

#endif
