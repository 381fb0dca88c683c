#ifndef CELLVM_CORE_VM_VFIO_PCI_H
#define CELLVM_CORE_VM_VFIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mem/guest_mem.h"
#include "core/vm/gsi.h"
#include "core/vm/log.h"
#include "core/vm/msix.h"
#include "core/vm/pci.h"
#include "core/vm/vfu_client.h"

/*
 * A passed-through PCI function (--device): the device lives in cellvm-vfiod, reached over
 * vfio-user (vfu_client.h); the core shows the guest a type-0 function built from the device's
 * config space (vfio_pci.c), maps the mappable parts of its BARs as KVM memory slots
 * (vfio_pci_bar.c) and emulates MSI and MSI-X with irqfds handed to vfiod (vfio_pci_irq.c).
 * What the guest sees:
 * - ids, class, revision and subsystem from the device; command register writes (memory, bus
 *   master, INTx disable) forwarded; interrupt pin as the device reports it (when vfiod offers
 *   INTx), interrupt line writable;
 * - memory BARs at addresses the core allocates, the BAR registers never written to the device;
 *   I/O BARs and the expansion ROM left out;
 * - capabilities: MSI (one vector) and MSI-X emulated; PCI Express (shown as a root-complex
 *   integrated endpoint, link registers zero) and power management copied read-only; every
 *   other capability unlinked. Extended config space reads as zero.
 */

/* KVM memory slots for BAR mappings: a range of their own, above guest RAM's 0..
 * GUEST_MEM_MAX_REGIONS-1 (memory hotplug must stay below VFIO_SLOT_FIRST). */
#define VFIO_SLOT_FIRST 256
#define VFIO_MAX_SLOTS  128
#define VFIO_NO_SLOT    UINT32_MAX
/* Pieces one BAR's mappable areas can make once the MSI-X pages are carved out. */
#define VFIO_BAR_MAPS (VFU_MAX_SPARSE + 4)
#define VFIO_ID_LEN   64

/* What every passed-through function of one VM shares. */
struct vfio_pci_ctx {
    int vm_fd; /* borrowed */
    struct gsi_table *gsi;
    const struct guest_mem *mem;
    const struct log *log;
    struct pci_bus *bus;
    /* KVM_SET_USER_MEMORY_REGION (size 0 deletes): kvm_set_user_memory_region, or a test's
     * stand-in. */
    int (*set_slot)(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host);
    /* Slots in use, covered by the PCI bus lock (BARs move only under it). */
    struct {
        bool used;
        uint64_t gpa, size;
    } slots[VFIO_MAX_SLOTS];
};

/* One mmap of a mappable piece of a BAR. */
struct vfio_map {
    uint64_t off, size; /* in the BAR */
    void *host;         /* owned mapping of the device's BAR */
    uint32_t slot;      /* index in ctx->slots while in a KVM slot, else VFIO_NO_SLOT */
};

struct vfio_bar {
    uint64_t dev_size; /* the region's size at the device; 0: no BAR here */
    unsigned nmaps;
    struct vfio_map maps[VFIO_BAR_MAPS];
};

enum vfio_irq_mode { VFIO_IRQ_NONE, VFIO_IRQ_MSI, VFIO_IRQ_MSIX };

struct vfio_pci_dev {
    pthread_mutex_t lock; /* interrupt state; taken after the PCI bus lock */
    struct pci_dev pci;
    struct vfio_pci_ctx *ctx;
    struct vfu_client cl;
    char id[VFIO_ID_LEN + 1];
    uint8_t dev_cfg[PCI_CFG_SIZE]; /* the device's own config space, as last read */
    struct vfio_bar bars[PCI_NUM_BARS];
    /* MSI-X: msix_cap is its offset in the guest's config space (0: none). */
    uint8_t msix_cap;
    uint8_t msix_bar;              /* the device's table BIR (PBA in the same BAR) */
    uint16_t msix_nvec;            /* vectors shown (the device's, at most MSIX_MAX_VECTORS) */
    uint32_t msix_table, msix_pba; /* offsets in that BAR */
    struct msix msix;
    /* MSI: one vector, no per-vector mask. msi_cap 0: none. */
    uint8_t msi_cap;
    bool msi64;
    enum vfio_irq_mode mode; /* what vfiod was last handed with SET_IRQS */
    uint16_t nfds;
    int irq_fd[MSIX_MAX_VECTORS];         /* eventfds, owned; vfiod signals them */
    uint32_t irq_bound[MSIX_MAX_VECTORS]; /* GSI each fd's irqfd is bound to, or GSI_NONE */
    uint32_t vec_gsi[MSIX_MAX_VECTORS];   /* MSI route of each vector, GSI_NONE until used */
    /* INTx: intx_pin 1-4 (INTA-INTD), 0 none. While on, intx_fd is a resampling KVM irqfd on
     * intx_gsi and vfiod holds intx_fd as trigger and intx_unmask as unmask eventfd. */
    uint8_t intx_pin;
    bool intx_on;
    uint32_t intx_gsi;
    int intx_fd, intx_unmask;
    bool dead; /* the connection broke (logged once); the device reads as all-ones */
};

struct vfio_pci_params {
    const char *id;
    int sock; /* connected vfio-user socket to the server, taken over (closed on failure too) */
    uint16_t pci_segment; /* 0 only so far (vfio_pci_ctx has segment 0's bus) */
};

