/* The virtio-iommu device model, request by request: configuration and features, every request
 * type and every status the spec asks for (short requests, unknown types, reserved fields and
 * flags, domain range, unknown endpoints, input range, alignment, overlaps, splits), and the
 * PROBE reply parsed the way Linux's viommu_probe_endpoint does. Attach/move/detach with the
 * backends' callbacks, replay, reset and the bounds are in test_virtio_iommu_map.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "viommu_harness.h"

#define D   7u    /* a domain */
#define EP  0x10u /* 00:02.0 */
#define EP2 0x18u /* 00:03.0 */
#define RW  (VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE)
#define GIB (1ull << 30)

static uint64_t le64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static uint32_t le32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

Test(virtio_iommu, config_bytes_and_features)
{
    struct fx *f = fx_new(0);
    uint8_t c[64];

    memset(c, 0xee, sizeof(c));
    cr_assert_eq(viommu_config(&f->v, c, sizeof(c)), VIOMMU_CONFIG_SIZE);
    cr_expect_eq(le64(c), 0xfffffffffffff000ull, "page_size_mask: 4 KiB and up");
    cr_expect_eq(le64(c + 8), 0, "input_range.start");
    cr_expect_eq(le64(c + 16), UINT64_MAX, "input_range.end, width 64 by default");
    cr_expect_eq(le32(c + 24), 0, "domain_range.start");
    cr_expect_eq(le32(c + 28), 0xffff, "domain_range.end");
    cr_expect_eq(le32(c + 32), 24, "probe_size: one RESV_MEM property");
    cr_expect_eq(c[36], 0, "bypass");
    cr_expect(!c[37] && !c[38] && !c[39], "reserved");
    cr_expect_eq(c[40], 0xee, "nothing past the config");
    cr_expect_leq(VIOMMU_PROBE_SIZE + 4, VIOMMU_RESP_MAX, "a PROBE reply fits the ring's room");
    /* a short read gets the prefix */
    memset(c, 0, sizeof(c));
    cr_expect_eq(viommu_config(&f->v, c, 8), 8);
    cr_expect_eq(le64(c), 0xfffffffffffff000ull);
    cr_expect_eq(c[8], 0);
    fx_free(f);

    f = fx_new(39);
    viommu_config(&f->v, c, sizeof(c));
    cr_expect_eq(le64(c + 16), (1ull << 39) - 1, "input_range.end for width 39");
    fx_free(f);
    f = fx_new(1);
    viommu_config(&f->v, c, sizeof(c));
    cr_expect_eq(le64(c + 16), 1);
    fx_free(f);

    cr_expect_eq(viommu_features(), 1ull << 32 | 1u << 0 | 1u << 1 | 1u << 2 | 1u << 4,
                 "VERSION_1, INPUT_RANGE, DOMAIN_RANGE, MAP_UNMAP, PROBE; no BYPASS(_CONFIG), "
                 "no MMIO");
}

static int cb_map0(void *a, uint32_t e, uint64_t i, uint64_t s, uint64_t g, unsigned p)
{
    (void)a, (void)e, (void)i, (void)s, (void)g, (void)p;
    return 0;
}

static int cb_unmap0(void *a, uint32_t e, uint64_t i, uint64_t s)
{
    (void)a, (void)e, (void)i, (void)s;
    return 0;
}

static bool cb_valid0(void *a, uint32_t e)
{
    (void)a, (void)e;
    return true;
}

Test(virtio_iommu, init_rejects_bad_params)
{
    static const struct viommu_ops ok = { cb_map0, cb_unmap0, cb_valid0 };
    static const struct viommu_ops no_map = { NULL, cb_unmap0, cb_valid0 };
    static const struct viommu_ops no_unmap = { cb_map0, NULL, cb_valid0 };
    static const struct viommu_ops no_valid = { cb_map0, cb_unmap0, NULL };
    struct viommu *v = calloc(1, sizeof(*v));
    struct viommu_params p = { .address_width = 65, .ops = &ok };

    cr_assert_not_null(v);
    cr_expect_eq(viommu_init(v, &p), -EINVAL);
    p.address_width = 64;
    cr_expect_eq(viommu_init(v, &p), 0);
    viommu_destroy(v);
    p.ops = NULL;
    cr_expect_eq(viommu_init(v, &p), -EINVAL);
    p.ops = &no_map;
    cr_expect_eq(viommu_init(v, &p), -EINVAL);
    p.ops = &no_unmap;
    cr_expect_eq(viommu_init(v, &p), -EINVAL);
    p.ops = &no_valid;
    cr_expect_eq(viommu_init(v, &p), -EINVAL);
    free(v);
}

