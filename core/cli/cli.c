/* Top-level argv handling with clap's conventions as Cloud Hypervisor v51.0 uses them:
 * `--opt value` and `--opt=value`; options that take several values (`--disk a b`) collect
 * them up to the next token that starts with '-'; `-v` counts; -h stops at once; -V wins only
 * after the whole line parsed. The work happens in passes so errors come out in CH's order:
 * argv shape (clap), --version, option values, cross-option checks, then what cellvm lacks. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_console.h"
#include "cli_cpus_mem.h"
#include "cli_platform.h"
#include "cli_util.h"
#include "cli_validate.h"

#ifndef CELLVM_VERSION
#define CELLVM_VERSION "0.0.0"
#endif
#define CH_VERSION "v51.0"

enum arity {
    ARG_NONE, /* a flag */
    ARG_ONE,  /* exactly one value, and the option at most once */
    ARG_MANY, /* one or more values; the option may repeat */
};

/* CH's clap groups: options of the "vm-config" group need a payload (--kernel or --firmware). */
enum group { GRP_OTHER, GRP_VM, GRP_PAYLOAD };

typedef int (*cli_handler)(struct cli_config *cfg, const char *value, char *err, size_t errlen);

struct cli_option {
    const char *name; /* without the leading dashes */
    enum arity arity;
    enum group group;
    /* false: "known but not supported yet". Options with a handler are still fully parsed and
     * validated first, so flipping this to true is all it takes once the feature lands. */
    bool supported;
    cli_handler handle; /* NULL: refused without looking at the value */
    const char *help;
};

static int oom(char *err, size_t errlen, const char *opt)
{
    cli_err(err, errlen, "%s: out of memory", opt);
    return -ENOMEM;
}

static int set_string(char **dst, const char *opt, const char *value, size_t max, char *err,
                      size_t errlen)
{
    if (strnlen(value, max + 1) > max) {
        cli_err(err, errlen, "%s: invalid value: longer than %zu bytes", opt, max);
        return -EINVAL;
    }
    free(*dst);
    *dst = strdup(value);
    return *dst ? 0 : oom(err, errlen, opt);
}

static int h_kernel(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    if (cli_check_path("--kernel", NULL, v, err, errlen) < 0)
        return -EINVAL;
    return set_string(&cfg->payload.kernel, "--kernel", v, 4095, err, errlen);
}

static int h_initramfs(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    if (cli_check_path("--initramfs", NULL, v, err, errlen) < 0)
        return -EINVAL;
    return set_string(&cfg->payload.initramfs, "--initramfs", v, 4095, err, errlen);
}

static int h_firmware(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    if (cli_check_path("--firmware", NULL, v, err, errlen) < 0)
        return -EINVAL;
    return set_string(&cfg->payload.firmware, "--firmware", v, 4095, err, errlen);
}

static int h_cmdline(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return set_string(&cfg->payload.cmdline, "--cmdline", v, CLI_MAX_CMDLINE, err, errlen);
}

static int h_log_file(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    if (cli_check_path("--log-file", NULL, v, err, errlen) < 0)
        return -EINVAL;
    return set_string(&cfg->log_file, "--log-file", v, 4095, err, errlen);
}

static int h_seccomp(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];

    /* clap's value_parser: exact, case-sensitive */
    if (!strcmp(v, "true")) {
        cfg->seccomp = CLI_SECCOMP_TRUE;
    } else if (!strcmp(v, "false")) {
        cfg->seccomp = CLI_SECCOMP_FALSE;
    } else if (!strcmp(v, "log")) {
        cfg->seccomp = CLI_SECCOMP_LOG;
    } else {
        optparse_show(v, shown, sizeof(shown));
        cli_err(err, errlen, "--seccomp: invalid value: '%s' (expected true, false or log)", shown);
        return -EINVAL;
    }
    return 0;
}

static int h_cpus(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_cpus_parse(v, &cfg->cpus, err, errlen);
}

static int h_memory(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_memory_parse(v, cfg, err, errlen);
}

static int h_serial(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_serial_parse(v, &cfg->serial, err, errlen);
}

static int h_console(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_console_parse(v, &cfg->console, err, errlen);
}

static int h_api_socket(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_api_socket_parse(v, &cfg->api_socket, err, errlen);
}

static int h_event_monitor(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_event_monitor_parse(v, &cfg->event_monitor, err, errlen);
}

