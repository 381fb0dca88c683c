#include "core/controller/rl_group.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "device-procs/ratelimit.h"

void rl_groups_init(struct rl_groups *g)
{
    for (size_t i = 0; i < CLI_MAX_RL_GROUPS; i++)
        g->fd[i] = -1;
}

void rl_groups_close(struct rl_groups *g)
{
    for (size_t i = 0; i < CLI_MAX_RL_GROUPS; i++) {
        if (g->fd[i] >= 0)
            close(g->fd[i]);
        g->fd[i] = -1;
    }
}

/* Sealed against shrink and grow (a member cannot fault the others with SIGBUS) and against
 * further sealing; written before it is sealed, never by the controller afterwards. */
static int make_region(const struct cli_rate_limit_group *grp, int *out)
{
    struct rl_config cfg = {
        .bw = { grp->rl.bw_size, grp->rl.bw_one_time_burst, grp->rl.bw_refill_time },
        .ops = { grp->rl.ops_size, grp->rl.ops_one_time_burst, grp->rl.ops_refill_time },
    };
    struct rl_shm shm;
    int fd, r;

    fd = memfd_create("cellvm-rate-limit-group", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    rl_shm_init(&shm, &cfg);
    if (ftruncate(fd, RL_SHM_SIZE) < 0 ||
        pwrite(fd, &shm, sizeof(shm), 0) != (ssize_t)sizeof(shm) ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        r = errno ? -errno : -EIO;
        close(fd);
        return r;
    }
    *out = fd;
    return 0;
}

int rl_groups_get(struct rl_groups *g, const struct cli_config *cfg, const char *id, size_t *index,
                  int *fd)
{
    for (size_t i = 0; i < cfg->nrl_groups && i < CLI_MAX_RL_GROUPS; i++) {
        int r;

        if (strcmp(cfg->rl_groups[i].id, id))
            continue;
        if (g->fd[i] < 0 && (r = make_region(&cfg->rl_groups[i], &g->fd[i])) < 0)
            return r;
        *index = i;
        *fd = g->fd[i];
        return 0;
    }
    return -ENOENT;
}
