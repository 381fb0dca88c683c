#include "vfiod/vfiod_vfio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfiod/vfiod_msix.h"
#include "vfiod/vfiod_sys.h"

#define NUM_BARS 6
/* Standard config space: where the capability list (and MSI-X) lives. */
#define CFG_LEN 256
/* A region info with its capability chain; the kernel's is a few hundred bytes. */
#define REGION_INFO_MAX 4096
#define MAX_CAPS        16

#define IRQ_ACTION(f)   ((f)&VFIO_IRQ_SET_ACTION_TYPE_MASK)
#define IRQ_DATA(f)     ((f)&VFIO_IRQ_SET_DATA_TYPE_MASK)

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t len, int r, const char *fmt,
                                                      ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return r;
}

/* The kernel's sparse-mmap capability, when the region info carries one. */
struct kernel_sparse {
    bool present;
    bool too_many; /* more areas than we keep: treated as nothing mappable */
    unsigned n;
    struct vfu_sparse_area a[VFU_MAX_SPARSE];
};

/* Walks the capability chain of a region info of argsz bytes (a bounded, checked walk). */
static void parse_caps(const uint8_t *buf, uint32_t argsz, uint32_t index, struct kernel_sparse *ks)
{
    const struct vfio_region_info *ri = (const void *)buf;
    uint32_t off = ri->cap_offset;

    for (unsigned i = 0; i < MAX_CAPS && off; i++) {
        struct vfio_info_cap_header h;

        if (off < sizeof(*ri) || off > argsz || argsz - off < sizeof(h))
            break;
        memcpy(&h, buf + off, sizeof(h));
        if (h.id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
            struct vfio_region_info_cap_sparse_mmap sp;

            if (argsz - off < sizeof(sp))
                break;
            memcpy(&sp, buf + off, sizeof(sp));
            ks->present = true;
            if (sp.nr_areas > VFU_MAX_SPARSE ||
                (argsz - off - sizeof(sp)) / sizeof(struct vfu_sparse_area) < sp.nr_areas) {
                ks->too_many = true;
                break;
            }
            ks->n = sp.nr_areas;
            memcpy(ks->a, buf + off + sizeof(sp), ks->n * sizeof(ks->a[0]));
        } else if (h.id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) {
            /* The core emulates MSI-X: the table stays trapped whatever the kernel allows. */
            fprintf(stderr, "vfiod: region %u: kernel allows mapping MSI-X; kept trapped\n", index);
        }
        off = h.next;
    }
}

/* GET_REGION_INFO with room for the capabilities (the kernel says how much it needs). */
static int region_info(struct vfiod_vfio *v, uint32_t index, struct vfio_region_info *out,
                       struct kernel_sparse *ks)
{
    uint32_t size = sizeof(struct vfio_region_info) + 512;
    uint8_t *buf = NULL;
    int r = -EMSGSIZE;

    memset(ks, 0, sizeof(*ks));
    for (unsigned tries = 0; tries < 3; tries++) {
        struct vfio_region_info *ri;

        free(buf);
        buf = calloc(1, size);
        if (!buf)
            return -ENOMEM;
        ri = (void *)buf;
        ri->argsz = size;
        ri->index = index;
        r = vfiod_sys_region_info(v->device_fd, ri);
        if (r < 0)
            break;
        if (ri->argsz > size) {
            r = -EMSGSIZE;
            if (ri->argsz > REGION_INFO_MAX)
                break;
            size = ri->argsz;
            continue;
        }
        *out = *ri;
        if ((ri->flags & VFIO_REGION_INFO_FLAG_CAPS) && ri->cap_offset)
            parse_caps(buf, ri->argsz, index, ks);
        r = 0;
        break;
    }
    free(buf);
    return r;
}

