#include "validate.h"
#include "validate_api.h"
#include "validate_device.h"
#include "validate_util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int pb_validate_hello(const Cellvm__Hello *m, const char **why)
{
    if (m->protocol_version != 1)
        return pb_fail(why, "hello.protocol_version");
    if (m->role <= CELLVM__ROLE__ROLE_UNSPECIFIED || m->role > CELLVM__ROLE__ROLE_CONSOLED)
        return pb_fail(why, "hello.role");
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, true, false))
        return pb_fail(why, "hello.id");
    if (m->pid == 0)
        return pb_fail(why, "hello.pid");
    return 0;
}

int pb_validate_error(const Cellvm__Error *m, const char **why)
{
    if (m->errnum <= 0 || m->errnum > 4095)
        return pb_fail(why, "error.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "error.message");
    return 0;
}

int pb_validate_exit_status(const Cellvm__ExitStatus *m, const char **why)
{
    if (m->reason <= CELLVM__EXIT_STATUS__REASON__REASON_UNSPECIFIED ||
        m->reason > CELLVM__EXIT_STATUS__REASON__REASON_SHUTDOWN)
        return pb_fail(why, "exit_status.reason");
    if (m->code < 0 || m->code > 255)
        return pb_fail(why, "exit_status.code");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "exit_status.message");
    return 0;
}

static int validate_cpus(const Cellvm__CpuConfig *c, const char **why)
{
    uint64_t product;

    if (!c)
        return pb_fail(why, "core_config.cpus");
    if (c->boot_vcpus == 0 || c->boot_vcpus > PB_MAX_VCPUS)
        return pb_fail(why, "cpus.boot_vcpus");
    if (c->max_vcpus < c->boot_vcpus || c->max_vcpus > PB_MAX_VCPUS)
        return pb_fail(why, "cpus.max_vcpus");
    if (!c->threads_per_core || !c->cores_per_die || !c->dies_per_package || !c->packages)
        return pb_fail(why, "cpus.topology");
    product = (uint64_t)c->threads_per_core * c->cores_per_die * c->dies_per_package * c->packages;
    if (product != c->max_vcpus)
        return pb_fail(why, "cpus.topology");
    if (c->max_phys_bits < 32 || c->max_phys_bits > 52)
        return pb_fail(why, "cpus.max_phys_bits");
    for (size_t i = 0; i < c->n_affinity; i++) {
        const Cellvm__CpuAffinity *a = c->affinity[i];

        if (!a || a->vcpu >= c->max_vcpus || a->n_host_cpus == 0 || a->n_host_cpus > 1024)
            return pb_fail(why, "cpus.affinity");
        for (size_t j = 0; j < a->n_host_cpus; j++)
            if (a->host_cpus[j] >= 4096)
                return pb_fail(why, "cpus.affinity.host_cpus");
    }
    return 0;
}

static int validate_memory(const Cellvm__MemoryConfig *m, const char **why)
{
    if (!m)
        return pb_fail(why, "core_config.memory");
    /* 1 MiB is the least a guest with real-mode structures below 1 MiB can use; 1 TiB cap. */
    if (m->size < (1ull << 20) || m->size > (1ull << 40) || (m->size & 0xfff))
        return pb_fail(why, "memory.size");
    if (m->hugepages && (m->hugepage_size == 0 || (m->hugepage_size & (m->hugepage_size - 1))))
        return pb_fail(why, "memory.hugepage_size");
    if (m->hotplug_size > PB_MAX_HOTPLUG_SIZE || (m->hotplug_size & 0xfff) ||
        (m->hotplug_size && m->n_zones))
        return pb_fail(why, "memory.hotplug_size");
    return 0;
}

