/* The disk image of one cellvm-blockd: opened (or adopted from the controller), locked, its
 * format decided (given or detected), a QCOW2 engine on it when it is QCOW2, its backing chain
 * attached, and grown on a Resize. Everything here runs on the control thread. */
#ifndef CELLVM_BLOCKD_IMAGE_H
#define CELLVM_BLOCKD_IMAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "blk.h"
#include "blockd/qcow2/qcow2.h"
#include "chain.h"
#include "devspec/backing.h"
#include "devspec/devspec.h"
#include "raw.h"

struct devproc;

struct image {
    struct raw_image raw;    /* raw.fd: the image, owned here (closed by image_close) */
    struct qcow2_file *file; /* owned: metadata layer over raw.fd; NULL for raw */
    struct qcow2 *q2;        /* owned; NULL for raw */
    struct chain *chain;     /* owned; NULL without a backing file */
    bool sparse;
    bool no_lock; /* set before image_open: a migration's source holds the locks (issue 18) */
    dev_t dev;    /* the image file, for loop checks */
    ino_t ino;
    char dir[PATH_MAX]; /* standalone: where relative backing names resolve */
    struct backing_policy policy;
    char backing[1024];   /* what the top image names; empty: nothing */
    char backing_fmt[16]; /* its format extension; empty: probe */
};

/* Sentinels only; call before anything else. */
void image_init(struct image *im);

/*
 * Takes fds[0] (controller) or opens cd->path (standalone), locks it, decides the format with
 * the sector-zero rule for autodetected raw, and for QCOW2 opens the engine (refusing a backing
 * file unless cd->backing_files). Fills d->size and d->protect_sector0. 0 or -errno with err.
 */
int image_open(struct image *im, const struct cli_disk *cd, int *fds, size_t nfds,
               struct blk_disk *d, char *err, size_t errlen);

/*
 * Opens the backing chain the top image names, each file through the controller
 * (devproc_open_backing_file) or, standalone, through backing_open() under the same policy.
 * No-op without a backing file. Before the jail. 0 or -errno with err.
 */
int image_open_chain(struct image *im, struct devproc *dp, char *err, size_t errlen);

/* Grows the image to size bytes (QCOW2 or a raw regular file). Shrinking: -ENOTSUP. */
int image_grow(struct image *im, uint64_t size);

/* Closes the chain, the engine (flushing, clearing the dirty bit) and the image fd. */
void image_close(struct image *im);

#endif
