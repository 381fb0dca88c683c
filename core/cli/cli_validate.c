/* Cross-option checks; see cli_validate.h. */
#include "cli_validate.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cli_util.h"

/* Ids of every device and zone share one namespace, as in CH. */
static int check_unique_id(const char *opt, const char *id, const char *const *ids, size_t nids,
                           char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];
    size_t i;

    for (i = 0; i < nids; i++) {
        if (!strcmp(ids[i], id)) {
            optparse_show(id, shown, sizeof(shown));
            cli_err(err, errlen, "%s: invalid value for 'id': '%s' (already used)", opt, shown);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_ids(const struct cli_config *cfg, char *err, size_t errlen)
{
    const char *ids[CLI_MAX_DISKS + CLI_MAX_NETS + CLI_MAX_DEVICES + CLI_MAX_USER_DEVS +
                    CLI_MAX_FS + CLI_MAX_PMEM + CLI_MAX_ZONES + CLI_MAX_RL_GROUPS + 1];
    size_t n = 0, i;

#define ADD_ID(opt, id)                                                \
    do {                                                               \
        if ((id) && check_unique_id(opt, id, ids, n, err, errlen) < 0) \
            return -EINVAL;                                            \
        if (id)                                                        \
            ids[n++] = (id);                                           \
    } while (0)

    for (i = 0; i < cfg->ndisks; i++)
        ADD_ID("--disk", cfg->disks[i].id);
    for (i = 0; i < cfg->nnets; i++)
        ADD_ID("--net", cfg->nets[i].id);
    if (cfg->vsock.present)
        ADD_ID("--vsock", cfg->vsock.id);
    for (i = 0; i < cfg->ndevices; i++)
        ADD_ID("--device", cfg->devices[i].id);
    for (i = 0; i < cfg->nuser_devices; i++)
        ADD_ID("--user-device", cfg->user_devices[i].id);
    for (i = 0; i < cfg->nfs; i++)
        ADD_ID("--fs", cfg->fs[i].id);
    for (i = 0; i < cfg->npmem; i++)
        ADD_ID("--pmem", cfg->pmem[i].id);
    for (i = 0; i < cfg->nzones; i++)
        ADD_ID("--memory-zone", cfg->zones[i].id);
    for (i = 0; i < cfg->nrl_groups; i++)
        ADD_ID("--rate-limit-group", cfg->rl_groups[i].id);
#undef ADD_ID
    return 0;
}

/* A disk's rate_limit_group names a --rate-limit-group (CH: InvalidRateLimiterGroup). */
static int check_rl_groups(const struct cli_config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->ndisks; i++) {
        const char *g = cfg->disks[i].rate_limit_group;
        bool found = false;

        for (size_t j = 0; g && j < cfg->nrl_groups && !found; j++)
            found = !strcmp(cfg->rl_groups[j].id, g);
        if (g && !found) {
            char shown[OPTPARSE_MAX_SHOWN + 8];

            optparse_show(g, shown, sizeof(shown));
            cli_err(err, errlen,
                    "--disk: invalid value for 'rate_limit_group': '%s' (no --rate-limit-group "
                    "with that id)",
                    shown);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_queues(const struct cli_config *cfg, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < cfg->ndisks; i++) {
        if (cfg->disks[i].num_queues > cfg->cpus.boot) {
            cli_err(err, errlen,
                    "--disk: invalid value for 'num_queues': '%u' (more than the %u "
                    "boot vCPUs)",
                    cfg->disks[i].num_queues, cfg->cpus.boot);
            return -EINVAL;
        }
    }
    for (i = 0; i < cfg->nnets; i++) {
        if (cfg->nets[i].num_queues / 2u > cfg->cpus.boot) {
            cli_err(err, errlen,
                    "--net: invalid value for 'num_queues': '%u' (more queue pairs "
                    "than the %u boot vCPUs)",
                    cfg->nets[i].num_queues, cfg->cpus.boot);
            return -EINVAL;
        }
    }
    return 0;
}

/* virtio-mem regions: Cloud Hypervisor's rules (a hotplug_size is not 0; the region is
 * 128 MiB aligned, a block 2 MiB; hotplugged_size needs a hotplug_size at least as large and
 * not the acpi method), cellvm's 1 TiB cap and its one fd per zone and region. */
static int check_vmem_size(const char *opt, bool has, uint64_t size, bool has_plugged,
                           uint64_t plugged, enum cli_hotplug_method method, char *err,
                           size_t errlen)
{
    if (has_plugged && method == CLI_HOTPLUG_ACPI) {
        cli_err(err, errlen,
                "%s: invalid value for 'hotplugged_size': '%llu' (not with "
                "hotplug_method=acpi)",
                opt, (unsigned long long)plugged);
        return -EINVAL;
    }
    if (has_plugged && (!has || plugged > size || plugged % CLI_VMEM_BLOCK)) {
        cli_err(err, errlen,
                "%s: invalid value for 'hotplugged_size': '%llu' (needs a hotplug_size at "
                "least as large, in multiples of 2 MiB)",
                opt, (unsigned long long)plugged);
        return -EINVAL;
    }
    if (has && method == CLI_HOTPLUG_VIRTIO_MEM &&
        (!size || size % CLI_VMEM_ALIGN || size > CLI_MAX_HOTPLUG)) {
        cli_err(err, errlen,
                "%s: invalid value for 'hotplug_size': '%llu' (virtio-mem needs a multiple "
                "of 128 MiB, 1 TiB at most)",
                opt, (unsigned long long)size);
        return -EINVAL;
    }
    return 0;
}

static int check_virtio_mem(const struct cli_config *cfg, char *err, size_t errlen)
{
    const struct cli_memory *m = &cfg->memory;
    size_t nfds = cfg->nzones ? cfg->nzones : 1;
    int r;

    if (m->has_hotplug_size && m->hotplug_method == CLI_HOTPLUG_VIRTIO_MEM && cfg->nzones) {
        cli_err(err, errlen,
                "--memory: invalid value for 'hotplug_size': '%llu' (with --memory-zone, "
                "each zone has its own hotplug_size)",
                (unsigned long long)m->hotplug_size);
        return -EINVAL;
    }
    r = check_vmem_size("--memory", m->has_hotplug_size, m->hotplug_size, m->has_hotplugged_size,
                        m->hotplugged_size, m->hotplug_method, err, errlen);
    nfds += m->has_hotplug_size && m->hotplug_method == CLI_HOTPLUG_VIRTIO_MEM;
    for (size_t i = 0; !r && i < cfg->nzones; i++) {
        const struct cli_memory_zone *z = &cfg->zones[i];

        r = check_vmem_size("--memory-zone", z->has_hotplug_size, z->hotplug_size,
                            z->has_hotplugged_size, z->hotplugged_size, m->hotplug_method, err,
                            errlen);
        nfds += z->has_hotplug_size;
    }
    if (!r && nfds > CLI_MAX_MEM_FDS) {
        cli_err(err, errlen,
                "--memory-zone: known but not supported yet: %zu zones and virtio-mem regions "
                "(cellvm's limit is %d)",
                nfds, CLI_MAX_MEM_FDS);
        return -EINVAL;
    }
    /* The pmem files travel in the same message: its other fds leave room for one more. */
    if (!r && nfds + cfg->npmem > CLI_MAX_MEM_FDS + 1) {
        cli_err(err, errlen,
                "--pmem: known but not supported yet: %zu files with %zu zones and virtio-mem "
                "regions (cellvm's limit is %d together)",
                cfg->npmem, nfds, CLI_MAX_MEM_FDS + 1);
        return -EINVAL;
    }
    return r;
}

static int check_zones(const struct cli_config *cfg, char *err, size_t errlen)
{
    uint64_t total = cfg->memory.size;
    size_t i;

    /* CH: --memory size=0 means "the zones are the RAM"; any other size excludes zones. */
    if (cfg->memory.size == 0 && !cfg->nzones) {
        cli_err(err, errlen, "--memory: invalid value for 'size': '0' (only with --memory-zone)");
        return -EINVAL;
    }
    if (cfg->memory.size != 0 && cfg->nzones) {
        cli_err(err, errlen, "--memory-zone: needs --memory size=0");
        return -EINVAL;
    }
    /* ACPI memory hotplug grows the default memory only (Cloud Hypervisor's resize refuses
     * zones); cellvm caps the area as it caps RAM. */
    if (cfg->memory.has_hotplug_size && cfg->memory.hotplug_method == CLI_HOTPLUG_ACPI &&
        (cfg->nzones || cfg->memory.hotplug_size > CLI_MAX_HOTPLUG)) {
        cli_err(err, errlen,
                cfg->nzones ? "--memory: invalid value for 'hotplug_size': '%llu' (with "
                              "hotplug_method=acpi it needs --memory size>0 and no "
                              "--memory-zone)"
                            : "--memory: known but not supported yet: hotplug_size=%llu "
                              "(cellvm's limit is 1 TiB)",
                (unsigned long long)cfg->memory.hotplug_size);
        return -EINVAL;
    }
    if (check_virtio_mem(cfg, err, errlen))
        return -EINVAL;
    for (i = 0; i < cfg->nzones; i++) {
        const struct cli_memory_zone *z = &cfg->zones[i];

        if ((z->has_hotplug_size || z->has_hotplugged_size) &&
            cfg->memory.hotplug_method == CLI_HOTPLUG_ACPI) {
            cli_err(err, errlen,
                    "--memory-zone: invalid value for '%s' (needs --memory "
                    "hotplug_method=virtio-mem)",
                    z->has_hotplug_size ? "hotplug_size" : "hotplugged_size");
            return -EINVAL;
        }
        if (total + z->size < total) {
            cli_err(err, errlen,
                    "--memory-zone: invalid value for 'size': total memory "
                    "overflows");
            return -EINVAL;
        }
        total += z->size;
    }
    return 0;
}

static const struct cli_memory_zone *find_zone(const struct cli_config *cfg, const char *id)
{
    size_t i;

    for (i = 0; i < cfg->nzones; i++)
        if (!strcmp(cfg->zones[i].id, id))
            return &cfg->zones[i];
    return NULL;
}

/* Whether a PCI device (--disk, --net, --vsock, --device) has this id. */
static bool pci_device_has_id(const struct cli_config *cfg, const char *id)
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
    return cfg->vsock.present && cfg->vsock.id && !strcmp(cfg->vsock.id, id);
}

/* device_id makes the node a Generic Initiator node for one PCI device: the device must exist
 * and can be the initiator of one node only. */
static int check_numa_device(const struct cli_config *cfg, size_t idx, char *err, size_t errlen)
{
    const struct cli_numa *node = &cfg->numa[idx];
    char shown[OPTPARSE_MAX_SHOWN + 8];

    if (!node->device_id)
        return 0;
    optparse_show(node->device_id, shown, sizeof(shown));
    if (!pci_device_has_id(cfg, node->device_id)) {
        cli_err(err, errlen,
                "--numa: invalid value for 'device_id': '%s' (no --disk, --net, --vsock or "
                "--device has that id)",
                shown);
        return -EINVAL;
    }
    for (size_t j = 0; j < idx; j++) {
        if (cfg->numa[j].device_id && !strcmp(cfg->numa[j].device_id, node->device_id)) {
            cli_err(err, errlen, "--numa: invalid value for 'device_id': '%s' (already on node %u)",
                    shown, cfg->numa[j].guest_numa_id);
            return -EINVAL;
        }
    }
    return 0;
}

static int check_numa_node(const struct cli_config *cfg, size_t idx, char *err, size_t errlen)
{
    const struct cli_numa *node = &cfg->numa[idx];
    char shown[OPTPARSE_MAX_SHOWN + 8];
    size_t i, j, k;

    for (j = 0; j < idx; j++) {
        if (cfg->numa[j].guest_numa_id == node->guest_numa_id) {
            cli_err(err, errlen, "--numa: invalid value for 'guest_numa_id': '%u' (given twice)",
                    node->guest_numa_id);
            return -EINVAL;
        }
    }
    for (i = 0; i < node->cpus.n; i++) {
        if (node->cpus.v[i] >= cfg->cpus.max) {
            cli_err(err, errlen, "--numa: invalid value for 'cpus': vCPU %u (max is %u)",
                    node->cpus.v[i], cfg->cpus.max);
            return -EINVAL;
        }
    }
    for (i = 0; i < node->memory_zones.n; i++) {
        const char *zone = node->memory_zones.v[i];

        optparse_show(zone, shown, sizeof(shown));
        if (!find_zone(cfg, zone)) {
            cli_err(err, errlen,
                    "--numa: invalid value for 'memory_zones': '%s' (no such "
                    "--memory-zone)",
                    shown);
            return -EINVAL;
        }
        for (j = 0; j <= idx; j++) {
            const struct optparse_str_list *other = &cfg->numa[j].memory_zones;

            for (k = 0; k < (j == idx ? i : other->n); k++) {
                if (!strcmp(other->v[k], zone)) {
                    cli_err(err, errlen,
                            "--numa: invalid value for 'memory_zones': '%s' (zone "
                            "already on a node)",
                            shown);
                    return -EINVAL;
                }
            }
        }
    }
    /* Cloud Hypervisor's rules: the segment exists, segment 0 (the default) is on node 0, and
     * a segment is on one node only. */
    for (i = 0; i < node->pci_segments.n; i++) {
        uint32_t seg = node->pci_segments.v[i];

        if (seg >= cli_num_pci_segments(cfg)) {
            cli_err(err, errlen,
                    "--numa: invalid value for 'pci_segments': Invalid PCI segment id: %u "
                    "(--platform num_pci_segments=%u)",
                    seg, cli_num_pci_segments(cfg));
            return -EINVAL;
        }
        if (seg == 0 && node->guest_numa_id != 0) {
            cli_err(err, errlen,
                    "--numa: invalid value for 'pci_segments': Default PCI segment assigned to "
                    "non-zero NUMA node %u",
                    node->guest_numa_id);
            return -EINVAL;
        }
        for (j = 0; j <= idx; j++) {
            const struct optparse_u32_list *other = &cfg->numa[j].pci_segments;

            for (k = 0; k < (j == idx ? i : other->n); k++) {
                if (other->v[k] != seg)
                    continue;
                if (j == idx) {
                    cli_err(err, errlen,
                            "--numa: invalid value for 'pci_segments': segment %u given twice",
                            seg);
                    return -EINVAL;
                }
                cli_err(err, errlen,
                        "--numa: invalid value for 'pci_segments': PCI segment: %u belongs to "
                        "multiple NUMA nodes %u and %u",
                        seg, cfg->numa[j].guest_numa_id, node->guest_numa_id);
                return -EINVAL;
            }
        }
    }
    return 0;
}

static const struct cli_numa *find_node(const struct cli_config *cfg, uint32_t id)
{
    for (size_t i = 0; i < cfg->nnuma; i++)
        if (cfg->numa[i].guest_numa_id == id)
            return &cfg->numa[i];
    return NULL;
}

/* Distances name nodes that exist; a node is 10 from itself and further from any other (Linux
 * ignores a SLIT with a remote distance of 10 or less; 255 means unreachable). */
static int check_distances(const struct cli_config *cfg, const struct cli_numa *node, char *err,
                           size_t errlen)
{
    for (size_t i = 0; i < node->ndistances; i++) {
        const struct cli_numa_distance *d = &node->distances[i];
        bool self = d->destination == node->guest_numa_id;

        if (!find_node(cfg, d->destination)) {
            cli_err(err, errlen,
                    "--numa: invalid value for 'distances': node %u has a distance to node %u, "
                    "which does not exist",
                    node->guest_numa_id, d->destination);
            return -EINVAL;
        }
        if (self ? d->distance != 10 : d->distance <= 10 || d->distance == 255) {
            cli_err(err, errlen,
                    "--numa: invalid value for 'distances': %u from node %u to node %u (%s)",
                    d->distance, node->guest_numa_id, d->destination,
                    self ? "a node is 10 from itself" : "from 11 to 254 between two nodes");
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (node->distances[j].destination == d->destination) {
                cli_err(err, errlen,
                        "--numa: invalid value for 'distances': node %u gives its distance to "
                        "node %u twice",
                        node->guest_numa_id, d->destination);
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* With --numa, every vCPU up to max and every memory zone sits on exactly one node. */
static int check_numa_cover(const struct cli_config *cfg, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];
    uint32_t vcpu;
    size_t i, j, k;

    if (!cfg->nnuma)
        return 0;
    for (vcpu = 0; vcpu < cfg->cpus.max; vcpu++) {
        const struct cli_numa *on = NULL;

        for (i = 0; i < cfg->nnuma; i++) {
            for (j = 0; j < cfg->numa[i].cpus.n; j++) {
                if (cfg->numa[i].cpus.v[j] != vcpu)
                    continue;
                if (on && on != &cfg->numa[i]) {
                    cli_err(err, errlen,
                            "--numa: invalid value for 'cpus': vCPU %u is on nodes %u and %u", vcpu,
                            on->guest_numa_id, cfg->numa[i].guest_numa_id);
                    return -EINVAL;
                }
                on = &cfg->numa[i];
            }
        }
        if (!on) {
            cli_err(err, errlen,
                    "--numa: vCPU %u is on no node (with --numa every vCPU up to max=%u needs "
                    "one)",
                    vcpu, cfg->cpus.max);
            return -EINVAL;
        }
    }
    for (k = 0; k < cfg->nzones; k++) {
        bool found = false;

        for (i = 0; i < cfg->nnuma && !found; i++)
            for (j = 0; j < cfg->numa[i].memory_zones.n && !found; j++)
                found = !strcmp(cfg->numa[i].memory_zones.v[j], cfg->zones[k].id);
        if (!found) {
            optparse_show(cfg->zones[k].id, shown, sizeof(shown));
            cli_err(err, errlen,
                    "--numa: memory zone '%s' is on no node (with --numa every --memory-zone "
                    "needs one)",
                    shown);
            return -EINVAL;
        }
    }
    for (i = 0; i < cfg->nnuma; i++) {
        int r = check_distances(cfg, &cfg->numa[i], err, errlen);

        if (r < 0)
            return r;
    }
    return 0;
}

uint32_t cli_num_pci_segments(const struct cli_config *cfg)
{
    return cfg->platform.num_pci_segments ? cfg->platform.num_pci_segments : 1;
}

bool cli_iommu_segment(const struct cli_config *cfg, uint32_t seg)
{
    for (size_t i = 0; i < cfg->platform.niommu_segments; i++)
        if (cfg->platform.iommu_segments[i] == seg)
            return true;
    return false;
}

bool cli_vm_iommu(const struct cli_config *cfg)
{
    bool any = cfg->platform.niommu_segments || (cfg->vsock.present && cfg->vsock.iommu) ||
               (cfg->rng.present && cfg->rng.iommu) ||
               (cfg->console.mode != CLI_CONSOLE_OFF && cfg->console.iommu);

    for (size_t i = 0; !any && i < cfg->ndisks; i++)
        any = cfg->disks[i].iommu;
    for (size_t i = 0; !any && i < cfg->nnets; i++)
        any = cfg->nets[i].iommu;
    return any;
}

/* What a device can do behind the virtio-iommu: be placed there (iommu=on), or not at all. */
enum iommu_able { IOMMU_CAN, IOMMU_CANNOT };

/* Behind the IOMMU a device process needs each part of a ring contiguous in its memory; the
 * guest maps a ring page by page, and up to 256 entries each part fits one 4 KiB page. */
static int check_iommu_ring(const char *opt, uint32_t queue_size, char *err, size_t errlen)
{
    if (queue_size <= 256)
        return 0;
    cli_err(err, errlen,
            "%s: known but not supported yet: iommu=on with queue_size=%u (at most 256 behind the "
            "IOMMU)",
            opt, queue_size);
    return -EINVAL;
}

/* The segment exists, and Cloud Hypervisor's rules for the virtio-iommu: a vhost-user device
 * cannot sit behind it, and every device on an IOMMU segment must (iommu=on). */
static int check_segment(const struct cli_config *cfg, const char *opt, uint32_t seg, bool iommu,
                         enum iommu_able able, char *err, size_t errlen)
{
    if (seg >= cli_num_pci_segments(cfg)) {
        cli_err(err, errlen,
                "%s: invalid value for 'pci_segment': Invalid PCI segment id: %u (--platform "
                "num_pci_segments=%u)",
                opt, seg, cli_num_pci_segments(cfg));
        return -EINVAL;
    }
    if (iommu && able == IOMMU_CANNOT) {
        cli_err(err, errlen, "%s: Device does not support being placed behind IOMMU", opt);
        return -EINVAL;
    }
    if (!cli_iommu_segment(cfg, seg))
        return 0;
    if (able == IOMMU_CANNOT)
        cli_err(err, errlen,
                "%s: Device is on an IOMMU PCI segment (%u) but does not support being placed "
                "behind IOMMU",
                opt, seg);
    else if (!iommu)
        cli_err(err, errlen,
                "%s: Device is on an IOMMU PCI segment (%u) but not placed behind IOMMU (add "
                "iommu=on)",
                opt, seg);
    return able == IOMMU_CANNOT || !iommu ? -EINVAL : 0;
}

/* Every PCI device sits on a segment --platform created, behind the IOMMU when it is an IOMMU
 * segment. */
static int check_segments(const struct cli_config *cfg, char *err, size_t errlen)
{
    int r = 0;

    for (size_t i = 0; !r && i < cfg->ndisks; i++)
        r = check_segment(cfg, "--disk", cfg->disks[i].pci_segment, cfg->disks[i].iommu,
                          cfg->disks[i].vhost_user ? IOMMU_CANNOT : IOMMU_CAN, err, errlen);
    for (size_t i = 0; !r && i < cfg->nnets; i++) {
        r = check_segment(cfg, "--net", cfg->nets[i].pci_segment, cfg->nets[i].iommu,
                          cfg->nets[i].vhost_user ? IOMMU_CANNOT : IOMMU_CAN, err, errlen);
        /* The core serves the control queue, and its queue code reads guest-physical
         * addresses only: behind the IOMMU a NIC has no control queue, so one pair. */
        if (!r && cfg->nets[i].iommu && cfg->nets[i].num_queues > 2) {
            cli_err(err, errlen,
                    "--net: known but not supported yet: iommu=on with num_queues=%u (one queue "
                    "pair behind the IOMMU)",
                    cfg->nets[i].num_queues);
            r = -EINVAL;
        }
        if (!r && cfg->nets[i].iommu)
            r = check_iommu_ring("--net", cfg->nets[i].queue_size, err, errlen);
    }
    for (size_t i = 0; !r && i < cfg->ndisks; i++)
        if (cfg->disks[i].iommu)
            r = check_iommu_ring("--disk", cfg->disks[i].queue_size, err, errlen);
    if (!r && cfg->vsock.present)
        r = check_segment(cfg, "--vsock", cfg->vsock.pci_segment, cfg->vsock.iommu, IOMMU_CAN, err,
                          errlen);
    /* VFIO behind the virtio-iommu needs cellvm-vfiod to follow the guest's mappings: not yet
     * (iommu=on on --device is refused as not supported, so it never gets here on). */
    for (size_t i = 0; !r && i < cfg->ndevices; i++)
        r = check_segment(cfg, "--device", cfg->devices[i].pci_segment, false, IOMMU_CAN, err,
                          errlen);
    for (size_t i = 0; !r && i < cfg->nuser_devices; i++)
        r = check_segment(cfg, "--user-device", cfg->user_devices[i].pci_segment, false,
                          IOMMU_CANNOT, err, errlen);
    for (size_t i = 0; !r && i < cfg->nfs; i++)
        r = check_segment(cfg, "--fs", cfg->fs[i].pci_segment, false, IOMMU_CANNOT, err, errlen);
    for (size_t i = 0; !r && i < cfg->npmem; i++)
        r = check_segment(cfg, "--pmem", cfg->pmem[i].pci_segment, false, IOMMU_CAN, err, errlen);
    return r;
}

/* What Cloud Hypervisor accepts but cellvm cannot hold yet. */
static int check_limits(const struct cli_config *cfg, char *err, size_t errlen)
{
    if (cfg->nzones > CLI_MAX_GUEST_ZONES) {
        cli_err(err, errlen,
                "--memory-zone: known but not supported yet: %zu zones (cellvm's limit is %d)",
                cfg->nzones, CLI_MAX_GUEST_ZONES);
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->nnuma; i++) {
        if (cfg->numa[i].guest_numa_id > CLI_MAX_NUMA_ID) {
            cli_err(err, errlen,
                    "--numa: known but not supported yet: guest_numa_id=%u (cellvm's limit is "
                    "%d)",
                    cfg->numa[i].guest_numa_id, CLI_MAX_NUMA_ID);
            return -EINVAL;
        }
    }
    return 0;
}

uint64_t cli_ram_size(const struct cli_config *cfg)
{
    uint64_t ram = cfg->memory.size;

    for (size_t i = 0; i < cfg->nzones; i++)
        ram += cfg->zones[i].size; /* each at most 1 TiB, at most CLI_MAX_ZONES of them */
    return ram;
}

int cli_check_balloon(const struct cli_config *cfg, uint64_t size, char *err, size_t errlen)
{
    uint64_t ram = cli_ram_size(cfg);

    if (size < ram)
        return 0;
    cli_err(err, errlen, "--balloon: size (%llu) must be smaller than the RAM (%llu)",
            (unsigned long long)size, (unsigned long long)ram);
    return -EINVAL;
}

int cli_validate(struct cli_config *cfg, char *err, size_t errlen)
{
    size_t i;
    int r;

    r = check_queues(cfg, err, errlen);
    if (r == 0)
        r = check_ids(cfg, err, errlen);
    if (r == 0)
        r = check_rl_groups(cfg, err, errlen);
    if (r == 0)
        r = check_segments(cfg, err, errlen);
    if (r == 0)
        r = check_zones(cfg, err, errlen);
    for (i = 0; r == 0 && i < cfg->nnuma; i++) {
        r = check_numa_node(cfg, i, err, errlen);
        if (r == 0)
            r = check_numa_device(cfg, i, err, errlen);
    }
    if (r == 0)
        r = check_numa_cover(cfg, err, errlen);
    if (r == 0)
        r = check_limits(cfg, err, errlen);
    if (r == 0 && cfg->balloon.present)
        r = cli_check_balloon(cfg, cfg->balloon.size, err, errlen);
    if (r < 0)
        return r;
    if (cfg->serial.mode == CLI_CONSOLE_TTY && cfg->console.mode == CLI_CONSOLE_TTY)
        cli_warn(cfg, "--serial and --console both use the terminal");
    return 0;
}
