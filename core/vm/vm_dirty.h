#ifndef CELLVM_CORE_VM_VM_DIRTY_H
#define CELLVM_CORE_VM_VM_DIRTY_H

/*
 * The core's writes into guest memory during a live migration (issue 18). KVM's dirty log sees
 * only vCPU writes; the queues the core serves itself (virtio-net control, virtio-mem, pmem,
 * watchdog: vring_req.c, virtio_net_ctrl.c) mark the migration's shared log after each write,
 * as the device processes do. Those queues run on the frontend thread, which the migration
 * syncs with before it unmaps the log (vpci_dirty_log).
 */

#include <stdint.h>

#include "core/mem/guest_mem.h"
#include "ipc/dirty_log.h"

static inline void vm_dirty_mark(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    uint8_t *log = __atomic_load_n(&m->dirty_log, __ATOMIC_ACQUIRE);

    if (log)
        dirty_log_mark(log, m->dirty_log_size, gpa, len);
}

#endif
