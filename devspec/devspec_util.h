/* Helpers for option-string checks: one-line errors, path-valued keys, and the checks every
 * device spec shares. core/cli's option groups use cli_err() and cli_check_path() too. */
#ifndef CELLVM_DEVSPEC_DEVSPEC_UTIL_H
#define CELLVM_DEVSPEC_DEVSPEC_UTIL_H

#include <stddef.h>

void cli_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Checks a path-like string value: non-empty and shorter than PATH_MAX. `key` may be NULL for
 * an option whose whole value is a path. */
int cli_check_path(const char *opt, const char *key, const char *path, char *err, size_t errlen);

/* Copies a dequoted scalar value into `buf`; -EINVAL if it does not fit. */
int devspec_scalar(const char *value, char *buf, size_t buflen);

/* Queue sizes: virtio split rings need a power of two, larger than `min`, at most 32768. */
int devspec_check_queue_size(const char *opt, unsigned qs, unsigned min, char *err, size_t errlen);

/* Ids starting with "__" are reserved for the VMM's own devices, as in CH. */
int devspec_check_id(const char *opt, const char *id, char *err, size_t errlen);

#endif
