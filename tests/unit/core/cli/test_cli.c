/* Cloud Hypervisor style command lines through cli_parse(): the parsed struct for valid ones,
 * the exact one-line message for each kind of error. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"

#define MAX_ARGV 24
#define ARGV(...)                   \
    (const char *[MAX_ARGV])        \
    {                               \
        "cellvm", __VA_ARGS__, NULL \
    }

static int argc_of(const char *const *argv)
{
    int n = 0;

    while (argv[n])
        n++;
    return n;
}

static int parse(const char *const *argv, struct cli_config *cfg, char *err)
{
    return cli_parse(argc_of(argv), (char *const *)argv, cfg, err, CLI_ERR_LEN);
}

/* Parses a line that must succeed. */
static void parse_ok(const char *const *argv, struct cli_config *cfg)
{
    char err[CLI_ERR_LEN];

    cr_assert_eq(parse(argv, cfg, err), 0, "unexpected error: %s", err);
}

Test(cli, defaults)
{
    struct cli_config c;

    parse_ok(ARGV("--kernel", "/boot/vmlinux"), &c);
    cr_expect_eq(c.action, CLI_ACTION_RUN);
    cr_expect_str_eq(c.payload.kernel, "/boot/vmlinux");
    cr_expect_null(c.payload.initramfs);
    cr_expect_null(c.payload.cmdline);
    cr_expect_eq(c.cpus.boot, 1);
    cr_expect_eq(c.cpus.max, 1);
    cr_expect_eq(c.cpus.max_phys_bits, 46);
    cr_expect(c.cpus.nested);
    cr_expect_not(c.cpus.kvm_hyperv);
    cr_expect_not(c.cpus.has_topology);
    cr_expect_eq(c.memory.size, 512ull << 20);
    cr_expect(c.memory.thp);
    cr_expect_not(c.memory.shared);
    cr_expect_eq(c.memory.hotplug_method, CLI_HOTPLUG_ACPI);
    cr_expect_eq(c.serial.mode, CLI_CONSOLE_NULL, "the serial port defaults to null, as in CH");
    cr_expect_eq(c.console.mode, CLI_CONSOLE_TTY, "and the virtio-console to tty");
    cr_expect_eq(c.seccomp, CLI_SECCOMP_TRUE);
    cr_expect_eq(c.verbosity, 0);
    cr_expect_not(c.api_socket.present);
    cr_expect_eq(c.api_socket.fd, -1);
    cr_expect_eq(c.ndisks, 0);
    cr_expect_eq(c.nwarnings, 0);
    cli_config_free(&c);
}

/* ACPI memory hotplug (issue 17): hotplug_size reserves room for vm.resize desired_ram. */
Test(cli, memory_hotplug_size)
{
    struct cli_config c;

    parse_ok(ARGV("--kernel", "k", "--memory", "size=512M,hotplug_size=1G"), &c);
    cr_expect_eq(c.memory.size, 512ull << 20);
    cr_expect(c.memory.has_hotplug_size);
    cr_expect_eq(c.memory.hotplug_size, 1ull << 30);
    cr_expect_eq(c.memory.hotplug_method, CLI_HOTPLUG_ACPI);
    cli_config_free(&c);
    parse_ok(ARGV("--kernel", "k", "--memory", "size=1G,hotplug_method=acpi,hotplug_size=0"), &c);
    cr_expect(c.memory.has_hotplug_size);
    cr_expect_eq(c.memory.hotplug_size, 0);
    cli_config_free(&c);
}

/* virtio-mem (issue 17): a region of hotplug_size per zone (or for the default memory), and
 * hotplugged_size plugged at boot. */
Test(cli, memory_virtio_mem)
{
    struct cli_config c;

    parse_ok(ARGV("--kernel", "k", "--memory",
                  "size=512M,hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=256M"),
             &c);
    cr_expect_eq(c.memory.hotplug_method, CLI_HOTPLUG_VIRTIO_MEM);
    cr_expect(c.memory.has_hotplug_size);
    cr_expect_eq(c.memory.hotplug_size, 1ull << 30);
    cr_expect(c.memory.has_hotplugged_size);
    cr_expect_eq(c.memory.hotplugged_size, 256ull << 20);
    cli_config_free(&c);
    parse_ok(ARGV("--kernel", "k", "--memory", "size=0,hotplug_method=virtio-mem", "--memory-zone",
                  "id=m0,size=1G,hotplug_size=512M,hotplugged_size=128M", "--memory-zone",
                  "id=m1,size=1G"),
             &c);
    cr_assert_eq(c.nzones, 2);
    cr_expect(c.zones[0].has_hotplug_size);
    cr_expect_eq(c.zones[0].hotplug_size, 512ull << 20);
    cr_expect_eq(c.zones[0].hotplugged_size, 128ull << 20);
    cr_expect_not(c.zones[1].has_hotplug_size);
    cli_config_free(&c);
    /* virtio-mem without a hotplug_size: accepted, as Cloud Hypervisor (nothing to resize). */
    parse_ok(ARGV("--kernel", "k", "--memory", "size=1G,hotplug_method=virtio-mem"), &c);
    cr_expect_eq(c.memory.hotplug_method, CLI_HOTPLUG_VIRTIO_MEM);
    cli_config_free(&c);
}

