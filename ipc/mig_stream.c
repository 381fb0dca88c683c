#include "ipc/mig_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc/le.h"

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "migration stream: %s", what);
    return -EPROTO;
}

void mig_hdr_encode(const struct mig_hdr *h, uint8_t out[MIG_HDR_SIZE])
{
    le_put32(out, MIG_MAGIC);
    le_put16(out + 4, MIG_VERSION);
    le_put16(out + 6, h->cmd);
    le_put16(out + 8, h->status);
    le_put16(out + 10, 0);
    le_put32(out + 12, 0);
    le_put64(out + 16, h->len);
}

/* The largest payload each command may carry, and the smallest. */
static bool len_ok(uint16_t cmd, uint64_t len)
{
    switch (cmd) {
    case MIG_START:
    case MIG_COMPLETE:
    case MIG_ABANDON:
        return len == 0;
    case MIG_CONFIG:
        return len > 0 && len <= MIG_MAX_CONFIG;
    case MIG_STATE:
        return len > 0 && len <= MIG_MAX_STATE;
    case MIG_MEMORY:
        return len > MIG_TABLE_SIZE(1) && len <= MIG_TABLE_SIZE(MIG_MAX_RANGES) + MIG_MAX_DATA;
    case MIG_MEMORY_FD:
        return len >= MIG_MEMFD_SIZE(1) && len <= MIG_MEMFD_SIZE(MIG_MAX_MEMFDS);
    case MIG_REPLY:
        return len <= MIG_MAX_REASON;
    default:
        return false;
    }
}

int mig_hdr_decode(const uint8_t *buf, size_t len, struct mig_hdr *h, char *err, size_t errlen)
{
    uint16_t version;

    if (len != MIG_HDR_SIZE)
        return fail(err, errlen, "truncated message header");
    if (le_get32(buf) != MIG_MAGIC)
        return fail(err, errlen, "not a cellvm migration stream (bad magic)");
    version = le_get16(buf + 4);
    if (version != MIG_VERSION) {
        snprintf(err, errlen, "migration stream: version %u, this cellvm speaks version %u",
                 version, MIG_VERSION);
        return -EPROTO;
    }
    h->cmd = le_get16(buf + 6);
    h->status = le_get16(buf + 8);
    h->len = le_get64(buf + 16);
    if (le_get16(buf + 10) || le_get32(buf + 12))
        return fail(err, errlen, "reserved header bytes are not zero");
    if (h->cmd < MIG_START || (h->cmd > MIG_MEMORY_FD && h->cmd != MIG_REPLY)) {
        snprintf(err, errlen, "migration stream: unknown command %u", h->cmd);
        return -EPROTO;
    }
    if (h->cmd == MIG_REPLY ? h->status > MIG_ERROR : h->status != 0)
        return fail(err, errlen, "bad status");
    if (!len_ok(h->cmd, h->len)) {
        snprintf(err, errlen, "migration stream: command %u with a payload of %llu bytes", h->cmd,
                 (unsigned long long)h->len);
        return -EPROTO;
    }
    return 0;
}

int mig_ranges_count(const uint8_t *buf, uint64_t msg_len, uint32_t *n, char *err, size_t errlen)
{
    *n = le_get32(buf);
    if (!*n || *n > MIG_MAX_RANGES)
        return fail(err, errlen, "memory range count out of bounds");
    if (msg_len <= MIG_TABLE_SIZE(*n))
        return fail(err, errlen, "memory message shorter than its range table");
    return 0;
}