static int h_restore(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_restore_parse(v, &cfg->restore, err, errlen);
}

static int h_platform(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_platform_parse(v, &cfg->platform, err, errlen);
}

static int h_balloon(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_balloon_parse(v, false, &cfg->balloon, err, errlen);
}

static int h_vsock(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_vsock_parse(v, &cfg->vsock, err, errlen);
}

static int h_watchdog(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    (void)v;
    (void)err;
    (void)errlen;
    cfg->watchdog = true;
    return 0;
}

static int h_landlock(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    (void)v;
    (void)err;
    (void)errlen;
    cfg->landlock = true;
    return 0;
}

static int h_rng(struct cli_config *cfg, const char *v, char *err, size_t errlen)
{
    return cli_rng_parse(v, &cfg->rng, err, errlen);
}

/* Appends one element to a lazily allocated array of at most `max`. */
static void *grow(void **arr, size_t *n, size_t max, size_t elem, const char *opt, char *err,
                  size_t errlen)
{
    if (!*arr) {
        *arr = calloc(max, elem);
        if (!*arr) {
            oom(err, errlen, opt);
            return NULL;
        }
    }
    if (*n == max) {
        cli_err(err, errlen, "%s: given more than %zu times", opt, max);
        return NULL;
    }
    return (char *)*arr + (*n)++ * elem;
}

/* Each appended element is counted before it is parsed, so cli_config_free() also releases
 * what a failed parse left behind. */
#define APPEND_HANDLER(fn, field, count, max, opt, parse)                              \
    static int fn(struct cli_config *cfg, const char *v, char *err, size_t errlen)     \
    {                                                                                  \
        void *arr = cfg->field;                                                        \
        void *e = grow(&arr, &cfg->count, max, sizeof(*cfg->field), opt, err, errlen); \
                                                                                       \
        cfg->field = arr;                                                              \
        return e ? parse(v, e, err, errlen) : -EINVAL;                                 \
    }

APPEND_HANDLER(h_disk, disks, ndisks, CLI_MAX_DISKS, "--disk", cli_disk_parse)
APPEND_HANDLER(h_net, nets, nnets, CLI_MAX_NETS, "--net", cli_net_parse)
APPEND_HANDLER(h_device, devices, ndevices, CLI_MAX_DEVICES, "--device", cli_device_parse)
APPEND_HANDLER(h_user_device, user_devices, nuser_devices, CLI_MAX_USER_DEVS, "--user-device",
               cli_user_device_parse)
APPEND_HANDLER(h_fs, fs, nfs, CLI_MAX_FS, "--fs", cli_fs_parse)
APPEND_HANDLER(h_pmem, pmem, npmem, CLI_MAX_PMEM, "--pmem", cli_pmem_parse)
APPEND_HANDLER(h_zone, zones, nzones, CLI_MAX_ZONES, "--memory-zone", cli_memory_zone_parse)
APPEND_HANDLER(h_numa, numa, nnuma, CLI_MAX_NUMA, "--numa", cli_numa_parse)
APPEND_HANDLER(h_landlock_rules, landlock_rules, nlandlock_rules, CLI_MAX_LANDLOCK_RULES,
               "--landlock-rules", cli_landlock_rule_parse)
APPEND_HANDLER(h_rl_group, rl_groups, nrl_groups, CLI_MAX_RL_GROUPS, "--rate-limit-group",
               cli_rate_limit_group_parse)

#define NS " [not supported yet]"

