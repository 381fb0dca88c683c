/* One-line errors and warnings for the option-group files. */
#include "cli_util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cli_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void cli_warn(struct cli_config *cfg, const char *fmt, ...)
{
    va_list ap;

    if (cfg->nwarnings >= CLI_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(cfg->warnings[cfg->nwarnings++], CLI_ERR_LEN, fmt, ap);
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
