/* Helpers shared by the option-group files: one-line errors (cli_err, cli_check_path: shared
 * with the device specs, in devspec/devspec_util.h) and warnings. */
#ifndef CELLVM_CORE_CLI_CLI_UTIL_H
#define CELLVM_CORE_CLI_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "devspec/devspec_util.h"

/* Queues a one-line warning in cfg->warnings; extra warnings beyond the cap are dropped. */
void cli_warn(struct cli_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline int cli_is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

#endif
