/* --serial and --console (CH's console syntax: one mode of off|null|pty|tty|file=|socket=, plus
 * iommu=), and the fd-or-path endpoints --api-socket and --event-monitor. Return 0 or -EINVAL
 * with `err` set; the caller frees what was stored in both cases. */
#ifndef CELLVM_CORE_CLI_CLI_CONSOLE_H
#define CELLVM_CORE_CLI_CLI_CONSOLE_H

#include <stddef.h>

#include "cli.h"

int cli_serial_parse(const char *value, struct cli_console *serial, char *err, size_t errlen);
/* cellvm has no virtio-console yet: only `off` is accepted. */
int cli_console_parse(const char *value, struct cli_console *console, char *err, size_t errlen);
void cli_console_free(struct cli_console *c);

/* CH's --api-socket: `path=<p>`, `fd=<n>`, or anything else taken whole as a path. */
int cli_api_socket_parse(const char *value, struct cli_endpoint *ep, char *err, size_t errlen);
/* CH's --event-monitor: `path=<p>` or `fd=<n>`, nothing else. */
int cli_event_monitor_parse(const char *value, struct cli_endpoint *ep, char *err, size_t errlen);
void cli_endpoint_free(struct cli_endpoint *ep);

#endif