/* Zones: sizes add up to memory.size, each names its own CORE_FD_MEMORY fd. */
static int validate_zones(const Cellvm__CoreConfig *m, const char **why)
{
    const Cellvm__MemoryConfig *mem = m->memory;
    uint64_t total = 0;
    size_t nmem = 0;

    for (size_t i = 0; i < m->n_fds; i++)
        nmem += m->fds[i] == CELLVM__CORE_FD__CORE_FD_MEMORY;
    if (mem->n_zones == 0)
        return nmem == 1 ? 0 : pb_fail(why, "core_config.fds");
    if (mem->n_zones > PB_MAX_ZONES || nmem != mem->n_zones)
        return pb_fail(why, "memory.zones");
    for (size_t i = 0; i < mem->n_zones; i++) {
        const Cellvm__MemoryZone *z = mem->zones[i];

        if (!z || !pb_text_ok(z->id, PB_MAX_ID_LEN, false, false))
            return pb_fail(why, "memory.zones.id");
        if (z->size == 0 || (z->size & 0xfff) || z->size > mem->size - total)
            return pb_fail(why, "memory.zones.size");
        total += z->size;
        if (z->fd_index >= m->n_fds || m->fds[z->fd_index] != CELLVM__CORE_FD__CORE_FD_MEMORY)
            return pb_fail(why, "memory.zones.fd_index");
        /* Each zone its own fd: no two zones may name the same index. */
        for (size_t j = 0; j < i; j++)
            if (mem->zones[j]->fd_index == z->fd_index)
                return pb_fail(why, "memory.zones.fd_index");
        if (z->has_host_numa_node && z->host_numa_node >= 1024)
            return pb_fail(why, "memory.zones.host_numa_node");
        if (z->hugepages && (z->hugepage_size & (z->hugepage_size - 1)))
            return pb_fail(why, "memory.zones.hugepage_size");
    }
    return total == mem->size ? 0 : pb_fail(why, "memory.zones.size");
}

/* virtio-mem regions: one per zone at most, each naming its own CORE_FD_VIRTIO_MEM fd; not
 * with ACPI memory hotplug. */
static int validate_virtio_mem(const Cellvm__CoreConfig *m, const char **why)
{
    const Cellvm__MemoryConfig *mem = m->memory;
    size_t nzones = mem->n_zones ? mem->n_zones : 1, nfd = 0;

    for (size_t i = 0; i < m->n_fds; i++)
        nfd += m->fds[i] == CELLVM__CORE_FD__CORE_FD_VIRTIO_MEM;
    if (mem->n_virtio_mem > nzones || nfd != mem->n_virtio_mem ||
        (mem->n_virtio_mem && mem->hotplug_size))
        return pb_fail(why, "memory.virtio_mem");
    for (size_t i = 0; i < mem->n_virtio_mem; i++) {
        const Cellvm__VirtioMemRegion *v = mem->virtio_mem[i];

        if (!v || v->zone >= nzones)
            return pb_fail(why, "memory.virtio_mem.zone");
        if (!v->size || v->size % PB_HOTPLUG_BLOCK || v->size > PB_MAX_HOTPLUG_SIZE)
            return pb_fail(why, "memory.virtio_mem.size");
        if (v->requested > v->size || v->requested % PB_VIRTIO_MEM_BLOCK)
            return pb_fail(why, "memory.virtio_mem.requested");
        if (v->fd_index >= m->n_fds || m->fds[v->fd_index] != CELLVM__CORE_FD__CORE_FD_VIRTIO_MEM)
            return pb_fail(why, "memory.virtio_mem.fd_index");
        for (size_t j = 0; j < i; j++)
            if (mem->virtio_mem[j]->zone >= v->zone || mem->virtio_mem[j]->fd_index == v->fd_index)
                return pb_fail(why, "memory.virtio_mem");
    }
    return 0;
}

static bool node_has_id(const Cellvm__CoreConfig *m, uint32_t id)
{
    for (size_t i = 0; i < m->n_numa_nodes; i++)
        if (m->numa_nodes[i]->guest_numa_id == id)
            return true;
    return false;
}

