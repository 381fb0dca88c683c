#include "core/coreproc/core_layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/coreproc/core_sys.h"
#include "core/platform.h"
#include "core/vm/vm_state.h"

_Static_assert(PB_MAX_ZONES <= GUEST_MEM_MAX_ZONES, "every zone the protocol allows must fit");

#define SLIT_LOCAL  10
#define SLIT_REMOTE 20 /* between nodes whose distance was not given, as Cloud Hypervisor */

void core_layout_init(struct core_layout *l)
{
    memset(l, 0, sizeof(*l));
    guest_mem_init(&l->mem);
}

void core_layout_release(struct core_layout *l)
{
    for (uint32_t i = 0; i < l->nzones; i++)
        core_unmap_ram(l->zone[i].host, l->zone[i].size);
    l->nzones = 0;
    for (uint32_t i = 0; i < l->nvmem; i++)
        core_unmap_ram(l->vmem_map[i].host, l->vmem_map[i].size);
    l->nvmem = 0;
    for (uint32_t i = 0; i < l->npmem; i++)
        core_unmap_ram(l->pmem_map[i].host, l->pmem_map[i].size);
    l->npmem = 0;
}

/* One zone of the config, or the whole of memory.size when there are none. */
struct zone_spec {
    const char *id;
    uint64_t size;     /* the zone's RAM at boot */
    uint64_t map_size; /* of its fd, mapped: size, or more when hot-added RAM follows */
    int fd;
    bool sealed, bind, prefault;
    uint32_t node;
};

static int map_zone(struct core_layout *l, const struct zone_spec *z, bool thp, char *err,
                    size_t errlen)
{
    uint8_t *host;
    uint64_t map = z->map_size ? z->map_size : z->size;
    int r = core_map_ram(z->fd, map, z->sealed, thp, &host);

    if (r < 0) {
        snprintf(err, errlen, "guest memory: zone '%s': cannot map %llu bytes: %s", z->id,
                 (unsigned long long)map, strerror(-r));
        return r;
    }
    l->zone[l->nzones].host = host;
    l->zone[l->nzones].size = map;
    l->nzones++;
    /* Bind before the first page exists, so prefault allocates on the right node. */
    if (z->bind) {
        r = core_bind_ram(host, map, z->node);
        if (r < 0) {
            snprintf(err, errlen, "guest memory: zone '%s': mbind to host node %u: %s", z->id,
                     z->node, strerror(-r));
            return r;
        }
    }
    if (z->prefault) {
        r = core_prefault_ram(host, map);
        if (r < 0) {
            snprintf(err, errlen, "guest memory: zone '%s': prefault: %s", z->id, strerror(-r));
            return r;
        }
    }
    r = guest_mem_add_zone(&l->mem, host, z->size, z->fd);
    if (r < 0) {
        snprintf(err, errlen, "guest memory: zone '%s' does not fit the memory map: %s", z->id,
                 strerror(-r));
        return r;
    }
    return 0;
}

