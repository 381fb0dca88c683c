/* The configuration side of the add/remove endpoints: device ids filled as the controller names
 * devices, api_cfg_remove_device(), --platform both ways, device objects as option strings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli/cli.h"
#include "core/controller/api_cfg.h"
#include "validate_api.h"

static char err[CLI_ERR_LEN];

static void parse(struct cli_config *c, const char *const *args)
{
    char *argv[32] = { (char *)"cellvm", (char *)"--kernel", (char *)"k" };
    int n = 3;

    for (; args[n - 3]; n++)
        argv[n] = (char *)args[n - 3];
    cr_assert_eq(cli_parse(n, argv, c, err, sizeof(err)), 0, "%s", err);
}

Test(api_cfg, fill_ids_as_devices_open)
{
    const char *a[] = { "--disk",
                        "path=/a",
                        "path=/b,id=_disk0",
                        "path=/c",
                        "--net",
                        "tap=t0",
                        "--vsock",
                        "cid=3,socket=/v",
                        "--device",
                        "path=/p0",
                        "--user-device",
                        "socket=/s",
                        "--fs",
                        "tag=a,socket=/f0",
                        "tag=b,socket=/f1,id=_fs0",
                        NULL };
    struct cli_config c;

    parse(&c, a);
    cr_assert_eq(api_cfg_fill_ids(&c), 0);
    /* _disk0 is taken by the second disk: the first gets the next free name */
    cr_expect_str_eq(c.disks[0].id, "_disk1");
    cr_expect_str_eq(c.disks[1].id, "_disk0");
    cr_expect_str_eq(c.disks[2].id, "_disk2");
    cr_expect_str_eq(c.nets[0].id, "_net0");
    cr_expect_str_eq(c.vsock.id, "_vsock0");
    cr_expect_str_eq(c.devices[0].id, "_vfio0");
    cr_expect_str_eq(c.user_devices[0].id, "_vfio_user0");
    cr_expect_str_eq(c.fs[0].id, "_fs1");
    cr_expect_str_eq(c.fs[1].id, "_fs0");
    cli_config_free(&c);
}

Test(api_cfg, remove_device)
{
    const char *a[] = { "--disk",
                        "path=/a,id=d0",
                        "path=/b,id=d1",
                        "path=/c,id=d2",
                        "--net",
                        "tap=t0,id=n0,fd=[5]",
                        "--vsock",
                        "cid=3,socket=/v,id=v0",
                        "--device",
                        "path=/p0,id=g0",
                        "--user-device",
                        "socket=/s,id=u0",
                        "--fs",
                        "tag=a,socket=/f,id=f0",
                        "tag=b,socket=/f,id=f1",
                        NULL };
    struct cli_config c;

    parse(&c, a);
    cr_assert_eq(api_cfg_remove_device(&c, "d1"), 0);
    cr_assert_eq(c.ndisks, 2);
    cr_expect_str_eq(c.disks[0].id, "d0");
    cr_expect_str_eq(c.disks[1].id, "d2");
    cr_expect_str_eq(c.disks[1].path, "/c");
    cr_assert_eq(api_cfg_remove_device(&c, "n0"), 0);
    cr_expect_eq(c.nnets, 0);
    cr_assert_eq(api_cfg_remove_device(&c, "v0"), 0);
    cr_expect_not(c.vsock.present);
    cr_expect_null(c.vsock.id);
    cr_assert_eq(api_cfg_remove_device(&c, "g0"), 0);
    cr_expect_eq(c.ndevices, 0);
    cr_assert_eq(api_cfg_remove_device(&c, "u0"), 0);
    cr_expect_eq(c.nuser_devices, 0);
    cr_assert_eq(api_cfg_remove_device(&c, "f0"), 0);
    cr_assert_eq(c.nfs, 1);
    cr_expect_str_eq(c.fs[0].tag, "b");
    cr_expect_eq(api_cfg_remove_device(&c, "f0"), -ENOENT);
    cr_expect_eq(api_cfg_remove_device(&c, "v0"), -ENOENT);
    cr_expect_eq(api_cfg_remove_device(&c, "nothing"), -ENOENT);
    cr_assert_eq(api_cfg_remove_device(&c, "d0"), 0);
    cr_assert_eq(api_cfg_remove_device(&c, "d2"), 0);
    cr_expect_eq(c.ndisks, 0);
    cli_config_free(&c);
}

