/* The migration stream codec against truncation and corruption: every header byte, every
 * range-table rule, and the stream reader over a socketpair whose peer stops mid-message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/mig_stream.h"

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

Test(mig_stream, header_round_trip)
{
    struct mig_hdr h = { .cmd = MIG_STATE, .len = 1234 }, d;
    uint8_t b[MIG_HDR_SIZE];
    char err[200];

    mig_hdr_encode(&h, b);
    cr_assert_eq(mig_hdr_decode(b, sizeof(b), &d, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(d.cmd, MIG_STATE);
    cr_assert_eq(d.len, 1234);
    cr_assert_eq(d.status, 0);
}

Test(mig_stream, truncated_header)
{
    struct mig_hdr h = { .cmd = MIG_START }, d;
    uint8_t b[MIG_HDR_SIZE];
    char err[200];

    mig_hdr_encode(&h, b);
    for (size_t n = 0; n < MIG_HDR_SIZE; n++)
        cr_assert_eq(mig_hdr_decode(b, n, &d, err, sizeof(err)), -EPROTO, "length %zu", n);
    cr_assert(strstr(err, "truncated"));
}

/* Flipping any bit of the magic, version, reserved bytes or status of a request is refused. */
Test(mig_stream, corrupt_header_bits)
{
    struct mig_hdr h = { .cmd = MIG_COMPLETE }, d;
    uint8_t b[MIG_HDR_SIZE];
    char err[200];

    mig_hdr_encode(&h, b);
    for (size_t i = 0; i < 16; i++) {
        if (i == 6 || i == 7)
            continue; /* the command: checked below */
        for (int bit = 0; bit < 8; bit++) {
            uint8_t c[MIG_HDR_SIZE];

            memcpy(c, b, sizeof(c));
            c[i] ^= (uint8_t)(1u << bit);
            cr_assert_eq(mig_hdr_decode(c, sizeof(c), &d, err, sizeof(err)), -EPROTO,
                         "byte %zu bit %d", i, bit);
        }
    }
}

Test(mig_stream, version_and_magic_named)
{
    struct mig_hdr h = { .cmd = MIG_START }, d;
    uint8_t b[MIG_HDR_SIZE];
    char err[200];

    mig_hdr_encode(&h, b);
    b[4] = 7;
    cr_assert_eq(mig_hdr_decode(b, sizeof(b), &d, err, sizeof(err)), -EPROTO);
    cr_assert(strstr(err, "version 7"), "%s", err);
    mig_hdr_encode(&h, b);
    memcpy(b, "HTTP", 4);
    cr_assert_eq(mig_hdr_decode(b, sizeof(b), &d, err, sizeof(err)), -EPROTO);
    cr_assert(strstr(err, "magic"), "%s", err);
}

Test(mig_stream, commands_and_lengths)
{
    static const struct {
        uint16_t cmd, status;
        uint64_t len;
        bool ok;
    } cases[] = {
        { MIG_START, 0, 0, true },
        { MIG_START, 0, 1, false },
        { MIG_COMPLETE, 0, 8, false },
        { MIG_ABANDON, 0, 0, true },
        { MIG_CONFIG, 0, 0, false },
        { MIG_CONFIG, 0, MIG_MAX_CONFIG, true },
        { MIG_CONFIG, 0, MIG_MAX_CONFIG + 1, false },
        { MIG_STATE, 0, MIG_MAX_STATE + 1, false },
        { MIG_STATE, 0, 100, true },
        { MIG_MEMORY, 0, MIG_TABLE_SIZE(1), false },
        { MIG_MEMORY, 0, MIG_TABLE_SIZE(1) + MIG_PAGE, true },
        { MIG_MEMORY, 0, UINT64_MAX, false },
        { MIG_REPLY, MIG_OK, 0, true },
        { MIG_REPLY, MIG_ERROR, MIG_MAX_REASON, true },
        { MIG_REPLY, MIG_ERROR, MIG_MAX_REASON + 1, false },
        { MIG_REPLY, 2, 0, false },
        { MIG_STATE, MIG_ERROR, 100, false },
        { 0, 0, 0, false },
        { MIG_MEMORY_FD, 0, 0, false },
        { MIG_MEMORY_FD, 0, MIG_MEMFD_SIZE(1), true },
        { MIG_MEMORY_FD, 0, MIG_MEMFD_SIZE(MIG_MAX_MEMFDS), true },
        { MIG_MEMORY_FD, 0, MIG_MEMFD_SIZE(MIG_MAX_MEMFDS) + 16, false },
        { MIG_MEMORY_FD, MIG_ERROR, MIG_MEMFD_SIZE(1), false },
        { 8, 0, 0, false },
        { 0x81, 0, 0, false },
    };
    char err[200];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mig_hdr h = { .cmd = cases[i].cmd, .status = cases[i].status, .len = cases[i].len };
        struct mig_hdr d;
        uint8_t b[MIG_HDR_SIZE];

        mig_hdr_encode(&h, b);
        cr_assert_eq(mig_hdr_decode(b, sizeof(b), &d, err, sizeof(err)) == 0, cases[i].ok,
                     "case %zu: %s", i, err);
    }
}

