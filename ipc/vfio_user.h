#ifndef CELLVM_IPC_VFIO_USER_H
#define CELLVM_IPC_VFIO_USER_H

/*
 * The vfio-user wire format (QEMU docs/interop/vfio-user.rst, version 0.1) and its codec, shared by
 * cellvm-vfiod (the server) and the core (the client). Transport: a connected AF_UNIX SOCK_STREAM
 * socket; every message is a 16-byte header followed by (size - 16) bytes of payload; fds travel
 * in SCM_RIGHTS with the header's first byte. Little-endian, as on the only host cellvm runs on.
 * Every payload is validated here before anyone reads a field: a peer is hostile.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VFU_VERSION_MAJOR 0
#define VFU_VERSION_MINOR 1

/* Commands (header.command). */
enum vfu_cmd {
    VFU_CMD_VERSION = 1,
    VFU_CMD_DMA_MAP = 2,
    VFU_CMD_DMA_UNMAP = 3,
    VFU_CMD_DEVICE_GET_INFO = 4,
    VFU_CMD_DEVICE_GET_REGION_INFO = 5,
    VFU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
    VFU_CMD_DEVICE_GET_IRQ_INFO = 7,
    VFU_CMD_DEVICE_SET_IRQS = 8,
    VFU_CMD_REGION_READ = 9,
    VFU_CMD_REGION_WRITE = 10,
    VFU_CMD_DMA_READ = 11,
    VFU_CMD_DMA_WRITE = 12,
    VFU_CMD_DEVICE_RESET = 13,
    VFU_CMD_MAX = 13, /* the highest command this codec knows */
};

/* header.flags */
#define VFU_F_TYPE_MASK    0xfu
#define VFU_F_TYPE_COMMAND 0x0u
#define VFU_F_TYPE_REPLY   0x1u
#define VFU_F_NO_REPLY     0x10u
#define VFU_F_ERROR        0x20u

struct vfu_hdr {
    uint16_t msg_id;
    uint16_t command;
    uint32_t size; /* header included */
    uint32_t flags;
    uint32_t error; /* errno, in a reply with VFU_F_ERROR */
} __attribute__((packed));

/* Limits this implementation holds a peer to (both directions). */
#define VFU_MAX_MSG     (1u << 20) /* header + payload */
#define VFU_MAX_DATA    (1u << 16) /* REGION_READ/WRITE count; advertised max_data_xfer_size */
#define VFU_MAX_FDS     16         /* advertised max_msg_fds */
#define VFU_MAX_VERSION 4096       /* JSON capabilities string, NUL included */
#define VFU_MAX_SPARSE  16         /* sparse mmap areas per region */

/* VERSION: payload is this, then a NUL-terminated JSON string:
 * {"capabilities":{"max_msg_fds":N,"max_data_xfer_size":N,"pgsizes":4096}} */
struct vfu_version {
    uint16_t major;
    uint16_t minor;
} __attribute__((packed));

struct vfu_caps {
    uint32_t max_msg_fds;        /* default 1 when absent (spec) */
    uint32_t max_data_xfer_size; /* default 1 MiB when absent (spec) */
    uint64_t pgsizes;            /* default 4096 */
};

/* DMA_MAP / DMA_UNMAP flags */
#define VFU_DMA_READ  0x1u
#define VFU_DMA_WRITE 0x2u

struct vfu_dma_map {
    uint32_t argsz;  /* sizeof(struct vfu_dma_map) */
    uint32_t flags;  /* VFU_DMA_READ | VFU_DMA_WRITE */
    uint64_t offset; /* into the fd that comes with the message */
    uint64_t addr;   /* IOVA (the guest physical address, no vIOMMU) */
    uint64_t size;
} __attribute__((packed));

struct vfu_dma_unmap {
    uint32_t argsz;
    uint32_t flags; /* 0: no dirty bitmap, no unmap-all here */
    uint64_t addr;
    uint64_t size;
} __attribute__((packed));

/* DEVICE_GET_INFO (request: argsz only meaningful) */
#define VFU_DEV_F_RESET 0x1u /* VFIO_DEVICE_FLAGS_RESET */
#define VFU_DEV_F_PCI   0x2u /* VFIO_DEVICE_FLAGS_PCI */

struct vfu_device_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t num_regions;
    uint32_t num_irqs;
} __attribute__((packed));

/* DEVICE_GET_REGION_INFO: request is the struct with argsz = the client's buffer size (>= 32)
 * and index; the reply is the struct, then capabilities (cap_offset counts from the struct's
 * start). When the capabilities do not fit in the client's argsz, the reply carries argsz = the
 * size needed and no capabilities, and the client asks again. A mappable region's reply carries
 * one fd to mmap at `offset` (+ a sparse area's offset). */
#define VFU_REGION_F_READ  0x1u
#define VFU_REGION_F_WRITE 0x2u
#define VFU_REGION_F_MMAP  0x4u
#define VFU_REGION_F_CAPS  0x8u

struct vfu_region_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t cap_offset;
    uint64_t size;
    uint64_t offset;
} __attribute__((packed));

#define VFU_CAP_SPARSE_MMAP 1 /* VFIO_REGION_INFO_CAP_SPARSE_MMAP, version 1 */

struct vfu_cap_hdr {
    uint16_t id;
    uint16_t version;
    uint32_t next; /* offset of the next capability from the region info's start; 0: last */
} __attribute__((packed));

struct vfu_sparse_area {
    uint64_t offset;
    uint64_t size;
} __attribute__((packed));