/* NUMA: unique node ids, every vCPU and every zone on exactly one node, distances to nodes
 * that exist. The core builds SRAT and SLIT from this without further checks. */
static int validate_numa(const Cellvm__CoreConfig *m, const char **why)
{
    uint8_t cpu_seen[PB_MAX_VCPUS] = { 0 }, zone_seen[PB_MAX_ZONES] = { 0 };
    size_t nzones = m->memory->n_zones ? m->memory->n_zones : 1;

    if (m->n_numa_nodes == 0)
        return 0;
    if (m->n_numa_nodes > PB_MAX_NUMA_NODES)
        return pb_fail(why, "numa_nodes");
    for (size_t i = 0; i < m->n_numa_nodes; i++) {
        const Cellvm__NumaNode *n = m->numa_nodes[i];

        if (!n || n->guest_numa_id >= PB_MAX_NUMA_NODES)
            return pb_fail(why, "numa_nodes.guest_numa_id");
        for (size_t j = 0; j < i; j++)
            if (m->numa_nodes[j]->guest_numa_id == n->guest_numa_id)
                return pb_fail(why, "numa_nodes.guest_numa_id");
        if (n->n_cpus > PB_MAX_VCPUS || n->n_zones > PB_MAX_ZONES ||
            n->n_distances > PB_MAX_NUMA_NODES)
            return pb_fail(why, "numa_nodes");
        if (!pb_text_ok(n->device_id, PB_MAX_ID_LEN, true, false) ||
            (n->device_id && n->device_id[0] && (n->n_cpus || n->n_zones)))
            return pb_fail(why, "numa_nodes.device_id");
        for (size_t j = 0; j < n->n_cpus; j++) {
            if (n->cpus[j] >= m->cpus->max_vcpus || cpu_seen[n->cpus[j]]++)
                return pb_fail(why, "numa_nodes.cpus");
        }
        for (size_t j = 0; j < n->n_zones; j++) {
            if (n->zones[j] >= nzones || zone_seen[n->zones[j]]++)
                return pb_fail(why, "numa_nodes.zones");
        }
    }
    for (size_t i = 0; i < m->n_numa_nodes; i++) {
        const Cellvm__NumaNode *n = m->numa_nodes[i];

        for (size_t j = 0; j < n->n_distances; j++) {
            const Cellvm__NumaDistance *d = n->distances[j];

            if (!d || !node_has_id(m, d->destination))
                return pb_fail(why, "numa_nodes.distances");
            if (d->destination == n->guest_numa_id ? d->distance != 10
                                                   : d->distance <= 10 || d->distance >= 255)
                return pb_fail(why, "numa_nodes.distances");
        }
    }
    for (size_t i = 0; i < m->cpus->max_vcpus; i++)
        if (!cpu_seen[i])
            return pb_fail(why, "numa_nodes.cpus");
    for (size_t i = 0; i < nzones; i++)
        if (!zone_seen[i])
            return pb_fail(why, "numa_nodes.zones");
    return 0;
}

/* virtio-pmem devices: each names its own CORE_FD_PMEM fd, a non-zero 2 MiB multiple of it. */
static int validate_pmem(const Cellvm__CoreConfig *m, const char **why)
{
    size_t nfd = 0;

    for (size_t i = 0; i < m->n_fds; i++)
        nfd += m->fds[i] == CELLVM__CORE_FD__CORE_FD_PMEM;
    if (m->n_pmem > PB_MAX_PMEM || nfd != m->n_pmem)
        return pb_fail(why, "core_config.pmem");
    for (size_t i = 0; i < m->n_pmem; i++) {
        const Cellvm__PmemDevice *d = m->pmem[i];

        if (!d || !pb_text_ok(d->id, PB_MAX_ID_LEN, false, false))
            return pb_fail(why, "core_config.pmem.id");
        if (d->size == 0 || d->size % PB_PMEM_ALIGN || d->size > PB_MAX_PMEM_SIZE)
            return pb_fail(why, "core_config.pmem.size");
        if (d->pci_segment >= PB_MAX_PCI_SEGMENTS)
            return pb_fail(why, "core_config.pmem.pci_segment");
        if (d->fd_index >= m->n_fds || m->fds[d->fd_index] != CELLVM__CORE_FD__CORE_FD_PMEM)
            return pb_fail(why, "core_config.pmem.fd_index");
        for (size_t j = 0; j < i; j++)
            if (m->pmem[j]->fd_index == d->fd_index)
                return pb_fail(why, "core_config.pmem.fd_index");
    }
    return 0;
}

