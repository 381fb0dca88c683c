#ifndef CELLVM_CORE_CONTROLLER_VFIO_HOST_H
#define CELLVM_CORE_CONTROLLER_VFIO_HOST_H

/*
 * The controller's privileged step for a --device (VFIO passthrough): the sysfs path checked
 * and resolved to its IOMMU group, the group's viability, the container and group opened
 * (vfiod/vfio_group.h), the group attached to the container and the device fd taken from it,
 * and the locked-memory limit cellvm-vfiod needs to pin guest RAM. The three fds go to
 * cellvm-vfiod in its DeviceConfigure and the controller keeps its copies for the device's life
 * (closed when the row is released: VM end, hot removal): a vfiod that dies takes neither the
 * device's state (the kernel disables and resets a function only when its last device fd
 * closes) nor the container's DMA mappings with it, so its replacement (respawn.h) gets the same
 * fds and carries on with the device as it was, without a reset.
 *
 * Not done: the KVM VFIO pseudo-device (KVM_DEV_VFIO_GROUP_ADD). KVM uses it mainly to learn that
 * a device may do DMA that does not snoop CPU caches (an IOMMU without snoop control), so that
 * it honours the guest's memory types instead of forcing write-back. With snoop control (the
 * IOMMUs of current x86 servers; VFIO's type1 then maps with IOMMU_CACHE) it changes nothing.
 * It needs the group fd in the process that holds the VM fd; keeping the group fd out of the
 * core would take a device fd sent from the core to the controller and one more control
 * message. Left for a host that lacks snoop control (on the nested bench QEMU's TCG has no
 * caches to miss); also missing with it: the KVM pointer some mediated devices (GVT-g, vfio-ap)
 * take from it, which no PCI function passed through whole needs.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cli/cli.h"
#include "core/controller/devices.h"
#include "vfiod/vfio_group.h"

#define VFIO_HOST_SYSFS    "/sys"
#define VFIO_HOST_DEVDIR   "/dev/vfio"
#define VFIO_HOST_PATH_LEN 48 /* "/sys/bus/pci/devices/DDDD:BB:DD.F" and its NUL */

/* Above guest RAM. VFIO's type1 IOMMU counts every page vfiod maps for DMA, which is guest RAM
 * and nothing else, and vfiod locks no memory of its own; the margin (libvirt adds 1 GiB for
 * QEMU, whose own process does more) covers rounding and leaves no mapping short by a page. */
#define VFIO_HOST_MEMLOCK_MARGIN (64ull << 20)

struct vfio_host {
    char bdf[VFIO_BDF_LEN];
    unsigned group;
    int container_fd; /* owned by the caller on success */
    int group_fd;     /* owned by the caller on success */
    int device_fd;    /* owned by the caller on success */
};

/* Resolves path to its function and IOMMU group; fds -1. 0 or -errno with one line in err
 * (naming id, the device's id). */
int vfio_host_resolve(const char *path, const char *id, struct vfio_host *out, char *err,
                      size_t errlen);

/* Checks the group's viability, opens container and group, attaches the group and takes the
 * device fd (vfio_group_device). On failure nothing stays open. 0 or -errno with err. */
int vfio_host_open(const char *id, struct vfio_host *h, char *err, size_t errlen);

/* Every --device of cfg resolved and its group viable, one device per group: run with the payload
 * checks, so a wrong --device is refused before /dev/kvm is opened and any process starts.
 * Nothing stays open. 0 or -errno with err. */
int vfio_host_check(const struct cli_config *cfg, char *err, size_t errlen);

/*
 * dv (a --device row of d, after the rows before it): path resolved, its group checked against
 * the groups of d's earlier --device rows (one device per group), viable and opened; container
 * group and device fd become dv's data fds (kept for the row's life). canon gets /sys/bus/pci/devices/<BDF> for vfiod. 0 or -errno
 * with err; fds already in dv are closed with the row.
 */
int vfio_host_setup(const struct devices *d, struct device *dv, const char *path,
                    char canon[VFIO_HOST_PATH_LEN], char *err, size_t errlen);

/* Raises the just spawned vfiod's RLIMIT_MEMLOCK to dv->memlock (vfio_host_set_memlock); on
 * failure the process is killed and reaped and dv->proc closed. 0 or -errno with err. */
int vfio_host_limit(struct device *dv, char *err, size_t errlen);

/* Bytes of locked memory cellvm-vfiod may pin: all guest RAM the configuration can ever have
 * (boot RAM, zones, hotplug sizes) plus VFIO_HOST_MEMLOCK_MARGIN; UINT64_MAX on overflow. */
uint64_t vfio_host_memlock(const struct cli_config *cfg);

/* Raises RLIMIT_MEMLOCK of the (just spawned) process pid to at least bytes, soft and hard:
 * it runs in a user namespace without CAP_IPC_LOCK or CAP_SYS_RESOURCE, and VFIO counts pinned
 * pages against the limit of the process that maps them. 0 or -errno with err. */
int vfio_host_set_memlock(pid_t pid, uint64_t bytes, char *err, size_t errlen);

#endif
