/* The virtio-iommu device model's domains as the backends see them: the map/unmap callbacks
 * on attach, move and detach, a domain's life (it ends with its last endpoint), replay after a
 * backend restart, device reset, the exact bounds (NOMEM at 65536 mappings and 1024 endpoints),
 * and requests through the split ring the core serves (guest RAM a plain buffer). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem/guest_mem.h"
#include "core/vm/vring_req.h"
#include "viommu_harness.h"

#define D   3u
#define EP  0x10u
#define EP2 0x18u
#define RW  (VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE)

Test(virtio_iommu_map, attach_maps_what_the_domain_has)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0xa000, VIOMMU_MAP_F_READ), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x8000, 0xbfff, 0xc000, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_assert_eq(f->r.ncalls, 2);
    cr_expect(call_is(&f->r.calls[0], CALL_MAP, EP2, 0x1000, 0x1000));
    cr_expect_eq(f->r.calls[0].gpa, 0xa000);
    cr_expect_eq(f->r.calls[0].perm, VIOMMU_PERM_READ);
    cr_expect(call_is(&f->r.calls[1], CALL_MAP, EP2, 0x8000, 0x4000));
    cr_expect_eq(f->r.calls[1].gpa, 0xc000);
    cr_expect_eq(f->r.calls[1].perm, VIOMMU_PERM_READ | VIOMMU_PERM_WRITE);
    fx_free(f);
}

Test(virtio_iommu_map, detach_unmaps_and_the_last_one_ends_the_domain)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x4000, 0x4fff, 0, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    cr_expect_eq(do_detach(f, D, EP), VIOMMU_S_OK);
    cr_assert_eq(f->r.ncalls, 2);
    cr_expect(call_is(&f->r.calls[0], CALL_UNMAP, EP, 0x1000, 0x1000));
    cr_expect(call_is(&f->r.calls[1], CALL_UNMAP, EP, 0x4000, 0x1000));
    cr_expect_eq(viommu_mapping_count(&f->v), 2, "EP2 keeps the domain alive");
    rec_clear(&f->r);
    cr_expect_eq(do_detach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(f->r.nunmap, 2);
    cr_expect_eq(viommu_mapping_count(&f->v), 0, "the domain is gone with its mappings");
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_NOENT);
    rec_clear(&f->r);
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(f->r.ncalls, 0, "a new, empty domain of the same id");
    /* A failing unmap still detaches. */
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    f->r.fail_ep = EP;
    f->r.fail_unmap_err = -EIO;
    cr_expect_eq(do_detach(f, D, EP), VIOMMU_S_DEVERR);
    cr_expect(!viommu_endpoint_domain(&f->v, EP, &(uint32_t){ 0 }));
    cr_expect_eq(viommu_mapping_count(&f->v), 0);
    fx_free(f);
}

