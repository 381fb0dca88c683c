#include "core/vm/i8042.h"

#define I8042_CMD_RESET_CPU 0xfe

void i8042_init(struct i8042 *k, struct vmev *ev)
{
    k->ev = ev;
}

static void read_zero(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    (void)opaque;
    (void)off;
    (void)len;
    *val = 0;
}

static void write_data(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    (void)opaque;
    (void)off;
    (void)len;
    (void)val;
}

static void write_cmd(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    struct i8042 *k = opaque;

    if (off == 0 && len == 1 && val == I8042_CMD_RESET_CPU)
        vmev_post(k->ev, VMEV_REBOOT);
}

const struct bus_ops i8042_data_bus_ops = {
    .read = read_zero,
    .write = write_data,
};

const struct bus_ops i8042_cmd_bus_ops = {
    .read = read_zero,
    .write = write_cmd,
};
