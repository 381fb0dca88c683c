#include "sandbox/uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RESTRICTIONS 64

static const uint8_t blockd_ops[] = {
    IORING_OP_READV,    IORING_OP_WRITEV,      IORING_OP_READ_FIXED,   IORING_OP_WRITE_FIXED,
    IORING_OP_READ,     IORING_OP_WRITE,       IORING_OP_FSYNC,        IORING_OP_FALLOCATE,
    IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_ASYNC_CANCEL, IORING_OP_NOP,
};
static const uint8_t blockd_regs[] = { IORING_REGISTER_FILES_UPDATE };

const struct sbx_uring_rules sbx_uring_blockd = {
    .opcodes = blockd_ops,
    .nopcodes = sizeof(blockd_ops),
    .register_ops = blockd_regs,
    .nregister_ops = sizeof(blockd_regs),
    .fixed_files_only = true,
    .allowed_flags = IOSQE_IO_LINK | IOSQE_IO_DRAIN | IOSQE_ASYNC,
    .nfiles = 64,
};

/* No fixed file: a registered TAP would stay open until the ring's teardown, which the kernel
 * finishes on a worker after netd exits, so the TAP would outlive its VM. WRITEV on a plain fd
 * adds nothing to what netd's seccomp profile already allows (writev on any fd it holds). */
static const uint8_t netd_ops[] = { IORING_OP_WRITEV };

const struct sbx_uring_rules sbx_uring_netd = {
    .opcodes = netd_ops,
    .nopcodes = sizeof(netd_ops),
    .fixed_files_only = false,
    .allowed_flags = 0,
    .nfiles = 0,
};

/* Debian's liburing 2.3 declares io_uring_register_restrictions and io_uring_enable_rings but
 * does not export them: register directly. */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned n)
{
    return syscall(SYS_io_uring_register, ring->ring_fd, op, arg, n) < 0 ? -errno : 0;
}

int sbx_uring_init(unsigned entries, struct io_uring *ring, unsigned flags,
                   const struct sbx_uring_rules *rules)
{
    struct io_uring_restriction res[MAX_RESTRICTIONS];
    unsigned n = 0;
    int r;

    if (rules->nopcodes + rules->nregister_ops + 2 > MAX_RESTRICTIONS)
        return -E2BIG;
    memset(res, 0, sizeof(res));
    for (unsigned i = 0; i < rules->nopcodes; i++) {
        res[n].opcode = IORING_RESTRICTION_SQE_OP;
        res[n++].sqe_op = rules->opcodes[i];
    }
    for (unsigned i = 0; i < rules->nregister_ops; i++) {
        res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
        res[n++].register_op = rules->register_ops[i];
    }
    res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    res[n++].sqe_flags = rules->allowed_flags | (rules->fixed_files_only ? IOSQE_FIXED_FILE : 0);
    if (rules->fixed_files_only) {
        res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
        res[n++].sqe_flags = IOSQE_FIXED_FILE;
    }
    r = io_uring_queue_init(entries, ring, flags | IORING_SETUP_R_DISABLED);
    if (r < 0)
        return r;
    if (rules->nfiles)
        r = io_uring_register_files_sparse(ring, rules->nfiles);
    if (r >= 0)
        r = ring_register(ring, IORING_REGISTER_RESTRICTIONS, res, n);
    if (r >= 0)
        r = ring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
    if (r < 0) {
        io_uring_queue_exit(ring);
        return r;
    }
    return 0;
}
