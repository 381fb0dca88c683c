#ifndef CELLVM_CORE_VM_I8042_H
#define CELLVM_CORE_VM_I8042_H

#include "core/vm/bus.h"
#include "core/vm/vmev.h"

/*
 * Just enough of the PS/2 controller for the guest's keyboard-controller reset: command 0xFE
 * on port 0x64 pulses the CPU reset line, which we turn into a reboot. No keyboard behind it:
 * status and data read 0, so a reboot path polling for "input buffer empty" proceeds.
 */

struct i8042 {
    struct vmev *ev; /* borrowed */
};

void i8042_init(struct i8042 *k, struct vmev *ev);

extern const struct bus_ops i8042_data_bus_ops; /* PORT_I8042_DATA */
extern const struct bus_ops i8042_cmd_bus_ops;  /* PORT_I8042_CMD */

#endif
