/* vm.send-migration and vm.receive-migration (issue 18), the controller's half. The controller
 * owns the API and the sockets: it connects to destination_url (source) or listens on
 * receiver_url and reads Start and Config (destination, config through vm.create's parser);
 * the core, which owns guest RAM and the vCPUs, runs the memory, state and completion phases
 * on the connection it is handed. At the switch the disks' image locks pass from the source's
 * descriptions to the destination's (the controller keeps a dup of every image it opened). */
#ifndef CELLVM_CORE_CONTROLLER_MIGRATION_H
#define CELLVM_CORE_CONTROLLER_MIGRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/controller/api_ctl.h"
#include "ipc/mig_stream.h"

#define MIGRATION_ACCEPT_MS 10000 /* a connected source sends Start and Config within this */

/* vm.send-migration {"destination_url":"unix:/path","local":bool}: answered 204 when the
 * destination runs the VM (the VMM then ends, as Cloud Hypervisor's), else 500 with why and
 * the VM as it was. */
void migration_send_request(struct api_ctl *a, uint64_t id, const Cellvm__ApiSendMigrationData *sm);

/* vm.receive-migration {"receiver_url":"unix:/path"}: only without a VM; answered 204 once
 * the migrated VM runs here, else 500 with why and no VM. */
void migration_receive_request(struct api_ctl *a, uint64_t id,
                               const Cellvm__ApiReceiveMigrationData *rm);

/* A MigrationStep from the core: true when consumed. */
bool migration_core_message(struct api_ctl *a, const Cellvm__Envelope *env);

/* The destination's core is Ready (memory and state in): Paused until Complete. */
void migration_on_ready(struct api_ctl *a);

/* The destination's boot failed, or the VM ended during a migration: its request fails. */
void migration_abort(struct api_ctl *a, const char *why);

/* The core config of a destination VM: the connection for CORE_FD_MIGRATION, or -1. */
int migration_core_fd(const struct api_ctl *a);

/* Disk rows (devices.c) of a destination VM open their image without locking it. */
bool migration_defer_locks(const struct api_ctl *a);

void migration_close(struct api_ctl *a);

/* local=true (migration_memfd.c): Cloud Hypervisor's condition, guest memory shared (or on
 * hugepages), every zone's too. */
bool migration_shared_memory(const struct cli_config *c);

/* Destination: a MEMORY_FD (header h read) from the source on fd, its fds kept in a. 0 or
 * -errno with err. */
int migration_memfd_take(struct api_ctl *a, int fd, const struct mig_hdr *h, char *err,
                         size_t errlen);

/* Destination: the kept fds against configuration c (count, sizes, memfd or the zone's file).
 * 0 (also when none were sent) or -EINVAL with err. */
int migration_memfd_check(struct api_ctl *a, const struct cli_config *c, char *err, size_t errlen);

/* The boot of a local migration's destination takes the fds (zone order) for its RAM: their
 * count, 0 when the RAM is to be created. */
size_t migration_take_memfds(struct api_ctl *a, int *fds, size_t max);

void migration_memfd_close(struct api_ctl *a);

#endif
