#ifndef CELLVM_CORE_BOOT_PVH_H
#define CELLVM_CORE_BOOT_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/boot/loader.h"

/* PVH boot of an ELF64 kernel (Xen's hvm_start_info ABI, version 1). */

/* True when the first n bytes of the kernel start with the ELF magic. */
bool boot_pvh_probe(const uint8_t *head, size_t n);

/* Loads an ELF64 x86_64 kernel with a XEN_ELFNOTE_PHYS32_ENTRY note; fills *entry for BOOT_PVH. */
int boot_pvh_load(const struct boot_ctx *c, const uint8_t *head, size_t n,
                  struct boot_entry *entry);

#endif
