/* Checks across options, as Cloud Hypervisor v51.0 makes them once the whole command line is
 * parsed: queues against boot vCPUs, unique device ids, memory zones against --memory and
 * --numa. Returns 0 or -EINVAL with one line in `err`. */
#ifndef CELLVM_CORE_CLI_CLI_VALIDATE_H
#define CELLVM_CORE_CLI_CLI_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

int cli_validate(struct cli_config *cfg, char *err, size_t errlen);

/* The configuration's PCI segments: --platform num_pci_segments (1 when not given). */
uint32_t cli_num_pci_segments(const struct cli_config *cfg);

#endif
