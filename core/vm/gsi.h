#ifndef CELLVM_CORE_VM_GSI_H
#define CELLVM_CORE_VM_GSI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The VM's GSI routing table, owned here alone: KVM_SET_GSI_ROUTING replaces the table whole,
 * so every route (the irqchip pins KVM starts with, and every MSI route) lives in this one
 * place and each change commits all of them. MSI routes use GSIs from GSI_FIRST_MSI up.
 * Thread-safe (its own lock, taken last: callers may hold theirs).
 */

#define GSI_IOAPIC_PINS 24
#define GSI_FIRST_MSI   GSI_IOAPIC_PINS
#define GSI_MAX_MSI     1024
#define GSI_NONE        UINT32_MAX

struct gsi_msi {
    bool used;
    uint64_t addr;
    uint32_t data;
};

struct gsi_table {
    pthread_mutex_t lock;
    int vm_fd; /* borrowed */
    struct gsi_msi msi[GSI_MAX_MSI];
    bool dirty; /* a route changed since the last commit */
};

/* Installs the irqchip routes KVM starts with (PIC and IOAPIC pins), so the table can be
 * replaced without losing them. 0 or -errno. */
int gsi_init(struct gsi_table *t, int vm_fd);
void gsi_destroy(struct gsi_table *t);

/* A free MSI GSI, its route pointing nowhere useful until gsi_set_msi. GSI_NONE when full. */
uint32_t gsi_alloc_msi(struct gsi_table *t);
void gsi_free_msi(struct gsi_table *t, uint32_t gsi);

/* Points an MSI GSI at (addr, data) and commits the table if that changed. 0 or -errno. */
int gsi_set_msi(struct gsi_table *t, uint32_t gsi, uint64_t addr, uint32_t data);

/* Frees every MSI route and commits (guest reboot). */
int gsi_reset(struct gsi_table *t);

#endif
