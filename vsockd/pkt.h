#ifndef CELLVM_VSOCKD_PKT_H
#define CELLVM_VSOCKD_PKT_H

/*
 * virtio-vsock packets: the 44-byte little-endian header (virtio 1.2, 5.10.6) and the helpers
 * that move bytes between iovecs of guest memory and local buffers. Every read of guest memory
 * the device model does goes through a struct vsock_mem, so a test can record them and prove
 * each header is fetched exactly once.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VSOCK_HDR_LEN  44u
#define VSOCK_HOST_CID 2u
/* Largest payload of one packet (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE, Cloud Hypervisor's
   max packet buffer); a longer TX packet is malformed. */
#define VSOCK_MAX_PKT (64u * 1024u)

enum vsock_op {
    VSOCK_OP_INVALID = 0,
    VSOCK_OP_REQUEST = 1,
    VSOCK_OP_RESPONSE = 2,
    VSOCK_OP_RST = 3,
    VSOCK_OP_SHUTDOWN = 4,
    VSOCK_OP_RW = 5,
    VSOCK_OP_CREDIT_UPDATE = 6,
    VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_TYPE_STREAM 1u
#define VSOCK_SHUT_RCV    1u /* the sender will receive no more */
#define VSOCK_SHUT_SEND   2u /* the sender will send no more */

/* The header in host byte order: a private copy, never a view of guest memory. */
struct vsock_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port;
    uint32_t len;
    uint16_t type, op;
    uint32_t flags;
    uint32_t buf_alloc, fwd_cnt;
};

/* Reads of guest memory: copy len bytes at guest-mapped src into dst. */
struct vsock_mem {
    void (*read)(void *opaque, void *dst, const void *src, size_t len);
    void *opaque;
};

/* The plain memcpy accessor every daemon uses. */
extern const struct vsock_mem vsock_mem_direct;

/*
 * Copies len bytes starting off bytes into iov[0..n) to dst through mem, one read per segment
 * piece. Returns the bytes copied (less than len when the iovecs end first).
 */
size_t vsock_iov_read(const struct vsock_mem *mem, const struct iovec *iov, unsigned n, size_t off,
                      void *dst, size_t len);
/* Writes len bytes of src into iov[0..n) at off; returns the bytes written. */
size_t vsock_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *src,
                       size_t len);
/*
 * Fills out[0..max) with the slice [off, off + len) of iov[0..n), without touching the bytes.
 * Returns the number of iovecs used; *got gets the bytes they cover (less than len when the
 * iovecs end first).
 */
unsigned vsock_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
                         struct iovec *out, unsigned max, size_t *got);

void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VSOCK_HDR_LEN]);
void vsock_hdr_encode(uint8_t raw[VSOCK_HDR_LEN], const struct vsock_hdr *h);

#endif
