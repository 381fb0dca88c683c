#ifndef CELLVM_RNGD_RNG_ARGS_H
#define CELLVM_RNGD_RNG_ARGS_H

#include <stddef.h>

#define RNGD_MAX_ARGS 64 /* argv entries rngd passes on to the runtime */

/*
 * `--source PATH` / `--source=PATH` (the spelling vhost-user rng backends use) becomes
 * `--rng src="PATH"` for the runtime, which knows one device option; everything else is copied.
 * out holds RNGD_MAX_ARGS + 1 entries (NULL-terminated); spec (speclen bytes) holds the new
 * value. Returns the new argc, or -errno with one line in err: --source twice, without a
 * value, empty or with a double quote (not expressible in Cloud Hypervisor's syntax), too long,
 * or too many arguments.
 */
int rngd_rewrite_args(int argc, char **argv, char **out, char *spec, size_t speclen, char *err,
                      size_t errlen);

#endif
