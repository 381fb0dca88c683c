/* See cli_platform.h. */
#include "cli_platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

/* Parse target: the keys cellvm refuses land here so their values can be freed. */
struct platform_raw {
    uint16_t num_pci_segments;
    struct optparse_u32_list iommu_segments;
    uint8_t iommu_address_width;
    char *serial_number, *uuid;
    struct optparse_str_list oem_strings;
    bool tdx, sev_snp;
};

static int conv_segments(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_u32_list_free(dst);
    return optparse_intlist(value, UINT16_MAX, dst, why, whylen);
}

static int conv_strings(const char *value, void *dst, char *why, size_t whylen)
{
    optparse_str_list_free(dst);
    return optparse_strlist(value, dst, why, whylen);
}

#define PLATFORM_KEY(n, t, m, sup, dflt_, c)                                            \
    {                                                                                   \
        .name = n, .type = t, OPTPARSE_FIELD(struct platform_raw, m), .supported = sup, \
        .dflt = dflt_, .conv = c                                                        \
    }

static const struct optparse_key platform_keys[] = {
    PLATFORM_KEY("num_pci_segments", OPTPARSE_U16, num_pci_segments, true, NULL, NULL),
    PLATFORM_KEY("iommu_segments", OPTPARSE_CUSTOM, iommu_segments, false, NULL, conv_segments),
    PLATFORM_KEY("iommu_address_width", OPTPARSE_U8, iommu_address_width, false, "64", NULL),
    PLATFORM_KEY("serial_number", OPTPARSE_STR, serial_number, false, NULL, NULL),
    PLATFORM_KEY("uuid", OPTPARSE_STR, uuid, false, NULL, NULL),
    PLATFORM_KEY("oem_strings", OPTPARSE_CUSTOM, oem_strings, false, NULL, conv_strings),
    PLATFORM_KEY("tdx", OPTPARSE_TOGGLE, tdx, false, "off", NULL),
    PLATFORM_KEY("sev_snp", OPTPARSE_TOGGLE, sev_snp, false, "off", NULL),
};

static const struct optparse_spec platform_spec = {
    .opt = "--platform",
    .keys = platform_keys,
    .nkeys = sizeof(platform_keys) / sizeof(platform_keys[0]),
};

int cli_platform_parse(const char *value, struct cli_platform *p, char *err, size_t errlen)
{
    struct platform_raw raw;
    struct optparse_seen seen;
    int r;

    memset(&raw, 0, sizeof(raw));
    raw.num_pci_segments = 1;
    raw.iommu_address_width = 64;
    r = optparse_parse(&platform_spec, value, &raw, &seen, err, errlen);
    if (!r && (raw.num_pci_segments == 0 || raw.num_pci_segments > CLI_MAX_PCI_SEGMENTS)) {
        cli_err(err, errlen,
                "--platform: invalid value for 'num_pci_segments': '%u' (Number of PCI segments "
                "(%u) not in range of 1 to %d)",
                raw.num_pci_segments, raw.num_pci_segments, CLI_MAX_PCI_SEGMENTS);
        r = -EINVAL;
    }
    if (!r) {
        p->present = true;
        p->num_pci_segments = raw.num_pci_segments;
    }
    optparse_u32_list_free(&raw.iommu_segments);
    optparse_str_list_free(&raw.oem_strings);
    free(raw.serial_number);
    free(raw.uuid);
    return r;
}
