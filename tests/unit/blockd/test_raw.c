/* The raw backend on a real io_uring built as the queue threads build it (disabled, fixed files,
 * restricted opcodes): data round trips, flush, discard and write-zeroes on disk and on tmpfs,
 * O_DIRECT with unaligned guest buffers, sparse=off preallocation, and the restrictions. */
#include <criterion/criterion.h>
#include <endian.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockd/blk.h"
#include "blockd/raw.h"
#include "blockd/uring_sys.h"

#define IMG_SIZE (4u << 20)

struct fake {
    struct virtq_elem elem;
    struct virtio_blk_outhdr hdr;
    uint8_t status;
};

static char path[64];
static struct raw_image img = { .fd = -1 };
static struct io_uring ring;
static bool ring_up;
static struct blk_disk disk;
static struct fake *fk;
static struct blk_req req;

static void make_image(const char *dir, bool direct, bool sparse)
{
    int fd;

    snprintf(path, sizeof(path), "%s/cellvm-raw-XXXXXX", dir);
    fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(ftruncate(fd, IMG_SIZE), 0);
    close(fd);
    cr_assert_eq(raw_open(&img, path, false, direct), 0);
    cr_assert_eq(raw_prepare(&img, false, sparse), 0);
    memset(&disk, 0, sizeof(disk));
    disk.size = img.size;
    disk.sparse = sparse;
    disk.queue_size = 128;
    disk.num_queues = 1;
    atomic_store(&disk.writeback, true);
    blk_disk_init(&disk);
    cr_assert_eq(blk_uring_create(&ring, 64, &img.fd, 1, raw_uring_ops, raw_uring_nops), 0);
    ring_up = true;
    fk = calloc(1, sizeof(*fk));
    cr_assert(fk);
}

static void teardown(void)
{
    if (ring_up)
        io_uring_queue_exit(&ring);
    ring_up = false;
    raw_close(&img);
    if (path[0])
        unlink(path);
    path[0] = 0;
    free(fk);
    fk = NULL;
}

static void on_disk(void)
{
    make_image("/var/tmp", false, true);
}

TestSuite(raw, .init = on_disk, .fini = teardown);

static void elem_reset(void)
{
    memset(&fk->elem, 0, sizeof(fk->elem));
}

static void add(void *base, size_t len, bool writable)
{
    struct virtq_elem *e = &fk->elem;

    e->iov[e->out_num + e->in_num].iov_base = base;
    e->iov[e->out_num + e->in_num].iov_len = len;
    if (writable)
        e->in_num++;
    else
        e->out_num++;
}

/* Runs the request in fk->elem through prepare, submit and completions; returns the status. */
static uint8_t execute(void)
{
    struct io_uring_cqe *cqe;
    struct blk_req *done = NULL;

    blk_req_prepare(&disk, &fk->elem, &req);
    if (req.op == BLK_OP_DONE)
        return req.result;
    cr_assert_eq(raw_submit(&ring, &img, &req), 0);
    while (!done) {
        cr_assert_geq(io_uring_submit_and_wait(&ring, 1), 0);
        cr_assert_eq(io_uring_peek_cqe(&ring, &cqe), 0);
        cr_assert_not_null(io_uring_cqe_get_data(cqe));
        done = raw_complete(&ring, &img, io_uring_cqe_get_data(cqe), cqe->res);
        io_uring_cqe_seen(&ring, cqe);
    }
    cr_assert_eq(done, &req);
    return req.result;
}

static uint8_t rw(uint32_t type, uint64_t sector, void *buf, size_t len)
{
    elem_reset();
    fk->hdr.type = htole32(type);
    fk->hdr.sector = htole64(sector);
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(buf, len, type == VIRTIO_BLK_T_IN);
    add(&fk->status, 1, true);
    return execute();
}

static uint8_t dwz(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
    struct virtio_blk_discard_write_zeroes seg = { .sector = htole64(sector),
                                                   .num_sectors = htole32(num),
                                                   .flags = htole32(flags) };

    elem_reset();
    fk->hdr.type = htole32(type);
    fk->hdr.sector = 0;
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(&seg, sizeof(seg), false);
    add(&fk->status, 1, true);
    return execute();
}

