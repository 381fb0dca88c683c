#include "viommu_harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void record(struct rec *r, struct call c)
{
    if (r->ncalls < REC_MAX)
        r->calls[r->ncalls] = c;
    r->ncalls++;
}

static int cb_map(void *arg, uint32_t ep, uint64_t iova, uint64_t size, uint64_t gpa, unsigned perm)
{
    struct rec *r = arg;

    if (r->fail_map_err && ep == r->fail_ep) {
        if (r->skip_map)
            r->skip_map--;
        else
            return r->fail_map_err;
    }
    record(r, (struct call){ CALL_MAP, ep, iova, size, gpa, perm });
    r->nmap++;
    return 0;
}

static int cb_unmap(void *arg, uint32_t ep, uint64_t iova, uint64_t size)
{
    struct rec *r = arg;

    record(r, (struct call){ CALL_UNMAP, ep, iova, size, 0, 0 });
    r->nunmap++;
    return r->fail_unmap_err && ep == r->fail_ep ? r->fail_unmap_err : 0;
}

static bool cb_valid(void *arg, uint32_t ep)
{
    (void)arg;
    return ep <= 0xffff || ep == 0x10008;
}

static const struct viommu_ops ops = { cb_map, cb_unmap, cb_valid };

struct fx *fx_new(uint8_t width)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct viommu_params p = { .address_width = width, .ops = &ops };

    cr_assert_not_null(f);
    p.arg = &f->r;
    cr_assert_eq(viommu_init(&f->v, &p), 0);
    return f;
}

void fx_free(struct fx *f)
{
    viommu_destroy(&f->v);
    free(f);
}

void rec_clear(struct rec *r)
{
    memset(r, 0, sizeof(*r));
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* the tests run little-endian, as the guests do */
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void head(uint8_t *b, uint8_t type, size_t len)
{
    memset(b, 0, len);
    b[0] = type;
}

size_t req_attach(uint8_t *b, uint32_t domain, uint32_t ep, uint32_t flags)
{
    head(b, VIOMMU_T_ATTACH, 20);
    put32(b + 4, domain);
    put32(b + 8, ep);
    put32(b + 12, flags);
    return 20;
}

size_t req_detach(uint8_t *b, uint32_t domain, uint32_t ep)
{
    head(b, VIOMMU_T_DETACH, 20);
    put32(b + 4, domain);
    put32(b + 8, ep);
    return 20;
}

size_t req_map(uint8_t *b, uint32_t domain, uint64_t start, uint64_t end, uint64_t phys,
               uint32_t flags)
{
    head(b, VIOMMU_T_MAP, 36);
    put32(b + 4, domain);
    put64(b + 8, start);
    put64(b + 16, end);
    put64(b + 24, phys);
    put32(b + 32, flags);
    return 36;
}

size_t req_unmap(uint8_t *b, uint32_t domain, uint64_t start, uint64_t end)
{
    head(b, VIOMMU_T_UNMAP, 28);
    put32(b + 4, domain);
    put64(b + 8, start);
    put64(b + 16, end);
    return 28;
}

size_t req_probe(uint8_t *b, uint32_t ep)
{
    head(b, VIOMMU_T_PROBE, 72);
    put32(b + 4, ep);
    return 72;
}

int status_of_req(struct fx *f, const uint8_t *b, size_t len)
{
    uint8_t out[VIOMMU_RESP_MAX];
    size_t n;

    memset(out, 0xa5, sizeof(out));
    n = viommu_request(&f->v, b, len, out);
    if (!n)
        return -1;
    cr_assert_eq(n, b[0] == VIOMMU_T_PROBE ? VIOMMU_PROBE_RESP : 4u, "response length %zu", n);
    cr_assert(!out[n - 3] && !out[n - 2] && !out[n - 1], "tail reserved bytes zero");
    return out[n - 4];
}

int do_attach(struct fx *f, uint32_t domain, uint32_t ep)
{
    uint8_t b[64];

    return status_of_req(f, b, req_attach(b, domain, ep, 0));
}

int do_detach(struct fx *f, uint32_t domain, uint32_t ep)
{
    uint8_t b[64];

    return status_of_req(f, b, req_detach(b, domain, ep));
}

int do_map(struct fx *f, uint32_t domain, uint64_t start, uint64_t end, uint64_t phys,
           uint32_t flags)
{
    uint8_t b[64];

    return status_of_req(f, b, req_map(b, domain, start, end, phys, flags));
}

int do_unmap(struct fx *f, uint32_t domain, uint64_t start, uint64_t end)
{
    uint8_t b[64];

    return status_of_req(f, b, req_unmap(b, domain, start, end));
}

bool call_is(const struct call *c, enum call_kind k, uint32_t ep, uint64_t iova, uint64_t size)
{
    return c->kind == k && c->ep == ep && c->iova == iova && c->size == size;
}
