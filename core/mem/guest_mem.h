#ifndef CELLVM_CORE_GUEST_MEM_H
#define CELLVM_CORE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM as the core maps it: one shared mapping per memory zone (without --memory-zone,
 * one zone holds all of it). Zones are laid out in order from guest-physical 0: RAM fills
 * [0, 3 GiB), then continues at 4 GiB (platform.h), so a zone that crosses 3 GiB becomes two
 * regions. Regions are sorted by gpa and never overlap; adjacent regions of different zones
 * are not contiguous on the host.
 */

/*
 * Zones a guest may have, and the regions they can make (one zone is split by the hole), plus
 * the regions ACPI memory hotplug adds (Cloud Hypervisor's HOTPLUG_COUNT: 8 DIMM slots).
 */
#define GUEST_MEM_MAX_ZONES   8
#define GUEST_MEM_MAX_HOTPLUG 8
#define GUEST_MEM_MAX_PMEM    8 /* virtio-pmem files (cellvm's limit) */
#define GUEST_MEM_MAX_REGIONS (GUEST_MEM_MAX_ZONES + 1 + GUEST_MEM_MAX_HOTPLUG + GUEST_MEM_MAX_PMEM)
/* The zone index of hot-added regions: they belong to no --memory-zone. */
#define GUEST_MEM_HOTPLUG_ZONE UINT32_MAX

struct guest_mem_region {
    uint64_t gpa, size;
    uint8_t *host;      /* inside the zone's mapping; owned by whoever mapped it */
    int fd;             /* the zone's fd (-1 if none), borrowed */
    uint64_t fd_offset; /* of host within the fd */
    uint32_t zone;      /* index in the order zones were added */
    bool vmem;          /* a virtio-mem region: not RAM the guest boots with */
    bool pmem;          /* a virtio-pmem file: not RAM either */
    bool core_only;     /* a private mapping (pmem discard_writes): no other process maps it */
    bool detachable;    /* a hot-added pmem file (vm.add-pmem): placed apart, may leave again */
};

struct guest_mem {
    struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
    uint32_t nregions;
    uint32_t nzones;
    uint32_t nhotplug; /* regions added by guest_mem_add_at (the last ones) */
    uint64_t size;     /* bytes of RAM in all regions but the virtio-mem ones */
    /* A live migration's dirty log (ipc/dirty_log.h), borrowed, NULL when none: the core's own
     * writes into guest memory (the queues it serves) mark it (core/vm/vm_dirty.h). Set and
     * cleared with atomic stores by the migration, dirty_log_size set before the pointer. */
    uint8_t *dirty_log;
    uint64_t dirty_log_size;
};

/* An empty layout; zones are then added in guest-physical order. */
void guest_mem_init(struct guest_mem *gm);

/*
 * Appends a zone of `size` bytes (a multiple of 4 KiB) mapped at host, backed by fd (or -1),
 * at the next free guest-physical address. Returns the zone index, or -ENOSPC (too many zones,
 * or RAM would pass 2^52) or -EINVAL (size 0 or unaligned, host NULL).
 */
int guest_mem_add_zone(struct guest_mem *gm, uint8_t *host, uint64_t size, int fd);

/*
 * Appends a hot-added region of `size` bytes (a multiple of 4 KiB) at guest-physical gpa (4 KiB
 * aligned), mapped at host and backed by fd (or -1); it belongs to GUEST_MEM_HOTPLUG_ZONE.
 * Regions stay sorted: gpa must be at or above the end of the last region, and the region may
 * not touch the hole [3 GiB, 4 GiB) nor end past 2^52. Returns the new region's index (its KVM
 * slot), or -EINVAL (size 0, unaligned, host NULL, below the last region or in the hole),
 * -ENOSPC (GUEST_MEM_MAX_HOTPLUG regions added already, or past 2^52).
 */
int guest_mem_add_at(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size, int fd);
/*
 * Appends the region of a virtio-mem device of zone `zone`: size bytes at gpa (both multiples
 * of 4 KiB, gpa at or above the end of the last region and at or above 4 GiB), mapped at host,
 * backed by fd. Device processes and KVM see it like RAM; the boot memory map and `size` do
 * not count it (the guest plugs its blocks through the device). Returns the region's index, or
 * -EINVAL or -ENOSPC as guest_mem_add_at.
 */
int guest_mem_add_vmem(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size, int fd,
                       uint32_t zone);
/*
 * Appends the region of a virtio-pmem device: the file mapped at host (size bytes), at gpa, as
 * guest_mem_add_vmem places it; core_only when the mapping is private. Not RAM: the memory
 * map and `size` do not count it. The region's index, or -EINVAL or -ENOSPC.
 */
int guest_mem_add_pmem(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size, int fd,
                       bool core_only);
/*
 * vm.add-pmem: appends a detachable pmem region (see guest_mem_add_pmem) at gpa, which may lie
 * anywhere at or above 4 GiB where no region is (the caller places it above the PCI windows),
 * so regions are then no longer sorted by gpa. Returns its index, or -EINVAL (unaligned, size
 * 0, host NULL, below 4 GiB or overlapping a region), -ENOSPC (GUEST_MEM_MAX_PMEM pmem regions
 * already, no room in the table, or past 2^52).
 */
int guest_mem_add_detachable(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size,
                             int fd, bool core_only);
/* Takes region idx out if it is a pmem region (boot or detachable); the ones after it move
 * down one index, so their KVM slots must follow (the caller's job). 0 or -EINVAL. */
int guest_mem_remove(struct guest_mem *gm, uint32_t idx);
/* Drops the last region if it was hot-added (the caller unmaps it): a failed hot-add. */
void guest_mem_drop_last(struct guest_mem *gm);
/* First guest-physical address past every region but the detachable ones (0 when empty). */
uint64_t guest_mem_end(const struct guest_mem *gm);

/* Bytes of RAM below the 3 GiB hole and above 4 GiB. */
uint64_t guest_mem_low_size(const struct guest_mem *gm);
uint64_t guest_mem_high_size(const struct guest_mem *gm);

/*
 * Host pointer for guest-physical [gpa, gpa + len) if the whole range is RAM in one region
 * (overflow-safe); NULL otherwise. len 0 is allowed and checks gpa alone.
 */
void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* The region holding gpa, or NULL. */
const struct guest_mem_region *guest_mem_region_of(const struct guest_mem *gm, uint64_t gpa);

/* Copies in or out of guest memory; -EFAULT when the range is not wholly RAM in one region. */
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len);
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);

/*
 * [*a, *b): the first stretch of [p, end) that may hold data, from SEEK_DATA and SEEK_HOLE on
 * fd (offset base + p): everything before *a reads as zeros without being read, which on a
 * memfd would allocate it. Page aligned (p and end must be); *a == end when no data is left.
 * Without an answer (fd -1, a file system that cannot tell) the whole of [p, end) is data.
 */
void guest_mem_fd_data(int fd, uint64_t base, uint64_t p, uint64_t end, uint64_t *a, uint64_t *b);

/* guest_mem_fd_data for bytes [p, size) of region g (its fd; a private mapping is all data). */
void guest_mem_next_data(const struct guest_mem_region *g, uint64_t p, uint64_t *a, uint64_t *b);

#endif
