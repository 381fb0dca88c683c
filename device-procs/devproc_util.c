#include "device-procs/devproc_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int devproc_err(char *err, size_t errlen, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

enum sbx_seccomp devproc_sbx_seccomp(enum devproc_seccomp mode)
{
    switch (mode) {
    case DEVPROC_SECCOMP_KILL:
        return SBX_SECCOMP_ON;
    case DEVPROC_SECCOMP_OFF:
        return SBX_SECCOMP_OFF;
    case DEVPROC_SECCOMP_LOG:
    default:
        return SBX_SECCOMP_LOG;
    }
}

int devproc_config_read(const void *space, size_t size, uint32_t off, void *buf, uint32_t len)
{
    if (off > size || len > size - off)
        return -EINVAL;
    memcpy(buf, (const uint8_t *)space + off, len);
    return 0;
}
