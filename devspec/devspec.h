/* Device specs in Cloud Hypervisor v51.0's key=value syntax (--disk, --net, --vsock, --device,
 * --user-device, --fs), shared by the controller's command line and the device daemons' standalone mode, so a
 * daemon parses its one spec exactly as `cellvm` does and links no controller code. The `cli_`
 * names are the command-line grammar's: every Cloud Hypervisor key is parsed, stored and checked
 * on its own here; checks against other options (queues vs boot vCPUs, unique ids) are the
 * controller's (core/cli/cli_validate.c). Parse functions return 0 or -EINVAL/-ENOMEM with one
 * line in `err`: unknown key, known but not supported yet, or invalid value. The caller frees
 * with the matching _free() in both cases. */
#ifndef CELLVM_DEVSPEC_DEVSPEC_H
#define CELLVM_DEVSPEC_DEVSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "optparse.h"

enum cli_vhost_mode { CLI_VHOST_CLIENT, CLI_VHOST_SERVER };
enum cli_image_type {
    CLI_IMAGE_UNKNOWN, /* autodetect */
    CLI_IMAGE_RAW,
    CLI_IMAGE_QCOW2,
    CLI_IMAGE_VHD,
    CLI_IMAGE_VHDX,
};

/* CH's inline token buckets. A bucket is active only if its size and refill time are non-zero. */
struct cli_rate_limit {
    uint64_t bw_size, bw_one_time_burst, bw_refill_time;
    uint64_t ops_size, ops_one_time_burst, ops_refill_time;
};

/* --rate-limit-group: buckets that several disks share (rate_limit_group=<id>). */
struct cli_rate_limit_group {
    char *id; /* required */
    struct cli_rate_limit rl;
};

struct cli_disk {
    char *path, *socket, *id, *serial, *rate_limit_group; /* NULL when not given */
    bool readonly, direct, iommu, vhost_user;
    bool backing_files; /* off */
    bool sparse;        /* on */
    bool disable_io_uring, disable_aio;
    uint16_t num_queues; /* 1, <= boot vCPUs */
    uint16_t queue_size; /* 128 */
    uint16_t pci_segment;
    enum cli_image_type image_type;
    struct cli_rate_limit rl;
    struct optparse_tuple_list queue_affinity; /* key: queue index, vals: host CPUs */
};

struct cli_ip {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
};

struct cli_net {
    char *tap, *socket, *id; /* tap "" or NULL: auto-created */
    bool has_ip, has_mask;
    struct cli_ip ip, mask;
    bool has_mac; /* else the caller picks a random locally administered one (2e:..) */
    uint8_t mac[6];
    bool has_host_mac;
    uint8_t host_mac[6];
    bool has_mtu;
    uint16_t mtu;
    bool iommu, vhost_user;
    enum cli_vhost_mode vhost_mode;
    uint16_t num_queues; /* 2: one rx/tx pair */
    uint16_t queue_size; /* 256 */
    uint16_t pci_segment;
    bool offload_tso, offload_ufo, offload_csum; /* on */
    struct optparse_u32_list fds;                /* pre-opened TAP fds, one per queue pair */
    struct cli_rate_limit rl;
};

struct cli_vsock {
    bool present;
    uint32_t cid;
    char *socket, *id;
    bool iommu;
    uint16_t pci_segment;
};

/* --device: VFIO passthrough of the host device whose sysfs directory is `path`. */
struct cli_device {
    char *path, *id; /* path required */
    bool iommu;
    uint16_t pci_segment;
};

/* --fs: virtio-fs over a vhost-user backend (virtiofsd) listening on `socket`. */
struct cli_fs {
    char *tag, *socket, *id; /* tag (at most CLI_FS_TAG_MAX bytes) and socket required */
    uint16_t num_queues;     /* 1 */
    uint16_t queue_size;     /* 1024 */
    uint16_t pci_segment;
};

/* --user-device: a vfio-user server someone else runs, listening on `socket`; the core is its
 * client and emulates the PCI function as for --device. */
struct cli_user_device {
    char *socket, *id; /* socket required */
    uint16_t pci_segment;
};

/* --rng: virtio-rng reading `src` (served by cellvm-rngd). */
struct cli_rng {
    bool present;
    char *src; /* CLI_RNG_DEFAULT_SRC unless given */
    bool iommu;
};

/* --balloon: virtio-balloon (its own cellvm-balloond). size is bytes, taken from the guest's RAM;
 * the device counts 4 KiB pages (size >> 12, as Cloud Hypervisor). */
struct cli_balloon {
    bool present;
    uint64_t size;            /* 0 */
    bool deflate_on_oom;      /* off: VIRTIO_BALLOON_F_DEFLATE_ON_OOM */
    bool free_page_reporting; /* off: VIRTIO_BALLOON_F_REPORTING, a third queue */
    bool discard;             /* cellvm-balloond only (on): punch given-back pages out of RAM */
};

#define CLI_BALLOON_MAX_SIZE (0xffffffffull << 12) /* num_pages is a le32 */

#define CLI_FS_TAG_MAX       36 /* virtio-fs config space: tag[36] */
#define CLI_RNG_DEFAULT_SRC  "/dev/urandom"

int cli_disk_parse(const char *value, struct cli_disk *disk, char *err, size_t errlen);
void cli_disk_free(struct cli_disk *disk);

int cli_net_parse(const char *value, struct cli_net *net, char *err, size_t errlen);
void cli_net_free(struct cli_net *net);

int cli_vsock_parse(const char *value, struct cli_vsock *vsock, char *err, size_t errlen);
void cli_vsock_free(struct cli_vsock *vsock);

int cli_device_parse(const char *value, struct cli_device *dev, char *err, size_t errlen);
void cli_device_free(struct cli_device *dev);

int cli_fs_parse(const char *value, struct cli_fs *fs, char *err, size_t errlen);
void cli_fs_free(struct cli_fs *fs);

int cli_rng_parse(const char *value, struct cli_rng *rng, char *err, size_t errlen);
void cli_rng_free(struct cli_rng *rng);

int cli_user_device_parse(const char *value, struct cli_user_device *ud, char *err, size_t errlen);
void cli_user_device_free(struct cli_user_device *ud);

/* daemon: cellvm-balloond's spec, which also takes discard=on|off. */
int cli_balloon_parse(const char *value, bool daemon, struct cli_balloon *b, char *err,
                      size_t errlen);
void cli_balloon_free(struct cli_balloon *b);

int cli_rate_limit_group_parse(const char *value, struct cli_rate_limit_group *g, char *err,
                               size_t errlen);
void cli_rate_limit_group_free(struct cli_rate_limit_group *g);
/* Whether a bucket of rl is on (size and refill time both non-zero). */
bool cli_rate_limit_on(const struct cli_rate_limit *rl);
/* Refuses half-given buckets: a size without a refill time, a refill time or burst without a
 * size. 0 or -EINVAL with one line in err. */
int cli_rate_limit_check(const char *opt, const struct cli_rate_limit *rl, char *err,
                         size_t errlen);

/* Parses a MAC address as CH v51.0 does: exactly six colon-separated pairs of hex digits. */
int cli_parse_mac(const char *s, uint8_t mac[6]);

#endif
