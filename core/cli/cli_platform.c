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

/* `[]` is no strings (Cloud Hypervisor would read one empty string, which ends the type 11
 * structure's string set early). */
static int conv_strings(const char *value, void *dst, char *why, size_t whylen)
{
    size_t n = strspn(value, " []");

    optparse_str_list_free(dst);
    if (!value[n] && strchr(value, '[')) {
        memset(dst, 0, sizeof(struct optparse_str_list));
        return 0;
    }
    return optparse_strlist(value, dst, why, whylen);
}

#define PLATFORM_KEY(n, t, m, sup, dflt_, c)                                            \
    {                                                                                   \
        .name = n, .type = t, OPTPARSE_FIELD(struct platform_raw, m), .supported = sup, \
        .dflt = dflt_, .conv = c                                                        \
    }

static const struct optparse_key platform_keys[] = {
    PLATFORM_KEY("num_pci_segments", OPTPARSE_U16, num_pci_segments, true, NULL, NULL),
    PLATFORM_KEY("iommu_segments", OPTPARSE_CUSTOM, iommu_segments, true, NULL, conv_segments),
    PLATFORM_KEY("iommu_address_width", OPTPARSE_U8, iommu_address_width, true, "64", NULL),
    PLATFORM_KEY("serial_number", OPTPARSE_STR, serial_number, true, NULL, NULL),
    PLATFORM_KEY("uuid", OPTPARSE_STR, uuid, true, NULL, NULL),
    PLATFORM_KEY("oem_strings", OPTPARSE_CUSTOM, oem_strings, true, NULL, conv_strings),
    PLATFORM_KEY("tdx", OPTPARSE_TOGGLE, tdx, false, "off", NULL),
    PLATFORM_KEY("sev_snp", OPTPARSE_TOGGLE, sev_snp, false, "off", NULL),
};

static const struct optparse_spec platform_spec = {
    .opt = "--platform",
    .keys = platform_keys,
    .nkeys = sizeof(platform_keys) / sizeof(platform_keys[0]),
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The forms Cloud Hypervisor's uuid crate takes, and its wording for what is wrong. */
int cli_uuid_parse(const char *s, uint8_t out[16], char *why, size_t whylen)
{
    static const size_t group_len[5] = { 8, 4, 4, 4, 12 };
    size_t len = strlen(s), start = 0, end = len, glen[5] = { 0 };
    size_t ngroups = 1, digits = 0;
    uint8_t v[16] = { 0 };

    if (len >= 9 && !strncmp(s, "urn:uuid:", 9)) {
        start = 9;
    } else if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
        start = 1;
        end = len - 1;
    }
    for (size_t i = start; i < end; i++) {
        int h = hexval(s[i]);

        if (s[i] == '-') {
            ngroups++;
            continue;
        }
        if (h < 0) {
            unsigned char c = (unsigned char)s[i];

            if (c >= 0x20 && c < 0x7f)
                cli_err(why, whylen,
                        "invalid character: expected an optional prefix of `urn:uuid:` followed "
                        "by [0-9a-fA-F-], found `%c` at %zu",
                        c, i + 1);
            else
                cli_err(why, whylen,
                        "invalid character: expected an optional prefix of `urn:uuid:` followed "
                        "by [0-9a-fA-F-], found byte 0x%02x at %zu",
                        c, i + 1);
            return -EINVAL;
        }
        if (ngroups <= 5)
            glen[ngroups - 1]++;
        if (digits < 32)
            v[digits / 2] |= (uint8_t)(h << (digits % 2 ? 0 : 4));
        digits++;
    }
    if (ngroups == 1 && digits != 32) {
        cli_err(why, whylen, "invalid length: expected length 32 for simple format, found %zu",
                end - start);
        return -EINVAL;
    }
    if (ngroups != 1 && ngroups != 5) {
        cli_err(why, whylen, "invalid group count: expected 5, found %zu", ngroups);
        return -EINVAL;
    }
    for (size_t g = 0; ngroups == 5 && g < 5; g++)
        if (glen[g] != group_len[g]) {
            cli_err(why, whylen, "invalid group length in group %zu of 5: expected %zu, found %zu",
                    g + 1, group_len[g], glen[g]);
            return -EINVAL;
        }
    memcpy(out, v, sizeof(v));
    return 0;
}

/* An SMBIOS string: it ends at a NUL and an empty one ends the string set, so non-empty;
 * printable ASCII, as the core's configuration check wants it. */
static int smbios_string_ok(const char *key, const char *s, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];

    if (!*s) {
        cli_err(err, errlen, "--platform: invalid value for '%s': SMBIOS strings cannot be empty",
                key);
        return -EINVAL;
    }
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
            optparse_show(s, shown, sizeof(shown));
            cli_err(err, errlen,
                    "--platform: invalid value for '%s': '%s' (SMBIOS strings here are printable "
                    "ASCII; byte 0x%02x at %zu is not)",
                    key, shown, (unsigned char)*c, (size_t)(c - s) + 1);
            return -EINVAL;
        }
    return 0;
}

