/* Raw images on io_uring. Every io names the image by fixed-file index, so a ring restricted to
 * fixed files can reach nothing else. Reads and writes go straight to guest buffers unless the
 * image is O_DIRECT and a buffer is misaligned; then one aligned bounce buffer stands in. */
#include "raw.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAW_MAX_TRIES 8 /* resubmissions of a short transfer before giving up */
#define RAW_ALIGN     4096u

const uint8_t raw_uring_ops[] = {
    IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC, IORING_OP_FALLOCATE, IORING_OP_READ,
};
const unsigned raw_uring_nops = sizeof(raw_uring_ops) / sizeof(raw_uring_ops[0]);

static int image_size(int fd, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        return 0;
    }
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
    return -EINVAL;
}

int raw_adopt(struct raw_image *img, int fd, bool direct)
{
    int r;

    memset(img, 0, sizeof(*img));
    img->fd = -1;
    imgmap_init(&img->map);
    r = image_size(fd, &img->size);
    if (r < 0)
        return r;
    img->fd = fd;
    img->direct = direct;
    return 0;
}

int raw_open(struct raw_image *img, const char *path, bool readonly, bool direct)
{
    int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
    int fd = open(path, flags);
    int r;

    img->fd = -1;
    imgmap_init(&img->map);
    if (fd < 0)
        return -errno;
    r = raw_adopt(img, fd, direct);
    if (r < 0)
        close(fd);
    return r;
}

void raw_close(struct raw_image *img)
{
    imgmap_close(&img->map);
    if (img->fd >= 0)
        close(img->fd);
    img->fd = -1;
}

int raw_detect(const struct raw_image *img, enum raw_format *fmt)
{
    static const uint8_t qcow_magic[4] = { 'Q', 'F', 'I', 0xfb };
    uint8_t *buf = aligned_alloc(RAW_ALIGN, RAW_ALIGN);
    ssize_t n;
    int r = 0;

    if (!buf)
        return -ENOMEM;
    *fmt = RAW_FORMAT_RAW;
    n = pread(img->fd, buf, RAW_ALIGN, 0);
    if (n < 0) {
        r = -errno;
        goto out;
    }
    if (n >= 4 && !memcmp(buf, qcow_magic, 4)) {
        *fmt = RAW_FORMAT_QCOW2;
    } else if (n >= 8 && !memcmp(buf, "vhdxfile", 8)) {
        *fmt = RAW_FORMAT_VHDX;
    } else if (img->size >= 512 && img->size % 512 == 0) {
        /* A fixed VHD ends with a 512-byte footer starting "conectix". The last sector read
         * aligned, so O_DIRECT images work too. */
        n = pread(img->fd, buf, 512, (off_t)(img->size - 512));
        if (n == 512 && !memcmp(buf, "conectix", 8))
            *fmt = RAW_FORMAT_VHD;
    }
out:
    free(buf);
    return r;
}

int raw_prepare(struct raw_image *img, bool readonly, bool sparse)
{
    struct stat st;
    off_t probe;

    img->zero_range = false;
    if (readonly)
        return 0;
    if (fstat(img->fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return 0;
    /* Probe past the end, where nothing can be lost, then give the block back. */
    probe = (off_t)((img->size + RAW_ALIGN - 1) & ~(uint64_t)(RAW_ALIGN - 1));
    if (fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, probe, RAW_ALIGN) == 0) {
        img->zero_range = true;
        (void)fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, probe, RAW_ALIGN);
    }
    /* sparse=off: the image owns all of its space from the start. */
    if (!sparse && img->size && fallocate(img->fd, 0, 0, (off_t)img->size) < 0 &&
        errno != EOPNOTSUPP)
        return -errno;
    return 0;
}

static bool iov_aligned(const struct iovec *iov, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (BLK_SECTOR_SIZE - 1))
            return false;
    }
    return true;
}

static int use_bounce(struct blk_req *r)
{
    size_t len = (r->len + RAW_ALIGN - 1) & ~(size_t)(RAW_ALIGN - 1);
    uint8_t *p;

    r->bounce = aligned_alloc(RAW_ALIGN, len ? len : RAW_ALIGN);
    if (!r->bounce)
        return -ENOMEM;
    if (r->op == BLK_OP_WRITE) {
        p = r->bounce;
        for (unsigned i = 0; i < r->niov; i++) {
            memcpy(p, r->iov[i].iov_base, r->iov[i].iov_len);
            p += r->iov[i].iov_len;
        }
    }
    r->bounce_iov.iov_base = r->bounce;
    r->bounce_iov.iov_len = r->len;
    return 0;
}

static void bounce_done(struct blk_req *r)
{
    const uint8_t *p = r->bounce;

    if (r->op == BLK_OP_READ && r->result == VIRTIO_BLK_S_OK) {
        for (unsigned i = 0; i < r->niov; i++) {
            memcpy(r->iov[i].iov_base, p, r->iov[i].iov_len);
            p += r->iov[i].iov_len;
        }
    }
    free(r->bounce);
    r->bounce = NULL;
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

    if (!sqe && io_uring_submit(ring) >= 0)
        sqe = io_uring_get_sqe(ring);
    return sqe;
}

