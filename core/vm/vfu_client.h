#ifndef CELLVM_CORE_VM_VFU_CLIENT_H
#define CELLVM_CORE_VM_VFU_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/vfio_user.h"

/*
 * The core's vfio-user client: one connection to a cellvm-vfiod (or any vfio-user server),
 * synchronous request/reply. vCPU threads call region_read/region_write concurrently, so one
 * mutex covers each whole exchange. The server is hostile: every reply is checked (id, command,
 * size, error flag), and the socket has a 5 s receive timeout (SO_RCVTIMEO), so a server that
 * hangs costs a caller at most that long (sends never wait: one small request at a time). After a timeout, a
 * reply that breaks the framing or an end of stream the connection is marked broken and every
 * later call fails at once with -ENOTCONN: the stream can no longer be trusted to be in step.
 * Every call returns 0 (or a byte count where said) or -errno; a server's error reply is
 * -error (EIO when the server gave no usable errno).
 */

#define VFUC_TIMEOUT_S      5
#define VFUC_SLOW_TIMEOUT_S 60 /* DMA_MAP (plus 1 s per 64 MiB), DMA_UNMAP, DEVICE_RESET */

struct vfu_client {
    pthread_mutex_t lock; /* one exchange at a time */
    int sock;             /* owned; -1 once closed */
    uint16_t next_id;
    bool broken;
    struct vfu_caps caps; /* the server's, from VERSION (clamped to this side's limits) */
};

/* A region as the server described it; fd (to mmap at offset + a sparse area's offset) is the
 * caller's to close, -1 when none came. nsparse 0 with VFU_REGION_F_MMAP: all of it. */
struct vfuc_region {
    uint32_t flags;
    uint64_t size, offset;
    unsigned nsparse;
    struct vfu_sparse_area sparse[VFU_MAX_SPARSE];
    int fd;
};

/* Takes sock over (closed on failure too), sets its timeouts and exchanges VERSION. 0, or
 * -errno with err. */
int vfuc_connect(struct vfu_client *c, int sock, char *err, size_t errlen);
void vfuc_close(struct vfu_client *c);

int vfuc_device_info(struct vfu_client *c, struct vfu_device_info *out);
int vfuc_region_info(struct vfu_client *c, uint32_t index, struct vfuc_region *out);
int vfuc_irq_info(struct vfu_client *c, uint32_t index, struct vfu_irq_info *out);
/* VFIO_DEVICE_SET_IRQS; with DATA_EVENTFD, fds[count] go along, in as many messages (split by
 * start) as the server's max_msg_fds asks. A split request that fails half way has set the
 * vectors before the failing message. */
int vfuc_set_irqs(struct vfu_client *c, uint32_t flags, uint32_t index, uint32_t start,
                  uint32_t count, const int *fds);
/* [off, off + len) of region, split at the server's max_data_xfer_size. */
int vfuc_region_read(struct vfu_client *c, uint32_t region, uint64_t off, void *buf, uint32_t len);
int vfuc_region_write(struct vfu_client *c, uint32_t region, uint64_t off, const void *buf,
                      uint32_t len);
/* Guest memory [iova, iova + size) is fd at offset, for the device's DMA (fd stays the
 * caller's). */
int vfuc_dma_map(struct vfu_client *c, int fd, uint64_t offset, uint64_t iova, uint64_t size,
                 uint32_t flags);
int vfuc_dma_unmap(struct vfu_client *c, uint64_t iova, uint64_t size);
/* -ENOTTY when the device has no reset. */
int vfuc_reset(struct vfu_client *c);

#endif
