#ifndef CELLVM_QCOW2_CHECK_H
#define CELLVM_QCOW2_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "blockd/qcow2/qcow2.h"

struct qcow2_check_result {
    uint64_t leaks;       /* clusters whose refcount is higher than their references */
    uint64_t corruptions; /* refcount too low, or references that cannot be right */
    uint64_t leaks_fixed;
    uint64_t corruptions_fixed;
    uint64_t allocated; /* clusters referenced by the image */
    uint64_t image_end; /* bytes */
};

enum qcow2_repair {
    QCOW2_REPAIR_NONE,
    QCOW2_REPAIR_LEAKS,
    QCOW2_REPAIR_ALL, /* rebuilds the refcount structure */
};

/*
 * Recounts every reference (header, L1, refcount structure, L2 tables, data and compressed
 * clusters) and compares with the stored refcounts; findings go to the warn callback. Repair
 * needs a writable engine. Images with internal snapshots are refused (-ENOTSUP). A leak
 * repair that had to leave leaks alone (their refcount block also serves other clusters, so
 * only a rebuild can fix them) repairs the rest, fills res and returns -EUCLEAN.
 */
int qcow2_check(struct qcow2 *q, enum qcow2_repair repair, struct qcow2_check_result *res);

#endif
