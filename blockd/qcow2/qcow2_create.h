#ifndef CELLVM_QCOW2_CREATE_H
#define CELLVM_QCOW2_CREATE_H

#include <stdbool.h>
#include <stdint.h>

#include "blockd/qcow2/qcow2_file.h"

enum qcow2_prealloc {
    QCOW2_PREALLOC_OFF,
    QCOW2_PREALLOC_METADATA, /* L2 tables and data clusters allocated, file sized */
    QCOW2_PREALLOC_FULL,     /* as metadata, and every data cluster written with zeroes */
};

struct qcow2_create_opts {
    uint64_t size;
    uint32_t cluster_size;  /* 0: 64 KiB */
    uint32_t refcount_bits; /* 0: 16 */
    bool lazy_refcounts;
    enum qcow2_prealloc prealloc;
};

/* Writes a new QCOW2 v3 image over f (truncated first). 0 or -errno with a message in err. */
int qcow2_create(struct qcow2_file *f, const struct qcow2_create_opts *o, char *err, size_t errlen);

#endif