static void log_region(uint32_t index, const struct vfiod_region *r)
{
    char areas[VFU_MAX_SPARSE * 40] = "";
    size_t used = 0;

    for (unsigned i = 0; i < r->nsparse && used < sizeof(areas); i++) {
        int w = snprintf(areas + used, sizeof(areas) - used, " [0x%" PRIx64 "+0x%" PRIx64 "]",
                         r->sparse[i].offset, r->sparse[i].size);

        if (w < 0)
            break;
        used += (size_t)w;
    }
    fprintf(stderr, "vfiod: region %u: size 0x%" PRIx64 "%s%s%s%s\n", index, r->size,
            r->flags & VFU_REGION_F_READ ? " r" : "", r->flags & VFU_REGION_F_WRITE ? " w" : "",
            r->flags & VFU_REGION_F_MMAP ? (r->nsparse ? " mmap areas" : " mmap whole") : "",
            areas);
}

/* The MSI-X capability from the first CFG_LEN bytes of config space: 0, -ENOENT (none), or
   another -errno when config space cannot be read. */
static int read_msix(struct vfiod_vfio *v, struct vfiod_msix *m)
{
    const struct vfiod_region *cfg = &v->regions[VFIO_PCI_CONFIG_REGION_INDEX];
    uint8_t space[CFG_LEN];
    size_t len = cfg->size < CFG_LEN ? (size_t)cfg->size : CFG_LEN;
    ssize_t n;
    int r;

    if (len < 64)
        return -EIO;
    n = vfiod_sys_pread(v->device_fd, space, len, cfg->offset);
    if (n < 0)
        return (int)n;
    r = vfiod_msix_find(space, len, m);
    if (r)
        return r == -ENOENT ? r : -EIO;
    fprintf(stderr,
            "vfiod: MSI-X: %u vectors, table BAR %u offset 0x%x, PBA BAR %u offset 0x%x "
            "(trapped)\n",
            m->table_size, m->table_bar, m->table_off, m->pba_bar, m->pba_off);
    return 0;
}

/* The mappable areas of BAR index: the kernel's, minus the MSI-X pages. */
static void bar_areas(struct vfiod_vfio *v, uint32_t index, const struct kernel_sparse *ks,
                      const struct vfiod_msix *m)
{
    struct vfiod_region *reg = &v->regions[index];
    long page = sysconf(_SC_PAGESIZE);
    int n;

    if (ks->present && (ks->too_many || ks->n == 0)) {
        reg->flags &= ~VFU_REGION_F_MMAP;
        return;
    }
    n = vfiod_msix_sparse(m, index, reg->size, page > 0 ? (uint64_t)page : 4096, ks->a, ks->n,
                          reg->sparse, VFU_MAX_SPARSE);
    if (n <= 0) {
        reg->flags &= ~VFU_REGION_F_MMAP;
        return;
    }
    reg->nsparse = (unsigned)n;
    /* One area spanning the whole BAR is the plain "map it all". */
    if (n == 1 && reg->sparse[0].offset == 0 && reg->sparse[0].size == reg->size)
        reg->nsparse = 0;
}

static int read_regions(struct vfiod_vfio *v, char *err, size_t errlen)
{
    struct kernel_sparse ks[NUM_BARS];
    struct vfiod_msix msix;
    int msix_r;

    for (uint32_t i = 0; i < v->num_regions; i++) {
        struct vfio_region_info ri = { 0 };
        struct kernel_sparse tmp, *k = i < NUM_BARS ? &ks[i] : &tmp;
        struct vfiod_region *reg = &v->regions[i];
        int r = region_info(v, i, &ri, k);

        /* vfio-pci answers EINVAL for a region the function lacks (VGA on anything but a VGA
         * device): absent, as an unimplemented BAR is. Config space must exist. */
        if (r == -EINVAL && i != VFU_PCI_CONFIG_REGION_INDEX) {
            memset(reg, 0, sizeof(*reg));
            continue;
        }
        if (r)
            return fail(err, errlen, r, "%s: region %u info: %s", v->bdf, i, strerror(-r));
        reg->size = ri.size;
        reg->offset = ri.offset;
        reg->flags = ri.flags & (VFU_REGION_F_READ | VFU_REGION_F_WRITE | VFU_REGION_F_MMAP);
        /* Only BARs are mapped by the client (ROM, config space, VGA stay trapped). */
        if (i >= NUM_BARS || !ri.size)
            reg->flags &= ~VFU_REGION_F_MMAP;
    }
    memset(&msix, 0, sizeof(msix));
    msix_r = read_msix(v, &msix);
    /* Without the capability list nothing is known to be safe to map. */
    if (msix_r && msix_r != -ENOENT)
        fprintf(stderr, "vfiod: %s: config space unreadable (%s): no BAR is mapped\n", v->bdf,
                strerror(-msix_r));
    for (uint32_t i = 0; i < v->num_regions; i++) {
        if (msix_r && msix_r != -ENOENT)
            v->regions[i].flags &= ~VFU_REGION_F_MMAP;
        if (i < NUM_BARS && (v->regions[i].flags & VFU_REGION_F_MMAP))
            bar_areas(v, i, &ks[i], msix_r ? NULL : &msix);
        if (v->regions[i].size)
            log_region(i, &v->regions[i]);
    }
    return 0;
}

