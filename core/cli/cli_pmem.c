#include "core/cli/cli_pmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devspec/devspec_util.h"
#include "devspec/optparse.h"

#define PMEM_KEY(n, t, m, sup, dflt_)                                                             \
    {                                                                                             \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_pmem, m), .supported = sup, .dflt = dflt_ \
    }

static const struct optparse_key pmem_keys[] = {
    PMEM_KEY("file", OPTPARSE_STR, file, true, NULL),
    PMEM_KEY("size", OPTPARSE_SIZE, size, true, NULL),
    PMEM_KEY("iommu", OPTPARSE_TOGGLE, iommu, false, "off"),
    PMEM_KEY("discard_writes", OPTPARSE_TOGGLE, discard_writes, true, NULL),
    PMEM_KEY("id", OPTPARSE_STR, id, true, NULL),
    /* below --platform num_pci_segments: checked with the whole configuration */
    PMEM_KEY("pci_segment", OPTPARSE_U16, pci_segment, true, "0"),
};

static const struct optparse_spec pmem_spec = {
    .opt = "--pmem",
    .keys = pmem_keys,
    .nkeys = sizeof(pmem_keys) / sizeof(pmem_keys[0]),
};

void cli_pmem_free(struct cli_pmem *p)
{
    free(p->file);
    free(p->id);
    p->file = p->id = NULL;
}

int cli_pmem_parse(const char *value, struct cli_pmem *p, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(p, 0, sizeof(*p));
    r = optparse_parse(&pmem_spec, value, p, &seen, err, errlen);
    if (r < 0)
        return r;
    if (!p->file) {
        cli_err(err, errlen, "--pmem: missing required key 'file'");
        return -EINVAL;
    }
    if (cli_check_path("--pmem", "file", p->file, err, errlen) < 0)
        return -EINVAL;
    p->has_size = optparse_valued(&pmem_spec, &seen, "size");
    if (p->has_size && (p->size == 0 || p->size % CLI_PMEM_ALIGN)) {
        cli_err(err, errlen,
                "--pmem: invalid value for 'size': %llu bytes (a non-zero multiple of 2 MiB)",
                (unsigned long long)p->size);
        return -EINVAL;
    }
    return devspec_check_id("--pmem", p->id, err, errlen);
}
