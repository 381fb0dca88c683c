#include "core/vm/msi_irq.h"

#include <errno.h>

#include "core/vm/kvm_ioctl.h"

int msi_irq_bind(struct gsi_table *g, int vm_fd, int fd, bool deliver, uint64_t addr, uint32_t data,
                 uint32_t *gsi, uint32_t *bound)
{
    uint32_t want = GSI_NONE;
    int r = 0;

    if (deliver) {
        if (*gsi == GSI_NONE)
            *gsi = gsi_alloc_msi(g);
        r = *gsi == GSI_NONE ? -ENOSPC : gsi_set_msi(g, *gsi, addr, data);
        if (!r)
            want = *gsi;
    }
    if (*bound == want)
        return r;
    if (*bound != GSI_NONE)
        kvm_irqfd(vm_fd, fd, *bound, false);
    *bound = GSI_NONE;
    if (want != GSI_NONE) {
        r = kvm_irqfd(vm_fd, fd, want, true);
        if (!r)
            *bound = want;
    }
    return r;
}

void msi_irq_flush_pending(struct msix *m, int vm_fd)
{
    for (uint16_t v = 0; v < m->nvec; v++) {
        uint64_t addr;
        uint32_t data;

        if (!msix_pending(m, v) || msix_masked(m, v))
            continue;
        msix_set_pending(m, v, false);
        msix_message(m, v, &addr, &data);
        kvm_signal_msi(vm_fd, addr, data);
    }
}
