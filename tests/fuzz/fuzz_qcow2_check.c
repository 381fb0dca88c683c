/*
 * Fuzz target: qcow2_check and its repairs on a hostile image, around a few guest writes.
 * Input: the 8-byte control header of fuzz_qcow2_util.h (FQ_READONLY there picks the repair
 * mode: set means leaks only, clear means everything), then the image file.
 *
 * Invariants, stated on what the engine reports:
 *  - an image check finds consistent stays consistent through the engine's own writes, closes
 *    cleanly and opens again;
 *  - after a repair that returns 0, a new check finds nothing to repair (no leaks; no
 *    corruptions either after a full rebuild).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "blockd/qcow2/qcow2_check.h"
#include "tests/fuzz/fuzz_qcow2_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fq s = { .fd = -1 };

static bool clean(const struct qcow2_check_result *r)
{
    return !r->leaks && !r->corruptions;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum qcow2_repair mode;
    struct qcow2_check_result r1, r2, r3;
    bool consistent, failed = false;
    int r;

    if (size < FQ_HDR)
        return 0;
    fq_init(&s);
    mode = data[0] & FQ_READONLY ? QCOW2_REPAIR_LEAKS : QCOW2_REPAIR_ALL;
    if (fq_open(&s, data + FQ_HDR, size - FQ_HDR, data[0], false) < 0)
        return 0;
    r = qcow2_check(s.q, QCOW2_REPAIR_NONE, &r1);
    consistent = r == 0 && clean(&r1) && !fq_corrupt(&s);
    for (unsigned i = 1; i < FQ_HDR; i++)
        if (fq_op(&s, data[i], data[(i + 1) % FQ_HDR]) < 0)
            failed = true;
    r = qcow2_check(s.q, QCOW2_REPAIR_NONE, &r2);
    if (consistent && !failed && (r < 0 || !clean(&r2)))
        abort(); /* the engine's own writes left a consistent image inconsistent */
    if (r == 0 && !fq_corrupt(&s) && qcow2_check(s.q, mode, &r3) == 0) {
        r = qcow2_check(s.q, QCOW2_REPAIR_NONE, &r2);
        if (r == 0 && (r2.leaks || (mode == QCOW2_REPAIR_ALL && r2.corruptions)))
            abort(); /* repaired, yet still something to repair */
    }
    r = fq_close(&s);
    if (consistent && !failed) {
        if (r < 0)
            abort();
        if (fq_open(&s, NULL, 0, data[0] & ~FQ_READONLY, true) < 0)
            abort(); /* a consistent image, cleanly closed, no longer opens */
        fq_close(&s);
    }
    return 0;
}
