/* --pmem (Cloud Hypervisor's PmemConfig): a file the guest sees as persistent memory through a
 * virtio-pmem device the core serves. */
#ifndef CELLVM_CORE_CLI_CLI_PMEM_H
#define CELLVM_CORE_CLI_CLI_PMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_MAX_PMEM   8            /* cellvm's limit: one fd each in the core's config */
#define CLI_PMEM_ALIGN (2ull << 20) /* sizes are multiples of this, as Cloud Hypervisor */

struct cli_pmem {
    char *file; /* required: a regular file, or a directory for a temporary one of size */
    bool has_size;
    uint64_t size;       /* default: the file's size */
    bool iommu;          /* off; on is known but not supported */
    bool discard_writes; /* off: the guest's writes reach the file */
    char *id;
    uint16_t pci_segment;
};

/* One --pmem value into p (zeroed first). 0, or -EINVAL with one line in err. */
int cli_pmem_parse(const char *value, struct cli_pmem *p, char *err, size_t errlen);
void cli_pmem_free(struct cli_pmem *p);

#endif
