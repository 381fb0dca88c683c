/* The other way (api_cfg.h): a parsed configuration as the API's VmConfig (vm.info), and the
 * configuration edits of the device endpoints. */
#include "core/controller/api_cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli_devices.h"
#include "core/cli/cli_validate.h"
#include "core/controller/api_cfg_rl.h"
#include "devspec/optparse.h"

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = s ? strdup(s) : NULL;

    if (s && !d)
        *oom = true;
    return d;
}

/* A zeroed message of type d, initialised; owned by the caller's tree. */
static void *new_msg(const ProtobufCMessageDescriptor *d, bool *oom)
{
    ProtobufCMessage *m = calloc(1, d->sizeof_message);

    if (!m) {
        *oom = true;
        return NULL;
    }
    protobuf_c_message_init(d, m);
    return m;
}

#define SET(msg, field, val)    \
    do {                        \
        (msg)->field = (val);   \
        (msg)->has_##field = 1; \
    } while (0)

/* --platform as vm.info shows it: the SMBIOS strings and the uuid as they were given. */
static Cellvm__ApiPlatformConfig *platform_of(const struct cli_platform *p, bool *oom)
{
    Cellvm__ApiPlatformConfig *m = new_msg(&cellvm__api_platform_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, num_pci_segments, p->num_pci_segments);
    if (p->niommu_segments) {
        m->iommu_segments = calloc(p->niommu_segments, sizeof(*m->iommu_segments));
        *oom = *oom || !m->iommu_segments;
        for (size_t i = 0; m->iommu_segments && i < p->niommu_segments; i++)
            m->iommu_segments[m->n_iommu_segments++] = p->iommu_segments[i];
    }
    SET(m, iommu_address_width, p->iommu_address_width);
    m->serial_number = dup_or_null(p->serial_number, oom);
    m->uuid = dup_or_null(p->uuid, oom);
    if (p->noem_strings) {
        m->oem_strings = calloc(p->noem_strings, sizeof(*m->oem_strings));
        for (size_t i = 0; m->oem_strings && i < p->noem_strings; i++) {
            m->oem_strings[i] = dup_or_null(p->oem_strings[i], oom);
            if (!m->oem_strings[i])
                break;
            m->n_oem_strings++;
        }
        *oom = *oom || !m->oem_strings;
    }
    return m;
}

static const char *const console_modes[] = {
    [CLI_CONSOLE_OFF] = "Off", [CLI_CONSOLE_NULL] = "Null", [CLI_CONSOLE_PTY] = "Pty",
    [CLI_CONSOLE_TTY] = "Tty", [CLI_CONSOLE_FILE] = "File", [CLI_CONSOLE_SOCKET] = "Socket",
};

static Cellvm__ApiConsoleConfig *console_of(const struct cli_console *c, bool *oom)
{
    Cellvm__ApiConsoleConfig *m = new_msg(&cellvm__api_console_config__descriptor, oom);

    if (!m)
        return NULL;
    m->mode = dup_or_null(console_modes[c->mode], oom);
    /* pty: the path the controller allocated, which Cloud Hypervisor reports as `file`. */
    if ((c->mode == CLI_CONSOLE_FILE || c->mode == CLI_CONSOLE_PTY) && c->path)
        m->file = dup_or_null(c->path, oom);
    else if (c->mode == CLI_CONSOLE_SOCKET)
        m->socket = dup_or_null(c->path, oom);
    SET(m, iommu, c->iommu);
    return m;
}

static Cellvm__ApiCpusConfig *cpus_of(const struct cli_cpus *c, bool *oom)
{
    Cellvm__ApiCpusConfig *m = new_msg(&cellvm__api_cpus_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, boot_vcpus, c->boot);
    SET(m, max_vcpus, c->max ? c->max : c->boot);
    SET(m, kvm_hyperv, c->kvm_hyperv);
    SET(m, max_phys_bits, c->max_phys_bits);
    SET(m, nested, c->nested);
    if (c->has_topology) {
        m->topology = new_msg(&cellvm__api_cpu_topology__descriptor, oom);
        if (m->topology) {
            SET(m->topology, threads_per_core, c->topology.threads_per_core);
            SET(m->topology, cores_per_die, c->topology.cores_per_die);
            SET(m->topology, dies_per_package, c->topology.dies_per_package);
            SET(m->topology, packages, c->topology.packages);
        }
    }
    m->features = new_msg(&cellvm__api_cpu_features__descriptor, oom);
    if (m->features)
        SET(m->features, amx, c->amx);
    return m;
}

