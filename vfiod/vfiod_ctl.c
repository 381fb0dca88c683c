#include "vfiod/vfiod_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/msg.h"
#include "validate.h"

int vfiod_ctl_hello(int ctl)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Hello hello = CELLVM__HELLO__INIT;

    hello.protocol_version = 1;
    hello.role = CELLVM__ROLE__ROLE_VFIOD;
    hello.id = (char *)"";
    hello.pid = (uint32_t)getpid();
    env.body_case = CELLVM__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return ipc_send_envelope(ctl, &env, NULL, 0);
}

static enum sbx_seccomp mode_of(Cellvm__SeccompMode m)
{
    switch (m) {
    case CELLVM__SECCOMP_MODE__SECCOMP_ON:
        return SBX_SECCOMP_ON;
    case CELLVM__SECCOMP_MODE__SECCOMP_OFF:
        return SBX_SECCOMP_OFF;
    default:
        return SBX_SECCOMP_LOG;
    }
}

int vfiod_ctl_configure(int ctl, char **spec, enum sbx_seccomp *mode, struct vfiod_fds *out,
                        char *err, size_t errlen)
{
    Cellvm__Envelope *env = NULL;
    const Cellvm__DeviceConfigure *dc;
    int fds[IPC_MAX_FDS];
    size_t nfds = 0;
    const char *why = NULL;
    int r;

    r = ipc_recv_envelope(ctl, &env, fds, IPC_MAX_FDS, &nfds, &why);
    if (r) {
        snprintf(err, errlen, "control channel: %s", why ? why : strerror(-r));
        return r;
    }
    dc = env->body_case == CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE ? env->device_configure : NULL;
    r = -EPROTO;
    if (!dc)
        snprintf(err, errlen, "expected DeviceConfigure first");
    else if (strcmp(dc->option, "device"))
        snprintf(err, errlen, "DeviceConfigure for --%s, not --device", dc->option);
    else if (nfds != 3)
        snprintf(err, errlen, "DeviceConfigure with %zu fds, want 3 (container, group, device)",
                 nfds);
    else if (!(*spec = strdup(dc->spec)))
        r = -ENOMEM;
    else
        r = 0;
    if (!r) {
        *mode = mode_of(dc->seccomp);
        *out = (struct vfiod_fds){ fds[0], fds[1], fds[2] };
        fds[0] = fds[1] = fds[2] = -1;
    }
    ipc_close_fds(fds, nfds);
    ipc_free_envelope(env);
    return r;
}

int vfiod_ctl_ready(int ctl)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Ready ready = CELLVM__READY__INIT;

    env.body_case = CELLVM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    return ipc_send_envelope(ctl, &env, NULL, 0);
}

void vfiod_ctl_error(int ctl, int errnum, const char *msg)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Error e = CELLVM__ERROR__INIT;
    char text[PB_MAX_MESSAGE_LEN + 1];
    size_t i = 0;

    /* The validator takes printable ASCII only. */
    for (; msg[i] && i < PB_MAX_MESSAGE_LEN; i++)
        text[i] = msg[i] >= 0x20 && msg[i] < 0x7f ? msg[i] : '?';
    text[i] = '\0';
    e.errnum = errnum > 0 && errnum < 4096 ? errnum : EIO;
    e.message = text;
    env.body_case = CELLVM__ENVELOPE__BODY_ERROR;
    env.error = &e;
    ipc_send_envelope(ctl, &env, NULL, 0);
}

static int send_stats(int ctl, bool connected)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceStats st = CELLVM__DEVICE_STATS__INIT;

    st.connected = connected;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_STATS;
    env.device_stats = &st;
    return ipc_send_envelope(ctl, &env, NULL, 0);
}

int vfiod_ctl_handle(int ctl, bool connected)
{
    Cellvm__Envelope *env = NULL;
    int fds[IPC_MAX_FDS];
    size_t nfds = 0;
    const char *why = NULL;
    int r = ipc_recv_envelope(ctl, &env, fds, IPC_MAX_FDS, &nfds, &why);

    if (r == -EPIPE)
        return r;
    if (r) {
        fprintf(stderr, "vfiod: bad control message: %s\n", why ? why : strerror(-r));
        vfiod_ctl_error(ctl, -r, why ? why : "bad control message");
        return 0;
    }
    if (env->body_case == CELLVM__ENVELOPE__BODY_SHUTDOWN) {
        r = -ESHUTDOWN;
    } else if (env->body_case == CELLVM__ENVELOPE__BODY_STATS_REQUEST) {
        /* A failed send shows as a closed channel on the next read. */
        send_stats(ctl, connected);
    } else {
        fprintf(stderr, "vfiod: unexpected control message %d refused\n", (int)env->body_case);
        vfiod_ctl_error(ctl, EPROTO, "unexpected control message");
    }
    ipc_close_fds(fds, nfds);
    ipc_free_envelope(env);
    return r;
}