Test(api_cfg, platform_both_ways)
{
    Cellvm__ApiVmConfig vc = CELLVM__API_VM_CONFIG__INIT;
    Cellvm__ApiPayloadConfig pl = CELLVM__API_PAYLOAD_CONFIG__INIT;
    Cellvm__ApiPlatformConfig pf = CELLVM__API_PLATFORM_CONFIG__INIT;
    Cellvm__ApiVmConfig *back;
    struct api_argv av;
    struct cli_config c;
    char *oem[] = { (char *)"a", (char *)"b, with a comma", (char *)"[c]" };
    uint32_t segs[] = { 1 };

    pl.kernel = (char *)"k";
    vc.payload = &pl;
    vc.platform = &pf;
    pf.num_pci_segments = 3;
    pf.has_num_pci_segments = 1;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    cr_expect(c.platform.present);
    cr_expect_eq(c.platform.num_pci_segments, 3);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_assert_not_null(back->platform);
    cr_expect_eq(back->platform->num_pci_segments, 3);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);
    /* The SMBIOS keys go through --platform and come back in vm.info as they were given. */
    pf.serial_number = (char *)"SN 1, two";
    pf.uuid = (char *)"{00112233-4455-6677-8899-AABBCCDDEEFF}";
    pf.oem_strings = oem;
    pf.n_oem_strings = 3;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    cr_expect_eq(c.platform.uuid_bytes[15], 0xff);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_assert_not_null(back->platform);
    cr_expect_str_eq(back->platform->serial_number, "SN 1, two");
    cr_expect_str_eq(back->platform->uuid, "{00112233-4455-6677-8899-AABBCCDDEEFF}");
    cr_assert_eq(back->platform->n_oem_strings, 3);
    for (size_t i = 0; i < 3; i++)
        cr_expect_str_eq(back->platform->oem_strings[i], oem[i]);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);
    /* A bad uuid is refused with what is wrong with it. */
    pf.uuid = (char *)"00112233-4455-6677-8899";
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), -EINVAL);
    cr_expect_str_eq(err, "--platform: invalid value for 'uuid': '00112233-4455-6677-8899' "
                          "(invalid group count: expected 5, found 4)");
    api_argv_free(&av);
    cli_config_free(&c);
    pf.uuid = NULL;
    pf.serial_number = NULL;
    pf.n_oem_strings = 0;
    /* IOMMU segments go through --platform and come back with the default address width; the
     * VM then has an IOMMU. */
    pf.iommu_segments = segs;
    pf.n_iommu_segments = 1;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_assert_not_null(back->platform);
    cr_assert_eq(back->platform->n_iommu_segments, 1);
    cr_expect_eq(back->platform->iommu_segments[0], 1);
    cr_expect(back->platform->has_iommu_address_width);
    cr_expect_eq(back->platform->iommu_address_width, 64);
    cr_expect(back->has_iommu && back->iommu);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    api_argv_free(&av);
    cli_config_free(&c);
    /* Segment 0 holds the IOMMU itself. */
    segs[0] = 0;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "segment 0 holds the virtio-iommu itself"), "%s", err);
    api_argv_free(&av);
    cli_config_free(&c);
    /* No --platform: vm.info has no platform object. */
    pf.n_iommu_segments = 0;
    vc.platform = NULL;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_expect_null(back->platform);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);
}