Test(virtio_iommu, unparsable_requests_get_no_response)
{
    struct fx *f = fx_new(0);
    uint8_t b[64] = { 0 }, out[VIOMMU_RESP_MAX];

    for (size_t len = 0; len < 4; len++) {
        b[0] = VIOMMU_T_ATTACH;
        cr_expect_eq(viommu_request(&f->v, b, len, out), 0, "no head in %zu bytes", len);
    }
    for (unsigned t = 0; t < 256; t++) {
        if (t >= VIOMMU_T_ATTACH && t <= VIOMMU_T_PROBE)
            continue;
        memset(b, 0, sizeof(b));
        b[0] = (uint8_t)t;
        cr_expect_eq(viommu_request(&f->v, b, sizeof(b), out), 0, "unknown type %u", t);
    }
    cr_expect_eq(f->r.ncalls, 0);
    fx_free(f);
}

Test(virtio_iommu, wrong_sizes_are_inval)
{
    struct fx *f = fx_new(0);
    uint8_t b[80];
    size_t n;

    n = req_attach(b, D, EP, 0);
    cr_expect_eq(status_of_req(f, b, n - 1), VIOMMU_S_INVAL);
    cr_expect_eq(status_of_req(f, b, n + 1), VIOMMU_S_INVAL);
    cr_expect_eq(status_of_req(f, b, 4), VIOMMU_S_INVAL, "the head alone");
    cr_expect(!viommu_endpoint_domain(&f->v, EP, &(uint32_t){ 0 }));
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_OK);
    n = req_map(b, D, 0, 0xfff, 0, RW);
    cr_expect_eq(status_of_req(f, b, n - 4), VIOMMU_S_INVAL, "MAP without its flags");
    cr_expect_eq(status_of_req(f, b, n + 1), VIOMMU_S_INVAL);
    cr_expect_eq(viommu_mapping_count(&f->v), 0);
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_OK);
    n = req_unmap(b, D, 0, 0xfff);
    cr_expect_eq(status_of_req(f, b, n - 1), VIOMMU_S_INVAL);
    cr_expect_eq(status_of_req(f, b, n + 4), VIOMMU_S_INVAL);
    cr_expect_eq(viommu_mapping_count(&f->v), 1);
    n = req_detach(b, D, EP);
    cr_expect_eq(status_of_req(f, b, n - 8), VIOMMU_S_INVAL, "DETACH without reserved");
    cr_expect(viommu_endpoint_domain(&f->v, EP, &(uint32_t){ 0 }));
    req_probe(b, EP);
    cr_expect_eq(status_of_req(f, b, 8), VIOMMU_S_INVAL, "PROBE without reserved");
    cr_expect_eq(status_of_req(f, b, 63), VIOMMU_S_INVAL);
    cr_expect_eq(status_of_req(f, b, 64), VIOMMU_S_OK, "as the core's ring keeps it");
    cr_expect_eq(status_of_req(f, b, 72), VIOMMU_S_OK, "as Linux sends it");
    fx_free(f);
}

Test(virtio_iommu, attach_checks)
{
    struct fx *f = fx_new(0);
    uint8_t b[64];
    uint32_t dom;
    size_t n;

    n = req_attach(b, D, EP, 1); /* ATTACH_F_BYPASS: BYPASS_CONFIG is not offered */
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_INVAL);
    n = req_attach(b, D, EP, 0x80000000u);
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_INVAL);
    for (unsigned i = 16; i < 20; i++) {
        n = req_attach(b, D, EP, 0);
        b[i] = 1;
        cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_INVAL, "reserved byte %u", i);
    }
    n = req_attach(b, D, EP, 0);
    b[1] = b[2] = b[3] = 0xff; /* the head's reserved bytes are ignored */
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_OK);
    cr_expect(viommu_endpoint_domain(&f->v, EP, &dom));
    cr_expect_eq(dom, D);
    cr_expect_eq(do_attach(f, 0x10000, EP2), VIOMMU_S_RANGE, "domain past domain_range");
    cr_expect_eq(do_attach(f, UINT32_MAX, EP2), VIOMMU_S_RANGE);
    cr_expect_eq(do_attach(f, 0xffff, EP2), VIOMMU_S_OK, "the last domain");
    cr_expect_eq(do_attach(f, 0, 0x20000), VIOMMU_S_NOENT, "unknown endpoint");
    cr_expect_eq(do_attach(f, 0, 0x10008), VIOMMU_S_OK, "01:01.0 exists");
    cr_expect(!viommu_endpoint_domain(&f->v, 0x20000, &dom));
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK, "again: nothing changes");
    cr_expect_eq(f->r.ncalls, 0, "no mapping, no callback");
    fx_free(f);
}

