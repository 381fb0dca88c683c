/* --platform (Cloud Hypervisor v51.0's PlatformConfig): num_pci_segments and the SMBIOS keys
 * (serial_number, uuid, oem_strings) are implemented; iommu_segments, iommu_address_width, TDX
 * and SEV-SNP are parsed and refused unless at their defaults. */
#ifndef CELLVM_CORE_CLI_CLI_PLATFORM_H
#define CELLVM_CORE_CLI_CLI_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* 0 or -EINVAL/-ENOMEM with one line in err. On success `p`'s earlier strings are replaced;
 * on failure `p` is left as it was. cli_platform_free() releases them. */
int cli_platform_parse(const char *value, struct cli_platform *p, char *err, size_t errlen);
void cli_platform_free(struct cli_platform *p);

/* A UUID in the forms Cloud Hypervisor's parser takes: 32 hex digits, hyphenated 8-4-4-4-12,
 * in braces or after `urn:uuid:`; out gets its 16 bytes in the order the text reads. 0, or
 * -EINVAL with what is wrong in `why` (the character and its 1-based position, the length,
 * the group count or which group has the wrong length). */
int cli_uuid_parse(const char *s, uint8_t out[16], char *why, size_t whylen);

#endif
