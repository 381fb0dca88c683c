/* The virtio-blk device model on hand-built elements: every refusal, the read-only and sector-0
 * rules, FLUSH on read-only disks, GET_ID, DISCARD/WRITE_ZEROES segments, config space. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/blk.h"

#define DISK_SIZE (1u << 20) /* 2048 sectors */

struct fake {
    struct virtq_elem elem;
    struct virtio_blk_outhdr hdr;
    uint8_t data[8192];
    uint8_t status;
};

static struct fake *fk;
static struct blk_disk disk;
static struct blk_req req;

static void setup(void)
{
    fk = calloc(1, sizeof(*fk));
    cr_assert(fk);
    memset(&disk, 0, sizeof(disk));
    disk.size = DISK_SIZE;
    disk.sparse = true;
    disk.num_queues = 2;
    disk.queue_size = 128;
    memcpy(disk.serial, "serial-0123", 11);
    atomic_store(&disk.writeback, true);
    blk_disk_init(&disk);
    fk->status = 0xee;
}

static void teardown(void)
{
    free(fk);
}

TestSuite(blk, .init = setup, .fini = teardown);

static void set_hdr(uint32_t type, uint64_t sector)
{
    fk->hdr.type = htole32(type);
    fk->hdr.ioprio = 0;
    fk->hdr.sector = htole64(sector);
}

static void add(void *base, size_t len, bool writable)
{
    struct virtq_elem *e = &fk->elem;

    e->iov[e->out_num + e->in_num].iov_base = base;
    e->iov[e->out_num + e->in_num].iov_len = len;
    if (writable) {
        e->in_num++;
        e->in_len += len;
    } else {
        cr_assert_eq(e->in_num, 0, "readable buffers come first");
        e->out_num++;
        e->out_len += len;
    }
}

/* header | data (readable or writable) | status, in separate descriptors. */
static void build(uint32_t type, uint64_t sector, size_t data_len, bool data_writable)
{
    set_hdr(type, sector);
    add(&fk->hdr, sizeof(fk->hdr), false);
    if (data_len)
        add(fk->data, data_len, data_writable);
    add(&fk->status, 1, true);
}

static uint8_t run(void)
{
    blk_req_prepare(&disk, &fk->elem, &req);
    if (req.op == BLK_OP_DONE)
        return req.result;
    return 0xff; /* accepted: goes to the backend */
}

static void build_dwz(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags, unsigned nseg)
{
    struct virtio_blk_discard_write_zeroes *seg = (void *)fk->data;

    for (unsigned i = 0; i < nseg; i++) {
        seg[i].sector = htole64(sector);
        seg[i].num_sectors = htole32(num);
        seg[i].flags = htole32(flags);
    }
    build(type, 7, nseg * sizeof(*seg), false);
}

Test(blk, read_is_accepted_and_windowed)
{
    build(VIRTIO_BLK_T_IN, 8, 4096, true);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.op, BLK_OP_READ);
    cr_assert_eq(req.off, 8 * 512);
    cr_assert_eq(req.len, 4096);
    cr_assert_eq(req.niov, 1);
    cr_assert_eq(req.iov[0].iov_base, fk->data);
    cr_assert_eq(req.status, &fk->status);
    cr_assert_eq(blk_req_finish(&req, VIRTIO_BLK_S_OK), 4097);
    cr_assert_eq(fk->status, VIRTIO_BLK_S_OK);
}

Test(blk, header_and_data_share_a_descriptor)
{
    /* Layout-agnostic drivers may put the header and the data in one buffer. */
    uint8_t *buf = fk->data;

    set_hdr(VIRTIO_BLK_T_OUT, 3);
    memcpy(buf, &fk->hdr, sizeof(fk->hdr));
    add(buf, sizeof(fk->hdr) + 1024, false);
    add(&fk->status, 1, true);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.op, BLK_OP_WRITE);
    cr_assert_eq(req.len, 1024);
    cr_assert_eq(req.iov[0].iov_base, buf + sizeof(fk->hdr));
    cr_assert_eq(blk_req_finish(&req, VIRTIO_BLK_S_OK), 1);
}

Test(blk, status_shares_the_last_data_descriptor)
{
    set_hdr(VIRTIO_BLK_T_IN, 0);
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(fk->data, 513, true);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.len, 512);
    cr_assert_eq(req.status, fk->data + 512);
}

