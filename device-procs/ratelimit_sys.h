/* The syscalls of a --rate-limit-group member: checking and mapping the group's shared region
 * (fstat, F_GET_SEALS, mmap, munmap), apart so the device profiles can be read against them. */
#ifndef CELLVM_DEVICE_PROCS_RATELIMIT_SYS_H
#define CELLVM_DEVICE_PROCS_RATELIMIT_SYS_H

#include <stddef.h>

/* Maps fd (len bytes, shared, read-write, never executable) once it is a regular file of
 * exactly len bytes sealed against shrinking and growing. 0, or -errno with *why set. */
int rl_sys_map(int fd, size_t len, void **out, const char **why);
void rl_sys_unmap(void *p, size_t len);

#endif