/* Alphabetical, as CH's --help. The help strings are cellvm's own summaries. */
static const struct cli_option options[] = {
    { "api-socket", ARG_ONE, GRP_OTHER, true, h_api_socket,
      "REST API socket: path=<path>, fd=<fd> or a bare path" },
    { "balloon", ARG_ONE, GRP_VM, true, h_balloon,
      "size=,deflate_on_oom=on|off,free_page_reporting=on|off (its own cellvm-balloond)" },
    { "cmdline", ARG_ONE, GRP_VM, true, h_cmdline, "Kernel command line" },
    { "console", ARG_ONE, GRP_VM, true, h_console,
      "virtio-console (its own cellvm-consoled): off|null|pty|tty|file=<path>,iommu=on|off "
      "(default tty)" },
    { "cpus", ARG_ONE, GRP_VM, true, h_cpus,
      "boot=,max=,topology=T:C:D:P,max_phys_bits=,affinity= (boot=1)" },
    { "dbus-object-path", ARG_ONE, GRP_OTHER, false, NULL, "D-Bus object path" },
    { "dbus-service-name", ARG_ONE, GRP_OTHER, false, NULL, "D-Bus service name" },
    { "dbus-system-bus", ARG_NONE, GRP_OTHER, false, NULL, "Use the D-Bus system bus" },
    { "debug-console", ARG_ONE, GRP_VM, false, NULL, "Port 0xe9 debug console" },
    { "device", ARG_MANY, GRP_VM, true, h_device,
      "VFIO passthrough: path=/sys/bus/pci/devices/<BDF>,id= (its own cellvm-vfiod)" },
    { "disk", ARG_MANY, GRP_VM, true, h_disk,
      "path=,readonly=,direct=,iommu=,num_queues=,queue_size=,id=,serial=,pci_segment=,bw_size=,"
      "bw_refill_time=,ops_size=,ops_refill_time=,rate_limit_group=,..." },
    { "event-monitor", ARG_ONE, GRP_OTHER, true, h_event_monitor,
      "Event log: path=<path> or fd=<fd>" },
    { "firmware", ARG_ONE, GRP_PAYLOAD, false, h_firmware, "Firmware image" },
    { "fs", ARG_MANY, GRP_VM, true, h_fs,
      "virtio-fs device: tag=,socket=,num_queues=,queue_size=,id=" },
    { "fw-cfg-config", ARG_ONE, GRP_PAYLOAD, false, NULL, "fw_cfg items" },
    { "gdb", ARG_ONE, GRP_OTHER, false, NULL, "GDB stub socket" },
    { "host-data", ARG_ONE, GRP_VM, false, NULL, "SEV-SNP host data" },
    { "igvm", ARG_ONE, GRP_PAYLOAD, false, NULL, "IGVM payload" },
    { "initramfs", ARG_ONE, GRP_VM, true, h_initramfs, "Initramfs image" },
    { "ivshmem", ARG_ONE, GRP_VM, false, NULL, "ivshmem device" },
    { "kernel", ARG_ONE, GRP_PAYLOAD, true, h_kernel, "Kernel: PVH ELF vmlinux or bzImage" },
    { "landlock", ARG_NONE, GRP_VM, true, h_landlock,
      "Restrict the VMM with Landlock to the paths of its config, once the VM is configured" },
    { "landlock-rules", ARG_MANY, GRP_VM, true, h_landlock_rules,
      "path=<path>,access=r|w|rw: one more path a --landlock VMM may reach" },
    { "log-file", ARG_ONE, GRP_OTHER, true, h_log_file, "Log file (default standard error)" },
    { "memory", ARG_ONE, GRP_VM, true, h_memory,
      "size=,hugepages=,hugepage_size=,prefault=,thp=,shared=,mergeable=,hotplug_method=acpi|"
      "virtio-mem,hotplug_size=,hotplugged_size= (size=512M)" },
    { "memory-zone", ARG_MANY, GRP_VM, true, h_zone,
      "id=,size=,file=,shared=,hugepages=,hugepage_size=,host_numa_node=,hotplug_size=,"
      "hotplugged_size=,..." },
    { "net", ARG_MANY, GRP_VM, true, h_net,
      "tap=,ip=,mask=,mac=,fd=,iommu=,num_queues=,queue_size=,mtu=,id=,pci_segment=,bw_size=,"
      "bw_refill_time=,ops_size=,ops_refill_time=,..." },
    { "numa", ARG_MANY, GRP_VM, true, h_numa,
      "guest_numa_id=,cpus=,distances=,memory_zones=,pci_segments=,device_id=" },
    { "pci-segment", ARG_MANY, GRP_VM, false, NULL, "PCI segment apertures" },
    { "platform", ARG_ONE, GRP_VM, true, h_platform,
      "num_pci_segments=<1..96> (1),iommu_segments=[..] (behind the virtio-iommu),"
      "iommu_address_width=<bits> (64),serial_number=,uuid=,oem_strings=[..] (SMBIOS); no tdx, "
      "sev_snp" },
    { "pmem", ARG_MANY, GRP_VM, true, h_pmem,
      "virtio-pmem: file=,size=,discard_writes=on|off,id=,pci_segment= (no iommu=on)" },
    { "pvmemcontrol", ARG_NONE, GRP_VM, false, NULL, "pvmemcontrol device" },
    { "pvpanic", ARG_NONE, GRP_VM, false, NULL, "pvpanic device" },
    { "rate-limit-group", ARG_MANY, GRP_VM, true, h_rl_group,
      "bw_size=,bw_one_time_burst=,bw_refill_time=<ms>,ops_size=,ops_one_time_burst=,"
      "ops_refill_time=<ms>,id= (disks name it with rate_limit_group=)" },
    { "restore", ARG_ONE, GRP_OTHER, true, h_restore,
      "source_url=file:///<dir>[,prefault=on|off][,net_fds=[<net id>@[<fd>,...],...]]: restore "
      "the VM of a snapshot (paused); net_fds: inherited TAP fds for those nets" },
    { "rng", ARG_ONE, GRP_VM, true, h_rng,
      "virtio-rng (its own cellvm-rngd): src=<path> (/dev/urandom),iommu=on|off" },
    { "seccomp", ARG_ONE, GRP_OTHER, true, h_seccomp, "true|false|log (default true)" },
    { "serial", ARG_ONE, GRP_VM, true, h_serial,
      "off|null|pty|tty|file=<path>|socket=<path> (default null, see below)" },
    { "tpm", ARG_ONE, GRP_VM, false, NULL, "TPM device (swtpm socket)" },
    { "user-device", ARG_MANY, GRP_VM, true, h_user_device,
      "vfio-user device served by an external server: socket=,id=" },
    { "vdpa", ARG_MANY, GRP_VM, false, NULL, "vDPA device" },
    { "vsock", ARG_ONE, GRP_VM, true, h_vsock, "cid=<cid>,socket=<path>,id=<id>" },
    { "watchdog", ARG_NONE, GRP_VM, true, h_watchdog,
      "virtio-watchdog: a guest that stops pinging it is reset (served by the core)" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct cli_option *find_option(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < NOPTIONS; i++)
        if (strlen(options[i].name) == len && !memcmp(options[i].name, name, len))
            return &options[i];
    return NULL;
}

bool cli_option_supported(const char *name)
{
    const struct cli_option *o = find_option(name, strlen(name));

    return o && o->supported;
}

void cli_print_version(FILE *out)
{
    fprintf(out, "cellvm v%s (command line of cloud-hypervisor %s)\n", CELLVM_VERSION, CH_VERSION);
}

void cli_print_help(FILE *out)
{
    size_t i;

    fprintf(out,
            "Usage: cellvm [OPTIONS]\n\n"
            "Launch a cellvm VMM. The command line is Cloud Hypervisor %s's.\n\n"
            "Options:\n",
            CH_VERSION);
    for (i = 0; i < NOPTIONS; i++)
        fprintf(out, "      --%-18s %s%s\n", options[i].name, options[i].help,
                options[i].supported ? "" : NS);
    fprintf(out, "  -v                       Verbosity, repeatable: -v info, -vv debug, "
                 "-vvv trace\n"
                 "  -V, --version            Print version\n"
                 "  -h, --help               Print help\n\n"
                 "As in Cloud Hypervisor, the guest's console defaults to virtio-console on the "
                 "terminal\n(--console tty, the guest's hvc0) and the serial port to null: "
                 "payloads that write to\nCOM1 (0x3f8, console=ttyS0) need --serial tty or "
                 "file=.\nOptions and keys marked [not supported yet] are recognised and "
                 "refused.\n");
}

/* One (option, value) pair from the argv pass; value is NULL for flags. */
struct occurrence {
    const struct cli_option *opt;
    const char *value;
};

struct argv_pass {
    struct occurrence *occ;
    size_t nocc;
    bool version;
};

static bool takes_values(const char *tok)
{
    /* clap reads a token starting with '-' as an option, except "-" itself */
    return tok[0] != '-' || tok[1] == '\0';
}

static int add_occ(struct argv_pass *p, const struct cli_option *o, const char *value)
{
    p->occ[p->nocc].opt = o;
    p->occ[p->nocc++].value = value;
    return 0;
}

/* A short-option cluster: -v, -vv, -V, -h, -vV. */
static int short_opts(const char *tok, struct cli_config *cfg, struct argv_pass *p, char *err,
                      size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];

    for (tok++; *tok; tok++) {
        if (*tok == 'v') {
            if (cfg->verbosity < 255)
                cfg->verbosity++;
        } else if (*tok == 'V') {
            p->version = true;
        } else if (*tok == 'h') {
            cfg->action = CLI_ACTION_HELP;
            return 1;
        } else {
            char s[2] = { *tok, '\0' };

            optparse_show(s, shown, sizeof(shown));
            cli_err(err, errlen, "unknown option '-%s'", shown);
            return -EINVAL;
        }
    }
    return 0;
}

