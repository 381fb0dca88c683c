#ifndef CELLVM_NETD_NET_HDR_H
#define CELLVM_NETD_NET_HDR_H

/*
 * The virtio-net device model without threads or fds: feature sets, the TAP offloads that match
 * them, the virtio-net header checks on transmit and the scatter of a received frame into
 * receive buffers. Everything here works on plain memory, so the unit tests drive it with fake
 * elements.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "device-procs/virtq.h"

#define NET_HDR_LEN        12 /* virtio_net_hdr_v1 / _mrg_rxbuf: VERSION_1 or MRG_RXBUF */
#define NET_HDR_LEN_LEGACY 10 /* virtio_net_hdr without num_buffers */
#define NET_ETH_HLEN       14
#define NET_VLAN_HLEN      4
/* A GSO frame: 64 KiB of IP packet behind an Ethernet and a VLAN header. */
#define NET_MAX_GSO_FRAME (65535 + NET_ETH_HLEN + NET_VLAN_HLEN)
#define NET_DEFAULT_MTU   1500
#define NET_CONFIG_SIZE   12 /* mac, status, max_virtqueue_pairs, mtu */

/* Device options from the --net spec that shape the feature set. */
struct net_opts {
    bool tso, ufo, csum; /* offload_tso, offload_ufo, offload_csum */
    bool has_mtu;
    uint16_t mtu;
    uint16_t pairs; /* queue pairs, >= 1 */
};

/* What transmit and receive need of the negotiated features; fixed while queues run. */
struct net_cfg {
    uint64_t features;
    size_t hdr_len;        /* 10 or 12; also the TAP's vnet header size */
    uint32_t max_tx_frame; /* largest frame (without the header) taken from the driver */
    bool mrg_rxbuf;
};

/* Why a chain was refused; each has its own counter. */
enum net_bad {
    NET_OK = 0,
    NET_BAD_SHORT,   /* chain shorter than the header (or, on TX, than an Ethernet header) */
    NET_BAD_TOO_BIG, /* frame larger than negotiated (TX) or than the buffers (RX) */
    NET_BAD_HDR,     /* header asks for an offload that was not negotiated */
    NET_BAD_SEGS,    /* more segments than one writev takes */
};

/* The device features offered for opts (VERSION_1, EVENT_IDX and INDIRECT_DESC included). */
uint64_t net_features(const struct net_opts *o);

/* The negotiated view of features (a subset of net_features). */
void net_cfg_init(struct net_cfg *c, uint64_t features, uint16_t mtu);

/* TUN_F_* bits for TUNSETOFFLOAD: what the TAP may hand us, i.e. what the driver accepts. */
unsigned net_tun_offloads(uint64_t features);

/* virtio_net_config bytes: mac, status (link), max_virtqueue_pairs, mtu (little endian). */
void net_config(uint8_t out[NET_CONFIG_SIZE], const uint8_t mac[6], bool link_up, uint16_t pairs,
                uint16_t mtu);

/*
 * Checks a transmit chain: copies its header to hdr (c->hdr_len bytes, a stable copy the guest
 * cannot change afterwards) and builds in out[] the iovecs of the frame behind it. Returns the
 * number of iovecs with NET_OK in *bad, or 0 with the reason in *bad.
 */
unsigned net_tx_prepare(const struct net_cfg *c, const struct virtq_elem *e, uint8_t *hdr,
                        struct iovec *out, unsigned max_out, enum net_bad *bad);

/* Copies len bytes from src into the element's writable part at byte off; returns bytes copied
   (fewer when the element ends). */
size_t net_copy_to_elem(const struct virtq_elem *e, size_t off, const void *src, size_t len);

/*
 * Receive scatter. A frame read from the TAP (header first, c->hdr_len bytes) goes into one
 * buffer, or with MRG_RXBUF into as many as it takes. The caller pops elements and feeds them
 * in one at a time (keeping the first one's element until the end); net_rx_add copies what fits
 * and says what to do next.
 */
struct net_rx {
    const uint8_t *frame; /* header + packet, owned by the caller */
    size_t len;
    size_t off;      /* bytes placed so far */
    unsigned nbufs;  /* buffers used so far */
    uint16_t *heads; /* per buffer: head and bytes written (room for max_bufs) */
    uint32_t *lens;
    unsigned max_bufs; /* the ring size: a frame never takes more */
};

enum net_rx_step {
    NET_RX_MORE,  /* the element was used; the frame needs another buffer */
    NET_RX_DONE,  /* the frame is placed: net_rx_finish, then push heads/lens[0..nbufs) */
    NET_RX_SHORT, /* the element cannot hold the header: push it back with 0 bytes, try next */
    NET_RX_DROP,  /* the frame cannot fit (no MRG_RXBUF, or the whole ring would not do):
                     unpop the element(s) taken and drop the frame */
};

void net_rx_begin(struct net_rx *rx, const uint8_t *frame, size_t len, uint16_t *heads,
                  uint32_t *lens, unsigned max_bufs);
enum net_rx_step net_rx_add(struct net_rx *rx, const struct net_cfg *c, const struct virtq_elem *e);
/* Writes num_buffers into the first buffer's header (12-byte headers only). */
void net_rx_finish(const struct net_rx *rx, const struct net_cfg *c,
                   const struct virtq_elem *first);

#endif
