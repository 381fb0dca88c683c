#ifndef CELLVM_IPC_VHOST_USER_H
#define CELLVM_IPC_VHOST_USER_H

/*
 * vhost-user wire format, shared by the backend state machine (device-procs/) and the frontend
 * library (ipc/vu_frontend.h). Messages are a 12-byte header plus a payload, in host byte
 * order, on an AF_UNIX stream socket; fds ride in SCM_RIGHTS with the first byte.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHOST_USER_VERSION         0x1u
#define VHOST_USER_VERSION_MASK    0x3u
#define VHOST_USER_FLAG_REPLY      (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

#define VHOST_USER_HDR_SIZE        12u
/* QEMU's classic memory table and its per-message fd cap. */
#define VHOST_USER_MAX_REGIONS 8u
#define VHOST_USER_MAX_FDS     8u
/* Slots reported by GET_MAX_MEM_SLOTS (QEMU's and rust-vmm's limit). */
#define VHOST_USER_MAX_MEM_SLOTS 509u
#define VHOST_USER_MAX_CONFIG    256u

/* Virtio feature bits with a vhost-user meaning. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VHOST_USER_F_LOG_ALL           26
/* The device sits behind an IOMMU: ring and buffer addresses are I/O virtual addresses,
 * translated through the IOTLB the frontend fills with IOTLB_MSG (same value as
 * <linux/virtio_config.h>, whose identical definition may follow). */
#ifndef VIRTIO_F_ACCESS_PLATFORM
#define VIRTIO_F_ACCESS_PLATFORM 33
#endif

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
enum {
    VHOST_USER_PROTOCOL_F_MQ = 0,
    VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
    VHOST_USER_PROTOCOL_F_RARP = 2,
    VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
    VHOST_USER_PROTOCOL_F_MTU = 4,
    VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
    VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
    VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
    VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
    VHOST_USER_PROTOCOL_F_CONFIG = 9,
    VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
    VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
    VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
    VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
    VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
    VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
    VHOST_USER_PROTOCOL_F_STATUS = 16,
    VHOST_USER_PROTOCOL_F_DEVICE_STATE = 19,
};

/* Frontend → backend requests. */
enum vu_request {
    VHOST_USER_NONE = 0,
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_SEND_RARP = 19,
    VHOST_USER_NET_SET_MTU = 20,
    VHOST_USER_SET_BACKEND_REQ_FD = 21,
    VHOST_USER_IOTLB_MSG = 22,
    VHOST_USER_SET_VRING_ENDIAN = 23,
    VHOST_USER_GET_CONFIG = 24,
    VHOST_USER_SET_CONFIG = 25,
    VHOST_USER_CREATE_CRYPTO_SESSION = 26,
    VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
    VHOST_USER_POSTCOPY_ADVISE = 28,
    VHOST_USER_POSTCOPY_LISTEN = 29,
    VHOST_USER_POSTCOPY_END = 30,
    VHOST_USER_GET_INFLIGHT_FD = 31,
    VHOST_USER_SET_INFLIGHT_FD = 32,
    VHOST_USER_GPU_SET_SOCKET = 33,
    VHOST_USER_RESET_DEVICE = 34,
    VHOST_USER_VRING_KICK = 35,
    VHOST_USER_GET_MAX_MEM_SLOTS = 36,
    VHOST_USER_ADD_MEM_REG = 37,
    VHOST_USER_REM_MEM_REG = 38,
    VHOST_USER_SET_STATUS = 39,
    VHOST_USER_GET_STATUS = 40,
    VHOST_USER_SET_DEVICE_STATE_FD = 42,
    VHOST_USER_CHECK_DEVICE_STATE = 43,
    VHOST_USER_REQUEST_MAX,
};

/* Backend → frontend requests on the BACKEND_REQ channel. */
enum vu_backend_request {
    VHOST_USER_BACKEND_IOTLB_MSG = 1,
    VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
    VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
    VHOST_USER_BACKEND_REQUEST_MAX,
};

/* Kick/call/err payload: bits 0-7 ring index, bit 8 "no fd, poll instead". */
#define VHOST_USER_VRING_IDX_MASK 0xffull
#define VHOST_USER_VRING_NOFD     (1ull << 8)

/* SET_VRING_ADDR flags. */
#define VHOST_USER_VRING_F_LOG 1u

/* SET_DEVICE_STATE_FD: direction and phase in the request; the reply's u64 holds an error
 * code in bits 0-7 and, in bit 8, "no fd in this reply: use the one you sent". */
#define VHOST_USER_TRANSFER_STATE_SAVE          0u
#define VHOST_USER_TRANSFER_STATE_LOAD          1u
#define VHOST_USER_TRANSFER_STATE_PHASE_STOPPED 0u
#define VHOST_USER_DEVICE_STATE_ERR_MASK        0xffull
#define VHOST_USER_DEVICE_STATE_NOFD            (1ull << 8)

