/* Image locking that QEMU understands: open file description locks on single bytes, one byte
 * per permission held (100 + bit) and one per permission not shared (200 + bit), the scheme of
 * QEMU's block/file-posix.c. cellvm and QEMU each refuse an image the other is writing. */
#ifndef CELLVM_BLOCKD_IMGLOCK_H
#define CELLVM_BLOCKD_IMGLOCK_H

#include <stdbool.h>

/*
 * Takes the locks for a reader (write == false: consistent read; others may read but not
 * write) or a writer (read, write and resize; others may only read). The locks live on fd's
 * open file description, so they last while any dup of it is open. Returns 0, -EBUSY when
 * another description holds a conflicting lock (ours are released again), or -errno.
 */
int imglock_acquire(int fd, bool write);

/* Drops every lock byte this scheme uses on fd. 0 or -errno. */
int imglock_release(int fd);

#endif
