/* Device options are refused as a whole until their device lands, but every key is parsed and
 * stored now. The device specs' own parsers are tested in tests/unit/devspec; here, the memory
 * zone and NUMA groups, and the stored values through cli_parse(). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_cpus_mem.h"
#include "core/cli/cli_validate.h"

Test(cli_devices, zone_numa)
{
    struct cli_memory_zone z;
    struct cli_numa numa;
    char err[CLI_ERR_LEN];

    cr_assert_eq(cli_memory_zone_parse("id=m0,size=1G,shared=on,host_numa_node=1,hugepages=on,"
                                       "hugepage_size=1G,prefault=on",
                                       &z, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_str_eq(z.id, "m0");
    cr_expect_eq(z.size, 1ull << 30);
    cr_expect(z.has_host_numa_node);
    cr_expect_eq(z.host_numa_node, 1);
    cli_memory_zone_free(&z);

    cr_assert_eq(cli_numa_parse("guest_numa_id=0,cpus=[0,2-5],distances=[1@20,2@30],"
                                "memory_zones=[m0,m1],pci_segments=[0]",
                                &numa, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_eq(numa.cpus.n, 5);
    cr_expect_eq(numa.cpus.v[4], 5);
    cr_assert_eq(numa.ndistances, 2);
    cr_expect_eq(numa.distances[1].destination, 2);
    cr_expect_eq(numa.distances[1].distance, 30);
    cr_expect_eq(numa.memory_zones.n, 2);
    cr_expect_str_eq(numa.memory_zones.v[1], "m1");
    cli_numa_free(&numa);
}

/* Through cli_parse(): values are stored even though the option is refused, so flipping the
 * table's `supported` is the only change needed when the device lands. */
Test(cli_devices, parsed_before_refused)
{
    struct cli_config c;
    char err[CLI_ERR_LEN];
    char *argv[] = { "cellvm",
                     "--kernel",
                     "k",
                     "--cpus",
                     "boot=2",
                     "--disk",
                     "path=/a",
                     "path=/b,num_queues=2",
                     "--disk=path=/c",
                     "--net",
                     "tap=t0",
                     "num_queues=4",
                     "--memory",
                     "size=0",
                     "--memory-zone",
                     "id=z0,size=1G",
                     "--numa",
                     "guest_numa_id=0,cpus=[0-1],memory_zones=[z0]",
                     "--vsock",
                     "cid=3,socket=/tmp/v",
                     "--firmware",
                     "/fw",
                     NULL };

    cr_assert_eq(cli_parse(sizeof(argv) / sizeof(argv[0]) - 1, argv, &c, err, sizeof(err)),
                 -EINVAL);
    cr_expect_str_eq(err, "--firmware: known but not supported yet");
    cr_expect_eq(c.ndisks, 3);
    cr_expect_str_eq(c.disks[2].path, "/c");
    cr_expect_eq(c.disks[1].num_queues, 2);
    cr_expect_eq(c.nnets, 2);
    cr_expect_eq(c.nzones, 1);
    cr_expect_eq(c.nnuma, 1);
    cli_config_free(&c);
}

/* --device (VFIO) through cli_parse(): accepted and stored (the path is checked at launch, where
 * sysfs is read), its id in the one namespace of device ids, a Generic Initiator candidate. */
