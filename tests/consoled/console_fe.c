/*
 * A standalone, jailed cellvm-consoled (--seccomp on) behind the project's vhost-user frontend
 * (ipc/vu_frontend.c, the code cellvm-core uses), with this program playing the guest's
 * virtio_console driver: features and config (F_SIZE, max_nr_ports 1, the terminal's size),
 * transmitq bytes reaching the host side, host input reaching receiveq buffers, a flood into a
 * host side nobody reads (every chain is still given back at once: the rest is dropped, and the
 * daemon stays responsive), and a chain pointing outside guest memory (the queue is reported
 * broken; the process lives on and answers).
 *
 *   console-fe CONSOLED TMPDIR
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ipc/vu_guest.h"

#define RING   64
#define RXQ    0
#define TXQ    1
#define F_SIZE 0

static int fails;

#define CHECK(c, ...)                              \
    do {                                           \
        if (!(c)) {                                \
            fprintf(stderr, "FAIL: " __VA_ARGS__); \
            fprintf(stderr, "\n");                 \
            fails++;                               \
        }                                          \
    } while (0)

struct fe {
    struct vu_frontend fe;
    struct vu_gmem mem;
    struct vu_gring q[2];
    pid_t pid;
};

static pid_t start(const char *exe, const char *sock, const char *spec, int in, int out)
{
    pid_t pid = fork();

    if (pid == 0) {
        if (in >= 0)
            dup2(in, 0);
        else
            close(0);
        dup2(out, 1);
        execl(exe, exe, "--socket-path", sock, "--console", spec, "--seccomp", "on", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int setup(struct fe *f, const char *sock, uint8_t *cfg)
{
    const uint64_t want = 1ull << 32 | 1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << F_SIZE;
    uint64_t pf = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK | 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
    uint64_t offered = 0;
    struct vu_fe_region reg;
    int r = -ECONNREFUSED;

    for (int i = 0; i < 200 && (r = vu_fe_connect(&f->fe, sock)) < 0; i++)
        usleep(20000);
    if (r == 0)
        r = vu_fe_negotiate(&f->fe, pf, &offered);
    CHECK(r || (offered & 1ull << F_SIZE), "VIRTIO_CONSOLE_F_SIZE not offered");
    CHECK(r || !(offered & 1ull << 1), "MULTIPORT offered");
    if (r == 0)
        r = vu_fe_set_features(&f->fe, offered & want);
    if (r == 0)
        r = vu_fe_get_config(&f->fe, 0, cfg, 12);
    if (r == 0)
        r = vu_gmem_create(&f->mem, 4u << 20);
    for (int i = 0; i < 2 && r == 0; i++)
        r = vu_gring_init(&f->q[i], &f->mem, RING, true);
    reg = vu_gmem_region(&f->mem);
    if (r == 0)
        r = vu_fe_set_mem_table(&f->fe, &reg, 1);
    for (int i = 0; i < 2 && r == 0; i++) {
        struct vu_fe_vring vr = vu_gring_vring(&f->q[i], &f->mem);

        r = vu_fe_start_vring(&f->fe, (uint16_t)i, &vr);
    }
    return r;
}

static void teardown(struct fe *f)
{
    int st;

    vu_fe_close(&f->fe);
    for (int i = 0; i < 2; i++)
        vu_gring_destroy(&f->q[i]);
    vu_gmem_destroy(&f->mem);
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "consoled ended with status %#x", st);
    }
}

/* Sends len bytes as one transmit chain and waits until it is used. */
static int transmit(struct fe *f, const void *p, uint32_t len)
{
    uint64_t gpa = vu_gmem_alloc(&f->mem, len, 16);
    struct vu_gbuf b = { gpa, len };
    uint16_t head;
    uint32_t used;

    if (gpa == UINT64_MAX)
        return -ENOMEM;
    memcpy(vu_gmem_ptr(&f->mem, gpa), p, len);
    if (vu_gring_add(&f->q[TXQ], &b, 1, 0, &head))
        return -ENOSPC;
    vu_gring_want_interrupt(&f->q[TXQ]);
    vu_gring_kick(&f->q[TXQ]);
    for (int i = 0; i < 50; i++) {
        if (vu_gring_get_used(&f->q[TXQ], &head, &used) == 1)
            return 0;
        vu_gring_wait(&f->q[TXQ], 100);
    }
    return -ETIMEDOUT;
}

static size_t wait_file(const char *path, const char *want, int ms)
{
    char buf[4096];

    for (int t = 0; t < ms; t += 20) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = '\0';
            if (strstr(buf, want))
                return (size_t)n;
        }
        usleep(20000);
    }
    return 0;
}

