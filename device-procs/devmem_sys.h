#ifndef CELLVM_DEVICE_PROCS_DEVMEM_SYS_H
#define CELLVM_DEVICE_PROCS_DEVMEM_SYS_H

#include <stdint.h>

/*
 * The mmap wrappers of the device runtime, so the sandbox profile can be read against them:
 * guest memory and inflight buffers are mapped shared, read/write, never executable.
 */

/* Maps len bytes of fd at offset; *out gets the mapping. 0 or -errno. */
int devmem_sys_map(int fd, uint64_t offset, uint64_t len, void **out);
void devmem_sys_unmap(void *addr, uint64_t len);
/*
 * Checks that fd can back [offset, offset + len) for as long as it is mapped: the range does not
 * wrap, a regular file (memfds included) is at least that long, and a memfd that can be sealed
 * is sealed against shrinking, since a file that shrinks under a mapping turns the next access
 * into SIGBUS (files that cannot be sealed are left to devmem_guard.h). 0, or -EINVAL with *why
 * saying what is wrong, or -errno from fstat.
 */
int devmem_sys_check_fd(int fd, uint64_t offset, uint64_t len, const char **why);
/* Maps private anonymous zero pages over [addr, addr + len) in place (MAP_FIXED). Async-signal-
   safe: devmem_guard.c calls it from its SIGBUS handler. 0 or -errno. */
int devmem_sys_zero_over(void *addr, uint64_t len);
/* A sealed-size memfd of len bytes, zeroed, mapped at *out. *fd owned by the caller. */
int devmem_sys_memfd(const char *name, uint64_t len, int *fd, void **out);

#endif
