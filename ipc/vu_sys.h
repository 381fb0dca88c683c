#ifndef CELLVM_IPC_VU_SYS_H
#define CELLVM_IPC_VU_SYS_H

#include <stdint.h>

/* The mmap wrappers of the frontend library (guest memory for test frontends, inflight). */

/* A memfd of len bytes mapped shared read/write at *out; *fd owned by the caller. 0/-errno. */
int vu_sys_memfd(const char *name, uint64_t len, int *fd, void **out);
void vu_sys_unmap(void *addr, uint64_t len);

#endif
