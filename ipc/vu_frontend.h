#ifndef CELLVM_IPC_VU_FRONTEND_H
#define CELLVM_IPC_VU_FRONTEND_H

/*
 * vhost-user frontend library: the core's virtio-pci transport and the test and benchmark
 * frontends drive a backend through it. Every call is synchronous on a blocking socket; with
 * REPLY_ACK negotiated, state-changing requests wait for the backend's ack so the frontend
 * never runs ahead of it. Not thread-safe: one thread drives one frontend.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/vhost_user.h"

/* Memory regions vu_fe_set_memory can track (the core has at most GUEST_MEM_MAX_REGIONS). */
#define VU_FE_MAX_MEM 32

struct vu_frontend {
    int sock;                   /* owned: the vhost-user connection */
    int backend_req_fd;         /* owned: our end of the BACKEND_REQ channel, -1 if none */
    uint64_t features;          /* acked virtio features (incl. bit 30 when offered) */
    uint64_t protocol_features; /* acked protocol features */
    bool reply_ack;             /* REPLY_ACK negotiated */
    /* Dirty logging on (vu_fe_set_log_all): SET_FEATURES carries LOG_ALL and rings started
     * with a known used-ring address carry VHOST_VRING_F_LOG. */
    bool log_all;
    /* Called from vu_fe_handle_backend_req for CONFIG_CHANGE_MSG. Optional. */
    void (*config_changed)(void *opaque);
    void *opaque;
    /* The memory layout the backend holds from vu_fe_set_memory (fds not kept), so that a
     * later call sends only the difference; memory survives RESET_DEVICE. */
    struct vu_mem_region held[VU_FE_MAX_MEM];
    unsigned nheld;
    /* GET_FEATURES as the backend answered it in vu_fe_negotiate (bits 30 and 33 included). */
    uint64_t backend_features;
};

/* One guest memory region and the fd that backs it (owned by the caller). */
struct vu_fe_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uva;         /* the frontend's address of gpa; ring addresses use these */
    uint64_t mmap_offset; /* offset of gpa's page in fd */
    int fd;
};

/* Everything needed to start one split ring. */
struct vu_fe_vring {
    uint16_t num;
    uint16_t base;     /* first avail index the backend should look at */
    uint64_t desc_uva; /* ring addresses as frontend user addresses */
    uint64_t avail_uva;
    uint64_t used_uva;
    int kick_fd;       /* owned by the caller; -1 sends NOFD (backend polls) */
    int call_fd;       /* owned by the caller; -1 sends NOFD */
    bool has_gpa;      /* used_gpa is known: the ring can be logged */
    uint64_t used_gpa; /* guest-physical address of the used ring */
};

/* Starts with sock (taken over: closed by vu_fe_close); backend_req_fd = -1. */
void vu_fe_init(struct vu_frontend *fe, int sock);
/* Connects to a unix socket path; 0 or -errno. */
int vu_fe_connect(struct vu_frontend *fe, const char *path);
void vu_fe_close(struct vu_frontend *fe);

int vu_fe_get_features(struct vu_frontend *fe, uint64_t *features);
int vu_fe_set_features(struct vu_frontend *fe, uint64_t features);
int vu_fe_get_protocol_features(struct vu_frontend *fe, uint64_t *pf);
int vu_fe_set_protocol_features(struct vu_frontend *fe, uint64_t pf);
int vu_fe_set_owner(struct vu_frontend *fe);

/*
 * The usual opening: GET_FEATURES, GET/SET_PROTOCOL_FEATURES (want_pf & offered) when bit 30
 * is offered, SET_OWNER, and BACKEND_REQ channel setup if negotiated. Virtio features are not
 * set here (the guest driver chooses them): call vu_fe_set_features with the driver's choice;
 * bit 30 is added back automatically when the backend offered it. *offered gets the backend's
 * virtio features with bit 30 masked, as a guest must see them, and VIRTIO_F_ACCESS_PLATFORM
 * masked too: acking it commits the frontend to filling the backend's IOTLB (vu_fe_iotlb_*),
 * so a frontend asks for it explicitly (vu_fe_has_access_platform, then set_features with the
 * bit) and every other one keeps guest-physical translation. 0 or -errno.
 */
int vu_fe_negotiate(struct vu_frontend *fe, uint64_t want_pf, uint64_t *offered);

int vu_fe_set_mem_table(struct vu_frontend *fe, const struct vu_fe_region *r, unsigned n);
/*
 * Gives the backend exactly the regions r[0..n): one SET_MEM_TABLE while they fit in it
 * (VHOST_USER_MAX_REGIONS); beyond that, with CONFIGURE_MEM_SLOTS negotiated, REM_MEM_REG for
 * each held region r lacks, then ADD_MEM_REG for each region the backend does not hold yet,
 * within GET_MAX_MEM_SLOTS. 0, -E2BIG (too many regions for the backend or VU_FE_MAX_MEM), or
 * -errno; after a failure nothing is known to be held, so the next call starts over.
 */
int vu_fe_set_memory(struct vu_frontend *fe, const struct vu_fe_region *r, unsigned n);
int vu_fe_get_max_mem_slots(struct vu_frontend *fe, uint64_t *slots);
int vu_fe_add_mem_reg(struct vu_frontend *fe, const struct vu_fe_region *r);
int vu_fe_rem_mem_reg(struct vu_frontend *fe, const struct vu_fe_region *r);
int vu_fe_get_queue_num(struct vu_frontend *fe, uint64_t *num);