Test(virtio_iommu_map, attach_moves_an_endpoint)
{
    struct fx *f = fx_new(0);
    uint32_t dom;

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 1, 0x20), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D + 1, 0x9000, 0x9fff, 0x3000, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    /* EP to D+1: D's mapping leaves EP, D+1's arrives; D lives on with EP2. */
    cr_expect_eq(do_attach(f, D + 1, EP), VIOMMU_S_OK);
    cr_assert_eq(f->r.ncalls, 2);
    cr_expect(call_is(&f->r.calls[0], CALL_UNMAP, EP, 0x1000, 0x1000));
    cr_expect(call_is(&f->r.calls[1], CALL_MAP, EP, 0x9000, 0x1000));
    cr_expect_eq(f->r.calls[1].gpa, 0x3000);
    cr_expect(viommu_endpoint_domain(&f->v, EP, &dom));
    cr_expect_eq(dom, D + 1);
    cr_expect_eq(viommu_mapping_count(&f->v), 2);
    /* EP2, D's last endpoint, to a new domain: D ends. */
    rec_clear(&f->r);
    cr_expect_eq(do_attach(f, D + 2, EP2), VIOMMU_S_OK);
    cr_assert_eq(f->r.ncalls, 1);
    cr_expect(call_is(&f->r.calls[0], CALL_UNMAP, EP2, 0x1000, 0x1000));
    cr_expect_eq(viommu_mapping_count(&f->v), 1);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_NOENT);
    /* A MAP in D+1 now reaches both of its endpoints. */
    rec_clear(&f->r);
    cr_expect_eq(do_map(f, D + 1, 0xa000, 0xafff, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(f->r.nmap, 2);
    fx_free(f);
}

Test(virtio_iommu_map, attach_failing_in_the_backend)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    for (unsigned i = 0; i < 3; i++)
        cr_expect_eq(do_map(f, D, 0x10000ull * (i + 1), 0x10000ull * (i + 1) + 0xfff, 0, RW),
                     VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 1, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D + 1, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    f->r.fail_ep = EP2;
    f->r.fail_map_err = -EFAULT;
    f->r.skip_map = 2; /* the third mapping fails */
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_FAULT);
    cr_assert_eq(f->r.ncalls, 5);
    cr_expect(call_is(&f->r.calls[0], CALL_UNMAP, EP2, 0x1000, 0x1000), "left D+1");
    cr_expect(call_is(&f->r.calls[1], CALL_MAP, EP2, 0x10000, 0x1000));
    cr_expect(call_is(&f->r.calls[2], CALL_MAP, EP2, 0x20000, 0x1000));
    cr_expect(call_is(&f->r.calls[3], CALL_UNMAP, EP2, 0x10000, 0x1000), "undone");
    cr_expect(call_is(&f->r.calls[4], CALL_UNMAP, EP2, 0x20000, 0x1000));
    cr_expect(!viommu_endpoint_domain(&f->v, EP2, &(uint32_t){ 0 }), "attached nowhere");
    cr_expect_eq(viommu_mapping_count(&f->v), 3, "D+1 ended, D untouched");
    f->r.fail_map_err = 0;
    rec_clear(&f->r);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(f->r.nmap, 3);
    fx_free(f);
}

Test(virtio_iommu_map, replay)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(viommu_replay(&f->v, EP), 0, "not attached: nothing");
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(viommu_replay(&f->v, EP), 0, "no mapping");
    cr_expect_eq(do_map(f, D, 0x5000, 0x5fff, 0x7000, VIOMMU_MAP_F_WRITE), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x2fff, 0x9000, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    cr_expect_eq(viommu_replay(&f->v, EP2), 2);
    cr_assert_eq(f->r.ncalls, 2, "EP2 only, in iova order");
    cr_expect(call_is(&f->r.calls[0], CALL_MAP, EP2, 0x1000, 0x2000));
    cr_expect_eq(f->r.calls[0].gpa, 0x9000);
    cr_expect_eq(f->r.calls[0].perm, VIOMMU_PERM_READ | VIOMMU_PERM_WRITE);
    cr_expect(call_is(&f->r.calls[1], CALL_MAP, EP2, 0x5000, 0x1000));
    cr_expect_eq(f->r.calls[1].perm, VIOMMU_PERM_WRITE);
    rec_clear(&f->r);
    f->r.fail_ep = EP2;
    f->r.fail_map_err = -ENOMEM;
    cr_expect_eq(viommu_replay(&f->v, EP2), -ENOMEM);
    cr_expect_eq(viommu_mapping_count(&f->v), 2, "the table is not the backend's");
    fx_free(f);
}

Test(virtio_iommu_map, reset_unmaps_everything)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 1, 0x20), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 2, 0x28), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x3000, 0x3fff, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D + 1, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    viommu_reset(&f->v);
    cr_expect_eq(f->r.nmap, 0);
    cr_expect_eq(f->r.nunmap, 5, "2 x 2 in D, 1 in D+1, none in the empty D+2");
    for (size_t i = 0; i < f->r.ncalls; i++)
        cr_expect_eq(f->r.calls[i].kind, CALL_UNMAP);
    cr_expect_eq(viommu_mapping_count(&f->v), 0);
    cr_expect(!viommu_endpoint_domain(&f->v, EP, &(uint32_t){ 0 }));
    cr_expect(!viommu_endpoint_domain(&f->v, 0x28, &(uint32_t){ 0 }));
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_NOENT);
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK, "usable after a reset");
    fx_free(f);
}

