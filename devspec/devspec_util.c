/* One-line errors and the checks the device specs share (Cloud Hypervisor v51.0 semantics). */
#include "devspec_util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "optparse.h"

#define MAX_QUEUE_SIZE 32768

void cli_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int cli_check_path(const char *opt, const char *key, const char *path, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];

    if (!path[0]) {
        if (key)
            cli_err(err, errlen, "%s: invalid value for '%s': '' (empty path)", opt, key);
        else
            cli_err(err, errlen, "%s: invalid value: '' (empty path)", opt);
        return -EINVAL;
    }
    if (strnlen(path, PATH_MAX) >= PATH_MAX) {
        optparse_show(path, shown, sizeof(shown));
        if (key)
            cli_err(err, errlen, "%s: invalid value for '%s': '%s' (path longer than %d bytes)",
                    opt, key, shown, PATH_MAX - 1);
        else
            cli_err(err, errlen, "%s: invalid value: '%s' (path longer than %d bytes)", opt, shown,
                    PATH_MAX - 1);
        return -EINVAL;
    }
    return 0;
}

int devspec_scalar(const char *value, char *buf, size_t buflen)
{
    size_t len = strlen(value);

    if (len >= buflen)
        return -EINVAL;
    optparse_dequote(value, len, buf);
    return 0;
}

int devspec_check_queue_size(const char *opt, unsigned qs, unsigned min, char *err, size_t errlen)
{
    unsigned lo = 1;

    while (lo <= min)
        lo <<= 1;
    if (qs < lo || (qs & (qs - 1)) || qs > MAX_QUEUE_SIZE) {
        cli_err(err, errlen,
                "%s: invalid value for 'queue_size': '%u' (a power of two from %u "
                "to %d)",
                opt, qs, lo, MAX_QUEUE_SIZE);
        return -EINVAL;
    }
    return 0;
}

int devspec_check_id(const char *opt, const char *id, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];

    if (id && !strncmp(id, "__", 2)) {
        optparse_show(id, shown, sizeof(shown));
        cli_err(err, errlen,
                "%s: invalid value for 'id': '%s' (ids starting with '__' are "
                "reserved)",
                opt, shown);
        return -EINVAL;
    }
    return 0;
}
