#ifndef CELLVM_IPC_VU_GUEST_H
#define CELLVM_IPC_VU_GUEST_H

/*
 * A minimal guest driver for tests and benchmarks that drive a vhost-user backend without a
 * VM: guest memory in a memfd (gpa 0 up; the frontend user address is the local mapping),
 * split rings laid out in it, descriptor chains added, kicks and used-ring reaping.
 */

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "ipc/vu_frontend.h"

struct vu_gmem {
    int fd;        /* owned: the memfd */
    uint8_t *base; /* shared mapping of the whole memfd */
    uint64_t size;
    uint64_t brk; /* bump allocator, next free gpa */
};

/* Creates size bytes of guest memory (rounded up to 4 KiB). 0 or -errno. */
int vu_gmem_create(struct vu_gmem *m, uint64_t size);
void vu_gmem_destroy(struct vu_gmem *m);
/* Allocates len bytes aligned to align (a power of two); returns the gpa, or UINT64_MAX. */
uint64_t vu_gmem_alloc(struct vu_gmem *m, uint64_t len, uint64_t align);
/* Host pointer of a gpa (no bounds check beyond the memfd size: NULL outside). */
void *vu_gmem_ptr(const struct vu_gmem *m, uint64_t gpa);
/* The memory as a one-region table entry (fd stays owned by m). */
struct vu_fe_region vu_gmem_region(const struct vu_gmem *m);

struct vu_gbuf {
    uint64_t gpa;
    uint32_t len;
};

struct vu_gring {
    uint16_t num;
    bool event_idx;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t free_head;
    uint16_t num_free;
    uint16_t avail_idx;  /* next avail slot we publish */
    uint16_t last_used;  /* next used entry we reap */
    uint16_t kicked_idx; /* avail_idx at the last kick (EVENT_IDX) */
    uint16_t *chain_len; /* descriptors per head, to free chains; num entries */
    int kick_fd;         /* owned: eventfd the backend polls */
    int call_fd;         /* owned: eventfd the backend signals */
};

/* Lays out a ring of num (power of two) entries in m and creates its eventfds. 0 or -errno. */
int vu_gring_init(struct vu_gring *r, struct vu_gmem *m, uint16_t num, bool event_idx);
void vu_gring_destroy(struct vu_gring *r);
/* The ring as vu_fe_start_vring wants it (gpa == offset into m; uva = local address). */
struct vu_fe_vring vu_gring_vring(const struct vu_gring *r, const struct vu_gmem *m);

/*
 * Adds one chain: nout readable buffers then nin writable ones, and publishes it in the avail
 * ring (no kick). *head gets its head index. -ENOSPC when not enough descriptors are free.
 */
int vu_gring_add(struct vu_gring *r, const struct vu_gbuf *bufs, unsigned nout, unsigned nin,
                 uint16_t *head);
/* Kicks the backend if it asked for it (NO_NOTIFY / avail_event); returns 1 if kicked. */
int vu_gring_kick(struct vu_gring *r);
/* Reaps one used entry: 1 with *head and *len, 0 none, frees its descriptors. */
int vu_gring_get_used(struct vu_gring *r, uint16_t *head, uint32_t *len);
/* Waits up to timeout_ms for the call eventfd (and clears it). 1 signalled, 0 timeout, -errno. */
int vu_gring_wait(struct vu_gring *r, int timeout_ms);
/* Sets used_event (EVENT_IDX) to ask for an interrupt after the next used entry. */
void vu_gring_want_interrupt(struct vu_gring *r);

#endif