Test(virtio_iommu, detach_checks)
{
    struct fx *f = fx_new(0);
    uint8_t b[64];
    size_t n;

    cr_expect_eq(do_detach(f, D, EP), VIOMMU_S_INVAL, "not attached");
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_detach(f, D + 1, EP), VIOMMU_S_INVAL, "attached elsewhere");
    cr_expect_eq(do_detach(f, 0x10000, EP), VIOMMU_S_RANGE);
    cr_expect_eq(do_detach(f, D, 0x20000), VIOMMU_S_NOENT);
    n = req_detach(b, D, EP);
    memset(b + 12, 0xff, 8); /* reserved: ignored */
    b[1] = 0xff;
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_OK);
    cr_expect(!viommu_endpoint_domain(&f->v, EP, &(uint32_t){ 0 }));
    cr_expect_eq(do_detach(f, D, EP), VIOMMU_S_INVAL, "twice");
    fx_free(f);
}

Test(virtio_iommu, map_reaches_every_endpoint_of_the_domain)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 1, 0x20), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x100000, 0x2fffff, 0x40000000, VIOMMU_MAP_F_READ), VIOMMU_S_OK);
    cr_assert_eq(f->r.ncalls, 2);
    for (int i = 0; i < 2; i++) {
        const struct call *c = &f->r.calls[i];

        cr_expect(call_is(c, CALL_MAP, i ? EP2 : EP, 0x100000, 0x200000));
        cr_expect_eq(c->gpa, 0x40000000);
        cr_expect_eq(c->perm, VIOMMU_PERM_READ);
    }
    rec_clear(&f->r);
    cr_expect_eq(do_map(f, D, 0, 0xfff, 0x1000, VIOMMU_MAP_F_WRITE), VIOMMU_S_OK);
    cr_expect_eq(f->r.calls[0].perm, VIOMMU_PERM_WRITE);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0x1000, 0), VIOMMU_S_OK, "no access at all");
    cr_expect_eq(f->r.calls[2].perm, 0);
    rec_clear(&f->r);
    cr_expect_eq(do_map(f, D + 1, 0x100000, 0x100fff, 0, RW), VIOMMU_S_OK,
                 "the same iova in another domain");
    cr_expect_eq(f->r.ncalls, 1);
    cr_expect(call_is(&f->r.calls[0], CALL_MAP, 0x20, 0x100000, 0x1000));
    cr_expect_eq(f->r.calls[0].perm, VIOMMU_PERM_READ | VIOMMU_PERM_WRITE);
    cr_expect_eq(viommu_mapping_count(&f->v), 4);
    fx_free(f);
}

