#include "core/acpi/viot.h"

#include <errno.h>

static int range_check(const struct viot_range *r)
{
    uint64_t last;

    if (r->segment_start > r->segment_end || r->bdf_start > r->bdf_end)
        return -EINVAL;
    last = ((uint64_t)(r->segment_end - r->segment_start) << 16) + (r->bdf_end - r->bdf_start) +
           r->endpoint_start;
    return last > UINT32_MAX ? -EINVAL : 0;
}

void acpi_viot_build(struct acpi_buf *b, const struct viot_params *p)
{
    size_t start;

    if (!p->nranges || p->nranges > VIOT_MAX_RANGES || !p->ranges) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    for (unsigned i = 0; i < p->nranges; i++) {
        if (range_check(&p->ranges[i])) {
            acpi_buf_fail(b, -EINVAL);
            return;
        }
    }
    start = acpi_sdt_begin(b, "VIOT", VIOT_REVISION);
    acpi_buf_put16(b, (uint16_t)(p->nranges + 1));
    acpi_buf_put16(b, VIOT_HDR_SIZE);
    acpi_buf_put64(b, 0); /* reserved */

    /* The IOMMU node, at VIOT_HDR_SIZE from the table's start: the ranges' output_node. */
    acpi_buf_put8(b, VIOT_NODE_VIRTIO_PCI);
    acpi_buf_put8(b, 0);
    acpi_buf_put16(b, VIOT_IOMMU_NODE_LEN);
    acpi_buf_put16(b, p->iommu_segment);
    acpi_buf_put16(b, p->iommu_bdf);
    acpi_buf_put64(b, 0);

    for (unsigned i = 0; i < p->nranges; i++) {
        const struct viot_range *r = &p->ranges[i];

        acpi_buf_put8(b, VIOT_NODE_PCI_RANGE);
        acpi_buf_put8(b, 0);
        acpi_buf_put16(b, VIOT_RANGE_NODE_LEN);
        acpi_buf_put32(b, r->endpoint_start);
        acpi_buf_put16(b, r->segment_start);
        acpi_buf_put16(b, r->segment_end);
        acpi_buf_put16(b, r->bdf_start);
        acpi_buf_put16(b, r->bdf_end);
        acpi_buf_put16(b, VIOT_HDR_SIZE);
        acpi_buf_put16(b, 0); /* reserved[6] */
        acpi_buf_put32(b, 0);
    }
    acpi_sdt_end(b, start);
}
