/*
 * vsockd-user-listener: a guest connects to a host listener made the ordinary way, through the
 * real, jailed cellvm-vsockd (issue 22 item 8). Run as root: the daemon's jail makes it nobody,
 * while the listener at <socket>_<port> is root's, mode 0755 (plain socket/bind, umask 022, as
 * socat or a systemd socket unit leaves it), so only a connect made with the invoking user's
 * identity gets through. This program plays the guest's driver over vhost-user (ipc/vu_guest,
 * no VM) and checks:
 *   - the guest's REQUEST is answered RESPONSE (not RST), the listener accepts, bytes flow
 *     both ways;
 *   - a port nobody listens on is still answered RST;
 *   - the daemon runs as another user than its connector, which stays root and filtered, and is
 *     not the daemon's child; once the daemon exits, the connector is gone too.
 * Exit 0 pass, 1 fail, 77 skip (not root). Every wait is bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"
#include "vsockd/pkt.h"

#define RING   64
#define BUFSZ  (VSOCK_HDR_LEN + 4096)
#define CID    3u
#define GPORT  4000u
#define HPORT  5000u
#define NOPORT 5001u

struct drv {
    struct vu_frontend fe;
    struct vu_gmem mem;
    struct vu_gring rx, tx;
    uint64_t rx_gpa[RING], tx_gpa;
};

static char dir[] = "/tmp/cellvm-vsock-ul.XXXXXX";
static pid_t daemon_pid = -1;

static void cleanup(void)
{
    char cmd[96];

    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
}

static _Noreturn void fail(const char *what, int r)
{
    fprintf(stderr, "FAIL: %s%s%s\n", what, r ? ": " : "", r ? strerror(r < 0 ? -r : r) : "");
    cleanup();
    exit(1);
}

static void post_rx(struct drv *d, uint64_t gpa)
{
    struct vu_gbuf b = { .gpa = gpa, .len = BUFSZ };
    uint16_t head;

    if (vu_gring_add(&d->rx, &b, 0, 1, &head))
        fail("rx add", ENOSPC);
    d->rx_gpa[head] = gpa;
}

static void send_pkt(struct drv *d, uint16_t op, uint32_t src, uint32_t dst, const void *data,
                     uint32_t len)
{
    struct vsock_hdr h = { .src_cid = CID,
                           .dst_cid = VSOCK_HOST_CID,
                           .src_port = src,
                           .dst_port = dst,
                           .len = len,
                           .type = VSOCK_TYPE_STREAM,
                           .op = op,
                           .buf_alloc = 65536 };
    uint8_t *p = vu_gmem_ptr(&d->mem, d->tx_gpa);
    struct vu_gbuf b = { .gpa = d->tx_gpa, .len = VSOCK_HDR_LEN + len };
    uint32_t used_len;
    uint16_t head;

    vsock_hdr_encode(p, &h);
    memcpy(p + VSOCK_HDR_LEN, data, len);
    if (vu_gring_add(&d->tx, &b, 1, 0, &head))
        fail("tx add", ENOSPC);
    vu_gring_kick(&d->tx);
    /* One TX buffer: wait until the device gave it back before it is reused. */
    for (int i = 0; i < 50; i++) {
        if (vu_gring_get_used(&d->tx, &head, &used_len) == 1)
            return;
        vu_gring_want_interrupt(&d->tx);
        if (vu_gring_get_used(&d->tx, &head, &used_len) == 1)
            return;
        vu_gring_wait(&d->tx, 100);
    }
    fail("the device never consumed a TX packet", ETIMEDOUT);
}

/* The next packet for the guest within 5 s; payload (if any) into data. */
static struct vsock_hdr recv_pkt(struct drv *d, void *data, size_t cap)
{
    struct vsock_hdr h;
    uint32_t len;
    uint16_t head;

