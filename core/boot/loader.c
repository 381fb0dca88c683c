#include "core/boot/loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/platform.h"

int boot_fail(const struct boot_ctx *c, int ret, const char *fmt, ...)
{
    va_list ap;

    if (c->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return ret;
}

int boot_pread(const struct boot_ctx *c, int fd, const char *what, void *buf, size_t len,
               uint64_t off)
{
    uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        /* pread takes an off_t; every caller's range was checked against the file size. */
        ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return boot_fail(c, -errno, "%s: read at offset %llu: %s", what,
                             (unsigned long long)(off + done), strerror(errno));
        if (n == 0)
            return boot_fail(c, -EIO, "%s: file ends at offset %llu, expected %zu more bytes", what,
                             (unsigned long long)(off + done), len - done);
        done += (size_t)n;
    }
    return 0;
}

int boot_pread_guest(const struct boot_ctx *c, int fd, const char *what, uint64_t gpa, uint64_t len,
                     uint64_t off)
{
    void *dst = guest_mem_ptr(c->gm, gpa, len);

    if (!dst || len > SIZE_MAX)
        return boot_fail(c, -EFAULT, "%s: 0x%llx+0x%llx is not guest RAM", what,
                         (unsigned long long)gpa, (unsigned long long)len);
    return boot_pread(c, fd, what, dst, (size_t)len, off);
}

static void boot_memmap_add(struct boot_mem_range *out, int *n, uint64_t addr, uint64_t size,
                            uint32_t type)
{
    out[*n] = (struct boot_mem_range){ .addr = addr, .size = size, .type = type };
    (*n)++;
}

int boot_memmap(const struct guest_mem *gm, struct boot_mem_range *out)
{
    uint64_t low = guest_mem_low_size(gm), high = guest_mem_high_size(gm);
    int n = 0;

    boot_memmap_add(out, &n, 0, low < GPA_LOW_RAM_END ? low : GPA_LOW_RAM_END, BOOT_MEM_RAM);
    boot_memmap_add(out, &n, GPA_BIOS_START, GPA_HIGH_RAM_START - GPA_BIOS_START,
                    BOOT_MEM_RESERVED);
    if (low > GPA_HIGH_RAM_START)
        boot_memmap_add(out, &n, GPA_HIGH_RAM_START, low - GPA_HIGH_RAM_START, BOOT_MEM_RAM);
    /* Linux uses ECAM only where the firmware marks it reserved (e820 or ACPI _CRS). */
    boot_memmap_add(out, &n, GPA_ECAM_START, GPA_ECAM_SIZE, BOOT_MEM_RESERVED);
    if (high > 0)
        boot_memmap_add(out, &n, GPA_RAM_ABOVE_4G, high, BOOT_MEM_RAM);
    return n;
}

int boot_check_cmdline(const struct boot_ctx *c, uint64_t max)
{
    if (max > CMDLINE_MAX - 1)
        max = CMDLINE_MAX - 1;
    if (c->cmdline_len > max)
        return boot_fail(c, -E2BIG, "cmdline: %zu bytes, kernel accepts at most %llu",
                         c->cmdline_len, (unsigned long long)max);
    return 0;
}

int boot_write_cmdline(const struct boot_ctx *c)
{
    int ret = guest_mem_write(c->gm, GPA_CMDLINE, c->cmdline, c->cmdline_len + 1);

    if (ret < 0)
        return boot_fail(c, ret, "cmdline: GPA 0x%llx is not guest RAM",
                         (unsigned long long)GPA_CMDLINE);
    return 0;
}

/* The highest page-aligned spot for the initramfs inside [lo, hi) that misses the kernel. */
static bool fit_below(uint64_t size, uint64_t lo, uint64_t hi, uint64_t kstart, uint64_t kend,
                      uint64_t *gpa)
{
    uint64_t addr;

    if (size > hi || hi - size < lo)
        return false;
    addr = (hi - size) & ~(BOOT_PAGE_SIZE - 1);
    if (addr >= lo && (addr >= kend || (addr < kstart && size <= kstart - addr))) {
        *gpa = addr;
        return true;
    }
    /* The top overlaps the kernel: the next candidate ends where it starts. */
    if (kstart > lo && kstart <= hi && size <= kstart) {
        addr = (kstart - size) & ~(BOOT_PAGE_SIZE - 1);
        if (addr >= lo) {
            *gpa = addr;
            return true;
        }
    }
    return false;
}

int boot_place_initramfs(const struct boot_ctx *c, uint64_t limit, uint64_t kstart, uint64_t kend,
                         uint64_t *gpa)
{
    const struct guest_mem *gm = c->gm;
    uint64_t size = c->initramfs_size;

    /* Highest first, one region at a time: the loader copies into one host range. */
    for (uint32_t i = gm->nregions; i-- > 0;) {
        const struct guest_mem_region *r = &gm->regions[i];
        uint64_t lo = r->gpa > GPA_HIGH_RAM_START ? r->gpa : GPA_HIGH_RAM_START;
        uint64_t hi = r->gpa + r->size < limit ? r->gpa + r->size : limit;

        if (r->gpa >= GPA_MEM32_END || hi <= lo)
            continue;
        if (fit_below(size, lo, hi, kstart, kend, gpa))
            return 0;
    }
    return boot_fail(c, -EFBIG, "initramfs: %llu bytes do not fit in guest memory",
                     (unsigned long long)size);
}
