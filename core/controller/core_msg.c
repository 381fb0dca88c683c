/* The CoreConfig message (core_msg.h). */
#include "core/controller/core_msg.h"

#include <string.h>

#include "core/cli/cli_validate.h"
#include "core/controller/migration.h"

static void add_fd(struct core_msg *m, Cellvm__CoreFd role, int fd)
{
    if (fd < 0 || m->cfg.n_fds >= PB_MAX_CORE_FDS) /* the CLI's limits keep below it */
        return;
    m->roles[m->cfg.n_fds] = role;
    m->fds[m->cfg.n_fds++] = fd;
}

static void fill_cpus(struct core_msg *m, const struct cli_cpus *c)
{
    uint32_t max = c->max ? c->max : c->boot;

    cellvm__cpu_config__init(&m->cpus);
    m->cpus.boot_vcpus = c->boot;
    m->cpus.max_vcpus = max;
    if (c->has_topology) {
        m->cpus.threads_per_core = c->topology.threads_per_core;
        m->cpus.cores_per_die = c->topology.cores_per_die;
        m->cpus.dies_per_package = c->topology.dies_per_package;
        m->cpus.packages = c->topology.packages;
    } else {
        /* Cloud Hypervisor's default: one package, one die, every vCPU a core. */
        m->cpus.threads_per_core = 1;
        m->cpus.cores_per_die = max;
        m->cpus.dies_per_package = 1;
        m->cpus.packages = 1;
    }
    m->cpus.max_phys_bits = c->max_phys_bits;
    for (size_t i = 0; i < c->affinity.n && i < PB_MAX_VCPUS; i++) {
        cellvm__cpu_affinity__init(&m->aff[i]);
        m->aff[i].vcpu = c->affinity.v[i].key;
        m->aff[i].host_cpus = c->affinity.v[i].vals.v;
        m->aff[i].n_host_cpus = c->affinity.v[i].vals.n;
        m->affp[i] = &m->aff[i];
    }
    m->cpus.affinity = m->affp;
    m->cpus.n_affinity = c->affinity.n < PB_MAX_VCPUS ? c->affinity.n : PB_MAX_VCPUS;
}

/* Hugepage size of memory asked for with hugepages=on: the given one or 2 MiB. */
uint64_t core_msg_page_size(bool hugepages, bool has_size, uint64_t size)
{
    return hugepages ? (has_size ? size : 2ull << 20) : 0;
}

static void fill_zones(struct controller *ctl, struct core_msg *m)
{
    const struct cli_config *c = &ctl->cfg;

    for (size_t i = 0; i < ctl->res.nzones; i++) {
        const struct cli_memory_zone *z = &c->zones[i];
        Cellvm__MemoryZone *mz = &m->zone[i];

        cellvm__memory_zone__init(mz);
        mz->id = z->id;
        mz->size = z->size;
        mz->fd_index = (uint32_t)m->cfg.n_fds;
        mz->file_backed = ctl->res.zone_file_backed[i];
        mz->has_host_numa_node = z->has_host_numa_node;
        mz->host_numa_node = z->host_numa_node;
        mz->prefault = z->prefault;
        mz->hugepages = z->hugepages;
        mz->hugepage_size =
            core_msg_page_size(z->hugepages, z->has_hugepage_size, z->hugepage_size);
        m->zonep[i] = mz;
        m->mem.size += z->size;
        add_fd(m, CELLVM__CORE_FD__CORE_FD_MEMORY, ctl->res.zone_fd[i]);
    }
    m->mem.zones = m->zonep;
    m->mem.n_zones = ctl->res.nzones;
}

/* virtio-mem (issue 17): each region's size, what is plugged at boot and its memfd. */
static void fill_vmem(struct controller *ctl, struct core_msg *m)
{
    const struct cli_config *c = &ctl->cfg;

    for (size_t i = 0; i < ctl->res.nvmem && i < PB_MAX_ZONES; i++) {
        Cellvm__VirtioMemRegion *v = &m->vmem[i];
        uint32_t z = ctl->res.vmem_zone[i];
        bool zone = c->nzones > 0;

        cellvm__virtio_mem_region__init(v);
        v->zone = z;
        v->size = zone ? c->zones[z].hotplug_size : c->memory.hotplug_size;
        v->requested = zone ? (c->zones[z].has_hotplugged_size ? c->zones[z].hotplugged_size : 0)
                            : (c->memory.has_hotplugged_size ? c->memory.hotplugged_size : 0);
        v->fd_index = (uint32_t)m->cfg.n_fds;
        add_fd(m, CELLVM__CORE_FD__CORE_FD_VIRTIO_MEM, ctl->res.vmem_fd[i]);
        m->vmemp[i] = v;
    }
    m->mem.virtio_mem = m->vmemp;
    m->mem.n_virtio_mem = ctl->res.nvmem;
}