/* A table of n ranges; data is the payload length the header would announce. */
static size_t table(uint8_t *b, const struct mig_range *r, uint32_t n)
{
    put32(b, n);
    put32(b + 4, 0);
    for (uint32_t i = 0; i < n; i++) {
        put64(b + 8 + 16 * i, r[i].gpa);
        put64(b + 16 + 16 * i, r[i].len);
    }
    return MIG_TABLE_SIZE(n);
}

Test(mig_stream, ranges_valid)
{
    const struct mig_range in[] = { { 0, MIG_PAGE }, { 0x100000, 3 * MIG_PAGE } };
    struct mig_range out[MIG_MAX_RANGES];
    uint8_t b[MIG_TABLE_SIZE(2)];
    size_t t = table(b, in, 2);
    uint32_t n = 0;
    char err[200];

    cr_assert_eq(mig_ranges_decode(b, t, t + 4 * MIG_PAGE, out, &n, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[1].gpa, 0x100000);
    cr_assert_eq(out[1].len, 3 * MIG_PAGE);
}

Test(mig_stream, ranges_refused)
{
    static const struct {
        struct mig_range r[2];
        uint32_t n;
        const char *what;
    } bad[] = {
        { { { 1, MIG_PAGE } }, 1, "unaligned gpa" },
        { { { 0, 100 } }, 1, "unaligned length" },
        { { { 0, 0 } }, 1, "empty" },
        { { { UINT64_MAX - MIG_PAGE + 1, 2 * MIG_PAGE } }, 1, "wrapping" },
        { { { 0x2000, MIG_PAGE }, { 0x1000, MIG_PAGE } }, 2, "descending" },
        { { { 0x1000, 2 * MIG_PAGE }, { 0x2000, MIG_PAGE } }, 2, "overlapping" },
        { { { 0, MIG_MAX_DATA }, { MIG_MAX_DATA, MIG_PAGE } }, 2, "too much data" },
    };
    struct mig_range out[MIG_MAX_RANGES];
    char err[200];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t b[MIG_TABLE_SIZE(2)];
        size_t t = table(b, bad[i].r, bad[i].n);
        uint64_t sum = bad[i].r[0].len + bad[i].r[1].len;
        uint32_t n;

        cr_assert_eq(mig_ranges_decode(b, t, t + sum, out, &n, err, sizeof(err)), -EPROTO, "%s",
                     bad[i].what);
    }
}

