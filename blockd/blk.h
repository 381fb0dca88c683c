/* virtio-blk device model: features, config space, and request validation. It decides what a
 * request means and whether it is allowed; the image backend (raw.h) only executes requests
 * this module has accepted. Nothing here touches the image or makes a syscall. */
#ifndef CELLVM_BLOCKD_BLK_H
#define CELLVM_BLOCKD_BLK_H

#include <linux/virtio_blk.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "device-procs/virtq.h"

#define BLK_SECTOR_SHIFT 9
#define BLK_SECTOR_SIZE  512u
/* A readv/writev takes at most UIO_MAXIOV buffers; longer requests are cut into chunks. */
#define BLK_IOV_CHUNK 1024u
#define BLK_MAX_IOS   4u /* chunks (or fallocate steps) per request */
/* DISCARD/WRITE_ZEROES: one segment per request (what Linux sends unless told more), and a
 * per-segment cap so one request cannot tie a queue up for long. */
#define BLK_MAX_DWZ_SEG     1u
#define BLK_MAX_DWZ_SECTORS (1u << 22) /* 2 GiB */
/* Largest read/write: keeps used lengths in 32 bits and bounce buffers bounded. */
#define BLK_MAX_RW_BYTES (64u << 20)

/* The disk as the guest sees it. Set up before the first queue starts; only `writeback`
 * (SET_CONFIG) and `size` (Resize) change afterwards, on the control thread, read by the queue
 * threads. */
struct blk_disk {
    /* Image bytes; capacity is size / 512, a partial last sector is hidden. Grows on Resize
     * (control thread) while queue threads read it. */
    _Atomic uint64_t size;
    bool readonly;
    bool sparse;          /* sparse=on: discards and unmapping write-zeroes free space */
    bool protect_sector0; /* autodetected raw: writes touching sector 0 are refused */
    bool discard;         /* VIRTIO_BLK_F_DISCARD offered */
    bool write_zeroes;    /* VIRTIO_BLK_F_WRITE_ZEROES offered */
    uint16_t num_queues;
    uint16_t queue_size;
    uint32_t blk_size;
    /* Discard granularity in bytes (QCOW2: the cluster size, since a partial cluster cannot be
     * freed); 0: blk_size. */
    uint32_t discard_align;
    uint8_t serial[VIRTIO_BLK_ID_BYTES]; /* zero padded, not NUL terminated when full */
    atomic_bool writeback;               /* wce: false means writes are durable on completion */
};

enum blk_op {
    BLK_OP_DONE, /* nothing to execute: status (and GET_ID data) already written */
    BLK_OP_READ,
    BLK_OP_WRITE,
    BLK_OP_FLUSH,
    BLK_OP_DISCARD,      /* free the range; reads return zeroes */
    BLK_OP_WRITE_ZEROES, /* zero the range, keeping it allocated unless `unmap` */
};

struct blk_req;

/* One backend operation of a request: a chunk of a read/write, or one fallocate step. */
struct blk_io {
    struct blk_req *req;
    struct iovec *iov; /* remaining buffers of this chunk (advanced on a short transfer) */
    unsigned niov;
    uint64_t off;  /* image byte offset */
    uint64_t left; /* bytes still to transfer, or the fallocate length */
    uint8_t tries; /* resubmissions after short transfers */
};

/* A request between blk_req_prepare() and its push to the used ring. */
struct blk_req {
    struct virtq_elem *elem; /* owned by the queue until pushed */
    uint8_t *status;         /* in guest memory; NULL when the chain has no device-writable byte */
    struct iovec *iov;       /* data buffers: a window into elem->iov */
    unsigned niov;
    uint64_t off, len; /* image bytes */
    uint32_t used_len; /* device-writable bytes written, the status byte included */
    enum blk_op op;
    bool unmap;   /* WRITE_ZEROES may free the range */
    bool durable; /* write-through: the write must be stable when it completes */
    uint8_t result;
    /* Backend state. */
    unsigned pending; /* ios submitted, not completed */
    unsigned nios;
    struct blk_io ios[BLK_MAX_IOS];
    void *bounce; /* aligned copy for O_DIRECT when guest buffers are not aligned */
    struct iovec bounce_iov;
};

/* Fills every field derived from the others: discard/write_zeroes offers, blk_size default. */
void blk_disk_init(struct blk_disk *d);

/* Device feature bits (VERSION_1 included; ring features are the runtime's). */
uint64_t blk_features(const struct blk_disk *d);

/* The virtio_blk_config for GET_CONFIG, little endian. */
void blk_config(const struct blk_disk *d, struct virtio_blk_config *cfg);

/* SET_CONFIG: only the writeback byte is guest-writable. Returns 0 or -EINVAL (refused, nothing
 * changed). */
int blk_config_write(struct blk_disk *d, uint32_t offset, const uint8_t *buf, uint32_t len);

/* Serial default as Cloud Hypervisor builds it: decimal st_dev, st_rdev, st_ino, concatenated,
 * cut at 20 bytes. */
void blk_serial_default(uint64_t dev, uint64_t rdev, uint64_t ino,
                        uint8_t out[VIRTIO_BLK_ID_BYTES]);

/*
 * Parses and validates the request in `elem` (whose iov array it trims in place: the header
 * and the status byte are cut off the data windows). Every refusal is decided here: a request
 * that fails leaves with op BLK_OP_DONE and the status set. GET_ID is answered here too.
 * Never fails itself: a chain too broken to carry a status gets status == NULL, used_len 0.
 */
void blk_req_prepare(const struct blk_disk *d, struct virtq_elem *elem, struct blk_req *r);

/* Writes the status byte (if there is one) and returns the used length to push. */
uint32_t blk_req_finish(struct blk_req *r, uint8_t status);

#endif
