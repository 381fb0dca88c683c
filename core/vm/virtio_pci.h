#ifndef CELLVM_CORE_VM_VIRTIO_PCI_H
#define CELLVM_CORE_VM_VIRTIO_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"
#include "core/vm/gsi.h"
#include "core/vm/log.h"
#include "core/vm/msix.h"
#include "core/vm/pci.h"
#include "ipc/vu_frontend.h"

/*
 * A virtio 1.x PCI function (modern only, MSI-X only) whose device runs behind a vhost-user
 * backend. vCPUs reach the transport registers (virtio_pci.c) and never wait on the backend:
 * device config comes from a cache, and anything that needs the backend (start on DRIVER_OK,
 * stop and reset on status 0, SET_CONFIG) is queued for the frontend thread
 * (virtio_pci_vu.c). Data never passes through the core: each queue's notify address is a KVM
 * ioeventfd on its kick eventfd, each call eventfd a KVM irqfd on its vector's MSI route, and
 * only a masked vector's call eventfd is read here, to latch its pending bit.
 */

#define VPCI_MAX_QUEUES 64
#define VPCI_CONFIG_MAX 256
#define VPCI_ID_LEN     64

/* BAR 0 (64-bit memory) layout. */
#define VPCI_BAR_SIZE    0x8000u
#define VPCI_COMMON_OFF  0x0000u
#define VPCI_ISR_OFF     0x1000u
#define VPCI_DEVICE_OFF  0x2000u
#define VPCI_NOTIFY_OFF  0x3000u
#define VPCI_MSIX_OFF    0x4000u
#define VPCI_PBA_OFF     0x6000u
#define VPCI_REGION_SIZE 0x1000u
#define VPCI_NOTIFY_MULT 4u

/* Device status bits (virtio 1.x, 2.1). */
#define VPCI_S_ACKNOWLEDGE 0x01
#define VPCI_S_DRIVER      0x02
#define VPCI_S_DRIVER_OK   0x04
#define VPCI_S_FEATURES_OK 0x08
#define VPCI_S_NEEDS_RESET 0x40
#define VPCI_S_FAILED      0x80

enum vpci_work {
    VPCI_WORK_START = 1u << 0,  /* DRIVER_OK: hand the rings to the backend */
    VPCI_WORK_STOP = 1u << 1,   /* status 0: stop every ring, reset the backend */
    VPCI_WORK_CONFIG = 1u << 2, /* SET_CONFIG of the dirty range */
};

struct vpci_dev;

/* What every device of one VM shares. */
struct vpci_ctx {
    int vm_fd;                   /* borrowed */
    struct gsi_table *gsi;       /* borrowed */
    const struct guest_mem *mem; /* borrowed */
    const struct log *log;
    int wake_fd; /* the frontend thread's eventfd; owned by the worker */
    /* The VM has stopped for good (vm_run returned): backends going away now are the VMM's
     * own shutdown, not a loss to report. */
    atomic_bool ending;
    /* A backend is gone or broken beyond a guest reset: the VM must stop. Any thread. */
    void (*fatal)(void *arg, const char *msg);
    void *fatal_arg;
    /* A connection handed in with vpci_rc_post was taken over (err 0) or refused (-errno).
     * Frontend thread. Optional. */
    void (*reconnected)(void *arg, const char *id, int err);
    void *reconnected_arg;
    /* The backend of an external device (vhost_user=on) went away (why: printable): whoever
     * connected it is to connect again and hand the socket in with vpci_rc_post. Frontend
     * thread. Without it an external backend's loss is fatal. */
    void (*lost)(void *arg, const char *id, const char *why);
    void *lost_arg;
    /* The VM's virtio-iommu (issue 20): fills the backend's IOTLB of a device behind it with
     * every mapping of its domain, the old entries invalidated first. Frontend thread; 0 or
     * -errno. NULL without an IOMMU. */
    int (*iotlb_replay)(void *arg, struct vpci_dev *d);
    void *iotlb_arg;
};

/*
 * A backend the controller replaces when it dies (virtio_pci_rc.c): while it is gone the device
 * waits (the guest sees requests that take longer), and a new connection gets the features,
 * memory table, inflight region and rings the old one had. Frontend thread, except new_sock,
 * disconnected and lost_rings, which are read and written under the device lock.
 */
struct vpci_rc {
    bool managed;        /* reconnected when lost: a device process of this VM, or an
                          * external backend when ctx->lost is there to report it */
    bool external;       /* vhost_user=on: its loss goes to ctx->lost */
    bool disconnected;   /* the backend is gone; no request goes out until a new one comes */
    int new_sock;        /* a connection to the replacement, not taken yet; owned, or -1 */
    uint64_t lost_rings; /* rings the gone backend served: restarted on reconnection */
    int inflight_fd;     /* INFLIGHT_SHMFD region from GET_INFLIGHT_FD; owned, or -1 */
    uint64_t inflight_size;
    uint16_t inflight_nq, inflight_qs;
    uint16_t pairs; /* net with MQ: queue pairs enabled, 0 before the driver chose */
};

/*
 * A device the core serves itself, with no backend at all (virtio-mem: its one queue carries
 * plug and unplug requests about memory the core owns). Its config is the core's (written by
 * the owner under the device lock, read-only to the driver); serve runs on the frontend thread
 * when the driver kicks queue 0, without the device lock.
 */
