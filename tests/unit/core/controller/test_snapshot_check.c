/* What vm.snapshot, vm.restore and vm.send-migration refuse (issue 18): each reason names the
 * verb and the device, on configurations the command line's own parser built. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/controller/snapshot_check.h"

static struct cli_config cfg;
static char err[512], buf[300];

static void parse(const char *const *argv, int argc)
{
    memset(&cfg, 0, sizeof(cfg));
    cr_assert_eq(cli_parse(argc, (char **)argv, &cfg, err, sizeof(err)), 0, "%s", err);
}

static const char *refusal(uint64_t mem_added, const char *verb)
{
    const char *r = snapshot_cfg_refusal(&cfg, mem_added, verb, buf, sizeof(buf));

    cli_config_free(&cfg);
    return r;
}

#define ARGV(...) ((const char *const[]){ "cellvm", "--kernel", "/k", __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(char *)))
#define REFUSAL(verb, added, ...) \
    (parse(ARGV(__VA_ARGS__), ARGC(__VA_ARGS__)), refusal(added, verb))

Test(snapshot_check, plain_vm_goes)
{
    cr_expect_null(REFUSAL("snapshot", 0, "--memory", "size=128M", "--cpus", "boot=2,max=4"));
    /* ACPI hotplug room alone is fine: nothing was added yet. */
    cr_expect_null(REFUSAL("snapshot", 0, "--memory", "size=128M,hotplug_size=1G"));
}

/* state.json version 3 holds hot-added RAM, virtio-mem blocks and zones: snapshot and restore
 * take them; a migration, whose destination lays memory out from config.json before any state,
 * takes zones and virtio-mem but not RAM vm.resize added through ACPI. */
Test(snapshot_check, memory_hotplug_and_zones)
{
    const char *r;

    cr_expect_null(REFUSAL("snapshot", 256ull << 20, "--memory", "size=128M,hotplug_size=1G"));
    cr_expect_null(
        REFUSAL("snapshot", 0, "--memory", "size=128M,hotplug_method=virtio-mem,hotplug_size=1G"));
    cr_expect_null(REFUSAL("restore", 0, "--memory", "size=384M,hotplug_size=1G"));
    cr_expect_null(REFUSAL("restore", 0, "--memory", "size=0", "--memory-zone",
                           "id=z0,size=128M,file=/z.img,shared=off"));
    cr_expect_null(REFUSAL("restore", 0, "--memory", "size=0,hotplug_method=virtio-mem",
                           "--memory-zone", "id=z0,size=128M,hotplug_size=256M"));
    cr_expect_null(REFUSAL("snapshot", 0, "--memory", "size=0", "--memory-zone",
                           "id=z0,size=128M,host_numa_node=0", "--memory-zone", "id=z1,size=64M"));
    cr_expect_null(REFUSAL("migrate", 0, "--memory", "size=0", "--memory-zone", "id=z0,size=128M"));
    cr_expect_null(REFUSAL("migrate", 0, "--memory", "size=128M,hotplug_size=1G"));
    r = REFUSAL("migrate", 256ull << 20, "--memory", "size=128M,hotplug_size=1G");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot migrate a VM with RAM hot-added by vm.resize yet (256 MiB)"), "%s",
              r);
    /* virtio-mem's region comes from config.json; its blocks ride in the state. */
    cr_expect_null(
        REFUSAL("migrate", 0, "--memory", "size=128M,hotplug_method=virtio-mem,hotplug_size=1G"));
    cr_expect_null(REFUSAL("migrate", 0, "--memory", "size=0,hotplug_method=virtio-mem",
                           "--memory-zone", "id=z0,size=128M,hotplug_size=256M"));
}

Test(snapshot_check, core_served_devices)
{
    const char *r;

    /* state.json holds their queues, the pmem places and the watchdog's timer (version 3). */
    cr_expect_null(REFUSAL("snapshot", 0, "--pmem", "file=/p.img,id=pm0"));
    cr_expect_null(REFUSAL("restore", 0, "--pmem", "file=/p.img", "--watchdog"));
    cr_expect_null(REFUSAL("snapshot", 0, "--watchdog"));
    cr_expect_null(REFUSAL("migrate", 0, "--watchdog"));
    /* A pmem's content is its file: the migration does not send it. */
    r = REFUSAL("migrate", 0, "--pmem", "file=/p.img,id=pm0", "--watchdog");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot migrate a VM with a virtio-pmem device ('pm0') yet"), "%s", r);
    /* file= a directory: an unnamed temporary file no restore could open again. */
    r = REFUSAL("snapshot", 0, "--pmem", "file=/,size=2M", "--watchdog");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot snapshot a VM whose virtio-pmem device") &&
                  strstr(r, "has a directory as file= ('/')"),
              "%s", r);
    r = REFUSAL("restore", 0, "--pmem", "file=/p.img,id=a", "--pmem", "file=/,size=4M,id=b");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "('b')") && strstr(r, "unnamed temporary file"), "%s", r);
}

Test(snapshot_check, vfio_first)
{
    const char *r = REFUSAL("migrate", 64ull << 20, "--device",
                            "path=/sys/bus/pci/devices/x,id=gpu0", "--watchdog");

    cr_assert_not_null(r);
    cr_expect(strstr(r, "passed-through device ('gpu0')") && strstr(r, "Cloud Hypervisor v51.0"),
              "%s", r);
}