Test(virtio_iommu_map, mapping_bound_is_exact, .timeout = 60)
{
    struct fx *f = fx_new(0);
    const uint64_t P = 0x1000;
    uint64_t iova;

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 1, EP2), VIOMMU_S_OK);
    /* Descending iovas: every insertion lands at the front of the table (its worst case). */
    for (uint32_t i = 0; i < VIOMMU_MAX_MAPPINGS; i++) {
        iova = (uint64_t)(VIOMMU_MAX_MAPPINGS - i) * 2 * P + 0x100000000ull;
        cr_assert_eq(do_map(f, i & 1 ? D : D + 1, iova, iova + P - 1, 0, RW), VIOMMU_S_OK,
                     "mapping %u", i);
    }
    cr_expect_eq(viommu_mapping_count(&f->v), VIOMMU_MAX_MAPPINGS);
    rec_clear(&f->r);
    cr_expect_eq(do_map(f, D, 0, P - 1, 0, RW), VIOMMU_S_NOMEM, "one more, in either domain");
    cr_expect_eq(do_map(f, D + 1, 0, P - 1, 0, RW), VIOMMU_S_NOMEM);
    cr_expect_eq(f->r.ncalls, 0, "refused before any backend saw it");
    cr_expect_eq(do_map(f, D, iova, iova + P - 1, 0, RW), VIOMMU_S_INVAL,
                 "an overlap is still an overlap");
    cr_expect_eq(do_unmap(f, D + 1, iova, iova + P - 1), VIOMMU_S_OK, "not D+1's: no effect");
    cr_expect_eq(do_map(f, D, 0, P - 1, 0, RW), VIOMMU_S_NOMEM);
    cr_expect_eq(do_unmap(f, D, iova, iova + P - 1), VIOMMU_S_OK, "the last one was D's");
    cr_expect_eq(do_map(f, D, 0, P - 1, 0, RW), VIOMMU_S_OK, "room for exactly one");
    cr_expect_eq(do_map(f, D, P, 2 * P - 1, 0, RW), VIOMMU_S_NOMEM);
    /* Ending a domain frees its share. */
    cr_expect_eq(do_detach(f, D + 1, EP2), VIOMMU_S_OK);
    cr_expect_eq(viommu_mapping_count(&f->v), VIOMMU_MAX_MAPPINGS / 2);
    cr_expect_eq(do_map(f, D, P, 2 * P - 1, 0, RW), VIOMMU_S_OK);
    fx_free(f);
}

Test(virtio_iommu_map, endpoint_bound_is_exact)
{
    struct fx *f = fx_new(0);
    uint32_t dom;

    for (uint32_t i = 0; i < VIOMMU_MAX_ENDPOINTS; i++)
        cr_assert_eq(do_attach(f, i % 300, 0xffff - i), VIOMMU_S_OK, "endpoint %u", i);
    cr_expect_eq(do_attach(f, 1, 0), VIOMMU_S_NOMEM, "endpoint 1025");
    cr_expect_eq(viommu_load_endpoint(&f->v, 0, 1), -ENOMEM, "restored or attached alike");
    cr_expect(!viommu_endpoint_domain(&f->v, 0, &dom));
    cr_expect_eq(do_attach(f, 0xffff, 0xffff), VIOMMU_S_OK, "a move needs no new slot");
    cr_expect(viommu_endpoint_domain(&f->v, 0xffff, &dom));
    cr_expect_eq(dom, 0xffff);
    cr_expect_eq(do_detach(f, 0xffff, 0xffff), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, 1, 0), VIOMMU_S_OK, "a freed slot is reused");
    for (uint32_t i = 1; i < VIOMMU_MAX_ENDPOINTS; i++) {
        cr_assert(viommu_endpoint_domain(&f->v, 0xffff - i, &dom));
        cr_assert_eq(dom, i % 300);
    }
    fx_free(f);
}

/* --- through the ring, as Linux queues requests: one readable and one writable buffer --- */

#define RAM_SIZE 0x10000u
#define QSIZE    16u
#define DESC     0x0000u
#define AVAIL    0x1000u
#define USED     0x2000u
#define REQ      0x4000u
#define RESP     0x5000u

