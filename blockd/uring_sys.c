/* Ring creation with IORING_SETUP_R_DISABLED, fixed files and restrictions (DESIGN.md, sandbox
 * facts). No register operation is allowed once the ring runs. */
#include "uring_sys.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define URING_MAX_RESTRICTIONS 16

/* Debian's liburing 2.3 declares io_uring_register_restrictions and io_uring_enable_rings but
 * its shared library does not export them, so these two go to the kernel directly. */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned n)
{
    long r = syscall(__NR_io_uring_register, ring->ring_fd, op, arg, n);

    return r < 0 ? -errno : 0;
}

static int ring_init(struct io_uring *ring, unsigned entries)
{
    struct io_uring_params p;
    /* Task work only when the thread enters the ring: completions cost no interrupts of the
     * thread while it is busy. Older kernels refuse the flags; fall back without them. */
    const unsigned lazy = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int r;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL | lazy;
    r = io_uring_queue_init_params(entries, ring, &p);
    if (r == -EINVAL) {
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_R_DISABLED;
        r = io_uring_queue_init_params(entries, ring, &p);
    }
    return r;
}

int blk_uring_create(struct io_uring *ring, unsigned entries, const int *files, unsigned nfiles,
                     const uint8_t *ops, unsigned nops)
{
    struct io_uring_restriction res[URING_MAX_RESTRICTIONS];
    unsigned n = 0;
    int r;

    if (nops + 2 > URING_MAX_RESTRICTIONS)
        return -E2BIG;
    r = ring_init(ring, entries);
    if (r < 0)
        return r;
    r = io_uring_register_files(ring, files, nfiles);
    if (r < 0)
        goto fail;
    memset(res, 0, sizeof(res));
    for (unsigned i = 0; i < nops; i++) {
        res[n].opcode = IORING_RESTRICTION_SQE_OP;
        res[n++].sqe_op = ops[i];
    }
    res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    res[n++].sqe_flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
    res[n++].sqe_flags = IOSQE_FIXED_FILE;
    r = ring_register(ring, IORING_REGISTER_RESTRICTIONS, res, n);
    if (r < 0)
        goto fail;
    r = ring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    if (r < 0)
        goto fail;
    return 0;
fail:
    io_uring_queue_exit(ring);
    return r;
}
