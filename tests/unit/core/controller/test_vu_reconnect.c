/* External vhost-user backends found again (issue 19): the controller's non-blocking connect
 * attempts, their backoff, and the core's DeviceLost report as the controller validates it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/controller/unix_sock.h"
#include "core/controller/vu_reconnect.h"
#include "validate.h"

static char dir[64], path[96];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cellvm-vurc-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/backend.sock", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

static int listen_at(const char *p)
{
    struct sockaddr_un sa;
    int fd = unix_stream(p, &sa, false);

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(fd, 1), 0);
    return fd;
}

TestSuite(vu_reconnect, .init = setup, .fini = teardown);

Test(vu_reconnect, nobody_there_then_a_stale_socket_then_a_backend)
{
    int fd = -1, l, c;

    cr_assert_eq(unix_connect(path, true, &fd), -ENOENT);
    /* What a SIGKILLed backend leaves: the file, nobody listening. */
    l = listen_at(path);
    close(l);
    cr_assert_eq(unix_connect(path, true, &fd), -ECONNREFUSED);
    cr_assert_eq(fd, -1);
    /* Its successor on the same path (it removes the stale file first). */
    unlink(path);
    l = listen_at(path);
    cr_assert_eq(unix_connect(path, true, &fd), 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0, "the core gets a blocking socket");
    cr_assert_neq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    c = accept(l, NULL, NULL);
    cr_assert_geq(c, 0);
    cr_assert_eq(write(fd, "x", 1), 1);
    close(c);
    close(fd);
    close(l);
}

Test(vu_reconnect, a_full_backlog_is_not_waited_for)
{
    int l = listen_at(path), fds[8], n = 0, r = 0;

    /* listen(1) and nobody accepting: a later attempt gets -EAGAIN instead of blocking. */
    while (n < 8) {
        r = unix_connect(path, true, &fds[n]);
        if (r)
            break;
        n++;
    }
    cr_assert_eq(r, -EAGAIN, "%d after %d connections", r, n);
    while (n)
        close(fds[--n]);
    close(l);
}

Test(vu_reconnect, path_too_long)
{
    char longp[200];
    int fd = -1;

    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    cr_assert_eq(unix_connect(longp, true, &fd), -ENAMETOOLONG);
}

Test(vu_reconnect, backoff_doubles_to_one_second_and_fits_the_timeout)
{
    unsigned d = VU_RECONNECT_FIRST_MS, total = 0, n = 0;
    const unsigned want[] = { 100, 200, 400, 800, 1000, 1000 };

    for (size_t i = 0; i + 1 < sizeof(want) / sizeof(want[0]); i++) {
        cr_assert_eq(d, want[i]);
        d = vu_reconnect_next_delay(d);
    }
    cr_assert_eq(d, 1000);
    for (d = VU_RECONNECT_FIRST_MS; total < VU_RECONNECT_TIMEOUT_S * 1000u; n++) {
        total += d;
        d = vu_reconnect_next_delay(d);
    }
    cr_assert_leq(n, 35, "%u attempts in %d s", n, VU_RECONNECT_TIMEOUT_S);
}

Test(vu_reconnect, device_lost_is_validated)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__DeviceLost dl = CELLVM__DEVICE_LOST__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_DEVICE_LOST;
    env.device_lost = &dl;
    dl.id = (char *)"_disk1";
    dl.reason = (char *)"disconnected";
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    cr_assert_neq(pb_validate_envelope(&env, 1, &why), 0, "no fds on it");
    dl.reason = (char *)"bad\nline";
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "device_lost.reason");
    dl.reason = (char *)"";
    dl.id = (char *)"";
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "device_lost.id");
}