static void put_desc(uint8_t *ram, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *d = ram + DESC + 16u * i;

    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

/* Queues request bytes (len) with a writable part of wlen at slot; returns the head. */
static void queue(uint8_t *ram, uint16_t slot, const uint8_t *req, uint32_t len, uint32_t wlen)
{
    uint16_t head = (uint16_t)(2 * slot), idx;

    memcpy(ram + REQ + 0x100u * slot, req, len);
    memset(ram + RESP + 0x100u * slot, 0xa5, 0x100);
    put_desc(ram, head, REQ + 0x100u * slot, len, 1 /* NEXT */, head + 1);
    put_desc(ram, head + 1, RESP + 0x100u * slot, wlen, 2 /* WRITE */, 0);
    memcpy(&idx, ram + AVAIL + 2, 2);
    memcpy(ram + AVAIL + 4 + 2u * (idx % QSIZE), &head, 2);
    idx++;
    memcpy(ram + AVAIL + 2, &idx, 2);
}

static uint32_t used_len(const uint8_t *ram, unsigned n)
{
    uint32_t len;

    memcpy(&len, ram + USED + 4 + 8u * n + 4, 4);
    return len;
}

Test(virtio_iommu_map, requests_through_the_ring)
{
    uint8_t *ram = aligned_alloc(4096, RAM_SIZE), b[80];
    struct fx *f = fx_new(0);
    struct guest_mem m;
    struct vring_req_ring r = { .desc = DESC, .avail = AVAIL, .used = USED, .size = QSIZE };
    const uint8_t *resp;

    cr_assert(ram);
    memset(ram, 0, RAM_SIZE);
    guest_mem_init(&m);
    cr_assert_eq(guest_mem_add_zone(&m, ram, RAM_SIZE, -1), 0);
    queue(ram, 0, b, (uint32_t)req_probe(b, EP), VIOMMU_PROBE_RESP);
    queue(ram, 1, b, (uint32_t)req_attach(b, D, EP, 0), 4);
    queue(ram, 2, b, (uint32_t)req_map(b, D, 0x1000, 0x1fff, 0x8000, RW), 4);
    queue(ram, 3, b, (uint32_t)req_map(b, D, 0x1000, 0x1fff, 0x8000, RW), 4);
    b[0] = 0x42; /* unknown */
    queue(ram, 4, b, 20, 4);
    cr_expect_eq(vring_req_process(&m, &r, QSIZE, viommu_request_fn, &f->v), 5);
    cr_expect_eq(used_len(ram, 0), VIOMMU_PROBE_RESP, "PROBE: 72 bytes in, 28 out");
    resp = ram + RESP;
    cr_expect_eq(resp[0], VIOMMU_PROBE_T_RESV_MEM);
    cr_expect_eq(resp[VIOMMU_PROBE_SIZE], VIOMMU_S_OK);
    cr_expect_eq(used_len(ram, 1), 4);
    cr_expect_eq(ram[RESP + 0x100], VIOMMU_S_OK);
    cr_expect_eq(ram[RESP + 0x200], VIOMMU_S_OK);
    cr_expect_eq(ram[RESP + 0x300], VIOMMU_S_INVAL, "the overlap");
    cr_expect_eq(used_len(ram, 4), 0, "unknown type: nothing written");
    cr_expect_eq(ram[RESP + 0x400], 0xa5);
    cr_expect_eq(f->r.nmap, 1);
    cr_expect(call_is(&f->r.calls[0], CALL_MAP, EP, 0x1000, 0x1000));
    /* A PROBE whose writable part cannot hold the reply breaks the ring (the core resets the
     * device), with nothing written. */
    queue(ram, 5, b, (uint32_t)req_probe(b, EP), 4);
    cr_expect_eq(vring_req_process(&m, &r, QSIZE, viommu_request_fn, &f->v), -EFAULT);
    cr_expect_eq(ram[RESP + 0x500], 0xa5);
    fx_free(f);
    free(ram);
}

Test(virtio_iommu_map, hot_unplug_detaches)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(viommu_detach_endpoint(&f->v, EP), -ENOENT);
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    cr_expect_eq(viommu_detach_endpoint(&f->v, EP), 0);
    cr_assert_eq(f->r.ncalls, 1);
    cr_expect(call_is(&f->r.calls[0], CALL_UNMAP, EP, 0x1000, 0x1000));
    cr_expect(!viommu_endpoint_domain(&f->v, EP, &(uint32_t){ 0 }));
    cr_expect_eq(viommu_mapping_count(&f->v), 1, "EP2 keeps the domain");
    f->r.fail_ep = EP2;
    f->r.fail_unmap_err = -EPIPE;
    cr_expect_eq(viommu_detach_endpoint(&f->v, EP2), -EPIPE, "the backend is gone");
    cr_expect(!viommu_endpoint_domain(&f->v, EP2, &(uint32_t){ 0 }));
    cr_expect_eq(viommu_mapping_count(&f->v), 0, "the domain ended");
    cr_expect_eq(do_detach(f, D, EP2), VIOMMU_S_INVAL, "the guest's late DETACH");
    fx_free(f);
}