static Cellvm__ApiMemoryConfig *memory_of(const struct cli_config *cfg, bool *oom)
{
    const struct cli_memory *c = &cfg->memory;
    Cellvm__ApiMemoryConfig *m = new_msg(&cellvm__api_memory_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, size, c->size);
    SET(m, mergeable, c->mergeable);
    SET(m, shared, c->shared);
    SET(m, hugepages, c->hugepages);
    SET(m, prefault, c->prefault);
    SET(m, thp, c->thp);
    if (c->has_hugepage_size)
        SET(m, hugepage_size, c->hugepage_size);
    if (c->has_hotplug_size)
        SET(m, hotplug_size, c->hotplug_size);
    if (c->has_hotplugged_size)
        SET(m, hotplugged_size, c->hotplugged_size);
    m->hotplug_method =
        dup_or_null(c->hotplug_method == CLI_HOTPLUG_VIRTIO_MEM ? "VirtioMem" : "Acpi", oom);
    if (!cfg->nzones)
        return m;
    m->zones = calloc(cfg->nzones, sizeof(*m->zones));
    if (!m->zones) {
        *oom = true;
        return m;
    }
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct cli_memory_zone *z = &cfg->zones[i];
        Cellvm__ApiMemoryZoneConfig *mz = new_msg(&cellvm__api_memory_zone_config__descriptor, oom);

        if (!mz)
            break;
        m->zones[m->n_zones++] = mz;
        mz->id = dup_or_null(z->id, oom);
        SET(mz, size, z->size);
        mz->file = dup_or_null(z->file, oom);
        SET(mz, shared, z->shared);
        SET(mz, hugepages, z->hugepages);
        SET(mz, prefault, z->prefault);
        if (z->has_hugepage_size)
            SET(mz, hugepage_size, z->hugepage_size);
        if (z->has_host_numa_node)
            SET(mz, host_numa_node, z->host_numa_node);
        if (z->has_hotplug_size)
            SET(mz, hotplug_size, z->hotplug_size);
        if (z->has_hotplugged_size) /* follows vm.resize-zone, as Cloud Hypervisor's config */
            SET(mz, hotplugged_size, z->hotplugged_size);
    }
    return m;
}

static Cellvm__ApiDiskConfig *disk_of(const struct cli_disk *d, bool *oom)
{
    static const char *const types[] = {
        [CLI_IMAGE_UNKNOWN] = NULL,   [CLI_IMAGE_RAW] = "Raw",   [CLI_IMAGE_QCOW2] = "Qcow2",
        [CLI_IMAGE_VHD] = "FixedVhd", [CLI_IMAGE_VHDX] = "Vhdx",
    };
    Cellvm__ApiDiskConfig *m = new_msg(&cellvm__api_disk_config__descriptor, oom);

    if (!m)
        return NULL;
    m->path = dup_or_null(d->path, oom);
    m->vhost_socket = dup_or_null(d->socket, oom);
    m->id = dup_or_null(d->id, oom);
    m->serial = dup_or_null(d->serial, oom);
    m->image_type = dup_or_null(types[d->image_type], oom);
    SET(m, readonly, d->readonly);
    SET(m, direct, d->direct);
    SET(m, iommu, d->iommu);
    SET(m, vhost_user, d->vhost_user);
    SET(m, backing_files, d->backing_files);
    SET(m, sparse, d->sparse);
    SET(m, num_queues, d->num_queues);
    SET(m, queue_size, d->queue_size);
    SET(m, pci_segment, d->pci_segment);
    m->rate_limiter_config = api_rl_of(&d->rl, oom);
    m->rate_limit_group = dup_or_null(d->rate_limit_group, oom);
    return m;
}

