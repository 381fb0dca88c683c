/* cellvm's command line, which is Cloud Hypervisor v51.0's: the same options, keys, defaults and
 * value syntax, so a supervisor that drives cloud-hypervisor can drive cellvm. What CH has and
 * cellvm does not implement yet is refused with "known but not supported yet" rather than
 * silently ignored. The device options' structs and parsers (struct cli_disk, ...) live in
 * devspec/, which the device daemons share. */
#ifndef CELLVM_CORE_CLI_CLI_H
#define CELLVM_CORE_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "devspec/devspec.h"
#include "devspec/optparse.h"
#include "core/cli/cli_landlock.h"
#include "core/cli/cli_pmem.h"
#include "core/cli/cli_restore.h"

#define CLI_ERR_LEN         512 /* err buffers passed to cli_parse() */
#define CLI_MAX_ARGS        4096
#define CLI_MAX_DISKS       64
#define CLI_MAX_NETS        64
#define CLI_MAX_DEVICES     64
#define CLI_MAX_FS          64
#define CLI_MAX_USER_DEVS   64
#define CLI_MAX_ZONES       64
#define CLI_MAX_NUMA        64
#define CLI_MAX_RL_GROUPS   16 /* cellvm's limit on --rate-limit-group (one memfd each) */
#define CLI_MAX_GUEST_ZONES 8  /* cellvm's limit: one fd per zone in the core's config message */
#define CLI_MAX_NUMA_ID     63 /* cellvm's limit on guest_numa_id (SLIT size) */
#define CLI_MAX_HOTPLUG     (1ull << 40) /* cellvm's limit on --memory hotplug_size */
#define CLI_MAX_WARNINGS    8
#define CLI_MAX_VCPUS       255    /* cellvm's limit (xAPIC ids); CH allows 8192 on x86 KVM */
#define CLI_CH_MAX_VCPUS    8192   /* CH's limit on x86 KVM */
#define CLI_MAX_CMDLINE     0xffff /* CH reserves 64 KiB for the command line, NUL included */

/* virtio-mem: regions in 128 MiB multiples, 2 MiB blocks (Cloud Hypervisor); zones plus
 * virtio-mem regions are fds the core's config carries, 9 at most. */
#define CLI_VMEM_ALIGN  (128ull << 20)
#define CLI_VMEM_BLOCK  (2ull << 20)
#define CLI_MAX_MEM_FDS 9

enum cli_action {
    CLI_ACTION_RUN,
    CLI_ACTION_HELP,    /* -h/--help: cli_print_help(stdout), exit 0 */
    CLI_ACTION_VERSION, /* -V/--version: cli_print_version(stdout), exit 0 */
    CLI_ACTION_USAGE,   /* no argument at all: cli_print_help(stderr), exit 2 (as clap does) */
};

enum cli_console_mode {
    CLI_CONSOLE_OFF,
    CLI_CONSOLE_NULL,
    CLI_CONSOLE_PTY,
    CLI_CONSOLE_TTY,
    CLI_CONSOLE_FILE,
    CLI_CONSOLE_SOCKET, /* serial only */
};

enum cli_seccomp { CLI_SECCOMP_TRUE, CLI_SECCOMP_FALSE, CLI_SECCOMP_LOG };
enum cli_hotplug_method { CLI_HOTPLUG_ACPI, CLI_HOTPLUG_VIRTIO_MEM };

struct cli_cpus {
    uint32_t boot; /* 1 */
    uint32_t max;  /* = boot */
    bool has_topology;
    struct {
        uint16_t threads_per_core, cores_per_die, dies_per_package, packages;
    } topology;            /* product == max when has_topology */
    bool kvm_hyperv;       /* off */
    uint8_t max_phys_bits; /* 46 */
    /* affinity=[vcpu@[host cpus],...]: key is the vCPU, vals the host CPUs */
    struct optparse_tuple_list affinity;
    bool amx;    /* features=amx */
    bool nested; /* on */
};

struct cli_memory {
    uint64_t size; /* 512M */
    bool mergeable, shared, hugepages, prefault;
    bool thp; /* on */
    bool has_hugepage_size;
    uint64_t hugepage_size; /* power of two, only with hugepages */
    enum cli_hotplug_method hotplug_method;
    bool has_hotplug_size, has_hotplugged_size;
    uint64_t hotplug_size, hotplugged_size;
    char *file; /* accepted and ignored, as in CH */
};

struct cli_memory_zone {
    char *id;      /* required */
    uint64_t size; /* 512M */
    char *file;
    bool shared, hugepages, prefault;
    bool has_hugepage_size;
    uint64_t hugepage_size;
    bool has_host_numa_node;
    uint32_t host_numa_node;
    bool has_hotplug_size, has_hotplugged_size;
    uint64_t hotplug_size, hotplugged_size;
};

struct cli_payload {
    char *kernel, *initramfs, *cmdline, *firmware; /* NULL when not given */
};

struct cli_console {
    enum cli_console_mode mode;
    char *path; /* file= or socket= */
    bool iommu;
};

struct cli_numa_distance {
    uint32_t destination;
    uint8_t distance;
};