/* SMBIOS strings end at a NUL and a structure's string set at an empty string, so each one is
 * non-empty printable text; together they fit the page the core keeps for the tables. */
static int validate_smbios(const Cellvm__Smbios *m, const char **why)
{
    size_t total;

    if (!m)
        return 0;
    if (!pb_text_ok(m->serial_number, PB_MAX_SMBIOS_TEXT, true, false))
        return pb_fail(why, "core_config.smbios.serial_number");
    total = m->serial_number && m->serial_number[0] ? strlen(m->serial_number) + 1 : 0;
    if (m->uuid.len != 0 && m->uuid.len != 16)
        return pb_fail(why, "core_config.smbios.uuid");
    if (m->n_oem_strings > PB_MAX_OEM_STRINGS)
        return pb_fail(why, "core_config.smbios.oem_strings");
    for (size_t i = 0; i < m->n_oem_strings; i++) {
        if (!pb_text_ok(m->oem_strings[i], PB_MAX_SMBIOS_TEXT, false, false))
            return pb_fail(why, "core_config.smbios.oem_strings");
        total += strlen(m->oem_strings[i]) + 1;
        if (total > PB_MAX_SMBIOS_TEXT)
            return pb_fail(why, "core_config.smbios");
    }
    return total > PB_MAX_SMBIOS_TEXT ? pb_fail(why, "core_config.smbios") : 0;
}

