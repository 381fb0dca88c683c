/* The VM's virtio-iommu (issue 20, `--platform iommu_segments=` and `iommu=on`): a PCI function on
 * segment 0 the core serves itself, as it serves the watchdog. Its queue carries no guest data,
 * only the guest's ATTACH, MAP and UNMAP requests, and what they change lives in the device
 * processes: each MAP becomes an IOTLB update on the vhost-user connection of every device of
 * the domain, and each UNMAP an invalidation, both acked by the backend before the guest hears
 * back, so a buffer the guest mapped is translatable before it can be used, and an unmapped one
 * is not once the guest is told. Running it in a process of its own would add a hop to every
 * map without moving any data out of the core.
 *
 * Endpoint ids are the VIOT's: (segment << 16) | BDF, function 0 of bus 0 of each segment. The
 * VIOT names every BDF of each IOMMU segment (hot-added devices there are behind the IOMMU too)
 * and each iommu=on device of the other segments present at boot.
 *
 * Threads: requests, replays and every IOTLB message run on the virtio frontend thread, which
 * owns every vhost-user connection; the viommu state is under the IOMMU function's device lock.
 * A guest reboot (vm_run's thread) forgets the domains without a message: each device is reset
 * and its next start replays its (empty) domain after invalidating everything. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/acpi/viot.h"
#include "core/vm/virtio_iommu.h"
#include "core/vm/virtio_pci_local.h"
#include "core/vm/virtio_pci_vu.h"
#include "core/vm/vm_iommu.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vring_req.h"

#define IOMMU_ID "__iommu" /* Cloud Hypervisor's id for it */
/* Requests answered per pass of the frontend thread: the rest after the other devices' turn. */
#define IOMMU_BUDGET 64u

struct vm_iommu {
    struct viommu v;         /* under dev->lock */
    struct vpci_local local; /* the transport's view of it */
    uint8_t config[VRING_RESP_MAX];
    struct vm *vm;
    struct vpci_dev *dev;       /* its own function, once bound */
    struct vpci_dev *replaying; /* the device vm_iommu_replay fills (frontend thread) */
    bool quiet;                 /* a reboot forgets the domains: no message goes out */
    uint32_t segments[PCI_MAX_SEGMENTS];
    uint32_t nsegments;
    struct viot_range ranges[VIOT_MAX_RANGES]; /* the VIOT's, built with the ACPI tables */
};

static bool iommu_segment(const struct vm_iommu *im, uint32_t seg)
{
    for (uint32_t i = 0; i < im->nsegments; i++)
        if (im->segments[i] == seg)
            return true;
    return false;
}

/* The device behind endpoint ep, if one is there now (frontend thread: the device list only
 * changes while that thread is stopped). */
static struct vpci_dev *endpoint_dev(const struct vm_iommu *im, uint32_t ep)
{
    const struct pci_devices *pd = &im->vm->pci;
    uint32_t seg = ep >> 16, bdf = ep & 0xffffu;

    if (bdf & 0xff07u) /* bus 0, function 0 only */
        return NULL;
    for (size_t i = 0; i < pd->n; i++) {
        struct vpci_dev *d = pd->devp[i];

        if (d->seg == seg && d->pci.slot == bdf >> 3 && d->iommu)
            return d;
    }
    return NULL;
}

static bool endpoint_valid(void *arg, uint32_t ep)
{
    struct vm_iommu *im = arg;

    return iommu_segment(im, ep >> 16) || endpoint_dev(im, ep);
}

/* The backend is gone: the mapping is kept in the domain and replayed on reconnection. */
static bool gone(int r)
{
    return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -EBADF;
}

/* Whether messages for d go out now: its backend serves it with IOVAs (started and replayed,
 * not lost since), or this is the replay filling it. */
static bool live(const struct vm_iommu *im, struct vpci_dev *d)
{
    bool disconnected;

    if (!d || im->quiet)
        return false;
    if (d == im->replaying) /* a new connection, which a reconnection fills before it counts */
        return true;
    if (!d->iotlb_on)
        return false;
    pthread_mutex_lock(&d->lock);
    disconnected = d->rc.disconnected;
    pthread_mutex_unlock(&d->lock);
    return !disconnected;
}

/* Each piece of [gpa, gpa + size) that lies in one region of the guest memory the device
 * processes share, in order: fn(arg, offset into the range, piece length, host address). Returns
 * the bytes the regions cover (all of them: the range is shared guest memory), or fn's -errno. */
