#ifndef CELLVM_IMG_H
#define CELLVM_IMG_H

#include <stdbool.h>
#include <stdint.h>

#include "blockd/qcow2/qcow2.h"

/* An open image for cellvm-img: raw (fd) or qcow2 (engine), with its backing chain. */
struct img {
    int fd; /* owned */
    struct qcow2_file *file;
    struct qcow2 *q; /* NULL for raw */
    struct img *backing;
    struct qcow2_backing hook;
    uint64_t size;
};

/* Opens path; fmt NULL probes. With backing, a named backing file is opened too (depth
 * bounded), relative to the image's directory. 0 or -errno (message printed). */
int img_open(struct img **out, const char *path, const char *fmt, bool writable, bool backing,
             unsigned depth);
void img_close(struct img *im);
int img_read(struct img *im, void *buf, uint64_t len, uint64_t off);

/* Parses a size with an optional k/M/G/T suffix (powers of 1024). */
int img_parse_size(const char *s, uint64_t *out);

/* Creates an empty image (opts as `-o` of create); used by convert. */
int img_create_main(const char *path, const char *fmt, char *opts, uint64_t size);

int img_convert_main(int argc, char **argv);

#endif
