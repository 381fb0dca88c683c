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
/* A sealed-size memfd of len bytes, zeroed, mapped at *out. *fd owned by the caller. */
int devmem_sys_memfd(const char *name, uint64_t len, int *fd, void **out);

#endif
