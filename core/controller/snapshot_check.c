#include "core/controller/snapshot_check.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cli/cli_validate.h"

static const char *id_or(const char *id, const char *dflt)
{
    return id ? id : dflt;
}

/* The first pmem device whose file= is a directory (an unnamed temporary file), or NULL. */
static const struct cli_pmem *pmem_tmp(const struct cli_config *cfg)
{
    struct stat st;

    for (size_t i = 0; i < cfg->npmem; i++)
        if (cfg->pmem[i].file && !stat(cfg->pmem[i].file, &st) && S_ISDIR(st.st_mode))
            return &cfg->pmem[i];
    return NULL;
}

const char *snapshot_cfg_refusal(const struct cli_config *cfg, uint64_t mem_added, const char *verb,
                                 char *buf, size_t len)
{
    bool migrate = !strcmp(verb, "migrate");
    const struct cli_pmem *p;

    if (cfg->ndevices || cfg->nuser_devices)
        snprintf(buf, len,
                 "cannot %s a VM with a passed-through device ('%s'): VFIO device state "
                 "is not migratable (as in Cloud Hypervisor v51.0)",
                 verb,
                 cfg->ndevices ? id_or(cfg->devices[0].id, "_vfio0")
                               : id_or(cfg->user_devices[0].id, "_vfio_user0"));
    /* Snapshot and restore carry hot-added RAM, virtio-mem and zones (state.json version 3);
     * a migration's destination lays its memory out from config.json before any state comes,
     * which places virtio-mem's region but not the RAM vm.resize added. */
    else if (migrate && mem_added)
        snprintf(buf, len,
                 "cannot %s a VM with RAM hot-added by vm.resize yet (%llu MiB): the "
                 "destination lays its memory out before the state that places it arrives "
                 "(vm.snapshot and vm.restore carry it)",
                 verb, (unsigned long long)(mem_added >> 20));
    else if (migrate && cfg->npmem)
        snprintf(buf, len,
                 "cannot %s a VM with a virtio-pmem device ('%s') yet: its content is its file, "
                 "which the migration does not send (vm.snapshot and vm.restore carry the device)",
                 verb, id_or(cfg->pmem[0].id, "_pmem0"));
    /* The IOMMU's domains and the backends' IOTLBs are not in state.json yet. */
    else if (cli_vm_iommu(cfg))
        snprintf(buf, len,
                 "cannot %s a VM with a virtio-iommu yet (iommu=on or --platform "
                 "iommu_segments): its domains and mappings are not saved",
                 verb);
    else if ((p = pmem_tmp(cfg)))
        snprintf(buf, len,
                 "cannot %s a VM whose virtio-pmem device ('%s') has a directory as file= ('%s'): "
                 "its content is an unnamed temporary file that no restore can open again",
                 verb, id_or(p->id, "_pmem"), p->file);
    else
        return NULL;
    return buf;
}
