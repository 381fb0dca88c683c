#include "core/controller/restore_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cli_net *find_net(struct cli_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nnets; i++)
        if (cfg->nets[i].id && !strcmp(cfg->nets[i].id, id))
            return &cfg->nets[i];
    return NULL;
}

int restore_net_fds_apply(struct cli_config *cfg, const struct restore_net_fds *nets, size_t n,
                          const int *fds, size_t nfds, char *err, size_t errlen)
{
    uint32_t **lists;
    size_t sum = 0;

    for (size_t i = 0; i < n; i++) {
        const struct cli_net *net = nets[i].id ? find_net(cfg, nets[i].id) : NULL;

        if (!net) {
            snprintf(err, errlen, "net_fds: config.json has no net with id '%.64s'",
                     nets[i].id ? nets[i].id : "");
            return -EINVAL;
        }
        if (net->vhost_user) {
            snprintf(err, errlen, "net_fds: '%.64s' is a vhost-user net, it takes no TAP fds",
                     nets[i].id);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(nets[j].id, nets[i].id)) {
                snprintf(err, errlen, "net_fds: '%.64s' is named twice", nets[i].id);
                return -EINVAL;
            }
        if (nets[i].num_fds != net->num_queues / 2u) {
            snprintf(err, errlen,
                     "net_fds: '%.64s' has %u queue pairs (num_queues %u), num_fds is %zu",
                     nets[i].id, net->num_queues / 2u, net->num_queues, nets[i].num_fds);
            return -EINVAL;
        }
        sum += nets[i].num_fds;
    }
    if (sum != nfds) {
        snprintf(err, errlen, "net_fds: asks for %zu file descriptors, %zu came", sum, nfds);
        return -EINVAL;
    }
    for (size_t i = 0; i < nfds; i++)
        if (fds[i] < 0) {
            snprintf(err, errlen, "net_fds: fd %d is not a file descriptor", fds[i]);
            return -EINVAL;
        }
    lists = calloc(n ? n : 1, sizeof(*lists));
    for (size_t i = 0; lists && i < n; i++) {
        lists[i] = malloc(nets[i].num_fds * sizeof(uint32_t));
        if (!lists[i]) {
            for (size_t j = 0; j < i; j++)
                free(lists[j]);
            free(lists);
            lists = NULL;
        }
    }
    if (!lists) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    sum = 0;
    for (size_t i = 0; i < n; i++) {
        struct cli_net *net = find_net(cfg, nets[i].id);

        for (size_t j = 0; j < nets[i].num_fds; j++)
            lists[i][j] = (uint32_t)fds[sum++];
        free(net->fds.v);
        net->fds.v = lists[i];
        net->fds.n = nets[i].num_fds;
    }
    free(lists);
    return 0;
}
