/* vm.restore's net_fds (issue 18), the controller's half: the TAP fds the caller opened replace
 * the stale fd numbers config.json lists for the nets it names. */
#ifndef CELLVM_CORE_CONTROLLER_RESTORE_NET_H
#define CELLVM_CORE_CONTROLLER_RESTORE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "core/cli/cli.h"

struct restore_net_fds {
    const char *id; /* a net's id in config.json */
    size_t num_fds; /* its queue pairs (num_queues / 2) */
};

/*
 * Checks every entry against cfg (config.json as parsed): the id names a net there, no id comes
 * twice, num_fds is that net's queue pairs, the counts add up to nfds. Then each named net's
 * fd=[...] list becomes its share of fds, in order (entry 0 takes the first num_fds, ...).
 * Nothing in cfg changes when it fails. 0, or -EINVAL / -ENOMEM with the reason in err. The
 * fds themselves are the caller's (checked, owned and closed there).
 */
int restore_net_fds_apply(struct cli_config *cfg, const struct restore_net_fds *nets, size_t n,
                          const int *fds, size_t nfds, char *err, size_t errlen);

#endif
