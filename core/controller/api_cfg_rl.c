#include "core/controller/api_cfg_rl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bucket_keys(const Cellvm__ApiTokenBucket *t, const char *where, const char *name,
                       const char *prefix, char *buf, size_t len, char *err, size_t errlen)
{
    size_t used = strlen(buf);
    int n;

    if (!t)
        return 0;
    if (!t->has_size || !t->has_refill_time) {
        snprintf(err, errlen, "%s.rate_limiter_config.%s: size and refill_time are required", where,
                 name);
        return -EINVAL;
    }
    n = snprintf(buf + used, len - used, "%s_size=%llu,%s_refill_time=%llu,", prefix,
                 (unsigned long long)t->size, prefix, (unsigned long long)t->refill_time);
    if (n > 0 && (size_t)n < len - used && t->has_one_time_burst) {
        used += (size_t)n;
        n = snprintf(buf + used, len - used, "%s_one_time_burst=%llu,", prefix,
                     (unsigned long long)t->one_time_burst);
    }
    if (n < 0 || (size_t)n >= len - used) {
        snprintf(err, errlen, "%s.rate_limiter_config: too long", where);
        return -EINVAL;
    }
    return 0;
}

int api_rl_keys(const Cellvm__ApiRateLimiterConfig *c, const char *where, char *buf, size_t len,
                char *err, size_t errlen)
{
    int r;

    if (!len)
        return -EINVAL;
    buf[0] = '\0';
    if (!c)
        return 0;
    r = bucket_keys(c->bandwidth, where, "bandwidth", "bw", buf, len, err, errlen);
    return r ? r : bucket_keys(c->ops, where, "ops", "ops", buf, len, err, errlen);
}

static void *new_msg(const ProtobufCMessageDescriptor *d, bool *oom)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);

    if (!m) {
        *oom = true;
        return NULL;
    }
    protobuf_c_message_init(d, m);
    return m;
}

static Cellvm__ApiTokenBucket *bucket_of(uint64_t size, uint64_t burst, uint64_t refill, bool *oom)
{
    Cellvm__ApiTokenBucket *t;

    if (!size || !refill)
        return NULL;
    t = new_msg(&cellvm__api_token_bucket__descriptor, oom);
    if (!t)
        return NULL;
    t->has_size = t->has_one_time_burst = t->has_refill_time = 1;
    t->size = size;
    t->one_time_burst = burst;
    t->refill_time = refill;
    return t;
}

Cellvm__ApiRateLimiterConfig *api_rl_of(const struct cli_rate_limit *rl, bool *oom)
{
    Cellvm__ApiRateLimiterConfig *m;

    if (!cli_rate_limit_on(rl))
        return NULL;
    m = new_msg(&cellvm__api_rate_limiter_config__descriptor, oom);
    if (!m)
        return NULL;
    m->bandwidth = bucket_of(rl->bw_size, rl->bw_one_time_burst, rl->bw_refill_time, oom);
    m->ops = bucket_of(rl->ops_size, rl->ops_one_time_burst, rl->ops_refill_time, oom);
    return m;
}

static Cellvm__ApiRateLimitGroupConfig *group_of(const struct cli_rate_limit_group *g, bool *oom)
{
    Cellvm__ApiRateLimitGroupConfig *m =
        new_msg(&cellvm__api_rate_limit_group_config__descriptor, oom);

    if (!m)
        return NULL;
    m->id = g->id ? strdup(g->id) : NULL;
    if (g->id && !m->id)
        *oom = true;
    m->rate_limiter_config = api_rl_of(&g->rl, oom);
    return m;
}

void api_rl_groups_of(const struct cli_config *cfg, Cellvm__ApiVmConfig *m, bool *oom)
{
    if (!cfg->nrl_groups)
        return;
    m->rate_limit_groups = calloc(cfg->nrl_groups, sizeof(*m->rate_limit_groups));
    if (!m->rate_limit_groups) {
        *oom = true;
        return;
    }
    for (size_t i = 0; i < cfg->nrl_groups; i++) {
        m->rate_limit_groups[i] = group_of(&cfg->rl_groups[i], oom);
        if (!m->rate_limit_groups[i])
            return;
        m->n_rate_limit_groups++;
    }
}
