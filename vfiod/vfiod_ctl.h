#ifndef CELLVM_VFIOD_VFIOD_CTL_H
#define CELLVM_VFIOD_VFIOD_CTL_H

/*
 * cellvm-vfiod's side of the controller's control channel (proto/control.proto, SEQPACKET on
 * fd 3): Hello (ROLE_VFIOD), one DeviceConfigure, Ready or Error, then Shutdown and
 * StatsRequest while serving. device-procs/devproc_ctl.c speaks the same messages for the
 * vhost-user daemons but works on their runtime's context, so vfiod has this small equivalent.
 */

#include <stdbool.h>
#include <stddef.h>

#include "sandbox/profile.h"

int vfiod_ctl_hello(int ctl);

/* The controller's VFIO fds (core/controller/vfio_host.h): the group sits in the container
 * with its IOMMU set, and device is the function's fd taken from the group. */
struct vfiod_fds {
    int container, group, device;
};

/*
 * Waits for DeviceConfigure {option "device", spec, nfds 3: container, group, device}. On
 * success *spec is a malloc'd copy of the spec and the fds are the caller's; on failure every
 * received fd is closed and fds stays -1. 0 or -errno with err filled.
 */
int vfiod_ctl_configure(int ctl, char **spec, enum sbx_seccomp *mode, struct vfiod_fds *fds,
                        char *err, size_t errlen);

int vfiod_ctl_ready(int ctl);

/* A setup failure, best effort (msg flattened to printable ASCII). */
void vfiod_ctl_error(int ctl, int errnum, const char *msg);

/* One message while serving: 0 to go on, -ESHUTDOWN for Shutdown, -EPIPE when the controller
   closed the channel. */
int vfiod_ctl_handle(int ctl, bool connected);

#endif
