/*
 * DEVICE_STATE (issue 18) of cellvm-netd, cellvm-vsockd and cellvm-balloond through a real
 * socket: the state one
 * process saves, loaded into another started from the same kind of spec, and refused when it
 * does not fit the new process (another guest CID, a multicast MAC) or is corrupt; each refusal
 * leaves the process serving. netd runs in a network namespace of its own with its own TAPs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "device-procs/vu_devstate.h"
#include "ipc/vu_frontend.h"

extern char **environ;

#define PF                                                                            \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE))

struct proc {
    pid_t pid;
    char sock[128], log[128];
    struct vu_frontend fe;
    bool connected;
};

static char dir[64];
static struct proc p[2];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cellvm-devstate-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    for (int i = 0; i < 2; i++) {
        memset(&p[i], 0, sizeof(p[i]));
        p[i].pid = -1;
        snprintf(p[i].sock, sizeof(p[i].sock), "%s/vu%d.sock", dir, i);
        snprintf(p[i].log, sizeof(p[i].log), "%s/d%d.log", dir, i);
    }
}

static void stop(struct proc *q)
{
    if (q->connected)
        vu_fe_close(&q->fe);
    q->connected = false;
    if (q->pid > 0) {
        kill(q->pid, SIGTERM);
        waitpid(q->pid, NULL, 0);
    }
    q->pid = -1;
}

static void teardown(void)
{
    char cmd[128];

    stop(&p[0]);
    stop(&p[1]);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
}

TestSuite(daemon_devstate, .init = setup, .fini = teardown, .timeout = 60);

/* Starts exe --socket-path --<opt> spec and connects; features as offered. */
static void start(struct proc *q, const char *env, const char *opt, const char *spec)
{
    const char *exe = getenv(env);
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    posix_spawn_file_actions_t fa;
    char *argv[] = { (char *)exe, "--socket-path", q->sock, (char *)opt, (char *)spec, NULL };
    uint64_t offered;
    int r = -1;

    if (!exe)
        cr_skip_test("%s not set (run through meson)", env);
    cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
    cr_assert_eq(
        posix_spawn_file_actions_addopen(&fa, 2, q->log, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    cr_assert_eq(posix_spawn(&q->pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 500 && r; i++) {
        r = vu_fe_connect(&q->fe, q->sock);
        if (r)
            nanosleep(&pause, NULL);
    }
    cr_assert_eq(r, 0, "%s did not come up: %s", exe, strerror(-r));
    q->connected = true;
    cr_assert_eq(vu_fe_negotiate(&q->fe, PF, &offered), 0);
    cr_assert(vu_fe_has_device_state(&q->fe), "%s offers DEVICE_STATE", exe);
    cr_assert_eq(vu_fe_set_features(&q->fe, offered), 0);
}

static bool log_has(const struct proc *q, const char *s)
{
    char buf[8192];
    FILE *f = fopen(q->log, "r");
    size_t n;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, s) != NULL;
}

static uint8_t *save(struct proc *q, size_t *len, uint32_t want_payload)
{
    uint8_t *blob = NULL;

    cr_assert_eq(vu_fe_save_state(&q->fe, &blob, len, VU_DEVSTATE_MAX), 0);
    cr_assert_eq(*len, VU_DEVSTATE_HDR + want_payload);
    return blob;
}

Test(daemon_devstate, vsockd_cid_checked_streams_dropped)
{
    char spec[2][160];
    uint8_t *blob, *bad;
    uint64_t cid, f;
    size_t len;

    for (int i = 0; i < 2; i++)
        snprintf(spec[i], sizeof(spec[i]), "cid=%d,socket=%s/v%d.sock", 3 + i, dir, i);
    start(&p[0], "CELLVM_VSOCKD", "--vsock", spec[0]);
    blob = save(&p[0], &len, 16);
    memcpy(&cid, blob + VU_DEVSTATE_HDR, 8);
    cr_assert_eq(cid, 3);
    /* Another CID: refused, and the process answers the next request. */
    start(&p[1], "CELLVM_VSOCKD", "--vsock", spec[1]);
    cr_assert_eq(vu_fe_load_state(&p[1].fe, blob, len), -EIO);
    cr_assert(log_has(&p[1], "device state of guest cid 3, this device is cid 4"));
    cr_assert_eq(vu_fe_get_features(&p[1].fe, &f), 0);
    stop(&p[1]);
    /* The same CID in a new process: taken, the dropped streams said. */
    snprintf(spec[1], sizeof(spec[1]), "cid=3,socket=%s/v1.sock", dir);
    start(&p[1], "CELLVM_VSOCKD", "--vsock", spec[1]);
    bad = malloc(len);
    cr_assert_not_null(bad);
    memcpy(bad, blob, len);
    bad[VU_DEVSTATE_HDR + 12] = 1; /* reserved bytes, checksum left: corrupt */
    cr_assert_eq(vu_fe_load_state(&p[1].fe, bad, len), -EIO);
    cr_assert_eq(vu_fe_load_state(&p[1].fe, blob, len), 0);
    cr_assert(log_has(&p[1], "state loaded: cid 3; 0 stream(s) of the saved device dropped"));
    free(bad);
    free(blob);
}

Test(daemon_devstate, netd_mac_and_counters_move)
{
    char spec[2][160];
    uint8_t *blob, *bad, mac[6] = { 0 };
    uint64_t f;
    size_t len;

    if (unshare(CLONE_NEWNET) < 0)
        cr_skip_test("unshare(CLONE_NEWNET): %s (needs root)", strerror(errno));
    if (access("/dev/net/tun", R_OK | W_OK) < 0)
        cr_skip_test("no /dev/net/tun");
    snprintf(spec[0], sizeof(spec[0]), "tap=cvds0,mac=52:54:00:12:34:56");
    snprintf(spec[1], sizeof(spec[1]), "tap=cvds1,mac=52:54:00:ab:cd:ef");
    start(&p[0], "CELLVM_NETD", "--net", spec[0]);
    /* One queue pair: the header, then NET_C_COUNT counters. */
    cr_assert_eq(vu_fe_save_state(&p[0].fe, &blob, &len, VU_DEVSTATE_MAX), 0);
    cr_assert_gt(len, VU_DEVSTATE_HDR + 16);
    cr_assert_eq((len - VU_DEVSTATE_HDR - 16) % 8, 0);
    cr_assert_eq(memcmp(blob + VU_DEVSTATE_HDR, "\x52\x54\x00\x12\x34\x56", 6), 0);
    stop(&p[0]);
    start(&p[1], "CELLVM_NETD", "--net", spec[1]);
    cr_assert_eq(vu_fe_get_config(&p[1].fe, 0, mac, 6), 0);
    cr_assert_eq(mac[5], 0xef);
    /* A multicast MAC with a good checksum: the device refuses it. */
    bad = malloc(len);
    cr_assert_not_null(bad);
    memcpy(bad, blob, len);
    bad[VU_DEVSTATE_HDR] |= 1;
    memcpy(&f, blob + 8, 8);
    vu_devstate_seal(bad, 1, f, (uint32_t)(len - VU_DEVSTATE_HDR));
    cr_assert_eq(vu_fe_load_state(&p[1].fe, bad, len), -EIO);
    cr_assert_eq(vu_fe_get_config(&p[1].fe, 0, mac, 6), 0);
    cr_assert_eq(mac[5], 0xef, "nothing refused was applied");
    cr_assert_eq(vu_fe_load_state(&p[1].fe, blob, len), 0);
    cr_assert_eq(vu_fe_get_config(&p[1].fe, 0, mac, 6), 0);
    cr_assert_eq(memcmp(mac, "\x52\x54\x00\x12\x34\x56", 6), 0, "the guest's MAC came along");
    cr_assert(log_has(&p[1], "state loaded: mac 52:54:00:12:34:56"));
    free(bad);
    free(blob);
}

Test(daemon_devstate, balloond_actual_pages_move)
{
    uint8_t *blob, *bad, le[4] = { 0x34, 0x12, 0, 0 }, cfg[8] = { 0 };
    uint64_t f;
    size_t len;

    start(&p[0], "CELLVM_BALLOOND", "--balloon", "size=64M");
    /* The driver says it holds 0x1234 pages. */
    cr_assert_eq(vu_fe_set_config(&p[0].fe, 4, le, 4, VHOST_USER_CONFIG_WRITABLE), 0);
    cr_assert_eq(vu_fe_save_state(&p[0].fe, &blob, &len, VU_DEVSTATE_MAX), 0);
    cr_assert_gt(len, VU_DEVSTATE_HDR + 8);
    stop(&p[0]);
    start(&p[1], "CELLVM_BALLOOND", "--balloon", "size=64M");
    cr_assert_eq(vu_fe_get_config(&p[1].fe, 0, cfg, 8), 0);
    cr_assert_eq(cfg[4] | cfg[5], 0, "a new process starts with an empty balloon");
    bad = malloc(len);
    cr_assert_not_null(bad);
    memcpy(bad, blob, len);
    bad[VU_DEVSTATE_HDR + 4] = 99; /* another counter count, framing redone */
    memcpy(&f, blob + 8, 8);
    vu_devstate_seal(bad, 5, f, (uint32_t)(len - VU_DEVSTATE_HDR));
    cr_assert_eq(vu_fe_load_state(&p[1].fe, bad, len), -EIO);
    cr_assert_eq(vu_fe_load_state(&p[1].fe, blob, len), 0);
    cr_assert_eq(vu_fe_get_config(&p[1].fe, 0, cfg, 8), 0);
    cr_assert_eq(cfg[4], 0x34);
    cr_assert_eq(cfg[5], 0x12, "the pages the driver holds came along");
    cr_assert(log_has(&p[1], "state loaded: the driver holds 4660 pages"));
    free(bad);
    free(blob);
}
