/* MEMORY_FD, the local migration's message: its table against truncation and corruption, and
 * real memfds over a socketpair, checked the way the destination checks them (count, size,
 * seals, access mode) and refused when the fds and the table disagree. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/mig_stream.h"

#define MB (1ull << 20)

static int memfd(uint64_t size, bool seal)
{
    int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    if (seal)
        cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), 0);
    return fd;
}

static void pair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

Test(mig_memfd, table_round_trip)
{
    uint64_t in[3] = { 2 * MB, 4096, 1ull << 33 }, out[MIG_MAX_MEMFDS];
    uint8_t b[MIG_MEMFD_SIZE(MIG_MAX_MEMFDS)];
    uint32_t n = 0;
    char err[200];

    mig_memfd_encode(in, 3, b);
    cr_assert_eq(mig_memfd_decode(b, MIG_MEMFD_SIZE(3), out, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 3);
    cr_assert_arr_eq(in, out, sizeof(in));
}

Test(mig_memfd, table_truncated_and_corrupt)
{
    uint64_t in[2] = { 2 * MB, 8 * MB }, out[MIG_MAX_MEMFDS];
    uint8_t b[MIG_MEMFD_SIZE(MIG_MAX_MEMFDS) + 16], c[sizeof(b)];
    uint32_t n;
    char err[200];

    mig_memfd_encode(in, 2, b);
    /* every shorter or longer length */
    for (size_t len = 0; len < sizeof(b); len++)
        if (len != MIG_MEMFD_SIZE(2))
            cr_assert_eq(mig_memfd_decode(b, len, out, &n, err, sizeof(err)), -EPROTO, "len %zu",
                         len);
    /* every byte of the count and reserved words, and of the second row's reserved word */
    for (size_t i = 0; i < MIG_MEMFD_SIZE(2); i++) {
        if ((i >= 8 && i < 16) || (i >= 24 && i < 32))
            continue; /* sizes: below */
        memcpy(c, b, sizeof(b));
        c[i] ^= 0x01;
        cr_assert_eq(mig_memfd_decode(c, MIG_MEMFD_SIZE(2), out, &n, err, sizeof(err)), -EPROTO,
                     "byte %zu", i);
    }
    /* a size of zero, or not page aligned */
    memcpy(c, b, sizeof(b));
    memset(c + 8, 0, 8);
    cr_assert_eq(mig_memfd_decode(c, MIG_MEMFD_SIZE(2), out, &n, err, sizeof(err)), -EPROTO);
    memcpy(c, b, sizeof(b));
    c[24] |= 1;
    cr_assert_eq(mig_memfd_decode(c, MIG_MEMFD_SIZE(2), out, &n, err, sizeof(err)), -EPROTO);
    cr_assert(strstr(err, "page aligned"), "%s", err);
    /* a count past the bound */
    memset(c, 0, sizeof(c));
    c[0] = MIG_MAX_MEMFDS + 1;
    cr_assert_eq(mig_memfd_decode(c, MIG_MEMFD_SIZE(MIG_MAX_MEMFDS + 1), out, &n, err, sizeof(err)),
                 -EPROTO);
    c[0] = 0;
    cr_assert_eq(mig_memfd_decode(c, 8, out, &n, err, sizeof(err)), -EPROTO);
}