/* The clap-level pass: recognises options, collects values, counts -v. Returns 1 when -h
 * ended the parse. */
static int argv_pass(int argc, char *const argv[], struct cli_config *cfg, struct argv_pass *p,
                     char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];
    bool seen[NOPTIONS] = { false };
    int i;

    for (i = 1; i < argc; i++) {
        const char *tok = argv[i], *name, *eq;
        const struct cli_option *o;
        int r;

        if (tok[0] != '-' || !strcmp(tok, "-") || (!strcmp(tok, "--") && i + 1 < argc)) {
            optparse_show(!strcmp(tok, "--") ? argv[i + 1] : tok, shown, sizeof(shown));
            cli_err(err, errlen, "unexpected argument '%s'", shown);
            return -EINVAL;
        }
        if (!strcmp(tok, "--"))
            break;
        if (tok[1] != '-') {
            r = short_opts(tok, cfg, p, err, errlen);
            if (r)
                return r;
            continue;
        }
        name = tok + 2;
        eq = strchr(name, '=');
        if (!strncmp(name, "help", eq ? (size_t)(eq - name) : strlen(name)) &&
            (eq ? (size_t)(eq - name) : strlen(name)) == 4) {
            cfg->action = CLI_ACTION_HELP;
            return 1;
        }
        if (!strncmp(name, "version", 7) && (name[7] == '\0' || name[7] == '=')) {
            if (name[7] == '=') {
                cli_err(err, errlen, "--version: takes no value");
                return -EINVAL;
            }
            p->version = true;
            continue;
        }
        o = find_option(name, eq ? (size_t)(eq - name) : strlen(name));
        if (!o) {
            optparse_show(tok, shown, sizeof(shown));
            if (eq && (size_t)(eq - tok) < sizeof(shown))
                shown[eq - tok] = '\0';
            cli_err(err, errlen, "unknown option '%s'", shown);
            return -EINVAL;
        }
        if (seen[o - options] && o->arity != ARG_MANY) {
            cli_err(err, errlen, "--%s: given more than once", o->name);
            return -EINVAL;
        }
        seen[o - options] = true;
        if (o->arity == ARG_NONE) {
            if (eq) {
                cli_err(err, errlen, "--%s: takes no value", o->name);
                return -EINVAL;
            }
            add_occ(p, o, NULL);
            continue;
        }
        if (eq) {
            add_occ(p, o, eq + 1); /* an attached value ends the option, as in clap */
            continue;
        }
        if (i + 1 >= argc || !takes_values(argv[i + 1])) {
            cli_err(err, errlen, "--%s: missing value", o->name);
            return -EINVAL;
        }
        add_occ(p, o, argv[++i]);
        while (o->arity == ARG_MANY && i + 1 < argc && takes_values(argv[i + 1]))
            add_occ(p, o, argv[++i]);
    }
    return 0;
}

