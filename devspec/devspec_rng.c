/* --rng: the key table and checks (Cloud Hypervisor v51.0 semantics: src defaults to
 * /dev/urandom; iommu=on puts the device behind the virtio-iommu). */
#include "devspec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devspec_util.h"

#define RNG_KEY(n, t, m, sup, dflt_)                                                             \
    {                                                                                            \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_rng, m), .supported = sup, .dflt = dflt_ \
    }

static const struct optparse_key rng_keys[] = {
    RNG_KEY("src", OPTPARSE_STR, src, true, NULL),
    RNG_KEY("iommu", OPTPARSE_TOGGLE, iommu, true, NULL),
};

static const struct optparse_spec rng_spec = {
    .opt = "--rng",
    .keys = rng_keys,
    .nkeys = sizeof(rng_keys) / sizeof(rng_keys[0]),
};

void cli_rng_free(struct cli_rng *rng)
{
    free(rng->src);
    rng->src = NULL;
}

int cli_rng_parse(const char *value, struct cli_rng *rng, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(rng, 0, sizeof(*rng));
    r = optparse_parse(&rng_spec, value, rng, &seen, err, errlen);
    if (r < 0)
        return r;
    /* `src=` (empty) means the default, as every key in CH's syntax. */
    if (!optparse_valued(&rng_spec, &seen, "src")) {
        free(rng->src);
        rng->src = strdup(CLI_RNG_DEFAULT_SRC);
        if (!rng->src) {
            cli_err(err, errlen, "--rng: out of memory");
            return -ENOMEM;
        }
    }
    if (cli_check_path("--rng", "src", rng->src, err, errlen) < 0)
        return -EINVAL;
    rng->present = true;
    return 0;
}
