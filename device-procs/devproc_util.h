#ifndef CELLVM_DEVICE_PROCS_DEVPROC_UTIL_H
#define CELLVM_DEVICE_PROCS_DEVPROC_UTIL_H

/* Small helpers the device daemons (blockd, netd, vsockd) share around the runtime's hooks. */

#include <stddef.h>
#include <stdint.h>

#include "device-procs/devproc_jail.h"
#include "sandbox/profile.h"

/* Formats a one-line reason into err (errlen bytes, always terminated when errlen > 0) and
   returns r, so a hook can `return devproc_err(err, errlen, -EINVAL, "...", ...);`. */
__attribute__((format(printf, 4, 5))) int devproc_err(char *err, size_t errlen, int r,
                                                      const char *fmt, ...);

/* The runtime's --seccomp mode as sandbox/'s: kill -> on, off -> off, log (and anything else)
   -> log. */
enum sbx_seccomp devproc_sbx_seccomp(enum devproc_seccomp mode);

/* Copies the window [off, off + len) of a config space of size bytes into buf; -EINVAL, and
   nothing copied, when the window does not lie inside the space (no overflow on off + len). */
int devproc_config_read(const void *space, size_t size, uint32_t off, void *buf, uint32_t len);

#endif
