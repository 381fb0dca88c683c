/* vm.restore's net_fds (issue 18): the fds that came with the request (SCM_RIGHTS, in order)
 * against the counts the body names, before anything reaches the controller. */
#ifndef CELLVM_CORE_API_API_RESTORE_H
#define CELLVM_CORE_API_API_RESTORE_H

#include <stddef.h>

#include "api.pb-c.h"

/* 0 when net_fds and the nfds received agree: every entry has a non-empty id named once and
 * num_fds >= 1, and the counts add up to nfds; fds without net_fds or net_fds without fds is
 * an error. -EINVAL with the reason in err otherwise (the caller answers 400 and closes the
 * fds). The config-dependent checks (the id names a net, num_fds is its queue pairs) are the
 * controller's. */
int api_restore_check_fds(const Cellvm__ApiRestoreConfig *rc, size_t nfds, char *err,
                          size_t errlen);

#endif