Test(api_cfg, device_objects_as_options)
{
    Cellvm__ApiDiskConfig d = CELLVM__API_DISK_CONFIG__INIT;
    Cellvm__ApiVsockConfig v = CELLVM__API_VSOCK_CONFIG__INIT;
    struct cli_disk disk;
    char *opt;

    d.path = (char *)"/img,x";
    d.id = (char *)"hd1";
    d.readonly = 1;
    d.has_readonly = 1;
    d.pci_segment = 2;
    d.has_pci_segment = 1;
    cr_assert_eq(api_cfg_option(&d.base, &opt, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_disk_parse(opt, &disk, err, sizeof(err)), 0, "%s: %s", opt, err);
    cr_expect_str_eq(disk.path, "/img,x");
    cr_expect_str_eq(disk.id, "hd1");
    cr_expect(disk.readonly);
    cr_expect_eq(disk.pci_segment, 2);
    cli_disk_free(&disk);
    free(opt);
    v.cid = 5;
    v.has_cid = 1;
    v.socket = (char *)"/v";
    cr_assert_eq(api_cfg_option(&v.base, &opt, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(opt, "cid=5,socket=\"/v\"");
    free(opt);
    d.path = (char *)"a\"b";
    cr_expect_eq(api_cfg_option(&d.base, &opt, err, sizeof(err)), -EINVAL);
    cr_expect_null(opt);
}

/* What cellvm-remote sends: the parsed spec as the schema shows it, the id only when given. */
Test(api_cfg, one_device_objects)
{
    struct cli_device dev;
    struct cli_user_device ud;
    Cellvm__ApiDeviceConfig *dm;
    Cellvm__ApiUserDeviceConfig *um;

    cr_assert_eq(cli_device_parse("path=/sys/x", &dev, err, sizeof(err)), 0, "%s", err);
    dm = api_cfg_device(&dev);
    cr_assert_not_null(dm);
    cr_expect_str_eq(dm->path, "/sys/x");
    cr_expect_null(dm->id);
    protobuf_c_message_free_unpacked(&dm->base, NULL);
    cli_device_free(&dev);
    cr_assert_eq(cli_user_device_parse("socket=/s,id=u", &ud, err, sizeof(err)), 0, "%s", err);
    um = api_cfg_user_device(&ud);
    cr_assert_not_null(um);
    cr_expect_str_eq(um->id, "u");
    protobuf_c_message_free_unpacked(&um->base, NULL);
    cli_user_device_free(&ud);
}

/* vm.create's fs list reaches --fs and comes back for vm.info; vm.add-fs's body is an --fs
 * option string; cellvm-remote's add-fs shows the id only when given. */
Test(api_cfg, fs_both_ways)
{
    Cellvm__ApiVmConfig vc = CELLVM__API_VM_CONFIG__INIT;
    Cellvm__ApiPayloadConfig pl = CELLVM__API_PAYLOAD_CONFIG__INIT;
    Cellvm__ApiFsConfig f = CELLVM__API_FS_CONFIG__INIT;
    Cellvm__ApiFsConfig *fp = &f, *one;
    Cellvm__ApiVmConfig *back;
    struct api_argv av;
    struct cli_config c;
    struct cli_fs fs;
    char *opt;

    pl.kernel = (char *)"k";
    vc.payload = &pl;
    vc.fs = &fp;
    vc.n_fs = 1;
    f.tag = (char *)"share0";
    f.socket = (char *)"/run/vfs,0.sock";
    f.num_queues = 1;
    f.has_num_queues = 1;
    f.queue_size = 512;
    f.has_queue_size = 1;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    cr_assert_eq(c.nfs, 1);
    cr_expect_str_eq(c.fs[0].tag, "share0");
    cr_expect_str_eq(c.fs[0].socket, "/run/vfs,0.sock");
    cr_expect_eq(c.fs[0].queue_size, 512);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_assert_eq(back->n_fs, 1);
    cr_expect_str_eq(back->fs[0]->tag, "share0");
    cr_expect_null(back->fs[0]->id);
    cr_expect(back->fs[0]->has_num_queues && back->fs[0]->num_queues == 1);
    cr_expect(back->fs[0]->has_queue_size && back->fs[0]->queue_size == 512);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cr_assert_eq(api_cfg_fill_ids(&c), 0);
    cr_expect_str_eq(c.fs[0].id, "_fs0");
    cli_config_free(&c);
    f.id = (char *)"fs1";
    cr_assert_eq(api_cfg_option(&f.base, &opt, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_fs_parse(opt, &fs, err, sizeof(err)), 0, "%s: %s", opt, err);
    cr_expect_str_eq(fs.id, "fs1");
    cr_expect_str_eq(fs.socket, "/run/vfs,0.sock");
    free(opt);
    one = api_cfg_fs(&fs);
    cr_assert_not_null(one);
    cr_expect_str_eq(one->tag, "share0");
    cr_expect_str_eq(one->id, "fs1");
    protobuf_c_message_free_unpacked(&one->base, NULL);
    cli_fs_free(&fs);
}

/* vm.add-fs as the controller takes it from the API process: the FsConfig is required, and
 * API_VM_ADD_FS is the last endpoint. */
Test(api_cfg, add_fs_request_validated)
{
    Cellvm__ApiRequest rq = CELLVM__API_REQUEST__INIT;
    Cellvm__ApiFsConfig f = CELLVM__API_FS_CONFIG__INIT;
    const char *why = NULL;

    rq.id = 1;
    rq.has_id = 1;
    rq.endpoint = CELLVM__API_ENDPOINT__API_VM_ADD_FS;
    rq.has_endpoint = 1;
    cr_expect_neq(pb_validate_api_request(&rq, 0, &why), 0, "no FsConfig");
    f.tag = (char *)"share0";
    f.socket = (char *)"/s";
    rq.fs = &f;
    cr_expect_eq(pb_validate_api_request(&rq, 0, &why), 0, "%s", why ? why : "");
    cr_expect_neq(pb_validate_api_request(&rq, 1, &why), 0, "no fds with vm.add-fs");
    rq.endpoint = CELLVM__API_ENDPOINT__API_VM_ADD_FS + 1;
    cr_expect_neq(pb_validate_api_request(&rq, 0, &why), 0, "past the last endpoint");
}

/* vm.create's balloon becomes --balloon and comes back in vm.info as Cloud Hypervisor's
 * BalloonConfig; size is required, and must stay below the RAM. */
Test(api_cfg, balloon_both_ways)
{
    Cellvm__ApiVmConfig vc = CELLVM__API_VM_CONFIG__INIT;
    Cellvm__ApiPayloadConfig pl = CELLVM__API_PAYLOAD_CONFIG__INIT;
    Cellvm__ApiBalloonConfig bc = CELLVM__API_BALLOON_CONFIG__INIT;
    Cellvm__ApiVmConfig *back;
    struct api_argv av;
    struct cli_config c;

    pl.kernel = (char *)"k";
    vc.payload = &pl;
    vc.balloon = &bc;
    cr_expect_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), -EINVAL, "size is required");
    cr_expect(strstr(err, "size"), "%s", err);
    api_argv_free(&av);
    bc.has_size = 1;
    bc.size = 128ull << 20;
    bc.has_deflate_on_oom = 1;
    bc.deflate_on_oom = 1;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    cr_expect(c.balloon.present && c.balloon.deflate_on_oom && !c.balloon.free_page_reporting);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_assert_not_null(back->balloon);
    cr_expect(back->balloon->has_size && back->balloon->size == 128ull << 20);
    cr_expect(back->balloon->has_deflate_on_oom && back->balloon->deflate_on_oom);
    cr_expect(back->balloon->has_free_page_reporting && !back->balloon->free_page_reporting);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);
    /* The default RAM is 512 MiB: a balloon that big is refused. */
    bc.size = 512ull << 20;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "smaller than the RAM"), "%s", err);
    api_argv_free(&av);
    cli_config_free(&c);
    /* Without --balloon, vm.info has no balloon object. */
    vc.balloon = NULL;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_expect_null(back->balloon);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);
}

