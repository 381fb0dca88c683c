#include "core/vm/log.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

/* verbosity: 0 shows errors and warnings, each -v adds one level. */
void log_init(struct log *lg, int fd, int verbosity)
{
    int lvl = LOG_LEVEL_WARN + (verbosity > 0 ? verbosity : 0);

    lg->fd = fd;
    lg->level = lvl > LOG_LEVEL_DEBUG ? LOG_LEVEL_DEBUG : (enum log_level)lvl;
}

void log_vmsg(const struct log *lg, enum log_level lvl, const char *fmt, va_list ap)
{
    char line[512];
    int n, m;
    size_t len;

    if (!lg || lvl > lg->level || lg->fd < 0)
        return;
    n = snprintf(line, sizeof(line), "%s: ", level_names[lvl]);
    if (n < 0)
        return;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    len = (size_t)n + (size_t)m;
    /* Truncated lines still end in a newline. */
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    while (write(lg->fd, line, len) < 0 && errno == EINTR)
        ;
}

void log_msg(const struct log *lg, enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(lg, lvl, fmt, ap);
    va_end(ap);
}
