#ifndef CELLVM_CORE_ACPI_VIOT_H
#define CELLVM_CORE_ACPI_VIOT_H

#include <stdint.h>

#include "core/acpi/acpi_buf.h"

/*
 * VIOT, the Virtual I/O Translation table (ACPI 6.4+, revision 0; Linux drivers/acpi/viot.c
 * reads it): which PCI functions sit behind a virtio-iommu. Built here with one virtio-pci IOMMU
 * node (the virtio-iommu's own segment and BDF) and one PCI range node per viot_range, each
 * pointing at the IOMMU node. Layout (little-endian):
 *
 *   0   SDT header (36 bytes, signature "VIOT", revision 0)
 *   36  u16 node_count, u16 node_offset (48), u8 reserved[8]
 *   48  virtio-pci IOMMU node: u8 type 3, u8 0, u16 length 16, u16 segment, u16 bdf, 8 zero
 *   64  PCI range nodes, 24 bytes each: u8 type 1, u8 0, u16 length 24, u32 endpoint_start,
 *       u16 segment_start, segment_end, bdf_start, bdf_end, u16 output_node (48), 6 zero
 *
 * Linux gives the function (segment, bdf) of a range the endpoint id
 *   ((segment - segment_start) << 16) + (bdf - bdf_start) + endpoint_start,
 * so a range whose endpoint_start is viot_endpoint(segment_start, bdf_start) yields
 * viot_endpoint(segment, bdf) = (segment << 16) | bdf, the ids virtio_iommu.h uses.
 */

#define VIOT_REVISION        0
#define VIOT_HDR_SIZE        48
#define VIOT_NODE_PCI_RANGE  1
#define VIOT_NODE_VIRTIO_PCI 3
#define VIOT_IOMMU_NODE_LEN  16
#define VIOT_RANGE_NODE_LEN  24
#define VIOT_MAX_RANGES      256

struct viot_range {
    uint32_t endpoint_start;
    uint16_t segment_start, segment_end; /* inclusive */
    uint16_t bdf_start, bdf_end;         /* inclusive, in every segment of the range */
};

struct viot_params {
    uint16_t iommu_segment, iommu_bdf; /* the virtio-iommu PCI function */
    unsigned nranges;                  /* 1..VIOT_MAX_RANGES */
    const struct viot_range *ranges;
};

static inline uint32_t viot_endpoint(uint16_t segment, uint16_t bdf)
{
    return (uint32_t)segment << 16 | bdf;
}

/* The range of every function of one segment, endpoint ids viot_endpoint(segment, bdf). */
static inline struct viot_range viot_segment_range(uint16_t segment)
{
    return (struct viot_range){ .endpoint_start = viot_endpoint(segment, 0),
                                .segment_start = segment,
                                .segment_end = segment,
                                .bdf_start = 0,
                                .bdf_end = 0xffff };
}

/*
 * Appends the table at the buffer's end (its offset is the length before the call). Latches
 * -EINVAL in the buffer for no range or more than VIOT_MAX_RANGES, a range whose start is above
 * its end, or one whose endpoint ids would pass 2^32 - 1.
 */
void acpi_viot_build(struct acpi_buf *b, const struct viot_params *p);

#endif
