/* cellvm-img convert: copies guest bytes from any supported image into a new raw or qcow2
 * image, leaving all-zero chunks unwritten (sparse raw, unallocated qcow2). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockd/qcow2/cellvm-img.h"

#define CHUNK (1u << 20)

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i])
            return false;
    }
    return true;
}

static int copy(struct img *src, struct img *dst)
{
    uint8_t *buf = malloc(CHUNK);
    int ret = 0;

    if (!buf)
        return -ENOMEM;
    for (uint64_t off = 0; off < src->size && ret == 0; off += CHUNK) {
        uint64_t n = src->size - off < CHUNK ? src->size - off : CHUNK;
        ret = img_read(src, buf, n, off);
        if (ret < 0 || all_zero(buf, n))
            continue;
        if (dst->q) {
            ret = qcow2_pwrite(dst->q, buf, n, off);
        } else {
            ssize_t w = dst->file->ops->pwrite(dst->file, buf, n, off);
            ret = w < 0 ? (int)w : 0;
        }
    }
    if (ret == 0)
        ret = dst->q ? qcow2_flush(dst->q) : dst->file->ops->flush(dst->file);
    free(buf);
    return ret;
}

int img_convert_main(int argc, char **argv)
{
    const char *ifmt = NULL, *ofmt = "raw";
    char *opts = NULL;
    bool backing = false;
    struct img *src = NULL, *dst = NULL;
    int c, ret;

    static const struct option lo[] = {
        { "backing-files", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    while ((c = getopt_long(argc, argv, "f:O:o:", lo, NULL)) != -1) {
        if (c == 'f')
            ifmt = optarg;
        else if (c == 'O')
            ofmt = optarg;
        else if (c == 'o')
            opts = optarg;
        else if (c == 'b')
            backing = !strcmp(optarg, "on");
        else
            return 1;
    }
    if (optind != argc - 2 || (strcmp(ofmt, "raw") && strcmp(ofmt, "qcow2"))) {
        fprintf(stderr, "usage: cellvm-img convert [-f fmt] -O raw|qcow2 [-o opts] SRC DST\n");
        return 1;
    }
    if (img_open(&src, argv[optind], ifmt, false, backing, 0) < 0)
        return 1;
    ret = img_create_main(argv[optind + 1], ofmt, opts, src->size);
    if (ret == 0)
        ret = img_open(&dst, argv[optind + 1], ofmt, true, false, 0);
    if (ret == 0) {
        ret = copy(src, dst);
        if (ret < 0)
            fprintf(stderr, "cellvm-img: convert: %s\n", strerror(-ret));
    }
    img_close(dst);
    img_close(src);
    return ret < 0 ? 1 : 0;
}
