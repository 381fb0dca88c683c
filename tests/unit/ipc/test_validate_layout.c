/* pb_validate_core_config on memory zones and NUMA nodes: what the core relies on when it maps
 * zones by fd index and fills SRAT/SLIT arrays by node, vCPU and zone index. */
#include <criterion/criterion.h>
#include <errno.h>

#include "validate.h"

struct layout {
    Cellvm__CoreConfig cfg;
    Cellvm__CpuConfig cpus;
    Cellvm__MemoryConfig mem;
    Cellvm__CoreFd fds[4];
    Cellvm__MemoryZone zone[2];
    Cellvm__MemoryZone *zonep[2];
    Cellvm__NumaNode node[2];
    Cellvm__NumaNode *nodep[2];
    uint32_t cpus0[1], cpus1[1], zones0[1], zones1[1];
    Cellvm__NumaDistance dist;
    Cellvm__NumaDistance *distp[1];
};

/* Two vCPUs, two 64 MiB zones (fds 1 and 3), two nodes 20 apart. */
static void good(struct layout *l)
{
    static const Cellvm__CoreFd roles[] = { CELLVM__CORE_FD__CORE_FD_KVM,
                                            CELLVM__CORE_FD__CORE_FD_MEMORY,
                                            CELLVM__CORE_FD__CORE_FD_KERNEL,
                                            CELLVM__CORE_FD__CORE_FD_MEMORY };

    cellvm__core_config__init(&l->cfg);
    cellvm__cpu_config__init(&l->cpus);
    cellvm__memory_config__init(&l->mem);
    l->cpus.boot_vcpus = 2;
    l->cpus.max_vcpus = 2;
    l->cpus.threads_per_core = 1;
    l->cpus.cores_per_die = 2;
    l->cpus.dies_per_package = 1;
    l->cpus.packages = 1;
    l->cpus.max_phys_bits = 46;
    l->mem.size = 128ull << 20;
    for (int i = 0; i < 2; i++) {
        cellvm__memory_zone__init(&l->zone[i]);
        l->zone[i].id = i ? (char *)"m1" : (char *)"m0";
        l->zone[i].size = 64ull << 20;
        l->zone[i].fd_index = i ? 3 : 1;
        l->zonep[i] = &l->zone[i];
        cellvm__numa_node__init(&l->node[i]);
        l->node[i].guest_numa_id = (uint32_t)i;
        l->nodep[i] = &l->node[i];
    }
    l->mem.zones = l->zonep;
    l->mem.n_zones = 2;
    l->cpus0[0] = 0;
    l->cpus1[0] = 1;
    l->zones0[0] = 0;
    l->zones1[0] = 1;
    l->node[0].cpus = l->cpus0;
    l->node[0].n_cpus = 1;
    l->node[0].zones = l->zones0;
    l->node[0].n_zones = 1;
    l->node[1].cpus = l->cpus1;
    l->node[1].n_cpus = 1;
    l->node[1].zones = l->zones1;
    l->node[1].n_zones = 1;
    cellvm__numa_distance__init(&l->dist);
    l->dist.destination = 1;
    l->dist.distance = 20;
    l->distp[0] = &l->dist;
    l->node[0].distances = l->distp;
    l->node[0].n_distances = 1;
    for (int i = 0; i < 4; i++)
        l->fds[i] = roles[i];
    l->cfg.cpus = &l->cpus;
    l->cfg.memory = &l->mem;
    l->cfg.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
    l->cfg.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    l->cfg.fds = l->fds;
    l->cfg.n_fds = 4;
    l->cfg.numa_nodes = l->nodep;
    l->cfg.n_numa_nodes = 2;
}

static void expect_bad(struct layout *l, const char *field)
{
    const char *why = NULL;

    cr_expect_eq(pb_validate_core_config(&l->cfg, 4, &why), -EINVAL, "expected %s", field);
    if (why)
        cr_expect_str_eq(why, field);
    good(l);
}

Test(validate_layout, zones_and_nodes)
{
    struct layout l;
    const char *why = NULL;

    good(&l);
    cr_assert_eq(pb_validate_core_config(&l.cfg, 4, &why), 0, "%s", why);

    l.zone[1].size = 32ull << 20;
    expect_bad(&l, "memory.zones.size");
    l.zone[1].size = 4097;
    expect_bad(&l, "memory.zones.size");
    l.zone[1].fd_index = 1;
    expect_bad(&l, "memory.zones.fd_index");
    l.zone[1].fd_index = 2;
    expect_bad(&l, "memory.zones.fd_index");
    l.zone[1].fd_index = 9;
    expect_bad(&l, "memory.zones.fd_index");
    l.zone[0].id = (char *)"";
    expect_bad(&l, "memory.zones.id");
    l.mem.n_zones = 1;
    expect_bad(&l, "memory.zones");
    l.mem.n_zones = 0;
    expect_bad(&l, "core_config.fds");

    l.cpus1[0] = 0;
    expect_bad(&l, "numa_nodes.cpus");
    l.node[1].n_cpus = 0;
    expect_bad(&l, "numa_nodes.cpus");
    l.cpus1[0] = 2;
    expect_bad(&l, "numa_nodes.cpus");
    l.zones1[0] = 0;
    expect_bad(&l, "numa_nodes.zones");
    l.node[1].n_zones = 0;
    expect_bad(&l, "numa_nodes.zones");
    l.node[1].guest_numa_id = 0;
    expect_bad(&l, "numa_nodes.guest_numa_id");
    l.node[1].guest_numa_id = PB_MAX_NUMA_NODES;
    expect_bad(&l, "numa_nodes.guest_numa_id");
    l.dist.destination = 5;
    expect_bad(&l, "numa_nodes.distances");
    l.dist.distance = 10;
    expect_bad(&l, "numa_nodes.distances");
    l.dist.destination = 0;
    expect_bad(&l, "numa_nodes.distances");
    /* device_id: a Generic Initiator node has no CPUs and no memory of its own */
    l.node[1].device_id = (char *)"gidisk";
    expect_bad(&l, "numa_nodes.device_id");
    l.node[0].device_id = (char *)"bad\nid";
    expect_bad(&l, "numa_nodes.device_id");
}
