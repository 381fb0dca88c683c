#include "core/mem/guest_mem.h"

#include <errno.h>
#include <string.h>

#include "core/platform.h"

uint64_t guest_mem_low_size(const struct guest_mem *gm)
{
    return gm->size < GPA_MEM32_END ? gm->size : GPA_MEM32_END;
}

uint64_t guest_mem_high_size(const struct guest_mem *gm)
{
    return gm->size - guest_mem_low_size(gm);
}

void *guest_mem_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    uint64_t low = guest_mem_low_size(gm), high = guest_mem_high_size(gm);

    if (gpa < low) {
        if (len > low - gpa)
            return NULL;
        return gm->host + gpa;
    }
    if (gpa >= GPA_RAM_ABOVE_4G && gpa - GPA_RAM_ABOVE_4G < high) {
        uint64_t off = gpa - GPA_RAM_ABOVE_4G;

        if (len > high - off)
            return NULL;
        return gm->host + low + off;
    }
    return NULL;
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
