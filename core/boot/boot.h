#ifndef CELLVM_CORE_BOOT_H
#define CELLVM_CORE_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"

/*
 * Kernel loading. The core (not the controller) parses the kernel and initramfs, because they
 * are untrusted input; it reads them from fds the controller opened. Everything here writes
 * only guest memory and returns a description of the first vCPU's entry state; KVM is not
 * touched, so all of it is unit-testable with a malloc'd guest_mem.
 */

enum boot_mode {
    BOOT_LINUX64, /* bzImage, 64-bit boot protocol: long mode, RSI = zero page */
    BOOT_PVH,     /* ELF with XEN_ELFNOTE_PHYS32_ENTRY: 32-bit protected mode, EBX = start_info */
};

struct boot_entry {
    enum boot_mode mode;
    uint64_t rip;
    uint64_t rsi; /* LINUX64: GPA of boot_params */
    uint64_t rbx; /* PVH: GPA of hvm_start_info */
    uint64_t rsp;
};

struct boot_params_in {
    int kernel_fd;          /* read-only, owned by the caller */
    int initramfs_fd;       /* -1 if none; owned by the caller */
    const char *cmdline;    /* may be NULL */
    uint64_t acpi_rsdp_gpa; /* where acpi_build() put the RSDP */
};

/*
 * Detects the kernel format (bzImage or ELF with a PVH note), loads kernel, initramfs and
 * command line into guest memory, writes the e820 map / PVH memmap from the memory map of
 * platform.h, and fills *entry. On error returns -errno and writes a one-line reason into
 * err (e.g. "kernel: bzImage boot protocol 2.05 is older than 2.06").
 */
int boot_load(const struct guest_mem *gm, const struct boot_params_in *in, struct boot_entry *entry,
              char *err, size_t errlen);

#endif