/* IOTLB_MSG types and permissions (struct vhost_iotlb_msg of <linux/vhost_types.h>). */
#define VHOST_USER_IOTLB_MISS        1u
#define VHOST_USER_IOTLB_UPDATE      2u
#define VHOST_USER_IOTLB_INVALIDATE  3u
#define VHOST_USER_IOTLB_ACCESS_FAIL 4u
#define VHOST_USER_ACCESS_RO         1u /* the device may read */
#define VHOST_USER_ACCESS_WO         2u /* the device may write */
#define VHOST_USER_ACCESS_RW         3u

/* SET_CONFIG flags. */
#define VHOST_USER_CONFIG_WRITABLE  0u
#define VHOST_USER_CONFIG_MIGRATION 1u

struct vu_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed));

struct vu_vring_state {
    uint32_t index;
    uint32_t num;
};

struct vu_vring_addr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc; /* frontend user addresses */
    uint64_t used;
    uint64_t avail;
    uint64_t log; /* guest physical */
};

struct vu_mem_region {
    uint64_t guest_addr;
    uint64_t size;
    uint64_t user_addr;
    uint64_t mmap_offset;
};

struct vu_mem_table {
    uint32_t nregions;
    uint32_t padding;
    struct vu_mem_region regions[VHOST_USER_MAX_REGIONS];
};

/* ADD_MEM_REG / REM_MEM_REG. */
struct vu_mem_single {
    uint64_t padding;
    struct vu_mem_region region;
};

struct vu_log {
    uint64_t size;
    uint64_t offset;
};

struct vu_config {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VHOST_USER_MAX_CONFIG];
};
#define VU_CONFIG_HDR_SIZE 12u

/* GET/SET_INFLIGHT_FD; 24 bytes on the wire (QEMU sends the padded struct), 20 accepted. */
struct vu_inflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
};
#define VU_INFLIGHT_MIN_SIZE 20u

struct vu_device_state {
    uint32_t direction; /* VHOST_USER_TRANSFER_STATE_SAVE or _LOAD */
    uint32_t phase;     /* VHOST_USER_TRANSFER_STATE_PHASE_STOPPED */
};

/* IOTLB_MSG: [iova, iova + size) maps the frontend user address uaddr with perm. 32 bytes on
 * the wire (QEMU sends the padded struct); exactly that is accepted. */
struct vu_iotlb_msg {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm; /* VHOST_USER_ACCESS_* */
    uint8_t type; /* VHOST_USER_IOTLB_* */
    uint8_t padding[6];
};
_Static_assert(sizeof(struct vu_iotlb_msg) == 32, "IOTLB message size");

union vu_payload {
    uint64_t u64;
    struct vu_iotlb_msg iotlb;
    struct vu_device_state dstate;
    struct vu_vring_state state;
    struct vu_vring_addr addr;
    struct vu_mem_table mem;
    struct vu_mem_single mem_reg;
    struct vu_log log;
    struct vu_config config;
    struct vu_inflight inflight;
    uint8_t raw[VU_CONFIG_HDR_SIZE + VHOST_USER_MAX_CONFIG];
};
#define VU_MAX_PAYLOAD sizeof(union vu_payload)

struct vu_msg {
    struct vu_hdr hdr;
    union vu_payload p;
};

/* Request id → name for logs; "UNKNOWN" for anything else. */
const char *vu_request_name(uint32_t request);

/* Fills a header for a request (flags = version | extra_flags). */
void vu_msg_init(struct vu_msg *m, uint32_t request, uint32_t extra_flags, uint32_t size);

/*
 * Sends one message (header plus hdr.size payload bytes) with nfds fds (owned by the caller) in
 * SCM_RIGHTS. Loops over short writes; 0 or -errno (-EPIPE when the peer is gone).
 */
int vu_msg_send(int sock, const struct vu_msg *m, const int *fds, size_t nfds);

/*
 * Receives one message on a blocking stream socket. Up to VHOST_USER_MAX_FDS fds may arrive
 * with the header; they are stored in fds[] (owned by the caller from then on, O_CLOEXEC) and
 * counted in *nfds. Returns 1 for a message, 0 for a clean end of stream before any byte, or
 * -errno: -EBADMSG for a bad version or a payload bigger than VU_MAX_PAYLOAD, -ECONNRESET for
 * a stream that ends mid-message, -EMSGSIZE for too many fds. On any error no fd is left open
 * and the stream is no longer in sync: the caller must drop the connection.
 */
int vu_msg_recv(int sock, struct vu_msg *m, int *fds, size_t *nfds);

/*
 * Checks a frontend request's payload size and fd count against its type (a REPLY flag, an
 * unknown request, a wrong size or a missing or extra fd is -EINVAL with *why naming it).
 * Requests whose meaning depends on negotiated state (kick without fd, SET_LOG_BASE) are
 * checked for the widest legal shape; the state machine narrows them.
 */
int vu_msg_check_request(const struct vu_msg *m, size_t nfds, const char **why);

/* Same for a backend-channel request (CONFIG_CHANGE_MSG and friends) seen by a frontend. */
int vu_msg_check_backend_request(const struct vu_msg *m, size_t nfds, const char **why);

/* Checks a reply: REPLY set, same request id, payload size as expected. 0 or -EBADMSG. */
int vu_msg_check_reply(const struct vu_msg *m, uint32_t request, uint32_t size, size_t nfds);

#endif