int vu_fe_set_vring_num(struct vu_frontend *fe, uint16_t idx, uint16_t num);
int vu_fe_set_vring_addr(struct vu_frontend *fe, uint16_t idx, uint64_t desc, uint64_t avail,
                         uint64_t used);
/* Same with VHOST_VRING_F_LOG and the used ring's guest-physical address when log is set. */
int vu_fe_set_vring_addr_log(struct vu_frontend *fe, uint16_t idx, uint64_t desc, uint64_t avail,
                             uint64_t used, bool log, uint64_t used_gpa);
int vu_fe_set_vring_base(struct vu_frontend *fe, uint16_t idx, uint16_t base);

/*
 * Dirty logging (live migration). SET_LOG_BASE hands the backend size bytes of fd at offset as
 * its log (LOG_SHMFD negotiated, else -ENOTSUP) and waits for its answer (-EIO refused).
 * vu_fe_set_log_all switches LOG_ALL in SET_FEATURES, keeping the acked features; the caller
 * then sends each started ring's address again with or without the log flag.
 */
int vu_fe_set_log_base(struct vu_frontend *fe, int fd, uint64_t size, uint64_t offset);
int vu_fe_set_log_all(struct vu_frontend *fe, bool on);
int vu_fe_set_vring_kick(struct vu_frontend *fe, uint16_t idx, int fd);
int vu_fe_set_vring_call(struct vu_frontend *fe, uint16_t idx, int fd);
int vu_fe_set_vring_enable(struct vu_frontend *fe, uint16_t idx, bool enable);
/* Stops the ring; *base is the backend's next avail index. */
int vu_fe_get_vring_base(struct vu_frontend *fe, uint16_t idx, uint16_t *base);
/* NUM, ADDR, BASE, CALL, KICK, then ENABLE(1) when bit 30 was negotiated. */
int vu_fe_start_vring(struct vu_frontend *fe, uint16_t idx, const struct vu_fe_vring *v);

/* Reads [off, off + len) of the device config (len <= VHOST_USER_MAX_CONFIG). */
int vu_fe_get_config(struct vu_frontend *fe, uint32_t off, void *buf, uint32_t len);
int vu_fe_set_config(struct vu_frontend *fe, uint32_t off, const void *buf, uint32_t len,
                     uint32_t flags);
int vu_fe_reset_device(struct vu_frontend *fe);

/* GET_INFLIGHT_FD: *fd (owned by the caller) and its size; SET_INFLIGHT_FD sends it back. */
int vu_fe_get_inflight_fd(struct vu_frontend *fe, uint16_t num_queues, uint16_t queue_size, int *fd,
                          uint64_t *size);
int vu_fe_set_inflight_fd(struct vu_frontend *fe, uint16_t num_queues, uint16_t queue_size, int fd,
                          uint64_t size);

/*
 * DEVICE_STATE (protocol feature 19; vu_fe_state.c), every ring stopped: the backend's state
 * into *buf (malloc'd, *len bytes, at most max), or buf's len bytes back into a backend, each
 * ended by CHECK_DEVICE_STATE. 0, -ENOTSUP (not negotiated), -EIO (the backend refused or its
 * check failed: the connection goes on), -EFBIG, -ETIMEDOUT (no progress for 5 s), or -errno
 * from the connection.
 */
bool vu_fe_has_device_state(const struct vu_frontend *fe);
int vu_fe_save_state(struct vu_frontend *fe, uint8_t **buf, size_t *len, size_t max);
int vu_fe_load_state(struct vu_frontend *fe, const uint8_t *buf, size_t len);

/*
 * IOMMU support (the vhost-user spec's IOTLB, push model). vu_fe_has_access_platform: after
 * vu_fe_negotiate, the backend offered VIRTIO_F_ACCESS_PLATFORM and REPLY_ACK and BACKEND_REQ
 * were negotiated (QEMU requires the same two). With the bit acked (vu_fe_set_features),
 * every ring and buffer address is an IOVA: send an UPDATE for each mapping before the guest
 * may use it (the rings' before SET_VRING_ADDR) and an INVALIDATE for each unmap; a new
 * connection (reconnect, respawn) starts with an empty table, so replay it before the rings.
 * The backend keeps the table across RESET_DEVICE. Ring addresses in SET_VRING_ADDR are IOVAs
 * too; for the dirty log the backend finds the used ring's guest-physical address through the
 * table itself (the log field is not used then). vu_fe_iotlb_update maps [iova, iova + size)
 * to the frontend user address uaddr (inside the memory table) with perm VHOST_USER_ACCESS_RO,
 * _WO or _RW; vu_fe_iotlb_invalidate unmaps a range. Each waits for the backend's ack, which it
 * sends once the change is in force for every queue: 0, -ENOTSUP without REPLY_ACK, -EIO
 * refused (bad range, table full), or -errno from the connection.
 */
bool vu_fe_has_access_platform(const struct vu_frontend *fe);
int vu_fe_iotlb_update(struct vu_frontend *fe, uint64_t iova, uint64_t size, uint64_t uaddr,
                       uint8_t perm);
int vu_fe_iotlb_invalidate(struct vu_frontend *fe, uint64_t iova, uint64_t size);

/*
 * Handles one message from the backend channel (call when backend_req_fd is readable):
 * CONFIG_CHANGE_MSG calls config_changed, and a NEED_REPLY is acked. 0, or -errno when the
 * channel must be dropped.
 */
int vu_fe_handle_backend_req(struct vu_frontend *fe);

#endif
