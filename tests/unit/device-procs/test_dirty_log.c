/* Dirty logging (issue 18): the log's bit arithmetic, then a backend over a real socketpair
 * with memfd guest memory and an echo device writing through a SET_LOG_BASE log, and hostile
 * SET_LOG_BASE messages the backend refuses while it keeps serving. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device-procs/vu_backend.h"
#include "echo_dev.h"
#include "ipc/dirty_log.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

#define PF                                                                            \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD))
#define GMEM (1u << 20)
#define PG   4096u

/* ---- bit arithmetic ---- */

Test(dirty_log_bits, bytes_cover_whole_words)
{
    cr_assert_eq(dirty_log_bytes(0), 0);
    cr_assert_eq(dirty_log_bytes(1), 8);
    cr_assert_eq(dirty_log_bytes(64 * PG), 8);
    cr_assert_eq(dirty_log_bytes(64 * PG + 1), 16);
    cr_assert_eq(dirty_log_bytes(512ull << 20), (512ull << 20) / PG / 8);
}

Test(dirty_log_bits, single_pages_and_ranges)
{
    uint8_t log[16] = { 0 };

    dirty_log_mark(log, sizeof(log), 5 * PG + 100, 1);
    cr_assert_eq(log[0], 1u << 5);
    dirty_log_mark(log, sizeof(log), 7 * PG + PG - 1, 2); /* straddles pages 7 and 8 */
    cr_assert_eq(log[0], (1u << 5) | (1u << 7));
    cr_assert_eq(log[1], 1u);
    memset(log, 0, sizeof(log));
    dirty_log_mark(log, sizeof(log), 3 * PG, 20 * PG); /* pages 3..22 */
    cr_assert_eq(log[0], 0xf8);
    cr_assert_eq(log[1], 0xff);
    cr_assert_eq(log[2], 0x7f);
    cr_assert_eq(log[3], 0);
    for (uint64_t p = 0; p < 128; p++)
        cr_assert_eq(dirty_log_test(log, sizeof(log), p), p >= 3 && p <= 22, "page %lu", p);
}

Test(dirty_log_bits, bounded_by_the_log)
{
    uint8_t log[9] = { 0 };

    dirty_log_mark(log, 8, 0, 0); /* nothing */
    cr_assert_eq(log[0], 0);
    dirty_log_mark(log, 8, 64 * PG, PG);          /* just past the log */
    dirty_log_mark(log, 8, UINT64_MAX - 10, 100); /* wraps: cut at the top, past the log */
    cr_assert_eq(log[8], 0, "never written beyond size");
    dirty_log_mark(log, 8, 60 * PG, 1ull << 40); /* runs past the end: clipped */
    cr_assert_eq(log[7], 0xf0);
    cr_assert_eq(log[8], 0);
    cr_assert_not(dirty_log_test(log, 8, 64));
    dirty_log_mark(NULL, 8, 0, 1); /* no log: no-op */
}

Test(dirty_log_bits, take_reads_and_clears)
{
    uint64_t words[2] = { 0 };
    uint8_t *log = (uint8_t *)words;

    dirty_log_mark(log, 16, 0, PG);
    dirty_log_mark(log, 16, 63 * PG, PG);
    dirty_log_mark(log, 16, 64 * PG, PG);
    cr_assert_eq(dirty_log_take(log, 0), 1ull | (1ull << 63));
    cr_assert_eq(dirty_log_take(log, 0), 0);
    cr_assert_eq(dirty_log_take(log, 1), 1);
}

/* ---- a backend writing through the log ---- */

static struct echo_dev dev;
static struct vu_backend *b;
static pthread_t thr;
static int bsock = -1;
static struct vu_frontend fe;
static struct vu_gmem gm;
static struct vu_gring ring;
static int logfd = -1;
static uint8_t *logmap;
static uint64_t logsize;

static void *serve(void *arg)
{
    (void)arg;
    while (vu_backend_handle(b, bsock) == 0)
        ;
    shutdown(bsock, SHUT_RDWR);
    vu_backend_disconnect(b);
    return NULL;
}