Test(virtio_iommu, map_checks)
{
    struct fx *f = fx_new(48);
    const uint64_t top = (1ull << 48) - 1;

    cr_expect_eq(do_map(f, D, 0, 0xfff, 0, RW), VIOMMU_S_NOENT, "no endpoint: no domain");
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0, 0xfff, 0, VIOMMU_MAP_F_MMIO), VIOMMU_S_INVAL, "MMIO");
    cr_expect_eq(do_map(f, D, 0, 0xfff, 0, RW | VIOMMU_MAP_F_MMIO), VIOMMU_S_INVAL);
    cr_expect_eq(do_map(f, D, 0, 0xfff, 0, 1u << 3), VIOMMU_S_INVAL, "unknown flag");
    cr_expect_eq(do_map(f, D, 0, 0xfff, 0, 1u << 31), VIOMMU_S_INVAL);
    cr_expect_eq(do_map(f, 0x10000, 0, 0xfff, 0, RW), VIOMMU_S_RANGE, "domain range");
    cr_expect_eq(do_map(f, D, 0x2000, 0x1fff, 0, RW), VIOMMU_S_INVAL, "end below start");
    cr_expect_eq(do_map(f, D, top + 1, top + 0x1000, 0, RW), VIOMMU_S_RANGE, "past input");
    cr_expect_eq(do_map(f, D, top - 0xfff, top + 0x1000, 0, RW), VIOMMU_S_RANGE, "straddles");
    cr_expect_eq(do_map(f, D, top - 0xfff, top, 0, RW), VIOMMU_S_OK, "the last page");
    cr_expect_eq(do_map(f, D, 0x800, 0x17ff, 0, RW), VIOMMU_S_RANGE, "start unaligned");
    cr_expect_eq(do_map(f, D, 0x1000, 0x1ffe, 0, RW), VIOMMU_S_RANGE, "end + 1 unaligned");
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0x10, RW), VIOMMU_S_RANGE, "phys unaligned");
    cr_expect_eq(do_map(f, D, 0x1000, 0x2fff, 0xfffffffffffff000ull, RW), VIOMMU_S_RANGE,
                 "phys end wraps");
    cr_expect_eq(do_map(f, D, 0xfee00000, 0xfee00fff, 0, RW), VIOMMU_S_RANGE, "MSI window");
    cr_expect_eq(do_map(f, D, 0xfe000000, 0xfeffffff, 0, RW), VIOMMU_S_RANGE, "around it");
    cr_expect_eq(do_map(f, D, 0xfeeff000, 0xfef00fff, 0, RW), VIOMMU_S_RANGE, "its end");
    cr_expect_eq(do_map(f, D, 0xfed00000, 0xfedfffff, 0, RW), VIOMMU_S_OK, "below it");
    cr_expect_eq(do_map(f, D, 0xfef00000, 0xfef00fff, 0, RW), VIOMMU_S_OK, "above it");
    cr_expect_eq(viommu_mapping_count(&f->v), 3);
    cr_expect_eq(f->r.nmap, 3, "only the accepted ones reached the backend");
    fx_free(f);
}

Test(virtio_iommu, map_overlap_is_inval)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x10000, 0x1ffff, 0x10000, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    cr_expect_eq(do_map(f, D, 0x10000, 0x1ffff, 0, RW), VIOMMU_S_INVAL, "the same");
    cr_expect_eq(do_map(f, D, 0xf000, 0x10fff, 0, RW), VIOMMU_S_INVAL, "its first page");
    cr_expect_eq(do_map(f, D, 0x1f000, 0x20fff, 0, RW), VIOMMU_S_INVAL, "its last page");
    cr_expect_eq(do_map(f, D, 0x14000, 0x14fff, 0, RW), VIOMMU_S_INVAL, "inside");
    cr_expect_eq(do_map(f, D, 0, 0xfffff, 0, RW), VIOMMU_S_INVAL, "around");
    cr_expect_eq(f->r.ncalls, 0);
    cr_expect_eq(do_map(f, D, 0xf000, 0xffff, 0, RW), VIOMMU_S_OK, "adjacent below");
    cr_expect_eq(do_map(f, D, 0x20000, 0x20fff, 0, RW), VIOMMU_S_OK, "adjacent above");
    cr_expect_eq(do_map(f, D, 0xfffffffffffff000ull, UINT64_MAX, 0, RW), VIOMMU_S_OK,
                 "the top of a 64-bit space");
    cr_expect_eq(do_map(f, D, 0xffffffffffffe000ull, UINT64_MAX, 0, RW), VIOMMU_S_INVAL);
    cr_expect_eq(viommu_mapping_count(&f->v), 4);
    fx_free(f);
}

Test(virtio_iommu, map_failures)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, 0x20), VIOMMU_S_OK);
    f->r.fail_ep = EP2;
    f->r.fail_map_err = -EIO;
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0x1000, RW), VIOMMU_S_DEVERR);
    cr_assert_eq(f->r.ncalls, 2, "EP mapped, EP2 failed, EP unmapped again, 0x20 untouched");
    cr_expect(call_is(&f->r.calls[0], CALL_MAP, EP, 0x1000, 0x1000));
    cr_expect(call_is(&f->r.calls[1], CALL_UNMAP, EP, 0x1000, 0x1000));
    cr_expect_eq(viommu_mapping_count(&f->v), 0, "not kept");
    f->r.fail_map_err = -EFAULT;
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0x1000, RW), VIOMMU_S_FAULT, "not guest memory");
    f->r.fail_map_err = -ENOMEM;
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0x1000, RW), VIOMMU_S_NOMEM, "backend full");
    f->r.fail_map_err = 1;
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0x1000, RW), VIOMMU_S_DEVERR, "odd return");
    f->r.fail_map_err = 0;
    cr_expect_eq(viommu_mapping_count(&f->v), 0);
    rec_clear(&f->r);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0x1000, RW), VIOMMU_S_OK, "the range is free");
    cr_expect_eq(f->r.nmap, 3);
    fx_free(f);
}

