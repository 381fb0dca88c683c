#ifndef CELLVM_CORE_BOOT_SMBIOS_H
#define CELLVM_CORE_BOOT_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

/*
 * SMBIOS 3.2 tables, as Cloud Hypervisor writes them (--platform serial_number, uuid,
 * oem_strings): type 0 (BIOS information), type 1 (system information with the serial number
 * and UUID), type 11 (OEM strings, only when there are some) and type 127 (end of table),
 * preceded by a 64-bit (SMBIOS 3.0) entry point. Without EFI, Linux finds the entry point by
 * scanning 0xF0000-0xFFFFF on 16-byte boundaries, so the caller places buf there; the region
 * must be reserved in the guest's memory map. Pure byte building: no KVM, unit-testable.
 */

#define SMBIOS_EP_SIZE         24  /* the 64-bit entry point; the table follows it */
#define SMBIOS_MAX_OEM_STRINGS 255 /* type 11 counts them in one byte */
#define SMBIOS_UUID_LEN        16

struct smbios_params {
    const char *serial_number; /* NULL: none (the field is 0, "Not Specified") */
    /* RFC 4122 byte order, as the text reads (00112233-4455-...); stored with its first three
     * fields little-endian, as SMBIOS 2.6 and later want. NULL: all zero ("not present"). */
    const uint8_t *uuid;
    const char *const *oem_strings;
    size_t noem_strings; /* 0..SMBIOS_MAX_OEM_STRINGS */
};

/*
 * Builds the entry point at buf[0] and the structure table right after it, for a guest that
 * sees buf at guest-physical address buf_gpa (16-byte aligned, as the scan wants). Returns the
 * bytes used, -EINVAL (a misaligned buf_gpa, too many OEM strings, an empty string: an empty
 * string would end a structure's string set early) or -ENOSPC (the strings do not fit in cap).
 */
long smbios_build(const struct smbios_params *p, uint8_t *buf, uint64_t buf_gpa, size_t cap);

#endif
