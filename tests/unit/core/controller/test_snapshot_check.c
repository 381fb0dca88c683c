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

Test(snapshot_check, each_reason)
{
    const char *r;

    r = REFUSAL("snapshot", 256ull << 20, "--memory", "size=128M,hotplug_size=1G");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot snapshot a VM with RAM hot-added by vm.resize yet (256 MiB)"), "%s",
              r);
    r = REFUSAL("migrate", 0, "--memory", "size=128M,hotplug_method=virtio-mem,hotplug_size=1G");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot migrate a VM with virtio-mem memory"), "%s", r);
    r = REFUSAL("restore", 0, "--memory", "size=0", "--memory-zone", "id=z0,size=128M");
    cr_assert_not_null(r);
    cr_expect_str_eq(r, "cannot restore a VM with memory zones yet");
    r = REFUSAL("restore", 0, "--memory", "size=0,hotplug_method=virtio-mem", "--memory-zone",
                "id=z0,size=128M,hotplug_size=256M");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot restore a VM with virtio-mem memory"), "%s", r);
}

Test(snapshot_check, core_served_devices)
{
    const char *r;

    r = REFUSAL("snapshot", 0, "--pmem", "file=/p.img,id=pm0");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot snapshot a VM with a virtio-pmem device ('pm0') yet"), "%s", r);
    r = REFUSAL("restore", 0, "--pmem", "file=/p.img");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "('_pmem0')"), "%s", r);
    r = REFUSAL("snapshot", 0, "--watchdog");
    cr_assert_not_null(r);
    cr_expect(strstr(r, "cannot snapshot a VM with a virtio-watchdog yet"), "%s", r);
}

Test(snapshot_check, vfio_first)
{
    const char *r = REFUSAL("migrate", 64ull << 20, "--device",
                            "path=/sys/bus/pci/devices/x,id=gpu0", "--watchdog");

    cr_assert_not_null(r);
    cr_expect(strstr(r, "passed-through device ('gpu0')") && strstr(r, "Cloud Hypervisor v51.0"),
              "%s", r);
}
