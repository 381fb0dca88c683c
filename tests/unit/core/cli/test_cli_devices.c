/* Device options are refused as a whole until their device lands, but every key is parsed and
 * stored now: check the stored values through the group parsers and through cli_parse(). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/cli/cli_cpus_mem.h"
#include "core/cli/cli_devices.h"

Test(cli_devices, disk_keys)
{
    struct cli_disk d;
    char err[CLI_ERR_LEN];

    cr_assert_eq(cli_disk_parse("path=/img/a.qcow2,readonly=on,direct=on,num_queues=2,"
                                "queue_size=256,id=disk0,serial=SN1,backing_files=on,"
                                "sparse=off,image_type=QCOW2,bw_size=1000,bw_refill_time=10,"
                                "ops_size=5,ops_one_time_burst=6,ops_refill_time=7,"
                                "queue_affinity=[0@[1,2],1@[3]],_disable_io_uring=on",
                                &d, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_str_eq(d.path, "/img/a.qcow2");
    cr_expect(d.readonly);
    cr_expect(d.direct);
    cr_expect_eq(d.num_queues, 2);
    cr_expect_eq(d.queue_size, 256);
    cr_expect_str_eq(d.id, "disk0");
    cr_expect_str_eq(d.serial, "SN1");
    cr_expect(d.backing_files);
    cr_expect_not(d.sparse);
    cr_expect_eq(d.image_type, CLI_IMAGE_QCOW2);
    cr_expect_eq(d.rl.bw_size, 1000);
    cr_expect_eq(d.rl.bw_refill_time, 10);
    cr_expect_eq(d.rl.ops_one_time_burst, 6);
    cr_expect_eq(d.queue_affinity.n, 2);
    cr_expect_eq(d.queue_affinity.v[0].vals.v[1], 2);
    cr_expect(d.disable_io_uring);
    cli_disk_free(&d);

    cr_assert_eq(cli_disk_parse("path=/a", &d, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(d.num_queues, 1);
    cr_expect_eq(d.queue_size, 128);
    cr_expect(d.sparse, "sparse defaults to on in v51");
    cr_expect_not(d.backing_files, "backing files default to off in v51");
    cr_expect_eq(d.image_type, CLI_IMAGE_UNKNOWN);
    cli_disk_free(&d);

    /* CH ignores image_type next to a vhost-user socket */
    cr_assert_eq(cli_disk_parse("vhost_user=on,socket=/s,image_type=bogus", &d, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_str_eq(d.socket, "/s");
    cli_disk_free(&d);
}

Test(cli_devices, net_keys)
{
    struct cli_net n;
    char err[CLI_ERR_LEN];
    static const uint8_t mac[6] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc };

    cr_assert_eq(cli_net_parse("tap=tap0,ip=169.254.1.1,mask=255.255.0.0,mac=12:34:56:78:9A:bc,"
                               "host_mac=2e:00:00:00:00:01,mtu=1500,num_queues=4,queue_size=1024,"
                               "id=net0,offload_tso=off,offload_ufo=off,offload_csum=off,"
                               "fd=[3,4],vhost_mode=Server",
                               &n, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_str_eq(n.tap, "tap0");
    cr_expect(n.has_ip);
    cr_expect_eq(n.ip.family, AF_INET);
    cr_expect_eq(n.ip.addr[0], 169);
    cr_expect(n.has_mac);
    cr_expect_arr_eq(n.mac, mac, 6);
    cr_expect(n.has_host_mac);
    cr_expect_eq(n.host_mac[0], 0x2e);
    cr_expect_eq(n.mtu, 1500);
    cr_expect_eq(n.num_queues, 4);
    cr_expect_eq(n.fds.n, 2);
    cr_expect_eq(n.fds.v[1], 4);
    cr_expect_eq(n.vhost_mode, CLI_VHOST_SERVER);
    cli_net_free(&n);

    cr_assert_eq(cli_net_parse("ip=fe80::1,mask=ffff:ffff:ffff:ffff::", &n, err, sizeof(err)), 0,
                 "%s", err);
    cr_expect_eq(n.ip.family, AF_INET6);
    cr_expect_not(n.has_mac, "no mac: the caller picks a random one");
    cr_expect_eq(n.num_queues, 2);
    cr_expect_eq(n.queue_size, 256);
    cr_expect(n.offload_csum);
    cli_net_free(&n);
}

Test(cli_devices, mac_is_strict)
{
    uint8_t m[6];
    static const char *const bad[] = {
        "12:34:56:78:9a",
        "12:34:56:78:9a:bc:de",
        "1:34:56:78:9a:bc",
        "12-34-56-78-9a-bc",
        "12:34:56:78:9a:bg",
        "12:34:56:78:9a:bc ",
        " 12:34:56:78:9a:b",
        "123456789abc",
        "12:34:56:78:9a:\x11"
        "1",
        "",
    };
    size_t i;

    cr_expect_eq(cli_parse_mac("AA:bb:0C:dd:Ee:ff", m), 0);
    cr_expect_eq(m[2], 0x0c);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(cli_parse_mac(bad[i], m), -EINVAL, "%s", bad[i]);
}

Test(cli_devices, vsock_zone_numa)
{
    struct cli_vsock v;
    struct cli_memory_zone z;
    struct cli_numa numa;
    char err[CLI_ERR_LEN];

    cr_assert_eq(cli_vsock_parse("cid=3,socket=/tmp/v.sock,id=vs0", &v, err, sizeof(err)), 0);
    cr_expect(v.present);
    cr_expect_eq(v.cid, 3);
    cr_expect_str_eq(v.socket, "/tmp/v.sock");
    cli_vsock_free(&v);

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
