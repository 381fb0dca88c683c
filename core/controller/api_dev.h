/* The controller's API requests that concern device rows: vm.resize-disk and vm.counters (the
 * device processes answer over their control channels, bounded in time), and vm.add-net (the
 * net joins the configuration before boot; TAP fds that came with it are kept until the VM
 * ends). Private to api_ctl.c and api_dev.c. */
#ifndef CELLVM_CORE_CONTROLLER_API_DEV_H
#define CELLVM_CORE_CONTROLLER_API_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "core/controller/api_ctl.h"

/* Answers request `id` (api_ctl.c); `error` NULL on success, rs NULL for an empty body. */
void api_ctl_respond(struct api_ctl *a, uint64_t id, uint32_t status, const char *error,
                     Cellvm__ApiResponse *rs);

void api_dev_resize_disk(struct api_ctl *a, uint64_t id, const Cellvm__ApiResizeDisk *rd);
void api_dev_counters(struct api_ctl *a, uint64_t id);

/* devices_reply_fn for a->devs: a device process answered a resize or a counters request. */
void api_dev_reply(void *arg, struct device *dv, uint8_t tag, int errnum,
                   const Cellvm__DeviceStats *st);

/* vm.add-net. Takes the nfds fds in every case: kept as the net's TAP fds, or closed. */
void api_dev_add_net(struct api_ctl *a, uint64_t id, const Cellvm__ApiNetConfig *nc, int *fds,
                     size_t nfds);

/* The VM ended or was deleted: the TAP fds vm.add-net handed over are closed and no
 * configured net refers to them any more. */
void api_dev_drop_net_fds(struct api_ctl *a);

/* Frees what the requests above hold (timers, counters, TAP fds). */
void api_dev_close(struct api_ctl *a);

#endif
