/* cellvm-blockd driven raw through the ipc/ frontend library, no Linux in between, for what a
 * Linux guest never sends: writes to a read-only disk whose driver did not ack RO, FLUSH on a
 * read-only disk, the sector-0 rules, bad requests; and a second frontend after the first. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

extern char **environ;

#define F_VERSION_1 (1ull << 32)
#define RING_NUM    16

struct fe {
    pid_t pid;
    char dir[64], img[96], sock[96], log[96]; /* log: the daemon's stderr, when captured */
    bool capture;
    struct vu_frontend fe;
    struct vu_gmem mem;
    struct vu_gring ring;
    uint64_t hdr_gpa, data_gpa, status_gpa;
    bool connected;
};

static struct fe t = { .pid = -1 };

static void stop_daemon(void)
{
    if (t.connected) {
        vu_gring_destroy(&t.ring);
        vu_fe_close(&t.fe);
        vu_gmem_destroy(&t.mem);
        t.connected = false;
    }
    if (t.pid > 0) {
        kill(t.pid, SIGTERM);
        waitpid(t.pid, NULL, 0);
    }
    t.pid = -1;
}

static void teardown(void)
{
    stop_daemon();
    unlink(t.sock);
    unlink(t.img);
    if (t.capture)
        unlink(t.log);
    rmdir(t.dir);
}

/* Starts cellvm-blockd on a fresh 1 MiB image in a new directory under base (sparse, or every
 * byte written: byte i of sector s is s + i) with `extra` appended to the disk spec. */
