#ifndef CELLVM_CORE_VM_VIRTIO_PCI_VU_H
#define CELLVM_CORE_VM_VIRTIO_PCI_VU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vm/virtio_pci.h"

/*
 * The vhost-user side of the virtio-pci devices: the opening negotiation (on the thread that
 * builds the VM), then one frontend thread per VM that owns every backend connection while the
 * VM runs. It does the work vCPUs queue (start the rings on DRIVER_OK, stop and reset on
 * status 0, SET_CONFIG), refreshes the config cache on a backend CONFIG_CHANGE, reads the call
 * eventfds of masked vectors, and reports a backend that went away.
 */

/* One device's rings stopped by a VM pause, with the avail index each backend gave back. */
struct vpci_paused {
    uint64_t rings; /* bit i: ring i was started and is stopped */
    uint16_t base[VPCI_MAX_QUEUES];
    bool transport_reset; /* vsock restored into a new backend: TRANSPORT_RESET on resume */
};

struct vpci_worker {
    pthread_t thread;
    bool running;
    atomic_bool quit;
    int wake_fd;            /* eventfd; owned (ctx->wake_fd borrows it) */
    struct vpci_dev **devs; /* borrowed; n used, room for cap_devs */
    size_t n, cap_devs;
    struct pollfd *pfd;     /* owned poll set */
    struct vpci_dev **pdev; /* owned: device of each poll entry */
    int16_t *pq;            /* owned: queue of each entry, -1 backend channel, -2 socket */
    size_t cap;
    /* VM pause: vpci_pause_all/vpci_resume_all ask (VPCI_PAUSE_*), the thread clears it when
     * done; pause_dev is the device it talks to meanwhile (-1 none), for a bounded wait. */
    atomic_int pause_req;
    atomic_int pause_dev;
    atomic_bool vm_paused; /* the last request done was a pause: a reconnection starts no ring */
    struct vpci_paused *paused; /* owned, cap_devs of them, n used: rings a pause stopped
                                 * (frontend thread) */
    /* vpci_dirty_log's request: the log (fd borrowed) and, once done, how many vhost-user
     * devices do not log into it. */
    int log_fd;
    uint64_t log_size;
    unsigned log_unlogged;
};

/* GET_FEATURES and protocol features, SET_OWNER, the backend channel, queue count and the
 * config cache. Before the frontend thread exists. 0 or -errno with err. */
int vpci_vu_connect(struct vpci_dev *d, uint16_t want_queues, char *err, size_t errlen);

/* Creates the wake eventfd (ctx->wake_fd) without a thread yet; devs has room for cap devices,
 * n of them used. 0 or -errno. */
int vpci_worker_init(struct vpci_worker *w, struct vpci_ctx *ctx, struct vpci_dev **devs, size_t n,
                     size_t cap);
/* The thread stopped (or not started): devs now holds n devices. removed: the index of the one
 * that left (later ones moved down, their paused rings with them), or SIZE_MAX when devices
 * were appended. 0, -ENOSPC (above cap) or -ENOMEM. */
int vpci_worker_update(struct vpci_worker *w, size_t n, size_t removed);
int vpci_worker_start(struct vpci_worker *w);
void vpci_worker_stop(struct vpci_worker *w);
void vpci_worker_destroy(struct vpci_worker *w);

/*
 * VM reboot, vCPUs stopped: every device back to power-on (transport and MSI-X), each backend's
 * rings stopped and the backend reset by the frontend thread; waits for all of them. -EIO with
 * the device named in err when one did not come back.
 */
int vpci_reset_all(struct vpci_worker *w, char *err, size_t errlen);

/*
 * VM pause, vCPUs stopped: every started ring of every backend stopped with GET_VRING_BASE,
 * its index kept; the guest-visible transport is untouched. Returns when all are stopped, or
 * after a bound: a backend that fails or does not answer is failed like a dead one (the VM
 * stops), -EIO or -ETIMEDOUT with the device named in err.
 */
int vpci_pause_all(struct vpci_worker *w, char *err, size_t errlen);
/* VM resume, before the vCPUs run: those rings restarted where they stopped (NUM, ADDR, BASE,
 * CALL, KICK; their enable state survives the stop). Same bound and errors. */
int vpci_resume_all(struct vpci_worker *w, char *err, size_t errlen);

/*
 * Live migration (issue 18): every vhost-user backend that negotiated LOG_SHMFD gets size bytes
 * of fd (offset 0) as its dirty log, LOG_ALL and its started rings' addresses with the log flag
 * (on), or LOG_ALL and the flag taken away (off); on the frontend thread, waited for with the
 * pause's bound. *unlogged counts the devices whose writes the log does not hold (no
 * LOG_SHMFD, refused, failed or disconnected): their pages need the hash pass. When it returns
 * the frontend thread is done with every core-served queue write it started before the call.
 * 0 or -errno with err.
 */
int vpci_dirty_log(struct vpci_worker *w, int fd, uint64_t size, bool on, unsigned *unlogged,
                   char *err, size_t errlen);

/* Shared by the frontend thread's files (virtio_pci_vu.c, _pause.c, _rc.c); frontend thread. */
/* The backend is gone or broke the protocol: replaced (managed) or the VM stops. */
void vpci_vu_fail(struct vpci_dev *d, const char *what, int r);
/* A guest mistake (a ring outside RAM): the device needs a reset, the VM goes on. */
void vpci_vu_needs_reset(struct vpci_dev *d, const char *why);
bool vpci_vu_failed(struct vpci_dev *d);
void vpci_vu_set_started(struct vpci_dev *d, uint16_t i, bool started);
/* A ring's three parts (guest-physical, size entries) as frontend addresses in v; for a device
 * whose driver accepted VIRTIO_F_ACCESS_PLATFORM, the I/O virtual addresses as they are (the
 * backend translates them through its IOTLB). */
int vpci_vu_ring_uvas(const struct vpci_dev *d, uint64_t desc, uint64_t avail, uint64_t used,
                      uint16_t size, struct vu_fe_vring *v);
/* The driver of d accepted VIRTIO_F_ACCESS_PLATFORM: its addresses are IOVAs. */
bool vpci_vu_iova(const struct vpci_dev *d);
/* Frontend thread, before a backend serves d's rings (start, reconnection): the IOTLB of a
 * device whose addresses are IOVAs filled again with every mapping of its domain
 * (vpci_ctx.iotlb_replay). 0 or -errno. */
int vpci_vu_iotlb_replay(struct vpci_dev *d);
/* Guest memory to the backend: SET_MEM_TABLE, or ADD_MEM_REG beyond its regions. */
int vpci_vu_send_mem_table(struct vpci_dev *d);
/* A pause or resume the VM thread asked for (virtio_pci_pause.c). */
void vpci_pause_work(struct vpci_worker *w);

#endif
