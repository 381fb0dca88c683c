/* The VmConfig of the REST API and cellvm's command line, both ways. vm.create's configuration
 * becomes Cloud Hypervisor option strings that cli_parse() checks exactly as it checks a command
 * line (one validator for both doors); vm.info shows the parsed configuration with every default
 * filled in, as Cloud Hypervisor does. */
#ifndef CELLVM_CORE_CONTROLLER_API_CFG_H
#define CELLVM_CORE_CONTROLLER_API_CFG_H

#include <stddef.h>

#include "api.pb-c.h"
#include "core/cli/cli.h"

#define API_ARGV_MAX 512

struct api_argv {
    char *v[API_ARGV_MAX + 1]; /* v[0] is the program name; NULL-terminated; owned */
    int n;
};

/* 0, or -EINVAL (a value the option syntax cannot carry, too many devices) / -ENOMEM with one
 * line in err. Free with api_argv_free() in both cases. */
int api_cfg_to_argv(const Cellvm__ApiVmConfig *c, struct api_argv *out, char *err, size_t errlen);
void api_argv_free(struct api_argv *a);

/* vm.add-net's NetConfig as a --net option string, with fd=[...] listing `fds` (the
 * controller's own numbers) when nfds > 0; *out is malloc'ed. 0 or -EINVAL/-ENOMEM with err. */
int api_cfg_net_option(const Cellvm__ApiNetConfig *n, const int *fds, size_t nfds, char **out,
                       char *err, size_t errlen);

/* One device object of the API (DiskConfig, VsockConfig, DeviceConfig, UserDeviceConfig) as its
 * command-line option string; *out is malloc'ed. 0 or -EINVAL/-ENOMEM with err. */
int api_cfg_option(const ProtobufCMessage *m, char **out, char *err, size_t errlen);

/* Gives every disk, net, vsock, device and user device without an id the one devices_open()
 * would give it (_disk<index>, _net<index>, _vsock0, _vfio<index>, _vfio_user<index>), or the
 * next number free when another device already has that name. 0 or -ENOMEM. */
int api_cfg_fill_ids(struct cli_config *cfg);

/* Removes the disk, net, vsock, device, user device or virtio-fs with this id from cfg, freeing what the
 * entry owns (a net's fd=[...] list, not the fds: api_dev.c owns the TAP fds vm.add-net gave).
 * 0, or -ENOENT when no device has the id. */
int api_cfg_remove_device(struct cli_config *cfg, const char *id);

/* One device's configuration as the API schema shows it (for cellvm-remote: the id only when
 * set). Free with protobuf_c_message_free_unpacked; NULL when out of memory. */
Cellvm__ApiDiskConfig *api_cfg_disk(const struct cli_disk *c);
Cellvm__ApiNetConfig *api_cfg_net(const struct cli_net *c);
Cellvm__ApiVsockConfig *api_cfg_vsock(const struct cli_vsock *c);
Cellvm__ApiDeviceConfig *api_cfg_device(const struct cli_device *c);
Cellvm__ApiUserDeviceConfig *api_cfg_user_device(const struct cli_user_device *c);
Cellvm__ApiFsConfig *api_cfg_fs(const struct cli_fs *c);

/* A new ApiVmConfig describing cfg (free with protobuf_c_message_free_unpacked), or NULL. */
Cellvm__ApiVmConfig *api_cfg_from_cli(const struct cli_config *cfg);

#endif