static void start_in(const char *base, bool filled, const char *extra)
{
    const char *exe = getenv("CELLVM_BLOCKD");
    char spec[256];
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    struct stat st;
    FILE *f;

    if (!exe)
        cr_skip_test("CELLVM_BLOCKD not set (run through meson)");
    snprintf(t.dir, sizeof(t.dir), "%s/cellvm-fe-XXXXXX", base);
    cr_assert_not_null(mkdtemp(t.dir));
    snprintf(t.img, sizeof(t.img), "%s/disk.img", t.dir);
    snprintf(t.sock, sizeof(t.sock), "%s/vu.sock", t.dir);
    f = fopen(t.img, "w");
    cr_assert_not_null(f);
    cr_assert_eq(ftruncate(fileno(f), 1 << 20), 0);
    for (unsigned s = 0; filled && s < 2048; s++) {
        uint8_t sec[512];

        for (unsigned i = 0; i < sizeof(sec); i++)
            sec[i] = (uint8_t)(s + i);
        cr_assert_eq(fwrite(sec, 1, sizeof(sec), f), sizeof(sec));
    }
    fclose(f);
    snprintf(spec, sizeof(spec), "path=%s%s", t.img, extra);
    {
        char *argv[] = { (char *)exe, "--socket-path", t.sock, "--disk", spec, NULL };
        posix_spawn_file_actions_t fa;

        posix_spawn_file_actions_init(&fa);
        snprintf(t.log, sizeof(t.log), "%s/stderr.log", t.dir);
        if (t.capture)
            posix_spawn_file_actions_addopen(&fa, 2, t.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        cr_assert_eq(posix_spawn(&t.pid, exe, &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
    }
    for (int i = 0; i < 250 && stat(t.sock, &st) < 0; i++)
        nanosleep(&pause, NULL);
    cr_assert_eq(stat(t.sock, &st), 0, "cellvm-blockd did not create its socket");
}

static void start(const char *extra)
{
    start_in("/var/tmp", false, extra);
}

/* True if the daemon has the image mapped (blockd/imgmap.h). */
static bool image_mapped(void)
{
    char path[64], line[512];
    bool found = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/maps", (int)t.pid);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, t.img) != NULL;
    fclose(f);
    return found;
}

/* Connects, negotiates VERSION_1 only (so not RO even if offered), one 16-entry ring. */
static void connect_fe(uint64_t *offered)
{
    struct vu_fe_region reg;
    struct vu_fe_vring vr;
    uint64_t pf = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK | 1ull << VHOST_USER_PROTOCOL_F_CONFIG |
                  1ull << VHOST_USER_PROTOCOL_F_MQ;

    cr_assert_eq(vu_fe_connect(&t.fe, t.sock), 0);
    cr_assert_eq(vu_fe_negotiate(&t.fe, pf, offered), 0);
    cr_assert_eq(vu_fe_set_features(&t.fe, F_VERSION_1), 0);
    cr_assert_eq(vu_gmem_create(&t.mem, 1 << 20), 0);
    cr_assert_eq(vu_gring_init(&t.ring, &t.mem, RING_NUM, false), 0);
    t.hdr_gpa = vu_gmem_alloc(&t.mem, sizeof(struct virtio_blk_outhdr), 16);
    t.data_gpa = vu_gmem_alloc(&t.mem, 65536, 4096);
    t.status_gpa = vu_gmem_alloc(&t.mem, 1, 1);
    cr_assert_neq(t.status_gpa, UINT64_MAX);
    reg = vu_gmem_region(&t.mem);
    cr_assert_eq(vu_fe_set_mem_table(&t.fe, &reg, 1), 0);
    vr = vu_gring_vring(&t.ring, &t.mem);
    cr_assert_eq(vu_fe_start_vring(&t.fe, 0, &vr), 0);
    t.connected = true;
}

/* One request: header, len bytes of data (driver→device unless `in`), status. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t len, bool in, uint32_t *used)
{
    struct virtio_blk_outhdr *h = vu_gmem_ptr(&t.mem, t.hdr_gpa);
    uint8_t *status = vu_gmem_ptr(&t.mem, t.status_gpa);
    struct vu_gbuf bufs[3];
    unsigned nout = 1, nin = 0, n = 0;
    uint16_t head, got_head;
    uint32_t got_len = 0;
    int r = 0;

    h->type = htole32(type);
    h->ioprio = 0;
    h->sector = htole64(sector);
    *status = 0xee;
    bufs[n++] = (struct vu_gbuf){ t.hdr_gpa, sizeof(*h) };
    if (len) {
        bufs[n++] = (struct vu_gbuf){ t.data_gpa, len };
        if (in)
            nin++;
        else
            nout++;
    }
    bufs[n++] = (struct vu_gbuf){ t.status_gpa, 1 };
    nin++;
    cr_assert_eq(vu_gring_add(&t.ring, bufs, nout, nin, &head), 0);
    vu_gring_kick(&t.ring);
    for (int i = 0; i < 50 && (r = vu_gring_get_used(&t.ring, &got_head, &got_len)) == 0; i++)
        vu_gring_wait(&t.ring, 100);
    cr_assert_eq(r, 1, "no completion within 5 s");
    cr_assert_eq(got_head, head);
    if (used)
        *used = got_len;
    return *status;
}

static uint8_t dwz(uint32_t type, uint64_t sector, uint32_t num)
{
    struct virtio_blk_discard_write_zeroes *seg = vu_gmem_ptr(&t.mem, t.data_gpa);

    seg->sector = htole64(sector);
    seg->num_sectors = htole32(num);
    seg->flags = 0;
    return request(type, 0, sizeof(*seg), false, NULL);
}

TestSuite(frontend, .fini = teardown, .timeout = 30);

Test(frontend, readonly_enforced_without_negotiation)
{
    uint64_t offered;
    uint32_t used;

    start(",readonly=on,image_type=raw");
    connect_fe(&offered);
    cr_assert(offered & (1ull << VIRTIO_BLK_F_RO), "RO offered");
    cr_assert_eq(request(VIRTIO_BLK_T_OUT, 8, 4096, false, NULL), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(request(VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, false, NULL), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 8, 8), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 8, 4096, true, &used), VIRTIO_BLK_S_OK);
    cr_assert_eq(used, 4097);
}

Test(frontend, autodetected_raw_refuses_sector0)
{
    uint64_t offered;

    start("");
    connect_fe(&offered);
    cr_assert_eq(request(VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 0, 8), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(request(VIRTIO_BLK_T_OUT, 1, 512, false, NULL), VIRTIO_BLK_S_OK);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
}

Test(frontend, explicit_raw_allows_sector0_and_round_trips)
{
    uint8_t *data;
    uint64_t offered;
    uint32_t used;

    start(",image_type=raw,serial=fe-serial");
    connect_fe(&offered);
    data = vu_gmem_ptr(&t.mem, t.data_gpa);
    for (unsigned i = 0; i < 4096; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    cr_assert_eq(request(VIRTIO_BLK_T_OUT, 0, 4096, false, NULL), VIRTIO_BLK_S_OK);
    memset(data, 0, 4096);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 0, 4096, true, NULL), VIRTIO_BLK_S_OK);
    for (unsigned i = 0; i < 4096; i++)
        cr_assert_eq(data[i], (uint8_t)(i * 7 + 1));
    cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8), VIRTIO_BLK_S_OK);
    cr_assert_eq(request(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, &used),
                 VIRTIO_BLK_S_OK);
    cr_assert_eq(used, VIRTIO_BLK_ID_BYTES + 1);
    cr_assert_eq(memcmp(data, "fe-serial", 10), 0);
}

Test(frontend, bad_requests_get_error_status)
{
    uint64_t offered;

    start(",image_type=raw");
    connect_fe(&offered);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 2048, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, NULL), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 0, 100, true, NULL), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(request(77, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 2047, 512, true, NULL), VIRTIO_BLK_S_OK);
}

Test(frontend, config_and_next_frontend)
{
    struct virtio_blk_config cfg;
    uint64_t offered;

    start(",image_type=raw,num_queues=2");
    connect_fe(&offered);
    cr_assert_eq(vu_fe_get_config(&t.fe, 0, &cfg, sizeof(cfg)), 0);
    cr_assert_eq(le64toh(cfg.capacity), 2048);
    cr_assert_eq(le16toh(cfg.num_queues), 2);
    cr_assert_eq(request(VIRTIO_BLK_T_OUT, 4, 512, false, NULL), VIRTIO_BLK_S_OK);
    /* The frontend goes away; the daemon serves the next one. */
    vu_gring_destroy(&t.ring);
    vu_fe_close(&t.fe);
    vu_gmem_destroy(&t.mem);
    t.connected = false;
    connect_fe(&offered);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 4, 512, true, NULL), VIRTIO_BLK_S_OK);
}