Test(blk, header_split_across_descriptors)
{
    uint8_t *h = (uint8_t *)&fk->hdr;

    set_hdr(VIRTIO_BLK_T_IN, 5);
    add(h, 4, false);
    add(h + 4, 12, false);
    add(fk->data, 512, true);
    add(&fk->status, 1, true);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.off, 5 * 512);
}

Test(blk, no_status_byte_means_nothing_written)
{
    set_hdr(VIRTIO_BLK_T_IN, 0);
    add(&fk->hdr, sizeof(fk->hdr), false);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
    cr_assert_null(req.status);
    cr_assert_eq(blk_req_finish(&req, VIRTIO_BLK_S_IOERR), 0);
}

Test(blk, empty_writable_descriptors_are_no_status)
{
    set_hdr(VIRTIO_BLK_T_IN, 0);
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(fk->data, 0, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
    cr_assert_null(req.status);
}

Test(blk, short_header_is_ioerr)
{
    add(&fk->hdr, 8, false);
    add(&fk->status, 1, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
    cr_assert_eq(blk_req_finish(&req, req.result), 1);
    cr_assert_eq(fk->status, VIRTIO_BLK_S_IOERR);
}

Test(blk, past_the_end_is_ioerr)
{
    build(VIRTIO_BLK_T_IN, DISK_SIZE / 512, 512, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, crossing_the_end_is_ioerr)
{
    build(VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 1024, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, last_sector_is_fine)
{
    build(VIRTIO_BLK_T_IN, DISK_SIZE / 512 - 1, 512, true);
    cr_assert_eq(run(), 0xff);
}

Test(blk, sector_overflow_is_ioerr)
{
    build(VIRTIO_BLK_T_IN, UINT64_MAX, 512, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, sector_times_512_wrapping_is_ioerr)
{
    /* (2^55 + 1) * 512 wraps to 512: must not be read as sector 1. */
    build(VIRTIO_BLK_T_IN, (1ull << 55) + 1, 512, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, partial_last_sector_is_hidden)
{
    disk.size = 512 * 4 + 100;
    build(VIRTIO_BLK_T_IN, 4, 512, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, unaligned_length_is_ioerr)
{
    build(VIRTIO_BLK_T_IN, 0, 100, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, read_with_driver_data_is_ioerr)
{
    build(VIRTIO_BLK_T_IN, 0, 512, false);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, write_with_device_writable_data_is_ioerr)
{
    build(VIRTIO_BLK_T_OUT, 1, 512, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, zero_length_read_is_ok)
{
    build(VIRTIO_BLK_T_IN, 0, 0, true);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.len, 0);
}

Test(blk, unknown_types_are_unsupp)
{
    static const uint32_t types[] = { 2, 3, 5, 9, 12, 14, 15, 99, 0x80000000u, 0xffffffffu };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        memset(&fk->elem, 0, sizeof(fk->elem));
        build(types[i], 0, 0, false);
        cr_assert_eq(run(), VIRTIO_BLK_S_UNSUPP, "type %u", types[i]);
    }
}

Test(blk, readonly_refuses_every_write_even_unnegotiated)
{
    static const uint32_t writes[] = { VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_DISCARD,
                                       VIRTIO_BLK_T_WRITE_ZEROES };

    disk.readonly = true;
    blk_disk_init(&disk);
    for (size_t i = 0; i < 3; i++) {
        memset(&fk->elem, 0, sizeof(fk->elem));
        if (writes[i] == VIRTIO_BLK_T_OUT)
            build(writes[i], 1, 512, false);
        else
            build_dwz(writes[i], 1, 1, 0, 1);
        cr_assert_eq(run(), VIRTIO_BLK_S_IOERR, "type %u", writes[i]);
    }
}

Test(blk, readonly_accepts_flush_read_and_get_id)
{
    disk.readonly = true;
    blk_disk_init(&disk);
    build(VIRTIO_BLK_T_FLUSH, 0, 0, false);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.op, BLK_OP_FLUSH);

    memset(&fk->elem, 0, sizeof(fk->elem));
    build(VIRTIO_BLK_T_IN, 1, 512, true);
    cr_assert_eq(run(), 0xff);

    memset(&fk->elem, 0, sizeof(fk->elem));
    build(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_OK);
}

Test(blk, flush_with_data_is_ioerr)
{
    build(VIRTIO_BLK_T_FLUSH, 0, 512, false);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, sector0_protected_for_autodetected_raw)
{
    disk.protect_sector0 = true;
    build(VIRTIO_BLK_T_OUT, 0, 512, false);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);

    memset(&fk->elem, 0, sizeof(fk->elem));
    build_dwz(VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);

    memset(&fk->elem, 0, sizeof(fk->elem));
    build_dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);

    memset(&fk->elem, 0, sizeof(fk->elem));
    build(VIRTIO_BLK_T_OUT, 1, 512, false);
    cr_assert_eq(run(), 0xff, "sector 1 stays writable");

    memset(&fk->elem, 0, sizeof(fk->elem));
    build(VIRTIO_BLK_T_IN, 0, 512, true);
    cr_assert_eq(run(), 0xff, "sector 0 stays readable");
}

Test(blk, sector0_writable_with_explicit_raw)
{
    build(VIRTIO_BLK_T_OUT, 0, 512, false);
    cr_assert_eq(run(), 0xff);
    memset(&fk->elem, 0, sizeof(fk->elem));
    build_dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1);
    cr_assert_eq(run(), 0xff);
}

Test(blk, get_id_returns_the_serial)
{
    build(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
    memset(fk->data, 0xaa, VIRTIO_BLK_ID_BYTES);
    cr_assert_eq(run(), VIRTIO_BLK_S_OK);
    cr_assert_eq(memcmp(fk->data, disk.serial, VIRTIO_BLK_ID_BYTES), 0);
    cr_assert_eq(blk_req_finish(&req, req.result), VIRTIO_BLK_ID_BYTES + 1);
}

Test(blk, get_id_short_buffer_is_cut)
{
    build(VIRTIO_BLK_T_GET_ID, 0, 6, true);
    memset(fk->data + 6, 0xaa, 10);
    cr_assert_eq(run(), VIRTIO_BLK_S_OK);
    cr_assert_eq(memcmp(fk->data, "serial", 6), 0);
    cr_assert_eq(fk->data[6], 0xaa, "nothing written past the buffer");
    cr_assert_eq(blk_req_finish(&req, req.result), 7);
}

Test(blk, get_id_with_driver_data_is_ioerr)
{
    build(VIRTIO_BLK_T_GET_ID, 0, 20, false);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, discard_accepted)
{
    build_dwz(VIRTIO_BLK_T_DISCARD, 16, 8, 0, 1);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.op, BLK_OP_DISCARD);
    cr_assert_eq(req.off, 16 * 512);
    cr_assert_eq(req.len, 8 * 512);
    cr_assert(req.unmap);
}

Test(blk, discard_flags_are_unsupp)
{
    build_dwz(VIRTIO_BLK_T_DISCARD, 16, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_UNSUPP);
}

Test(blk, discard_too_many_segments_is_ioerr)
{
    build_dwz(VIRTIO_BLK_T_DISCARD, 16, 8, 0, 2);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, discard_partial_segment_is_ioerr)
{
    set_hdr(VIRTIO_BLK_T_DISCARD, 0);
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(fk->data, 10, false);
    add(&fk->status, 1, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, discard_past_end_or_oversized_is_ioerr)
{
    build_dwz(VIRTIO_BLK_T_DISCARD, DISK_SIZE / 512 - 4, 8, 0, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
    memset(&fk->elem, 0, sizeof(fk->elem));
    build_dwz(VIRTIO_BLK_T_DISCARD, UINT64_MAX - 2, 8, 0, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
    memset(&fk->elem, 0, sizeof(fk->elem));
    build_dwz(VIRTIO_BLK_T_DISCARD, 1, BLK_MAX_DWZ_SECTORS + 1, 0, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, discard_not_offered_when_not_sparse)
{
    disk.sparse = false;
    blk_disk_init(&disk);
    cr_assert_not(blk_features(&disk) & (1ull << VIRTIO_BLK_F_DISCARD));
    build_dwz(VIRTIO_BLK_T_DISCARD, 16, 8, 0, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_UNSUPP);
}

Test(blk, write_zeroes_unmap_follows_sparse)
{
    build_dwz(VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1);
    cr_assert_eq(run(), 0xff);
    cr_assert_eq(req.op, BLK_OP_WRITE_ZEROES);
    cr_assert(req.unmap);

    disk.sparse = false;
    blk_disk_init(&disk);
    memset(&fk->elem, 0, sizeof(fk->elem));
    build_dwz(VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1);
    cr_assert_eq(run(), 0xff);
    cr_assert_not(req.unmap, "sparse=off never frees");
}

Test(blk, write_zeroes_unknown_flags_are_unsupp)
{
    build_dwz(VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, 2, 1);
    cr_assert_eq(run(), VIRTIO_BLK_S_UNSUPP);
}

Test(blk, write_zeroes_with_device_writable_data_is_ioerr)
{
    struct virtio_blk_discard_write_zeroes *seg = (void *)fk->data;

    seg->sector = htole64(1);
    seg->num_sectors = htole32(1);
    set_hdr(VIRTIO_BLK_T_WRITE_ZEROES, 0);
    add(&fk->hdr, sizeof(fk->hdr), false);
    add(seg, sizeof(*seg), false);
    add(fk->data + 512, 512, true);
    add(&fk->status, 1, true);
    cr_assert_eq(run(), VIRTIO_BLK_S_IOERR);
}

Test(blk, writethrough_makes_writes_durable)
{
    uint8_t zero = 0;

    build(VIRTIO_BLK_T_OUT, 1, 512, false);
    cr_assert_eq(run(), 0xff);
    cr_assert_not(req.durable);
    cr_assert_eq(blk_config_write(&disk, offsetof(struct virtio_blk_config, wce), &zero, 1), 0);
    memset(&fk->elem, 0, sizeof(fk->elem));
    build(VIRTIO_BLK_T_OUT, 1, 512, false);
    cr_assert_eq(run(), 0xff);
    cr_assert(req.durable);
}

Test(blk, config_space)
{
    struct virtio_blk_config c;
    uint8_t two = 2, one = 1;

    blk_config(&disk, &c);
    cr_assert_eq(le64toh(c.capacity), DISK_SIZE / 512);
    cr_assert_eq(le32toh(c.blk_size), 512);
    cr_assert_eq(le32toh(c.seg_max), 126);
    cr_assert_eq(le16toh(c.num_queues), 2);
    cr_assert_eq(c.wce, 1);
    cr_assert_eq(le32toh(c.max_discard_seg), 1);
    cr_assert_eq(le32toh(c.max_write_zeroes_seg), 1);
    cr_assert_eq(le32toh(c.max_discard_sectors), BLK_MAX_DWZ_SECTORS);
    cr_assert_eq(c.write_zeroes_may_unmap, 1);
    /* Only wce is writable, and only with 0 or 1. */
    cr_assert_eq(blk_config_write(&disk, 0, &one, 1), -EINVAL);
    cr_assert_eq(blk_config_write(&disk, offsetof(struct virtio_blk_config, wce), &two, 1),
                 -EINVAL);
}

Test(blk, seg_max_fits_one_element)
{
    struct virtio_blk_config c;

    /* queue_size may be 32768: a driver trusting seg_max must never build a chain that
       virtq_pop refuses (and breaks the ring for). */
    disk.queue_size = 32768;
    blk_config(&disk, &c);
    cr_assert_eq(le32toh(c.seg_max), VIRTQ_MAX_SEGS - 2);
    disk.queue_size = 1024;
    blk_config(&disk, &c);
    cr_assert_eq(le32toh(c.seg_max), 1022);
}

Test(blk, features)
{
    uint64_t f = blk_features(&disk);

    cr_assert(f & (1ull << 32), "VERSION_1");
    cr_assert(f & (1ull << VIRTIO_BLK_F_FLUSH));
    cr_assert(f & (1ull << VIRTIO_BLK_F_DISCARD));
    cr_assert(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
    cr_assert_not(f & (1ull << VIRTIO_BLK_F_RO));
    disk.readonly = true;
    blk_disk_init(&disk);
    f = blk_features(&disk);
    cr_assert(f & (1ull << VIRTIO_BLK_F_RO));
    cr_assert_not(f & (1ull << VIRTIO_BLK_F_DISCARD));
    cr_assert_not(f & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
}

Test(blk, serial_default_like_cloud_hypervisor)
{
    uint8_t s[VIRTIO_BLK_ID_BYTES];

    blk_serial_default(2049, 0, 1234, s);
    cr_assert_eq(memcmp(s, "204901234", 9), 0);
    cr_assert_eq(s[9], 0);
    blk_serial_default(123456789012ull, 7, 98765432109876ull, s);
    cr_assert_eq(memcmp(s, "12345678901279876543", 20), 0);
}
