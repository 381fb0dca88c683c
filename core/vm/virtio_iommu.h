#ifndef CELLVM_CORE_VM_VIRTIO_IOMMU_H
#define CELLVM_CORE_VM_VIRTIO_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The virtio-iommu device model (virtio device id 23, virtio 1.2 section 5.13), without
 * transport: the core serves the request queue (queue 0) itself through vring_req.h and hands
 * each request to viommu_request; the event queue (queue 1) stays unused (no fault is reported).
 * Layouts follow Linux's include/uapi/linux/virtio_iommu.h, behaviour Cloud Hypervisor's
 * virtio-devices/src/iommu.rs, with these differences:
 *
 *  - no bypass: neither F_BYPASS nor F_BYPASS_CONFIG is offered, so an endpoint that is not
 *    attached to a domain has no DMA at all (Cloud Hypervisor offers BYPASS_CONFIG with bypass
 *    on by default, which lets a guest that never attaches a device keep full DMA: the point of
 *    iommu=on is that a device sees only what its driver mapped). ATTACH_F_BYPASS is therefore an
 *    unknown flag (S_INVAL). Linux then builds identity domains out of MAP requests.
 *  - F_INPUT_RANGE and F_DOMAIN_RANGE are always offered, and requests are checked against them.
 *  - mappings are per domain; every attached endpoint gets ops->map / ops->unmap calls (the
 *    backends, one per endpoint, hold their own translation: a vhost-user IOTLB, a VFIO
 *    container).
 *
 * Endpoint ids are the VIOT's: (pci_segment << 16) | bdf (see core/acpi/viot.h).
 *
 * Requests (readable part, little-endian; every one ends with a 4-byte tail the device writes):
 *   ATTACH  20 bytes: head(type 1), domain, endpoint, flags (must be 0), reserved[4] (must be 0)
 *   DETACH  20 bytes: head(type 2), domain, endpoint, reserved[8] (ignored)
 *   MAP     36 bytes: head(type 3), domain, virt_start, virt_end, phys_start, flags
 *   UNMAP   28 bytes: head(type 4), domain, virt_start, virt_end, reserved[4] (must be 0)
 *   PROBE   72 bytes: head(type 5), endpoint, reserved[64] (ignored); the core keeps only the
 *           first VIOMMU_REQ_MAX of them, so at least that many are required.
 * The response is the tail (4 bytes: status, 3 zero bytes) for all but PROBE, whose response is
 * probe_size bytes of properties and then the tail, VIOMMU_PROBE_RESP bytes, whatever the status
 * (Linux copies the writable part back only when the used length is exactly its size).
 *
 * Statuses:
 *   readable part shorter than the head, or an unknown type: no response at all (length 0;
 *     spec 5.13.6: the device SHOULD NOT write the buffer and SHOULD set the used length to 0)
 *   readable part of the wrong size for its type:           S_INVAL
 *   ATTACH flags or reserved not zero, UNMAP reserved not 0: S_INVAL
 *   MAP flags other than READ|WRITE (MMIO: F_MMIO is not offered): S_INVAL
 *   virt_end < virt_start:                                  S_INVAL
 *   domain outside domain_range:                            S_RANGE
 *   endpoint unknown (ops->endpoint_valid false):            S_NOENT
 *   DETACH of an endpoint not attached to that domain:      S_INVAL
 *   MAP/UNMAP on a domain without endpoints (none exists):  S_NOENT
 *   MAP/UNMAP range outside input_range:                    S_RANGE
 *   MAP virt_start, virt_end + 1 or phys_start not on 4 KiB: S_RANGE
 *   MAP phys_start + size wrapping around 2^64:             S_RANGE
 *   MAP overlapping the MSI window of the PROBE reply:      S_RANGE (spec: SHOULD reject)
 *   MAP overlapping an existing mapping of the domain:      S_INVAL
 *   UNMAP that would split a mapping:                       S_RANGE (nothing removed)
 *   VIOMMU_MAX_MAPPINGS mappings already, or VIOMMU_MAX_ENDPOINTS endpoints attached: S_NOMEM
 *   ops->map failing with -EFAULT: S_FAULT, -ENOMEM: S_NOMEM, any other error: S_DEVERR (the
 *     request then has no effect: the endpoints already mapped are unmapped again)
 *   ops->unmap failing: S_DEVERR, but the mapping is gone anyway (the guest asked it gone and
 *     the other endpoints no longer have it)
 * S_IOERR and S_UNSUPP are never answered (every request type is supported, and a request the
 * device cannot parse gets no response at all, as the spec says).
 *
 * Not thread-safe: one thread (the core's device thread) owns a struct viommu.
 */

#define VIOMMU_VIRTIO_ID   23
#define VIOMMU_NUM_QUEUES  2   /* requestq, eventq */
#define VIOMMU_QUEUE_SIZE  256 /* as Cloud Hypervisor */
#define VIOMMU_REQ_MAX     64  /* request bytes the core keeps (VRING_REQ_MAX) */
#define VIOMMU_RESP_MAX    64  /* response room (VRING_RESP_MAX) */
#define VIOMMU_CONFIG_SIZE 40  /* struct virtio_iommu_config */

/* Feature bits (besides VIRTIO_F_VERSION_1, bit 32). */
#define VIOMMU_F_INPUT_RANGE  0
#define VIOMMU_F_DOMAIN_RANGE 1
#define VIOMMU_F_MAP_UNMAP    2
#define VIOMMU_F_BYPASS       3
#define VIOMMU_F_PROBE        4
#define VIOMMU_F_MMIO         5
#define VIOMMU_F_BYPASS_CFG   6

#define VIOMMU_T_ATTACH       1
#define VIOMMU_T_DETACH       2
#define VIOMMU_T_MAP          3
#define VIOMMU_T_UNMAP        4
#define VIOMMU_T_PROBE        5

#define VIOMMU_S_OK           0
#define VIOMMU_S_IOERR        1
#define VIOMMU_S_UNSUPP       2
#define VIOMMU_S_DEVERR       3
#define VIOMMU_S_INVAL        4
#define VIOMMU_S_RANGE        5
#define VIOMMU_S_NOENT        6
#define VIOMMU_S_FAULT        7
#define VIOMMU_S_NOMEM        8

/* MAP flags; ops->map's perm uses the same bits. */
#define VIOMMU_MAP_F_READ  (1u << 0)
#define VIOMMU_MAP_F_WRITE (1u << 1)
#define VIOMMU_MAP_F_MMIO  (1u << 2)
#define VIOMMU_PERM_READ   VIOMMU_MAP_F_READ
#define VIOMMU_PERM_WRITE  VIOMMU_MAP_F_WRITE

/* PROBE: one RESV_MEM property (4-byte header + 20), subtype MSI, over the x86 MSI window,
 * which is not translated (Cloud Hypervisor's choice too). */
#define VIOMMU_PROBE_T_RESV_MEM      1
#define VIOMMU_RESV_MEM_T_MSI        1
#define VIOMMU_PROBE_SIZE            24
#define VIOMMU_PROBE_RESP            (VIOMMU_PROBE_SIZE + 4)
#define VIOMMU_MSI_START             0xfee00000ull
#define VIOMMU_MSI_END               0xfeefffffull
#define VIOMMU_PAGE_SIZE_MASK        (~0xfffull) /* 4 KiB granule, any larger power of two */
#define VIOMMU_GRANULE               0x1000ull
#define VIOMMU_DOMAIN_FIRST          0u
#define VIOMMU_DOMAIN_LAST           0xffffu
#define VIOMMU_ADDRESS_WIDTH_DEFAULT 64

/*
 * Bounds. Mappings: 65536 in total over all domains (32 bytes each, 2 MiB at most). Linux maps
 * one range per DMA buffer in flight (a few hundred per device with queues of 256) or, for an
 * identity domain, one per RAM region; a guest VFIO user maps its memory regions. 65536 leaves
 * room for dozens of busy devices while a hostile guest costs at most 2 MiB and O(n) moves per
 * MAP/UNMAP. Endpoints: 1024 attached at once (more than the 32 slots of a few segments hold).
 * Domains exist only while an endpoint is attached, so there are never more than 1024; their
 * ids range over domain_range, 0..65535.
 */
#define VIOMMU_MAX_MAPPINGS  (1u << 16)
#define VIOMMU_MAX_ENDPOINTS 1024u

struct viommu_ops {
    /* Makes [iova, iova + size) of endpoint's DMA space reach guest-physical gpa with perm
     * (VIOMMU_PERM_*). 0 or -errno: -EFAULT when the guest-physical range is not guest memory,
     * -ENOMEM when the backend is out of room. */
    int (*map)(void *arg, uint32_t endpoint, uint64_t iova, uint64_t size, uint64_t gpa,
               unsigned perm);
    /* Removes exactly a range that map made (same iova and size). 0 or -errno. */
    int (*unmap)(void *arg, uint32_t endpoint, uint64_t iova, uint64_t size);
    /* The endpoint id names a device behind this IOMMU. */
    bool (*endpoint_valid)(void *arg, uint32_t endpoint);
};

struct viommu_params {
    uint8_t address_width;        /* 1..64: input_range is 0..2^width - 1 (--platform
                              iommu_address_width; 0 means VIOMMU_ADDRESS_WIDTH_DEFAULT) */
    const struct viommu_ops *ops; /* all three callbacks required */
    void *arg;
};

struct viommu_mapping {
    uint32_t domain;
    uint32_t perm;
    uint64_t iova, last, gpa; /* [iova, last] inclusive */
};

struct viommu_endpoint {
    uint32_t id;
    uint32_t domain;
};

struct viommu {
    const struct viommu_ops *ops;
    void *arg;
    uint64_t input_end;
    /* sorted by (domain, iova); cap grows by doubling up to VIOMMU_MAX_MAPPINGS */
    struct viommu_mapping *maps;
    size_t nmaps, cap;
    /* attached endpoints, sorted by id */
    struct viommu_endpoint eps[VIOMMU_MAX_ENDPOINTS];
    size_t neps;
};

/* 0, or -EINVAL for a width over 64 or a missing callback. No endpoint is attached. */
int viommu_init(struct viommu *v, const struct viommu_params *p);
/* Frees the mapping table; calls no callback (viommu_reset first if backends must forget). */
void viommu_destroy(struct viommu *v);

/* The device configuration (VIOMMU_CONFIG_SIZE bytes, little-endian) into out; returns the
 * bytes written (at most max). */
size_t viommu_config(const struct viommu *v, uint8_t *out, size_t max);
/* Offered features, VIRTIO_F_VERSION_1 included. */
uint64_t viommu_features(void);

/* Answers one request (len readable bytes in `in`, at most VIOMMU_REQ_MAX looked at): returns
 * the response length (0, 4 or VIOMMU_PROBE_RESP), the response in out. */
size_t viommu_request(struct viommu *v, const uint8_t *in, size_t len,
                      uint8_t out[VIOMMU_RESP_MAX]);
/* The same with the shape of vring_req_fn (arg is the struct viommu). */
size_t viommu_request_fn(void *arg, const uint8_t *in, size_t len, uint8_t out[VIOMMU_RESP_MAX]);

/* Calls ops->map for every mapping of the endpoint's domain (a device process restarted or its
 * backend was reset). Returns how many, 0 when the endpoint is not attached, or the first
 * callback's -errno (the rest are still tried). */
int viommu_replay(struct viommu *v, uint32_t endpoint);
/* Device reset: ops->unmap for every mapping of every attached endpoint, then nothing attached
 * and no mapping. */
void viommu_reset(struct viommu *v);

/* The endpoint's device is gone (hot-unplug): detaches it as a DETACH would (ops->unmap for
 * its domain's mappings, the domain ends with its last endpoint). 0, -ENOENT when it was not
 * attached, or the first unmap's -errno (it is detached all the same). A guest DETACH for it
 * afterwards gets S_NOENT (endpoint_valid false) or S_INVAL (not attached). */
int viommu_detach_endpoint(struct viommu *v, uint32_t endpoint);

/*
 * Snapshot and restore. To save: eps[0..neps) (endpoint, domain) and maps[0..nmaps) (domain,
 * perm, iova, last, gpa) are the whole state. To restore into a fresh struct viommu: every
 * endpoint with viommu_load_endpoint, then every mapping with viommu_load_mapping (no callback
 * is made; both check what a hostile file could hold as the requests do: -ERANGE for a domain
 * or range out of bounds or a misaligned or MSI-window mapping, -ENOENT for an unknown endpoint
 * or a mapping in a domain without endpoints, -EEXIST for an endpoint loaded twice, -EINVAL for
 * unknown perm bits or an overlap, -ENOMEM at the bounds), and once the backends are up
 * viommu_replay for each endpoint.
 */
int viommu_load_endpoint(struct viommu *v, uint32_t endpoint, uint32_t domain);
int viommu_load_mapping(struct viommu *v, const struct viommu_mapping *m);

/* The domain the endpoint is attached to; false when it is not attached. */
bool viommu_endpoint_domain(const struct viommu *v, uint32_t endpoint, uint32_t *domain);
/* Mappings in all domains. */
size_t viommu_mapping_count(const struct viommu *v);

#endif
