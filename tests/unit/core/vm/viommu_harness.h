#ifndef CELLVM_TESTS_UNIT_CORE_VM_VIOMMU_HARNESS_H
#define CELLVM_TESTS_UNIT_CORE_VM_VIOMMU_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vm/virtio_iommu.h"

/* The callbacks the device model makes, recorded; failures injected on request. */
enum call_kind { CALL_MAP = 1, CALL_UNMAP };

struct call {
    enum call_kind kind;
    uint32_t ep;
    uint64_t iova, size, gpa;
    unsigned perm;
};

#define REC_MAX 64

struct rec {
    struct call calls[REC_MAX]; /* the first REC_MAX calls since the last rec_clear */
    size_t ncalls;              /* all calls, also past REC_MAX */
    size_t nmap, nunmap;
    /* The next map (or unmap) of fail_ep returns fail_err after skip_map successful ones. */
    uint32_t fail_ep;
    int fail_map_err, fail_unmap_err;
    unsigned skip_map;
};

struct fx {
    struct viommu v;
    struct rec r;
};

/* Endpoints exist in segment 0 (any bdf) and as 0x10008; width 0 means the default. */
struct fx *fx_new(uint8_t width);
void fx_free(struct fx *f);
void rec_clear(struct rec *r);

/* Requests as Linux lays them out (readable part only); each returns its length. */
size_t req_attach(uint8_t *b, uint32_t domain, uint32_t ep, uint32_t flags);
size_t req_detach(uint8_t *b, uint32_t domain, uint32_t ep);
size_t req_map(uint8_t *b, uint32_t domain, uint64_t start, uint64_t end, uint64_t phys,
               uint32_t flags);
size_t req_unmap(uint8_t *b, uint32_t domain, uint64_t start, uint64_t end);
size_t req_probe(uint8_t *b, uint32_t ep); /* 72 bytes: b must hold them */

/* One request; the response length must be 4 (PROBE: VIOMMU_PROBE_RESP); returns the status,
 * or -1 when no response was written. */
int status_of_req(struct fx *f, const uint8_t *b, size_t len);

int do_attach(struct fx *f, uint32_t domain, uint32_t ep);
int do_detach(struct fx *f, uint32_t domain, uint32_t ep);
int do_map(struct fx *f, uint32_t domain, uint64_t start, uint64_t end, uint64_t phys,
           uint32_t flags);
int do_unmap(struct fx *f, uint32_t domain, uint64_t start, uint64_t end);

/* The recorded calls match (kind, ep, iova, size) in order; gpa/perm checked when nonzero. */
bool call_is(const struct call *c, enum call_kind k, uint32_t ep, uint64_t iova, uint64_t size);

#endif