static char *ip_of(bool has, const struct cli_ip *ip, bool *oom)
{
    char buf[INET6_ADDRSTRLEN];

    if (!has || !inet_ntop(ip->family, ip->addr, buf, sizeof(buf)))
        return NULL;
    return dup_or_null(buf, oom);
}

static char *mac_of(bool has, const uint8_t *a, bool *oom)
{
    char buf[18];

    if (!has)
        return NULL;
    snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
    return dup_or_null(buf, oom);
}

/* TAP fds (fd=[...]) are not shown: the NetConfig of vm.info has no field for them here. */
static Cellvm__ApiNetConfig *net_of(const struct cli_net *n, bool *oom)
{
    Cellvm__ApiNetConfig *m = new_msg(&cellvm__api_net_config__descriptor, oom);

    if (!m)
        return NULL;
    m->tap = n->tap && n->tap[0] ? dup_or_null(n->tap, oom) : NULL;
    m->ip = ip_of(n->has_ip, &n->ip, oom);
    m->mask = ip_of(n->has_mask, &n->mask, oom);
    m->mac = mac_of(n->has_mac, n->mac, oom);
    m->host_mac = mac_of(n->has_host_mac, n->host_mac, oom);
    if (n->has_mtu)
        SET(m, mtu, n->mtu);
    SET(m, iommu, n->iommu);
    SET(m, num_queues, n->num_queues);
    SET(m, queue_size, n->queue_size);
    SET(m, vhost_user, n->vhost_user);
    m->vhost_socket = dup_or_null(n->socket, oom);
    m->vhost_mode = dup_or_null(n->vhost_mode == CLI_VHOST_SERVER ? "Server" : "Client", oom);
    m->id = dup_or_null(n->id, oom);
    SET(m, pci_segment, n->pci_segment);
    SET(m, offload_tso, n->offload_tso);
    SET(m, offload_ufo, n->offload_ufo);
    SET(m, offload_csum, n->offload_csum);
    m->rate_limiter_config = api_rl_of(&n->rl, oom);
    return m;
}

static Cellvm__ApiVsockConfig *vsock_of(const struct cli_vsock *v, bool *oom)
{
    Cellvm__ApiVsockConfig *m = new_msg(&cellvm__api_vsock_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, cid, v->cid);
    m->socket = dup_or_null(v->socket, oom);
    m->id = dup_or_null(v->id, oom);
    SET(m, iommu, v->iommu);
    SET(m, pci_segment, v->pci_segment);
    return m;
}

static Cellvm__ApiRngConfig *rng_of(const struct cli_rng *rc, bool *oom)
{
    Cellvm__ApiRngConfig *m = new_msg(&cellvm__api_rng_config__descriptor, oom);

    if (!m)
        return NULL;
    m->src = dup_or_null(rc->src, oom);
    SET(m, iommu, rc->iommu);
    return m;
}

static Cellvm__ApiBalloonConfig *balloon_of(const struct cli_balloon *bc, bool *oom)
{
    Cellvm__ApiBalloonConfig *m = new_msg(&cellvm__api_balloon_config__descriptor, oom);

    if (!m)
        return NULL;
    SET(m, size, bc->size);
    SET(m, deflate_on_oom, bc->deflate_on_oom);
    SET(m, free_page_reporting, bc->free_page_reporting);
    return m;
}

/* The id is the one the VMM gives the device: Cloud Hypervisor's _vfio<N> when none was set. */
static Cellvm__ApiDeviceConfig *device_of(const struct cli_device *d, size_t index, bool *oom)
{
    Cellvm__ApiDeviceConfig *m = new_msg(&cellvm__api_device_config__descriptor, oom);
    char id[32];

    if (!m)
        return NULL;
    m->path = dup_or_null(d->path, oom);
    snprintf(id, sizeof(id), "_vfio%zu", index);
    m->id = dup_or_null(d->id ? d->id : index == SIZE_MAX ? NULL : id, oom);
    SET(m, iommu, d->iommu);
    SET(m, pci_segment, d->pci_segment);
    return m;
}