static int map_zones(struct core_layout *l, const Cellvm__CoreConfig *cfg, const int *fds,
                     char *err, size_t errlen)
{
    const Cellvm__MemoryConfig *m = cfg->memory;
    struct zone_spec z = {
        .id = "memory", .size = m->size, .sealed = true, .prefault = m->prefault, .fd = -1
    };
    uint64_t hot = 0;
    int r;

    for (uint32_t i = 0; i < l->nhot; i++)
        hot += l->hot[i].size;
    if (l->nhot && (m->n_zones || hot >= m->size)) {
        snprintf(err, errlen,
                 "guest memory: the snapshot has %llu MiB of hot-added RAM, config.json's "
                 "memory.size %llu MiB%s",
                 (unsigned long long)(hot >> 20), (unsigned long long)(m->size >> 20),
                 m->n_zones ? " and memory zones" : "");
        return -EINVAL;
    }
    if (m->n_zones == 0) {
        for (size_t i = 0; i < cfg->n_fds; i++)
            if (cfg->fds[i] == CELLVM__CORE_FD__CORE_FD_MEMORY)
                z.fd = fds[i];
        /* memory.size counts the RAM vm.resize added (Cloud Hypervisor's config): the boot
         * RAM is what comes before it in the memfd. */
        z.map_size = m->size;
        z.size = m->size - hot;
        return map_zone(l, &z, m->thp, err, errlen);
    }
    for (size_t i = 0; i < m->n_zones; i++) {
        const Cellvm__MemoryZone *mz = m->zones[i];

        z = (struct zone_spec){ .id = mz->id,
                                .size = mz->size,
                                .fd = fds[mz->fd_index],
                                .sealed = !mz->file_backed,
                                .bind = mz->has_host_numa_node,
                                .node = mz->host_numa_node,
                                .prefault = mz->prefault || m->prefault };
        r = map_zone(l, &z, m->thp, err, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * The virtio-mem regions, in zone order above RAM as Cloud Hypervisor places them: from the
 * end of RAM rounded up to 128 MiB (4 GiB when RAM ends below the hole), each region starting
 * on a 128 MiB boundary after the one before.
 */
static int map_vmem(struct core_layout *l, const Cellvm__CoreConfig *cfg, const int *fds, char *err,
                    size_t errlen)
{
    const Cellvm__MemoryConfig *m = cfg->memory;
    uint64_t at = guest_mem_end(&l->mem);

    at = at <= GPA_MEM32_END ? GPA_RAM_ABOVE_4G : at;
    for (size_t i = 0; i < m->n_virtio_mem && i < GUEST_MEM_MAX_ZONES; i++) {
        const Cellvm__VirtioMemRegion *v = m->virtio_mem[i];
        int fd = fds[v->fd_index], r;
        uint8_t *host;

        at = (at + PB_HOTPLUG_BLOCK - 1) & ~(PB_HOTPLUG_BLOCK - 1);
        r = core_map_ram(fd, v->size, true, m->thp, &host);
        if (r < 0) {
            snprintf(err, errlen, "virtio-mem: cannot map %llu bytes: %s",
                     (unsigned long long)v->size, strerror(-r));
            return r;
        }
        l->vmem_map[l->nvmem].host = host;
        l->vmem_map[l->nvmem].size = v->size;
        r = guest_mem_add_vmem(&l->mem, at, host, v->size, fd, v->zone);
        if (r < 0) {
            snprintf(err, errlen, "virtio-mem: %llu MiB at 0x%llx do not fit the memory map: %s",
                     (unsigned long long)(v->size >> 20), (unsigned long long)at, strerror(-r));
            core_unmap_ram(host, v->size);
            return r;
        }
        l->vmem[l->nvmem++] =
            (struct vm_vmem_params){ .region = (uint32_t)r, .requested = v->requested, .node = -1 };
        at += v->size;
    }
    return 0;
}

/*
 * vm.restore: the RAM vm.resize had added, at the places the snapshot's memory hotplug slots
 * give, backed by the end of the boot memfd (one mapping, so one fd and one offset each).
 */
static int map_hot(struct core_layout *l, char *err, size_t errlen)
{
    const struct guest_mem_region *boot = l->mem.nregions ? &l->mem.regions[0] : NULL;
    uint64_t off;

    if (!l->nhot)
        return 0;
    if (!boot || l->nzones != 1) {
        snprintf(err, errlen, "guest memory: hot-added RAM without boot RAM");
        return -EINVAL;
    }
    off = l->mem.size; /* the boot RAM: the hot-added bytes follow it in the memfd */
    for (uint32_t i = 0; i < l->nhot; i++) {
        int r = guest_mem_add_at(&l->mem, l->hot[i].gpa, l->zone[0].host + off, l->hot[i].size,
                                 boot->fd);

        if (r < 0) {
            snprintf(err, errlen,
                     "guest memory: hot-added RAM 0x%llx+0x%llx of the snapshot does not fit "
                     "the memory map: %s",
                     (unsigned long long)l->hot[i].gpa, (unsigned long long)l->hot[i].size,
                     strerror(-r));
            return r;
        }
        l->mem.regions[r].fd_offset = off;
        off += l->hot[i].size;
    }
    return 0;
}

/* vm.restore: where the snapshot's state.json puts the pmem file of id when vm.add-pmem had
 * placed it (above the PCI windows), or NULL for one the boot layout places. */
static const struct vms_pmem *saved_hot(const struct vms_pmem *saved, uint32_t n, const char *id)
{
    for (uint32_t k = 0; k < n; k++)
        if (saved[k].hot && !strcmp(saved[k].id, id))
            return &saved[k];
    return NULL;
}

/* The pmem places of the snapshot being restored (*n 0 when none is). */
static int peek_pmem(const Cellvm__CoreConfig *cfg, const int *fds, struct vms_pmem *saved,
                     uint32_t *n, char *err, size_t errlen)
{
    *n = 0;
    if (!cfg->restore || !cfg->n_pmem)
        return 0;
    for (size_t i = 0; i < cfg->n_fds; i++)
        if (cfg->fds[i] == CELLVM__CORE_FD__CORE_FD_STATE)
            return vm_pmem_peek_state(fds[i], saved, n, err, errlen);
    return 0;
}

/*
 * The virtio-pmem files, above RAM and the virtio-mem regions, each on a 2 MiB boundary (Cloud
 * Hypervisor's alignment for them); the memory hotplug area and MMIO64 come after them. On a
 * restore, a file vm.add-pmem had added goes back where the snapshot has it, apart (detachable,
 * above the PCI windows) as vm.add-pmem had placed it, after the boot ones.
 */
static int map_pmem(struct core_layout *l, const Cellvm__CoreConfig *cfg, const int *fds, char *err,
                    size_t errlen)
{
    const uint64_t align = 2ull << 20;
    uint64_t at = guest_mem_end(&l->mem);
    struct vms_pmem saved[VMS_MAX_PMEM];
    uint32_t nsaved = 0;
    int r = peek_pmem(cfg, fds, saved, &nsaved, err, errlen);

    if (r < 0)
        return r;
    at = at <= GPA_MEM32_END ? GPA_RAM_ABOVE_4G : at;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < cfg->n_pmem && i < GUEST_MEM_MAX_PMEM; i++) {
            const Cellvm__PmemDevice *d = cfg->pmem[i];
            const struct vms_pmem *h = saved_hot(saved, nsaved, d->id);
            int fd = fds[d->fd_index];
            uint64_t gpa;
            uint8_t *host;

            if ((h != NULL) != (pass == 1))
                continue;
            at = (at + align - 1) & ~(align - 1);
            gpa = h ? h->gpa : at;
            r = core_map_pmem(fd, d->size, d->discard_writes, &host);
            if (r < 0) {
                snprintf(err, errlen, "pmem '%s': cannot map %llu bytes of its file: %s", d->id,
                         (unsigned long long)d->size, strerror(-r));
                return r;
            }
            l->pmem_map[l->npmem].host = host;
            l->pmem_map[l->npmem].size = d->size;
            r = h ? guest_mem_add_detachable(&l->mem, gpa, host, d->size, fd, d->discard_writes)
                  : guest_mem_add_pmem(&l->mem, gpa, host, d->size, fd, d->discard_writes);
            if (r < 0) {
                snprintf(err, errlen, "pmem '%s': %llu MiB at 0x%llx do not fit the memory map: %s",
                         d->id, (unsigned long long)(d->size >> 20), (unsigned long long)gpa,
                         strerror(-r));
                core_unmap_ram(host, d->size);
                return r;
            }
            /* A hot-added one leaves with its device: the VM unmaps it then (the fd stays
             * with the config's fds, closed when the core ends). */
            if (h) {
                l->pmem_map[l->npmem].host = NULL;
                l->pmem_map[l->npmem].size = 0;
            }
            l->pmem[l->npmem++] = (struct vm_pmem_params){ .region = (uint32_t)r,
                                                           .id = d->id,
                                                           .pci_segment = (uint16_t)d->pci_segment,
                                                           .owned = h != NULL };
            if (!h)
                at += d->size;
        }
    }
    return 0;
}

/* Proximity domain = guest_numa_id; ids are dense in practice and below PB_MAX_NUMA_NODES. */
static void fill_numa(struct core_layout *l, const Cellvm__CoreConfig *cfg, struct vm_numa *out)
{
    uint32_t n = 0, ngi = 0;

    memset(out, 0, sizeof(*out));
    if (!cfg->n_numa_nodes)
        return;
    for (size_t i = 0; i < cfg->n_numa_nodes; i++)
        if (cfg->numa_nodes[i]->guest_numa_id + 1 > n)
            n = cfg->numa_nodes[i]->guest_numa_id + 1;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            l->distances[i * n + j] = i == j ? SLIT_LOCAL : SLIT_REMOTE;
    for (size_t i = 0; i < cfg->n_numa_nodes; i++) {
        const Cellvm__NumaNode *node = cfg->numa_nodes[i];
        uint32_t id = node->guest_numa_id;

        for (size_t j = 0; j < node->n_cpus; j++)
            l->cpu_node[node->cpus[j]] = id;
        for (size_t j = 0; j < node->n_zones; j++)
            l->zone_node[node->zones[j]] = id;
        for (size_t j = 0; j < node->n_distances; j++)
            l->distances[id * n + node->distances[j]->destination] =
                (uint8_t)node->distances[j]->distance;
    }
    for (size_t i = 0; i < cfg->n_numa_nodes && i < PB_MAX_NUMA_NODES; i++) {
        const Cellvm__NumaNode *node = cfg->numa_nodes[i];

        if (node->device_id && node->device_id[0])
            l->initiators[ngi++] = (struct vm_numa_initiator){ .device_id = node->device_id,
                                                               .node = node->guest_numa_id };
    }
    *out = (struct vm_numa){ .nnodes = n,
                             .cpu_node = l->cpu_node,
                             .zone_node = l->zone_node,
                             .distances = l->distances,
                             .initiators = l->initiators,
                             .ninitiators = ngi };
}

static uint32_t fill_affinity(struct core_layout *l, const Cellvm__CpuConfig *c)
{
    uint32_t n = 0;

    for (size_t i = 0; i < c->n_affinity && n < PB_MAX_VCPUS; i++) {
        l->affinity[n++] = (struct vm_cpu_affinity){
            .vcpu = c->affinity[i]->vcpu,
            .host_cpus = c->affinity[i]->host_cpus,
            .nhost_cpus = (uint32_t)c->affinity[i]->n_host_cpus,
        };
    }
    return n;
}

int core_layout_apply(struct core_layout *l, const Cellvm__CoreConfig *cfg, const int *fds,
                      struct vm_params *p, char *err, size_t errlen)
{
    int r = map_zones(l, cfg, fds, err, errlen);

    if (!r)
        r = map_vmem(l, cfg, fds, err, errlen);
    if (!r)
        r = map_pmem(l, cfg, fds, err, errlen);
    if (!r)
        r = map_hot(l, err, errlen);
    if (r < 0)
        return r;
    p->mem = l->mem;
    p->hotplug_size = cfg->memory->hotplug_size;
    fill_numa(l, cfg, &p->numa);
    /* A zone's virtio-mem device names the zone's node (ACPI_PXM) when there is NUMA. */
    for (uint32_t i = 0; i < l->nvmem; i++)
        if (cfg->n_numa_nodes && cfg->memory->n_zones)
            l->vmem[i].node = (int)l->zone_node[cfg->memory->virtio_mem[i]->zone];
    p->vmem = l->vmem;
    p->nvmem = l->nvmem;
    p->pmem = l->pmem;
    p->npmem = l->npmem;
    p->affinity = l->affinity;
    p->naffinity = fill_affinity(l, cfg->cpus);
    return 0;
}
