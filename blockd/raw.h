/* The raw image backend: opening and preparing the file (before the jail), and executing
 * accepted requests on a queue's io_uring (inside it). The image is fixed file RAW_FILE_IMAGE
 * of every queue's ring. */
#ifndef CELLVM_BLOCKD_RAW_H
#define CELLVM_BLOCKD_RAW_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "blk.h"
#include "imgmap.h"

#define RAW_FILE_IMAGE 0

enum raw_format {
    RAW_FORMAT_RAW,
    RAW_FORMAT_QCOW2,
    RAW_FORMAT_VHD,
    RAW_FORMAT_VHDX,
};

struct raw_image {
    int fd; /* owner: the blockd context (closed by raw_close); queues use it as a fixed file */
    uint64_t size;
    bool direct;       /* O_DIRECT: buffers and lengths must be BLK_SECTOR_SIZE aligned */
    bool zero_range;   /* FALLOC_FL_ZERO_RANGE works on this file system (not on tmpfs) */
    struct imgmap map; /* reads of a memory-file-system image (imgmap.h); set up by the caller */
};

/* Opens path O_CLOEXEC (O_RDONLY or O_RDWR, O_DIRECT if asked) and reads its size. Regular
 * files and block devices only. 0 or -errno; img->fd stays -1 on failure. */
int raw_open(struct raw_image *img, const char *path, bool readonly, bool direct);
/* Takes over an fd opened by the controller. 0 or -errno (the fd is not closed on failure). */
int raw_adopt(struct raw_image *img, int fd, bool direct);
void raw_close(struct raw_image *img);

/* What the first bytes (and the VHD footer) say the file is, as Cloud Hypervisor detects it. */
int raw_detect(const struct raw_image *img, enum raw_format *fmt);

/* Writable images: probes ZERO_RANGE support, and with sparse=off allocates every block. */
int raw_prepare(struct raw_image *img, bool readonly, bool sparse);

/* Queues r's backend operations on ring (submitted by the caller's next enter). 0, or -errno
 * when nothing was queued: the caller finishes r with IOERR. */
int raw_submit(struct io_uring *ring, const struct raw_image *img, struct blk_req *r);

/* One completion of an io queued by raw_submit. Returns r once every io of it completed (its
 * result set), NULL while some are still pending (a short transfer is resubmitted). */
struct blk_req *raw_complete(struct io_uring *ring, const struct raw_image *img, struct blk_io *io,
                             int res);

/* The io_uring opcodes raw_submit uses, for the ring's restriction list. */
extern const uint8_t raw_uring_ops[];
extern const unsigned raw_uring_nops;

#endif
