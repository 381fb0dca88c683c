#include "core/controller/snapshot_check.h"

#include <stdio.h>

static const char *id_or(const char *id, const char *dflt)
{
    return id ? id : dflt;
}

const char *snapshot_cfg_refusal(const struct cli_config *cfg, uint64_t mem_added, const char *verb,
                                 char *buf, size_t len)
{
    bool vmem = cfg->memory.hotplug_method == CLI_HOTPLUG_VIRTIO_MEM &&
                (cfg->memory.hotplug_size || cfg->memory.hotplugged_size);

    for (size_t i = 0; !vmem && i < cfg->nzones; i++)
        vmem = cfg->zones[i].hotplug_size || cfg->zones[i].hotplugged_size;
    if (cfg->ndevices || cfg->nuser_devices)
        snprintf(buf, len,
                 "cannot %s a VM with a passed-through device ('%s'): VFIO device state "
                 "is not migratable (as in Cloud Hypervisor v51.0)",
                 verb,
                 cfg->ndevices ? id_or(cfg->devices[0].id, "_vfio0")
                               : id_or(cfg->user_devices[0].id, "_vfio_user0"));
    else if (mem_added)
        snprintf(buf, len,
                 "cannot %s a VM with RAM hot-added by vm.resize yet (%llu MiB): state.json "
                 "does not hold the hot-added regions and DIMM slots",
                 verb, (unsigned long long)(mem_added >> 20));
    else if (vmem)
        snprintf(buf, len,
                 "cannot %s a VM with virtio-mem memory (hotplug_method=virtio-mem) yet: "
                 "state.json does not hold which blocks the guest plugged",
                 verb);
    else if (cfg->nzones)
        snprintf(buf, len, "cannot %s a VM with memory zones yet", verb);
    else if (cfg->npmem)
        snprintf(buf, len,
                 "cannot %s a VM with a virtio-pmem device ('%s') yet: the core serves it "
                 "and state.json does not hold its queue",
                 verb, id_or(cfg->pmem[0].id, "_pmem0"));
    else if (cfg->watchdog)
        snprintf(buf, len,
                 "cannot %s a VM with a virtio-watchdog yet: the core serves it and "
                 "state.json does not hold its queue and timer",
                 verb);
    else
        return NULL;
    return buf;
}