struct vfu_cap_sparse {
    struct vfu_cap_hdr hdr;
    uint32_t nr_areas;
    uint32_t reserved;
    /* struct vfu_sparse_area areas[nr_areas]; */
} __attribute__((packed));

/* DEVICE_GET_IRQ_INFO */
#define VFU_IRQ_F_EVENTFD    0x1u
#define VFU_IRQ_F_MASKABLE   0x2u
#define VFU_IRQ_F_AUTOMASKED 0x4u
#define VFU_IRQ_F_NORESIZE   0x8u

struct vfu_irq_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index; /* VFIO_PCI_INTX_IRQ_INDEX 0, MSI 1, MSIX 2, ERR 3, REQ 4 */
    uint32_t count;
} __attribute__((packed));

/* DEVICE_SET_IRQS: flags as VFIO_IRQ_SET_*; with DATA_EVENTFD the message carries exactly
 * `count` fds (SCM_RIGHTS cannot carry VFIO's -1, so a client gives every vector an eventfd;
 * DATA_NONE | ACTION_TRIGGER with count > 0 fires the vectors, as in VFIO, and count 0 disables
 * the index). A client splits a block larger than the server's max_msg_fds into several
 * messages by `start`. */
#define VFU_IRQ_SET_DATA_NONE      (1u << 0)
#define VFU_IRQ_SET_DATA_BOOL      (1u << 1)
#define VFU_IRQ_SET_DATA_EVENTFD   (1u << 2)
#define VFU_IRQ_SET_ACTION_MASK    (1u << 3)
#define VFU_IRQ_SET_ACTION_UNMASK  (1u << 4)
#define VFU_IRQ_SET_ACTION_TRIGGER (1u << 5)

#define VFU_PCI_INTX_IRQ_INDEX     0
#define VFU_PCI_MSI_IRQ_INDEX      1
#define VFU_PCI_MSIX_IRQ_INDEX     2
#define VFU_PCI_ERR_IRQ_INDEX      3
#define VFU_PCI_REQ_IRQ_INDEX      4

/* PCI region indexes (as VFIO's) */
#define VFU_PCI_BAR0_REGION_INDEX   0
#define VFU_PCI_ROM_REGION_INDEX    6
#define VFU_PCI_CONFIG_REGION_INDEX 7
#define VFU_PCI_NUM_REGIONS         9

struct vfu_irq_set {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t start;
    uint32_t count;
    /* DATA_BOOL: count bytes follow */
} __attribute__((packed));

/* REGION_READ (request: this with count; reply: this, then count bytes) and REGION_WRITE
 * (request: this, then count bytes; reply: this) */
struct vfu_region_access {
    uint64_t offset;
    uint32_t region;
    uint32_t count;
} __attribute__((packed));

/*
 * One received message: header, payload (header.size - 16 bytes, in a buffer the codec owns)
 * and the fds that came with it (owned by whoever holds the message).
 */
struct vfu_msg {
    struct vfu_hdr hdr;
    uint8_t *payload; /* malloc'd, hdr.size - sizeof(hdr) bytes; NULL when empty */
    size_t len;
    int fds[VFU_MAX_FDS];
    unsigned nfds;
};

/*
 * Sends header + payload (hdr->size is set here to sizeof(hdr) + len) with nfds fds attached to
 * the first byte. Loops over short writes. The fds stay the caller's. 0 or -errno.
 */
int vfu_send(int sock, struct vfu_hdr *hdr, const void *payload, size_t len, const int *fds,
             unsigned nfds);

/*
 * Receives one message into m (m->payload allocated, fds stored). Fails with every received fd
 * closed and m empty when: the header's size is below 16 or above max_size (-EMSGSIZE), more than
 * max_fds fds came (-E2BIG), fds arrived anywhere but with the header (-EPROTO), or the stream
 * ended mid-message (-ECONNRESET). Returns 1 for a message, 0 at a clean end of stream.
 * After -E2BIG and -EPROTO the message was read whole, so the stream keeps its framing, and
 * m->hdr holds its header (payload and fds gone) so that the caller can answer it with an error;
 * after any other error the stream cannot continue.
 */
int vfu_recv(int sock, struct vfu_msg *m, size_t max_size, unsigned max_fds);

/* Frees m's payload and closes the fds it still holds (each set to -1 once taken). */
void vfu_msg_release(struct vfu_msg *m);

/* The command's name for logs ("DMA_MAP"), "UNKNOWN" for a number this codec does not know. */
const char *vfu_cmd_name(uint16_t cmd);

/* A reply header for request `req` (same id and command), error 0. */
void vfu_reply_hdr(const struct vfu_hdr *req, struct vfu_hdr *rep, uint32_t err);

/*
 * VERSION payloads: the string this side offers, and the parse of the peer's (unknown keys
 * ignored, known keys with the wrong type or out of range refused). 0 or -EINVAL.
 * encode: *len is the string's size with its NUL (the bytes that follow struct vfu_version).
 * decode: payload is the whole VERSION payload (struct vfu_version, then the optional string).
 */
int vfu_version_encode(const struct vfu_caps *caps, char *buf, size_t cap, size_t *len);
int vfu_version_decode(const void *payload, size_t len, struct vfu_version *v,
                       struct vfu_caps *caps);

/*
 * Per-command payload checks for the server side: the payload's size against the command's
 * fixed part and against its own argsz/count fields, flags known, fd count as the command needs.
 * 0 or -EINVAL (with a reason in err for the log).
 */
int vfu_check_request(const struct vfu_msg *m, char *err, size_t errlen);

#endif
