/* Helpers shared by the option-group files: one-line errors and warnings. */
#ifndef CELLVM_CORE_CLI_CLI_UTIL_H
#define CELLVM_CORE_CLI_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

void cli_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Queues a one-line warning in cfg->warnings; extra warnings beyond the cap are dropped. */
void cli_warn(struct cli_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks a path-like string value: non-empty and shorter than PATH_MAX. */
int cli_check_path(const char *opt, const char *key, const char *path, char *err, size_t errlen);

static inline int cli_is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

#endif
