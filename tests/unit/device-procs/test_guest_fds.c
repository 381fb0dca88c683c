/* Files a frontend hands the backend that are not what they claim: an inflight buffer shorter
 * than its message says, memfds a frontend could still shrink, and a regular file truncated
 * under a live backend. The backend must refuse what it can check and survive the rest. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device-procs/vu_backend.h"
#include "echo_dev.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

#define PF                                                                            \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                            \
     (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |                                 \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))
#define GM_SIZE   (1u << 20)
#define FILE_GPA  (1ull << 24)
#define FILE_UVA  (1ull << 40) /* never dereferenced by the test: only ring addresses are */
#define FILE_SIZE (64u << 10)

static struct echo_dev dev;
static struct vu_backend *b;
static pthread_t thr;
static int bsock = -1;
static struct vu_frontend fe;
static struct vu_gmem gm;
static struct vu_gring ring;

static void *serve(void *arg)
{
    (void)arg;
    while (vu_backend_handle(b, bsock) == 0)
        ;
    shutdown(bsock, SHUT_RDWR);
    vu_backend_disconnect(b);
    return NULL;
}

static void setup(void)
{
    uint64_t offered;
    int sv[2];

    echo_init(&dev);
    b = vu_backend_new(&echo_ops, &dev);
    cr_assert(b);
    cr_assert_eq(vu_gmem_create(&gm, GM_SIZE), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    bsock = sv[1];
    vu_fe_init(&fe, sv[0]);
    cr_assert_eq(pthread_create(&thr, NULL, serve, NULL), 0);
    cr_assert_eq(vu_fe_negotiate(&fe, PF, &offered), 0);
    cr_assert_eq(vu_fe_set_features(&fe, offered), 0);
}

static void teardown(void)
{
    vu_fe_close(&fe);
    pthread_join(thr, NULL);
    close(bsock);
    vu_gring_destroy(&ring);
    vu_gmem_destroy(&gm);
    vu_backend_free(b);
}

TestSuite(guest_fds, .init = setup, .fini = teardown, .timeout = 20);

static int memfd(uint64_t size, unsigned seals)
{
    int fd = memfd_create("test-guest-fds", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    if (seals)
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
    return fd;
}

static void start_ring(uint16_t num)
{
    struct vu_fe_region r = vu_gmem_region(&gm);
    struct vu_fe_vring v;

    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, num, true), 0);
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
}

/* Puts one out/in pair on the ring and waits for it; the used length, or -1. */
static int request(uint64_t out, uint64_t in, uint32_t len)
{
    struct vu_gbuf bufs[2] = { { out, len }, { in, len } };
    uint16_t head, h;
    uint32_t got;

    cr_assert_eq(vu_gring_add(&ring, bufs, 1, 1, &head), 0);
    vu_gring_want_interrupt(&ring);
    vu_gring_kick(&ring);
    for (int waited = 0; waited < 3000; waited += 10) {
        if (vu_gring_get_used(&ring, &h, &got) == 1) {
            cr_assert_eq(h, head);
            return (int)got;
        }
        vu_gring_wait(&ring, 10);
    }
    return -1;
}

static int echo_in_gm(const char *text)
{
    uint64_t out = vu_gmem_alloc(&gm, 64, 8), in = vu_gmem_alloc(&gm, 64, 8);

    memcpy(vu_gmem_ptr(&gm, out), text, strlen(text));
    memset(vu_gmem_ptr(&gm, in), 0, 64);
    if (request(out, in, (uint32_t)strlen(text)) != (int)strlen(text))
        return -1;
    return memcmp(vu_gmem_ptr(&gm, in), text, strlen(text)) == 0 ? 0 : -1;
}

/* A raw SET_INFLIGHT_FD with NEED_REPLY; the backend's answer (0 ok, 1 refused). */
static uint64_t set_inflight_raw(int fd, uint64_t mmap_size, uint64_t mmap_offset, uint16_t qs)
{
    int rfds[VHOST_USER_MAX_FDS];
    size_t nr;
    struct vu_msg m;

    vu_msg_init(&m, VHOST_USER_SET_INFLIGHT_FD, VHOST_USER_FLAG_NEED_REPLY, sizeof(m.p.inflight));
    memset(&m.p.inflight, 0, sizeof(m.p.inflight));
    m.p.inflight.mmap_size = mmap_size;
    m.p.inflight.mmap_offset = mmap_offset;
    m.p.inflight.num_queues = 1;
    m.p.inflight.queue_size = qs;
    cr_assert_eq(vu_msg_send(fe.sock, &m, &fd, 1), 0);
    cr_assert_eq(vu_msg_recv(fe.sock, &m, rfds, &nr), 1);
    cr_assert_eq(nr, 0);
    cr_assert_eq(m.hdr.request, VHOST_USER_SET_INFLIGHT_FD);
    return m.p.u64;
}

