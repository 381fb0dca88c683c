#ifndef CELLVM_SANDBOX_URING_H
#define CELLVM_SANDBOX_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Seccomp cannot see what an io_uring does, so a ring gets its own allowlist: it is created
 * disabled, given its fixed-file table and its restrictions, and only then enabled. After that
 * the kernel refuses (-EACCES) any opcode, SQE flag or register operation not listed.
 */
struct sbx_uring_rules {
    const uint8_t *opcodes; /* IORING_OP_* the ring may run */
    unsigned nopcodes;
    const uint8_t *register_ops; /* IORING_REGISTER_* allowed once enabled (files update) */
    unsigned nregister_ops;
    bool fixed_files_only; /* every SQE must name a registered file (IOSQE_FIXED_FILE) */
    uint8_t allowed_flags; /* further IOSQE_* flags an SQE may carry */
    unsigned nfiles;       /* size of the (sparse) fixed-file table, 0 for none */
};

/* io_uring_queue_init with IORING_SETUP_R_DISABLED | flags, then the rules, then enable. On
 * failure nothing is left open. 0 or -errno. */
int sbx_uring_init(unsigned entries, struct io_uring *ring, unsigned flags,
                   const struct sbx_uring_rules *rules);

/* The rules blockd's queue threads use: reads and writes (vectored and fixed), fsync, fallocate,
 * poll and read on kick eventfds, all on fixed files; only files-update once enabled. */
extern const struct sbx_uring_rules sbx_uring_blockd;

/* The rules netd's queue-pair threads use: vectored writes of transmitted frames to the pair's
 * TAP, nothing else (no fixed file, see uring_sys.c; no register operation). */
extern const struct sbx_uring_rules sbx_uring_netd;

#endif