static void prep_io(struct io_uring_sqe *sqe, const struct blk_req *r, struct blk_io *io, int mode)
{
    switch (r->op) {
    case BLK_OP_READ:
        io_uring_prep_readv(sqe, RAW_FILE_IMAGE, io->iov, io->niov, io->off);
        break;
    case BLK_OP_WRITE:
        io_uring_prep_writev(sqe, RAW_FILE_IMAGE, io->iov, io->niov, io->off);
        if (r->durable)
            sqe->rw_flags = RWF_DSYNC;
        break;
    case BLK_OP_FLUSH:
        io_uring_prep_fsync(sqe, RAW_FILE_IMAGE, IORING_FSYNC_DATASYNC);
        break;
    default:
        io_uring_prep_fallocate(sqe, RAW_FILE_IMAGE, mode, io->off, io->left);
        break;
    }
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, io);
}

/* fallocate modes for a discard or write-zeroes: one step, or punch-then-allocate where the
 * file system cannot zero a range in place (tmpfs). */
static unsigned zero_modes(const struct raw_image *img, const struct blk_req *r, int modes[2])
{
    const int keep = FALLOC_FL_KEEP_SIZE;

    if (r->unmap) {
        modes[0] = FALLOC_FL_PUNCH_HOLE | keep;
        return 1;
    }
    if (img->zero_range) {
        modes[0] = FALLOC_FL_ZERO_RANGE | keep;
        return 1;
    }
    modes[0] = FALLOC_FL_PUNCH_HOLE | keep;
    modes[1] = keep;
    return 2;
}

int raw_submit(struct io_uring *ring, const struct raw_image *img, struct blk_req *r)
{
    struct io_uring_sqe *sqe[BLK_MAX_IOS];
    int modes[BLK_MAX_IOS] = { 0 };
    unsigned n = 1, i;

    r->result = VIRTIO_BLK_S_OK;
    if ((r->op == BLK_OP_READ || r->op == BLK_OP_WRITE) && img->direct &&
        !iov_aligned(r->iov, r->niov) && use_bounce(r) < 0)
        return -ENOMEM;
    if (r->op == BLK_OP_DISCARD || r->op == BLK_OP_WRITE_ZEROES)
        n = zero_modes(img, r, modes);
    for (i = 0; i < n; i++) {
        sqe[i] = get_sqe(ring);
        if (!sqe[i])
            break;
    }
    if (i < n) {
        /* Queued but unsubmitted entries cannot be taken back: turn them into no-ops. */
        while (i--) {
            io_uring_prep_fallocate(sqe[i], RAW_FILE_IMAGE, FALLOC_FL_KEEP_SIZE, 0, 0);
            sqe[i]->flags |= IOSQE_FIXED_FILE;
            io_uring_sqe_set_data(sqe[i], NULL);
        }
        if (r->bounce)
            free(r->bounce);
        r->bounce = NULL;
        return -EBUSY;
    }
    for (i = 0; i < n; i++) {
        struct blk_io *io = &r->ios[i];

        io->req = r;
        io->iov = r->bounce ? &r->bounce_iov : r->iov;
        io->niov = r->bounce ? 1 : r->niov;
        io->off = r->off;
        io->left = r->len;
        io->tries = 0;
        prep_io(sqe[i], r, io, modes[i]);
        if (i + 1 < n)
            sqe[i]->flags |= IOSQE_IO_LINK;
    }
    r->nios = n;
    r->pending = n;
    return 0;
}

/* Moves io past `done` bytes of a short read or write. */
static void advance(struct blk_io *io, uint64_t done)
{
    io->off += done;
    io->left -= done;
    while (io->niov && done >= io->iov->iov_len) {
        done -= io->iov->iov_len;
        io->iov++;
        io->niov--;
    }
    if (io->niov && done) {
        io->iov->iov_base = (uint8_t *)io->iov->iov_base + done;
        io->iov->iov_len -= done;
    }
}

struct blk_req *raw_complete(struct io_uring *ring, const struct raw_image *img, struct blk_io *io,
                             int res)
{
    struct blk_req *r = io->req;
    bool rw = r->op == BLK_OP_READ || r->op == BLK_OP_WRITE;
    struct io_uring_sqe *sqe;

    (void)img;
    if (res < 0) {
        r->result = res == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
    } else if (rw && (uint64_t)res < io->left) {
        /* A short transfer inside the image: go on from where it stopped, a few times. */
        if (res > 0 && ++io->tries <= RAW_MAX_TRIES && (sqe = get_sqe(ring))) {
            advance(io, (uint64_t)res);
            prep_io(sqe, r, io, 0);
            return NULL;
        }
        r->result = VIRTIO_BLK_S_IOERR;
    }
    if (--r->pending)
        return NULL;
    if (r->bounce)
        bounce_done(r);
    return r;
}