static int make_log(uint64_t file_size, bool seal)
{
    int fd = memfd_create("test-dirty-log", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    cr_assert(fd >= 0);
    cr_assert_eq(ftruncate(fd, (off_t)file_size), 0);
    if (seal)
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    return fd;
}

static void setup(void)
{
    int sv[2];

    echo_init(&dev);
    b = vu_backend_new(&echo_ops, &dev);
    cr_assert(b);
    cr_assert_eq(vu_gmem_create(&gm, GMEM), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    bsock = sv[1];
    vu_fe_init(&fe, sv[0]);
    cr_assert_eq(pthread_create(&thr, NULL, serve, NULL), 0);
    logsize = dirty_log_bytes(GMEM);
    logfd = make_log(PG, true); /* a page: more than the 32 bytes 1 MiB needs */
    logmap = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, logfd, 0);
    cr_assert(logmap != MAP_FAILED);
}

static void teardown(void)
{
    vu_fe_close(&fe);
    pthread_join(thr, NULL);
    close(bsock);
    vu_gring_destroy(&ring);
    vu_gmem_destroy(&gm);
    vu_backend_free(b);
    munmap(logmap, PG);
    close(logfd);
}

static struct vu_fe_vring start(uint64_t pf)
{
    struct vu_fe_region r = vu_gmem_region(&gm);
    struct vu_fe_vring v;
    uint64_t offered;

    cr_assert_eq(vu_fe_negotiate(&fe, pf, &offered), 0);
    cr_assert_eq(vu_fe_set_features(&fe, offered & ~(1ull << VIRTIO_RING_F_EVENT_IDX)), 0);
    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 8, false), 0);
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
    return v;
}

/* One echo request, its readable buffer on page *out_pg and writable one on *in_pg; then the
 * ring is stopped (GET_VRING_BASE) so the device thread is done with it, and restarted. */
static void echo_page(const char *text, uint64_t *out_pg, uint64_t *in_pg)
{
    uint64_t out = vu_gmem_alloc(&gm, PG, PG), in = vu_gmem_alloc(&gm, PG, PG);
    struct vu_gbuf bufs[2] = { { out, (uint32_t)strlen(text) }, { in, PG } };
    struct vu_fe_vring v = vu_gring_vring(&ring, &gm);
    uint16_t head, h, base;
    uint32_t len;
    int got = 0;

    memcpy(vu_gmem_ptr(&gm, out), text, strlen(text));
    cr_assert_eq(vu_gring_add(&ring, bufs, 1, 1, &head), 0);
    vu_gring_kick(&ring);
    for (int i = 0; i < 300 && !got; i++) {
        got = vu_gring_get_used(&ring, &h, &len) == 1;
        if (!got)
            vu_gring_wait(&ring, 10);
    }
    cr_assert(got, "echo answered");
    cr_assert_eq(len, strlen(text));
    cr_assert_eq(vu_fe_get_vring_base(&fe, 0, &base), 0);
    v.base = base;
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
    *out_pg = out / PG;
    *in_pg = in / PG;
}

static unsigned marked(void)
{
    unsigned n = 0;

    for (uint64_t p = 0; p < GMEM / PG; p++)
        n += dirty_log_test(logmap, logsize, p);
    return n;
}

TestSuite(dirty_log, .init = setup, .fini = teardown, .timeout = 20);

Test(dirty_log, backend_marks_buffers_and_used_ring)
{
    uint64_t used_pg, out_pg, in_pg;

    start(PF);
    used_pg = ring.used_gpa / PG;
    echo_page("before", &out_pg, &in_pg);
    cr_assert_eq(marked(), 0, "no log yet: nothing marked");

    cr_assert_eq(vu_fe_set_log_base(&fe, logfd, logsize, 0), 0);
    cr_assert_eq(vu_fe_set_log_all(&fe, true), 0);
    cr_assert(fe.features & (1ull << VHOST_USER_F_LOG_ALL));
    {
        struct vu_fe_vring v = vu_gring_vring(&ring, &gm);

        cr_assert_eq(vu_fe_set_vring_addr_log(&fe, 0, v.desc_uva, v.avail_uva, v.used_uva, true,
                                              ring.used_gpa),
                     0);
    }
    echo_page("while logging", &out_pg, &in_pg);
    cr_assert(dirty_log_test(logmap, logsize, in_pg), "the written buffer's page");
    cr_assert(dirty_log_test(logmap, logsize, used_pg), "the used ring's page");
    cr_assert_not(dirty_log_test(logmap, logsize, out_pg), "a buffer only read is not marked");
    cr_assert_eq(marked(), 2);

    /* LOG_ALL off stops and restarts the queue (acked): the restarted thread logs nothing,
     * so what the core takes now is all there will be. */
    cr_assert_eq(vu_fe_set_log_all(&fe, false), 0);
    for (uint64_t w = 0; w < logsize / 8; w++)
        (void)dirty_log_take(logmap, w);
    cr_assert_eq(marked(), 0, "read and cleared");
    echo_page("after", &out_pg, &in_pg);
    cr_assert_eq(marked(), 0, "LOG_ALL off: nothing more marked");
}

