/* Live migration in cellvm-core (issue 18): the control thread's side. It runs the phases of
 * core/vm/vm_migrate*.c on the socket the controller handed over and tells the controller,
 * with MigrationStep, when the disks change hands (SWITCH, answered by MigrationLocks) and how
 * it ended (DONE). */
#ifndef CELLVM_CORE_COREPROC_CORE_MIGRATE_H
#define CELLVM_CORE_COREPROC_CORE_MIGRATE_H

#include <stdbool.h>

#include "control.pb-c.h"
#include "core/vm/vm.h"

struct core_mig {
    int chan;      /* the control channel; borrowed (this thread is its only reader) */
    struct vm *vm; /* borrowed */
    bool stop;     /* a Shutdown came while waiting for MigrationLocks: stop after */
};

/* vm.send-migration: sock (taken over, closed here) is connected to the destination. */
void core_migrate_send(struct core_mig *m, const Cellvm__VmMigrate *vm_migrate, int sock);

/* vm.receive-migration, after vm_create took memory and state from sock (taken over, closed
 * here) and vm_run started: waits for Complete, resumes the VM. */
void core_migrate_finish(struct core_mig *m, int sock);

#endif
