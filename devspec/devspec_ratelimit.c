/* --rate-limit-group and the bw_* and ops_* buckets --disk and --net share (Cloud Hypervisor v51.0:
 * sizes in bytes or ops, refill times in milliseconds, a bucket on when its size and refill
 * time are both non-zero). cellvm refuses a bucket given half (a size without a refill time, a
 * refill time or burst without a size) rather than silently leaving it off as CH does. */
#include "devspec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devspec_util.h"

#define RLG_S(n, m)                                                                      \
    {                                                                                    \
        .name = n, .type = OPTPARSE_U64, OPTPARSE_FIELD(struct cli_rate_limit_group, m), \
        .supported = true                                                                \
    }

static const struct optparse_key rlg_keys[] = {
    RLG_S("bw_size", rl.bw_size),
    RLG_S("bw_one_time_burst", rl.bw_one_time_burst),
    RLG_S("bw_refill_time", rl.bw_refill_time),
    RLG_S("ops_size", rl.ops_size),
    RLG_S("ops_one_time_burst", rl.ops_one_time_burst),
    RLG_S("ops_refill_time", rl.ops_refill_time),
    { .name = "id",
      .type = OPTPARSE_STR,
      OPTPARSE_FIELD(struct cli_rate_limit_group, id),
      .supported = true },
};

static const struct optparse_spec rlg_spec = {
    .opt = "--rate-limit-group",
    .keys = rlg_keys,
    .nkeys = sizeof(rlg_keys) / sizeof(rlg_keys[0]),
};

bool cli_rate_limit_on(const struct cli_rate_limit *rl)
{
    return (rl->bw_size && rl->bw_refill_time) || (rl->ops_size && rl->ops_refill_time);
}

static int bucket_check(const char *opt, const char *name, uint64_t size, uint64_t burst,
                        uint64_t refill, char *err, size_t errlen)
{
    if (size && !refill) {
        cli_err(err, errlen,
                "%s: invalid value for '%s_refill_time': '0' (%s_size needs a refill time in "
                "ms; a zero bucket is off)",
                opt, name, name);
        return -EINVAL;
    }
    if (!size && (refill || burst)) {
        cli_err(err, errlen,
                "%s: invalid value for '%s_size': '0' (%s_%s given: a bucket needs a non-zero "
                "size)",
                opt, name, name, refill ? "refill_time" : "one_time_burst");
        return -EINVAL;
    }
    return 0;
}

int cli_rate_limit_check(const char *opt, const struct cli_rate_limit *rl, char *err, size_t errlen)
{
    int r = bucket_check(opt, "bw", rl->bw_size, rl->bw_one_time_burst, rl->bw_refill_time, err,
                         errlen);

    return r ? r
             : bucket_check(opt, "ops", rl->ops_size, rl->ops_one_time_burst, rl->ops_refill_time,
                            err, errlen);
}

void cli_rate_limit_group_free(struct cli_rate_limit_group *g)
{
    free(g->id);
    g->id = NULL;
}

int cli_rate_limit_group_parse(const char *value, struct cli_rate_limit_group *g, char *err,
                               size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(g, 0, sizeof(*g));
    r = optparse_parse(&rlg_spec, value, g, &seen, err, errlen);
    if (r)
        return r;
    if (!g->id || !g->id[0]) {
        cli_err(err, errlen, "--rate-limit-group: missing required key 'id'");
        return -EINVAL;
    }
    r = cli_rate_limit_check("--rate-limit-group", &g->rl, err, errlen);
    if (r)
        return r;
    if (!cli_rate_limit_on(&g->rl)) {
        cli_err(err, errlen,
                "--rate-limit-group: invalid rate-limiter group '%s': neither bw_size with "
                "bw_refill_time nor ops_size with ops_refill_time given",
                g->id);
        return -EINVAL;
    }
    return devspec_check_id("--rate-limit-group", g->id, err, errlen);
}