/* VmConfig.watchdog (issue 20): true becomes --watchdog, and vm.info shows it either way. */
Test(api_cfg, watchdog_both_ways)
{
    Cellvm__ApiVmConfig vc = CELLVM__API_VM_CONFIG__INIT;
    Cellvm__ApiPayloadConfig pl = CELLVM__API_PAYLOAD_CONFIG__INIT;
    Cellvm__ApiVmConfig *back;
    struct api_argv av;
    struct cli_config c;

    pl.kernel = (char *)"k";
    vc.payload = &pl;
    for (int on = 0; on < 2; on++) {
        vc.has_watchdog = 1;
        vc.watchdog = on;
        cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
        api_argv_free(&av);
        cr_expect_eq(c.watchdog, on);
        back = api_cfg_from_cli(&c);
        cr_assert_not_null(back);
        cr_expect(back->has_watchdog);
        cr_expect_eq(back->watchdog, on);
        protobuf_c_message_free_unpacked(&back->base, NULL);
        cli_config_free(&c);
    }
}

/* vm.create's console both ways, in Cloud Hypervisor's shape: a body without one gets CH's
 * defaults (console Tty, serial Null); File keeps its path; Socket is refused for the console;
 * a Pty reports the pty the controller allocated as `file` (stored in the config at open). */