static int64_t for_pieces(const struct guest_mem *m, uint64_t gpa, uint64_t size,
                          int (*fn)(void *arg, uint64_t off, uint64_t len, uint8_t *host),
                          void *arg)
{
    uint64_t last = size - 1 > UINT64_MAX - gpa ? UINT64_MAX : gpa + (size - 1);
    uint64_t covered = 0;

    for (uint32_t i = 0; i < m->nregions; i++) {
        const struct guest_mem_region *g = &m->regions[i];
        uint64_t lo, hi;
        int r;

        if (g->core_only || !g->size || g->gpa > last || g->gpa + (g->size - 1) < gpa)
            continue;
        lo = g->gpa > gpa ? g->gpa : gpa;
        hi = g->gpa + (g->size - 1) < last ? g->gpa + (g->size - 1) : last;
        r = fn ? fn(arg, lo - gpa, hi - lo + 1, g->host + (lo - g->gpa)) : 0;
        if (r)
            return r;
        covered += hi - lo + 1;
    }
    return (int64_t)covered;
}

struct piece_ctx {
    struct vpci_dev *d;
    uint64_t iova;
    unsigned perm;
};

static int send_piece(void *arg, uint64_t off, uint64_t len, uint8_t *host)
{
    struct piece_ctx *c = arg;

    return vu_fe_iotlb_update(&c->d->fe, c->iova + off, len, (uint64_t)(uintptr_t)host,
                              (uint8_t)c->perm);
}

/* One mapping to d's backend, each piece as the frontend user address the backend knows from
 * the memory table. */
static int send_map(struct vpci_dev *d, uint64_t iova, uint64_t size, uint64_t gpa, unsigned perm)
{
    struct piece_ctx c = { .d = d, .iova = iova, .perm = perm };
    int64_t r = for_pieces(d->ctx->mem, gpa, size, send_piece, &c);

    return r < 0 ? (int)r : 0;
}

static int op_map(void *arg, uint32_t ep, uint64_t iova, uint64_t size, uint64_t gpa, unsigned perm)
{
    struct vm_iommu *im = arg;
    struct vpci_dev *d = endpoint_dev(im, ep);
    int r;

    /* Only guest memory the device processes map can be reached: anything else (a BAR, a
     * hole, a private pmem mapping) is the guest's fault (S_FAULT). */
    if (for_pieces(&im->vm->mem, gpa, size, NULL, NULL) != (int64_t)size)
        return -EFAULT;
    if (!live(im, d))
        return 0;
    r = send_map(d, iova, size, gpa, perm);
    if (r && gone(r)) {
        d->iotlb_on = false;
        return 0;
    }
    if (r)
        log_warn(&im->vm->log, "%s: the backend refused an IOMMU mapping: %s", d->id, strerror(-r));
    return r;
}

static int op_unmap(void *arg, uint32_t ep, uint64_t iova, uint64_t size)
{
    struct vm_iommu *im = arg;
    struct vpci_dev *d = endpoint_dev(im, ep);
    int r;

    if (!live(im, d))
        return 0;
    r = vu_fe_iotlb_invalidate(&d->fe, iova, size);
    if (r && gone(r)) {
        d->iotlb_on = false;
        return 0;
    }
    if (r) /* the backend may still translate it: it cannot be trusted with the device */
        vpci_vu_fail(d, "refused an IOTLB invalidation", r);
    return r;
}

static const struct viommu_ops ops = {
    .map = op_map,
    .unmap = op_unmap,
    .endpoint_valid = endpoint_valid,
};

/* Frontend thread: the driver kicked the request queue. Requests run under the device lock. */
static void serve(void *arg, struct vpci_dev *d)
{
    struct vm_iommu *im = arg;

    vpci_local_serve(d, IOMMU_BUDGET, viommu_request_fn, &im->v, NULL,
                     "malformed virtio-iommu request queue");
}

/* vpci_ctx.iotlb_replay: everything out of d's IOTLB, then its domain's mappings in. */
static int replay(void *arg, struct vpci_dev *d)
{
    struct vm_iommu *im = arg;
    uint32_t ep = viot_endpoint((uint16_t)d->seg, (uint16_t)(d->pci.slot << 3));
    int r;

    if (!im->dev)
        return -ENODEV;
    d->iotlb_on = false;
    r = vu_fe_iotlb_invalidate(&d->fe, 0, UINT64_MAX);
    if (r)
        return r;
    pthread_mutex_lock(&im->dev->lock);
    im->replaying = d;
    r = viommu_replay(&im->v, ep); /* how many mappings, or -errno */
    im->replaying = NULL;
    pthread_mutex_unlock(&im->dev->lock);
    d->iotlb_on = r >= 0;
    return r < 0 ? r : 0;
}

