#include "sandbox/profile.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "sandbox/profile_rules.h"

#define MAX_PARTS 3

/* The tables each profile is made of, in order (the names are in profile_names.c). */
struct profile_def {
    const struct sbx_rule_table *parts[MAX_PARTS];
};

/* The vCPU profile has no base: it is stacked on the core's, and may only narrow it. */
static const struct profile_def defs[SBX_PROFILE_COUNT] = {
    [SBX_PROFILE_BALLOOND] = { { &sbx_rules_base, &sbx_rules_devproc, &sbx_rules_balloond } },
    [SBX_PROFILE_CORE] = { { &sbx_rules_base, &sbx_rules_core } },
    [SBX_PROFILE_VCPU] = { { &sbx_rules_vcpu } },
    [SBX_PROFILE_BLOCKD] = { { &sbx_rules_base, &sbx_rules_devproc, &sbx_rules_blockd } },
    [SBX_PROFILE_NETD] = { { &sbx_rules_base, &sbx_rules_devproc, &sbx_rules_netd } },
    [SBX_PROFILE_API] = { { &sbx_rules_base, &sbx_rules_api } },
    [SBX_PROFILE_VSOCKD] = { { &sbx_rules_base, &sbx_rules_devproc, &sbx_rules_vsockd } },
    /* No base either: the connector is one loop of recvmsg, socket, connect, sendmsg. */
    [SBX_PROFILE_VSOCKCONN] = { { &sbx_rules_vsockconn } },
    /* Its own poll loop, no libevent: the base and its VFIO rules only. */
    [SBX_PROFILE_VFIOD] = { { &sbx_rules_base, &sbx_rules_vfiod } },
    /* No base and no devproc table: one thread on the runtime's loop, its own short list. */
    [SBX_PROFILE_RNGD] = { { &sbx_rules_loopd } },
    /* The same shape as rngd's: one thread on the runtime's loop, its own short list. */
    [SBX_PROFILE_CONSOLED] = { { &sbx_rules_loopd } },
};

static int add_rule(scmp_filter_ctx ctx, const struct sbx_rule *r)
{
    uint32_t act = r->err ? SCMP_ACT_ERRNO((uint32_t)r->err) : SCMP_ACT_ALLOW;

    /* The exact variant: a rule that cannot be expressed as written is a bug, not a hint. */
    return seccomp_rule_add_exact_array(ctx, act, r->nr, r->nargs, r->args);
}

static scmp_filter_ctx build(const struct sbx_rule_table *const *parts, enum sbx_seccomp mode)
{
    uint32_t def = mode == SBX_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx;
    int r = 0;

    if (mode == SBX_SECCOMP_OFF) {
        errno = EINVAL;
        return NULL;
    }
    ctx = seccomp_init(def);
    if (!ctx) {
        errno = ENOMEM;
        return NULL;
    }
    for (unsigned i = 0; !r && i < MAX_PARTS && parts[i]; i++) {
        const struct sbx_rule_table *t = parts[i];

        for (size_t j = 0; !r && j < t->n; j++)
            r = add_rule(ctx, &t->rules[j]);
    }
    if (r) {
        seccomp_release(ctx);
        errno = -r;
        return NULL;
    }
    return ctx;
}

scmp_filter_ctx sbx_profile_build(enum sbx_profile p, enum sbx_seccomp mode)
{
    if ((unsigned)p >= SBX_PROFILE_COUNT) {
        errno = EINVAL;
        return NULL;
    }
    return build(defs[p].parts, mode);
}

scmp_filter_ctx sbx_interim_build(enum sbx_seccomp mode)
{
    static const struct sbx_rule_table *const parts[MAX_PARTS] = { &sbx_rules_interim };

    return build(parts, mode);
}

int sbx_profile_count_allowed(enum sbx_profile p)
{
    int seen[64];
    int n = 0;

    if ((unsigned)p >= SBX_PROFILE_COUNT)
        return -EINVAL;
    for (unsigned i = 0; i < MAX_PARTS && defs[p].parts[i]; i++) {
        const struct sbx_rule_table *t = defs[p].parts[i];

        for (size_t j = 0; j < t->n; j++) {
            bool dup = false;

            if (t->rules[j].err)
                continue;
            for (int k = 0; k < n && !dup; k++)
                dup = seen[k] == t->rules[j].nr;
            if (dup)
                continue;
            if (n == (int)(sizeof(seen) / sizeof(seen[0])))
                return -E2BIG;
            seen[n++] = t->rules[j].nr;
        }
    }
    return n;
}

int sbx_profile_export_pfc(enum sbx_profile p, int fd)
{
    scmp_filter_ctx ctx = sbx_profile_build(p, SBX_SECCOMP_ON);
    int r;

    if (!ctx)
        return -errno;
    r = seccomp_export_pfc(ctx, fd);
    seccomp_release(ctx);
    return r;
}
