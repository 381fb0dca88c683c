/* --cpus topology/affinity, --memory-zone and --numa: every bad input refused with one line,
 * before anything starts; and the host checks (cli_check_host) against a made-up host. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_host.h"

#define MAX_ARGV 16
#define K        "--kernel", "k"
#define Z0       "--memory", "size=0", "--memory-zone", "id=m0,size=64M"
#define Z01      "--memory", "size=0", "--memory-zone", "id=m0,size=64M", "id=m1,size=64M"

struct err_case {
    const char *argv[MAX_ARGV];
    const char *msg;
};

static const struct err_case cases[] = {
    { { K, "--cpus", "boot=2,topology=1:1:1:1" },
      "--cpus: invalid value for 'topology': '1:1:1:1' (the product is 1, max is 2)" },
    { { K, "--cpus", "boot=2,max=4,topology=2:1:1:1" },
      "--cpus: invalid value for 'topology': '2:1:1:1' (the product is 2, max is 4)" },
    { { K, "--cpus", "boot=2,affinity=[2@[0]]" },
      "--cpus: invalid value for 'affinity': vCPU 2 (max is 2)" },
    /* CPUs on two nodes, or on none */
    { { K, "--cpus", "boot=2", Z01, "--numa", "guest_numa_id=0,cpus=[0-1],memory_zones=[m0]",
        "guest_numa_id=1,cpus=[1],memory_zones=[m1]" },
      "--numa: invalid value for 'cpus': vCPU 1 is on nodes 0 and 1" },
    { { K, "--cpus", "boot=2,max=3", Z01, "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0]",
        "guest_numa_id=1,cpus=[1],memory_zones=[m1]" },
      "--numa: vCPU 2 is on no node (with --numa every vCPU up to max=3 needs one)" },
    { { K, "--cpus", "boot=2", Z0, "--numa", "guest_numa_id=0,memory_zones=[m0]" },
      "--numa: vCPU 0 is on no node (with --numa every vCPU up to max=2 needs one)" },
    /* zones referenced twice or not at all */
    { { K, Z01, "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0,m1]",
        "guest_numa_id=1,memory_zones=[m1]" },
      "--numa: invalid value for 'memory_zones': 'm1' (zone already on a node)" },
    { { K, Z01, "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0,m0]" },
      "--numa: invalid value for 'memory_zones': 'm0' (zone already on a node)" },
    { { K, Z01, "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0]" },
      "--numa: memory zone 'm1' is on no node (with --numa every --memory-zone needs one)" },
    /* distances */
    { { K, Z0, "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0],distances=[1@20]" },
      "--numa: invalid value for 'distances': node 0 has a distance to node 1, which does not "
      "exist" },
    { { K, "--cpus", "boot=2", Z01, "--numa",
        "guest_numa_id=0,cpus=[0],memory_zones=[m0],distances=[1@10]",
        "guest_numa_id=1,cpus=[1],memory_zones=[m1]" },
      "--numa: invalid value for 'distances': 10 from node 0 to node 1 (from 11 to 254 between "
      "two nodes)" },
    { { K, "--cpus", "boot=2", Z01, "--numa",
        "guest_numa_id=0,cpus=[0],memory_zones=[m0],distances=[0@20]",
        "guest_numa_id=1,cpus=[1],memory_zones=[m1]" },
      "--numa: invalid value for 'distances': 20 from node 0 to node 0 (a node is 10 from "
      "itself)" },
    { { K, "--cpus", "boot=2", Z01, "--numa",
        "guest_numa_id=0,cpus=[0],memory_zones=[m0],distances=[1@20,1@30]",
        "guest_numa_id=1,cpus=[1],memory_zones=[m1]" },
      "--numa: invalid value for 'distances': node 0 gives its distance to node 1 twice" },
    { { K, Z0, "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0]", "guest_numa_id=0,cpus=[0]" },
      "--numa: invalid value for 'guest_numa_id': '0' (given twice)" },
    /* cellvm's limits */
    { { K, Z0, "--numa", "guest_numa_id=64,cpus=[0],memory_zones=[m0]" },
      "--numa: known but not supported yet: guest_numa_id=64 (cellvm's limit is 63)" },
    { { K, "--memory", "size=0", "--memory-zone", "id=a,size=4M", "id=b,size=4M", "id=c,size=4M",
        "id=d,size=4M", "id=e,size=4M", "id=f,size=4M", "id=g,size=4M", "id=h,size=4M",
        "id=i,size=4M" },
      "--memory-zone: known but not supported yet: 9 zones (cellvm's limit is 8)" },
    /* device_id: a Generic Initiator node for one existing PCI device */
    { { K, Z0, "--disk", "path=d,id=d0", "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0]",
        "guest_numa_id=1,device_id=nope" },
      "--numa: invalid value for 'device_id': 'nope' (no --disk, --net, --vsock or --device has "
      "that id)" },
    { { K, Z0, "--disk", "path=d,id=d0", "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0]",
        "guest_numa_id=1,device_id=d0", "guest_numa_id=2,device_id=d0" },
      "--numa: invalid value for 'device_id': 'd0' (already on node 1)" },
    { { K, Z0, "--disk", "path=d,id=d0", "--numa",
        "guest_numa_id=0,cpus=[0],memory_zones=[m0],device_id=d0" },
      "--numa: invalid value for 'device_id': not together with cpus or memory_zones" },
    { { K, Z0, "--disk", "path=d,id=d0", "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[m0]",
        "guest_numa_id=1,device_id=m0" },
      "--numa: invalid value for 'device_id': 'm0' (no --disk, --net, --vsock or --device has that "
      "id)" },
    { { K, "--memory", "size=0", "--memory-zone", "id=m0,size=64M", "id=m0,size=64M" },
      "--memory-zone: invalid value for 'id': 'm0' (already used)" },
    { { K, "--memory", "size=0", "--memory-zone", "id=m0,size=3M,hugepages=on,hugepage_size=2M" },
      "--memory-zone: invalid value for 'size': '3145728' (not a multiple of the hugepage size)" },
};

