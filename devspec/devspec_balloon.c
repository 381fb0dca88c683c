/* --balloon: the key table and per-option checks (Cloud Hypervisor v51.0 semantics). The
 * comparison with the VM's RAM (size < RAM) is the controller's (core/cli/cli_validate.c). */
#include "devspec.h"

#include <errno.h>
#include <string.h>

#include "devspec_util.h"

#define BALLOON_KEY(n, t, m, dflt_)                                                     \
    {                                                                                   \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_balloon, m), .supported = true, \
        .dflt = dflt_                                                                   \
    }

/* Cloud Hypervisor's keys, in its order. */
#define CH_BALLOON_KEYS                                                        \
    BALLOON_KEY("size", OPTPARSE_SIZE, size, "0"),                             \
        BALLOON_KEY("deflate_on_oom", OPTPARSE_TOGGLE, deflate_on_oom, "off"), \
        BALLOON_KEY("free_page_reporting", OPTPARSE_TOGGLE, free_page_reporting, "off")

static const struct optparse_key balloon_keys[] = { CH_BALLOON_KEYS };

/* cellvm-balloond's spec adds discard=: the controller turns it off while VFIO is attached. */
static const struct optparse_key balloond_keys[] = {
    CH_BALLOON_KEYS,
    BALLOON_KEY("discard", OPTPARSE_TOGGLE, discard, "on"),
};

static const struct optparse_spec balloon_spec = {
    .opt = "--balloon",
    .keys = balloon_keys,
    .nkeys = sizeof(balloon_keys) / sizeof(balloon_keys[0]),
};

static const struct optparse_spec balloond_spec = {
    .opt = "--balloon",
    .keys = balloond_keys,
    .nkeys = sizeof(balloond_keys) / sizeof(balloond_keys[0]),
};

void cli_balloon_free(struct cli_balloon *b)
{
    (void)b; /* nothing allocated today; kept so callers pair parse and free as for the others */
}

int cli_balloon_parse(const char *value, bool daemon, struct cli_balloon *b, char *err,
                      size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(b, 0, sizeof(*b));
    b->discard = true;
    r = optparse_parse(daemon ? &balloond_spec : &balloon_spec, value, b, &seen, err, errlen);
    if (r < 0)
        return r;
    /* The config counts 4 KiB pages in 32 bits; CH truncates, cellvm refuses. */
    if (b->size > CLI_BALLOON_MAX_SIZE) {
        cli_err(err, errlen, "--balloon: invalid value for 'size': %llu is above %llu bytes",
                (unsigned long long)b->size, (unsigned long long)CLI_BALLOON_MAX_SIZE);
        return -EINVAL;
    }
    b->present = true;
    return 0;
}
