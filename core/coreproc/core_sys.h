#ifndef CELLVM_CORE_CORE_SYS_H
#define CELLVM_CORE_CORE_SYS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Maps the guest-RAM memfd shared (device processes map the same fd), checking first that it
 * is a sealed memfd of exactly `size` bytes. thp issues MADV_HUGEPAGE; prefault populates.
 * Returns 0 and the mapping in *out, or -errno.
 */
int core_map_ram(int memfd, uint64_t size, bool thp, bool prefault, uint8_t **out);
void core_unmap_ram(uint8_t *host, uint64_t size);

#endif