/* --pmem (issue 20): each device's file, its size and how the core maps it. */
static void fill_pmem(struct controller *ctl, struct core_msg *m)
{
    const struct cli_config *c = &ctl->cfg;

    for (size_t i = 0; i < ctl->res.npmem && i < PB_MAX_PMEM; i++) {
        Cellvm__PmemDevice *d = &m->pmem[i];

        cellvm__pmem_device__init(d);
        d->id = c->pmem[i].id;
        d->size = ctl->res.pmem_size[i];
        d->discard_writes = c->pmem[i].discard_writes;
        d->pci_segment = c->pmem[i].pci_segment;
        d->fd_index = (uint32_t)m->cfg.n_fds;
        add_fd(m, CELLVM__CORE_FD__CORE_FD_PMEM, ctl->res.pmem_fd[i]);
        m->pmemp[i] = d;
    }
    m->cfg.pmem = m->pmemp;
    m->cfg.n_pmem = ctl->res.npmem;
}

static uint32_t zone_index(const struct cli_config *c, const char *id)
{
    for (size_t i = 0; i < c->nzones; i++)
        if (!strcmp(c->zones[i].id, id))
            return (uint32_t)i;
    return UINT32_MAX; /* cli_validate refused it already */
}

/* cli_validate checked everything pb_validate_core_config will check again. */
static void fill_numa(const struct cli_config *c, struct core_msg *m)
{
    for (size_t i = 0; i < c->nnuma && i < PB_MAX_NUMA_NODES; i++) {
        const struct cli_numa *n = &c->numa[i];
        Cellvm__NumaNode *node = &m->node[i];

        cellvm__numa_node__init(node);
        node->guest_numa_id = n->guest_numa_id;
        if (n->device_id)
            node->device_id = n->device_id;
        node->cpus = n->cpus.v;
        node->n_cpus = n->cpus.n;
        for (size_t j = 0; j < n->memory_zones.n && j < PB_MAX_ZONES; j++)
            m->node_zones[i][j] = zone_index(c, n->memory_zones.v[j]);
        node->zones = m->node_zones[i];
        node->n_zones = n->memory_zones.n < PB_MAX_ZONES ? n->memory_zones.n : PB_MAX_ZONES;
        for (size_t j = 0; j < n->ndistances && j < PB_MAX_NUMA_NODES; j++) {
            cellvm__numa_distance__init(&m->dist[i][j]);
            m->dist[i][j].destination = n->distances[j].destination;
            m->dist[i][j].distance = n->distances[j].distance;
            m->distp[i][j] = &m->dist[i][j];
        }
        node->distances = m->distp[i];
        node->n_distances = n->ndistances < PB_MAX_NUMA_NODES ? n->ndistances : PB_MAX_NUMA_NODES;
        m->nodep[i] = node;
    }
    m->cfg.numa_nodes = m->nodep;
    m->cfg.n_numa_nodes = c->nnuma < PB_MAX_NUMA_NODES ? c->nnuma : PB_MAX_NUMA_NODES;
}

_Static_assert(CLI_MAX_SMBIOS_STRINGS <= PB_MAX_OEM_STRINGS &&
                   CLI_MAX_SMBIOS_TEXT <= PB_MAX_SMBIOS_TEXT,
               "the CLI refuses SMBIOS strings the core cannot take");

/* --platform's SMBIOS keys; the strings stay the configuration's. */
static void fill_smbios(const struct cli_platform *p, struct core_msg *m)
{
    if (!p->serial_number && !p->uuid && !p->noem_strings)
        return;
    cellvm__smbios__init(&m->smbios);
    m->smbios.serial_number = p->serial_number ? p->serial_number : (char *)"";
    if (p->uuid) {
        m->smbios.uuid.data = (uint8_t *)p->uuid_bytes;
        m->smbios.uuid.len = sizeof(p->uuid_bytes);
    }
    m->smbios.oem_strings = p->oem_strings;
    m->smbios.n_oem_strings = p->noem_strings;
    m->cfg.smbios = &m->smbios;
}

