/* cellvm-remote's device commands (ch-remote v51's add-disk, add-net, add-vsock, add-fs,
 * add-pmem, add-device, add-user-device): the device spec as on the command line, parsed by the
 * controller's own parsers, becomes the endpoint's JSON body. */
#ifndef CELLVM_CORE_API_REMOTE_DEV_H
#define CELLVM_CORE_API_REMOTE_DEV_H

#include <stddef.h>

#define REMOTE_MAX_FDS 8 /* add-net fd=[...]: TAP fds sent with the request */

/* Whether `cmd` is one of the commands above. */
int remote_dev_command(const char *cmd);

/*
 * The JSON body (malloc'ed, in *body) for `cmd` with the device spec `spec`; for add-net the
 * fds of fd=[...] in fds[] (*nfds of them, this process's own fd numbers, sent in SCM_RIGHTS
 * and left out of the body, as ch-remote does). 0, or -EINVAL/-ENOMEM with one line in err.
 */
int remote_dev_body(const char *cmd, const char *spec, char **body, int *fds, size_t *nfds,
                    char *err, size_t errlen);

#endif
