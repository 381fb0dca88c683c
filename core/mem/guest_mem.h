#ifndef CELLVM_CORE_GUEST_MEM_H
#define CELLVM_CORE_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM as the core maps it: one shared mapping of the memfd, `size` bytes. Guest-physical
 * [0, min(size, 3 GiB)) is host[0..]; the rest appears at 4 GiB and up (platform.h).
 */
struct guest_mem {
    uint8_t *host; /* mapping of the whole memfd; owned by whoever mapped it */
    uint64_t size;
};

/* Bytes of RAM below the 3 GiB hole and above 4 GiB. */
uint64_t guest_mem_low_size(const struct guest_mem *gm);
uint64_t guest_mem_high_size(const struct guest_mem *gm);

/*
 * Host pointer for guest-physical [gpa, gpa + len) if the whole range is RAM in one region
 * (overflow-safe); NULL otherwise. len 0 is allowed and checks gpa alone.
 */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies in or out of guest memory; -EFAULT when the range is not wholly RAM. */
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len);
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);

#endif
