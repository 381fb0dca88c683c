/*
 * Fuzz target: a hostile QCOW2 image (v2 or v3, any header, extensions, tables, L2 entries,
 * compressed clusters, backing name) opened read-write or read-only, then a few guest reads,
 * writes, discards, write-zeroes, flushes and a resize, then closed. Input: the 8-byte control
 * header of fuzz_qcow2_util.h, then the image file. Checked beyond ASan/UBSan: a refused image
 * says why in one printable line; a write reads back; write-zeroes reads as zeroes; the backing
 * hook is only asked for bytes inside the disk; a read-only engine writes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz_qcow2_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fq s = { .fd = -1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool ro;
    struct stat before, after;

    if (size < FQ_HDR)
        return 0;
    fq_init(&s);
    ro = data[0] & FQ_READONLY;
    if (fq_open(&s, data + FQ_HDR, size - FQ_HDR, data[0], ro) < 0)
        return 0;
    if (fstat(s.fd, &before) < 0)
        abort();
    for (unsigned i = 1; i < FQ_HDR; i++) {
        int r = fq_op(&s, data[i], data[(i + 1) % FQ_HDR]);

        if (ro && r == 0 && (data[i] & 7) != FQ_READ && (data[i] & 7) != FQ_READ2 &&
            (data[i] & 7) != FQ_FLUSH)
            abort(); /* a read-only engine accepted a change */
    }
    fq_close(&s);
    if (ro) {
        /* Nothing reached the file: same size, and no byte written (memfd mtime). */
        if (fstat(s.fd, &after) < 0 || after.st_size != before.st_size ||
            after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
            after.st_mtim.tv_nsec != before.st_mtim.tv_nsec)
            abort();
    }
    return 0;
}