Test(virtio_iommu_map, save_and_restore)
{
    struct fx *a = fx_new(0), *b = fx_new(0);
    struct viommu_mapping m;
    uint32_t dom;

    cr_expect_eq(do_attach(a, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(a, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_attach(a, D + 1, 0x20), VIOMMU_S_OK);
    cr_expect_eq(do_map(a, D, 0x1000, 0x2fff, 0x9000, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(a, D + 1, 0x1000, 0x1fff, 0x5000, VIOMMU_MAP_F_READ), VIOMMU_S_OK);
    /* the saved state, loaded into a fresh device without a single callback */
    for (size_t i = 0; i < a->v.neps; i++)
        cr_expect_eq(viommu_load_endpoint(&b->v, a->v.eps[i].id, a->v.eps[i].domain), 0);
    for (size_t i = 0; i < a->v.nmaps; i++)
        cr_expect_eq(viommu_load_mapping(&b->v, &a->v.maps[i]), 0);
    cr_expect_eq(b->r.ncalls, 0);
    cr_expect(viommu_endpoint_domain(&b->v, EP2, &dom));
    cr_expect_eq(dom, D);
    cr_expect_eq(viommu_mapping_count(&b->v), 2);
    cr_expect_eq(viommu_replay(&b->v, 0x20), 1);
    cr_expect(call_is(&b->r.calls[0], CALL_MAP, 0x20, 0x1000, 0x1000));
    cr_expect_eq(b->r.calls[0].gpa, 0x5000);
    cr_expect_eq(b->r.calls[0].perm, VIOMMU_PERM_READ);
    cr_expect_eq(do_map(b, D, 0x2000, 0x2fff, 0, RW), VIOMMU_S_INVAL, "the table is back");
    /* what a hostile state file could hold */
    cr_expect_eq(viommu_load_endpoint(&b->v, EP, D), -EEXIST);
    cr_expect_eq(viommu_load_endpoint(&b->v, 0x30000, D), -ENOENT);
    cr_expect_eq(viommu_load_endpoint(&b->v, 0x28, 0x10000), -ERANGE);
    m = (struct viommu_mapping){ .domain = D, .perm = RW, .iova = 0x2000, .last = 0x3fff };
    cr_expect_eq(viommu_load_mapping(&b->v, &m), -EINVAL, "overlap");
    m.iova = 0x10000, m.last = 0x10fff, m.perm = VIOMMU_MAP_F_MMIO;
    cr_expect_eq(viommu_load_mapping(&b->v, &m), -EINVAL, "perm");
    m.perm = RW, m.last = 0x10ffe;
    cr_expect_eq(viommu_load_mapping(&b->v, &m), -ERANGE, "misaligned");
    m.last = 0xfff, m.iova = 0x1000;
    cr_expect_eq(viommu_load_mapping(&b->v, &m), -EINVAL, "end below start");
    m.iova = 0xfee00000, m.last = 0xfee00fff;
    cr_expect_eq(viommu_load_mapping(&b->v, &m), -ERANGE, "MSI window");
    m.iova = 0x10000, m.last = 0x10fff, m.domain = D + 5;
    cr_expect_eq(viommu_load_mapping(&b->v, &m), -ENOENT, "a domain without endpoints");
    m.domain = 0x10000;
    cr_expect_eq(viommu_load_mapping(&b->v, &m), -ERANGE);
    cr_expect_eq(viommu_mapping_count(&b->v), 2);
    cr_expect_eq(b->r.ncalls, 1);
    fx_free(a);
    fx_free(b);
}
