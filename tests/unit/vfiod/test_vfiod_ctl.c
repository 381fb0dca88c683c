/*
 * vfiod_ctl.c: cellvm-vfiod's side of the control channel over a SEQPACKET pair, the test
 * playing the controller: Hello, DeviceConfigure (and what is refused in it, with every fd
 * closed), Shutdown, StatsRequest, an unexpected message, a closed channel.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/msg.h"
#include "vfiod/vfiod_ctl.h"

static int sv[2] = { -1, -1 }; /* [0] the controller (test), [1] vfiod */

static void setup(void)
{
    cr_assert_eq(ipc_chan_pair(sv), 0);
}

static void teardown(void)
{
    ipc_close_fds(sv, 2);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void send_configure(const char *option, const char *spec, unsigned nfds)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceConfigure dc = CELLVM__DEVICE_CONFIGURE__INIT;
    int fds[4];

    for (unsigned i = 0; i < nfds; i++)
        fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
    dc.option = (char *)option;
    dc.spec = (char *)spec;
    dc.nfds = nfds;
    dc.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_CONFIGURE;
    env.device_configure = &dc;
    cr_assert_eq(ipc_send_envelope(sv[0], &env, fds, nfds), 0);
    ipc_close_fds(fds, nfds);
}

static void send_body(Cellvm__Envelope *env)
{
    cr_assert_eq(ipc_send_envelope(sv[0], env, NULL, 0), 0);
}

static Cellvm__Envelope *recv_env(void)
{
    Cellvm__Envelope *env = NULL;
    int fds[IPC_MAX_FDS];
    size_t nfds = 0;
    const char *why = NULL;

    cr_assert_eq(ipc_recv_envelope(sv[0], &env, fds, IPC_MAX_FDS, &nfds, &why), 0, "%s",
                 why ? why : "");
    cr_assert_eq(nfds, 0);
    return env;
}

TestSuite(vfiod_ctl, .init = setup, .fini = teardown);

Test(vfiod_ctl, hello_names_the_role)
{
    Cellvm__Envelope *env;

    cr_assert_eq(vfiod_ctl_hello(sv[1]), 0);
    env = recv_env();
    cr_assert_eq(env->body_case, CELLVM__ENVELOPE__BODY_HELLO);
    cr_expect_eq(env->hello->role, CELLVM__ROLE__ROLE_VFIOD);
    cr_expect_eq(env->hello->pid, (uint32_t)getpid());
    ipc_free_envelope(env);
}

Test(vfiod_ctl, configure_takes_spec_and_three_fds)
{
    enum sbx_seccomp mode = SBX_SECCOMP_LOG;
    char *spec = NULL, err[256] = "";
    struct vfiod_fds f = { -1, -1, -1 };

    send_configure("device", "path=/sys/bus/pci/devices/0000:00:03.0,id=vf0", 3);
    cr_assert_eq(vfiod_ctl_configure(sv[1], &spec, &mode, &f, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(spec, "path=/sys/bus/pci/devices/0000:00:03.0,id=vf0");
    cr_expect_eq(mode, SBX_SECCOMP_ON);
    cr_expect_geq(fcntl(f.container, F_GETFD), 0);
    cr_expect_geq(fcntl(f.group, F_GETFD), 0);
    cr_expect_geq(fcntl(f.device, F_GETFD), 0);
    cr_expect_neq(f.container, f.group);
    cr_expect_neq(f.group, f.device);
    close(f.container);
    close(f.group);
    close(f.device);
    free(spec);
}

/* Each refused configuration: -EPROTO, a reason, and no received fd left open. */
static void refused(const char *option, unsigned nfds, const char *want)
{
    enum sbx_seccomp mode = SBX_SECCOMP_LOG;
    char *spec = NULL, err[256] = "";
    struct vfiod_fds f = { -1, -1, -1 };
    int before = open_fds();

    send_configure(option, "path=/sys/bus/pci/devices/0000:00:03.0", nfds);
    cr_expect_eq(vfiod_ctl_configure(sv[1], &spec, &mode, &f, err, sizeof(err)), -EPROTO);
    cr_expect(strstr(err, want), "'%s' does not say '%s'", err, want);
    cr_expect_null(spec);
    cr_expect(f.container == -1 && f.group == -1 && f.device == -1);
    cr_expect_eq(open_fds(), before, "received fds left open");
}

Test(vfiod_ctl, configure_refusals)
{
    refused("disk", 3, "--disk");
    refused("device", 2, "want 3");
    refused("device", 4, "want 3");
    refused("device", 0, "want 3");
}

Test(vfiod_ctl, configure_must_come_first)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Shutdown sd = CELLVM__SHUTDOWN__INIT;
    enum sbx_seccomp mode;
    char *spec = NULL, err[256] = "";
    struct vfiod_fds f = { -1, -1, -1 };

    env.body_case = CELLVM__ENVELOPE__BODY_SHUTDOWN;
    env.shutdown = &sd;
    send_body(&env);
    cr_expect_eq(vfiod_ctl_configure(sv[1], &spec, &mode, &f, err, sizeof(err)), -EPROTO);
    cr_expect(strstr(err, "DeviceConfigure"), "%s", err);
}

Test(vfiod_ctl, serving_messages)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT, *got;
    Cellvm__StatsRequest sr = CELLVM__STATS_REQUEST__INIT;
    Cellvm__Ready ready = CELLVM__READY__INIT;
    Cellvm__Shutdown sd = CELLVM__SHUTDOWN__INIT;

    env.body_case = CELLVM__ENVELOPE__BODY_STATS_REQUEST;
    env.stats_request = &sr;
    send_body(&env);
    cr_assert_eq(vfiod_ctl_handle(sv[1], true), 0);
    got = recv_env();
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_DEVICE_STATS);
    cr_expect(got->device_stats->connected);
    ipc_free_envelope(got);

    /* Ready is vfiod's to send, not to receive: an Error answers it and serving goes on. */
    env.body_case = CELLVM__ENVELOPE__BODY_READY;
    env.ready = &ready;
    send_body(&env);
    cr_assert_eq(vfiod_ctl_handle(sv[1], false), 0);
    got = recv_env();
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_ERROR);
    cr_expect_eq(got->error->errnum, EPROTO);
    ipc_free_envelope(got);

    env.body_case = CELLVM__ENVELOPE__BODY_SHUTDOWN;
    env.shutdown = &sd;
    send_body(&env);
    cr_expect_eq(vfiod_ctl_handle(sv[1], false), -ESHUTDOWN);

    close(sv[0]);
    sv[0] = -1;
    cr_expect_eq(vfiod_ctl_handle(sv[1], false), -EPIPE);
}

Test(vfiod_ctl, error_text_is_flattened)
{
    Cellvm__Envelope *got;

    vfiod_ctl_error(sv[1], 16, "group busy\nsecond line\x01");
    got = recv_env();
    cr_assert_eq(got->body_case, CELLVM__ENVELOPE__BODY_ERROR);
    cr_expect_eq(got->error->errnum, 16);
    cr_expect_str_eq(got->error->message, "group busy?second line?");
    ipc_free_envelope(got);
    vfiod_ctl_error(sv[1], -5, "x");
    got = recv_env();
    cr_expect_eq(got->error->errnum, EIO, "an errno out of range becomes EIO");
    ipc_free_envelope(got);
}