static uint64_t blocks(void)
{
    struct stat st;

    cr_assert_eq(fstat(img.fd, &st), 0);
    return (uint64_t)st.st_blocks * 512;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

Test(raw, write_read_flush_round_trip)
{
    static uint8_t w[65536], r[65536];

    fill(w, sizeof(w), 7);
    cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 100, w, sizeof(w)), VIRTIO_BLK_S_OK);
    cr_assert_eq(rw(VIRTIO_BLK_T_IN, 100, r, sizeof(r)), VIRTIO_BLK_S_OK);
    cr_assert_eq(memcmp(w, r, sizeof(w)), 0);
    elem_reset();
    fk->hdr.type = htole32(VIRTIO_BLK_T_FLUSH);
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(&fk->status, 1, true);
    cr_assert_eq(execute(), VIRTIO_BLK_S_OK);
    /* And the file itself holds the data where the sector says. */
    cr_assert_eq(pread(img.fd, r, sizeof(r), 100 * 512), (ssize_t)sizeof(r));
    cr_assert_eq(memcmp(w, r, sizeof(w)), 0);
}

Test(raw, scattered_buffers)
{
    static uint8_t a[1536], b[512], back[2048];

    fill(a, sizeof(a), 1);
    fill(b, sizeof(b), 2);
    elem_reset();
    fk->hdr.type = htole32(VIRTIO_BLK_T_OUT);
    fk->hdr.sector = htole64(9);
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(a, sizeof(a), false);
    add(b, sizeof(b), false);
    add(&fk->status, 1, true);
    cr_assert_eq(execute(), VIRTIO_BLK_S_OK);
    cr_assert_eq(pread(img.fd, back, sizeof(back), 9 * 512), (ssize_t)sizeof(back));
    cr_assert_eq(memcmp(back, a, sizeof(a)), 0);
    cr_assert_eq(memcmp(back + sizeof(a), b, sizeof(b)), 0);
}

/* The longest chain an element holds (VIRTQ_MAX_SEGS iovecs) with the header sharing the first
   data buffer and the status the last: 1023 data iovecs in one readv/writev, within io_uring's
   UIO_MAXIOV. A longer chain never reaches the backend (virtq_pop: -E2BIG). */
Test(raw, longest_chain_is_one_io)
{
    const unsigned n = VIRTQ_MAX_SEGS - 1;
    uint8_t *buf = calloc(n + 1, 512), *back = malloc((size_t)n * 512);

    cr_assert(buf && back);
    elem_reset();
    fk->hdr.type = htole32(VIRTIO_BLK_T_OUT);
    fk->hdr.sector = htole64(16);
    memcpy(buf, &fk->hdr, sizeof(fk->hdr));
    fill(buf + sizeof(fk->hdr), (size_t)n * 512, 5);
    add(buf, sizeof(fk->hdr) + 512, false);
    for (unsigned i = 1; i < n; i++)
        add(buf + sizeof(fk->hdr) + (size_t)i * 512, 512, false);
    add(&fk->status, 1, true);
    cr_assert_eq(fk->elem.out_num + fk->elem.in_num, VIRTQ_MAX_SEGS);
    cr_assert_eq(execute(), VIRTIO_BLK_S_OK);
    cr_assert_eq(req.niov, n);
    cr_assert_eq(pread(img.fd, back, (size_t)n * 512, 16 * 512), (ssize_t)n * 512);
    cr_assert_eq(memcmp(back, buf + sizeof(fk->hdr), (size_t)n * 512), 0);
    /* Read it back the other way: header alone, status inside the last data buffer. */
    elem_reset();
    memset(buf, 0, (size_t)(n + 1) * 512);
    fk->hdr.type = htole32(VIRTIO_BLK_T_IN);
    add(&fk->hdr, sizeof(fk->hdr), false);
    for (unsigned i = 0; i + 1 < n; i++)
        add(buf + (size_t)i * 512, 512, true);
    add(buf + (size_t)(n - 1) * 512, 513, true);
    cr_assert_eq(fk->elem.out_num + fk->elem.in_num, VIRTQ_MAX_SEGS);
    cr_assert_eq(execute(), VIRTIO_BLK_S_OK);
    cr_assert_eq(req.niov, n);
    cr_assert_eq(memcmp(back, buf, (size_t)n * 512), 0);
    free(buf);
    free(back);
}