/* The spec's UNMAP examples (5.13.6.7), each on a blank address space. */
Test(virtio_iommu, unmap_spec_examples)
{
    struct fx *f = fx_new(0);
    const uint64_t P = 0x1000; /* the spec's unit, scaled to pages */

#define MAP(a, b)   cr_assert_eq(do_map(f, D, (a)*P, ((b) + 1) * P - 1, 0, RW), VIOMMU_S_OK)
#define UNMAP(a, b) do_unmap(f, D, (a)*P, ((b) + 1) * P - 1)

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(UNMAP(0, 4), VIOMMU_S_OK, "(1) nothing there");
    MAP(0, 9);
    cr_expect_eq(UNMAP(0, 9), VIOMMU_S_OK, "(2)");
    cr_expect_eq(viommu_mapping_count(&f->v), 0);
    MAP(0, 4);
    MAP(5, 9);
    cr_expect_eq(UNMAP(0, 9), VIOMMU_S_OK, "(3) both");
    cr_expect_eq(viommu_mapping_count(&f->v), 0);
    MAP(0, 9);
    rec_clear(&f->r);
    cr_expect_eq(UNMAP(0, 4), VIOMMU_S_RANGE, "(4) would split");
    cr_expect_eq(UNMAP(5, 9), VIOMMU_S_RANGE, "its tail would be left");
    cr_expect_eq(UNMAP(2, 12), VIOMMU_S_RANGE);
    cr_expect_eq(f->r.ncalls, 0);
    cr_expect_eq(viommu_mapping_count(&f->v), 1);
    cr_expect_eq(UNMAP(0, 9), VIOMMU_S_OK);
    MAP(0, 4);
    MAP(5, 9);
    cr_expect_eq(UNMAP(0, 4), VIOMMU_S_OK, "(5) only a");
    cr_expect_eq(viommu_mapping_count(&f->v), 1);
    cr_expect_eq(UNMAP(5, 9), VIOMMU_S_OK);
    MAP(0, 4);
    cr_expect_eq(UNMAP(0, 9), VIOMMU_S_OK, "(6) spills over");
    cr_expect_eq(viommu_mapping_count(&f->v), 0);
    MAP(0, 4);
    MAP(10, 14);
    MAP(20, 24);
    rec_clear(&f->r);
    cr_expect_eq(UNMAP(0, 14), VIOMMU_S_OK, "(7) a and b, with a hole between");
    cr_assert_eq(f->r.ncalls, 2);
    cr_expect(call_is(&f->r.calls[0], CALL_UNMAP, EP, 0, 5 * P));
    cr_expect(call_is(&f->r.calls[1], CALL_UNMAP, EP, 10 * P, 5 * P));
    cr_expect_eq(viommu_mapping_count(&f->v), 1, "c stays");
#undef MAP
#undef UNMAP
    fx_free(f);
}

Test(virtio_iommu, unmap_checks)
{
    struct fx *f = fx_new(40);
    uint8_t b[64];
    size_t n;

    cr_expect_eq(do_unmap(f, D, 0, 0xfff), VIOMMU_S_NOENT, "no such domain");
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 1, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D + 1, 0x1000, 0x1fff, 0, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    cr_expect_eq(do_unmap(f, 0x10000, 0, 0xfff), VIOMMU_S_RANGE);
    cr_expect_eq(do_unmap(f, D, 0x2000, 0x1fff), VIOMMU_S_INVAL, "end below start");
    cr_expect_eq(do_unmap(f, D, 0, 1ull << 40), VIOMMU_S_RANGE, "past the input range");
    n = req_unmap(b, D, 0x1000, 0x1fff);
    b[27] = 1;
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_INVAL, "reserved set");
    cr_expect_eq(f->r.ncalls, 0);
    cr_expect_eq(viommu_mapping_count(&f->v), 2);
    n = req_unmap(b, D, 0x1000, 0x1fff);
    b[1] = 0xff; /* the head's reserved: ignored */
    cr_expect_eq(status_of_req(f, b, n), VIOMMU_S_OK);
    cr_expect_eq(f->r.ncalls, 1, "domain D only");
    cr_expect(call_is(&f->r.calls[0], CALL_UNMAP, EP, 0x1000, 0x1000));
    cr_expect_eq(viommu_mapping_count(&f->v), 1);
    fx_free(f);
}

