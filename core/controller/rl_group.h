/* --rate-limit-group in the controller: one shared region per group, made on first use and
 * handed (a dup per member) to every cellvm-blockd whose disk names the group, which keep
 * their buckets' state in it (device-procs/ratelimit.h). */
#ifndef CELLVM_CORE_CONTROLLER_RL_GROUP_H
#define CELLVM_CORE_CONTROLLER_RL_GROUP_H

#include <stddef.h>

#include "core/cli/cli.h"

struct rl_groups {
    int fd[CLI_MAX_RL_GROUPS]; /* owned; -1 until a member needs it; indexed as cfg->rl_groups */
};

void rl_groups_init(struct rl_groups *g);
void rl_groups_close(struct rl_groups *g);

/* The group named `id` in cfg: *index set, and its region made (a sealed memfd of RL_SHM_SIZE
 * bytes with full buckets and the one-time bursts) if it was not yet. *fd stays owned by g.
 * 0, -ENOENT (no such group) or -errno. */
int rl_groups_get(struct rl_groups *g, const struct cli_config *cfg, const char *id, size_t *index,
                  int *fd);

#endif