Test(raw, discard_punches_a_hole)
{
    static uint8_t w[1 << 20], r[1 << 20];
    uint64_t before;

    fill(w, sizeof(w), 3);
    cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 2048, w, sizeof(w)), VIRTIO_BLK_S_OK);
    cr_assert_eq(fsync(img.fd), 0);
    before = blocks();
    cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 2048, 2048, 0), VIRTIO_BLK_S_OK);
    cr_assert_eq(rw(VIRTIO_BLK_T_IN, 2048, r, sizeof(r)), VIRTIO_BLK_S_OK);
    cr_assert(all_zero(r, sizeof(r)));
    cr_assert_leq(blocks() + (1u << 20), before, "%llu -> %llu", (unsigned long long)before,
                  (unsigned long long)blocks());
}

Test(raw, write_zeroes_zeroes)
{
    static uint8_t w[8192], r[8192];

    fill(w, sizeof(w), 5);
    cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 64, w, sizeof(w)), VIRTIO_BLK_S_OK);
    cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 65, 8, 0), VIRTIO_BLK_S_OK);
    cr_assert_eq(rw(VIRTIO_BLK_T_IN, 64, r, sizeof(r)), VIRTIO_BLK_S_OK);
    cr_assert_eq(memcmp(r, w, 512), 0, "sector 64 untouched");
    cr_assert(all_zero(r + 512, 4096));
    cr_assert_eq(memcmp(r + 4608, w + 4608, sizeof(w) - 4608), 0, "after the range untouched");
}

static void on_shm_dense(void)
{
    make_image("/dev/shm", false, false);
}

Test(raw, tmpfs_dense_write_zeroes_keeps_blocks, .init = on_shm_dense, .fini = teardown)
{
    static uint8_t w[1 << 20], r[1 << 20];

    cr_assert_not(img.zero_range, "tmpfs has no ZERO_RANGE: the fallback is what is tested");
    cr_assert_geq(blocks(), IMG_SIZE, "sparse=off preallocates");
    fill(w, sizeof(w), 9);
    cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 0, w, sizeof(w)), VIRTIO_BLK_S_OK);
    cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, 2048, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
                 VIRTIO_BLK_S_OK);
    cr_assert_eq(rw(VIRTIO_BLK_T_IN, 0, r, sizeof(r)), VIRTIO_BLK_S_OK);
    cr_assert(all_zero(r, sizeof(r)));
    cr_assert_geq(blocks(), IMG_SIZE, "sparse=off never frees");
}

static void on_disk_direct(void)
{
    make_image("/var/tmp", true, true);
}

Test(raw, direct_with_unaligned_buffers_bounces, .init = on_disk_direct, .fini = teardown)
{
    uint8_t *w = malloc(8192 + 1), *r = malloc(8192 + 1);

    cr_assert(w && r);
    /* Buffers one byte off any alignment: O_DIRECT would refuse them. */
    fill(w + 1, 8192, 11);
    cr_assert_eq(rw(VIRTIO_BLK_T_OUT, 40, w + 1, 8192), VIRTIO_BLK_S_OK);
    memset(r, 0, 8193);
    cr_assert_eq(rw(VIRTIO_BLK_T_IN, 40, r + 1, 8192), VIRTIO_BLK_S_OK);
    cr_assert_eq(memcmp(w + 1, r + 1, 8192), 0);
    cr_assert_null(req.bounce, "bounce buffer freed");
    free(w);
    free(r);
}

