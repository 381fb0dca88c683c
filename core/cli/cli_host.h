/* Checks of the command line against the host it runs on: host CPUs named by --cpus affinity
 * and host NUMA nodes named by --memory-zone host_numa_node must exist (and the CPUs be ours to
 * use) before anything starts. The caller gathers the facts; this file only compares. */
#ifndef CELLVM_CORE_CLI_CLI_HOST_H
#define CELLVM_CORE_CLI_CLI_HOST_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define CLI_HOST_MAX_NODES 1024

struct cli_host {
    uint32_t ncpus;           /* host CPUs 0..ncpus-1 exist (sysconf(_SC_NPROCESSORS_CONF)) */
    const cpu_set_t *allowed; /* CPUs this process may use (sched_getaffinity); NULL: all */
    size_t allowed_size;      /* bytes in allowed */
    /* Online host NUMA nodes, CLI_HOST_MAX_NODES bits; NULL: node 0 only. */
    const uint64_t *nodes;
};

/* 0, or -EINVAL with one line in err. */
int cli_check_host(const struct cli_config *cfg, const struct cli_host *host, char *err,
                   size_t errlen);

#endif