Test(mig_stream, ranges_truncated_and_mismatched)
{
    const struct mig_range in[] = { { 0, MIG_PAGE }, { 0x10000, MIG_PAGE } };
    struct mig_range out[MIG_MAX_RANGES];
    uint8_t b[MIG_TABLE_SIZE(2)];
    size_t t = table(b, in, 2);
    uint32_t n;
    char err[200];

    for (size_t k = 0; k < t; k++)
        cr_assert_eq(mig_ranges_decode(b, k, t + 2 * MIG_PAGE, out, &n, err, sizeof(err)), -EPROTO,
                     "table cut at %zu", k);
    /* The data the header announces must be exactly the ranges' total. */
    cr_assert_eq(mig_ranges_decode(b, t, t + MIG_PAGE, out, &n, err, sizeof(err)), -EPROTO);
    cr_assert_eq(mig_ranges_decode(b, t, t + 3 * MIG_PAGE, out, &n, err, sizeof(err)), -EPROTO);
    /* A count past the bound, and zero. */
    put32(b, MIG_MAX_RANGES + 1);
    cr_assert_eq(mig_ranges_count(b, UINT64_MAX, &n, err, sizeof(err)), -EPROTO);
    put32(b, 0);
    cr_assert_eq(mig_ranges_count(b, 1 << 20, &n, err, sizeof(err)), -EPROTO);
    /* Reserved bytes. */
    table(b, in, 2);
    b[5] = 1;
    cr_assert_eq(mig_ranges_decode(b, t, t + 2 * MIG_PAGE, out, &n, err, sizeof(err)), -EPROTO);
}

Test(mig_stream, replies_over_a_socket)
{
    int sv[2];
    char err[600];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(mig_reply(sv[0], true, NULL), 0);
    cr_assert_eq(mig_wait_reply(sv[1], 1000, err, sizeof(err)), 0);
    cr_assert_eq(mig_reply(sv[0], false, "no room\nfor you"), 0);
    cr_assert_eq(mig_wait_reply(sv[1], 1000, err, sizeof(err)), -ECONNABORTED);
    cr_assert(strstr(err, "no room?for you"), "%s", err);
    /* A request where a reply is due. */
    cr_assert_eq(mig_send(sv[0], MIG_START, NULL, 0), 0);
    cr_assert_eq(mig_wait_reply(sv[1], 1000, err, sizeof(err)), -EPROTO);
    close(sv[0]);
    close(sv[1]);
}

/* A peer that stops mid-header, mid-reply, or says nothing at all. */
Test(mig_stream, peer_stops)
{
    struct mig_hdr h = { .cmd = MIG_REPLY, .status = MIG_ERROR, .len = 50 };
    uint8_t b[MIG_HDR_SIZE];
    int sv[2];
    char err[600];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(mig_wait_reply(sv[1], 50, err, sizeof(err)), -ETIMEDOUT);
    mig_hdr_encode(&h, b);
    cr_assert_eq(mig_write(sv[0], b, 10), 0);
    cr_assert_eq(mig_wait_reply(sv[1], 50, err, sizeof(err)), -ETIMEDOUT);
    close(sv[0]);
    cr_assert_eq(mig_wait_reply(sv[1], 50, err, sizeof(err)), -ECONNRESET);
    cr_assert(strstr(err, "closed"), "%s", err);
    close(sv[1]);

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(mig_write(sv[0], b, sizeof(b)), 0);
    cr_assert_eq(mig_write(sv[0], "half", 4), 0);
    close(sv[0]);
    cr_assert_eq(mig_wait_reply(sv[1], 50, err, sizeof(err)), -EPROTO);
    cr_assert(strstr(err, "truncated"), "%s", err);
    close(sv[1]);
}

/* Random garbage never decodes into a header silently: only the real magic and version pass. */
Test(mig_stream, garbage)
{
    uint8_t b[MIG_HDR_SIZE];
    struct mig_hdr d;
    char err[200];
    uint32_t x = 12345;
    int passed = 0;

    for (int i = 0; i < 100000; i++) {
        for (size_t k = 0; k < sizeof(b); k++) {
            x = x * 1103515245u + 12345u;
            b[k] = (uint8_t)(x >> 16);
        }
        passed += mig_hdr_decode(b, sizeof(b), &d, err, sizeof(err)) == 0;
    }
    cr_assert_eq(passed, 0);
}