void core_msg_build(struct controller *ctl, struct core_msg *m)
{
    const struct cli_config *c = &ctl->cfg;

    cellvm__envelope__init(&m->env);
    cellvm__core_config__init(&m->cfg);
    cellvm__memory_config__init(&m->mem);
    fill_cpus(m, &c->cpus);
    m->mem.size = c->memory.size;
    m->mem.thp = c->memory.thp;
    m->mem.hugepages = c->memory.hugepages;
    m->mem.hugepage_size = core_msg_page_size(c->memory.hugepages, c->memory.has_hugepage_size,
                                              c->memory.hugepage_size);
    m->mem.prefault = c->memory.prefault;
    /* ACPI memory hotplug's area (cli_validate: no zones, 1 TiB at most), whole pages. */
    if (c->memory.has_hotplug_size && c->memory.hotplug_method == CLI_HOTPLUG_ACPI)
        m->mem.hotplug_size = c->memory.hotplug_size & ~0xfffull;
    m->cfg.cpus = &m->cpus;
    m->cfg.memory = &m->mem;
    m->cfg.cmdline = c->payload.cmdline ? c->payload.cmdline : (char *)"";
    switch (ctl->serial.mode) {
    case SERIAL_MODE_OFF:
        m->cfg.serial = CELLVM__SERIAL_MODE__SERIAL_OFF;
        break;
    case SERIAL_MODE_NULL:
        m->cfg.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
        break;
    default:
        m->cfg.serial = CELLVM__SERIAL_MODE__SERIAL_STREAM;
        break;
    }
    m->cfg.seccomp = c->seccomp == CLI_SECCOMP_FALSE ? CELLVM__SECCOMP_MODE__SECCOMP_OFF
                     : c->seccomp == CLI_SECCOMP_LOG ? CELLVM__SECCOMP_MODE__SECCOMP_LOG
                                                     : CELLVM__SECCOMP_MODE__SECCOMP_ON;
    m->cfg.verbosity = c->verbosity > 4 ? 4 : c->verbosity;
    m->cfg.fds = m->roles;
    add_fd(m, CELLVM__CORE_FD__CORE_FD_KVM, ctl->res.kvm);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_MEMORY, ctl->res.memfd);
    fill_zones(ctl, m);
    fill_vmem(ctl, m);
    fill_numa(c, m);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_KERNEL, ctl->res.kernel);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_INITRAMFS, ctl->res.initramfs);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_SERIAL_IN, ctl->serial.core_in);
    add_fd(m, CELLVM__CORE_FD__CORE_FD_SERIAL_OUT, ctl->serial.core_out);
    m->cfg.attach_count = (uint32_t)ctl->devs.n;
    m->cfg.num_pci_segments = c->platform.num_pci_segments;
    /* vm.restore / --restore (issue 18): the core rebuilds the VM from these two files. */
    m->cfg.restore = ctl->api.restore_fd[0] >= 0 && ctl->api.restore_fd[1] >= 0;
    if (m->cfg.restore) {
        add_fd(m, CELLVM__CORE_FD__CORE_FD_STATE, ctl->api.restore_fd[0]);
        add_fd(m, CELLVM__CORE_FD__CORE_FD_MEMORY_RANGES, ctl->api.restore_fd[1]);
    }
    /* vm.receive-migration (issue 18): the core reads memory and state from the source. */
    m->cfg.migrate = migration_core_fd(&ctl->api) >= 0;
    if (m->cfg.migrate)
        add_fd(m, CELLVM__CORE_FD__CORE_FD_MIGRATION, migration_core_fd(&ctl->api));
    fill_smbios(&c->platform, m);
    fill_pmem(ctl, m);
    m->cfg.watchdog = c->watchdog;
    m->cfg.iommu = cli_vm_iommu(c);
    if (m->cfg.iommu) { /* borrowed from the configuration, which outlives the message */
        m->cfg.iommu_segments = c->platform.iommu_segments;
        m->cfg.n_iommu_segments = c->platform.niommu_segments;
        m->cfg.iommu_address_width = c->platform.iommu_address_width;
    }
    m->env.body_case = CELLVM__ENVELOPE__BODY_CORE_CONFIG;
    m->env.core_config = &m->cfg;
}
