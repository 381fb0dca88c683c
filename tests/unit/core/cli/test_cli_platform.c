/* --platform num_pci_segments and what it allows: device pci_segment below it, --numa
 * pci_segments with Cloud Hypervisor's rules (segment 0 on node 0, a segment on one node). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_validate.h"

#define MAX_ARGV 16
#define K        "--kernel", "k"

static int parse(const char *const *args, struct cli_config *c, char *err)
{
    char *argv[MAX_ARGV + 2] = { (char *)"cellvm" };
    int n = 1;

    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    return cli_parse(n, argv, c, err, CLI_ERR_LEN);
}

Test(cli_platform, defaults)
{
    const char *a[] = { K, NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_expect_not(c.platform.present);
    cr_expect_eq(c.platform.num_pci_segments, 1);
    cr_expect_eq(cli_num_pci_segments(&c), 1);
    cli_config_free(&c);
}

Test(cli_platform, segments_and_devices)
{
    const char *a[] = { K,
                        "--platform",
                        "num_pci_segments=4",
                        "--disk",
                        "path=/a,pci_segment=3",
                        "--net",
                        "tap=t0,pci_segment=1",
                        "--vsock",
                        "cid=3,socket=/tmp/v,pci_segment=2",
                        "--device",
                        "path=/sys/bus/pci/devices/0000:01:00.0,pci_segment=3",
                        "--user-device",
                        "socket=/s,pci_segment=0",
                        NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(a, &c, err), 0, "%s", err);
    cr_expect(c.platform.present);
    cr_expect_eq(c.platform.num_pci_segments, 4);
    cr_expect_eq(c.disks[0].pci_segment, 3);
    cr_expect_eq(c.nets[0].pci_segment, 1);
    cr_expect_eq(c.vsock.pci_segment, 2);
    cr_expect_eq(c.devices[0].pci_segment, 3);
    cli_config_free(&c);
}

Test(cli_platform, bounds)
{
    const char *one[] = { K, "--platform", "num_pci_segments=96", NULL };
    const char *zero[] = { K, "--platform", "num_pci_segments=0", NULL };
    const char *over[] = {
        K, "--platform", "num_pci_segments=2", "--vsock", "cid=3,socket=/tmp/v,pci_segment=2", NULL
    };
    const char *big[] = { K, "--platform", "num_pci_segments=70000", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(one, &c, err), 0, "%s", err);
    cr_expect_eq(c.platform.num_pci_segments, 96);
    cli_config_free(&c);
    cr_assert_eq(parse(zero, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--platform: invalid value for 'num_pci_segments': '0' (Number of PCI "
                          "segments (0) not in range of 1 to 96)");
    cli_config_free(&c);
    cr_assert_eq(parse(over, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--vsock: invalid value for 'pci_segment': Invalid PCI segment id: 2 "
                          "(--platform num_pci_segments=2)");
    cli_config_free(&c);
    cr_assert_eq(parse(big, &c, err), -EINVAL);
    cr_expect(strstr(err, "num_pci_segments") != NULL, "%s", err);
    cli_config_free(&c);
}

/* Known keys cellvm lacks: accepted at their defaults, refused when set. */
Test(cli_platform, unsupported_keys)
{
    static const char *const keys[] = { "iommu_segments=[1]", "iommu_address_width=48",
                                        "serial_number=x",    "uuid=1234",
                                        "oem_strings=[a,b]",  "tdx=on",
                                        "sev_snp=on" };
    const char *dflt[] = { K, "--platform", "iommu_address_width=64,tdx=off,sev_snp=off", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(dflt, &c, err), 0, "%s", err);
    cli_config_free(&c);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *a[] = { K, "--platform", keys[i], NULL };
        char want[128];

        snprintf(want, sizeof(want), "--platform: known but not supported yet: %.*s",
                 (int)(strchr(keys[i], '=') - keys[i]), keys[i]);
        cr_expect_eq(parse(a, &c, err), -EINVAL, "%s", keys[i]);
        cr_expect_str_eq(err, want);
        cli_config_free(&c);
    }
}

Test(cli_platform, numa_segments)
{
    const char *ok[] = { K,
                         "--cpus",
                         "boot=2",
                         "--platform",
                         "num_pci_segments=3",
                         "--numa",
                         "guest_numa_id=0,cpus=[0],pci_segments=[0,2]",
                         "guest_numa_id=1,cpus=[1],pci_segments=[1]",
                         NULL };
    const char *reused[] = { K,
                             "--cpus",
                             "boot=2",
                             "--platform",
                             "num_pci_segments=3",
                             "--numa",
                             "guest_numa_id=0,cpus=[0],pci_segments=[0,1]",
                             "guest_numa_id=1,cpus=[1],pci_segments=[1]",
                             NULL };
    const char *missing[] = { K,
                              "--platform",
                              "num_pci_segments=2",
                              "--numa",
                              "guest_numa_id=0,cpus=[0],pci_segments=[2]",
                              NULL };
    const char *node1[] = { K, "--numa", "guest_numa_id=0,cpus=[0]",
                            "guest_numa_id=1,pci_segments=[0],device_id=x", NULL };
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(ok, &c, err), 0, "%s", err);
    cli_config_free(&c);
    cr_assert_eq(parse(reused, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--numa: invalid value for 'pci_segments': PCI segment: 1 belongs to "
                          "multiple NUMA nodes 0 and 1");
    cli_config_free(&c);
    cr_assert_eq(parse(missing, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--numa: invalid value for 'pci_segments': Invalid PCI segment id: 2 "
                          "(--platform num_pci_segments=2)");
    cli_config_free(&c);
    cr_assert_eq(parse(node1, &c, err), -EINVAL);
    cr_expect_str_eq(err, "--numa: invalid value for 'pci_segments': Default PCI segment assigned "
                          "to non-zero NUMA node 1");
    cli_config_free(&c);
}
