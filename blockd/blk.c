/* virtio-blk requests: header {type, ioprio, sector}, data, then one status byte. The driver is
 * untrusted: every length comes from its descriptors, so sizes are summed and compared without
 * overflow, and a request that is not exactly what its type allows gets an error status. */
#include "blk.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define VIRTIO_F_VERSION_1 32

void blk_disk_init(struct blk_disk *d)
{
    if (!d->blk_size)
        d->blk_size = BLK_SECTOR_SIZE;
    /* Cloud Hypervisor: sparse=off keeps every block allocated, so it does not offer DISCARD;
     * WRITE_ZEROES is offered either way. A read-only disk offers neither. */
    d->write_zeroes = !d->readonly;
    d->discard = !d->readonly && d->sparse;
}

uint64_t blk_features(const struct blk_disk *d)
{
    uint64_t f = 1ull << VIRTIO_F_VERSION_1;

    f |= 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_FLUSH |
         1ull << VIRTIO_BLK_F_TOPOLOGY | 1ull << VIRTIO_BLK_F_CONFIG_WCE | 1ull << VIRTIO_BLK_F_MQ;
    if (d->readonly)
        f |= 1ull << VIRTIO_BLK_F_RO;
    if (d->discard)
        f |= 1ull << VIRTIO_BLK_F_DISCARD;
    if (d->write_zeroes)
        f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    return f;
}

static uint32_t seg_max(const struct blk_disk *d)
{
    uint32_t s = d->queue_size > 2 ? d->queue_size - 2u : 1u;

    /* A chain with more segments than one element holds breaks the whole ring (virtq_pop's
     * -E2BIG): an honest driver that fills seg_max, header and status included, must fit. That
     * also keeps every readv/writev within io_uring's UIO_MAXIOV (1024). */
    return s < VIRTQ_MAX_SEGS - 2 ? s : VIRTQ_MAX_SEGS - 2;
}

void blk_config(const struct blk_disk *d, struct virtio_blk_config *cfg)
{
    unsigned exp = 0;

    memset(cfg, 0, sizeof(*cfg));
    while ((BLK_SECTOR_SIZE << exp) < d->blk_size && exp < 8)
        exp++;
    cfg->capacity = htole64(d->size >> BLK_SECTOR_SHIFT);
    cfg->seg_max = htole32(seg_max(d));
    cfg->blk_size = htole32(d->blk_size);
    cfg->physical_block_exp = (uint8_t)exp;
    cfg->min_io_size = htole16(1);
    cfg->opt_io_size = htole32(1);
    cfg->wce = atomic_load(&d->writeback) ? 1 : 0;
    cfg->num_queues = htole16(d->num_queues);
    if (d->discard) {
        cfg->max_discard_sectors = htole32(BLK_MAX_DWZ_SECTORS);
        cfg->max_discard_seg = htole32(BLK_MAX_DWZ_SEG);
        cfg->discard_sector_alignment =
            htole32((d->discard_align ? d->discard_align : d->blk_size) >> BLK_SECTOR_SHIFT);
    }
    if (d->write_zeroes) {
        cfg->max_write_zeroes_sectors = htole32(BLK_MAX_DWZ_SECTORS);
        cfg->max_write_zeroes_seg = htole32(BLK_MAX_DWZ_SEG);
        cfg->write_zeroes_may_unmap = d->sparse ? 1 : 0;
    }
}

int blk_config_write(struct blk_disk *d, uint32_t offset, const uint8_t *buf, uint32_t len)
{
    const uint32_t wce = offsetof(struct virtio_blk_config, wce);

    if (len != 1 || offset != wce || buf[0] > 1)
        return -EINVAL;
    atomic_store(&d->writeback, buf[0] == 1);
    return 0;
}

void blk_serial_default(uint64_t dev, uint64_t rdev, uint64_t ino, uint8_t out[VIRTIO_BLK_ID_BYTES])
{
    char s[3 * 21];
    int n = snprintf(s, sizeof(s), "%" PRIu64 "%" PRIu64 "%" PRIu64, dev, rdev, ino);

    memset(out, 0, VIRTIO_BLK_ID_BYTES);
    if (n > 0)
        memcpy(out, s, (size_t)n < VIRTIO_BLK_ID_BYTES ? (size_t)n : VIRTIO_BLK_ID_BYTES);
}

