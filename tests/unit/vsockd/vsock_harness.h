#ifndef CELLVM_TESTS_VSOCK_HARNESS_H
#define CELLVM_TESTS_VSOCK_HARNESS_H

/*
 * Drives the vsock device model without rings: TX packets are built in a fake guest memory
 * (plain buffers) as descriptor chains cut wherever the test says, RX buffers are offered one at
 * a time, and the host side is real unix sockets in a temporary directory. A recording
 * accessor logs every read the model makes of guest memory.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsockd/vsock.h"

#define H_GUEST_CID 3u
#define H_MEM_SIZE  (1u << 20)
#define H_MAX_READS 4096

struct h_read {
    const uint8_t *src;
    size_t len;
};

struct harness {
    char dir[64];
    char sock[96]; /* <dir>/v.sock, the hybrid listener */
    uint8_t *mem;  /* fake guest memory, H_MEM_SIZE */
    struct h_read reads[H_MAX_READS];
    unsigned nreads;
    /* Rewrites guest memory right after a read overlapping [poke_at, poke_at + 4): a driver
       racing the device. */
    uint8_t *poke_at;
    uint32_t poke_val;
    struct vsock_mem mem_ops;
    struct vsock_dev *d;
};

struct h_pkt {
    uint32_t src_port, dst_port, len, flags, buf_alloc, fwd_cnt;
    uint16_t op, type;
    uint64_t src_cid, dst_cid;
};

/* Sets up the directory, the listener and the model (buf_alloc, max_conns 0: defaults). */
void h_init(struct harness *h, uint32_t buf_alloc, uint32_t max_conns);
void h_fini(struct harness *h);

/* A well-formed header from the guest for ports (guest src, host dst). */
struct h_pkt h_pkt(uint16_t op, uint32_t src_port, uint32_t dst_port);

/*
 * Sends one TX packet: header then payload laid out at the start of guest memory, cut into
 * descriptors of the given sizes (cuts[] sums to VSOCK_HDR_LEN + payload length; ncuts 0 means
 * one descriptor). Returns the guest address of the header.
 */
uint8_t *h_tx(struct harness *h, const struct h_pkt *p, const void *payload, size_t plen,
              const size_t *cuts, unsigned ncuts);
/* Same, with the descriptor bytes given explicitly (out_len may disagree with p->len). */
uint8_t *h_tx_raw(struct harness *h, const struct h_pkt *p, const void *payload, size_t plen,
                  size_t desc_bytes);

/* One TX element, not sent: the packet laid out at h->mem + at in one descriptor, for
   vsock_tx_batch. The caller frees it. */
struct virtq_elem *h_elem(struct harness *h, const struct h_pkt *p, const void *payload,
                          size_t plen, size_t at);

/* Offers one RX buffer of cap bytes; 1 with the packet's header and payload, 0 none. */
int h_rx(struct harness *h, size_t cap, struct h_pkt *p, uint8_t *payload, size_t *plen);
/* Polls host sockets a few times (each up to ms). */
void h_pump(struct harness *h, int ms);

/* Reads of guest memory overlapping [at, at + len): how many times each byte was read (max). */
unsigned h_reads_of(const struct harness *h, const uint8_t *at, size_t len, unsigned *min);

/* Host helpers. */
int h_listen(const char *path);
int h_connect(const char *path);
/* Host side of a guest-initiated stream on port: guest REQUEST, accept, RESPONSE. */
int h_guest_connect(struct harness *h, uint32_t guest_port, uint32_t host_port, int lfd);

#endif