int pb_validate_core_config(const Cellvm__CoreConfig *m, size_t nfds, const char **why)
{
    unsigned seen = 0;
    int r;

    r = validate_cpus(m->cpus, why);
    if (r)
        return r;
    r = validate_memory(m->memory, why);
    if (r)
        return r;
    if (!pb_text_ok(m->cmdline, PB_MAX_CMDLINE_LEN, true, true))
        return pb_fail(why, "core_config.cmdline");
    if (m->serial <= CELLVM__SERIAL_MODE__SERIAL_UNSPECIFIED ||
        m->serial > CELLVM__SERIAL_MODE__SERIAL_STREAM)
        return pb_fail(why, "core_config.serial");
    if (m->seccomp <= CELLVM__SECCOMP_MODE__SECCOMP_UNSPECIFIED ||
        m->seccomp > CELLVM__SECCOMP_MODE__SECCOMP_LOG)
        return pb_fail(why, "core_config.seccomp");
    if (m->verbosity > 4)
        return pb_fail(why, "core_config.verbosity");
    if (m->attach_count > PB_MAX_ATTACH)
        return pb_fail(why, "core_config.attach_count");
    if (m->num_pci_segments > PB_MAX_PCI_SEGMENTS)
        return pb_fail(why, "core_config.num_pci_segments");
    /* IOMMU segments: existing segments other than 0, only with the IOMMU; a width of 12..64 */
    if (m->n_iommu_segments > PB_MAX_PCI_SEGMENTS || (m->n_iommu_segments && !m->iommu))
        return pb_fail(why, "core_config.iommu_segments");
    for (size_t i = 0; i < m->n_iommu_segments; i++)
        if (m->iommu_segments[i] == 0 ||
            m->iommu_segments[i] >= (m->num_pci_segments ? m->num_pci_segments : 1))
            return pb_fail(why, "core_config.iommu_segments");
    if (m->iommu ? m->iommu_address_width < 12 || m->iommu_address_width > 64
                 : m->iommu_address_width != 0)
        return pb_fail(why, "core_config.iommu_address_width");
    r = validate_smbios(m->smbios, why);
    if (r)
        return r;
    if (m->n_fds != nfds || nfds > PB_MAX_CORE_FDS)
        return pb_fail(why, "core_config.fds");
    for (size_t i = 0; i < m->n_fds; i++) {
        unsigned bit;

        if (m->fds[i] <= CELLVM__CORE_FD__CORE_FD_UNSPECIFIED ||
            (m->fds[i] > CELLVM__CORE_FD__CORE_FD_MIGRATION &&
             m->fds[i] != CELLVM__CORE_FD__CORE_FD_VIRTIO_MEM &&
             m->fds[i] != CELLVM__CORE_FD__CORE_FD_PMEM))
            return pb_fail(why, "core_config.fds");
        bit = 1u << m->fds[i];
        /* Memory fds repeat, one per zone (validate_zones counts them), and virtio-mem ones,
         * one per region (validate_virtio_mem). */
        if ((seen & bit) && m->fds[i] != CELLVM__CORE_FD__CORE_FD_MEMORY &&
            m->fds[i] != CELLVM__CORE_FD__CORE_FD_VIRTIO_MEM &&
            m->fds[i] != CELLVM__CORE_FD__CORE_FD_PMEM) /* one per device (validate_pmem) */
            return pb_fail(why, "core_config.fds");
        seen |= bit;
    }
    if (!(seen & (1u << CELLVM__CORE_FD__CORE_FD_KVM)) ||
        !(seen & (1u << CELLVM__CORE_FD__CORE_FD_MEMORY)) ||
        !(seen & (1u << CELLVM__CORE_FD__CORE_FD_KERNEL)))
        return pb_fail(why, "core_config.fds");
    if (m->serial == CELLVM__SERIAL_MODE__SERIAL_STREAM &&
        !(seen & (1u << CELLVM__CORE_FD__CORE_FD_SERIAL_OUT)))
        return pb_fail(why, "core_config.fds");
    /* A restore has both snapshot files; a boot neither. */
    if (!!(seen & (1u << CELLVM__CORE_FD__CORE_FD_STATE)) != m->restore ||
        !!(seen & (1u << CELLVM__CORE_FD__CORE_FD_MEMORY_RANGES)) != m->restore)
        return pb_fail(why, "core_config.restore");
    /* A migration's destination has its socket, and is no restore from files too. */
    if (!!(seen & (1u << CELLVM__CORE_FD__CORE_FD_MIGRATION)) != m->migrate ||
        (m->migrate && m->restore))
        return pb_fail(why, "core_config.migrate");
    r = validate_zones(m, why);
    if (!r)
        r = validate_virtio_mem(m, why);
    if (!r)
        r = validate_pmem(m, why);
    if (r)
        return r;
    return validate_numa(m, why);
}

