#ifndef CELLVM_CORE_CONTROLLER_DEVICES_PRIV_H
#define CELLVM_CORE_CONTROLLER_DEVICES_PRIV_H

/* Shared by devices.c (processes, messages, attach) and devices_open.c (the per-kind openers
 * that turn the configuration into device rows). Nothing else includes this. */

#include <stddef.h>
#include <stdint.h>

#include "core/controller/devices.h"

/* One row per kind of device process: adding net or vsock is a row plus its spec builder. */
struct dev_kind {
    const char *option; /* CLI option and DeviceConfigure.option */
    const char *role;   /* log prefix */
    const char *exe;    /* sibling executable */
    Cellvm__Role hello_role;
    uint32_t virtio_id;
};

__attribute__((format(printf, 4, 5))) int devices_fail(char *err, size_t errlen, int r,
                                                       const char *fmt, ...);
/* Removes the vsock socket file this controller bound, if the path still names it. */
void devices_vsock_unlink(struct device *dv);

#endif
