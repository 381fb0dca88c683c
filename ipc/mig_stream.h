/*
 * The live migration stream (issue 18): Cloud Hypervisor's request/response phases (Start,
 * Config, Memory repeated, State, Complete, Abandon) on a connected stream socket between two
 * cellvm instances. Every message starts with a fixed 24-byte header that names the stream's
 * version; the receiver checks it and every length against its bound before reading a payload,
 * so a truncated, corrupt or foreign stream ends the migration with a clear error instead of a
 * read into the unknown.
 *
 * Header (little-endian): magic u32 "CVMG", version u16, cmd u16, status u16, reserved u16 (0),
 * reserved u32 (0), payload length u64. A request is answered by one MIG_REPLY whose status is
 * MIG_OK or MIG_ERROR and whose payload is a printable reason (bounded).
 *
 * Payloads: START, COMPLETE, ABANDON none; CONFIG the VmConfig JSON; STATE state.json;
 * MEMORY a range table (u32 count, u32 reserved 0, count x {u64 gpa, u64 length}, page aligned,
 * ascending, not overlapping) followed by the ranges' bytes in table order.
 *
 * MEMORY_FD (local migration, unix: only, between Start and Config as Cloud Hypervisor sends
 * its MemoryFd): the guest RAM itself instead of its bytes. A table (u32 count, u32 reserved 0,
 * count x {u64 size, u64 reserved 0}), one row per memory zone in the order of the config's
 * zones (one row without zones), and count fds in SCM_RIGHTS on the payload's bytes, in the
 * same order. The destination maps them instead of receiving pages; the source sends no
 * MEMORY message after it.
 */
#ifndef CELLVM_IPC_MIG_STREAM_H
#define CELLVM_IPC_MIG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC         0x474d5643u /* "CVMG" as bytes */
#define MIG_VERSION       1
#define MIG_HDR_SIZE      24
#define MIG_PAGE          4096u
#define MIG_MAX_CONFIG    (1u << 20)     /* config.json */
#define MIG_MAX_STATE     (64u << 20)    /* state.json (VMS_MAX_JSON) */
#define MIG_MAX_REASON    480            /* a reply's text */
#define MIG_MAX_RANGES    1024           /* ranges in one MEMORY message */
#define MIG_MAX_DATA      (256ull << 20) /* bytes of guest RAM in one MEMORY message */
#define MIG_TABLE_SIZE(n) (8u + 16u * (uint32_t)(n))
#define MIG_MAX_MEMFDS    8 /* memory zones (GUEST_MEM_MAX_ZONES) */
#define MIG_MEMFD_SIZE(n) (8u + 16u * (uint32_t)(n))

enum mig_cmd {
    MIG_START = 1,
    MIG_CONFIG = 2,
    MIG_MEMORY = 3,
    MIG_STATE = 4,
    MIG_COMPLETE = 5,
    MIG_ABANDON = 6,
    MIG_MEMORY_FD = 7,
    MIG_REPLY = 0x80,
};

enum mig_status { MIG_OK = 0, MIG_ERROR = 1 };

struct mig_hdr {
    uint16_t cmd;    /* enum mig_cmd */
    uint16_t status; /* MIG_REPLY only */
    uint64_t len;    /* payload bytes that follow */
};

struct mig_range {
    uint64_t gpa, len;
};

void mig_hdr_encode(const struct mig_hdr *h, uint8_t out[MIG_HDR_SIZE]);

/* len bytes of buf as a header: 0, or -EPROTO with a printable reason in err (truncated,
 * not a migration stream, another version, unknown command, a length past its bound). */
int mig_hdr_decode(const uint8_t *buf, size_t len, struct mig_hdr *h, char *err, size_t errlen);

/*
 * A MEMORY message's range table: buf holds the first tlen bytes of a payload of msg_len bytes.
 * *n ranges go to out (room for MIG_MAX_RANGES). The table must be exactly tlen bytes
 * (MIG_TABLE_SIZE of its count, read from the first 4 bytes), every range page aligned,
 * non-empty, ascending, not overlapping, and their lengths must add up to the rest of the
 * payload. 0 or -EPROTO with err.
 */
int mig_ranges_decode(const uint8_t *buf, size_t tlen, uint64_t msg_len, struct mig_range *out,
                      uint32_t *n, char *err, size_t errlen);

/* Range count of a table whose first 4 bytes are buf, checked against MIG_MAX_RANGES and the
 * payload length: 0 with *n, or -EPROTO with err. */
int mig_ranges_count(const uint8_t *buf, uint64_t msg_len, uint32_t *n, char *err, size_t errlen);

/* A MEMORY_FD table of n rows (n <= MIG_MAX_MEMFDS) into out (MIG_MEMFD_SIZE(n) bytes). */
void mig_memfd_encode(const uint64_t *sizes, uint32_t n, uint8_t *out);

/* A MEMORY_FD table of exactly len bytes: *n sizes (room for MIG_MAX_MEMFDS) into sizes, each
 * non-zero and page aligned, reserved bytes zero, len matching the count. 0 or -EPROTO with
 * err. */
int mig_memfd_decode(const uint8_t *buf, size_t len, uint64_t *sizes, uint32_t *n, char *err,
                     size_t errlen);

/*
 * Whether fd, received as guest RAM of `size` bytes, may be mapped as such: a regular file
 * open for reading and writing, exactly size bytes long; with sealed, a memfd sealed against
 * shrinking and growing (F_GET_SEALS), so the peer cannot cut the memory from under the VM.
 * 0 or -EINVAL/-errno with err naming row `i`.
 */
int mig_memfd_check(int fd, uint32_t i, uint64_t size, bool sealed, char *err, size_t errlen);

/* Sends MEMORY_FD: the table of sizes and the n fds (stay the caller's). 0 or -errno. */
int mig_send_memfds(int fd, const int *fds, const uint64_t *sizes, uint32_t n);

/*
 * The payload of a MEMORY_FD whose header h was read: the table into sizes and *n, as many fds
 * into fds (room for MIG_MAX_MEMFDS; owned by the caller on success, closed on failure). Fds
 * must arrive with the payload's bytes, exactly one per row; truncated control data, extra fds
 * or a short payload are -EPROTO. The fds are not checked here (mig_memfd_check). 0 or
 * -errno/-EPROTO with err.
 */
int mig_recv_memfds(int fd, const struct mig_hdr *h, int timeout_ms, uint64_t *sizes, int *fds,
                    uint32_t *n, char *err, size_t errlen);

/* Stream I/O on a connected socket. Reads wait at most timeout_ms for each piece of data (a
 * peer that stalls is -ETIMEDOUT); a peer that closes is -ECONNRESET. 0 or -errno. */
int mig_read(int fd, void *buf, size_t len, int timeout_ms);
int mig_write(int fd, const void *buf, size_t len);

/* A request: header and payload (len bytes, buf may be NULL when len is 0). */
int mig_send(int fd, enum mig_cmd cmd, const void *buf, uint64_t len);

/* The next header, decoded and checked. 0 or -errno/-EPROTO with err. */
int mig_recv_hdr(int fd, struct mig_hdr *h, int timeout_ms, char *err, size_t errlen);

/* Answers the request just read: ok, or an error with a printable reason. */
int mig_reply(int fd, bool ok, const char *reason);

/* Waits for the reply to a request: 0 when the peer said OK; -ECONNABORTED with its reason in
 * err when it refused; -errno/-EPROTO with err when the stream broke. */
int mig_wait_reply(int fd, int timeout_ms, char *err, size_t errlen);

#endif
