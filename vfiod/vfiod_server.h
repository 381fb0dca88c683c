#ifndef CELLVM_VFIOD_VFIOD_SERVER_H
#define CELLVM_VFIOD_VFIOD_SERVER_H

/*
 * The vfio-user server: one client at a time on a connected SOCK_STREAM socket, every request
 * validated (vfu_check_request, then against what the device reported) before the device ops
 * see it. A bad request gets an error reply (flags REPLY|ERROR, error = errno, no payload) and
 * one log line; the server keeps serving. The server owns no loop: the caller polls the socket
 * and calls vfiod_server_handle when it is readable.
 *
 * Choices the protocol leaves open:
 * - VERSION must come first; anything before it is answered EINVAL. A second VERSION too.
 * - DMA_MAP needs the fd (no message-based DMA); DMA_UNMAP must name exactly one mapping
 *   (addr and size as mapped), else EINVAL: mappings are never split.
 * - GET_REGION_INFO with an argsz too small for the sparse-mmap capability is answered with
 *   argsz = the size needed, no CAPS flag, no capability and no fd; the fd comes only with the
 *   complete reply.
 * - Regions past VFIOD_MAX_REGIONS and irq indexes past VFIOD_MAX_IRQS are not offered.
 */

#include <stdbool.h>
#include <stdint.h>

#include "ipc/vfio_user.h"
#include "vfiod/vfiod_dev.h"
#include "vfiod/vfiod_dma.h"

#define VFIOD_MAX_REGIONS 16
#define VFIOD_MAX_IRQS    8

/* One log line without the newline; the default writes "vfiod: LINE\n" to stderr. */
typedef void (*vfiod_log_fn)(void *opaque, const char *line);

/* Caller-allocated; fields are private to vfiod_server.c. */
struct vfiod_server {
    const struct vfiod_dev_ops *ops;
    void *dev;
    vfiod_log_fn log;
    void *log_opaque;
    uint32_t dev_flags;
    uint32_t num_regions;
    uint32_t num_irqs;
    struct {
        uint32_t flags;
        uint64_t size;
    } region[VFIOD_MAX_REGIONS];
    struct {
        uint32_t flags;
        uint32_t count;
    } irq[VFIOD_MAX_IRQS];
    bool versioned;        /* VERSION done for this client */
    struct vfu_caps peer;  /* the client's capabilities */
    uint32_t irqs_enabled; /* bit per irq index the client set eventfds on */
    struct vfiod_dma_table dma;
};

/* Reads the device's info, regions and irqs. 0 or -errno (the device's, or -EINVAL). */
int vfiod_server_init(struct vfiod_server *s, const struct vfiod_dev_ops *ops, void *dev);

/* Replaces the log sink (NULL: the default). */
void vfiod_server_set_log(struct vfiod_server *s, vfiod_log_fn fn, void *opaque);

/*
 * Reads and answers one message: 1 served (even when answered with an error), 0 the peer closed
 * between messages, -errno when the stream cannot continue (framing lost, send failed). On 0
 * or -errno the caller calls vfiod_server_disconnect.
 */
int vfiod_server_handle(struct vfiod_server *s, int sock);

/*
 * The client is gone: every DMA mapping unmapped (device, then ours), every irq index that was
 * given eventfds disabled (DATA_NONE | ACTION_TRIGGER, count 0), VERSION expected again.
 */
void vfiod_server_disconnect(struct vfiod_server *s);

void vfiod_server_destroy(struct vfiod_server *s);

#endif
