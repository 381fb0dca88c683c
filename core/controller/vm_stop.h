#ifndef CELLVM_CORE_CONTROLLER_VM_STOP_H
#define CELLVM_CORE_CONTROLLER_VM_STOP_H

#include <stdbool.h>

#include "core/controller/controller.h"

/*
 * Stopping the VM while the VMM keeps serving its API: vm.shutdown, vm.delete, and a vm.boot
 * that failed (a kernel the core cannot load, a device process that could not start). The core
 * is asked first (Shutdown, or SIGKILL when the boot failed or it cannot take one), then every
 * device process; whatever is alive SV_KILL_AFTER_S seconds later is killed. Once all of them
 * have exited they leave the supervisor, and everything the controller opened for the VM is
 * closed: guest RAM, kernel, serial backend (its socket file), TAP fds (a TAP cellvm created is
 * not persistent, so it goes with them), the vsock socket file it bound. Mounts live in the
 * children's own mount namespaces and go with them. vm.boot then starts the VM afresh.
 */

/* Begins the stop; why is NULL for a requested one, or the reason a vm.boot fails. The API is
 * answered when it is complete (at once when no process of the VM is alive). */
void vm_stop_begin(struct controller *ctl, const char *why);

/* A process of the VM exited while a stop is under way: the next step, or the end. */
void vm_stop_step(struct controller *ctl);

/* Whether a stop is under way (and the VMM is not ending anyway). */
bool vm_stop_active(const struct controller *ctl);

void vm_stop_close(struct controller *ctl);

#endif
