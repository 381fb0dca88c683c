/*
 * VIRTIO_F_ACCESS_PLATFORM with the real cellvm-blockd and cellvm-rngd over their sockets: rings
 * and buffers given by IOVA through IOTLB updates, a block read landing in a buffer whose two
 * pages are non-adjacent guest pages, and the ring breaking (logged) on a buffer the device may
 * not write.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

extern char **environ;

#define PF                                                                            \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ))
#define AP        (1ull << VIRTIO_F_ACCESS_PLATFORM)
#define RING_IOVA 0x40000000ull
#define BUF_IOVA  0x700000000ull

static char dir[64], sock[128], log_path[128];
static pid_t pid = -1;
static struct vu_frontend fe;
static bool connected;
static struct vu_gmem gm;
static struct vu_gring ring;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cellvm-iotlb-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/vu.sock", dir);
    snprintf(log_path, sizeof(log_path), "%s/d.log", dir);
    cr_assert_eq(vu_gmem_create(&gm, 1 << 20), 0);
}

static void teardown(void)
{
    char cmd[128];

    if (connected)
        vu_fe_close(&fe);
    connected = false;
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    pid = -1;
    vu_gring_destroy(&ring);
    vu_gmem_destroy(&gm);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)!system(cmd);
}

TestSuite(daemon_iotlb, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t uva(uint64_t gpa)
{
    return (uint64_t)(uintptr_t)gm.base + gpa;
}

/* Starts exe --socket-path --<opt> spec, connects, acks ACCESS_PLATFORM on top of `features`,
 * maps memory and starts queue 0 by IOVA. */
static void start(const char *env, const char *opt, const char *spec, uint64_t features)
{
    const char *exe = getenv(env);
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    posix_spawn_file_actions_t fa;
    char *argv[] = { (char *)exe, "--socket-path", sock, (char *)opt, (char *)spec, NULL };
    struct vu_fe_region r = vu_gmem_region(&gm);
    struct vu_fe_vring v;
    uint64_t offered, lo, hi;
    int rc = -1;

    if (!exe)
        cr_skip_test("%s not set (run through meson)", env);
    cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
    cr_assert_eq(
        posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    cr_assert_eq(posix_spawn(&pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 500 && rc; i++) {
        rc = vu_fe_connect(&fe, sock);
        if (rc)
            nanosleep(&pause, NULL);
    }
    cr_assert_eq(rc, 0, "%s did not come up: %s", exe, strerror(-rc));
    connected = true;
    cr_assert_eq(vu_fe_negotiate(&fe, PF, &offered), 0);
    cr_assert(vu_fe_has_access_platform(&fe), "%s offers ACCESS_PLATFORM with what it needs", exe);
    cr_assert_eq(vu_fe_set_features(&fe, (features & offered) | AP), 0);
    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 16, false), 0);
    lo = ring.desc_gpa & ~0xfffull;
    hi = (ring.used_gpa + 6 + 8 * ring.num + 0xfff) & ~0xfffull;
    cr_assert_eq(vu_fe_iotlb_update(&fe, RING_IOVA + lo, hi - lo, uva(lo), VHOST_USER_ACCESS_RW),
                 0);
    v = vu_gring_vring(&ring, &gm);
    v.desc_uva = RING_IOVA + ring.desc_gpa;
    v.avail_uva = RING_IOVA + ring.avail_gpa;
    v.used_uva = RING_IOVA + ring.used_gpa;
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
}

/* A page-aligned run of guest memory, mapped at iova (perm) page by page in the given order of
 * guest pages when perm is nonzero. Returns the gpa of its first page. */
static uint64_t pages(unsigned n)
{
    uint64_t gpa = vu_gmem_alloc(&gm, 4096ull * n, 4096);

    cr_assert_neq(gpa, UINT64_MAX);
    return gpa;
}

static void map(uint64_t iova, uint64_t gpa, uint64_t len, uint8_t perm)
{
    cr_assert_eq(vu_fe_iotlb_update(&fe, iova, len, uva(gpa), perm), 0);
}

/* The used length of the chain published last, or -1 after timeout_ms. */
static int wait_used(int timeout_ms)
{
    uint16_t h;
    uint32_t len;

    vu_gring_kick(&ring);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (vu_gring_get_used(&ring, &h, &len) == 1)
            return (int)len;
        vu_gring_wait(&ring, 10);
    }
    return -1;
}

static bool log_has(const char *s)
{
    char buf[8192];
    FILE *f = fopen(log_path, "r");
    size_t n;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, s) != NULL;
}

static bool wait_log(const char *s)
{
    struct timespec pause = { 0, 20 * 1000 * 1000 };

    for (int i = 0; i < 150; i++) {
        if (log_has(s))
            return true;
        nanosleep(&pause, NULL);
    }
    return false;
}

