#ifndef CELLVM_BALLOOND_BALLOON_SYS_H
#define CELLVM_BALLOOND_BALLOON_SYS_H

#include <stdint.h>

/*
 * The one syscall with a side effect on guest memory, kept apart so the seccomp profile can be
 * read against it: fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) on the guest memory
 * file. The pages go from the file (and so from every process that maps it: the core, other
 * device processes) and read back as zeroes. 0 or -errno.
 */
int balloon_sys_punch(int fd, uint64_t off, uint64_t len);

#endif