/* Cloud Hypervisor's checks: every IOMMU segment exists, the width is at most 64 bits. cellvm
 * also refuses a width below 12 bits, which leaves no room for one 4 KiB page, and segment 0,
 * where the virtio-iommu itself and the devices the core serves (watchdog, pmem, virtio-mem)
 * sit: a device on segment 0 goes behind the IOMMU with its own iommu=on. */
static int check_iommu(const struct platform_raw *raw, char *err, size_t errlen)
{
    for (size_t i = 0; i < raw->iommu_segments.n; i++) {
        if (raw->iommu_segments.v[i] == 0) {
            cli_err(err, errlen,
                    "--platform: invalid value for 'iommu_segments': segment 0 holds the "
                    "virtio-iommu itself and cannot be an IOMMU segment (use iommu=on on the "
                    "devices of segment 0)");
            return -EINVAL;
        }
        if (raw->iommu_segments.v[i] >= raw->num_pci_segments) {
            cli_err(err, errlen,
                    "--platform: invalid value for 'iommu_segments': Invalid PCI segment id: %u "
                    "(num_pci_segments=%u)",
                    raw->iommu_segments.v[i], raw->num_pci_segments);
            return -EINVAL;
        }
    }
    if (raw->iommu_address_width > 64 || raw->iommu_address_width < 12) {
        cli_err(err, errlen,
                "--platform: invalid value for 'iommu_address_width': IOMMU address width in bits "
                "(%u) should be between 12 and 64",
                raw->iommu_address_width);
        return -EINVAL;
    }
    return 0;
}

static int check_smbios(struct platform_raw *raw, uint8_t uuid[16], char *err, size_t errlen)
{
    char why[CLI_ERR_LEN / 2], shown[OPTPARSE_MAX_SHOWN + 8];
    size_t total = 0;
    int r;

    if (raw->serial_number) {
        r = smbios_string_ok("serial_number", raw->serial_number, err, errlen);
        if (r)
            return r;
        total += strlen(raw->serial_number) + 1;
    }
    if (raw->uuid && cli_uuid_parse(raw->uuid, uuid, why, sizeof(why))) {
        optparse_show(raw->uuid, shown, sizeof(shown));
        cli_err(err, errlen, "--platform: invalid value for 'uuid': '%s' (%s)", shown, why);
        return -EINVAL;
    }
    if (raw->oem_strings.n > CLI_MAX_SMBIOS_STRINGS) {
        cli_err(err, errlen,
                "--platform: invalid value for 'oem_strings': %zu strings, SMBIOS holds at most "
                "%d",
                raw->oem_strings.n, CLI_MAX_SMBIOS_STRINGS);
        return -EINVAL;
    }
    for (size_t i = 0; i < raw->oem_strings.n; i++) {
        r = smbios_string_ok("oem_strings", raw->oem_strings.v[i], err, errlen);
        if (r)
            return r;
        total += strlen(raw->oem_strings.v[i]) + 1;
    }
    if (total > CLI_MAX_SMBIOS_TEXT) {
        cli_err(err, errlen,
                "--platform: serial_number and oem_strings take %zu bytes (one NUL each), the "
                "SMBIOS area holds %d",
                total, CLI_MAX_SMBIOS_TEXT);
        return -EINVAL;
    }
    return 0;
}

void cli_platform_free(struct cli_platform *p)
{
    free(p->serial_number);
    free(p->uuid);
    for (size_t i = 0; i < p->noem_strings; i++)
        free(p->oem_strings[i]);
    free(p->oem_strings);
    free(p->iommu_segments);
    p->iommu_segments = NULL;
    p->niommu_segments = 0;
    p->serial_number = p->uuid = NULL;
    p->oem_strings = NULL;
    p->noem_strings = 0;
}

int cli_platform_parse(const char *value, struct cli_platform *p, char *err, size_t errlen)
{
    struct platform_raw raw;
    struct optparse_seen seen;
    uint8_t uuid[16] = { 0 };
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
    if (!r)
        r = check_iommu(&raw, err, errlen);
    if (!r)
        r = check_smbios(&raw, uuid, err, errlen);
    if (!r) {
        cli_platform_free(p);
        p->present = true;
        p->num_pci_segments = raw.num_pci_segments;
        p->serial_number = raw.serial_number;
        p->uuid = raw.uuid;
        memcpy(p->uuid_bytes, uuid, sizeof(uuid));
        p->iommu_segments = raw.iommu_segments.v;
        p->niommu_segments = raw.iommu_segments.n;
        p->iommu_address_width = raw.iommu_address_width;
        raw.iommu_segments.v = NULL;
        raw.iommu_segments.n = 0;
        p->oem_strings = raw.oem_strings.v;
        p->noem_strings = raw.oem_strings.n;
        raw.serial_number = raw.uuid = NULL;
        raw.oem_strings.v = NULL;
        raw.oem_strings.n = 0;
    }
    optparse_u32_list_free(&raw.iommu_segments);
    optparse_str_list_free(&raw.oem_strings);
    free(raw.serial_number);
    free(raw.uuid);
    return r;
}
