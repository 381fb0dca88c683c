#ifndef CELLVM_CORE_VM_GED_H
#define CELLVM_CORE_VM_GED_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/vm/bus.h"

/*
 * ACPI generic event device: one 32-bit register at GPA_GED_START. The guest's _EVT method
 * reads it to learn which events fired; the read clears them. Events are raised from any thread
 * (the API path) and signalled as a pulse on IRQ_GED.
 */

struct ged {
    atomic_uint pending;
    void (*pulse)(void *opaque); /* raises and lowers IRQ_GED */
    void *opaque;
};

void ged_init(struct ged *g, void (*pulse)(void *opaque), void *opaque);
void ged_reset(struct ged *g);
/* Latches events (GED_EVENT_* bits of platform.h) and interrupts the guest. */
void ged_raise(struct ged *g, uint32_t events);

extern const struct bus_ops ged_bus_ops;

#endif