/* Cloud Hypervisor names a vfio-user device without an id _vfio_user<N>. */
static Cellvm__ApiUserDeviceConfig *user_device_of(const struct cli_user_device *d, size_t index,
                                                   bool *oom)
{
    Cellvm__ApiUserDeviceConfig *m = new_msg(&cellvm__api_user_device_config__descriptor, oom);
    char id[32];

    if (!m)
        return NULL;
    m->socket = dup_or_null(d->socket, oom);
    snprintf(id, sizeof(id), "_vfio_user%zu", index);
    m->id = dup_or_null(d->id ? d->id : index == SIZE_MAX ? NULL : id, oom);
    SET(m, pci_segment, d->pci_segment);
    return m;
}

static Cellvm__ApiFsConfig *fs_of(const struct cli_fs *f, bool *oom)
{
    Cellvm__ApiFsConfig *m = new_msg(&cellvm__api_fs_config__descriptor, oom);

    if (!m)
        return NULL;
    m->tag = dup_or_null(f->tag, oom);
    m->socket = dup_or_null(f->socket, oom);
    m->id = dup_or_null(f->id, oom);
    SET(m, num_queues, f->num_queues);
    SET(m, queue_size, f->queue_size);
    SET(m, pci_segment, f->pci_segment);
    return m;
}

static Cellvm__ApiPmemConfig *pmem_of(const struct cli_pmem *p, bool *oom)
{
    Cellvm__ApiPmemConfig *m = new_msg(&cellvm__api_pmem_config__descriptor, oom);

    if (!m)
        return NULL;
    m->file = dup_or_null(p->file, oom);
    m->id = dup_or_null(p->id, oom);
    if (p->has_size)
        SET(m, size, p->size);
    SET(m, iommu, p->iommu);
    SET(m, discard_writes, p->discard_writes);
    SET(m, pci_segment, p->pci_segment);
    return m;
}