Test(cli, full_line)
{
    struct cli_config c;

    parse_ok(ARGV("--cpus",
                  "boot=2,max=4,topology=1:2:1:2,max_phys_bits=40,"
                  "affinity=[0@[0,1],1@[2-4]],kvm_hyperv=off,nested=on",
                  "--memory", "size=1G,shared=on,hugepages=on,hugepage_size=2M,prefault=on,thp=off",
                  "--kernel", "k", "--initramfs", "i", "--cmdline", "console=ttyS0 root=/dev/vda",
                  "--serial", "file=/tmp/serial.log", "--console", "off", "--seccomp", "log",
                  "--log-file", "/tmp/ch.log", "-vv", "--api-socket", "path=/tmp/api.sock"),
             &c);
    cr_expect_eq(c.cpus.boot, 2);
    cr_expect_eq(c.cpus.max, 4);
    cr_expect(c.cpus.has_topology);
    cr_expect_eq(c.cpus.topology.threads_per_core, 1);
    cr_expect_eq(c.cpus.topology.cores_per_die, 2);
    cr_expect_eq(c.cpus.topology.dies_per_package, 1);
    cr_expect_eq(c.cpus.topology.packages, 2);
    cr_expect_eq(c.cpus.max_phys_bits, 40);
    cr_assert_eq(c.cpus.affinity.n, 2);
    cr_expect_eq(c.cpus.affinity.v[1].key, 1);
    cr_assert_eq(c.cpus.affinity.v[1].vals.n, 3);
    cr_expect_eq(c.cpus.affinity.v[1].vals.v[0], 2);
    cr_expect_eq(c.cpus.affinity.v[1].vals.v[2], 4);
    cr_expect_eq(c.memory.size, 1ull << 30);
    cr_expect(c.memory.shared);
    cr_expect(c.memory.hugepages);
    cr_expect(c.memory.has_hugepage_size);
    cr_expect_eq(c.memory.hugepage_size, 2ull << 20);
    cr_expect(c.memory.prefault);
    cr_expect_not(c.memory.thp);
    cr_expect_str_eq(c.payload.initramfs, "i");
    cr_expect_str_eq(c.payload.cmdline, "console=ttyS0 root=/dev/vda");
    cr_expect_eq(c.serial.mode, CLI_CONSOLE_FILE);
    cr_expect_str_eq(c.serial.path, "/tmp/serial.log");
    cr_expect_eq(c.seccomp, CLI_SECCOMP_LOG);
    cr_expect_str_eq(c.log_file, "/tmp/ch.log");
    cr_expect_eq(c.verbosity, 2);
    cr_expect(c.api_socket.present);
    cr_expect_str_eq(c.api_socket.path, "/tmp/api.sock");
    cli_config_free(&c);
}

Test(cli, equals_form_repeats_and_quotes)
{
    struct cli_config c;

    parse_ok(ARGV("--kernel=k", "--cpus=boot=3,boot=2", "--memory=size=2048M", "-v", "-v", "-v",
                  "--serial", "file=\"/tmp/a,b\"", "--cmdline=a=b c", "--api-socket=fd=3"),
             &c);
    cr_expect_str_eq(c.payload.kernel, "k");
    cr_expect_eq(c.cpus.boot, 2, "the last duplicate key wins, as in CH");
    cr_expect_eq(c.memory.size, 2ull << 30);
    cr_expect_eq(c.verbosity, 3);
    cr_expect_str_eq(c.serial.path, "/tmp/a,b");
    cr_expect_str_eq(c.payload.cmdline, "a=b c");
    cr_expect_eq(c.api_socket.fd, 3);
    cr_expect_null(c.api_socket.path);
    cli_config_free(&c);

    parse_ok(ARGV("--kernel", "k", "--memory", "size=1048576K", "--cpus", "boot=", "--serial",
                  "pty", "--api-socket", "/run/ch.sock"),
             &c);
    cr_expect_eq(c.memory.size, 1ull << 30);
    cr_expect_eq(c.cpus.boot, 1, "an empty value is the default");
    cr_expect_eq(c.serial.mode, CLI_CONSOLE_PTY);
    cr_expect_str_eq(c.api_socket.path, "/run/ch.sock", "a bare path");
    cli_config_free(&c);
}

