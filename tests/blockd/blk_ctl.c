/* blk-ctl: a minimal supervisor for a standalone cellvm-blockd's --control-socket, for shell
 * tests. Sends the control messages the controller would, as protobuf envelopes on SEQPACKET.
 *
 *   blk-ctl SOCKET resize BYTES
 *
 * Sends Resize and then StatsRequest; the DeviceStats answer means the resize was handled, an
 * Error before it that it was refused. Exits 0, or 1 with the refusal printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/msg.h"

static int connect_to(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = 30 };
    int s;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;

        close(s);
        return r;
    }
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return s;
}

static int resize(int s, uint64_t bytes)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT, *ans = NULL;
    Cellvm__Resize rs = CELLVM__RESIZE__INIT;
    Cellvm__StatsRequest sr = CELLVM__STATS_REQUEST__INIT;
    int fds[4], err = 0, r;
    size_t nfds;
    const char *why = NULL;

    rs.size = bytes;
    env.body_case = CELLVM__ENVELOPE__BODY_RESIZE;
    env.resize = &rs;
    r = ipc_send_envelope(s, &env, NULL, 0);
    env.body_case = CELLVM__ENVELOPE__BODY_STATS_REQUEST;
    env.stats_request = &sr;
    if (r == 0)
        r = ipc_send_envelope(s, &env, NULL, 0);
    if (r < 0) {
        fprintf(stderr, "blk-ctl: send: %s\n", strerror(-r));
        return 1;
    }
    for (int i = 0; i < 64; i++) {
        r = ipc_recv_envelope(s, &ans, fds, 4, &nfds, &why);
        if (r < 0) {
            fprintf(stderr, "blk-ctl: receive: %s\n", why ? why : strerror(-r));
            return 1;
        }
        ipc_close_fds(fds, nfds);
        if (ans->body_case == CELLVM__ENVELOPE__BODY_ERROR) {
            err = ans->error->errnum;
            fprintf(stderr, "blk-ctl: resize refused: %s (%s)\n", ans->error->message,
                    strerror(err));
        }
        if (ans->body_case == CELLVM__ENVELOPE__BODY_DEVICE_STATS) {
            ipc_free_envelope(ans);
            return err ? 1 : 0;
        }
        ipc_free_envelope(ans);
    }
    fprintf(stderr, "blk-ctl: no answer\n");
    return 1;
}

int main(int argc, char **argv)
{
    char *end;
    unsigned long long v;
    int s, rc;

    if (argc != 4 || strcmp(argv[2], "resize") != 0) {
        fprintf(stderr, "usage: blk-ctl SOCKET resize BYTES\n");
        return 2;
    }
    errno = 0;
    v = strtoull(argv[3], &end, 0);
    if (errno || *end || end == argv[3]) {
        fprintf(stderr, "blk-ctl: bad size %s\n", argv[3]);
        return 2;
    }
    s = connect_to(argv[1]);
    if (s < 0) {
        fprintf(stderr, "blk-ctl: %s: %s\n", argv[1], strerror(-s));
        return 1;
    }
    rc = resize(s, v);
    close(s);
    return rc;
}
