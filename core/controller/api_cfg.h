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

/* A new ApiVmConfig describing cfg (free with protobuf_c_message_free_unpacked), or NULL. */
Cellvm__ApiVmConfig *api_cfg_from_cli(const struct cli_config *cfg);

#endif