Test(raw, ring_refuses_other_opcodes_and_plain_fds)
{
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    static uint8_t buf[512];

    /* NOP is not on the list. */
    sqe = io_uring_get_sqe(&ring);
    cr_assert_not_null(sqe);
    io_uring_prep_nop(sqe);
    sqe->flags |= IOSQE_FIXED_FILE;
    cr_assert_geq(io_uring_submit_and_wait(&ring, 1), 0);
    cr_assert_eq(io_uring_peek_cqe(&ring, &cqe), 0);
    cr_assert_eq(cqe->res, -EACCES);
    io_uring_cqe_seen(&ring, cqe);

    /* An allowed opcode on a plain (not fixed) fd. */
    sqe = io_uring_get_sqe(&ring);
    cr_assert_not_null(sqe);
    io_uring_prep_read(sqe, img.fd, buf, sizeof(buf), 0);
    cr_assert_geq(io_uring_submit_and_wait(&ring, 1), 0);
    cr_assert_eq(io_uring_peek_cqe(&ring, &cqe), 0);
    cr_assert_eq(cqe->res, -EACCES);
    io_uring_cqe_seen(&ring, cqe);

    /* No register operation once the ring runs. */
    cr_assert_lt(io_uring_register_files(&ring, &img.fd, 1), 0);
}

Test(raw, detect_formats)
{
    enum raw_format f;
    static const uint8_t qcow[4] = { 'Q', 'F', 'I', 0xfb };
    uint8_t footer[512] = "conectix";

    cr_assert_eq(raw_detect(&img, &f), 0);
    cr_assert_eq(f, RAW_FORMAT_RAW);
    cr_assert_eq(pwrite(img.fd, qcow, 4, 0), 4);
    cr_assert_eq(raw_detect(&img, &f), 0);
    cr_assert_eq(f, RAW_FORMAT_QCOW2);
    cr_assert_eq(pwrite(img.fd, "vhdxfile", 8, 0), 8);
    cr_assert_eq(raw_detect(&img, &f), 0);
    cr_assert_eq(f, RAW_FORMAT_VHDX);
    cr_assert_eq(pwrite(img.fd, "\0\0\0\0\0\0\0\0", 8, 0), 8);
    cr_assert_eq(pwrite(img.fd, footer, 512, IMG_SIZE - 512), 512);
    cr_assert_eq(raw_detect(&img, &f), 0);
    cr_assert_eq(f, RAW_FORMAT_VHD);
}

/* blockd/imgmap.h: a dense tmpfs image is mapped (not with O_DIRECT), and a mapped read stays
 * inside the mapping and stops once the mapping is marked broken. */
Test(raw, imgmap_dense_tmpfs_bounds, .init = on_shm_dense, .fini = teardown)
{
    static uint8_t buf[8192];
    struct iovec iov[2] = { { buf, 4096 }, { buf + 4096, 4096 } };
    struct imgmap m;

    cr_assert_eq(pwrite(img.fd, "abcd", 4, IMG_SIZE - 4), 4);
    cr_assert_eq(imgmap_open(&m, img.fd, img.size, true), 0);
    cr_assert_null(m.base);
    cr_assert_eq(imgmap_open(&m, img.fd, img.size, false), 1);
    cr_assert_eq(imgmap_read(&m, IMG_SIZE - 8192, 8192, iov, 2), 0);
    cr_assert_eq(memcmp(buf + 8188, "abcd", 4), 0);
    cr_assert_eq(imgmap_read(&m, IMG_SIZE - 4096, 8192, iov, 2), -ERANGE);
    cr_assert_eq(imgmap_read(&m, UINT64_MAX - 10, 8192, iov, 2), -ERANGE);
    __atomic_store_n(&m.broken, 1, __ATOMIC_RELEASE);
    cr_assert_eq(imgmap_read(&m, 0, 4096, iov, 1), -ERANGE);
    imgmap_close(&m);
    cr_assert_null(m.base);
}

/* Disk files and sparse tmpfs files are not mapped (a read fault would fill a hole). */
Test(raw, imgmap_skips_disk_and_sparse_images)
{
    char shm[] = "/dev/shm/cellvm-imgmap-XXXXXX";
    struct imgmap m;
    int fd;

    cr_assert_eq(imgmap_open(&m, img.fd, img.size, false), 0);
    fd = mkstemp(shm);
    cr_assert(fd >= 0);
    unlink(shm);
    cr_assert_eq(ftruncate(fd, IMG_SIZE), 0);
    cr_assert_eq(imgmap_open(&m, fd, IMG_SIZE, false), 0);
    cr_assert_null(m.base);
    close(fd);
}