/* ctx for one VM; set_slot defaults to KVM. */
void vfio_pci_ctx_init(struct vfio_pci_ctx *ctx, int vm_fd, struct gsi_table *gsi,
                       const struct guest_mem *mem, const struct log *log, struct pci_bus *bus);

/*
 * Connects (VERSION), maps guest RAM for the device's DMA, reads the device and puts its
 * function on ctx->bus. 0, or -errno with err; d is then torn down.
 */
int vfio_pci_init(struct vfio_pci_dev *d, struct vfio_pci_ctx *ctx, const struct vfio_pci_params *p,
                  char *err, size_t errlen);

/* Guest reboot, vCPUs stopped, after pci_bus_reset (BARs home, decoding off): interrupts
 * disabled, DEVICE_RESET (a device without reset is fine), config space read again. 0 or
 * -errno (the connection is gone; the VM may go on without the device). */
int vfio_pci_reset(struct vfio_pci_dev *d);

/*
 * Respawn (issue 19), both with the vCPUs stopped (vm.c). The device itself stays open in the
 * controller (core/controller/vfio_host.h), so it keeps its state, DMA mappings and interrupt
 * triggers throughout. detach: the server died; the function reads as all-ones, the BAR areas
 * it gave us leave their KVM slots and are unmapped. The eventfds, irqfds and MSI routes stay.
 * reconnect: sock (taken over) is the new server's: VERSION, guest RAM mapped (the server takes
 * what the container still maps as done), config space read, BAR areas mapped where the guest
 * has them, command register as the guest has it, interrupts only where the guest changed them
 * meanwhile; no reset. 0 or -errno with err (still detached).
 */
void vfio_pci_detach(struct vfio_pci_dev *d);
/* The function called id among v[0..n), or NULL; whether any of them is detached or broken. */
struct vfio_pci_dev *vfio_pci_find(struct vfio_pci_dev *const *v, uint32_t n, const char *id);
bool vfio_pci_any_gone(struct vfio_pci_dev *const *v, uint32_t n);
int vfio_pci_reconnect(struct vfio_pci_dev *d, int sock, char *err, size_t errlen);

/* Hot-added guest RAM (vCPUs stopped): DMA_MAP of region g (IOVA = its guest-physical
 * address), or DMA_UNMAP of it to undo a hot-add that failed elsewhere. A detached function
 * maps all of RAM when it reconnects: 0 then. 0 or -errno with err. */
int vfio_pci_map_region(struct vfio_pci_dev *d, const struct guest_mem_region *g, char *err,
                        size_t errlen);
void vfio_pci_unmap_region(struct vfio_pci_dev *d, const struct guest_mem_region *g);

/* KVM slots deleted, BAR mappings unmapped, irqfds unbound, eventfds and socket closed. */
void vfio_pci_destroy(struct vfio_pci_dev *d);

/* Shared by vfio_pci*.c. */
/* The connection is gone or detached: no request is sent. */
static inline bool vfio_pci_gone(struct vfio_pci_dev *d)
{
    return __atomic_load_n(&d->dead, __ATOMIC_ACQUIRE);
}
/* A failed exchange with vfiod: logged (the first time the connection breaks, once). */
void vfio_pci_failed(struct vfio_pci_dev *d, const char *what, int r);
/* Interrupts (vfio_pci_irq.c). */
/* The device's MSI capability at dev_off: the emulated one added (0 or -errno). */
int vfio_irq_add_msi(struct vfio_pci_dev *d, uint8_t dev_off);
/* The device's MSI-X capability at dev_off: msix_bar/table/pba/nvec read (0 or -errno when
 * unusable); vfio_irq_add_msix then adds the emulated one once the BARs exist. */
int vfio_irq_find_msix(struct vfio_pci_dev *d, uint8_t dev_off);
int vfio_irq_add_msix(struct vfio_pci_dev *d);
/* The device's interrupt pin: shown when vfiod offers INTx with eventfds. */
void vfio_irq_add_intx(struct vfio_pci_dev *d);
/* The eventfds for the vectors the capabilities offer, and INTx's two. 0 or -errno. */
int vfio_irq_make_fds(struct vfio_pci_dev *d);
void vfio_irq_cfg_written(struct vfio_pci_dev *d, uint32_t off, uint32_t len);
/* True when [off, off + len) of bar is the MSI-X table or PBA (then served). Lock free. */
bool vfio_irq_bar_read(struct vfio_pci_dev *d, unsigned bar, uint64_t off, uint32_t len,
                       uint64_t *val);
bool vfio_irq_bar_write(struct vfio_pci_dev *d, unsigned bar, uint64_t off, uint32_t len,
                        uint64_t val);
void vfio_irq_reset(struct vfio_pci_dev *d);
/* A new server took over the still open device: hands it only an interrupt mode the guest
 * changed while no server ran (the kernel kept the triggers the dead one set). */
void vfio_irq_restore(struct vfio_pci_dev *d);
void vfio_irq_destroy(struct vfio_pci_dev *d);
/* BAR mappings (vfio_pci_bar.c). */
/* Maps the mappable parts of BAR bar from r (fd not closed here), minus the MSI-X pages. */
void vfio_bar_map(struct vfio_pci_dev *d, unsigned bar, const struct vfuc_region *r);
/* The BAR decodes at addr now (PCI_BAR_UNMAPPED: nowhere): KVM slots follow. Bus lock held. */
void vfio_bar_mapped(struct vfio_pci_dev *d, unsigned bar, uint64_t addr);
void vfio_bar_unmap_all(struct vfio_pci_dev *d);

#endif