Test(cli_devices, vfio_device)
{
    struct cli_config c;
    char err[CLI_ERR_LEN];
    char *ok[] = { "cellvm",
                   "--kernel",
                   "k",
                   "--device",
                   "path=/sys/bus/pci/devices/0000:01:00.0,id=gpu0",
                   "path=/sys/bus/pci/devices/0000:02:00.0",
                   "--memory",
                   "size=0",
                   "--memory-zone",
                   "id=m0,size=64M",
                   "--numa",
                   "guest_numa_id=0,cpus=[0],memory_zones=[m0]",
                   "guest_numa_id=1,device_id=gpu0",
                   NULL };
    char *dup[] = { "cellvm",
                    "--kernel",
                    "k",
                    "--disk",
                    "path=/d,id=gpu0",
                    "--device",
                    "path=/sys/bus/pci/devices/0000:01:00.0,id=gpu0",
                    NULL };
    char *seg[] = { "cellvm",
                    "--kernel",
                    "k",
                    "--device",
                    "path=/sys/bus/pci/devices/0000:01:00.0,pci_segment=1",
                    NULL };

    cr_assert_eq(cli_parse(sizeof(ok) / sizeof(ok[0]) - 1, ok, &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.ndevices, 2);
    cr_expect_str_eq(c.devices[0].id, "gpu0");
    cr_expect_str_eq(c.devices[1].path, "/sys/bus/pci/devices/0000:02:00.0");
    cr_expect_null(c.devices[1].id);
    cr_expect_not(c.devices[0].iommu);
    cli_config_free(&c);
    cr_assert_eq(cli_parse(sizeof(dup) / sizeof(dup[0]) - 1, dup, &c, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "--device: invalid value for 'id': 'gpu0' (already used)");
    cli_config_free(&c);
    cr_assert_eq(cli_parse(sizeof(seg) / sizeof(seg[0]) - 1, seg, &c, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "--device: invalid value for 'pci_segment': Invalid PCI segment id: 1 "
                          "(--platform num_pci_segments=1)");
    cli_config_free(&c);
}

/* --user-device through cli_parse(): stored as given (the socket is connected at launch), its id
 * in the one namespace of device ids. */
Test(cli_devices, user_device)
{
    struct cli_config c;
    char err[CLI_ERR_LEN];
    char *ok[] = { "cellvm",
                   "--kernel",
                   "k",
                   "--user-device",
                   "socket=/tmp/a.sock,id=u0",
                   "socket=/tmp/b.sock",
                   NULL };
    char *dup[] = { "cellvm",
                    "--kernel",
                    "k",
                    "--device",
                    "path=/sys/bus/pci/devices/0000:01:00.0,id=u0",
                    "--user-device",
                    "socket=/tmp/a.sock,id=u0",
                    NULL };
    char *seg[] = { "cellvm", "--kernel", "k", "--user-device", "socket=/s,pci_segment=1", NULL };

    cr_assert_eq(cli_parse(sizeof(ok) / sizeof(ok[0]) - 1, ok, &c, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.nuser_devices, 2);
    cr_expect_str_eq(c.user_devices[0].socket, "/tmp/a.sock");
    cr_expect_str_eq(c.user_devices[0].id, "u0");
    cr_expect_str_eq(c.user_devices[1].socket, "/tmp/b.sock");
    cr_expect_null(c.user_devices[1].id);
    cli_config_free(&c);
    cr_assert_eq(cli_parse(sizeof(dup) / sizeof(dup[0]) - 1, dup, &c, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "--user-device: invalid value for 'id': 'u0' (already used)");
    cli_config_free(&c);
    cr_assert_eq(cli_parse(sizeof(seg) / sizeof(seg[0]) - 1, seg, &c, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "--user-device: invalid value for 'pci_segment': Invalid PCI segment id: "
                          "1 (--platform num_pci_segments=1)");
    cli_config_free(&c);
}

/* --rng through cli_parse(): absent by default (cellvm adds the device only when asked), the
 * default source when given without src=, one at most, iommu=on behind the virtio-iommu. */
Test(cli_devices, rng)
{
    struct cli_config c;
    char err[CLI_ERR_LEN];
    char *none[] = { "cellvm", "--kernel", "k", NULL };
    char *dflt[] = { "cellvm", "--kernel", "k", "--rng", "", NULL };
    char *src[] = { "cellvm", "--kernel", "k", "--rng=src=/dev/hw,rng", NULL };
    char *twice[] = { "cellvm", "--kernel", "k", "--rng", "src=/a", "--rng", "src=/b", NULL };
    char *iommu[] = { "cellvm", "--kernel", "k", "--rng", "iommu=on", NULL };

    cr_assert_eq(cli_parse(3, none, &c, err, sizeof(err)), 0, "%s", err);
    cr_expect_not(c.rng.present);
    cli_config_free(&c);
    cr_assert_eq(cli_parse(5, dflt, &c, err, sizeof(err)), 0, "%s", err);
    cr_expect(c.rng.present);
    cr_expect_str_eq(c.rng.src, "/dev/urandom");
    cli_config_free(&c);
    cr_assert_eq(cli_parse(4, src, &c, err, sizeof(err)), -EINVAL, "unquoted comma accepted");
    cli_config_free(&c);
    src[3] = "--rng=src=\"/dev/hw,rng\"";
    cr_assert_eq(cli_parse(4, src, &c, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(c.rng.src, "/dev/hw,rng");
    cli_config_free(&c);
    cr_expect_eq(cli_parse(7, twice, &c, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "--rng"), "%s", err);
    cli_config_free(&c);
    cr_assert_eq(cli_parse(5, iommu, &c, err, sizeof(err)), 0, "%s", err);
    cr_expect(c.rng.iommu);
    cr_expect(cli_vm_iommu(&c));
    cli_config_free(&c);
}
