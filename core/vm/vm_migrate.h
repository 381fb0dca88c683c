/* Live migration inside the core (issue 18): the core owns guest RAM and the vCPUs, so it
 * speaks the memory, state and completion phases of the stream (ipc/mig_stream.h) on a socket
 * the controller connected or accepted. */
#ifndef CELLVM_CORE_VM_VM_MIGRATE_H
#define CELLVM_CORE_VM_VM_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/vm/vm_priv.h"

/* vm_create's half of vm.receive-migration (see vm.h). */
int vm_migrate_receive(struct vm *vm, int sock, char *err, size_t errlen);

/* Local migration: MEMORY_FD with every memory zone's fd, and its answer (vm_migrate_fd.c).
 * -EOPNOTSUPP for RAM added after boot. 0 or -errno with err. */
int vm_migrate_send_memfds(struct vm *vm, int sock, char *err, size_t errlen);

#endif
