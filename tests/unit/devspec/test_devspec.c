/* The device specs (--disk, --net, --vsock, --device, --fs) through their own parsers, as the
 * controller and a standalone daemon both call them: every key stored, CH's defaults, and the
 * three kinds of error (unknown key, known but not supported yet, invalid value). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devspec/devspec.h"

#define ERR_LEN 512

Test(devspec, disk_keys)
{
    struct cli_disk d;
    char err[ERR_LEN];

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

Test(devspec, net_keys)
{
    struct cli_net n;
    char err[ERR_LEN];
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

Test(devspec, mac_is_strict)
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

Test(devspec, vsock_keys)
{
    struct cli_vsock v;
    char err[ERR_LEN];

    cr_assert_eq(cli_vsock_parse("cid=3,socket=/tmp/v.sock,id=vs0", &v, err, sizeof(err)), 0);
    cr_expect(v.present);
    cr_expect_eq(v.cid, 3);
    cr_expect_str_eq(v.socket, "/tmp/v.sock");
    cli_vsock_free(&v);
}

Test(devspec, device_keys)
{
    struct cli_device d;
    char err[ERR_LEN];

    cr_assert_eq(cli_device_parse("path=/sys/bus/pci/devices/0000:01:00.0/,id=vfio0,iommu=off,"
                                  "pci_segment=0",
                                  &d, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_str_eq(d.path, "/sys/bus/pci/devices/0000:01:00.0/");
    cr_expect_str_eq(d.id, "vfio0");
    cr_expect_not(d.iommu);
    cli_device_free(&d);
}

Test(devspec, user_device_keys)
{
    struct cli_user_device u;
    char err[ERR_LEN];

    cr_assert_eq(
        cli_user_device_parse("socket=/tmp/edu.sock,id=uedu,pci_segment=0", &u, err, sizeof(err)),
        0, "%s", err);
    cr_expect_str_eq(u.socket, "/tmp/edu.sock");
    cr_expect_str_eq(u.id, "uedu");
    cr_expect_eq(u.pci_segment, 0);
    cli_user_device_free(&u);

    cr_assert_eq(cli_user_device_parse("socket=\"/tmp/a,b.sock\"", &u, err, sizeof(err)), 0, "%s",
                 err);
    cr_expect_str_eq(u.socket, "/tmp/a,b.sock");
    cr_expect_null(u.id);
    cli_user_device_free(&u);
}

Test(devspec, user_device_errors)
{
    static const struct {
        const char *value, *err;
    } cases[] = {
        { "socket=/s,path=/d", "--user-device: unknown key 'path'" },
        { "socket=/s,pci_segment=x",
          "--user-device: invalid value for 'pci_segment': 'x' (expected an integer from 0 to "
          "65535)" },
        { "id=u0", "--user-device: missing required key 'socket'" },
        { "socket=/s,id=__x",
          "--user-device: invalid value for 'id': '__x' (ids starting with '__' are reserved)" },
    };
    char err[ERR_LEN];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli_user_device u;
        int r;

        err[0] = '\0';
        r = cli_user_device_parse(cases[i].value, &u, err, sizeof(err));
        cli_user_device_free(&u);
        cr_expect_eq(r, -EINVAL, "%s", cases[i].value);
        cr_expect_str_eq(err, cases[i].err, "%s", cases[i].value);
    }
}

Test(devspec, fs_keys)
{
    struct cli_fs fs;
    char err[ERR_LEN];

    cr_assert_eq(cli_fs_parse("tag=myfs,socket=/tmp/virtiofsd.sock,num_queues=2,queue_size=512,"
                              "id=fs0",
                              &fs, err, sizeof(err)),
                 0, "%s", err);
    cr_expect_str_eq(fs.tag, "myfs");
    cr_expect_str_eq(fs.socket, "/tmp/virtiofsd.sock");
    cr_expect_eq(fs.num_queues, 2);
    cr_expect_eq(fs.queue_size, 512);
    cr_expect_str_eq(fs.id, "fs0");
    cli_fs_free(&fs);

    cr_assert_eq(cli_fs_parse("tag=t,socket=/s", &fs, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(fs.num_queues, 1);
    cr_expect_eq(fs.queue_size, 1024);
    cli_fs_free(&fs);
}

/* Every refusal is one line naming the option and the key. */
Test(devspec, device_fs_errors)
{
    static const struct {
        bool fs;
        const char *value, *err;
    } cases[] = {
        { false, "path=/d,bogus=1", "--device: unknown key 'bogus'" },
        { false, "path=/d,iommu=on", "--device: known but not supported yet: iommu" },
        { false, "path=/d,pci_segment=65536",
          "--device: invalid value for 'pci_segment': '65536' (expected an integer from 0 to "
          "65535)" },
        { false, "path=/d,x_nv_gpudirect_clique=0",
          "--device: known but not supported yet: x_nv_gpudirect_clique" },
        { false, "id=d0", "--device: missing required key 'path'" },
        { false, "path=/d,id=__x",
          "--device: invalid value for 'id': '__x' (ids starting with '__' are reserved)" },
        { true, "tag=t,socket=/s,cache=always", "--fs: unknown key 'cache'" },
        { true, "tag=t,socket=/s,pci_segment=2", "--fs: known but not supported yet: pci_segment" },
        { true, "socket=/s", "--fs: missing required key 'tag'" },
        { true, "tag=t", "--fs: missing required key 'socket'" },
        { true, "tag=0123456789012345678901234567890123456,socket=/s",
          "--fs: invalid value for 'tag': '0123456789012345678901234567890123456' (longer than 36 "
          "bytes)" },
        { true, "tag=t,socket=/s,num_queues=0",
          "--fs: invalid value for 'num_queues': '0' (at least 1)" },
        { true, "tag=t,socket=/s,queue_size=100",
          "--fs: invalid value for 'queue_size': '100' (a power of two from 2 to 32768)" },
    };
    char err[ERR_LEN];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli_device d;
        struct cli_fs fs;
        int r;

        err[0] = '\0';
        if (cases[i].fs) {
            r = cli_fs_parse(cases[i].value, &fs, err, sizeof(err));
            cli_fs_free(&fs);
        } else {
            r = cli_device_parse(cases[i].value, &d, err, sizeof(err));
            cli_device_free(&d);
        }
        cr_expect_eq(r, -EINVAL, "%s", cases[i].value);
        cr_expect_str_eq(err, cases[i].err, "%s", cases[i].value);
    }
}