Test(dirty_log, zero_length_write_marks_only_the_used_ring)
{
    uint64_t out_pg, in_pg;

    fe.log_all = true; /* logging from the first SET_FEATURES, as a ring restarted mid-migration */
    start(PF);
    cr_assert_eq(vu_fe_set_log_base(&fe, logfd, logsize, 0), 0);
    echo_page("", &out_pg, &in_pg);
    cr_assert_not(dirty_log_test(logmap, logsize, in_pg));
    cr_assert(dirty_log_test(logmap, logsize, ring.used_gpa / PG));
}

/* Sends SET_LOG_BASE as given and returns the backend's verdict (0 mapped, 1 refused). */
static uint64_t raw_log_base(uint64_t size, uint64_t off, int fd)
{
    struct vu_msg m;
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds = 0;

    vu_msg_init(&m, VHOST_USER_SET_LOG_BASE, 0, sizeof(m.p.log));
    m.p.log.size = size;
    m.p.log.offset = off;
    cr_assert_eq(vu_msg_send(fe.sock, &m, fd >= 0 ? &fd : NULL, fd >= 0), 0);
    cr_assert_eq(vu_msg_recv(fe.sock, &m, fds, &nfds), 1);
    cr_assert_eq(nfds, 0);
    cr_assert_eq(m.hdr.request, VHOST_USER_SET_LOG_BASE);
    cr_assert_eq(m.hdr.size, 8);
    return m.p.u64;
}

Test(dirty_log, hostile_log_base_refused_backend_serves_on)
{
    int small = make_log(PG, true), unsealed = make_log(4 * PG, false), efd = eventfd(0, 0);
    int pipefd[2];
    uint64_t out_pg, in_pg;

    cr_assert_eq(pipe(pipefd), 0);
    start(PF);
    cr_assert_eq(raw_log_base(2 * PG, 0, small), 1, "larger than its file");
    cr_assert_eq(raw_log_base(PG, 1ull << 62, small), 1, "huge offset");
    cr_assert_eq(raw_log_base(8, UINT64_MAX - 3, small), 1, "offset + size wraps");
    cr_assert_eq(raw_log_base(PG, 100, small), 1, "offset not page-aligned");
    cr_assert_eq(raw_log_base(0, 0, small), 1, "empty");
    cr_assert_eq(raw_log_base(DIRTY_LOG_MAX + 8, 0, small), 1, "above the bound");
    cr_assert_eq(raw_log_base(PG, 0, unsealed), 1, "a memfd that may shrink");
    cr_assert_eq(raw_log_base(PG, 0, efd), 1, "an eventfd is no log");
    cr_assert_eq(raw_log_base(PG, 0, pipefd[0]), 1, "a pipe is no log");
    cr_assert_eq(raw_log_base(PG, 0, -1), 1, "no fd");
    /* Still serving, and none of those became the log. */
    cr_assert_eq(vu_fe_set_log_all(&fe, true), 0);
    echo_page("still here", &out_pg, &in_pg);
    cr_assert_eq(marked(), 0);
    /* A good one replaces nothing bad and works. */
    cr_assert_eq(raw_log_base(logsize, 0, logfd), 0);
    echo_page("logged", &out_pg, &in_pg);
    cr_assert(dirty_log_test(logmap, logsize, in_pg));
    /* A second log replaces the first (the old one unmapped). */
    cr_assert_eq(raw_log_base(PG, 0, small), 0);
    close(small);
    close(unsealed);
    close(efd);
    close(pipefd[0]);
    close(pipefd[1]);
}

Test(dirty_log, log_base_without_log_shmfd_refused)
{
    start(PF & ~(1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD));
    cr_assert_eq(vu_fe_set_log_base(&fe, logfd, logsize, 0), -ENOTSUP, "the frontend knows");
    cr_assert_eq(raw_log_base(logsize, 0, logfd), 1, "the backend refuses it too");
}
