#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "q2t.h"

static int vsh(char *out, size_t outlen, const char *fmt, va_list ap)
{
    char cmd[4096];
    int n = vsnprintf(cmd, sizeof(cmd) - 16, fmt, ap);

    if (n < 0 || (size_t)n >= sizeof(cmd) - 16)
        return -1;
    if (!out) {
        strcat(cmd, " >/dev/null");
        int st = system(cmd);
        return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
    }
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t got = fread(out, 1, outlen - 1, p);
    out[got] = 0;
    int st = pclose(p);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

int q2t_sh(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int r = vsh(NULL, 0, fmt, ap);
    va_end(ap);
    return r;
}

int q2t_sh_out(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int r = vsh(out, outlen, fmt, ap);
    va_end(ap);
    return r;
}

bool q2t_have_qemu(void)
{
    return access("/usr/bin/qemu-img", X_OK) == 0 && access("/usr/bin/qemu-io", X_OK) == 0;
}

void q2t_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/cellvm-qcow2-XXXXXX");
    if (!mkdtemp(buf))
        buf[0] = 0;
}

void q2t_rmdir(const char *dir)
{
    if (dir[0] && strncmp(dir, "/tmp/cellvm-qcow2-", 18) == 0)
        q2t_sh("rm -rf '%s'", dir);
}

int q2t_open(struct q2t_img *im, const char *path, const struct qcow2_opts *o, char *err,
             size_t errlen)
{
    int ret;

    memset(im, 0, sizeof(*im));
    im->fd = open(path, (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (im->fd < 0)
        return -errno;
    ret = qcow2_fd_file_new(im->fd, &im->f);
    if (ret == 0)
        ret = qcow2_open(&im->q, im->f, o, err, errlen);
    if (ret < 0) {
        qcow2_file_destroy(im->f);
        close(im->fd);
        memset(im, 0, sizeof(*im));
        im->fd = -1;
    }
    return ret;
}

int q2t_close(struct q2t_img *im)
{
    int ret = qcow2_close(im->q);

    qcow2_file_destroy(im->f);
    if (im->fd >= 0)
        close(im->fd);
    memset(im, 0, sizeof(*im));
    im->fd = -1;
    return ret;
}

uint8_t *q2t_slurp(const char *path, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *b = NULL;

    if (fd < 0 || fstat(fd, &st) < 0)
        goto out;
    b = malloc((size_t)st.st_size + 1);
    if (b && pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
        free(b);
        b = NULL;
    }
    *len = (size_t)st.st_size;
out:
    if (fd >= 0)
        close(fd);
    return b;
}

int64_t q2t_diff_raw(struct qcow2 *q, const char *raw_path)
{
    size_t rlen = 0;
    uint8_t *ref = q2t_slurp(raw_path, &rlen);
    uint64_t size = qcow2_size(q), chunk = 1 << 20;
    uint8_t *buf = malloc(chunk);
    int64_t diff = -1;

    if (!ref || !buf || rlen != size) {
        diff = 0;
        goto out;
    }
    for (uint64_t off = 0; off < size && diff < 0; off += chunk) {
        uint64_t n = size - off < chunk ? size - off : chunk;
        if (qcow2_pread(q, buf, n, off) < 0) {
            diff = (int64_t)off;
            break;
        }
        for (uint64_t i = 0; i < n; i++) {
            if (buf[i] != ref[off + i]) {
                diff = (int64_t)(off + i);
                break;
            }
        }
    }
out:
    free(ref);
    free(buf);
    return diff;
}

uint64_t q2t_seed(const char *what)
{
    const char *e = getenv("CELLVM_QCOW2_SEED");
    uint64_t s = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

    fprintf(stderr, "%s: seed %" PRIu64 " (replay with CELLVM_QCOW2_SEED=%" PRIu64 ")\n", what, s,
            s);
    return s ? s : 1;
}

uint64_t q2t_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}