    for (int i = 0; i < 50; i++) {
        if (vu_gring_get_used(&d->rx, &head, &len) == 1) {
            const uint8_t *p = vu_gmem_ptr(&d->mem, d->rx_gpa[head]);

            vsock_hdr_decode(&h, p);
            if (data && h.len <= cap)
                memcpy(data, p + VSOCK_HDR_LEN, h.len);
            post_rx(d, d->rx_gpa[head]);
            vu_gring_kick(&d->rx);
            return h;
        }
        vu_gring_want_interrupt(&d->rx);
        vu_gring_wait(&d->rx, 100);
    }
    fail("no packet for the guest within 5 s", ETIMEDOUT);
}

static void drv_setup(struct drv *d, const char *sock)
{
    uint64_t offered;
    struct vu_fe_region reg;
    struct vu_fe_vring vr;
    int r;

    memset(d, 0, sizeof(*d));
    if ((r = vu_fe_connect(&d->fe, sock)) || (r = vu_fe_negotiate(&d->fe, ~0ull, &offered)) ||
        (r = vu_fe_set_features(&d->fe,
                                1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX)))
        fail("vhost-user setup", r);
    if ((r = vu_gmem_create(&d->mem, 4u << 20)))
        fail("guest memory", r);
    reg = vu_gmem_region(&d->mem);
    if ((r = vu_fe_set_mem_table(&d->fe, &reg, 1)))
        fail("SET_MEM_TABLE", r);
    if ((r = vu_gring_init(&d->rx, &d->mem, RING, true)) ||
        (r = vu_gring_init(&d->tx, &d->mem, RING, true)))
        fail("rings", r);
    d->tx_gpa = vu_gmem_alloc(&d->mem, BUFSZ, 64);
    for (unsigned i = 0; i < 16; i++)
        post_rx(d, vu_gmem_alloc(&d->mem, BUFSZ, 64));
    vr = vu_gring_vring(&d->rx, &d->mem);
    if ((r = vu_fe_start_vring(&d->fe, 0, &vr)))
        fail("start rx", r);
    vr = vu_gring_vring(&d->tx, &d->mem);
    if ((r = vu_fe_start_vring(&d->fe, 1, &vr)))
        fail("start tx", r);
    vu_gring_kick(&d->rx);
}

/* Root's listener, made the ordinary way: plain socket and bind under umask 022. */
static int plain_listener(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct stat st;

    if (strlen(path) >= sizeof(sa.sun_path))
        fail("listener path too long", ENAMETOOLONG);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 4))
        fail("host listener", errno);
    if (stat(path, &st) || (st.st_mode & 0777) != 0755 || st.st_uid != 0)
        fail("the listener is not root's with mode 0755", EINVAL);
    return s;
}

/* "Uid:" of pid (real uid), or -1. */
static long proc_uid(pid_t pid, const char *key)
{
    char path[64], line[256];
    long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, strlen(key)))
            v = strtol(line + strlen(key), NULL, 10);
    fclose(f);
    return v;
}

/* The daemon's connector: another process whose command line names our directory. */
static pid_t find_connector(void)
{
    DIR *p = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;

    while (p && (e = readdir(p))) {
        char path[64], cmd[512];
        pid_t pid = (pid_t)atoi(e->d_name);
        ssize_t n;
        FILE *f;

        if (pid <= 0 || pid == daemon_pid || pid == getpid())
            continue;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        f = fopen(path, "r");
        if (!f)
            continue;
        n = (ssize_t)fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        for (ssize_t i = 0; i < n; i++)
            cmd[i] = cmd[i] ? cmd[i] : ' ';
        cmd[n > 0 ? n : 0] = '\0';
        if (strstr(cmd, dir) && strstr(cmd, "--vsock"))
            found = pid;
    }
    if (p)
        closedir(p);
    return found;
}

