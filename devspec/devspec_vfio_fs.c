/* --device (VFIO passthrough), --user-device (an external vfio-user server) and --fs
 * (virtio-fs): the key tables and per-option checks (Cloud Hypervisor v51.0 semantics). --device
 * is served by cellvm-vfiod, --user-device by whoever listens on its socket; virtio-fs does not
 * exist in cellvm yet, so the controller refuses --fs as a whole after parsing it. */
#include "devspec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devspec_util.h"

#define DEVICE_KEY(n, t, m, sup, dflt_)                                               \
    {                                                                                 \
        .name = n, .type = t, OPTPARSE_FIELD(struct device_raw, m), .supported = sup, \
        .dflt = dflt_                                                                 \
    }

/* The parse target for --device: x_nv_gpudirect_clique is recognised, never stored. */
struct device_raw {
    struct cli_device d;
    uint8_t nv_clique;
};

static const struct optparse_key device_keys[] = {
    DEVICE_KEY("path", OPTPARSE_STR, d.path, true, NULL),
    DEVICE_KEY("iommu", OPTPARSE_TOGGLE, d.iommu, false, "off"), /* no virtio-iommu */
    DEVICE_KEY("id", OPTPARSE_STR, d.id, true, NULL),
    DEVICE_KEY("pci_segment", OPTPARSE_U16, d.pci_segment, true, "0"),
    /* NVIDIA GPUDirect P2P clique: no default, so any value is refused */
    DEVICE_KEY("x_nv_gpudirect_clique", OPTPARSE_U8, nv_clique, false, NULL),
};

static const struct optparse_spec device_spec = {
    .opt = "--device",
    .keys = device_keys,
    .nkeys = sizeof(device_keys) / sizeof(device_keys[0]),
};

void cli_device_free(struct cli_device *d)
{
    free(d->path);
    free(d->id);
    d->path = d->id = NULL;
}

int cli_device_parse(const char *value, struct cli_device *dev, char *err, size_t errlen)
{
    struct device_raw raw;
    struct optparse_seen seen;
    int r;

    memset(&raw, 0, sizeof(raw));
    r = optparse_parse(&device_spec, value, &raw, &seen, err, errlen);
    *dev = raw.d;
    if (r < 0)
        return r;
    if (!dev->path) {
        cli_err(err, errlen, "--device: missing required key 'path'");
        return -EINVAL;
    }
    if (cli_check_path("--device", "path", dev->path, err, errlen) < 0)
        return -EINVAL;
    return devspec_check_id("--device", dev->id, err, errlen);
}

#define USER_KEY(n, t, m, sup, dflt_)                                                      \
    {                                                                                      \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_user_device, m), .supported = sup, \
        .dflt = dflt_                                                                      \
    }

static const struct optparse_key user_device_keys[] = {
    USER_KEY("socket", OPTPARSE_STR, socket, true, NULL),
    USER_KEY("id", OPTPARSE_STR, id, true, NULL),
    USER_KEY("pci_segment", OPTPARSE_U16, pci_segment, true, "0"),
};

static const struct optparse_spec user_device_spec = {
    .opt = "--user-device",
    .keys = user_device_keys,
    .nkeys = sizeof(user_device_keys) / sizeof(user_device_keys[0]),
};

void cli_user_device_free(struct cli_user_device *ud)
{
    free(ud->socket);
    free(ud->id);
    ud->socket = ud->id = NULL;
}

int cli_user_device_parse(const char *value, struct cli_user_device *ud, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(ud, 0, sizeof(*ud));
    r = optparse_parse(&user_device_spec, value, ud, &seen, err, errlen);
    if (r < 0)
        return r;
    if (!ud->socket) {
        cli_err(err, errlen, "--user-device: missing required key 'socket'");
        return -EINVAL;
    }
    if (cli_check_path("--user-device", "socket", ud->socket, err, errlen) < 0)
        return -EINVAL;
    return devspec_check_id("--user-device", ud->id, err, errlen);
}

#define FS_KEY(n, t, m, sup, dflt_)                                                             \
    {                                                                                           \
        .name = n, .type = t, OPTPARSE_FIELD(struct cli_fs, m), .supported = sup, .dflt = dflt_ \
    }

static const struct optparse_key fs_keys[] = {
    FS_KEY("tag", OPTPARSE_STR, tag, true, NULL),
    FS_KEY("socket", OPTPARSE_STR, socket, true, NULL),
    FS_KEY("num_queues", OPTPARSE_U16, num_queues, true, NULL),
    FS_KEY("queue_size", OPTPARSE_U16, queue_size, true, NULL),
    FS_KEY("id", OPTPARSE_STR, id, true, NULL),
    FS_KEY("pci_segment", OPTPARSE_U16, pci_segment, false, "0"),
};

static const struct optparse_spec fs_spec = {
    .opt = "--fs",
    .keys = fs_keys,
    .nkeys = sizeof(fs_keys) / sizeof(fs_keys[0]),
};

void cli_fs_free(struct cli_fs *fs)
{
    free(fs->tag);
    free(fs->socket);
    free(fs->id);
    fs->tag = fs->socket = fs->id = NULL;
}

static int fs_check(const struct cli_fs *fs, char *err, size_t errlen)
{
    char shown[OPTPARSE_MAX_SHOWN + 8];

    if (!fs->tag) {
        cli_err(err, errlen, "--fs: missing required key 'tag'");
        return -EINVAL;
    }
    if (strlen(fs->tag) > CLI_FS_TAG_MAX) {
        optparse_show(fs->tag, shown, sizeof(shown));
        cli_err(err, errlen, "--fs: invalid value for 'tag': '%s' (longer than %d bytes)", shown,
                CLI_FS_TAG_MAX);
        return -EINVAL;
    }
    if (!fs->socket) {
        cli_err(err, errlen, "--fs: missing required key 'socket'");
        return -EINVAL;
    }
    if (cli_check_path("--fs", "socket", fs->socket, err, errlen) < 0)
        return -EINVAL;
    if (fs->num_queues == 0) {
        cli_err(err, errlen, "--fs: invalid value for 'num_queues': '0' (at least 1)");
        return -EINVAL;
    }
    if (devspec_check_queue_size("--fs", fs->queue_size, 1, err, errlen) < 0)
        return -EINVAL;
    return devspec_check_id("--fs", fs->id, err, errlen);
}

int cli_fs_parse(const char *value, struct cli_fs *fs, char *err, size_t errlen)
{
    struct optparse_seen seen;
    int r;

    memset(fs, 0, sizeof(*fs));
    fs->num_queues = 1;
    fs->queue_size = 1024;
    r = optparse_parse(&fs_spec, value, fs, &seen, err, errlen);
    if (r < 0)
        return r;
    return fs_check(fs, err, errlen);
}