Test(virtio_iommu, unmap_whole_space_and_failures)
{
    struct fx *f = fx_new(0);

    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D, EP2), VIOMMU_S_OK);
    cr_expect_eq(do_attach(f, D + 1, 0x20), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0, 0xfff, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D, 0xfffffffffffff000ull, UINT64_MAX, 0, RW), VIOMMU_S_OK);
    cr_expect_eq(do_map(f, D + 1, 0x5000, 0x5fff, 0, RW), VIOMMU_S_OK);
    rec_clear(&f->r);
    f->r.fail_ep = EP;
    f->r.fail_unmap_err = -EIO;
    cr_expect_eq(do_unmap(f, D, 0, UINT64_MAX), VIOMMU_S_DEVERR, "EP's backend failed");
    cr_expect_eq(f->r.nunmap, 4, "both mappings from both endpoints all the same");
    cr_expect_eq(viommu_mapping_count(&f->v), 1, "gone; the other domain's stays");
    f->r.fail_unmap_err = 0;
    cr_expect_eq(do_map(f, D, 0, 0xfff, 0, RW), VIOMMU_S_OK, "the range is free again");
    fx_free(f);
}

/* The PROBE reply as Linux's viommu_probe_endpoint walks it. */
Test(virtio_iommu, probe_reply_as_linux_parses_it)
{
    struct fx *f = fx_new(0);
    uint8_t b[80], out[VIOMMU_RESP_MAX];
    size_t n, cur = 0, probe_size;
    unsigned resv = 0;
    uint8_t cfg[VIOMMU_CONFIG_SIZE];

    viommu_config(&f->v, cfg, sizeof(cfg));
    probe_size = le32(cfg + 32);
    req_probe(b, EP);
    memset(b + 8, 0xcc, 64); /* reserved: ignored */
    memset(out, 0xa5, sizeof(out));
    n = viommu_request(&f->v, b, 72, out);
    cr_assert_eq(n, probe_size + 4, "the whole writable part: properties and tail");
    cr_expect_eq(out[probe_size], VIOMMU_S_OK);
    cr_expect(!out[probe_size + 1] && !out[probe_size + 2] && !out[probe_size + 3]);
    for (unsigned guard = 0; cur < probe_size && guard < 16; guard++) {
        uint16_t type, len;

        memcpy(&type, out + cur, 2);
        memcpy(&len, out + cur + 2, 2);
        if (!(type & 0xfff))
            break;
        cr_assert_leq(cur + 4 + len, probe_size, "the property fits");
        cr_expect_eq(type, 1, "RESV_MEM, reserved bits clear");
        cr_expect_eq(len, 20, "the property's size without its header");
        cr_expect_eq(out[cur + 4], 1, "subtype MSI");
        cr_expect(!out[cur + 5] && !out[cur + 6] && !out[cur + 7], "reserved");
        cr_expect_eq(le64(out + cur + 8), 0xfee00000ull);
        cr_expect_eq(le64(out + cur + 16), 0xfeefffffull);
        resv++;
        cur += 4 + len;
    }
    cr_expect_eq(resv, 1);
    cr_expect_eq(f->r.ncalls, 0);

    /* An unknown endpoint: same length (Linux copies the reply back only when the used length
     * is its whole writable part), zeroed properties, NOENT. */
    req_probe(b, 0x30000);
    memset(out, 0xa5, sizeof(out));
    n = viommu_request(&f->v, b, 72, out);
    cr_assert_eq(n, probe_size + 4);
    for (size_t i = 0; i < probe_size; i++)
        cr_expect_eq(out[i], 0, "byte %zu", i);
    cr_expect_eq(out[probe_size], VIOMMU_S_NOENT);
    /* a PROBE of an attached endpoint answers the same */
    cr_expect_eq(do_attach(f, D, EP), VIOMMU_S_OK);
    req_probe(b, EP);
    cr_expect_eq(status_of_req(f, b, 72), VIOMMU_S_OK);
    fx_free(f);
}