int pb_validate_attach_device(const Cellvm__AttachDevice *m, size_t nfds, const char **why)
{
    if (nfds != 1)
        return pb_fail(why, "attach_device.fds");
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "attach_device.id");
    if (m->vfio_user) {
        /* a vfio-user function: no virtio fields, never external; reconnect: a new vfiod */
        if (m->virtio_id || m->num_queues || m->queue_size || m->external || m->iommu ||
            (m->fs_tag && *m->fs_tag))
            return pb_fail(why, "attach_device.vfio_user");
        if (m->pci_segment >= PB_MAX_PCI_SEGMENTS)
            return pb_fail(why, "attach_device.pci_segment");
        return 0;
    }
    if (m->virtio_id != 1 && m->virtio_id != 2 && m->virtio_id != 3 && m->virtio_id != 4 &&
        m->virtio_id != 5 && m->virtio_id != 19 && m->virtio_id != 26)
        return pb_fail(why, "attach_device.virtio_id");
    /* virtio-fs: a virtiofsd someone else runs, with its tag; no other device has a tag. */
    if (m->virtio_id == 26 ? !m->external || !pb_text_ok(m->fs_tag, 36, false, false)
                           : m->fs_tag && *m->fs_tag)
        return pb_fail(why, "attach_device.fs_tag");
    /* behind the IOMMU: never a backend someone else runs (Cloud Hypervisor's rule too) */
    if (m->iommu && m->external)
        return pb_fail(why, "attach_device.iommu");
    if (m->num_queues == 0 || m->num_queues > PB_MAX_DEVICE_QUEUES)
        return pb_fail(why, "attach_device.num_queues");
    if (m->queue_size < 2 || m->queue_size > 32768 || (m->queue_size & (m->queue_size - 1)))
        return pb_fail(why, "attach_device.queue_size");
    if (m->pci_segment >= PB_MAX_PCI_SEGMENTS)
        return pb_fail(why, "attach_device.pci_segment");
    if (m->hotplug && m->reconnect)
        return pb_fail(why, "attach_device.hotplug");
    return 0;
}

int pb_validate_device_reconnected(const Cellvm__DeviceReconnected *m, const char **why)
{
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "device_reconnected.id");
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "device_reconnected.errnum");
    return 0;
}

int pb_validate_device_lost(const Cellvm__DeviceLost *m, const char **why)
{
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "device_lost.id");
    if (!pb_text_ok(m->reason, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "device_lost.reason");
    return 0;
}

int pb_validate_device_added(const Cellvm__DeviceAdded *m, const char **why)
{
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "device_added.id");
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "device_added.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "device_added.message");
    if (m->pci_segment >= PB_MAX_PCI_SEGMENTS || m->slot >= 32 || (!m->errnum && !m->slot))
        return pb_fail(why, "device_added.slot");
    return 0;
}

int pb_validate_device_remove(const Cellvm__DeviceRemove *m, const char **why)
{
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "device_remove.id");
    return 0;
}

int pb_validate_device_ejected(const Cellvm__DeviceEjected *m, const char **why)
{
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "device_ejected.id");
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "device_ejected.errnum");
    return 0;
}

int pb_validate_vm_resize(const Cellvm__VmResize *m, const char **why)
{
    if (m->desired_vcpus > PB_MAX_VCPUS)
        return pb_fail(why, "vm_resize.desired_vcpus");
    return 0;
}

int pb_validate_vm_resize_done(const Cellvm__VmResizeDone *m, const char **why)
{
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "vm_resize_done.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "vm_resize_done.message");
    return 0;
}

int pb_validate_add_memory(const Cellvm__AddMemory *m, size_t nfds, const char **why)
{
    if (nfds != 1)
        return pb_fail(why, "add_memory.fds");
    if (!m->size || m->size % PB_HOTPLUG_BLOCK || m->size > PB_MAX_HOTPLUG_SIZE)
        return pb_fail(why, "add_memory.size");
    return 0;
}