Test(guest_fds, inflight_fd_shorter_than_its_message_refused)
{
    /* 512 entries need 8256 bytes; the file has one page. Mapped as claimed, the first
       inflight access past the page would SIGBUS the backend. */
    int fd = memfd(4096, F_SEAL_SHRINK | F_SEAL_GROW);

    cr_assert_eq(vu_fe_set_inflight_fd(&fe, 1, 512, fd, 8256), -EIO);
    cr_assert_eq(set_inflight_raw(fd, 8256, 0, 512), 1);
    cr_assert_eq(set_inflight_raw(fd, 4096, 0, 512), 1, "mmap_size below what 512 entries need");
    close(fd);
    /* The ring starts without an inflight buffer, and serves. */
    start_ring(512);
    cr_assert_eq(echo_in_gm("still alive"), 0);
}

Test(guest_fds, inflight_offset_overflow_refused)
{
    int fd = memfd(3 * 4096, F_SEAL_SHRINK | F_SEAL_GROW);

    cr_assert_eq(set_inflight_raw(fd, 8256, UINT64_MAX - 4095, 512), 1);
    cr_assert_eq(set_inflight_raw(fd, 8256, (uint64_t)INT64_MAX - 4095, 512), 1);
    cr_assert_eq(set_inflight_raw(fd, 8256, 4096, 512), 1, "the file ends inside the range");
    cr_assert_eq(set_inflight_raw(fd, 8256, 0, 512), 0, "the same file at offset 0 fits");
    close(fd);
}

Test(guest_fds, unsealed_memfds_refused)
{
    int open_fd = memfd(GM_SIZE, 0), sealed = memfd(GM_SIZE, F_SEAL_SHRINK);
    int nosealing = memfd_create("test-guest-fds", MFD_CLOEXEC);
    struct vu_fe_region r = { .gpa = 0, .size = GM_SIZE, .uva = 1ull << 30, .fd = open_fd };

    cr_assert_geq(nosealing, 0);
    cr_assert_eq(ftruncate(nosealing, GM_SIZE), 0);
    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), -EIO, "a memfd the frontend can shrink");
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &r), -EIO);
    /* One that can never be sealed is indistinguishable from a /dev/shm file (QEMU's
       memory-backend-file): taken, and guarded like any regular file. */
    r.fd = nosealing;
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &r), 0, "a memfd that cannot be sealed at all");
    cr_assert_eq(vu_fe_rem_mem_reg(&fe, &r), 0);
    r.fd = sealed;
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &r), 0, "sealed against shrinking: accepted");
    cr_assert_eq(vu_fe_rem_mem_reg(&fe, &r), 0);
    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), 0);
    /* The inflight buffer is a memfd too: the same rule. */
    cr_assert_eq(set_inflight_raw(open_fd, GM_SIZE, 0, 8), 1);
    cr_assert_eq(set_inflight_raw(sealed, GM_SIZE, 0, 8), 0);
    close(open_fd);
    close(sealed);
    close(nosealing);
}

static void truncated_under_a_live_backend(int fd)
{
    struct vu_fe_region r[2];
    int got;

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, FILE_SIZE), 0);
    r[0] = vu_gmem_region(&gm);
    r[1] = (struct vu_fe_region){ .gpa = FILE_GPA, .size = FILE_SIZE, .uva = FILE_UVA, .fd = fd };
    cr_assert_eq(vu_fe_set_mem_table(&fe, r, 2), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 8, true), 0);
    {
        struct vu_fe_vring v = vu_gring_vring(&ring, &gm);

        cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
    }
    cr_assert_eq(request(FILE_GPA, FILE_GPA + 8192, 16), 16, "the file region serves");
    cr_assert_eq(ftruncate(fd, 0), 0);
    /* The backend now reads and writes pages that no longer exist. */
    got = request(FILE_GPA + 4096, FILE_GPA + 12288, 16);
    cr_assert_eq(got, 16, "the element in hand completes (on zero pages)");
    for (int waited = 0; waited < 2000 && dev.broken_err == 0; waited += 10)
        usleep(10000);
    cr_assert_eq(dev.broken_err, -EFAULT, "the device is told its memory is gone");
    cr_assert_eq(request(FILE_GPA, FILE_GPA + 8192, 16), -1, "and stops using it");
    close(fd);
}

/* QEMU's memory-backend-file: a plain file a frontend can truncate at any time. */
Test(guest_fds, regular_file_truncated_under_a_live_backend)
{
    truncated_under_a_live_backend(open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
}

/* The same on shmem (a /dev/shm file, a memfd that cannot be sealed): F_GET_SEALS answers, but
   the file can still shrink. */
Test(guest_fds, unsealable_memfd_truncated_under_a_live_backend)
{
    truncated_under_a_live_backend(memfd_create("test-guest-fds", MFD_CLOEXEC));
}
