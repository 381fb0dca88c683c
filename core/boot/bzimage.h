#ifndef CELLVM_CORE_BOOT_BZIMAGE_H
#define CELLVM_CORE_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/boot/loader.h"

/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit entry. */

/* True when the first n bytes of the kernel carry the boot sector and "HdrS" magics. */
bool boot_bzimage_probe(const uint8_t *head, size_t n);

/* Loads a bzImage whose first n bytes are head; fills *entry for BOOT_LINUX64. */
int boot_bzimage_load(const struct boot_ctx *c, const uint8_t *head, size_t n,
                      struct boot_entry *entry);

#endif
