#ifndef CELLVM_VFIOD_VFIOD_SYS_H
#define CELLVM_VFIOD_VFIOD_SYS_H

/*
 * Every syscall cellvm-vfiod makes on its VFIO fds, in one place so sandbox/rules_vfiod.c can
 * be read against it. Setup (group status, container, IOMMU type, device fd, device, region and
 * irq info) runs before the jail; after it only SET_IRQS, RESET, MAP_DMA, UNMAP_DMA and
 * pread/pwrite on the device fd are allowed. Each returns 0 (or a count / an fd) or -errno.
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vfio.h>

int vfiod_sys_group_status(int group_fd, struct vfio_group_status *st);
int vfiod_sys_set_container(int group_fd, int container_fd);
int vfiod_sys_set_iommu(int container_fd, unsigned long type);
/* The device fd (O_CLOEXEC) for bdf ("0000:00:03.0"). */
int vfiod_sys_device_fd(int group_fd, const char *bdf);
int vfiod_sys_device_info(int dev_fd, struct vfio_device_info *info);
/* info->argsz and index set by the caller; the kernel may raise argsz (capabilities). */
int vfiod_sys_region_info(int dev_fd, struct vfio_region_info *info);
int vfiod_sys_irq_info(int dev_fd, struct vfio_irq_info *info);
int vfiod_sys_set_irqs(int dev_fd, struct vfio_irq_set *set);
int vfiod_sys_reset(int dev_fd);
int vfiod_sys_map_dma(int container_fd, struct vfio_iommu_type1_dma_map *map);
/* On success unmap->size is what the kernel unmapped. */
int vfiod_sys_unmap_dma(int container_fd, struct vfio_iommu_type1_dma_unmap *unmap);

/* Reads or writes exactly len bytes at off (short transfers continued, a bounded number of
 * times); len or -errno (-EIO when the device stops short). */
ssize_t vfiod_sys_pread(int fd, void *buf, size_t len, uint64_t off);
ssize_t vfiod_sys_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/* SIGKILL when the parent (the controller) dies. */
int vfiod_sys_pdeathsig(void);
/* Blocks the signals in set and returns a signalfd (O_CLOEXEC | O_NONBLOCK) for them. */
int vfiod_sys_signalfd(const sigset_t *set);

#endif
