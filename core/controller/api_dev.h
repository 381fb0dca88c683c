/* The controller's API requests that concern device rows: vm.resize-disk and vm.counters (the
 * device processes answer over their control channels, bounded in time), and vm.add-net (the
 * net joins the configuration before boot; TAP fds that came with it are kept until the VM
 * ends). Private to api_ctl.c and api_dev.c. */
#ifndef CELLVM_CORE_CONTROLLER_API_DEV_H
#define CELLVM_CORE_CONTROLLER_API_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "core/controller/api_ctl.h"

void api_dev_resize_disk(struct api_ctl *a, uint64_t id, const Cellvm__ApiResizeDisk *rd);
void api_dev_counters(struct api_ctl *a, uint64_t id);

/* devices_reply_fn for a->devs: a device process answered a resize or a counters request. */
void api_dev_reply(void *arg, struct device *dv, uint8_t tag, int errnum,
                   const Cellvm__DeviceStats *st);

/* The add endpoints' device kinds. */
enum api_dev_kind {
    API_DEV_DISK,
    API_DEV_NET,
    API_DEV_VSOCK,
    API_DEV_DEVICE,
    API_DEV_USER_DEVICE,
    API_DEV_FS,
};

/* vm.add-disk, vm.add-vsock, vm.add-device, vm.add-user-device, vm.add-fs with their body `m` (the kind's
 * Api*Config): added to the configuration before boot (204), or hot-added (hotplug_add). */
void api_dev_add(struct api_ctl *a, uint64_t id, enum api_dev_kind k, const ProtobufCMessage *m);

/* vm.remove-device. */
void api_dev_remove(struct api_ctl *a, uint64_t id, const Cellvm__ApiVmRemoveDevice *rm);

/* vm.add-net. Takes the nfds fds in every case: kept as the net's TAP fds, or closed. */
void api_dev_add_net(struct api_ctl *a, uint64_t id, const Cellvm__ApiNetConfig *nc, int *fds,
                     size_t nfds);

/* The VM ended or was deleted: the TAP fds vm.add-net handed over are closed and no
 * configured net refers to them any more. */
void api_dev_drop_net_fds(struct api_ctl *a);
/* TAP fds a caller handed over for nets of the configuration (vm.restore's net_fds): each must
 * be a TAP device; the controller owns them as it owns vm.add-net's, until
 * api_dev_drop_net_fds(). 0, or -errno with the reason in err and every fd closed. */
int api_dev_take_net_fds(struct api_ctl *a, int *fds, size_t nfds, const char *what, char *err,
                         size_t errlen);

/* Frees what the requests above hold (timers, counters, TAP fds). */
void api_dev_close(struct api_ctl *a);

#endif
