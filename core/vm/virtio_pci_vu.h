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

struct vpci_worker {
    pthread_t thread;
    bool running;
    atomic_bool quit;
    int wake_fd;            /* eventfd; owned (ctx->wake_fd borrows it) */
    struct vpci_dev **devs; /* borrowed */
    size_t n;
    struct pollfd *pfd;     /* owned poll set */
    struct vpci_dev **pdev; /* owned: device of each poll entry */
    int16_t *pq;            /* owned: queue of each entry, -1 backend channel, -2 socket */
    size_t cap;
};

/* GET_FEATURES and protocol features, SET_OWNER, the backend channel, queue count and the
 * config cache. Before the frontend thread exists. 0 or -errno with err. */
int vpci_vu_connect(struct vpci_dev *d, uint16_t want_queues, char *err, size_t errlen);

/* Creates the wake eventfd (ctx->wake_fd) without a thread yet. 0 or -errno. */
int vpci_worker_init(struct vpci_worker *w, struct vpci_ctx *ctx, struct vpci_dev **devs, size_t n);
int vpci_worker_start(struct vpci_worker *w);
void vpci_worker_stop(struct vpci_worker *w);
void vpci_worker_destroy(struct vpci_worker *w);

/*
 * VM reboot, vCPUs stopped: every device back to power-on (transport and MSI-X), each backend's
 * rings stopped and the backend reset by the frontend thread; waits for all of them. -EIO with
 * the device named in err when one did not come back.
 */
int vpci_reset_all(struct vpci_worker *w, char *err, size_t errlen);

#endif
