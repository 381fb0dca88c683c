#ifndef CELLVM_VFIOD_VFIOD_DMA_SYS_H
#define CELLVM_VFIOD_VFIOD_DMA_SYS_H

/* The mmap/munmap vfiod's DMA table needs (vfiod's seccomp profile allows shared mappings of
 * received fds, never executable ones). */

#include <stdint.h>

/* Maps [off, off + size) of fd shared with prot (PROT_READ/PROT_WRITE only). NULL on failure
 * with *err = -errno. */
void *vfiod_dma_sys_map(int fd, uint64_t off, uint64_t size, int prot, int *err);

void vfiod_dma_sys_unmap(void *p, uint64_t size);

#endif
