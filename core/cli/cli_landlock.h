#ifndef CELLVM_CORE_CLI_CLI_LANDLOCK_H
#define CELLVM_CORE_CLI_CLI_LANDLOCK_H

#include <stddef.h>

/* cellvm's limit on --landlock-rules (Cloud Hypervisor has none). */
#define CLI_MAX_LANDLOCK_RULES 64

/* --landlock-rules path=<path>,access=[r|w|rw] (Cloud Hypervisor's LandlockConfig): both keys
 * required; access is r, w, rw (or wr); the path must exist when the VM is configured, as
 * Cloud Hypervisor's validation wants. A relative path is taken as given (relative to the
 * directory cellvm runs in), as Cloud Hypervisor does. */
struct cli_landlock_rule {
    char *path;   /* owned */
    char *access; /* owned, as given: vm.info reports it so */
};

/* Cloud Hypervisor's access strings "r", "w", "rw" (or "wr") into SBX_LL_READ/SBX_LL_WRITE
 * bits (sandbox/landlock.h). -EINVAL for "", more than two characters or any other character,
 * with the reason in why. */
int cli_landlock_access(const char *s, unsigned *out, char *why, size_t whylen);

int cli_landlock_rule_parse(const char *value, struct cli_landlock_rule *out, char *err,
                            size_t errlen);
void cli_landlock_rule_free(struct cli_landlock_rule *r);

#endif