struct cli_numa {
    uint32_t guest_numa_id;
    bool has_cpus;
    struct optparse_u32_list cpus;
    struct cli_numa_distance *distances;
    size_t ndistances;
    char *device_id;
    bool has_memory_zones;
    struct optparse_str_list memory_zones;
    bool has_pci_segments;
    struct optparse_u32_list pci_segments;
};

#define CLI_MAX_PCI_SEGMENTS 96 /* Cloud Hypervisor's MAX_NUM_PCI_SEGMENTS */

/* SMBIOS strings (--platform serial_number, oem_strings): each one non-empty printable ASCII,
 * together at most CLI_MAX_SMBIOS_TEXT bytes counting a NUL each, so the tables fit their page
 * (core/boot/smbios.h). */
#define CLI_MAX_SMBIOS_STRINGS 255
#define CLI_MAX_SMBIOS_TEXT    3072

/* --platform: num_pci_segments and the SMBIOS keys are implemented; iommu_segments,
 * iommu_address_width, tdx and sev_snp are parsed and refused unless at their defaults
 * ("known but not supported yet"). */
struct cli_platform {
    bool present;              /* --platform given (vm.info then shows it) */
    uint32_t num_pci_segments; /* 1..CLI_MAX_PCI_SEGMENTS (1); segments 0..n-1 exist */
    /* iommu_segments: every device on these segments sits behind the virtio-iommu (owned) */
    uint32_t *iommu_segments;
    size_t niommu_segments;
    uint8_t iommu_address_width; /* 1..64 (64): the virtio-iommu's input range */
    char *serial_number;         /* owned; NULL: not given */
    char *uuid;                  /* owned, as given (vm.info shows it so); NULL: not given */
    uint8_t uuid_bytes[16];      /* uuid parsed, RFC 4122 order (as the text reads) */
    char **oem_strings;          /* owned, noem_strings entries each owned */
    size_t noem_strings;
};

/* An fd= or path= endpoint (--api-socket, --event-monitor). */
struct cli_endpoint {
    bool present;
    char *path;
    int fd; /* -1 unless fd= */
};

struct cli_config {
    enum cli_action action;
    struct cli_cpus cpus;
    struct cli_memory memory;
    struct cli_payload payload;
    /* Cloud Hypervisor's defaults: serial null, console tty (virtio-console, cellvm-consoled). */
    struct cli_console serial, console;
    enum cli_seccomp seccomp;
    char *log_file;
    unsigned verbosity; /* number of -v: 0 warn, 1 info, 2 debug, 3+ trace */
    struct cli_endpoint api_socket, event_monitor;

    struct cli_disk *disks;
    size_t ndisks;
    struct cli_net *nets;
    size_t nnets;
    struct cli_vsock vsock;
    struct cli_rng rng;         /* --rng: one at most; rng.present when given */
    struct cli_balloon balloon; /* --balloon: one at most */
    struct cli_device *devices; /* --device: VFIO passthrough */
    size_t ndevices;
    struct cli_user_device *user_devices; /* --user-device: external vfio-user servers */
    size_t nuser_devices;
    struct cli_fs *fs; /* --fs: virtio-fs, each with an external virtiofsd */
    size_t nfs;
    struct cli_pmem *pmem; /* --pmem: virtio-pmem, served by the core */
    size_t npmem;
    struct cli_memory_zone *zones;
    size_t nzones;
    struct cli_numa *numa;
    size_t nnuma;
    struct cli_platform platform;
    struct cli_restore restore; /* --restore (issue 18): the VM comes from a snapshot */
    /* --rate-limit-group: buckets disks share */
    struct cli_rate_limit_group *rl_groups;
    size_t nrl_groups;
    /* --landlock, --landlock-rules (issue 20): the controller restricts itself once the VM is
     * configured (core/controller/landlock_ctl.h) */
    bool landlock;
    struct cli_landlock_rule *landlock_rules;
    size_t nlandlock_rules;
    bool watchdog; /* --watchdog: a virtio-watchdog the core serves */

    /* Accepted-with-a-caveat messages (one line each) for the caller to log. */
    char warnings[CLI_MAX_WARNINGS][CLI_ERR_LEN];
    unsigned nwarnings;
};

/* Parses argv (argv[0] is the program name) into `cfg`, which it initialises with the defaults.
 * Returns 0, or -EINVAL/-ENOMEM with one line in `err` (CLI_ERR_LEN bytes) that the caller
 * prints as "cellvm: error: <err>" before exiting with status 1. Call cli_config_free() in both
 * cases. */
int cli_parse(int argc, char *const argv[], struct cli_config *cfg, char *err, size_t errlen);
void cli_config_free(struct cli_config *cfg);

void cli_print_help(FILE *out);
void cli_print_version(FILE *out);

/* Whether the option is implemented. Device options (--disk, --net, --vsock, --device, --fs) are
 * fully parsed and validated yet report "known but not supported yet" until their device lands:
 * flip `.supported` in cli.c's option table. `name` has no leading dashes. */
bool cli_option_supported(const char *name);

#endif