/* Two sealed memfds go over a socket; they arrive as the same files, and pass the check. */
Test(mig_memfd, fds_over_a_socket)
{
    int sv[2], fds[2] = { memfd(2 * MB, true), memfd(MB, true) }, got[MIG_MAX_MEMFDS];
    uint64_t sizes[2] = { 2 * MB, MB }, rs[MIG_MAX_MEMFDS];
    struct mig_hdr h;
    uint32_t n = 0;
    char err[200];
    char *p, *q;

    pair(sv);
    cr_assert_eq(mig_send_memfds(sv[0], fds, sizes, 2), 0);
    cr_assert_eq(mig_recv_hdr(sv[1], &h, 1000, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(h.cmd, MIG_MEMORY_FD);
    cr_assert_eq(mig_recv_memfds(sv[1], &h, 1000, rs, got, &n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_eq(rs[0], 2 * MB);
    cr_assert_eq(rs[1], MB);
    cr_assert_eq(mig_memfd_check(got[0], 0, 2 * MB, true, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_memfd_check(got[1], 1, MB, true, err, sizeof(err)), 0, "%s", err);
    cr_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
    /* the same memory: a write through one mapping shows in the other */
    p = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
    q = mmap(NULL, MB, PROT_READ | PROT_WRITE, MAP_SHARED, got[1], 0);
    cr_assert(p != MAP_FAILED && q != MAP_FAILED);
    strcpy(p + 4096, "counted");
    cr_assert_str_eq(q + 4096, "counted");
    munmap(p, MB);
    munmap(q, MB);
    for (int i = 0; i < 2; i++) {
        close(fds[i]);
        close(got[i]);
    }
    close(sv[0]);
    close(sv[1]);
}

/* What a destination refuses: a wrong size, no seals, read-only, not a regular file. */
Test(mig_memfd, check_refuses)
{
    int sealed = memfd(MB, true), loose = memfd(MB, false), ro, sv[2];
    char path[64], err[200];

    cr_assert_eq(mig_memfd_check(sealed, 0, 2 * MB, true, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "bytes"), "%s", err);
    cr_assert_eq(mig_memfd_check(loose, 0, MB, true, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "sealed"), "%s", err);
    cr_assert_eq(mig_memfd_check(loose, 0, MB, false, err, sizeof(err)), 0, "%s", err);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", sealed);
    ro = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(ro, 0);
    cr_assert_eq(mig_memfd_check(ro, 0, MB, true, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "writing"), "%s", err);
    pair(sv);
    cr_assert_eq(mig_memfd_check(sv[0], 0, MB, true, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "not a memory file"), "%s", err);
    close(sv[0]);
    close(sv[1]);
    close(ro);
    close(sealed);
    close(loose);
}

/* A header and a payload of len bytes carrying nfds fds, as a hostile peer may send them. */
static void send_raw(int sock, const uint8_t *buf, size_t len, const int *fds, size_t nfds)
{
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int) * 16)];
    } ctl;
    struct mig_hdr h = { .cmd = MIG_MEMORY_FD, .len = len };
    uint8_t hb[MIG_HDR_SIZE];
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    mig_hdr_encode(&h, hb);
    cr_assert_eq(mig_write(sock, hb, sizeof(hb)), 0);
    if (nfds) {
        struct cmsghdr *cm;

        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.b;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    cr_assert_eq(sendmsg(sock, &mh, 0), (ssize_t)len);
}

static int lowest_free_fd(void)
{
    int fd = dup(0);

    close(fd);
    return fd;
}

/* Fewer or more fds than rows, fds on a later read, a truncated payload: refused, and every
 * fd received is closed again. */
Test(mig_memfd, fds_and_table_disagree)
{
    int sv[2], fd = memfd(MB, true), got[MIG_MAX_MEMFDS], low;
    uint64_t sizes[2] = { MB, MB }, rs[MIG_MAX_MEMFDS];
    uint8_t table[MIG_MEMFD_SIZE(2)];
    struct mig_hdr h;
    uint32_t n;
    char err[200];

    pair(sv);
    low = lowest_free_fd();
    mig_memfd_encode(sizes, 2, table);
    /* two rows, one fd */
    send_raw(sv[0], table, sizeof(table), &fd, 1);
    cr_assert_eq(mig_recv_hdr(sv[1], &h, 1000, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_recv_memfds(sv[1], &h, 1000, rs, got, &n, err, sizeof(err)), -EPROTO);
    cr_assert(strstr(err, "1 memory fds for a table of 2"), "%s", err);
    /* two rows, no fd */
    send_raw(sv[0], table, sizeof(table), NULL, 0);
    cr_assert_eq(mig_recv_hdr(sv[1], &h, 1000, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_recv_memfds(sv[1], &h, 1000, rs, got, &n, err, sizeof(err)), -EPROTO);
    /* two rows, three fds */
    send_raw(sv[0], table, sizeof(table), (int[]){ fd, fd, fd }, 3);
    cr_assert_eq(mig_recv_hdr(sv[1], &h, 1000, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_recv_memfds(sv[1], &h, 1000, rs, got, &n, err, sizeof(err)), -EPROTO);
    /* a corrupt table with the right fds */
    table[4] = 1;
    send_raw(sv[0], table, sizeof(table), (int[]){ fd, fd }, 2);
    cr_assert_eq(mig_recv_hdr(sv[1], &h, 1000, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(mig_recv_memfds(sv[1], &h, 1000, rs, got, &n, err, sizeof(err)), -EPROTO);
    cr_assert(strstr(err, "reserved"), "%s", err);
    cr_assert_eq(lowest_free_fd(), low, "an fd of a refused message was kept");
    /* the peer stops after part of the payload */
    {
        struct mig_hdr hh = { .cmd = MIG_MEMORY_FD, .len = MIG_MEMFD_SIZE(1) };
        uint8_t hb[MIG_HDR_SIZE];

        mig_hdr_encode(&hh, hb);
        cr_assert_eq(mig_write(sv[0], hb, sizeof(hb)), 0);
        cr_assert_eq(mig_write(sv[0], table, 4), 0);
        close(sv[0]);
        cr_assert_eq(mig_recv_hdr(sv[1], &h, 1000, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(mig_recv_memfds(sv[1], &h, 1000, rs, got, &n, err, sizeof(err)), -ECONNRESET);
    }
    close(fd);
    close(sv[1]);
}

/* A peer that announces the message and sends nothing: bounded by the timeout. */
Test(mig_memfd, peer_stalls)
{
    struct mig_hdr h = { .cmd = MIG_MEMORY_FD, .len = MIG_MEMFD_SIZE(1) };
    uint64_t rs[MIG_MAX_MEMFDS];
    int sv[2], got[MIG_MAX_MEMFDS];
    uint32_t n;
    char err[200];

    pair(sv);
    cr_assert_eq(mig_recv_memfds(sv[1], &h, 50, rs, got, &n, err, sizeof(err)), -ETIMEDOUT);
    close(sv[0]);
    close(sv[1]);
}