static uint64_t iov_bytes(const struct iovec *iov, unsigned n)
{
    uint64_t t = 0;

    /* A chain holds at most 32768 descriptors of < 4 GiB each: no overflow. */
    for (unsigned i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* Copies `len` bytes from the front of the iov array into buf. Returns 0 or -EINVAL if short. */
static int iov_gather(const struct iovec *iov, unsigned n, void *buf, size_t len)
{
    uint8_t *p = buf;

    for (unsigned i = 0; i < n && len; i++) {
        size_t c = iov[i].iov_len < len ? iov[i].iov_len : len;

        memcpy(p, iov[i].iov_base, c);
        p += c;
        len -= c;
    }
    return len ? -EINVAL : 0;
}

static void iov_scatter(const struct iovec *iov, unsigned n, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    for (unsigned i = 0; i < n && len; i++) {
        size_t c = iov[i].iov_len < len ? iov[i].iov_len : len;

        memcpy(iov[i].iov_base, p, c);
        p += c;
        len -= c;
    }
}

/* Drops `len` bytes from the front of *iov (the caller checked they exist); empty entries are
 * skipped so the window starts at real data. */
static void iov_trim_front(struct iovec **iov, unsigned *n, size_t len)
{
    while (*n && (len || (*iov)->iov_len == 0)) {
        size_t c = (*iov)->iov_len < len ? (*iov)->iov_len : len;

        (*iov)->iov_base = (uint8_t *)(*iov)->iov_base + c;
        (*iov)->iov_len -= c;
        len -= c;
        if ((*iov)->iov_len == 0) {
            (*iov)++;
            (*n)--;
        }
    }
}

/* Takes the last byte of a non-empty iov window for the status and drops it from the window. */
static uint8_t *iov_take_last_byte(struct iovec *iov, unsigned *n)
{
    uint8_t *p;

    while (*n && iov[*n - 1].iov_len == 0)
        (*n)--;
    if (!*n)
        return NULL;
    p = (uint8_t *)iov[*n - 1].iov_base + --iov[*n - 1].iov_len;
    if (iov[*n - 1].iov_len == 0)
        (*n)--;
    return p;
}

static void refuse(struct blk_req *r, uint8_t status)
{
    r->op = BLK_OP_DONE;
    r->result = status;
}

/* Checks [sector, sector + len) against the capacity without overflow; sets r->off. */
static int in_bounds(const struct blk_disk *d, struct blk_req *r, uint64_t sector, uint64_t len)
{
    uint64_t cap = d->size & ~(uint64_t)(BLK_SECTOR_SIZE - 1);

    if (sector > (UINT64_MAX >> BLK_SECTOR_SHIFT))
        return -ERANGE;
    r->off = sector << BLK_SECTOR_SHIFT;
    if (len > cap || r->off > cap - len)
        return -ERANGE;
    return 0;
}

static bool writes(uint32_t type)
{
    return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
           type == VIRTIO_BLK_T_WRITE_ZEROES;
}

static void prepare_rw(const struct blk_disk *d, struct blk_req *r, uint32_t type, uint64_t sector,
                       struct iovec *out, unsigned nout, struct iovec *in, unsigned nin)
{
    bool is_read = type == VIRTIO_BLK_T_IN;

    /* Data goes one way only: an IN carries no driver data, an OUT no device-writable data. */
    if (is_read ? iov_bytes(out, nout) : iov_bytes(in, nin)) {
        refuse(r, VIRTIO_BLK_S_IOERR);
        return;
    }
    r->iov = is_read ? in : out;
    r->niov = is_read ? nin : nout;
    r->len = iov_bytes(r->iov, r->niov);
    if (r->len % BLK_SECTOR_SIZE || r->len > BLK_MAX_RW_BYTES ||
        r->niov > BLK_IOV_CHUNK * BLK_MAX_IOS || in_bounds(d, r, sector, r->len) < 0) {
        refuse(r, VIRTIO_BLK_S_IOERR);
        return;
    }
    r->op = is_read ? BLK_OP_READ : BLK_OP_WRITE;
    r->durable = !is_read && !atomic_load(&d->writeback);
    if (is_read)
        r->used_len += (uint32_t)r->len;
}

static void prepare_dwz(const struct blk_disk *d, struct blk_req *r, uint32_t type,
                        struct iovec *out, unsigned nout, unsigned nin_bytes)
{
    struct virtio_blk_discard_write_zeroes seg;
    uint64_t bytes = iov_bytes(out, nout);
    bool discard = type == VIRTIO_BLK_T_DISCARD;
    uint32_t flags, num;
    uint64_t sector;

    if (discard ? !d->discard : !d->write_zeroes) {
        refuse(r, VIRTIO_BLK_S_UNSUPP);
        return;
    }
    if (nin_bytes || bytes == 0 || bytes % sizeof(seg) || bytes / sizeof(seg) > BLK_MAX_DWZ_SEG) {
        refuse(r, VIRTIO_BLK_S_IOERR);
        return;
    }
    (void)iov_gather(out, nout, &seg, sizeof(seg));
    sector = le64toh(seg.sector);
    num = le32toh(seg.num_sectors);
    flags = le32toh(seg.flags);
    /* Discard has no flags; write-zeroes only "may unmap". */
    if (flags & ~(discard ? 0u : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)) {
        refuse(r, VIRTIO_BLK_S_UNSUPP);
        return;
    }
    if (num > BLK_MAX_DWZ_SECTORS ||
        in_bounds(d, r, sector, (uint64_t)num << BLK_SECTOR_SHIFT) < 0 ||
        (d->protect_sector0 && sector == 0)) {
        refuse(r, VIRTIO_BLK_S_IOERR);
        return;
    }
    r->len = (uint64_t)num << BLK_SECTOR_SHIFT;
    r->unmap = discard || (d->sparse && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP));
    r->op = r->len ? (discard ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES) : BLK_OP_DONE;
    r->result = VIRTIO_BLK_S_OK;
}

void blk_req_prepare(const struct blk_disk *d, struct virtq_elem *elem, struct blk_req *r)
{
    struct virtio_blk_outhdr hdr;
    struct iovec *out = elem->iov, *in = elem->iov + elem->out_num;
    unsigned nout = elem->out_num, nin = elem->in_num;
    uint32_t type;
    uint64_t sector;

    memset(r, 0, sizeof(*r));
    r->elem = elem;
    r->op = BLK_OP_DONE;
    r->result = VIRTIO_BLK_S_IOERR;
    r->status = iov_take_last_byte(in, &nin);
    if (!r->status)
        return;
    r->used_len = 1;
    if (iov_gather(out, nout, &hdr, sizeof(hdr)) < 0)
        return;
    iov_trim_front(&out, &nout, sizeof(hdr));
    while (nin && in[0].iov_len == 0) {
        in++;
        nin--;
    }
    type = le32toh(hdr.type);
    sector = le64toh(hdr.sector);

    /* VIRTIO_BLK_F_RO binds whether or not the driver acknowledged it. */
    if (d->readonly && writes(type))
        return;
    if (d->protect_sector0 && type == VIRTIO_BLK_T_OUT && sector == 0)
        return;

    switch (type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        prepare_rw(d, r, type, sector, out, nout, in, nin);
        return;
    case VIRTIO_BLK_T_FLUSH:
        /* Allowed on read-only disks: firmware flushes before booting from them. */
        if (iov_bytes(out, nout) || iov_bytes(in, nin))
            return;
        r->op = BLK_OP_FLUSH;
        return;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t room = iov_bytes(in, nin);
        size_t n = room < VIRTIO_BLK_ID_BYTES ? (size_t)room : VIRTIO_BLK_ID_BYTES;

        if (iov_bytes(out, nout))
            return;
        iov_scatter(in, nin, d->serial, n);
        r->used_len += (uint32_t)n;
        r->result = VIRTIO_BLK_S_OK;
        return;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        prepare_dwz(d, r, type, out, nout, (unsigned)(iov_bytes(in, nin) != 0));
        return;
    default:
        r->result = VIRTIO_BLK_S_UNSUPP;
        return;
    }
}

uint32_t blk_req_finish(struct blk_req *r, uint8_t status)
{
    if (!r->status)
        return 0;
    *r->status = status;
    return r->used_len;
}
