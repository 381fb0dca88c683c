#ifndef CELLVM_TEST_Q2T_H
#define CELLVM_TEST_Q2T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockd/qcow2/qcow2.h"

/* Test helpers shared by the qcow2 unit tests: qemu-img/qemu-io runs, scratch dirs, engines. */

struct q2t_img {
    int fd;
    struct qcow2_file *f;
    struct qcow2 *q;
};

/* Runs a shell command built from fmt (stdout discarded); returns its exit status, or -1. */
int q2t_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As q2t_sh, capturing up to outlen-1 bytes of stdout (NUL-terminated). */
int q2t_sh_out(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True if qemu-img and qemu-io are installed (tests skip otherwise). */
bool q2t_have_qemu(void);

/* A fresh scratch directory; q2t_rmdir removes it. */
void q2t_tmpdir(char *buf, size_t len);
void q2t_rmdir(const char *dir);

/* Opens path with the engine over the plain fd layer. Returns 0 or -errno (err filled). */
int q2t_open(struct q2t_img *im, const char *path, const struct qcow2_opts *o, char *err,
             size_t errlen);
int q2t_close(struct q2t_img *im);

/* Reads the whole guest disk through the engine and compares it with a raw file. Returns the
 * first differing offset, or -1 if equal. */
int64_t q2t_diff_raw(struct qcow2 *q, const char *raw_path);

/* Reads a file into a malloc'd buffer. */
uint8_t *q2t_slurp(const char *path, size_t *len);

/* The seed for randomised tests: CELLVM_QCOW2_SEED, else time-based; printed. */
uint64_t q2t_seed(const char *what);
uint64_t q2t_rand(uint64_t *state);

#endif