static void expect_sectors(uint64_t sector, unsigned n, int fill)
{
    const uint8_t *data = vu_gmem_ptr(&t.mem, t.data_gpa);

    cr_assert_eq(request(VIRTIO_BLK_T_IN, sector, n * 512, true, NULL), VIRTIO_BLK_S_OK);
    for (unsigned s = 0; s < n; s++)
        for (unsigned i = 0; i < 512; i++)
            cr_assert_eq(data[s * 512 + i], fill >= 0 ? (uint8_t)fill : (uint8_t)(sector + s + i),
                         "sector %u byte %u", (unsigned)(sector + s), i);
}

/* A tmpfs image is read through a mapping (blockd/imgmap.h): reads see the file, the writes and
 * zeroing that go through the fd, and a file truncated underneath fails the read beyond its new
 * end with IOERR (SIGBUS guard) while the daemon serves on from the fd. */
Test(frontend, memory_fs_image_read_through_its_mapping)
{
    uint8_t *data;
    uint64_t offered;

    t.capture = true;
    start_in("/dev/shm", true, ",image_type=raw");
    connect_fe(&offered);
    cr_assert(image_mapped(), "a filled tmpfs image is mapped");
    expect_sectors(8, 8, -1);
    expect_sectors(2040, 8, -1);
    data = vu_gmem_ptr(&t.mem, t.data_gpa);
    memset(data, 0x5c, 4096);
    cr_assert_eq(request(VIRTIO_BLK_T_OUT, 8, 4096, false, NULL), VIRTIO_BLK_S_OK);
    expect_sectors(8, 8, 0x5c);
    cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 8, 4), VIRTIO_BLK_S_OK);
    expect_sectors(8, 4, 0);
    expect_sectors(12, 4, 0x5c);
    cr_assert_eq(truncate(t.img, 512 << 10), 0);
    cr_assert_eq(request(VIRTIO_BLK_T_IN, 1536, 4096, true, NULL), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(kill(t.pid, 0), 0, "the daemon survived the SIGBUS");
    {
        char buf[4096] = { 0 };
        FILE *f = fopen(t.log, "r");

        cr_assert_not_null(f);
        (void)!fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        cr_assert(strstr(buf, "cellvm-blockd: the disk image shrank under its mapping (SIGBUS)"),
                  "the log line names the image, not guest memory: %s", buf);
    }
    expect_sectors(12, 4, 0x5c);
    expect_sectors(100, 8, -1);
}

Test(frontend, sparse_memory_fs_image_not_mapped)
{
    uint64_t offered;

    start_in("/dev/shm", false, ",image_type=raw");
    connect_fe(&offered);
    cr_assert_not(image_mapped(), "reads must not fill a sparse tmpfs image");
    expect_sectors(8, 8, 0);
}