Test(daemon_iotlb, blockd_reads_into_an_iova_buffer_on_scattered_pages)
{
    char img[128], spec[160];
    uint8_t pattern[8192];
    struct virtio_blk_outhdr *hdr;
    uint64_t hdr_gpa, data_gpa, st_gpa;
    uint16_t head;
    FILE *f;

    snprintf(img, sizeof(img), "%s/disk.raw", dir);
    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 7 + i / 512);
    f = fopen(img, "w");
    cr_assert(f);
    cr_assert_eq(fwrite(pattern, 1, sizeof(pattern), f), sizeof(pattern));
    cr_assert_eq(ftruncate(fileno(f), 1 << 20), 0);
    fclose(f);
    snprintf(spec, sizeof(spec), "path=%s", img);
    start("CELLVM_BLOCKD", "--disk", spec, 1ull << VIRTIO_F_VERSION_1);

    hdr_gpa = pages(1);
    st_gpa = hdr_gpa + 512;
    data_gpa = pages(3); /* the data's halves go on its pages 2 and 0: not adjacent */
    map(BUF_IOVA, hdr_gpa, 4096, VHOST_USER_ACCESS_RW);
    map(BUF_IOVA + 0x10000, data_gpa + 0x2000, 4096, VHOST_USER_ACCESS_WO);
    map(BUF_IOVA + 0x11000, data_gpa, 4096, VHOST_USER_ACCESS_WO);
    hdr = vu_gmem_ptr(&gm, hdr_gpa);
    *hdr = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN, .sector = 0 };
    *(uint8_t *)vu_gmem_ptr(&gm, st_gpa) = 0xff;
    {
        struct vu_gbuf b[3] = { { BUF_IOVA, sizeof(*hdr) },
                                { BUF_IOVA + 0x10000, 8192 },
                                { BUF_IOVA + 512, 1 } };

        cr_assert_eq(vu_gring_add(&ring, b, 1, 2, &head), 0);
    }
    cr_assert_eq(wait_used(5000), 8193);
    cr_assert_eq(*(uint8_t *)vu_gmem_ptr(&gm, st_gpa), VIRTIO_BLK_S_OK);
    cr_assert_eq(memcmp(vu_gmem_ptr(&gm, data_gpa + 0x2000), pattern, 4096), 0);
    cr_assert_eq(memcmp(vu_gmem_ptr(&gm, data_gpa), pattern + 4096, 4096), 0);

    /* Unmapped (acked), the same buffer breaks the ring instead of being written. */
    cr_assert_eq(vu_fe_iotlb_invalidate(&fe, BUF_IOVA + 0x11000, 4096), 0);
    memset(vu_gmem_ptr(&gm, data_gpa), 0, 4096);
    {
        struct vu_gbuf b[3] = { { BUF_IOVA, sizeof(*hdr) },
                                { BUF_IOVA + 0x10000, 8192 },
                                { BUF_IOVA + 512, 1 } };

        cr_assert_eq(vu_gring_add(&ring, b, 1, 2, &head), 0);
    }
    cr_assert_eq(wait_used(300), -1);
    cr_assert(wait_log("broken (Bad address)"), "the daemon says why");
    cr_assert_eq(*(uint8_t *)vu_gmem_ptr(&gm, data_gpa), 0, "nothing written there");
}

Test(daemon_iotlb, rngd_fills_an_iova_buffer_and_refuses_a_read_only_one)
{
    uint64_t a = pages(1), b = pages(1);
    uint8_t zero[64] = { 0 };
    uint16_t head;

    start("CELLVM_RNGD", "--rng", "src=/dev/urandom", 1ull << VIRTIO_F_VERSION_1);
    map(BUF_IOVA, a, 4096, VHOST_USER_ACCESS_WO);
    map(BUF_IOVA + 0x1000, b, 4096, VHOST_USER_ACCESS_RO);
    {
        struct vu_gbuf buf = { BUF_IOVA, 64 };

        cr_assert_eq(vu_gring_add(&ring, &buf, 0, 1, &head), 0);
    }
    cr_assert_eq(wait_used(5000), 64);
    cr_assert_neq(memcmp(vu_gmem_ptr(&gm, a), zero, 64), 0, "random bytes arrived");
    {
        struct vu_gbuf buf = { BUF_IOVA + 0x1000, 64 };

        cr_assert_eq(vu_gring_add(&ring, &buf, 0, 1, &head), 0);
    }
    cr_assert_eq(wait_used(300), -1);
    cr_assert(wait_log("broken (Bad address)"), "the daemon says why");
    cr_assert_eq(memcmp(vu_gmem_ptr(&gm, b), zero, 64), 0, "a read-only page stays untouched");
}
