/* io_uring rings for the queue threads, built the way the sandbox needs them: created disabled,
 * the files they may touch registered, their opcodes restricted, then enabled. Seccomp cannot
 * see io_uring operations, so the restriction list is what bounds them. */
#ifndef CELLVM_BLOCKD_URING_SYS_H
#define CELLVM_BLOCKD_URING_SYS_H

#include <liburing.h>
#include <stdint.h>

/*
 * Sets up ring with `entries` submission slots, registers files[0..nfiles) as fixed files 0..,
 * allows only ops[0..nops) with fixed files (links allowed), and enables it. Call from the
 * thread that will submit (the ring is single-issuer where the kernel supports it).
 * 0 or -errno; the ring is torn down on failure.
 */
int blk_uring_create(struct io_uring *ring, unsigned entries, const int *files, unsigned nfiles,
                     const uint8_t *ops, unsigned nops);

#endif
