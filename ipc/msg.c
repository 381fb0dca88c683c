#include "ipc/msg.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ipc/channel.h"
#include "validate.h"

int ipc_send_envelope(int sock, const Cellvm__Envelope *env, const int *fds, size_t nfds)
{
    size_t len = cellvm__envelope__get_packed_size(env);
    uint8_t *buf;
    int r;

    if (len == 0 || len > IPC_MAX_PACKET)
        return -EMSGSIZE;
    buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    cellvm__envelope__pack(env, buf);
    r = ipc_send(sock, buf, len, fds, nfds);
    free(buf);
    return r;
}

int ipc_recv_envelope(int sock, Cellvm__Envelope **out, int *fds, size_t maxfds, size_t *nfds,
                      const char **why)
{
    Cellvm__Envelope *env;
    uint8_t *buf;
    ssize_t n;
    int r;

    *out = NULL;
    *nfds = 0;
    buf = malloc(IPC_MAX_PACKET);
    if (!buf) {
        *why = "out of memory";
        return -ENOMEM;
    }
    n = ipc_recv(sock, buf, IPC_MAX_PACKET, fds, maxfds, nfds);
    if (n <= 0) {
        free(buf);
        *why = n == 0 ? "peer closed the channel" : "receive failed or packet too large";
        return n == 0 ? -EPIPE : (int)n;
    }
    env = cellvm__envelope__unpack(NULL, (size_t)n, buf);
    free(buf);
    if (!env) {
        ipc_close_fds(fds, *nfds);
        *nfds = 0;
        *why = "packet is not a valid control message";
        return -EBADMSG;
    }
    r = pb_validate_envelope(env, *nfds, why);
    if (r) {
        cellvm__envelope__free_unpacked(env, NULL);
        ipc_close_fds(fds, *nfds);
        *nfds = 0;
        return r;
    }
    *out = env;
    return 0;
}

void ipc_free_envelope(Cellvm__Envelope *env)
{
    if (env)
        cellvm__envelope__free_unpacked(env, NULL);
}
