/* --platform (Cloud Hypervisor v51.0's PlatformConfig): num_pci_segments is implemented; the
 * SMBIOS strings, IOMMU segments, TDX and SEV-SNP keys are parsed and refused when set. */
#ifndef CELLVM_CORE_CLI_CLI_PLATFORM_H
#define CELLVM_CORE_CLI_CLI_PLATFORM_H

#include <stddef.h>

#include "cli.h"

/* 0 or -EINVAL/-ENOMEM with one line in err; `p` holds nothing to free either way. */
int cli_platform_parse(const char *value, struct cli_platform *p, char *err, size_t errlen);

#endif
