#include "core/api/api_restore.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int api_restore_check_fds(const Cellvm__ApiRestoreConfig *rc, size_t nfds, char *err, size_t errlen)
{
    size_t sum = 0;

    if (!rc->n_net_fds) {
        if (!nfds)
            return 0;
        snprintf(err, errlen, "vm.restore: %zu file descriptors came without net_fds", nfds);
        return -EINVAL;
    }
    for (size_t i = 0; i < rc->n_net_fds; i++) {
        const Cellvm__ApiRestoredNetConfig *n = rc->net_fds[i];

        if (!n->id || !n->id[0]) {
            snprintf(err, errlen, "vm.restore: net_fds[%zu] has no id", i);
            return -EINVAL;
        }
        if (!n->has_num_fds || !n->num_fds) {
            snprintf(err, errlen, "vm.restore: net_fds '%.64s' needs num_fds of 1 or more", n->id);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(rc->net_fds[j]->id, n->id)) {
                snprintf(err, errlen, "vm.restore: net_fds names '%.64s' twice", n->id);
                return -EINVAL;
            }
        sum += n->num_fds;
    }
    if (sum != nfds) {
        snprintf(err, errlen,
                 "vm.restore: net_fds asks for %zu file descriptors, %zu came with the request",
                 sum, nfds);
        return -EINVAL;
    }
    return 0;
}
