/* Warnings for the option-group files. */
#include "cli_util.h"

#include <stdarg.h>
#include <stdio.h>

void cli_warn(struct cli_config *cfg, const char *fmt, ...)
{
    va_list ap;

    if (cfg->nwarnings >= CLI_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(cfg->warnings[cfg->nwarnings++], CLI_ERR_LEN, fmt, ap);
    va_end(ap);
}