/* clap's group rule in CH: VM options need a payload to boot. */
static int check_payload(const struct argv_pass *p, char *err, size_t errlen)
{
    const struct cli_option *first_vm = NULL;
    bool payload = false;
    size_t i;

    for (i = 0; i < p->nocc; i++) {
        if (p->occ[i].opt->group == GRP_PAYLOAD)
            payload = true;
        else if (p->occ[i].opt->group == GRP_VM && !first_vm)
            first_vm = p->occ[i].opt;
    }
    if (first_vm && !payload) {
        cli_err(err, errlen, "--%s: needs --kernel (or --firmware)", first_vm->name);
        return -EINVAL;
    }
    return 0;
}

static void config_defaults(struct cli_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->action = CLI_ACTION_RUN;
    cli_cpus_defaults(&cfg->cpus);
    cli_memory_defaults(&cfg->memory);
    cfg->serial.mode = CLI_CONSOLE_NULL; /* Cloud Hypervisor's defaults */
    cfg->console.mode = CLI_CONSOLE_TTY;
    cfg->seccomp = CLI_SECCOMP_TRUE;
    cfg->api_socket.fd = -1;
    cfg->event_monitor.fd = -1;
    cfg->platform.num_pci_segments = 1;
    cfg->platform.iommu_address_width = 64;
}