Cellvm__ApiVmConfig *api_cfg_from_cli(const struct cli_config *cfg)
{
    Cellvm__ApiVmConfig *m;
    bool oom = false;

    m = new_msg(&cellvm__api_vm_config__descriptor, &oom);
    if (!m)
        return NULL;
    m->cpus = cpus_of(&cfg->cpus, &oom);
    m->memory = memory_of(cfg, &oom);
    m->payload = new_msg(&cellvm__api_payload_config__descriptor, &oom);
    if (m->payload) {
        m->payload->kernel = dup_or_null(cfg->payload.kernel, &oom);
        m->payload->cmdline = dup_or_null(cfg->payload.cmdline, &oom);
        m->payload->initramfs = dup_or_null(cfg->payload.initramfs, &oom);
        m->payload->firmware = dup_or_null(cfg->payload.firmware, &oom);
    }
    m->serial = console_of(&cfg->serial, &oom);
    m->console = console_of(&cfg->console, &oom);
    if (cfg->ndisks) {
        m->disks = calloc(cfg->ndisks, sizeof(*m->disks));
        for (size_t i = 0; m->disks && i < cfg->ndisks; i++) {
            m->disks[i] = disk_of(&cfg->disks[i], &oom);
            if (!m->disks[i])
                break;
            m->n_disks++;
        }
        oom = oom || !m->disks;
    }
    if (cfg->nnets) {
        m->net = calloc(cfg->nnets, sizeof(*m->net));
        for (size_t i = 0; m->net && i < cfg->nnets; i++) {
            m->net[i] = net_of(&cfg->nets[i], &oom);
            if (!m->net[i])
                break;
            m->n_net++;
        }
        oom = oom || !m->net;
    }
    if (cfg->vsock.present)
        m->vsock = vsock_of(&cfg->vsock, &oom);
    if (cfg->rng.present)
        m->rng = rng_of(&cfg->rng, &oom);
    if (cfg->balloon.present)
        m->balloon = balloon_of(&cfg->balloon, &oom);
    if (cfg->ndevices) {
        m->devices = calloc(cfg->ndevices, sizeof(*m->devices));
        for (size_t i = 0; m->devices && i < cfg->ndevices; i++) {
            m->devices[i] = device_of(&cfg->devices[i], i, &oom);
            if (!m->devices[i])
                break;
            m->n_devices++;
        }
        oom = oom || !m->devices;
    }
    if (cfg->nuser_devices) {
        m->user_devices = calloc(cfg->nuser_devices, sizeof(*m->user_devices));
        for (size_t i = 0; m->user_devices && i < cfg->nuser_devices; i++) {
            m->user_devices[i] = user_device_of(&cfg->user_devices[i], i, &oom);
            if (!m->user_devices[i])
                break;
            m->n_user_devices++;
        }
        oom = oom || !m->user_devices;
    }
    if (cfg->nfs) {
        m->fs = calloc(cfg->nfs, sizeof(*m->fs));
        for (size_t i = 0; m->fs && i < cfg->nfs; i++) {
            m->fs[i] = fs_of(&cfg->fs[i], &oom);
            if (!m->fs[i])
                break;
            m->n_fs++;
        }
        oom = oom || !m->fs;
    }
    if (cfg->npmem) {
        m->pmem = calloc(cfg->npmem, sizeof(*m->pmem));
        for (size_t i = 0; m->pmem && i < cfg->npmem; i++) {
            m->pmem[i] = pmem_of(&cfg->pmem[i], &oom);
            if (!m->pmem[i])
                break;
            m->n_pmem++;
        }
        oom = oom || !m->pmem;
    }
    if (cfg->platform.present)
        m->platform = platform_of(&cfg->platform, &oom);
    api_rl_groups_of(cfg, m, &oom);
    SET(m, landlock_enable, cfg->landlock);
    if (cfg->nlandlock_rules) {
        m->landlock_rules = calloc(cfg->nlandlock_rules, sizeof(*m->landlock_rules));
        for (size_t i = 0; m->landlock_rules && i < cfg->nlandlock_rules; i++) {
            Cellvm__ApiLandlockConfig *l = new_msg(&cellvm__api_landlock_config__descriptor, &oom);

            if (!l)
                break;
            m->landlock_rules[m->n_landlock_rules++] = l;
            l->path = dup_or_null(cfg->landlock_rules[i].path, &oom);
            l->access = dup_or_null(cfg->landlock_rules[i].access, &oom);
        }
        oom = oom || !m->landlock_rules;
    }
    SET(m, iommu, cli_vm_iommu(cfg));
    SET(m, watchdog, cfg->watchdog);
    SET(m, pvpanic, false);
    if (oom) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return NULL;
    }
    return m;
}

/* One device's configuration as its API schema, for cellvm-remote; NULL when out of memory. */
#define ONE_OF(fn, type, cli_type, conv)                      \
    type *fn(const cli_type *c)                               \
    {                                                         \
        bool oom = false;                                     \
        type *m = conv;                                       \
                                                              \
        if (oom && m) {                                       \
            protobuf_c_message_free_unpacked(&m->base, NULL); \
            m = NULL;                                         \
        }                                                     \
        return m;                                             \
    }

ONE_OF(api_cfg_disk, Cellvm__ApiDiskConfig, struct cli_disk, disk_of(c, &oom))
ONE_OF(api_cfg_net, Cellvm__ApiNetConfig, struct cli_net, net_of(c, &oom))
ONE_OF(api_cfg_vsock, Cellvm__ApiVsockConfig, struct cli_vsock, vsock_of(c, &oom))
ONE_OF(api_cfg_device, Cellvm__ApiDeviceConfig, struct cli_device, device_of(c, SIZE_MAX, &oom))
ONE_OF(api_cfg_user_device, Cellvm__ApiUserDeviceConfig, struct cli_user_device,
       user_device_of(c, SIZE_MAX, &oom))
ONE_OF(api_cfg_fs, Cellvm__ApiFsConfig, struct cli_fs, fs_of(c, &oom))

int api_cfg_fill_ids(struct cli_config *cfg)
{
    return cli_fill_device_ids(cfg);
}

int api_cfg_remove_device(struct cli_config *cfg, const char *id)
{
    return cli_remove_device(cfg, id);
}
