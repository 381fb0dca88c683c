/* See cli_host.h. */
#include "cli_host.h"

#include <errno.h>
#include <stdbool.h>

#include "cli_util.h"

static int check_cpu(const struct cli_host *h, uint32_t cpu, char *err, size_t errlen)
{
    if (cpu >= h->ncpus) {
        cli_err(err, errlen,
                "--cpus: invalid value for 'affinity': host CPU %u does not exist (the host has "
                "%u)",
                cpu, h->ncpus);
        return -EINVAL;
    }
    if (h->allowed && !CPU_ISSET_S(cpu, h->allowed_size, h->allowed)) {
        cli_err(err, errlen,
                "--cpus: invalid value for 'affinity': host CPU %u is outside cellvm's CPU set",
                cpu);
        return -EINVAL;
    }
    return 0;
}

static bool node_online(const struct cli_host *h, uint32_t node)
{
    if (node >= CLI_HOST_MAX_NODES)
        return false;
    if (!h->nodes)
        return node == 0;
    return (h->nodes[node / 64] >> (node % 64)) & 1;
}

int cli_check_host(const struct cli_config *cfg, const struct cli_host *h, char *err, size_t errlen)
{
    const struct optparse_tuple_list *aff = &cfg->cpus.affinity;

    for (size_t i = 0; i < aff->n; i++) {
        for (size_t j = 0; j < aff->v[i].vals.n; j++) {
            int r = check_cpu(h, aff->v[i].vals.v[j], err, errlen);

            if (r < 0)
                return r;
        }
    }
    for (size_t i = 0; i < cfg->nzones; i++) {
        const struct cli_memory_zone *z = &cfg->zones[i];

        if (z->has_host_numa_node && !node_online(h, z->host_numa_node)) {
            cli_err(err, errlen,
                    "--memory-zone: invalid value for 'host_numa_node': '%u' (no such host "
                    "NUMA node)",
                    z->host_numa_node);
            return -EINVAL;
        }
    }
    return 0;
}