int cli_parse(int argc, char *const argv[], struct cli_config *cfg, char *err, size_t errlen)
{
    struct argv_pass p = { 0 };
    size_t i;
    int r;

    config_defaults(cfg);
    err[0] = '\0';
    if (argc <= 1) {
        cfg->action = CLI_ACTION_USAGE;
        return 0;
    }
    if (argc > CLI_MAX_ARGS) {
        cli_err(err, errlen, "more than %d arguments", CLI_MAX_ARGS);
        return -EINVAL;
    }
    p.occ = calloc((size_t)argc, sizeof(*p.occ));
    if (!p.occ) {
        cli_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r = argv_pass(argc, argv, cfg, &p, err, errlen);
    if (r)
        goto out;
    r = check_payload(&p, err, errlen);
    if (r < 0)
        goto out;
    if (p.version) {
        cfg->action = CLI_ACTION_VERSION;
        goto out;
    }
    for (i = 0; i < p.nocc; i++) {
        const struct occurrence *o = &p.occ[i];

        if (o->opt->handle) {
            r = o->opt->handle(cfg, o->value, err, errlen);
            if (r < 0)
                goto out;
        }
    }
    r = cli_validate(cfg, err, errlen);
    if (r < 0)
        goto out;
    for (i = 0; i < p.nocc; i++) {
        if (!p.occ[i].opt->supported) {
            cli_err(err, errlen, "--%s: known but not supported yet", p.occ[i].opt->name);
            r = -EINVAL;
            goto out;
        }
    }
out:
    free(p.occ);
    return r < 0 ? r : 0;
}

void cli_config_free(struct cli_config *cfg)
{
    size_t i;

    cli_cpus_free(&cfg->cpus);
    cli_memory_free(&cfg->memory);
    free(cfg->payload.kernel);
    free(cfg->payload.initramfs);
    free(cfg->payload.cmdline);
    free(cfg->payload.firmware);
    cli_console_free(&cfg->serial);
    cli_console_free(&cfg->console);
    free(cfg->log_file);
    cli_endpoint_free(&cfg->api_socket);
    cli_endpoint_free(&cfg->event_monitor);
    cli_platform_free(&cfg->platform);
    cli_restore_free(&cfg->restore);
    for (i = 0; i < cfg->ndisks; i++)
        cli_disk_free(&cfg->disks[i]);
    free(cfg->disks);
    for (i = 0; i < cfg->nnets; i++)
        cli_net_free(&cfg->nets[i]);
    free(cfg->nets);
    cli_vsock_free(&cfg->vsock);
    cli_rng_free(&cfg->rng);
    cli_balloon_free(&cfg->balloon);
    for (i = 0; i < cfg->ndevices; i++)
        cli_device_free(&cfg->devices[i]);
    free(cfg->devices);
    for (i = 0; i < cfg->nuser_devices; i++)
        cli_user_device_free(&cfg->user_devices[i]);
    free(cfg->user_devices);
    for (i = 0; i < cfg->nfs; i++)
        cli_fs_free(&cfg->fs[i]);
    free(cfg->fs);
    for (i = 0; i < cfg->npmem; i++)
        cli_pmem_free(&cfg->pmem[i]);
    free(cfg->pmem);
    for (i = 0; i < cfg->nzones; i++)
        cli_memory_zone_free(&cfg->zones[i]);
    free(cfg->zones);
    for (i = 0; i < cfg->nnuma; i++)
        cli_numa_free(&cfg->numa[i]);
    free(cfg->numa);
    for (i = 0; i < cfg->nrl_groups; i++)
        cli_rate_limit_group_free(&cfg->rl_groups[i]);
    free(cfg->rl_groups);
    for (i = 0; i < cfg->nlandlock_rules; i++)
        cli_landlock_rule_free(&cfg->landlock_rules[i]);
    free(cfg->landlock_rules);
    memset(cfg, 0, sizeof(*cfg));
    cfg->api_socket.fd = cfg->event_monitor.fd = -1;
}