static int read_irqs(struct vfiod_vfio *v, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < v->num_irqs; i++) {
        struct vfio_irq_info ii = { .index = i };
        int r = vfiod_sys_irq_info(v->device_fd, &ii);

        /* EINVAL for an index the function lacks (ERR on a conventional PCI device): none. */
        if (r == -EINVAL && i != VFU_PCI_INTX_IRQ_INDEX) {
            v->irq_flags[i] = 0;
            v->irq_count[i] = 0;
            continue;
        }
        if (r)
            return fail(err, errlen, r, "%s: irq %u info: %s", v->bdf, i, strerror(-r));
        v->irq_flags[i] = ii.flags & (VFU_IRQ_F_EVENTFD | VFU_IRQ_F_MASKABLE |
                                      VFU_IRQ_F_AUTOMASKED | VFU_IRQ_F_NORESIZE);
        v->irq_count[i] = ii.count;
        if (ii.count)
            fprintf(stderr, "vfiod: irq %u: %u vector(s), flags 0x%x\n", i, ii.count, ii.flags);
    }
    return 0;
}

/* The group into the container with the type1v2 IOMMU, unless that happened already. */
static int attach_group(struct vfiod_vfio *v, char *err, size_t errlen)
{
    struct vfio_group_status st;
    int r = vfiod_sys_group_status(v->group_fd, &st);

    if (r)
        return fail(err, errlen, r, "VFIO group status: %s", strerror(-r));
    if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
        return fail(err, errlen, -EBUSY,
                    "VFIO group of %s is not viable: every device in it must be bound to "
                    "vfio-pci or to no driver",
                    v->bdf);
    if (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)
        return 0;
    r = vfiod_sys_set_container(v->group_fd, v->container_fd);
    if (r)
        return fail(err, errlen, r, "VFIO_GROUP_SET_CONTAINER: %s", strerror(-r));
    r = vfiod_sys_set_iommu(v->container_fd, VFIO_TYPE1v2_IOMMU);
    if (r)
        return fail(err, errlen, r, "VFIO_SET_IOMMU (type1v2): %s", strerror(-r));
    return 0;
}

