#ifndef CELLVM_VFIOD_VFIO_GROUP_H
#define CELLVM_VFIOD_VFIO_GROUP_H

/*
 * The host side of a --device path: from a sysfs PCI device directory to an opened, viable VFIO
 * group and container. Used by the controller (the only privileged step for a VFIO device) and
 * by a standalone cellvm-vfiod. `sysfs` is the sysfs mount ("/sys"; tests pass a fake tree) and
 * `devdir` the VFIO device directory ("/dev/vfio").
 */

#include <stddef.h>

#define VFIO_BDF_LEN 16 /* "0000:00:01.0" and its NUL */

/*
 * path must name a PCI device: /sys/bus/pci/devices/<BDF> (or a symlink to one under
 * sysfs/devices). Fills bdf and the IOMMU group number. -ENOENT (no such device), -ENODEV (not
 * a PCI device), -EINVAL (no IOMMU group: no IOMMU, or VFIO no-IOMMU mode), err says which.
 */
int vfio_group_resolve(const char *sysfs, const char *path, char bdf[VFIO_BDF_LEN], unsigned *group,
                       char *err, size_t errlen);

/*
 * Every device in the group is bound to vfio-pci or to no driver (a PCI bridge in the group is
 * fine, as the kernel allows). -EBUSY naming the first device that is not, with its driver.
 */
int vfio_group_viable(const char *sysfs, unsigned group, char *err, size_t errlen);

/*
 * Opens devdir/vfio (the container) and devdir/<group>, both O_RDWR | O_CLOEXEC, and checks the
 * API version and VFIO_TYPE1v2_IOMMU support on the container and VFIO_GROUP_FLAGS_VIABLE on
 * the group. The caller owns both fds. -EBUSY when the group is already open elsewhere (a
 * device in use), other -errno with err filled.
 */
int vfio_group_open(const char *devdir, unsigned group, int *container_fd, int *group_fd, char *err,
                    size_t errlen);

/*
 * The group into the container with the type1v2 IOMMU (unless it sits in one already) and the
 * device fd of bdf from it (O_CLOEXEC as the kernel makes it). The controller keeps that fd for
 * the device's whole life: while one fd is open the kernel neither disables nor resets the
 * function, and the container keeps its DMA mappings, so a cellvm-vfiod that dies takes neither
 * with it (respawn.h). 0 or -errno with err filled; nothing is opened on failure.
 */
int vfio_group_device(int container_fd, int group_fd, const char *bdf, int *device_fd, char *err,
                      size_t errlen);

#endif
