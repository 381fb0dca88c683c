#include "core/vm/gsi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm/kvm_ioctl.h"

#define PIC_PINS    16
#define MAX_ENTRIES (PIC_PINS + GSI_IOAPIC_PINS + GSI_MAX_MSI)

/* Builds and installs the whole table: what KVM's default has (pins 0-15 on both the PIC and
 * the IOAPIC, 16-23 on the IOAPIC), then every MSI route in use. Lock held. */
static int commit(struct gsi_table *t)
{
    struct kvm_irq_routing *r =
        calloc(1, sizeof(*r) + MAX_ENTRIES * sizeof(struct kvm_irq_routing_entry));
    uint32_t n = 0;
    int err;

    if (!r)
        return -ENOMEM;
    for (uint32_t pin = 0; pin < GSI_IOAPIC_PINS; pin++) {
        struct kvm_irq_routing_entry *e;

        if (pin < PIC_PINS) {
            e = &r->entries[n++];
            e->gsi = pin;
            e->type = KVM_IRQ_ROUTING_IRQCHIP;
            e->u.irqchip.irqchip = pin < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
            e->u.irqchip.pin = pin % 8;
        }
        e = &r->entries[n++];
        e->gsi = pin;
        e->type = KVM_IRQ_ROUTING_IRQCHIP;
        e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
        e->u.irqchip.pin = pin;
    }
    for (uint32_t i = 0; i < GSI_MAX_MSI; i++) {
        struct kvm_irq_routing_entry *e;

        if (!t->msi[i].used)
            continue;
        e = &r->entries[n++];
        e->gsi = GSI_FIRST_MSI + i;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = (uint32_t)t->msi[i].addr;
        e->u.msi.address_hi = (uint32_t)(t->msi[i].addr >> 32);
        e->u.msi.data = t->msi[i].data;
    }
    r->nr = n;
    err = kvm_set_gsi_routing(t->vm_fd, r);
    free(r);
    if (!err)
        t->dirty = false;
    return err;
}

int gsi_init(struct gsi_table *t, int vm_fd)
{
    int r;

    memset(t, 0, sizeof(*t));
    t->vm_fd = vm_fd;
    r = pthread_mutex_init(&t->lock, NULL);
    if (r)
        return -r;
    pthread_mutex_lock(&t->lock);
    r = commit(t);
    pthread_mutex_unlock(&t->lock);
    if (r)
        pthread_mutex_destroy(&t->lock);
    return r;
}

void gsi_destroy(struct gsi_table *t)
{
    pthread_mutex_destroy(&t->lock);
}

uint32_t gsi_alloc_msi(struct gsi_table *t)
{
    uint32_t gsi = GSI_NONE;

    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < GSI_MAX_MSI; i++) {
        if (!t->msi[i].used) {
            t->msi[i] = (struct gsi_msi){ .used = true };
            t->dirty = true;
            gsi = GSI_FIRST_MSI + i;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return gsi;
}

void gsi_free_msi(struct gsi_table *t, uint32_t gsi)
{
    if (gsi < GSI_FIRST_MSI || gsi - GSI_FIRST_MSI >= GSI_MAX_MSI)
        return;
    pthread_mutex_lock(&t->lock);
    t->msi[gsi - GSI_FIRST_MSI].used = false;
    t->dirty = true;
    pthread_mutex_unlock(&t->lock);
}

int gsi_set_msi(struct gsi_table *t, uint32_t gsi, uint64_t addr, uint32_t data)
{
    struct gsi_msi *m;
    int r = 0;

    if (gsi < GSI_FIRST_MSI || gsi - GSI_FIRST_MSI >= GSI_MAX_MSI)
        return -EINVAL;
    pthread_mutex_lock(&t->lock);
    m = &t->msi[gsi - GSI_FIRST_MSI];
    if (!m->used) {
        r = -EINVAL;
    } else {
        if (m->addr != addr || m->data != data) {
            m->addr = addr;
            m->data = data;
            t->dirty = true;
        }
        if (t->dirty)
            r = commit(t);
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

int gsi_reset(struct gsi_table *t)
{
    int r;

    pthread_mutex_lock(&t->lock);
    memset(t->msi, 0, sizeof(t->msi));
    r = commit(t);
    pthread_mutex_unlock(&t->lock);
    return r;
}