Test(cli, serial_modes)
{
    static const struct {
        const char *v;
        enum cli_console_mode mode;
    } cases[] = {
        { "off", CLI_CONSOLE_OFF },
        { "null", CLI_CONSOLE_NULL },
        { "tty", CLI_CONSOLE_TTY },
        { "pty", CLI_CONSOLE_PTY },
        { "socket=/tmp/s", CLI_CONSOLE_SOCKET },
        { "file=/tmp/f,iommu=on", CLI_CONSOLE_FILE },
        { "tty,file=/tmp/f", CLI_CONSOLE_TTY }, /* CH's order of precedence */
    };
    struct cli_config c;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse_ok(ARGV("--kernel", "k", "--serial", cases[i].v), &c);
        cr_expect_eq(c.serial.mode, cases[i].mode, "%s", cases[i].v);
        cli_config_free(&c);
    }
}

Test(cli, actions)
{
    struct cli_config c;
    char err[CLI_ERR_LEN];

    cr_assert_eq(cli_parse(1, (char *const[]){ "cellvm", NULL }, &c, err, sizeof(err)), 0);
    cr_expect_eq(c.action, CLI_ACTION_USAGE);
    cli_config_free(&c);
    parse_ok(ARGV("--help", "--no-such-option"), &c);
    cr_expect_eq(c.action, CLI_ACTION_HELP, "help stops the parse, as clap does");
    cli_config_free(&c);
    parse_ok(ARGV("-h"), &c);
    cr_expect_eq(c.action, CLI_ACTION_HELP);
    cli_config_free(&c);
    parse_ok(ARGV("-V"), &c);
    cr_expect_eq(c.action, CLI_ACTION_VERSION);
    cli_config_free(&c);
    parse_ok(ARGV("--version", "--kernel", "k", "--cpus", "boot=x"), &c);
    cr_expect_eq(c.action, CLI_ACTION_VERSION, "values are parsed after --version, as in CH");
    cli_config_free(&c);
    parse_ok(ARGV("-vV"), &c);
    cr_expect_eq(c.action, CLI_ACTION_VERSION);
    cr_expect_eq(c.verbosity, 1);
    cli_config_free(&c);
    parse_ok(ARGV("--api-socket", "/tmp/api"), &c);
    cr_expect_eq(c.action, CLI_ACTION_RUN, "no payload: serve the API only, as CH");
    cr_expect_null(c.payload.kernel);
    cli_config_free(&c);
}

Test(cli, mergeable_warns)
{
    struct cli_config c;

    parse_ok(ARGV("--kernel", "k", "--memory", "size=1G,mergeable=on"), &c);
    cr_expect(c.memory.mergeable);
    cr_assert_eq(c.nwarnings, 1);
    cr_expect_str_eq(c.warnings[0], "--memory: mergeable=on has no effect: guest memory is "
                                    "shared and KSM merges only private pages");
    cli_config_free(&c);
}

Test(cli, help_and_version_text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    cr_assert(f);
    cli_print_version(f);
    cli_print_help(f);
    fclose(f);
    cr_expect(strstr(buf, "cellvm v") == buf);
    cr_expect(strstr(buf, "cloud-hypervisor v51.0"));
    cr_expect(strstr(buf, "--console tty, the guest's hvc0"));
    cr_expect(strstr(buf, "off|null|pty|tty|file=<path>,iommu=on|off (default tty)"));
    cr_expect(strstr(buf, "--fs "));
    cr_expect(strstr(buf, "--disk "));
    cr_expect(strstr(buf, "--watchdog "));
    free(buf);
    cr_expect(cli_option_supported("cpus"));
    cr_expect(cli_option_supported("disk"));
    cr_expect(cli_option_supported("fs"));
    cr_expect(cli_option_supported("pmem"));
    cr_expect_not(cli_option_supported("tpm"));
    cr_expect_not(cli_option_supported("no-such"));
}