int vfiod_vfio_init(struct vfiod_vfio *v, int container_fd, int group_fd, int device_fd,
                    const char *bdf, char *err, size_t errlen)
{
    struct vfio_device_info info;
    int r;

    memset(v, 0, sizeof(*v));
    v->container_fd = container_fd;
    v->group_fd = group_fd;
    v->device_fd = device_fd;
    v->inherited = device_fd >= 0;
    if (strlen(bdf) >= sizeof(v->bdf))
        return fail(err, errlen, -EINVAL, "bad PCI address '%s'", bdf);
    strcpy(v->bdf, bdf);
    r = attach_group(v, err, errlen);
    if (r)
        return r;
    if (v->device_fd < 0) {
        r = vfiod_sys_device_fd(v->group_fd, v->bdf);
        if (r < 0)
            return fail(err, errlen, r, "VFIO_GROUP_GET_DEVICE_FD %s: %s%s", v->bdf, strerror(-r),
                        r == -EBUSY ? " (the device is in use)" : "");
        v->device_fd = r;
    }
    r = vfiod_sys_device_info(v->device_fd, &info);
    if (r)
        return fail(err, errlen, r, "%s: VFIO_DEVICE_GET_INFO: %s", v->bdf, strerror(-r));
    if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
        return fail(err, errlen, -ENODEV, "%s: not a vfio-pci device (flags 0x%x)", v->bdf,
                    info.flags);
    v->flags = VFU_DEV_F_PCI | (info.flags & VFIO_DEVICE_FLAGS_RESET ? VFU_DEV_F_RESET : 0);
    v->num_regions =
        info.num_regions < VFIOD_DEV_MAX_REGIONS ? info.num_regions : VFIOD_DEV_MAX_REGIONS;
    v->num_irqs = info.num_irqs < VFIOD_DEV_MAX_IRQS ? info.num_irqs : VFIOD_DEV_MAX_IRQS;
    if (info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
        return fail(err, errlen, -ENODEV, "%s: %u regions, no config space", v->bdf,
                    info.num_regions);
    fprintf(stderr, "vfiod: opened %s: device fd %d, %u regions, %u irqs, %s\n", v->bdf,
            v->device_fd, info.num_regions, info.num_irqs,
            v->flags & VFU_DEV_F_RESET ? "resettable" : "no reset");
    r = read_regions(v, err, errlen);
    if (!r)
        r = read_irqs(v, err, errlen);
    return r;
}

static int v_info(void *dev, uint32_t *flags, uint32_t *num_regions, uint32_t *num_irqs)
{
    struct vfiod_vfio *v = dev;

    *flags = v->flags;
    *num_regions = v->num_regions;
    *num_irqs = v->num_irqs;
    return 0;
}

static int v_region_info(void *dev, uint32_t index, struct vfiod_region *r, int *mmap_fd)
{
    struct vfiod_vfio *v = dev;

    if (index >= v->num_regions)
        return -EINVAL;
    *r = v->regions[index];
    *mmap_fd = r->flags & VFU_REGION_F_MMAP ? v->device_fd : -1;
    return 0;
}

static int v_irq_info(void *dev, uint32_t index, uint32_t *flags, uint32_t *count)
{
    struct vfiod_vfio *v = dev;

    if (index >= v->num_irqs)
        return -EINVAL;
    *flags = v->irq_flags[index];
    *count = v->irq_count[index];
    return 0;
}

/* The region's file offset of [off, off + len), or -EINVAL when it is not inside. */
static int64_t region_at(const struct vfiod_vfio *v, uint32_t index, uint64_t off, uint32_t len)
{
    const struct vfiod_region *r;

    if (index >= v->num_regions)
        return -EINVAL;
    r = &v->regions[index];
    if (off > r->size || len > r->size - off || r->offset > (uint64_t)INT64_MAX - r->size)
        return -EINVAL;
    return (int64_t)(r->offset + off);
}

static ssize_t v_region_read(void *dev, uint32_t index, uint64_t off, void *buf, uint32_t len)
{
    struct vfiod_vfio *v = dev;
    int64_t at = region_at(v, index, off, len);
    ssize_t n;

    if (at < 0)
        return at;
    n = vfiod_sys_pread(v->device_fd, buf, len, (uint64_t)at);
    if (n < 0)
        fprintf(stderr, "vfiod: read region %u [0x%" PRIx64 "+%u]: %s\n", index, off, len,
                strerror((int)-n));
    return n;
}

static ssize_t v_region_write(void *dev, uint32_t index, uint64_t off, const void *buf,
                              uint32_t len)
{
    struct vfiod_vfio *v = dev;
    int64_t at = region_at(v, index, off, len);
    ssize_t n;

    if (at < 0)
        return at;
    n = vfiod_sys_pwrite(v->device_fd, buf, len, (uint64_t)at);
    if (n < 0)
        fprintf(stderr, "vfiod: write region %u [0x%" PRIx64 "+%u]: %s\n", index, off, len,
                strerror((int)-n));
    return n;
}

/* One VFIO_DEVICE_SET_IRQS; fds may hold -1 (no trigger for that vector). */
static int irq_call(struct vfiod_vfio *v, uint32_t flags, uint32_t index, uint32_t start,
                    uint32_t count, const int *fds, const uint8_t *bools)
{
    size_t data = IRQ_DATA(flags) == VFIO_IRQ_SET_DATA_EVENTFD ? count * sizeof(int32_t)
                  : IRQ_DATA(flags) == VFIO_IRQ_SET_DATA_BOOL  ? count
                                                               : 0;
    struct vfio_irq_set *set = calloc(1, sizeof(*set) + data);
    int r;

    if (!set)
        return -ENOMEM;
    set->argsz = (uint32_t)(sizeof(*set) + data);
    set->flags = flags;
    set->index = index;
    set->start = start;
    set->count = count;
    if (IRQ_DATA(flags) == VFIO_IRQ_SET_DATA_EVENTFD) {
        for (uint32_t i = 0; i < count; i++) {
            int32_t fd = fds ? fds[i] : -1;

            memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
        }
    } else if (data) {
        memcpy(set->data, bools, data);
    }
    r = vfiod_sys_set_irqs(v->device_fd, set);
    free(set);
    return r;
}

/*
 * Linux (6.1) sizes MSI/MSI-X at the first eventfd block (start + count vectors) and cannot
 * grow it later, while a client splits a block larger than max_msg_fds by start. So the first
 * block of a split enables every vector without a trigger first. MSI-X: always (unused
 * vectors stay masked in the device's table). MSI: only for a full message (a split), since
 * MSI's vector count is the guest's Multiple Message Enable and more would differ from it.
 */
static void enable_all_first(struct vfiod_vfio *v, uint32_t index, uint32_t start, uint32_t count)
{
    uint32_t total = v->irq_count[index];
    int r;

    if (v->irq_on[index] || start + count >= total)
        return;
    if (index == VFIO_PCI_MSI_IRQ_INDEX && count < VFU_MAX_FDS)
        return;
    if (index != VFIO_PCI_MSI_IRQ_INDEX && index != VFIO_PCI_MSIX_IRQ_INDEX)
        return;
    r = irq_call(v, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, total, NULL,
                 NULL);
    if (r) {
        fprintf(stderr, "vfiod: irq %u: enabling all %u vectors: %s; enabling %u\n", index, total,
                strerror(-r), start + count);
        return;
    }
    v->irq_on[index] = true;
}

static int v_set_irqs(void *dev, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
                      const int *fds, const uint8_t *bools);

/* The kernel runs one of INTx, MSI, MSI-X at a time: a guest switching types gets the old one
   turned off here rather than an EINVAL. */
static void other_type_off(struct vfiod_vfio *v, uint32_t index)
{
    if (index > VFIO_PCI_MSIX_IRQ_INDEX)
        return;
    for (uint32_t i = 0; i <= VFIO_PCI_MSIX_IRQ_INDEX && i < v->num_irqs; i++) {
        if (i == index || !v->irq_on[i])
            continue;
        fprintf(stderr, "vfiod: irq %u enabled while irq %u is on: turning %u off\n", index, i, i);
        v_set_irqs(v, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, i, 0, 0, NULL, NULL);
    }
}

static int v_set_irqs(void *dev, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
                      const int *fds, const uint8_t *bools)
{
    struct vfiod_vfio *v = dev;
    bool trigger = IRQ_ACTION(flags) == VFIO_IRQ_SET_ACTION_TRIGGER;
    bool eventfds = IRQ_DATA(flags) == VFIO_IRQ_SET_DATA_EVENTFD;
    int r;

    if (index >= v->num_irqs || count > v->irq_count[index] || start > v->irq_count[index] - count)
        return -EINVAL;
    if (trigger && IRQ_DATA(flags) == VFIO_IRQ_SET_DATA_NONE && count == 0 && !v->irq_on[index] &&
        !v->inherited)
        return 0; /* disabling what is off: the kernel would say EINVAL */
    if (trigger && eventfds && count && !v->irq_on[index]) {
        other_type_off(v, index);
        enable_all_first(v, index, start, count);
    }
    r = irq_call(v, flags, index, start, count, fds, bools);
    if (r == -EINVAL && trigger && count == 0 && !v->irq_on[index])
        return 0; /* inherited, and it was off after all */
    if (r) {
        fprintf(stderr, "vfiod: SET_IRQS irq %u flags 0x%x [%u+%u]: %s\n", index, flags, start,
                count, strerror(-r));
        return r;
    }
    if (trigger && count == 0)
        v->irq_on[index] = false;
    else if (trigger && eventfds)
        v->irq_on[index] = true;
    return 0;
}

static int v_dma_map(void *dev, uint64_t iova, uint64_t size, void *vaddr, uint32_t prot)
{
    struct vfiod_vfio *v = dev;
    struct vfio_iommu_type1_dma_map m = {
        .flags = prot & (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE),
        .vaddr = (uint64_t)(uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };
    int r = vfiod_sys_map_dma(v->container_fd, &m);

    if (r == -EEXIST && v->inherited) {
        /* Mapped by the vfiod this one replaces; the IOMMU still pins those pages. */
        fprintf(stderr, "vfiod: MAP_DMA iova 0x%" PRIx64 " size 0x%" PRIx64 ": kept from before\n",
                iova, size);
        return 0;
    }
    if (r)
        fprintf(stderr, "vfiod: MAP_DMA iova 0x%" PRIx64 " size 0x%" PRIx64 ": %s%s\n", iova, size,
                strerror(-r),
                r == -ENOMEM ? " (RLIMIT_MEMLOCK below guest RAM? pinning counts against it)" : "");
    return r;
}

static int v_dma_unmap(void *dev, uint64_t iova, uint64_t size)
{
    struct vfiod_vfio *v = dev;
    struct vfio_iommu_type1_dma_unmap u = { .iova = iova, .size = size };
    int r = vfiod_sys_unmap_dma(v->container_fd, &u);

    if (r)
        fprintf(stderr, "vfiod: UNMAP_DMA iova 0x%" PRIx64 " size 0x%" PRIx64 ": %s\n", iova, size,
                strerror(-r));
    else if (u.size != size)
        fprintf(stderr,
                "vfiod: UNMAP_DMA iova 0x%" PRIx64 ": unmapped 0x%" PRIx64 " of 0x%" PRIx64 "\n",
                iova, (uint64_t)u.size, size);
    return r;
}

static void irqs_off(struct vfiod_vfio *v)
{
    for (uint32_t i = 0; i < v->num_irqs; i++)
        if (v->irq_on[i])
            v_set_irqs(v, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, i, 0, 0, NULL,
                       NULL);
}

/* As QEMU does before a reset: interrupts off, the guest driver sets them up again. */
static int v_reset(void *dev)
{
    struct vfiod_vfio *v = dev;
    int r;

    if (!(v->flags & VFU_DEV_F_RESET)) {
        fprintf(stderr, "vfiod: %s has no reset; refused\n", v->bdf);
        return -ENOTTY;
    }
    irqs_off(v);
    r = vfiod_sys_reset(v->device_fd);
    fprintf(stderr, "vfiod: reset %s: %s\n", v->bdf, r ? strerror(-r) : "done");
    return r;
}

void vfiod_vfio_quiesce(struct vfiod_vfio *v)
{
    struct vfio_iommu_type1_dma_unmap all = { .flags = VFIO_DMA_UNMAP_FLAG_ALL };
    int r;

    if (v->device_fd < 0)
        return;
    irqs_off(v);
    r = vfiod_sys_unmap_dma(v->container_fd, &all);
    if (r)
        fprintf(stderr, "vfiod: unmapping every DMA range: %s\n", strerror(-r));
}

void vfiod_vfio_close(struct vfiod_vfio *v)
{
    /* The device fd first: the group stays busy while it is open. */
    if (v->device_fd >= 0)
        close(v->device_fd);
    if (v->group_fd >= 0)
        close(v->group_fd);
    if (v->container_fd >= 0)
        close(v->container_fd);
    v->device_fd = v->group_fd = v->container_fd = -1;
}

const struct vfiod_dev_ops vfiod_vfio_ops = {
    .info = v_info,
    .region_info = v_region_info,
    .irq_info = v_irq_info,
    .region_read = v_region_read,
    .region_write = v_region_write,
    .set_irqs = v_set_irqs,
    .dma_map = v_dma_map,
    .dma_unmap = v_dma_unmap,
    .reset = v_reset,
};
