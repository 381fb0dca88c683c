/* Every vhost-user message that carries fds, valid and invalid, and fd-less messages sent with
 * fds attached, many times against the real backend state machine: the process's fd table and
 * mapping count must stay flat. A backend that keeps one fd or one mapping per message runs a
 * long-lived device process out of both. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device-procs/vu_backend.h"
#include "echo_dev.h"
#include "ipc/vhost_user.h"

#define PF                                                                                  \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |       \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) | \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                                  \
     (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |                                       \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))
#define MEM    (1u << 20)
#define UVA    0x7f0000000000ull
#define ROUNDS 40
/* Not in this runtime's table: must be refused, its fd closed. */
#define SET_DEVICE_STATE_FD 42u

static int sv[2] = { -1, -1 };
static struct echo_dev dev;
static struct vu_backend *b;
static int mem_fd = -1; /* the sealed guest memory every valid table uses */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    int n = 0, c;

    cr_assert(f);
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int new_memfd(uint64_t size, bool seal)
{
    int fd = memfd_create("test-fd-churn", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    if (seal)
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    return fd;
}

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    cr_assert_geq(fd, 0);
    return fd;
}

/* Reads every reply waiting, closing any fd one carries (GET_INFLIGHT_FD). */
static void drain_replies(void)
{
    struct pollfd p = { .fd = sv[0], .events = POLLIN };
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds;
    struct vu_msg m;

    while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
        cr_assert_eq(vu_msg_recv(sv[0], &m, fds, &nfds), 1);
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
    }
}

static void negotiate(void)
{
    struct vu_msg m;
    uint64_t v = PF;

    vu_msg_init(&m, VHOST_USER_SET_PROTOCOL_FEATURES, 0, 8);
    m.p.u64 = v;
    cr_assert_eq(vu_msg_send(sv[0], &m, NULL, 0), 0);
    cr_assert_eq(vu_backend_handle(b, sv[1]), 0);
}

/*
 * Sends one request with nfds fds (closed here after sending: the backend holds its own copies
 * now) and lets the backend handle it. A message the backend drops the connection for is
 * followed by what devproc does then: a disconnect, and the next frontend negotiates again.
 */
static void send_msg(uint32_t req, const void *p, uint32_t size, int *fds, size_t nfds)
{
    struct vu_msg m;

    vu_msg_init(&m, req, VHOST_USER_FLAG_NEED_REPLY, size);
    if (size)
        memcpy(&m.p, p, size);
    cr_assert_eq(vu_msg_send(sv[0], &m, fds, nfds), 0);
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    if (vu_backend_handle(b, sv[1]) < 0) {
        vu_backend_disconnect(b);
        negotiate();
    }
    drain_replies();
}

static struct vu_mem_region region(uint64_t gpa, uint64_t size, uint64_t off)
{
    return (struct vu_mem_region){ gpa, size, UVA + gpa, off };
}

static void mem_table(unsigned n, const struct vu_mem_region *r, int *fds, size_t nfds)
{
    struct vu_mem_table t = { .nregions = n };

    memcpy(t.regions, r, n * sizeof(*r));
    send_msg(VHOST_USER_SET_MEM_TABLE, &t, 8 + n * (uint32_t)sizeof(*r), fds, nfds);
}

static void one_reg(uint32_t req, struct vu_mem_region r, int *fds, size_t nfds)
{
    struct vu_mem_single s = { .region = r };

    send_msg(req, &s, sizeof(s), fds, nfds);
}

static void vring_fd(uint32_t req, uint64_t idx, bool with_fd)
{
    int fd = new_eventfd();

    send_msg(req, &idx, 8, &fd, with_fd ? 1 : 0);
    if (!with_fd)
        close(fd);
}

static void inflight(uint32_t req, uint64_t file, uint64_t claim, uint16_t qs, bool seal)
{
    struct vu_inflight in = { .mmap_size = claim, .num_queues = 1, .queue_size = qs };
    int fd = new_memfd(file, seal);

    send_msg(req, &in, sizeof(in), &fd, req == VHOST_USER_SET_INFLIGHT_FD ? 1 : 0);
    if (req != VHOST_USER_SET_INFLIGHT_FD)
        close(fd);
}

