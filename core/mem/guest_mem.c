#include "core/mem/guest_mem.h"

#include <errno.h>
#include <string.h>

#include "core/platform.h"

#define GUEST_PAGE   0xfffull
#define GPA_MAX_BITS 52

void guest_mem_init(struct guest_mem *gm)
{
    memset(gm, 0, sizeof(*gm));
}

/* Where the next byte of RAM goes: after the last region, skipping the hole. */
static uint64_t next_gpa(const struct guest_mem *gm)
{
    const struct guest_mem_region *last;
    uint64_t end;

    if (!gm->nregions)
        return 0;
    last = &gm->regions[gm->nregions - 1];
    end = last->gpa + last->size;
    return end == GPA_MEM32_END ? GPA_RAM_ABOVE_4G : end;
}

static void add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, uint8_t *host, int fd,
                       uint64_t off)
{
    gm->regions[gm->nregions++] = (struct guest_mem_region){
        .gpa = gpa, .size = size, .host = host, .fd = fd, .fd_offset = off, .zone = gm->nzones
    };
}

int guest_mem_add_zone(struct guest_mem *gm, uint8_t *host, uint64_t size, int fd)
{
    uint64_t gpa = next_gpa(gm), low = 0;

    if (!host || size == 0 || (size & GUEST_PAGE) || gm->nhotplug ||
        (gm->nregions &&
         (gm->regions[gm->nregions - 1].vmem || gm->regions[gm->nregions - 1].pmem)))
        return -EINVAL;
    if (gm->nzones >= GUEST_MEM_MAX_ZONES || gm->nregions + 2 > GUEST_MEM_MAX_REGIONS)
        return -ENOSPC;
    if (gpa < GPA_MEM32_END)
        low = size < GPA_MEM32_END - gpa ? size : GPA_MEM32_END - gpa;
    /* The part above 4 GiB must end below 2^52 (gpa + size cannot then wrap either). */
    if (size - low > (1ull << GPA_MAX_BITS) - (low ? GPA_RAM_ABOVE_4G : gpa))
        return -ENOSPC;
    if (low)
        add_region(gm, gpa, low, host, fd, 0);
    if (size > low)
        add_region(gm, low ? GPA_RAM_ABOVE_4G : gpa, size - low, host + low, fd, low);
    gm->size += size;
    return (int)gm->nzones++;
}

static bool overlaps(const struct guest_mem *gm, uint64_t gpa, uint64_t size)
{
    for (uint32_t i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];

        if (gpa < r->gpa + r->size && r->gpa < gpa + size)
            return true;
    }
    return false;
}

int guest_mem_add_at(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size, int fd)
{
    const uint64_t limit = 1ull << GPA_MAX_BITS;

    if (!host || size == 0 || (size & GUEST_PAGE) || (gpa & GUEST_PAGE))
        return -EINVAL;
    if (gpa < guest_mem_end(gm) || (gpa < GPA_RAM_ABOVE_4G && gpa + size > GPA_MEM32_END))
        return -EINVAL; /* gpa + size cannot wrap below 4 GiB */
    if (gm->nhotplug >= GUEST_MEM_MAX_HOTPLUG || gm->nregions >= GUEST_MEM_MAX_REGIONS ||
        gpa >= limit || size > limit - gpa)
        return -ENOSPC;
    if (overlaps(gm, gpa, size)) /* a detachable pmem region placed above */
        return -EINVAL;
    gm->regions[gm->nregions] = (struct guest_mem_region){
        .gpa = gpa, .size = size, .host = host, .fd = fd, .zone = GUEST_MEM_HOTPLUG_ZONE
    };
    gm->nhotplug++;
    gm->size += size;
    return (int)gm->nregions++;
}

int guest_mem_add_vmem(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size, int fd,
                       uint32_t zone)
{
    const uint64_t limit = 1ull << GPA_MAX_BITS;

    if (!host || size == 0 || (size & GUEST_PAGE) || (gpa & GUEST_PAGE) || gm->nhotplug ||
        gpa < guest_mem_end(gm) || gpa < GPA_RAM_ABOVE_4G)
        return -EINVAL;
    if (gm->nregions >= GUEST_MEM_MAX_REGIONS || gpa >= limit || size > limit - gpa)
        return -ENOSPC;
    gm->regions[gm->nregions] = (struct guest_mem_region){
        .gpa = gpa, .size = size, .host = host, .fd = fd, .zone = zone, .vmem = true
    };
    return (int)gm->nregions++;
}