Test(api_cfg, console_both_ways)
{
    Cellvm__ApiVmConfig vc = CELLVM__API_VM_CONFIG__INIT;
    Cellvm__ApiPayloadConfig pl = CELLVM__API_PAYLOAD_CONFIG__INIT;
    Cellvm__ApiConsoleConfig con = CELLVM__API_CONSOLE_CONFIG__INIT;
    Cellvm__ApiVmConfig *back;
    struct api_argv av;
    struct cli_config c;

    pl.kernel = (char *)"k";
    vc.payload = &pl;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_expect_str_eq(back->console->mode, "Tty");
    cr_expect_str_eq(back->serial->mode, "Null");
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);

    vc.console = &con;
    con.mode = (char *)"File";
    con.file = (char *)"/tmp/a,b.log";
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    cr_expect_eq(c.console.mode, CLI_CONSOLE_FILE);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_expect_str_eq(back->console->mode, "File");
    cr_expect_str_eq(back->console->file, "/tmp/a,b.log");
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);

    con.mode = (char *)"Pty";
    con.file = NULL;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    back = api_cfg_from_cli(&c);
    cr_expect_null(back->console->file, "no pty allocated yet");
    protobuf_c_message_free_unpacked(&back->base, NULL);
    c.console.path = strdup("/dev/pts/7"); /* what the controller stores once it has one */
    back = api_cfg_from_cli(&c);
    cr_expect_str_eq(back->console->mode, "Pty");
    cr_expect_str_eq(back->console->file, "/dev/pts/7");
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);

    con.mode = (char *)"Socket";
    con.socket = (char *)"/tmp/s";
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), -EINVAL);
    cr_expect(strstr(err, "socket mode is for --serial only"), "%s", err);
    api_argv_free(&av);
    cli_config_free(&c);
}

/* --landlock (issue 20): landlock_enable and landlock_rules (a path with a comma included) to
 * the command line and back as vm.info shows them; a rule without access is refused. */
Test(api_cfg, landlock_both_ways)
{
    Cellvm__ApiVmConfig vc = CELLVM__API_VM_CONFIG__INIT;
    Cellvm__ApiPayloadConfig pl = CELLVM__API_PAYLOAD_CONFIG__INIT;
    Cellvm__ApiLandlockConfig r0 = CELLVM__API_LANDLOCK_CONFIG__INIT;
    Cellvm__ApiLandlockConfig r1 = CELLVM__API_LANDLOCK_CONFIG__INIT;
    Cellvm__ApiLandlockConfig *rules[] = { &r0, &r1 };
    Cellvm__ApiVmConfig *back;
    struct api_argv av;
    struct cli_config c;
    char dir[] = "/tmp/cellvm-ll,cfg-XXXXXX";

    cr_assert_not_null(mkdtemp(dir));
    pl.kernel = (char *)"k";
    vc.payload = &pl;
    vc.has_landlock_enable = 1;
    vc.landlock_enable = 1;
    r0.path = dir;
    r0.access = (char *)"rw";
    r1.path = (char *)"/dev/null";
    r1.access = (char *)"r";
    vc.landlock_rules = rules;
    vc.n_landlock_rules = 2;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    cr_expect(c.landlock);
    cr_assert_eq(c.nlandlock_rules, 2);
    cr_expect_str_eq(c.landlock_rules[0].path, dir);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_expect(back->has_landlock_enable && back->landlock_enable);
    cr_assert_eq(back->n_landlock_rules, 2);
    cr_expect_str_eq(back->landlock_rules[0]->path, dir);
    cr_expect_str_eq(back->landlock_rules[0]->access, "rw");
    cr_expect_str_eq(back->landlock_rules[1]->access, "r");
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);
    /* Off: reported as false, no rules. */
    vc.landlock_enable = 0;
    vc.n_landlock_rules = 0;
    cr_assert_eq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cli_parse(av.n, av.v, &c, err, sizeof(err)), 0, "%s", err);
    api_argv_free(&av);
    back = api_cfg_from_cli(&c);
    cr_assert_not_null(back);
    cr_expect(back->has_landlock_enable && !back->landlock_enable);
    cr_expect_eq(back->n_landlock_rules, 0);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    cli_config_free(&c);
    r1.access = NULL;
    vc.n_landlock_rules = 2;
    cr_expect_neq(api_cfg_to_argv(&vc, &av, err, sizeof(err)), 0);
    cr_expect(strstr(err, "missing field `access`"), "%s", err);
    api_argv_free(&av);
    rmdir(dir);
}