/* A running ring: memory, size, addresses (the first pages of the memfd), kick. */
static void run_ring(void)
{
    struct vu_vring_state s = { 0, 8 };
    struct vu_vring_addr a = { .index = 0, .desc = UVA, .avail = UVA + 4096, .used = UVA + 8192 };
    struct vu_mem_region r = region(0, MEM, 0);
    int fd = dup(mem_fd);

    mem_table(1, &r, &fd, 1);
    send_msg(VHOST_USER_SET_VRING_NUM, &s, sizeof(s), NULL, 0);
    send_msg(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    vring_fd(VHOST_USER_SET_VRING_KICK, 0, true);
}

/* One of every kind, valid and invalid. */
static void round_of_messages(void)
{
    struct vu_mem_region two[2] = { region(0, MEM / 2, 0), region(MEM / 4, MEM / 2, 0) };
    struct vu_mem_region r = region(0, MEM, 0), far = region(1ull << 32, 4096, 0);
    int fds[VHOST_USER_MAX_FDS];
    uint64_t u = 0;

    /* 1-3 SET_MEM_TABLE: valid, overlapping regions, more fds than regions. */
    run_ring();
    fds[0] = dup(mem_fd), fds[1] = dup(mem_fd);
    mem_table(2, two, fds, 2);
    fds[0] = dup(mem_fd), fds[1] = new_eventfd(), fds[2] = new_eventfd();
    mem_table(1, &r, fds, 3);
    /* 4-6 ADD_MEM_REG: valid (then REM_MEM_REG), overlapping, an unsealed memfd; 7 with an
       eventfd (cannot be mapped); 8 past the end of its file. */
    run_ring();
    fds[0] = dup(mem_fd);
    one_reg(VHOST_USER_ADD_MEM_REG, far, fds, 1);
    fds[0] = dup(mem_fd);
    one_reg(VHOST_USER_REM_MEM_REG, far, fds, 1); /* REM_MEM_REG with an fd */
    fds[0] = dup(mem_fd);
    one_reg(VHOST_USER_ADD_MEM_REG, region(MEM / 2, MEM, 0), fds, 1);
    fds[0] = new_memfd(4096, false);
    one_reg(VHOST_USER_ADD_MEM_REG, far, fds, 1);
    fds[0] = new_eventfd();
    one_reg(VHOST_USER_ADD_MEM_REG, far, fds, 1);
    fds[0] = dup(mem_fd);
    one_reg(VHOST_USER_ADD_MEM_REG, region(1ull << 32, 4096, MEM), fds, 1);
    fds[0] = new_eventfd(), fds[1] = new_eventfd();
    one_reg(VHOST_USER_ADD_MEM_REG, far, fds, 2);
    one_reg(VHOST_USER_REM_MEM_REG, far, NULL, 0);
    /* 9-10 SET_LOG_BASE and SET_LOG_FD: not offered, fds closed. */
    {
        uint64_t log[2] = { 4096, 0 };

        fds[0] = new_memfd(4096, true);
        send_msg(VHOST_USER_SET_LOG_BASE, log, sizeof(log), fds, 1);
        fds[0] = new_eventfd();
        send_msg(VHOST_USER_SET_LOG_FD, NULL, 0, fds, 1);
    }
    /* 11-13 SET_VRING_KICK/CALL/ERR: valid on a running ring, an index out of range, two fds. */
    run_ring();
    for (uint32_t req = VHOST_USER_SET_VRING_KICK; req <= VHOST_USER_SET_VRING_ERR; req++) {
        vring_fd(req, 0, true);
        vring_fd(req, 1, true);
        vring_fd(req, ECHO_QUEUES + 5, true);
        vring_fd(req, VHOST_USER_VRING_NOFD, true);
        fds[0] = new_eventfd(), fds[1] = new_eventfd();
        send_msg(req, &u, 8, fds, 2);
    }
    /* 14 SET_INFLIGHT_FD: valid, short, unsealed, wrong shape; GET_INFLIGHT_FD replies with
       an fd, and once with an fd attached to the request. Only while every ring is stopped. */
    {
        struct vu_vring_state s = { 0, 0 };

        send_msg(VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL, 0);
    }
    inflight(VHOST_USER_GET_INFLIGHT_FD, 4096, 0, 8, true);
    inflight(VHOST_USER_SET_INFLIGHT_FD, 4096, 4096, 8, true);
    inflight(VHOST_USER_SET_INFLIGHT_FD, 4096, 8256, 512, true);
    inflight(VHOST_USER_SET_INFLIGHT_FD, 4096, 4096, 8, false);
    inflight(VHOST_USER_SET_INFLIGHT_FD, 4096, 4096, 3, true);
    {
        struct vu_inflight in = { .num_queues = 1, .queue_size = 8 };

        fds[0] = new_eventfd();
        send_msg(VHOST_USER_GET_INFLIGHT_FD, &in, sizeof(in), fds, 1);
    }
    /* 15 SET_BACKEND_REQ_FD: replaced while one is held, then with two fds. */
    for (int i = 0; i < 2; i++) {
        int sp[2];

        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
        send_msg(VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sp[1], 1);
        close(sp[0]);
    }
    fds[0] = new_eventfd(), fds[1] = new_eventfd();
    send_msg(VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, fds, 2);
    /* SET_DEVICE_STATE_FD is not implemented: refused, its fd closed. */
    {
        uint64_t st[2] = { 0, 0 };

        fds[0] = new_eventfd();
        send_msg(SET_DEVICE_STATE_FD, st, sizeof(st), fds, 1);
    }
    /* Messages that carry no fd, sent with the most fds a message may carry. */
    {
        static const uint32_t nofd[] = { VHOST_USER_GET_FEATURES, VHOST_USER_SET_OWNER,
                                         VHOST_USER_GET_PROTOCOL_FEATURES, VHOST_USER_GET_QUEUE_NUM,
                                         VHOST_USER_RESET_DEVICE };

        for (size_t k = 0; k < sizeof(nofd) / sizeof(nofd[0]); k++) {
            for (unsigned i = 0; i < VHOST_USER_MAX_FDS; i++)
                fds[i] = new_eventfd();
            send_msg(nofd[k], NULL, 0, fds, VHOST_USER_MAX_FDS);
        }
    }
    run_ring();
    vu_backend_disconnect(b);
    negotiate();
}

static void setup(void)
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    echo_init(&dev);
    b = vu_backend_new(&echo_ops, &dev);
    cr_assert(b);
    mem_fd = new_memfd(MEM, true);
    negotiate();
}