/* tty mode: stdin a pty slave (input), stdout a file (output). */
static void case_tty(const char *exe, const char *dir)
{
    struct winsize ws = { .ws_row = 40, .ws_col = 132 };
    char sock[256], out[256], got[64];
    struct fe f = { 0 };
    uint8_t cfg[12] = { 0 };
    struct termios raw;
    int m, s, o;
    uint16_t head;
    uint32_t len = 0;

    snprintf(sock, sizeof(sock), "%s/tty.sock", dir);
    snprintf(out, sizeof(out), "%s/tty.out", dir);
    m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) || unlockpt(m) || (s = open(ptsname(m), O_RDWR | O_NOCTTY)) < 0) {
        CHECK(0, "no pty: %s", strerror(errno));
        return;
    }
    tcgetattr(s, &raw);
    cfmakeraw(&raw);
    tcsetattr(s, TCSANOW, &raw);
    ioctl(m, TIOCSWINSZ, &ws);
    o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    vu_fe_init(&f.fe, -1);
    f.pid = start(exe, sock, "tty", s, o);
    close(s);
    close(o);
    CHECK(setup(&f, sock, cfg) == 0, "tty: setup");
    CHECK(cfg[0] == 132 && cfg[1] == 0 && cfg[2] == 40 && cfg[3] == 0,
          "tty: config cols/rows %u/%u, want 132/40", cfg[0] | cfg[1] << 8, cfg[2] | cfg[3] << 8);
    CHECK(cfg[4] == 1 && !cfg[5] && !cfg[6] && !cfg[7], "tty: max_nr_ports is not 1");
    CHECK(transmit(&f, "hello from the guest\n", 21) == 0, "tty: transmit chain not used");
    CHECK(wait_file(out, "hello from the guest\n", 3000), "tty: guest output not in stdout");
    /* Host to guest: four receive buffers, then a line typed on the terminal. */
    for (int i = 0; i < 4; i++) {
        struct vu_gbuf b = { vu_gmem_alloc(&f.mem, 64, 16), 64 };

        vu_gring_add(&f.q[RXQ], &b, 0, 1, &head);
    }
    vu_gring_want_interrupt(&f.q[RXQ]);
    vu_gring_kick(&f.q[RXQ]);
    CHECK(write(m, "typed on the host", 17) == 17, "tty: write to the pty");
    for (int i = 0; i < 30 && !len; i++)
        if (vu_gring_get_used(&f.q[RXQ], &head, &len) != 1)
            vu_gring_wait(&f.q[RXQ], 100);
    memset(got, 0, sizeof(got));
    if (len && len < sizeof(got))
        memcpy(got, vu_gmem_ptr(&f.mem, f.q[RXQ].desc[head].addr), len);
    CHECK(len == 17 && !strcmp(got, "typed on the host"), "tty: receiveq got %u bytes '%s'", len,
          got);
    /* A hostile chain: a transmit buffer far outside guest memory. */
    {
        struct vu_gbuf b = { 1ull << 40, 16 };

        vu_gring_add(&f.q[TXQ], &b, 1, 0, &head);
        vu_gring_kick(&f.q[TXQ]);
        usleep(200000);
        CHECK(kill(f.pid, 0) == 0, "tty: consoled died on a chain outside guest memory");
        CHECK(vu_fe_get_config(&f.fe, 0, cfg, 12) == 0, "tty: consoled stopped answering");
    }
    teardown(&f);
    close(m);
}

/* file= mode, then a flood into a pipe nobody reads (tty mode with a pipe as stdout). */
static void case_file_and_flood(const char *exe, const char *dir)
{
    static char blob[8192];
    char sock[256], out[256];
    struct fe f = { 0 };
    uint8_t cfg[12];
    int o = open("/dev/null", O_WRONLY | O_CLOEXEC), p[2];
    long total = 0;
    ssize_t n;
    char buf[65536];

    snprintf(sock, sizeof(sock), "%s/file.sock", dir);
    snprintf(out, sizeof(out), "%s/console.log", dir);
    snprintf(blob, sizeof(blob), "file=%s", out);
    vu_fe_init(&f.fe, -1);
    f.pid = start(exe, sock, blob, -1, o);
    CHECK(setup(&f, sock, cfg) == 0, "file: setup");
    CHECK(cfg[0] == 0 && cfg[2] == 0 && cfg[4] == 1, "file: config (no terminal: 0x0, 1 port)");
    CHECK(transmit(&f, "line for the file\n", 18) == 0, "file: transmit");
    CHECK(wait_file(out, "line for the file\n", 3000), "file: guest output not in the file");
    teardown(&f);

    /* The flood: 160 chains of 8 KiB (1.25 MiB) into a pipe that holds 64 KiB. */
    CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
    memset(&f, 0, sizeof(f));
    snprintf(sock, sizeof(sock), "%s/flood.sock", dir);
    vu_fe_init(&f.fe, -1);
    f.pid = start(exe, sock, "tty", -1, p[1]);
    close(p[1]);
    CHECK(setup(&f, sock, cfg) == 0, "flood: setup");
    memset(blob, 'x', sizeof(blob));
    for (int i = 0; i < 160; i++) {
        int r = transmit(&f, blob, sizeof(blob));

        if (r) {
            CHECK(0, "flood: chain %d not given back (%s): the ring waited on the host", i,
                  strerror(-r));
            break;
        }
        f.mem.brk -= sizeof(blob); /* reuse the buffer */
    }
    CHECK(vu_fe_get_config(&f.fe, 0, cfg, 12) == 0, "flood: consoled stopped answering");
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 100; i++) {
        n = read(p[0], buf, sizeof(buf));
        if (n > 0)
            total += n;
        else
            usleep(10000);
    }
    printf("flood: %d bytes sent, %ld reached the pipe (the rest dropped)\n", 160 * 8192, total);
    CHECK(total > 0 && total < 160 * 8192, "flood: %ld bytes read", total);
    teardown(&f);
    close(p[0]);
    close(o);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: console-fe CONSOLED TMPDIR\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    case_tty(argv[1], argv[2]);
    case_file_and_flood(argv[1], argv[2]);
    if (fails)
        fprintf(stderr, "console-fe: %d check(s) failed\n", fails);
    else
        printf("console-fe: ok (tty config, output, input, hostile chain; file; flood dropped)\n");
    return fails ? 1 : 0;
}