struct vpci_dev;
struct vpci_local {
    uint64_t features; /* offered besides VIRTIO_F_VERSION_1 */
    const uint8_t *config;
    uint32_t config_len;
    void (*serve)(void *arg, struct vpci_dev *d);
    void *arg;
    /* Optional: a timer the frontend thread keeps for the device in its own poll (no thread
     * or timer fd of its own): called on every pass of the loop, without the device lock; it
     * runs what is due and returns the milliseconds until it wants to run again, or -1 when
     * only a kick can give it work (the watchdog's periodic check). */
    int64_t (*tick)(void *arg, struct vpci_dev *d);
};

struct vpci_queue {
    uint16_t size, max_size;
    uint16_t vector;
    bool enabled;
    uint64_t desc, avail, used; /* guest-physical */
    int kick_fd, call_fd;       /* eventfds, owned; reused across resets */
    uint32_t irq_gsi;           /* GSI its call fd's irqfd is bound to, or GSI_NONE */
    uint64_t notify_gpa;        /* where its ioeventfd is registered, or PCI_BAR_UNMAPPED */
    bool started;               /* the backend serves it (set by the frontend thread) */
};

struct vpci_dev {
    pthread_mutex_t lock; /* everything below; taken after the PCI bus lock */
    pthread_cond_t idle;  /* signalled when queued work is done */
    struct pci_dev pci;
    struct msix msix;
    struct vpci_ctx *ctx;
    char id[VPCI_ID_LEN + 1];
    uint16_t virtio_id;
    uint32_t seg;    /* the PCI segment of its bus */
    bool iommu;      /* behind the virtio-iommu (vpci_params.iommu) */
    bool iotlb_on;   /* its backend's IOTLB follows the IOMMU (frontend thread): set by the replay
                    * that precedes its rings, cleared when it stops or its backend is lost */
    char fs_tag[37]; /* virtio-fs: the config's tag (the core makes that config) */
    struct vu_frontend fe;  /* the frontend thread's alone once the VM runs */
    uint64_t host_features; /* offered to the guest */
    uint64_t driver_features;
    uint32_t dfselect, gfselect;
    uint8_t status;
    bool resetting; /* status 0 written; reads show the old status until the backend stopped */
    uint16_t config_vector;
    uint32_t config_gsi; /* irqfd of config_fd, or GSI_NONE */
    int config_fd;       /* eventfd raising the config interrupt; owned */
    uint16_t queue_select;
    uint16_t nqueues;
    struct vpci_queue q[VPCI_MAX_QUEUES];
    uint8_t config[VPCI_CONFIG_MAX]; /* cached device config */
    uint32_t config_len;
    uint8_t generation;
    uint8_t isr;
    uint32_t vec_gsi[MSIX_MAX_VECTORS]; /* MSI route of each vector, GSI_NONE until used */
    uint64_t bar_addr;                  /* BAR 0 decode address or PCI_BAR_UNMAPPED */
    uint8_t pcicfg_cap;                 /* config offset of VIRTIO_PCI_CAP_PCI_CFG */
    unsigned work;                      /* enum vpci_work bits queued for the frontend thread */
    bool busy;                          /* the frontend thread works on this device */
    bool failed;                        /* its backend is gone */
    bool backend_dirty;      /* features or rings were handed to the backend since its last reset */
    uint32_t cfg_lo, cfg_hi; /* dirty config range for VPCI_WORK_CONFIG */
    /* The queue the core keeps (never handed to the backend), or -1: virtio-net's control
     * queue, which it serves, or virtio-vsock's event queue, which needs no event outside
     * migration. ctrl_avail: the control queue's next avail index (frontend thread; zeroed
     * with the transport). */
    int ctrl_q;
    uint16_t ctrl_avail;
    uint16_t ctrl_pairs;    /* queue pairs the backend serves (data queues / 2) */
    uint64_t core_features; /* offered by the core itself (CTRL_VQ), kept from the backend */
    struct vpci_rc rc;
    const struct vpci_local *local; /* served by the core itself (borrowed), or NULL */
};

struct vpci_params {
    const char *id;
    uint16_t virtio_id;
    uint16_t num_queues;
    uint16_t queue_size;
    int sock;      /* connected vhost-user socket, taken over (closed on failure too) */
    bool external; /* vhost_user=on: see vpci_ctx.lost */
    uint16_t pci_segment;
    const char *fs_tag; /* virtio-fs (26): the mount tag, 1..36 bytes; else NULL */
    /* Behind the virtio-iommu (iommu=on): VIRTIO_F_ACCESS_PLATFORM is offered and the backend
     * translates the driver's addresses through the IOTLB the core fills. */
    bool iommu;
    /* A device the core serves (sock unused), or NULL. */
    const struct vpci_local *local;
};

/*
 * Connects to the backend (negotiation, config cache, queue count), then builds the PCI function
 * on bus with its BAR, capabilities and MSI-X table. 0, or -errno with err.
 */
int vpci_dev_init(struct vpci_dev *d, struct vpci_ctx *ctx, struct pci_bus *bus,
                  const struct vpci_params *p, char *err, size_t errlen);
void vpci_dev_destroy(struct vpci_dev *d);

/*
 * Guest-visible reset of the transport (status 0 or a VM reboot): registers back to power-on,
 * irqfds and ioeventfds removed, backend stop queued. Lock held. With msix also resets MSI-X.
 */
void vpci_reset_transport(struct vpci_dev *d, bool msix);

/* Rebinds every irqfd to what vectors and masks say now, re-injecting pending vectors that
 * became deliverable. Lock held. */
void vpci_sync_irqs(struct vpci_dev *d);

/* Config interrupt after a backend CONFIG_CHANGE (lock held). */
void vpci_raise_config(struct vpci_dev *d);

/* A masked queue's call eventfd fired and was read (lock held): latch or deliver. */
void vpci_queue_signalled(struct vpci_dev *d, uint16_t qi);

#endif