int mig_ranges_decode(const uint8_t *buf, size_t tlen, uint64_t msg_len, struct mig_range *out,
                      uint32_t *n, char *err, size_t errlen)
{
    uint64_t sum = 0, end = 0;
    int r;

    if (tlen < 8)
        return fail(err, errlen, "truncated memory range table");
    r = mig_ranges_count(buf, msg_len, n, err, errlen);
    if (r)
        return r;
    if (tlen != MIG_TABLE_SIZE(*n))
        return fail(err, errlen, "memory range table size does not match its count");
    if (le_get32(buf + 4))
        return fail(err, errlen, "reserved memory table bytes are not zero");
    for (uint32_t i = 0; i < *n; i++) {
        uint64_t gpa = le_get64(buf + 8 + 16 * i), len = le_get64(buf + 16 + 16 * i);

        if (!len || gpa % MIG_PAGE || len % MIG_PAGE || gpa > UINT64_MAX - len)
            return fail(err, errlen, "memory range not page aligned, empty or wrapping");
        if (i && gpa < end)
            return fail(err, errlen, "memory ranges not ascending or overlapping");
        end = gpa + len;
        if (len > MIG_MAX_DATA - sum)
            return fail(err, errlen, "memory ranges larger than one message may carry");
        sum += len;
        out[i] = (struct mig_range){ .gpa = gpa, .len = len };
    }
    if (sum != msg_len - tlen)
        return fail(err, errlen, "memory ranges and payload length disagree");
    return 0;
}

int mig_read(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;

    while (len) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int pr = poll(&pf, 1, timeout_ms);
        ssize_t n;

        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -errno;
        if (!pr)
            return -ETIMEDOUT;
        n = read(fd, p, len); /* poll said readable: returns what is there */
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (!n)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mig_write(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    /* sendmsg rather than write: MSG_NOSIGNAL makes a closed peer -EPIPE, not a signal (and
     * the core's filter already allows it). */
    while (len) {
        struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_hdr(int fd, uint16_t cmd, uint16_t status, uint64_t len)
{
    struct mig_hdr h = { .cmd = cmd, .status = status, .len = len };
    uint8_t b[MIG_HDR_SIZE];

    mig_hdr_encode(&h, b);
    return mig_write(fd, b, sizeof(b));
}

int mig_send(int fd, enum mig_cmd cmd, const void *buf, uint64_t len)
{
    int r = send_hdr(fd, (uint16_t)cmd, 0, len);

    if (!r && len)
        r = mig_write(fd, buf, (size_t)len);
    return r;
}

int mig_recv_hdr(int fd, struct mig_hdr *h, int timeout_ms, char *err, size_t errlen)
{
    uint8_t b[MIG_HDR_SIZE];
    int r = mig_read(fd, b, sizeof(b), timeout_ms);

    if (r) {
        snprintf(err, errlen, "migration stream: %s",
                 r == -ECONNRESET  ? "the peer closed the connection"
                 : r == -ETIMEDOUT ? "the peer stopped answering"
                                   : strerror(-r));
        return r;
    }
    return mig_hdr_decode(b, sizeof(b), h, err, errlen);
}

int mig_reply(int fd, bool ok, const char *reason)
{
    size_t len = ok || !reason ? 0 : strnlen(reason, MIG_MAX_REASON);
    int r = send_hdr(fd, MIG_REPLY, ok ? MIG_OK : MIG_ERROR, len);

    if (!r && len)
        r = mig_write(fd, reason, len);
    return r;
}

int mig_wait_reply(int fd, int timeout_ms, char *err, size_t errlen)
{
    struct mig_hdr h;
    char why[MIG_MAX_REASON + 1];
    int r = mig_recv_hdr(fd, &h, timeout_ms, err, errlen);

    if (r)
        return r;
    if (h.cmd != MIG_REPLY)
        return fail(err, errlen, "the peer sent a request where a reply was due");
    r = mig_read(fd, why, (size_t)h.len, timeout_ms);
    if (r)
        return fail(err, errlen, "truncated reply");
    if (h.status == MIG_OK)
        return 0;
    why[h.len] = '\0';
    for (size_t i = 0; i < h.len; i++)
        if ((unsigned char)why[i] < 0x20 || (unsigned char)why[i] > 0x7e)
            why[i] = '?';
    snprintf(err, errlen, "the peer refused: %s", h.len ? why : "no reason given");
    return -ECONNABORTED;
}