int main(int argc, char **argv)
{
    char vu[96], hybrid[96], listen_path[112], spec[160], buf[64];
    struct vsock_hdr h;
    struct drv d;
    pid_t conn;
    int l, s, st;

    if (argc != 2)
        return fprintf(stderr, "usage: vsockd-user-listener VSOCKD\n"), 2;
    if (getuid() != 0)
        return printf("SKIP: needs root (the jail must change the daemon's user)\n"), 77;
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    if (!mkdtemp(dir) || chmod(dir, 0755))
        fail("mkdtemp", errno);
    snprintf(vu, sizeof(vu), "%s/vu.sock", dir);
    snprintf(hybrid, sizeof(hybrid), "%s/v.sock", dir);
    if (snprintf(listen_path, sizeof(listen_path), "%s_%u", hybrid, HPORT) >=
        (int)sizeof(listen_path))
        fail("path too long", ENAMETOOLONG);
    snprintf(spec, sizeof(spec), "cid=%u,socket=%s", CID, hybrid);
    l = plain_listener(listen_path);
    daemon_pid = fork();
    if (daemon_pid == 0) {
        execl(argv[1], argv[1], "--socket-path", vu, "--vsock", spec, "--seccomp", "on",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && access(vu, F_OK); i++)
        usleep(50000);
    drv_setup(&d, vu);
    if (proc_uid(daemon_pid, "Uid:") == 0)
        fail("the jailed daemon still runs as root: the test proves nothing", EINVAL);

    send_pkt(&d, VSOCK_OP_REQUEST, GPORT, HPORT, NULL, 0);
    h = recv_pkt(&d, NULL, 0);
    if (h.op != VSOCK_OP_RESPONSE)
        fail(h.op == VSOCK_OP_RST ? "the guest's connect to root's 0755 listener was refused"
                                  : "unexpected answer to the guest's REQUEST",
             h.op == VSOCK_OP_RST ? ECONNREFUSED : EPROTO);
    printf("ok: the guest's connect to root's 0755 listener was accepted\n");
    {
        struct pollfd p = { .fd = l, .events = POLLIN };

        if (poll(&p, 1, 5000) != 1)
            fail("the listener saw no connection", ETIMEDOUT);
    }
    s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0)
        fail("accept", errno);
    send_pkt(&d, VSOCK_OP_RW, GPORT, HPORT, "ping", 4);
    {
        struct pollfd p = { .fd = s, .events = POLLIN };

        if (poll(&p, 1, 5000) != 1 || read(s, buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4))
            fail("guest bytes did not reach the host", EIO);
    }
    if (write(s, "pong", 4) != 4)
        fail("host write", errno);
    do
        h = recv_pkt(&d, buf, sizeof(buf));
    while (h.op == VSOCK_OP_CREDIT_UPDATE);
    if (h.op != VSOCK_OP_RW || h.len != 4 || memcmp(buf, "pong", 4))
        fail("host bytes did not reach the guest", EIO);
    printf("ok: bytes flow both ways\n");

    send_pkt(&d, VSOCK_OP_REQUEST, GPORT + 1, NOPORT, NULL, 0);
    h = recv_pkt(&d, NULL, 0);
    if (h.op != VSOCK_OP_RST || h.src_port != NOPORT)
        fail("a port nobody listens on was not refused", EPROTO);
    printf("ok: a port nobody listens on is refused\n");

    conn = find_connector();
    if (conn < 0)
        fail("no connector process", ESRCH);
    if (proc_uid(conn, "Uid:") != 0 || proc_uid(conn, "Seccomp:") != 2 ||
        proc_uid(conn, "PPid:") == daemon_pid)
        fail("the connector is not root, filtered and detached from the daemon", EINVAL);
    printf("ok: daemon uid %ld; connector %d uid 0, filtered, not its child\n",
           proc_uid(daemon_pid, "Uid:"), (int)conn);

    close(s);
    vu_fe_close(&d.fe);
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, &st, 0);
    daemon_pid = -1;
    for (int i = 0; i < 50 && kill(conn, 0) == 0 && proc_uid(conn, "Uid:") >= 0; i++)
        usleep(100000);
    if (proc_uid(conn, "Uid:") >= 0)
        fail("the connector outlived the daemon", EEXIST);
    printf("ok: the connector ended with the daemon\n");
    close(l);
    cleanup();
    return 0;
}
