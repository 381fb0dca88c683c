#ifndef CELLVM_TEST_RECORD_FILE_H
#define CELLVM_TEST_RECORD_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "blockd/qcow2/qcow2_file.h"

/*
 * Crash-simulator file layer: an in-memory file that logs every write, truncate, hole punch
 * and flush, so the file can be rebuilt as it might be after a crash at any point.
 */
enum rec_kind {
    REC_WRITE,
    REC_TRUNC,
    REC_FLUSH,
};

struct rec_entry {
    enum rec_kind kind;
    uint64_t off; /* WRITE: offset; TRUNC: new size */
    uint64_t len;
    uint8_t *data;
};

struct rec_file;

/* Starts from the bytes of an existing image. */
struct rec_file *rec_new(const uint8_t *base, size_t len);
void rec_free(struct rec_file *r);
struct qcow2_file *rec_layer(struct rec_file *r);

size_t rec_count(const struct rec_file *r);
const struct rec_entry *rec_get(const struct rec_file *r, size_t i);

/*
 * Writes the file as a crash would leave it: the base, every entry before `keep_all` or before
 * the last flush ahead of `cut`, and of the later entries before `cut` each write kept whole,
 * dropped, or torn at a 512-byte boundary, as chosen by the xorshift state (NULL keeps all).
 * Returns 0 or -errno.
 */
int rec_rebuild(const struct rec_file *r, size_t keep_all, size_t cut, uint64_t *rng,
                const char *path);

#endif
