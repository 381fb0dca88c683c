#ifndef CELLVM_TESTS_KVM_RUNNER_SYS_H
#define CELLVM_TESTS_KVM_RUNNER_SYS_H

#include <stddef.h>
#include <stdint.h>

/* Guest RAM for the runner, as the controller makes it: a memfd mapped shared. */
int runner_map_ram(uint64_t size, int *fd_out, uint8_t **host_out);
void runner_unmap_ram(uint8_t *host, uint64_t size);

#endif
