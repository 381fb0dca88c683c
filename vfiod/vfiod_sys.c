#include "vfiod/vfiod_sys.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* A device that keeps answering short is broken: stop after this many pieces. */
#define MAX_PIECES 64

static int vioctl(int fd, unsigned long req, void *arg)
{
    int r;

    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

int vfiod_sys_group_status(int group_fd, struct vfio_group_status *st)
{
    st->argsz = sizeof(*st);
    return vioctl(group_fd, VFIO_GROUP_GET_STATUS, st);
}

int vfiod_sys_set_container(int group_fd, int container_fd)
{
    return vioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd);
}

int vfiod_sys_set_iommu(int container_fd, unsigned long type)
{
    int r = ioctl(container_fd, VFIO_SET_IOMMU, type);

    return r < 0 ? -errno : 0;
}

int vfiod_sys_device_fd(int group_fd, const char *bdf)
{
    return vioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, (void *)bdf);
}

int vfiod_sys_device_info(int dev_fd, struct vfio_device_info *info)
{
    info->argsz = sizeof(*info);
    return vioctl(dev_fd, VFIO_DEVICE_GET_INFO, info);
}

int vfiod_sys_region_info(int dev_fd, struct vfio_region_info *info)
{
    return vioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, info);
}

int vfiod_sys_irq_info(int dev_fd, struct vfio_irq_info *info)
{
    info->argsz = sizeof(*info);
    return vioctl(dev_fd, VFIO_DEVICE_GET_IRQ_INFO, info);
}

int vfiod_sys_set_irqs(int dev_fd, struct vfio_irq_set *set)
{
    return vioctl(dev_fd, VFIO_DEVICE_SET_IRQS, set);
}

int vfiod_sys_reset(int dev_fd)
{
    int r = ioctl(dev_fd, VFIO_DEVICE_RESET);

    return r < 0 ? -errno : 0;
}

int vfiod_sys_map_dma(int container_fd, struct vfio_iommu_type1_dma_map *map)
{
    map->argsz = sizeof(*map);
    return vioctl(container_fd, VFIO_IOMMU_MAP_DMA, map);
}

int vfiod_sys_unmap_dma(int container_fd, struct vfio_iommu_type1_dma_unmap *unmap)
{
    unmap->argsz = sizeof(*unmap);
    return vioctl(container_fd, VFIO_IOMMU_UNMAP_DMA, unmap);
}

/* pread or pwrite of exactly len bytes (the buffer is only read when writing). */
static ssize_t rw_full(int fd, uint8_t *buf, size_t len, uint64_t off, bool write)
{
    size_t done = 0;

    if (len > SSIZE_MAX || off > (uint64_t)INT64_MAX - len)
        return -EINVAL;
    for (unsigned i = 0; done < len && i < MAX_PIECES; i++) {
        off_t at = (off_t)(off + done);
        ssize_t n =
            write ? pwrite(fd, buf + done, len - done, at) : pread(fd, buf + done, len - done, at);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return done == len ? (ssize_t)len : -EIO;
}

ssize_t vfiod_sys_pread(int fd, void *buf, size_t len, uint64_t off)
{
    return rw_full(fd, buf, len, off, false);
}

ssize_t vfiod_sys_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    /* rw_full does not write through buf in this direction. */
    return rw_full(fd, (uint8_t *)(uintptr_t)buf, len, off, true);
}

int vfiod_sys_pdeathsig(void)
{
    return prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ? -errno : 0;
}

int vfiod_sys_signalfd(const sigset_t *set)
{
    int fd;

    if (sigprocmask(SIG_BLOCK, set, NULL) < 0)
        return -errno;
    fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}
