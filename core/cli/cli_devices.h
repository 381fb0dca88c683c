/* --disk, --net and --vsock: every Cloud Hypervisor v51.0 key parsed, stored and checked on its
 * own; checks against other options (queues vs boot vCPUs, unique ids) are in cli_validate.c.
 * Parse functions return 0 or -EINVAL/-ENOMEM with `err` set; the caller frees in both cases. */
#ifndef CELLVM_CORE_CLI_CLI_DEVICES_H
#define CELLVM_CORE_CLI_CLI_DEVICES_H

#include <stddef.h>

#include "cli.h"

int cli_disk_parse(const char *value, struct cli_disk *disk, char *err, size_t errlen);
void cli_disk_free(struct cli_disk *disk);

int cli_net_parse(const char *value, struct cli_net *net, char *err, size_t errlen);
void cli_net_free(struct cli_net *net);

int cli_vsock_parse(const char *value, struct cli_vsock *vsock, char *err, size_t errlen);
void cli_vsock_free(struct cli_vsock *vsock);

/* Parses a MAC address as CH v51.0 does: exactly six colon-separated pairs of hex digits. */
int cli_parse_mac(const char *s, uint8_t mac[6]);

#endif
