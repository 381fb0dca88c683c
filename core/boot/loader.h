#ifndef CELLVM_CORE_BOOT_LOADER_H
#define CELLVM_CORE_BOOT_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/boot/boot.h"

/*
 * What the bzImage and PVH loaders share: the input files, the memory map of platform.h, the
 * command line and initramfs placement. Every loader validates and plans first and writes guest
 * memory only once nothing can fail any more except a read of a file that shrank meanwhile.
 */

#define BOOT_PAGE_SIZE 0x1000ull

/* Memory map entry types; e820 and hvm_memmap_table_entry use the same numbers. */
#define BOOT_MEM_RAM      1u
#define BOOT_MEM_RESERVED 2u

#define BOOT_MEMMAP_MAX   5

struct boot_mem_range {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

struct boot_ctx {
    const struct guest_mem *gm;
    const struct boot_params_in *in;
    uint64_t kernel_size;    /* bytes in kernel_fd */
    uint64_t initramfs_size; /* bytes in initramfs_fd; 0 without one */
    const char *cmdline;     /* never NULL ("" when none was given) */
    size_t cmdline_len;      /* without the NUL; CMDLINE_MAX when longer than the reserved room */
    char *err;
    size_t errlen;
};

/* Writes a one-line reason into c->err and returns ret (a -errno), for `return boot_fail(...)`. */
int boot_fail(const struct boot_ctx *c, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Reads exactly len bytes at off. -EIO with a reason when the file ends early (it shrank after
 * fstat), -errno when pread fails; `what` names the file in the reason ("kernel").
 */
int boot_pread(const struct boot_ctx *c, int fd, const char *what, void *buf, size_t len,
               uint64_t off);

/* Reads len bytes of a file straight into guest memory at gpa (a range already checked). */
int boot_pread_guest(const struct boot_ctx *c, int fd, const char *what, uint64_t gpa, uint64_t len,
                     uint64_t off);

/* Fills out[BOOT_MEMMAP_MAX] with the guest's memory map, sorted by address; returns the count. */
int boot_memmap(const struct guest_mem *gm, struct boot_mem_range *out);

/* -E2BIG with "cmdline: N bytes, kernel accepts at most M" when the command line exceeds max. */
int boot_check_cmdline(const struct boot_ctx *c, uint64_t max);

/* Writes the command line and its NUL at GPA_CMDLINE. */
int boot_write_cmdline(const struct boot_ctx *c);

/*
 * Picks the page-aligned initramfs address: the highest one whose end is at most limit and at
 * least 1 MiB, outside the kernel's [kstart, kend). -EFBIG with a reason when none exists.
 */
int boot_place_initramfs(const struct boot_ctx *c, uint64_t limit, uint64_t kstart, uint64_t kend,
                         uint64_t *gpa);

#endif