static void teardown(void)
{
    vu_backend_free(b);
    close(mem_fd);
    close(sv[0]);
    close(sv[1]);
}

TestSuite(fd_churn, .init = setup, .fini = teardown, .timeout = 60);

Test(fd_churn, no_fd_or_mapping_grows)
{
    int fds0, maps0, fds1, maps1;

    /* One round first: glibc's thread stack cache and malloc arenas settle. */
    round_of_messages();
    fds0 = count_fds();
    maps0 = count_maps();
    for (int i = 0; i < ROUNDS; i++)
        round_of_messages();
    fds1 = count_fds();
    maps1 = count_maps();
    cr_assert_eq(fds1, fds0, "fds: %d after one round, %d after %d more", fds0, fds1, ROUNDS);
    cr_assert_eq(maps1, maps0, "mappings: %d after one round, %d after %d more", maps0, maps1,
                 ROUNDS);
}

Test(fd_churn, disconnect_releases_everything)
{
    int fds0 = count_fds(), maps0 = count_maps();

    round_of_messages();
    run_ring();
    inflight(VHOST_USER_GET_INFLIGHT_FD, 4096, 0, 8, true);
    vu_backend_disconnect(b);
    cr_assert_eq(count_fds(), fds0);
    cr_assert_leq(count_maps(), maps0 + 4, "thread stacks kept by glibc at most");
}