int pb_validate_add_pmem(const Cellvm__AddPmem *m, size_t nfds, const char **why)
{
    const Cellvm__PmemDevice *d = m->pmem;

    if (nfds != 1)
        return pb_fail(why, "add_pmem.fds");
    if (!d || !pb_text_ok(d->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "add_pmem.pmem.id");
    if (d->size == 0 || d->size % PB_PMEM_ALIGN || d->size > PB_MAX_PMEM_SIZE)
        return pb_fail(why, "add_pmem.pmem.size");
    if (d->pci_segment >= PB_MAX_PCI_SEGMENTS)
        return pb_fail(why, "add_pmem.pmem.pci_segment");
    if (d->fd_index)
        return pb_fail(why, "add_pmem.pmem.fd_index");
    return 0;
}

int pb_validate_memory_added(const Cellvm__MemoryAdded *m, const char **why)
{
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "memory_added.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "memory_added.message");
    if (m->size > PB_MAX_HOTPLUG_SIZE || m->gpa > UINT64_MAX - m->size || (!m->errnum && !m->size))
        return pb_fail(why, "memory_added.size");
    return 0;
}

int pb_validate_vm_snapshot(const Cellvm__VmSnapshot *m, size_t nfds, const char **why)
{
    (void)m;
    return nfds == 2 ? 0 : pb_fail(why, "vm_snapshot.fds");
}

int pb_validate_vm_migrate(const Cellvm__VmMigrate *m, size_t nfds, const char **why)
{
    if (nfds != 1)
        return pb_fail(why, "vm_migrate.fds");
    /* The VmConfig JSON: printable, bounded by the packet (the stream takes up to 1 MiB). */
    if (!m->config_json || !*m->config_json || strlen(m->config_json) > IPC_PB_MAX_CONFIG_JSON)
        return pb_fail(why, "vm_migrate.config_json");
    return 0;
}

int pb_validate_migration_step(const Cellvm__MigrationStep *m, const char **why)
{
    if (m->step != CELLVM__MIGRATION_STEP__STEP__STEP_SWITCH &&
        m->step != CELLVM__MIGRATION_STEP__STEP__STEP_DONE)
        return pb_fail(why, "migration_step.step");
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "migration_step.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "migration_step.message");
    return 0;
}

int pb_validate_migration_locks(const Cellvm__MigrationLocks *m, const char **why)
{
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "migration_locks.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "migration_locks.message");
    return 0;
}

int pb_validate_snapshot_done(const Cellvm__SnapshotDone *m, const char **why)
{
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "snapshot_done.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "snapshot_done.message");
    return 0;
}

int pb_validate_virtio_mem_resize(const Cellvm__VirtioMemResize *m, const char **why)
{
    if (m->index >= PB_MAX_ZONES)
        return pb_fail(why, "virtio_mem_resize.index");
    if (m->requested_size > PB_MAX_HOTPLUG_SIZE || m->requested_size % PB_VIRTIO_MEM_BLOCK)
        return pb_fail(why, "virtio_mem_resize.requested_size");
    return 0;
}

int pb_validate_virtio_mem_resized(const Cellvm__VirtioMemResized *m, const char **why)
{
    if (m->errnum < 0 || m->errnum >= 4096)
        return pb_fail(why, "virtio_mem_resized.errnum");
    if (!pb_text_ok(m->message, PB_MAX_MESSAGE_LEN, true, false))
        return pb_fail(why, "virtio_mem_resized.message");
    return 0;
}

int pb_validate_vfio_detach(const Cellvm__VfioDetach *m, const char **why)
{
    if (!pb_text_ok(m->id, PB_MAX_ID_LEN, false, false))
        return pb_fail(why, "vfio_detach.id");
    return 0;
}

int pb_validate_envelope(const Cellvm__Envelope *m, size_t nfds, const char **why)
{
    int r = pb_validate_device_envelope(m, nfds, why);

    if (r != -ENOENT)
        return r;
    r = pb_validate_api_envelope(m, nfds, why);
    if (r != -ENOENT)
        return r;
    /* Only the config messages and new memory carry fds; fds on any other message are an
     * error. */
    if (m->body_case != CELLVM__ENVELOPE__BODY_CORE_CONFIG &&
        m->body_case != CELLVM__ENVELOPE__BODY_ATTACH_DEVICE &&
        m->body_case != CELLVM__ENVELOPE__BODY_ADD_MEMORY &&
        m->body_case != CELLVM__ENVELOPE__BODY_ADD_PMEM &&
        m->body_case != CELLVM__ENVELOPE__BODY_VM_SNAPSHOT &&
        m->body_case != CELLVM__ENVELOPE__BODY_VM_MIGRATE && nfds)
        return pb_fail(why, "envelope.fds");
    switch (m->body_case) {
    case CELLVM__ENVELOPE__BODY_HELLO:
        return pb_validate_hello(m->hello, why);
    case CELLVM__ENVELOPE__BODY_READY:
    case CELLVM__ENVELOPE__BODY_SHUTDOWN:
        return 0;
    case CELLVM__ENVELOPE__BODY_ERROR:
        return pb_validate_error(m->error, why);
    case CELLVM__ENVELOPE__BODY_EXIT_STATUS:
        return pb_validate_exit_status(m->exit_status, why);
    case CELLVM__ENVELOPE__BODY_CORE_CONFIG:
        return pb_validate_core_config(m->core_config, nfds, why);
    case CELLVM__ENVELOPE__BODY_ATTACH_DEVICE:
        return pb_validate_attach_device(m->attach_device, nfds, why);
    case CELLVM__ENVELOPE__BODY_DEVICE_RECONNECTED:
        return pb_validate_device_reconnected(m->device_reconnected, why);
    case CELLVM__ENVELOPE__BODY_DEVICE_LOST:
        return pb_validate_device_lost(m->device_lost, why);
    case CELLVM__ENVELOPE__BODY_VFIO_DETACH:
        return pb_validate_vfio_detach(m->vfio_detach, why);
    case CELLVM__ENVELOPE__BODY_DEVICE_ADDED:
        return pb_validate_device_added(m->device_added, why);
    case CELLVM__ENVELOPE__BODY_DEVICE_REMOVE:
        return pb_validate_device_remove(m->device_remove, why);
    case CELLVM__ENVELOPE__BODY_DEVICE_EJECTED:
        return pb_validate_device_ejected(m->device_ejected, why);
    case CELLVM__ENVELOPE__BODY_VM_RESIZE:
        return pb_validate_vm_resize(m->vm_resize, why);
    case CELLVM__ENVELOPE__BODY_VM_RESIZE_DONE:
        return pb_validate_vm_resize_done(m->vm_resize_done, why);
    case CELLVM__ENVELOPE__BODY_ADD_MEMORY:
        return pb_validate_add_memory(m->add_memory, nfds, why);
    case CELLVM__ENVELOPE__BODY_MEMORY_ADDED:
        return pb_validate_memory_added(m->memory_added, why);
    case CELLVM__ENVELOPE__BODY_ADD_PMEM:
        return pb_validate_add_pmem(m->add_pmem, nfds, why);
    case CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZE:
        return pb_validate_virtio_mem_resize(m->virtio_mem_resize, why);
    case CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZED:
        return pb_validate_virtio_mem_resized(m->virtio_mem_resized, why);
    case CELLVM__ENVELOPE__BODY_VM_SNAPSHOT:
        return pb_validate_vm_snapshot(m->vm_snapshot, nfds, why);
    case CELLVM__ENVELOPE__BODY_SNAPSHOT_DONE:
        return pb_validate_snapshot_done(m->snapshot_done, why);
    case CELLVM__ENVELOPE__BODY_VM_MIGRATE:
        return pb_validate_vm_migrate(m->vm_migrate, nfds, why);
    case CELLVM__ENVELOPE__BODY_MIGRATION_STEP:
        return pb_validate_migration_step(m->migration_step, why);
    case CELLVM__ENVELOPE__BODY_MIGRATION_LOCKS:
        return pb_validate_migration_locks(m->migration_locks, why);
    case CELLVM__ENVELOPE__BODY_GUEST_RESET:
        return m->guest_reset->cause == CELLVM__GUEST_RESET__CAUSE__CAUSE_GUEST ||
                       m->guest_reset->cause == CELLVM__GUEST_RESET__CAUSE__CAUSE_WATCHDOG
                   ? 0
                   : pb_fail(why, "guest_reset.cause");
    default:
        return pb_fail(why, "envelope.body");
    }
}
