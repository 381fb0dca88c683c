/* --cpus, --memory, --memory-zone and --numa. Each parse function fills its struct with CH's
 * defaults first, then applies the option string and the checks that need only that option;
 * checks across options live in cli_validate.c. Returns 0 or -EINVAL/-ENOMEM with `err` set. */
#ifndef CELLVM_CORE_CLI_CLI_CPUS_MEM_H
#define CELLVM_CORE_CLI_CLI_CPUS_MEM_H

#include <stddef.h>

#include "cli.h"

void cli_cpus_defaults(struct cli_cpus *cpus);
int cli_cpus_parse(const char *value, struct cli_cpus *cpus, char *err, size_t errlen);
void cli_cpus_free(struct cli_cpus *cpus);

void cli_memory_defaults(struct cli_memory *mem);
int cli_memory_parse(const char *value, struct cli_config *cfg, char *err, size_t errlen);
void cli_memory_free(struct cli_memory *mem);

int cli_memory_zone_parse(const char *value, struct cli_memory_zone *zone, char *err,
                          size_t errlen);
void cli_memory_zone_free(struct cli_memory_zone *zone);

int cli_numa_parse(const char *value, struct cli_numa *numa, char *err, size_t errlen);
void cli_numa_free(struct cli_numa *numa);

#endif