int vm_iommu_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                  char *err, size_t errlen)
{
    struct viommu_params vp;
    struct vpci_params *list;
    struct vm_iommu *im;
    int r;

    if (!p->iommu)
        return 0;
    if (p->niommu_segments > PCI_MAX_SEGMENTS)
        return vm_set_err(err, errlen, -EINVAL, "vm: virtio-iommu: %u segments",
                          p->niommu_segments);
    list = realloc(*all, (*n + 2) * sizeof(*list));
    if (!list)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-iommu");
    *all = list;
    im = calloc(1, sizeof(*im));
    if (!im)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-iommu");
    im->vm = vm;
    memcpy(im->segments, p->iommu_segments, p->niommu_segments * sizeof(uint32_t));
    im->nsegments = p->niommu_segments;
    vp = (struct viommu_params){ .address_width =
                                     p->iommu_address_width ? p->iommu_address_width : 64,
                                 .ops = &ops,
                                 .arg = im };
    r = viommu_init(&im->v, &vp);
    if (r) {
        free(im);
        return vm_set_err(err, errlen, r, "vm: virtio-iommu");
    }
    im->local = (struct vpci_local){ .features = viommu_features(),
                                     .config = im->config,
                                     .config_len = (uint32_t)viommu_config(&im->v, im->config,
                                                                           VIOMMU_CONFIG_SIZE),
                                     .serve = serve,
                                     .arg = im };
    list[(*n)++] = (struct vpci_params){ .id = IOMMU_ID,
                                         .virtio_id = VIOMMU_VIRTIO_ID,
                                         .num_queues = VIOMMU_NUM_QUEUES,
                                         .queue_size = VIOMMU_QUEUE_SIZE,
                                         .sock = -1,
                                         .local = &im->local };
    vm->iommu = im;
    return 0;
}

void vm_iommu_bind(struct vm *vm)
{
    struct vm_iommu *im = vm->iommu;

    if (!im)
        return;
    im->dev = vm->pci_inited ? pci_devices_find(&vm->pci, IOMMU_ID) : NULL;
}

void vm_iommu_hook(struct vm *vm, int (**fn)(void *, struct vpci_dev *), void **arg)
{
    *fn = vm->iommu ? replay : NULL;
    *arg = vm->iommu;
}

int vm_iommu_viot(const struct vm *vm, struct viot_params *out)
{
    struct vm_iommu *im = vm->iommu;
    const struct pci_devices *pd = &vm->pci;
    unsigned n = 0;

    memset(out, 0, sizeof(*out));
    if (!im || !im->dev)
        return 0;
    for (uint32_t i = 0; i < im->nsegments; i++) /* at most PCI_MAX_SEGMENTS */
        im->ranges[n++] = viot_segment_range((uint16_t)im->segments[i]);
    for (size_t i = 0; i < pd->n && n < VIOT_MAX_RANGES; i++) {
        const struct vpci_dev *d = pd->devp[i];
        uint16_t bdf = (uint16_t)(d->pci.slot << 3);

        if (d->iommu && !iommu_segment(im, d->seg))
            im->ranges[n++] =
                (struct viot_range){ .endpoint_start = viot_endpoint((uint16_t)d->seg, bdf),
                                     .segment_start = (uint16_t)d->seg,
                                     .segment_end = (uint16_t)d->seg,
                                     .bdf_start = bdf,
                                     .bdf_end = bdf };
    }
    if (!n) /* an IOMMU with nothing behind it (a VIOT needs one range): no table */
        return 0;
    *out = (struct viot_params){ .iommu_segment = (uint16_t)im->dev->seg,
                                 .iommu_bdf = (uint16_t)(im->dev->pci.slot << 3),
                                 .nranges = n,
                                 .ranges = im->ranges };
    return 1;
}

int vm_iommu_check_hot_add(const struct vm *vm, const struct vpci_params *p, char *err,
                           size_t errlen)
{
    const struct vm_iommu *im = vm->iommu;
    bool seg = im && iommu_segment(im, p->pci_segment);

    if (p->iommu && !seg)
        return vm_set_err(err, errlen, -EINVAL,
                          "%s: iommu=on needs an IOMMU segment for a hot-added device "
                          "(--platform iommu_segments=[...] and pci_segment=)",
                          p->id);
    if (!p->iommu && seg)
        return vm_set_err(err, errlen, -EINVAL,
                          "%s: Device is on an IOMMU PCI segment (%u) but not placed behind IOMMU "
                          "(add iommu=on)",
                          p->id, p->pci_segment);
    return 0;
}

void vm_iommu_forget(struct vm *vm, const struct vpci_dev *d)
{
    struct vm_iommu *im = vm->iommu;

    if (!im || !im->dev || !d->iommu)
        return;
    pthread_mutex_lock(&im->dev->lock);
    im->quiet = true;
    (void)viommu_detach_endpoint(&im->v,
                                 viot_endpoint((uint16_t)d->seg, (uint16_t)(d->pci.slot << 3)));
    im->quiet = false;
    pthread_mutex_unlock(&im->dev->lock);
}

void vm_iommu_reboot(struct vm *vm)
{
    struct vm_iommu *im = vm->iommu;

    if (!im || !im->dev)
        return;
    pthread_mutex_lock(&im->dev->lock);
    im->quiet = true;
    viommu_reset(&im->v);
    im->quiet = false;
    pthread_mutex_unlock(&im->dev->lock);
}

void vm_iommu_destroy(struct vm *vm)
{
    if (!vm->iommu)
        return;
    viommu_destroy(&vm->iommu->v);
    free(vm->iommu);
    vm->iommu = NULL;
}
