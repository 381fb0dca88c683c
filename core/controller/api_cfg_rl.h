/* Rate limiters between the REST API's schema (RateLimiterConfig {bandwidth, ops: TokenBucket},
 * RateLimitGroupConfig) and the command line's bw_* and ops_* keys, both ways (api_cfg.c). */
#ifndef CELLVM_CORE_CONTROLLER_API_CFG_RL_H
#define CELLVM_CORE_CONTROLLER_API_CFG_RL_H

#include <stdbool.h>
#include <stddef.h>

#include "api.pb-c.h"
#include "core/cli/cli.h"

/* The limiter as "bw_size=..,bw_refill_time=..,...," (a trailing comma, "" for no bucket) in
 * buf. `where` names the object for errors. 0, or -EINVAL (a bucket without size or
 * refill_time, which the schema requires; buf too small) with one line in err. */
int api_rl_keys(const Cellvm__ApiRateLimiterConfig *c, const char *where, char *buf, size_t len,
                char *err, size_t errlen);

/* vm.info: the buckets that are on as a RateLimiterConfig, or NULL when none is (or out of
 * memory: then *oom is set). */
Cellvm__ApiRateLimiterConfig *api_rl_of(const struct cli_rate_limit *rl, bool *oom);
/* vm.info's rate_limit_groups: every --rate-limit-group into m (*oom set when out of memory). */
void api_rl_groups_of(const struct cli_config *cfg, Cellvm__ApiVmConfig *m, bool *oom);

#endif
