#include <errno.h>
#include <string.h>

#include "sandbox/profile.h"

/* The names alone: the jail's messages need them, the rules (profile.c) only the generator and
 * the tests. */
static const char *const names[SBX_PROFILE_COUNT] = {
    [SBX_PROFILE_CORE] = "core",
    [SBX_PROFILE_VCPU] = "vcpu",
    [SBX_PROFILE_BLOCKD] = "blockd",
    [SBX_PROFILE_NETD] = "netd",
    [SBX_PROFILE_API] = "api",
    [SBX_PROFILE_VSOCKD] = "vsockd",
    [SBX_PROFILE_VSOCKCONN] = "vsockconn",
    [SBX_PROFILE_VFIOD] = "vfiod",
    [SBX_PROFILE_RNGD] = "rngd",
    [SBX_PROFILE_BALLOOND] = "balloond",
    [SBX_PROFILE_CONSOLED] = "consoled",
};

const char *sbx_profile_name(enum sbx_profile p)
{
    return (unsigned)p < SBX_PROFILE_COUNT ? names[p] : NULL;
}

int sbx_profile_from_name(const char *name, enum sbx_profile *out)
{
    for (unsigned i = 0; i < SBX_PROFILE_COUNT; i++) {
        if (!strcmp(names[i], name)) {
            *out = (enum sbx_profile)i;
            return 0;
        }
    }
    return -EINVAL;
}