int guest_mem_add_pmem(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size, int fd,
                       bool core_only)
{
    int r = guest_mem_add_vmem(gm, gpa, host, size, fd, GUEST_MEM_HOTPLUG_ZONE);

    if (r >= 0) {
        gm->regions[r].vmem = false;
        gm->regions[r].pmem = true;
        gm->regions[r].core_only = core_only;
    }
    return r;
}

int guest_mem_add_detachable(struct guest_mem *gm, uint64_t gpa, uint8_t *host, uint64_t size,
                             int fd, bool core_only)
{
    const uint64_t limit = 1ull << GPA_MAX_BITS;
    uint32_t npmem = 0;

    if (!host || size == 0 || (size & GUEST_PAGE) || (gpa & GUEST_PAGE) || gpa < GPA_RAM_ABOVE_4G)
        return -EINVAL;
    if (gpa >= limit || size > limit - gpa)
        return -ENOSPC;
    if (overlaps(gm, gpa, size))
        return -EINVAL;
    for (uint32_t i = 0; i < gm->nregions; i++)
        npmem += gm->regions[i].pmem;
    if (npmem >= GUEST_MEM_MAX_PMEM || gm->nregions >= GUEST_MEM_MAX_REGIONS)
        return -ENOSPC;
    gm->regions[gm->nregions] = (struct guest_mem_region){ .gpa = gpa,
                                                           .size = size,
                                                           .host = host,
                                                           .fd = fd,
                                                           .zone = GUEST_MEM_HOTPLUG_ZONE,
                                                           .pmem = true,
                                                           .core_only = core_only,
                                                           .detachable = true };
    return (int)gm->nregions++;
}

int guest_mem_remove(struct guest_mem *gm, uint32_t idx)
{
    if (idx >= gm->nregions || !gm->regions[idx].pmem)
        return -EINVAL;
    memmove(&gm->regions[idx], &gm->regions[idx + 1],
            (gm->nregions - idx - 1) * sizeof(gm->regions[0]));
    gm->nregions--;
    memset(&gm->regions[gm->nregions], 0, sizeof(gm->regions[0]));
    return 0;
}

void guest_mem_drop_last(struct guest_mem *gm)
{
    if (!gm->nhotplug || !gm->nregions || gm->regions[gm->nregions - 1].detachable)
        return;
    gm->nregions--;
    gm->nhotplug--;
    gm->size -= gm->regions[gm->nregions].size;
    memset(&gm->regions[gm->nregions], 0, sizeof(gm->regions[0]));
}

uint64_t guest_mem_end(const struct guest_mem *gm)
{
    uint64_t end = 0;

    for (uint32_t i = 0; i < gm->nregions; i++) {
        const struct guest_mem_region *r = &gm->regions[i];

        if (!r->detachable && r->gpa + r->size > end)
            end = r->gpa + r->size;
    }
    return end;
}

uint64_t guest_mem_low_size(const struct guest_mem *gm)
{
    uint64_t n = 0;

    for (uint32_t i = 0; i < gm->nregions; i++)
        if (gm->regions[i].gpa < GPA_MEM32_END)
            n += gm->regions[i].size;
    return n;
}

uint64_t guest_mem_high_size(const struct guest_mem *gm)
{
    return gm->size - guest_mem_low_size(gm);
}

const struct guest_mem_region *guest_mem_region_of(const struct guest_mem *gm, uint64_t gpa)
{
    for (uint32_t i = 0; i < gm->nregions && i < GUEST_MEM_MAX_REGIONS; i++) {
        const struct guest_mem_region *r = &gm->regions[i];

        if (gpa >= r->gpa && gpa - r->gpa < r->size)
            return r;
    }
    return NULL;
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    const struct guest_mem_region *r = guest_mem_region_of(gm, gpa);

    if (!r || len > r->size - (gpa - r->gpa))
        return NULL;
    return r->host + (gpa - r->gpa);
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *src, size_t len)
{
    void *p = guest_mem_ptr(gm, gpa, len);

    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
    void *p = guest_mem_ptr(gm, gpa, len);

    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}
