/* The PCI devices of a configuration as the REST API edits it (vm.add-*, vm.remove-device): the
 * ids the VMM gives unnamed devices, and removal by id. */
#ifndef CELLVM_CORE_CLI_CLI_DEVICES_H
#define CELLVM_CORE_CLI_CLI_DEVICES_H

#include "cli.h"

/* Gives every disk, net, vsock, device and user device without an id the name the controller
 * gives it at launch (_disk<index>, _net<index>, _vsock0, _vfio<index>, _vfio_user<index>), or
 * the next number free when another device or memory zone has that name. 0 or -ENOMEM. */
int cli_fill_device_ids(struct cli_config *cfg);

/* Removes the disk, net, vsock, device or user device with this id, freeing what the entry
 * owns (a net's fd=[...] list, not the fds). 0, or -ENOENT when no device has the id. */
int cli_remove_device(struct cli_config *cfg, const char *id);

#endif
