/* The backing chain under a QCOW2 disk: every layer below the top image, read-only. The chain
 * parses each image it is handed (format, backing name) but opens nothing itself: each file
 * comes from an opener (the controller over the control channel, or, standalone, the same
 * policy function run in this process before the jail). */
#ifndef CELLVM_BLOCKD_CHAIN_H
#define CELLVM_BLOCKD_CHAIN_H

#include <stddef.h>
#include <sys/types.h>

#include "blockd/qcow2/qcow2.h"

#define CHAIN_MAX_DEPTH 16

/* Opens the file `path` names for reading; 0 with *fd owned by the caller, or -errno with err
 * filled. */
typedef int (*chain_open_fn)(void *opaque, const char *path, int *fd, char *err, size_t errlen);

struct chain;

/*
 * Opens the chain below an image that names `name` with format `fmt` ("" when the image does
 * not say: probed). Relative names deeper down are joined onto the directory part of the name
 * that led to them, as QEMU resolves them. Refused: more than CHAIN_MAX_DEPTH layers (-ELOOP),
 * a file seen twice in the chain or equal to the top image (by st_dev/st_ino; -ELOOP), anything
 * but a regular file (-EINVAL), a format other than raw or qcow2 (-ENOTSUP). 0 or -errno.
 */
int chain_open(struct chain **out, const char *name, const char *fmt, dev_t top_dev, ino_t top_ino,
               chain_open_fn open_fn, void *opaque, char *err, size_t errlen);

/* Closes every layer; NULL is fine. */
void chain_close(struct chain *c);

/* The hook for the top image: reads through the chain, zeroes past each layer's end. */
const struct qcow2_backing *chain_hook(const struct chain *c);

/* Layers in the chain (1 = one backing file). */
unsigned chain_depth(const struct chain *c);

#endif
