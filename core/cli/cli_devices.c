/* See cli_devices.h. */
#include "cli_devices.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ids of every device and memory zone share one namespace. */
static bool id_used(const struct cli_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->ndisks; i++)
        if (cfg->disks[i].id && !strcmp(cfg->disks[i].id, id))
            return true;
    for (size_t i = 0; i < cfg->nnets; i++)
        if (cfg->nets[i].id && !strcmp(cfg->nets[i].id, id))
            return true;
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (cfg->devices[i].id && !strcmp(cfg->devices[i].id, id))
            return true;
    for (size_t i = 0; i < cfg->nuser_devices; i++)
        if (cfg->user_devices[i].id && !strcmp(cfg->user_devices[i].id, id))
            return true;
    for (size_t i = 0; i < cfg->nfs; i++)
        if (cfg->fs[i].id && !strcmp(cfg->fs[i].id, id))
            return true;
    for (size_t i = 0; i < cfg->npmem; i++)
        if (cfg->pmem[i].id && !strcmp(cfg->pmem[i].id, id))
            return true;
    for (size_t i = 0; i < cfg->nzones; i++)
        if (cfg->zones[i].id && !strcmp(cfg->zones[i].id, id))
            return true;
    return cfg->vsock.present && cfg->vsock.id && !strcmp(cfg->vsock.id, id);
}

/* prefix<index>, the name devices_open() gives an unnamed device, or the next free one. */
static int fill_id(const struct cli_config *cfg, char **id, const char *prefix, size_t index)
{
    char name[40];

    if (*id)
        return 0;
    do
        snprintf(name, sizeof(name), "%s%zu", prefix, index++);
    while (id_used(cfg, name));
    *id = strdup(name);
    return *id ? 0 : -ENOMEM;
}

int cli_fill_device_ids(struct cli_config *cfg)
{
    int r = 0;

    for (size_t i = 0; !r && i < cfg->ndisks; i++)
        r = fill_id(cfg, &cfg->disks[i].id, "_disk", i);
    for (size_t i = 0; !r && i < cfg->nnets; i++)
        r = fill_id(cfg, &cfg->nets[i].id, "_net", i);
    if (!r && cfg->vsock.present)
        r = fill_id(cfg, &cfg->vsock.id, "_vsock", 0);
    for (size_t i = 0; !r && i < cfg->ndevices; i++)
        r = fill_id(cfg, &cfg->devices[i].id, "_vfio", i);
    for (size_t i = 0; !r && i < cfg->nuser_devices; i++)
        r = fill_id(cfg, &cfg->user_devices[i].id, "_vfio_user", i);
    for (size_t i = 0; !r && i < cfg->nfs; i++)
        r = fill_id(cfg, &cfg->fs[i].id, "_fs", i);
    for (size_t i = 0; !r && i < cfg->npmem; i++)
        r = fill_id(cfg, &cfg->pmem[i].id, "_pmem", i);
    return r;
}

/* Drops element i of an array of n elements of `size` bytes, keeping the order. */
static void drop(void *arr, size_t *n, size_t i, size_t size)
{
    char *a = arr;

    memmove(a + i * size, a + (i + 1) * size, (*n - i - 1) * size);
    (*n)--;
    memset(a + *n * size, 0, size);
}

int cli_remove_device(struct cli_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->ndisks; i++)
        if (cfg->disks[i].id && !strcmp(cfg->disks[i].id, id)) {
            cli_disk_free(&cfg->disks[i]);
            drop(cfg->disks, &cfg->ndisks, i, sizeof(*cfg->disks));
            return 0;
        }
    for (size_t i = 0; i < cfg->nnets; i++)
        if (cfg->nets[i].id && !strcmp(cfg->nets[i].id, id)) {
            cli_net_free(&cfg->nets[i]);
            drop(cfg->nets, &cfg->nnets, i, sizeof(*cfg->nets));
            return 0;
        }
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (cfg->devices[i].id && !strcmp(cfg->devices[i].id, id)) {
            cli_device_free(&cfg->devices[i]);
            drop(cfg->devices, &cfg->ndevices, i, sizeof(*cfg->devices));
            return 0;
        }
    for (size_t i = 0; i < cfg->nuser_devices; i++)
        if (cfg->user_devices[i].id && !strcmp(cfg->user_devices[i].id, id)) {
            cli_user_device_free(&cfg->user_devices[i]);
            drop(cfg->user_devices, &cfg->nuser_devices, i, sizeof(*cfg->user_devices));
            return 0;
        }
    for (size_t i = 0; i < cfg->nfs; i++)
        if (cfg->fs[i].id && !strcmp(cfg->fs[i].id, id)) {
            cli_fs_free(&cfg->fs[i]);
            drop(cfg->fs, &cfg->nfs, i, sizeof(*cfg->fs));
            return 0;
        }
    for (size_t i = 0; i < cfg->npmem; i++)
        if (cfg->pmem[i].id && !strcmp(cfg->pmem[i].id, id)) {
            cli_pmem_free(&cfg->pmem[i]);
            drop(cfg->pmem, &cfg->npmem, i, sizeof(*cfg->pmem));
            return 0;
        }
    if (cfg->vsock.present && cfg->vsock.id && !strcmp(cfg->vsock.id, id)) {
        cli_vsock_free(&cfg->vsock);
        memset(&cfg->vsock, 0, sizeof(cfg->vsock));
        return 0;
    }
    return -ENOENT;
}
