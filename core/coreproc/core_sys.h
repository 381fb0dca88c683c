#ifndef CELLVM_CORE_CORE_SYS_H
#define CELLVM_CORE_CORE_SYS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Maps one memory zone's fd shared (device processes map the same fd), checking first that it
 * is a regular file of at least `size` bytes and, when `sealed`, a memfd of exactly `size`
 * bytes sealed against shrink, grow and sealing. thp issues MADV_HUGEPAGE. Nothing is
 * populated yet (core_bind_ram first, then core_prefault_ram). 0 and the mapping, or -errno.
 */
int core_map_ram(int fd, uint64_t size, bool sealed, bool thp, uint8_t **out);
void core_unmap_ram(uint8_t *host, uint64_t size);
/* A virtio-pmem file (at least size bytes, a regular file) mapped shared, or private with
 * discard_writes so the guest's writes stay in this process. 0 or -errno. */
int core_map_pmem(int fd, uint64_t size, bool discard_writes, uint8_t **out);

/* mbind(MPOL_BIND) of a mapping to one host NUMA node. 0 or -errno. */
int core_bind_ram(uint8_t *host, uint64_t size, uint32_t node);

/* Populates every page of a mapping (writable), so the guest never faults on it. 0 or -errno. */
int core_prefault_ram(uint8_t *host, uint64_t size);

#endif
