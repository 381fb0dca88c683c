#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/vfio.h>

#include "sandbox/profile_rules.h"

/*
 * cellvm-vfiod (vfiod/): a vfio-user server over one VFIO device, single-threaded, with a poll
 * loop over the client socket, the control channel and a signalfd (no libevent, so none of the
 * device-procs runtime's rules). The group, container and device fds are open and every
 * region and irq is read before the jail (vfiod/vfiod_sys.h): what is left are the ioctls
 * that act on the device and its IOMMU, and pread/pwrite for config space and trapped BAR
 * ranges. Guest memory arrives as memfds with DMA_MAP and is mapped shared, never executable
 * (the base's mmap rule), then pinned by MAP_DMA.
 */
static const struct sbx_rule vfiod[] = {
    SBX_ALLOW(accept4, "--socket-path: the next client after a disconnect"),
    SBX_ALLOW2(setsockopt, SBX_ARG(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
               SBX_ARG(2, SCMP_CMP_EQ, SO_RCVTIMEO, 0),
               "a client that stalls mid-message times out instead of hanging the loop"),
    SBX_ALLOW(pread64, "REGION_READ: config space and trapped BAR ranges on the device fd"),
    SBX_ALLOW(pwrite64, "REGION_WRITE: config space and trapped BAR ranges on the device fd"),
    SBX_IOCTL(VFIO_DEVICE_SET_IRQS, "SET_IRQS: the client's irqfds on INTx, MSI, MSI-X"),
    SBX_IOCTL(VFIO_DEVICE_RESET, "DEVICE_RESET, where the device supports it"),
    SBX_IOCTL(VFIO_IOMMU_MAP_DMA, "DMA_MAP: guest memory pinned into the device's IOMMU"),
    SBX_IOCTL(VFIO_IOMMU_UNMAP_DMA, "DMA_UNMAP, and every mapping at a disconnect"),
    SBX_ERRNO(openat, ENOENT, "every file is handed in; library probes fail softly"),
    SBX_ERRNO(open, ENOENT, "every file is handed in; library probes fail softly"),
};

const struct sbx_rule_table sbx_rules_vfiod = { vfiod, sizeof(vfiod) / sizeof(vfiod[0]) };
