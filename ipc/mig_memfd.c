/* MEMORY_FD, the local migration's message (ipc/mig_stream.h): guest RAM passed as fds. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc/fdsend.h"
#include "ipc/mig_stream.h"

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "migration stream: %s", what);
    return -EPROTO;
}

void mig_memfd_encode(const uint64_t *sizes, uint32_t n, uint8_t *out)
{
    put64(out, n); /* u32 count, u32 reserved 0 */
    for (uint32_t i = 0; i < n; i++) {
        put64(out + 8 + 16 * i, sizes[i]);
        put64(out + 16 + 16 * i, 0);
    }
}

int mig_memfd_decode(const uint8_t *buf, size_t len, uint64_t *sizes, uint32_t *n, char *err,
                     size_t errlen)
{
    uint64_t head;

    if (len < 8)
        return fail(err, errlen, "truncated memory fd table");
    head = get64(buf);
    if (head >> 32)
        return fail(err, errlen, "reserved memory fd table bytes are not zero");
    if (!head || head > MIG_MAX_MEMFDS)
        return fail(err, errlen, "memory fd count out of bounds");
    if (len != MIG_MEMFD_SIZE(head))
        return fail(err, errlen, "memory fd table size does not match its count");
    for (uint32_t i = 0; i < (uint32_t)head; i++) {
        uint64_t size = get64(buf + 8 + 16 * i);

        if (get64(buf + 16 + 16 * i))
            return fail(err, errlen, "reserved memory fd table bytes are not zero");
        if (!size || size % MIG_PAGE)
            return fail(err, errlen, "memory fd size empty or not page aligned");
        sizes[i] = size;
    }
    *n = (uint32_t)head;
    return 0;
}

int mig_memfd_check(int fd, uint32_t i, uint64_t size, bool sealed, char *err, size_t errlen)
{
    const int need = F_SEAL_SHRINK | F_SEAL_GROW;
    struct stat st;
    int fl = fcntl(fd, F_GETFL), seals;

    if (fstat(fd, &st) < 0 || fl < 0) {
        snprintf(err, errlen, "local migration: memory fd %u: %s", i, strerror(errno));
        return -errno;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "local migration: memory fd %u is not a memory file", i);
        return -EINVAL;
    }
    if ((fl & O_ACCMODE) != O_RDWR) {
        snprintf(err, errlen, "local migration: memory fd %u is not open for writing", i);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size != size) {
        snprintf(err, errlen,
                 "local migration: memory fd %u holds %llu bytes, the configuration's zone %llu", i,
                 (unsigned long long)st.st_size, (unsigned long long)size);
        return -EINVAL;
    }
    if (!sealed)
        return 0;
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & need) != need) {
        snprintf(err, errlen,
                 "local migration: memory fd %u is not a memfd sealed against shrinking and "
                 "growing",
                 i);
        return -EINVAL;
    }
    return 0;
}

int mig_send_memfds(int fd, const int *fds, const uint64_t *sizes, uint32_t n)
{
    uint8_t table[MIG_MEMFD_SIZE(MIG_MAX_MEMFDS)], hdr[MIG_HDR_SIZE];
    struct mig_hdr h = { .cmd = MIG_MEMORY_FD, .len = MIG_MEMFD_SIZE(n) };
    struct iovec iov = { .iov_base = table, .iov_len = MIG_MEMFD_SIZE(n) };
    int r;

    if (!n || n > MIG_MAX_MEMFDS)
        return -EINVAL;
    mig_memfd_encode(sizes, n, table);
    mig_hdr_encode(&h, hdr);
    r = mig_write(fd, hdr, sizeof(hdr));
    /* The fds go with the table's first bytes (ipc_sendv writes the rest as it goes). */
    return r ? r : ipc_sendv(fd, &iov, 1, fds, n);
}

static void close_all(int *fds, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* Takes the SCM_RIGHTS fds of one recvmsg into fds[*got...]; -EPROTO on anything else. */
static int take_fds(struct msghdr *mh, int *fds, uint32_t *got)
{
    int r = 0;

    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        size_t k;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
            r = -EPROTO;
            continue;
        }
        k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t j = 0; j < k; j++) {
            int f;

            memcpy(&f, CMSG_DATA(cm) + j * sizeof(int), sizeof(int));
            if (*got < MIG_MAX_MEMFDS)
                fds[(*got)++] = f;
            else {
                close(f);
                r = -EPROTO;
            }
        }
    }
    return r;
}

int mig_recv_memfds(int fd, const struct mig_hdr *h, int timeout_ms, uint64_t *sizes, int *fds,
                    uint32_t *n, char *err, size_t errlen)
{
    uint8_t table[MIG_MEMFD_SIZE(MIG_MAX_MEMFDS)];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * MIG_MAX_MEMFDS)];
    } ctl;
    size_t done = 0;
    uint32_t got = 0;
    int r = 0;

    if (h->cmd != MIG_MEMORY_FD || h->len > sizeof(table))
        return fail(err, errlen, "not a memory fd message");
    while (!r && done < h->len) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        struct iovec iov = { .iov_base = table + done, .iov_len = (size_t)h->len - done };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf) };
        int pr = poll(&pf, 1, timeout_ms);
        ssize_t k;

        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            r = pr ? -errno : -ETIMEDOUT;
            snprintf(err, errlen, "migration stream: %s",
                     pr ? strerror(errno) : "the peer stopped answering");
            break;
        }
        k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0) {
            r = k ? -errno : -ECONNRESET;
            snprintf(err, errlen, "migration stream: %s",
                     k ? strerror(errno) : "truncated memory fd message");
            break;
        }
        if (take_fds(&mh, fds, &got) || (mh.msg_flags & MSG_CTRUNC))
            r = fail(err, errlen, "memory fds arrived truncated or with foreign control data");
        done += (size_t)k;
    }
    if (!r)
        r = mig_memfd_decode(table, (size_t)h->len, sizes, n, err, errlen);
    if (!r && got != *n) {
        snprintf(err, errlen, "migration stream: %u memory fds for a table of %u rows", got, *n);
        r = -EPROTO;
    }
    if (r)
        close_all(fds, got);
    return r;
}