static int parse(const char *const *args, struct cli_config *c, char *err)
{
    const char *argv[MAX_ARGV + 2] = { "cellvm" };
    int argc = 1;

    for (int j = 0; j < MAX_ARGV && args[j]; j++)
        argv[argc++] = args[j];
    return cli_parse(argc, (char *const *)argv, c, err, CLI_ERR_LEN);
}

Test(cli_numa, bad_inputs)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[CLI_ERR_LEN];
        struct cli_config c;
        int r = parse(cases[i].argv, &c, err);

        cr_expect_eq(r, -EINVAL, "case %zu: no error", i);
        if (r == 0) {
            cli_config_free(&c);
            continue;
        }
        cr_expect_str_eq(err, cases[i].msg, "case %zu", i);
        cr_expect_null(strchr(err, '\n'), "case %zu: one line", i);
        cli_config_free(&c);
    }
}

Test(cli_numa, good_two_nodes)
{
    static const char *const args[] = { K,
                                        "--cpus",
                                        "boot=2,max=4,topology=1:2:1:2,affinity=[0@[0],1@[1]]",
                                        Z01,
                                        "--numa",
                                        "guest_numa_id=0,cpus=[0,2],memory_zones=[m0],"
                                        "distances=[1@20]",
                                        "guest_numa_id=1,cpus=[1,3],memory_zones=[m1],"
                                        "distances=[0@20,1@10]",
                                        NULL };
    char err[CLI_ERR_LEN];
    struct cli_config c;

    cr_assert_eq(parse(args, &c, err), 0, "%s", err);
    cr_expect_eq(c.nzones, 2);
    cr_expect_eq(c.nnuma, 2);
    cr_expect(cli_option_supported("numa"));
    cr_expect(cli_option_supported("memory-zone"));
    cli_config_free(&c);
}

Test(cli_numa, generic_initiator_for_any_pci_device)
{
    static const char *const args[] = { K,
                                        Z0,
                                        "--disk",
                                        "path=d,id=gidisk",
                                        "--vsock",
                                        "cid=3,socket=/tmp/v,id=vs",
                                        "--numa",
                                        "guest_numa_id=0,cpus=[0],memory_zones=[m0]",
                                        "guest_numa_id=2,device_id=gidisk,distances=[0@30]",
                                        "guest_numa_id=1,device_id=vs",
                                        NULL };
    char err[CLI_ERR_LEN];
    struct cli_config c;

    cr_assert_eq(parse(args, &c, err), 0, "%s", err);
    cr_assert_eq(c.nnuma, 3);
    cr_expect_str_eq(c.numa[1].device_id, "gidisk");
    cr_expect_eq(c.numa[1].guest_numa_id, 2);
    cr_expect(!c.numa[1].has_cpus && !c.numa[1].has_memory_zones);
    cr_expect_str_eq(c.numa[2].device_id, "vs");
    cli_config_free(&c);
}

Test(cli_numa, host_checks)
{
    static const char *const aff[] = { K, "--cpus", "boot=2,affinity=[0@[0,1],1@[3]]", NULL };
    static const char *const node[] = {
        K, "--memory", "size=0", "--memory-zone", "id=m0,size=64M,host_numa_node=1", NULL
    };
    uint64_t nodes[CLI_HOST_MAX_NODES / 64] = { 0x3 };
    char err[CLI_ERR_LEN];
    struct cli_config c;
    struct cli_host host = { .ncpus = 4 };
    cpu_set_t set;

    cr_assert_eq(parse(aff, &c, err), 0, "%s", err);
    cr_expect_eq(cli_check_host(&c, &host, err, sizeof(err)), 0);
    host.ncpus = 2;
    cr_expect_eq(cli_check_host(&c, &host, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "--cpus: invalid value for 'affinity': host CPU 3 does not exist (the "
                          "host has 2)");
    host.ncpus = 4;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    CPU_SET(3, &set);
    host.allowed = &set;
    host.allowed_size = sizeof(set);
    cr_expect_eq(cli_check_host(&c, &host, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "--cpus: invalid value for 'affinity': host CPU 1 is outside cellvm's "
                          "CPU set");
    cli_config_free(&c);

    cr_assert_eq(parse(node, &c, err), 0, "%s", err);
    host = (struct cli_host){ .ncpus = 4 };
    cr_expect_eq(cli_check_host(&c, &host, err, sizeof(err)), -EINVAL, "node 0 only");
    cr_expect_str_eq(err, "--memory-zone: invalid value for 'host_numa_node': '1' (no such host "
                          "NUMA node)");
    host.nodes = nodes;
    cr_expect_eq(cli_check_host(&c, &host, err, sizeof(err)), 0);
    cli_config_free(&c);
}
