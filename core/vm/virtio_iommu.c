#include "core/vm/virtio_iommu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/le.h"

#define VIRTIO_F_VERSION_1 32
#define HEAD_SIZE          4
#define TAIL_SIZE          4
#define ATTACH_SIZE        20
#define DETACH_SIZE        20
#define MAP_SIZE           36
#define UNMAP_SIZE         28
#define PROBE_SIZE         72 /* the core keeps the first VIOMMU_REQ_MAX bytes */
#define MAPS_FIRST_CAP     64

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static uint8_t status_of(int err)
{
    if (err == -EFAULT)
        return VIOMMU_S_FAULT;
    if (err == -ENOMEM)
        return VIOMMU_S_NOMEM;
    return VIOMMU_S_DEVERR;
}

_Static_assert(VIOMMU_DOMAIN_FIRST == 0, "domain_in_range checks the end only");

static bool domain_in_range(uint32_t domain)
{
    return domain <= VIOMMU_DOMAIN_LAST;
}

/* --- tables --- */

/* The attached endpoint's index, or false with *at its insertion point. */
static bool ep_find(const struct viommu *v, uint32_t id, size_t *at)
{
    size_t lo = 0, hi = v->neps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (v->eps[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return lo < v->neps && v->eps[lo].id == id;
}

static size_t domain_endpoints(const struct viommu *v, uint32_t domain)
{
    size_t n = 0;

    for (size_t i = 0; i < v->neps; i++)
        n += v->eps[i].domain == domain;
    return n;
}

/* The first mapping at or after (domain, iova). */
static size_t map_lower(const struct viommu *v, uint32_t domain, uint64_t iova)
{
    size_t lo = 0, hi = v->nmaps;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct viommu_mapping *m = &v->maps[mid];

        if (m->domain < domain || (m->domain == domain && m->iova < iova))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The domain's mappings are [*first, *end). */
static void domain_maps(const struct viommu *v, uint32_t domain, size_t *first, size_t *end)
{
    *first = map_lower(v, domain, 0);
    *end = domain == UINT32_MAX ? v->nmaps : map_lower(v, domain + 1, 0);
}

static void maps_remove(struct viommu *v, size_t first, size_t end)
{
    memmove(&v->maps[first], &v->maps[end], (v->nmaps - end) * sizeof(v->maps[0]));
    v->nmaps -= end - first;
}

static int maps_reserve(struct viommu *v)
{
    struct viommu_mapping *m;
    size_t cap;

    if (v->nmaps < v->cap)
        return 0;
    if (v->cap >= VIOMMU_MAX_MAPPINGS)
        return -ENOMEM;
    cap = v->cap ? v->cap * 2 : MAPS_FIRST_CAP;
    if (cap > VIOMMU_MAX_MAPPINGS)
        cap = VIOMMU_MAX_MAPPINGS;
    m = realloc(v->maps, cap * sizeof(*m));
    if (!m)
        return -ENOMEM;
    v->maps = m;
    v->cap = cap;
    return 0;
}

static int map_one(struct viommu *v, uint32_t ep, const struct viommu_mapping *m)
{
    return v->ops->map(v->arg, ep, m->iova, m->last - m->iova + 1, m->gpa, m->perm);
}

static int unmap_one(struct viommu *v, uint32_t ep, const struct viommu_mapping *m)
{
    return v->ops->unmap(v->arg, ep, m->iova, m->last - m->iova + 1);
}

/* Unmaps the domain's mappings [first, end) from endpoint ep; the first error or 0. */
static int ep_unmap_range(struct viommu *v, uint32_t ep, size_t first, size_t end)
{
    int err = 0;

    for (size_t i = first; i < end; i++) {
        int e = unmap_one(v, ep, &v->maps[i]);

        if (e && !err)
            err = e;
    }
    return err;
}

/* Maps every mapping of the domain for ep; on a failure unmaps what it mapped. */
static int ep_map_domain(struct viommu *v, uint32_t ep, uint32_t domain)
{
    size_t first, end;

    domain_maps(v, domain, &first, &end);
    for (size_t i = first; i < end; i++) {
        int e = map_one(v, ep, &v->maps[i]);

        if (e) {
            ep_unmap_range(v, ep, first, i);
            return e < 0 ? e : -EIO;
        }
    }
    return 0;
}

/* Detaches eps[idx]: its domain's mappings are unmapped from it, and the domain (with its
 * mappings) ceases to exist when it was the last endpoint. The first unmap error or 0. */
static int ep_detach(struct viommu *v, size_t idx)
{
    uint32_t ep = v->eps[idx].id, domain = v->eps[idx].domain;
    size_t first, end;
    int err;

    domain_maps(v, domain, &first, &end);
    err = ep_unmap_range(v, ep, first, end);
    memmove(&v->eps[idx], &v->eps[idx + 1], (v->neps - idx - 1) * sizeof(v->eps[0]));
    v->neps--;
    if (!domain_endpoints(v, domain))
        maps_remove(v, first, end);
    return err;
}

/* --- requests --- */

static uint8_t do_attach(struct viommu *v, const uint8_t *in, size_t len)
{
    uint32_t domain, ep;
    size_t at;
    int e;

    if (len != ATTACH_SIZE)
        return VIOMMU_S_INVAL;
    domain = le_get32(in + 4);
    ep = le_get32(in + 8);
    if (!all_zero(in + 12, 8)) /* flags (ATTACH_F_BYPASS is not offered) and reserved */
        return VIOMMU_S_INVAL;
    if (!domain_in_range(domain))
        return VIOMMU_S_RANGE;
    if (!v->ops->endpoint_valid(v->arg, ep))
        return VIOMMU_S_NOENT;
    if (ep_find(v, ep, &at)) {
        if (v->eps[at].domain == domain)
            return VIOMMU_S_OK;
        /* As if the driver had sent DETACH first (5.13.6.3). An unmap error is the old
         * backend's; the endpoint is detached from the old domain regardless. */
        ep_detach(v, at);
        ep_find(v, ep, &at);
    } else if (v->neps >= VIOMMU_MAX_ENDPOINTS) {
        return VIOMMU_S_NOMEM;
    }
    e = ep_map_domain(v, ep, domain);
    if (e)
        return status_of(e); /* not attached: the domain keeps its other endpoints */
    memmove(&v->eps[at + 1], &v->eps[at], (v->neps - at) * sizeof(v->eps[0]));
    v->eps[at] = (struct viommu_endpoint){ .id = ep, .domain = domain };
    v->neps++;
    return VIOMMU_S_OK;
}

static uint8_t do_detach(struct viommu *v, const uint8_t *in, size_t len)
{
    uint32_t domain, ep;
    size_t at;

    if (len != DETACH_SIZE)
        return VIOMMU_S_INVAL;
    domain = le_get32(in + 4);
    ep = le_get32(in + 8);
    /* reserved is ignored (5.13.6.4) */
    if (!domain_in_range(domain))
        return VIOMMU_S_RANGE;
    if (!v->ops->endpoint_valid(v->arg, ep))
        return VIOMMU_S_NOENT;
    if (!ep_find(v, ep, &at) || v->eps[at].domain != domain)
        return VIOMMU_S_INVAL;
    return ep_detach(v, at) ? VIOMMU_S_DEVERR : VIOMMU_S_OK;
}

/* The checks MAP and UNMAP share on [start, end]. */
static uint8_t check_range(const struct viommu *v, uint32_t domain, uint64_t start, uint64_t end)
{
    if (!domain_in_range(domain))
        return VIOMMU_S_RANGE;
    if (end < start)
        return VIOMMU_S_INVAL;
    if (end > v->input_end)
        return VIOMMU_S_RANGE;
    return VIOMMU_S_OK;
}

/* Maps m for every endpoint of its domain; undoes it on a failure. */
static int map_endpoints(struct viommu *v, const struct viommu_mapping *m)
{
    for (size_t i = 0; i < v->neps; i++) {
        int e;

        if (v->eps[i].domain != m->domain)
            continue;
        e = map_one(v, v->eps[i].id, m);
        if (!e)
            continue;
        for (size_t j = 0; j < i; j++)
            if (v->eps[j].domain == m->domain)
                unmap_one(v, v->eps[j].id, m);
        return e < 0 ? e : -EIO;
    }
    return 0;
}

/* Every check of a MAP but the backends'; *at is where m goes in the table. */
static uint8_t map_check(struct viommu *v, const struct viommu_mapping *m, size_t *at)
{
    uint8_t st;

    if (m->perm & ~(VIOMMU_MAP_F_READ | VIOMMU_MAP_F_WRITE))
        return VIOMMU_S_INVAL; /* MMIO included: F_MMIO is not offered */
    st = check_range(v, m->domain, m->iova, m->last);
    if (st)
        return st;
    if ((m->iova | m->gpa) & (VIOMMU_GRANULE - 1) || (~m->last & (VIOMMU_GRANULE - 1)))
        return VIOMMU_S_RANGE;
    if (m->gpa + (m->last - m->iova) < m->gpa)
        return VIOMMU_S_RANGE;
    if (m->iova <= VIOMMU_MSI_END && m->last >= VIOMMU_MSI_START)
        return VIOMMU_S_RANGE;
    if (!domain_endpoints(v, m->domain))
        return VIOMMU_S_NOENT;
    *at = map_lower(v, m->domain, m->iova);
    if (*at > 0 && v->maps[*at - 1].domain == m->domain && v->maps[*at - 1].last >= m->iova)
        return VIOMMU_S_INVAL;
    if (*at < v->nmaps && v->maps[*at].domain == m->domain && v->maps[*at].iova <= m->last)
        return VIOMMU_S_INVAL;
    if (maps_reserve(v))
        return VIOMMU_S_NOMEM;
    return VIOMMU_S_OK;
}

static void map_insert(struct viommu *v, const struct viommu_mapping *m, size_t at)
{
    memmove(&v->maps[at + 1], &v->maps[at], (v->nmaps - at) * sizeof(*m));
    v->maps[at] = *m;
    v->nmaps++;
}

static uint8_t do_map(struct viommu *v, const uint8_t *in, size_t len)
{
    struct viommu_mapping m;
    uint8_t st;
    size_t at;
    int e;

    if (len != MAP_SIZE)
        return VIOMMU_S_INVAL;
    m.domain = le_get32(in + 4);
    m.iova = le_get64(in + 8);
    m.last = le_get64(in + 16);
    m.gpa = le_get64(in + 24);
    m.perm = le_get32(in + 32); /* the MAP flags */
    st = map_check(v, &m, &at);
    if (st)
        return st;
    e = map_endpoints(v, &m);
    if (e)
        return status_of(e);
    map_insert(v, &m, at);
    return VIOMMU_S_OK;
}

static uint8_t do_unmap(struct viommu *v, const uint8_t *in, size_t len)
{
    uint32_t domain;
    uint64_t start, end;
    size_t lo, hi, first;
    int err = 0;
    uint8_t st;

    if (len != UNMAP_SIZE)
        return VIOMMU_S_INVAL;
    domain = le_get32(in + 4);
    start = le_get64(in + 8);
    end = le_get64(in + 16);
    if (!all_zero(in + 24, 4))
        return VIOMMU_S_INVAL;
    st = check_range(v, domain, start, end);
    if (st)
        return st;
    if (!domain_endpoints(v, domain))
        return VIOMMU_S_NOENT;
    lo = map_lower(v, domain, start);
    if (lo > 0 && v->maps[lo - 1].domain == domain && v->maps[lo - 1].last >= start)
        return VIOMMU_S_RANGE; /* a mapping starts before the range and reaches into it */
    if (end == UINT64_MAX)
        domain_maps(v, domain, &first, &hi); /* every mapping of the domain from lo on */
    else
        hi = map_lower(v, domain, end + 1);
    if (hi > lo && v->maps[hi - 1].last > end)
        return VIOMMU_S_RANGE; /* the last one would be split */
    for (size_t i = 0; i < v->neps; i++) {
        int e;

        if (v->eps[i].domain != domain)
            continue;
        e = ep_unmap_range(v, v->eps[i].id, lo, hi);
        if (e && !err)
            err = e;
    }
    maps_remove(v, lo, hi);
    return err ? VIOMMU_S_DEVERR : VIOMMU_S_OK;
}

static uint8_t do_probe(struct viommu *v, const uint8_t *in, size_t len, uint8_t *props)
{
    uint32_t ep;

    if (len < VIOMMU_REQ_MAX && len < PROBE_SIZE)
        return VIOMMU_S_INVAL;
    ep = le_get32(in + 4);
    /* reserved is ignored (5.13.6.7) */
    if (!v->ops->endpoint_valid(v->arg, ep))
        return VIOMMU_S_NOENT;
    le_put16(props, VIOMMU_PROBE_T_RESV_MEM);
    le_put16(props + 2, VIOMMU_PROBE_SIZE - 4);
    props[4] = VIOMMU_RESV_MEM_T_MSI;
    le_put64(props + 8, VIOMMU_MSI_START);
    le_put64(props + 16, VIOMMU_MSI_END);
    return VIOMMU_S_OK;
}

size_t viommu_request(struct viommu *v, const uint8_t *in, size_t len, uint8_t out[VIOMMU_RESP_MAX])
{
    size_t n = TAIL_SIZE;
    uint8_t st;

    if (len < HEAD_SIZE)
        return 0;
    if (len > VIOMMU_REQ_MAX)
        len = VIOMMU_REQ_MAX;
    memset(out, 0, VIOMMU_PROBE_RESP);
    switch (in[0]) {
    case VIOMMU_T_ATTACH:
        st = do_attach(v, in, len);
        break;
    case VIOMMU_T_DETACH:
        st = do_detach(v, in, len);
        break;
    case VIOMMU_T_MAP:
        st = do_map(v, in, len);
        break;
    case VIOMMU_T_UNMAP:
        st = do_unmap(v, in, len);
        break;
    case VIOMMU_T_PROBE:
        st = do_probe(v, in, len, out);
        n = VIOMMU_PROBE_RESP;
        if (st)
            memset(out, 0, VIOMMU_PROBE_SIZE);
        break;
    default:
        return 0; /* 5.13.6: unknown type, buffer untouched, used length 0 */
    }
    out[n - TAIL_SIZE] = st;
    return n;
}

size_t viommu_request_fn(void *arg, const uint8_t *in, size_t len, uint8_t out[VIOMMU_RESP_MAX])
{
    return viommu_request(arg, in, len, out);
}

/* --- lifecycle --- */

int viommu_init(struct viommu *v, const struct viommu_params *p)
{
    uint8_t width = p->address_width ? p->address_width : VIOMMU_ADDRESS_WIDTH_DEFAULT;

    if (width > 64 || !p->ops || !p->ops->map || !p->ops->unmap || !p->ops->endpoint_valid)
        return -EINVAL;
    memset(v, 0, sizeof(*v));
    v->ops = p->ops;
    v->arg = p->arg;
    v->input_end = width == 64 ? UINT64_MAX : (1ull << width) - 1;
    return 0;
}

void viommu_destroy(struct viommu *v)
{
    free(v->maps);
    v->maps = NULL;
    v->nmaps = v->cap = 0;
    v->neps = 0;
}

size_t viommu_config(const struct viommu *v, uint8_t *out, size_t max)
{
    uint8_t c[VIOMMU_CONFIG_SIZE] = { 0 };
    size_t n = max < sizeof(c) ? max : sizeof(c);

    le_put64(c, VIOMMU_PAGE_SIZE_MASK);
    le_put64(c + 8, 0); /* input_range.start */
    le_put64(c + 16, v->input_end);
    le_put32(c + 24, VIOMMU_DOMAIN_FIRST);
    le_put32(c + 28, VIOMMU_DOMAIN_LAST);
    le_put32(c + 32, VIOMMU_PROBE_SIZE);
    /* c[36]: bypass, 0 (F_BYPASS_CONFIG not offered); c[37..39] reserved */
    memcpy(out, c, n);
    return n;
}

uint64_t viommu_features(void)
{
    return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIOMMU_F_INPUT_RANGE |
           1ull << VIOMMU_F_DOMAIN_RANGE | 1ull << VIOMMU_F_MAP_UNMAP | 1ull << VIOMMU_F_PROBE;
}

int viommu_replay(struct viommu *v, uint32_t endpoint)
{
    size_t at, first, end;
    int err = 0;

    if (!ep_find(v, endpoint, &at))
        return 0;
    domain_maps(v, v->eps[at].domain, &first, &end);
    for (size_t i = first; i < end; i++) {
        int e = map_one(v, endpoint, &v->maps[i]);

        if (e && !err)
            err = e < 0 ? e : -EIO;
    }
    return err ? err : (int)(end - first);
}

void viommu_reset(struct viommu *v)
{
    for (size_t i = 0; i < v->neps; i++) {
        size_t first, end;

        domain_maps(v, v->eps[i].domain, &first, &end);
        ep_unmap_range(v, v->eps[i].id, first, end);
    }
    v->neps = 0;
    v->nmaps = 0;
}

int viommu_detach_endpoint(struct viommu *v, uint32_t endpoint)
{
    size_t at;
    int e;

    if (!ep_find(v, endpoint, &at))
        return -ENOENT;
    e = ep_detach(v, at);
    return e < 0 ? e : e ? -EIO : 0;
}

int viommu_load_endpoint(struct viommu *v, uint32_t endpoint, uint32_t domain)
{
    size_t at;

    if (!domain_in_range(domain))
        return -ERANGE;
    if (!v->ops->endpoint_valid(v->arg, endpoint))
        return -ENOENT;
    if (ep_find(v, endpoint, &at))
        return -EEXIST;
    if (v->neps >= VIOMMU_MAX_ENDPOINTS)
        return -ENOMEM;
    memmove(&v->eps[at + 1], &v->eps[at], (v->neps - at) * sizeof(v->eps[0]));
    v->eps[at] = (struct viommu_endpoint){ .id = endpoint, .domain = domain };
    v->neps++;
    return 0;
}

int viommu_load_mapping(struct viommu *v, const struct viommu_mapping *m)
{
    size_t at;

    switch (map_check(v, m, &at)) {
    case VIOMMU_S_OK:
        map_insert(v, m, at);
        return 0;
    case VIOMMU_S_RANGE:
        return -ERANGE;
    case VIOMMU_S_NOENT:
        return -ENOENT;
    case VIOMMU_S_NOMEM:
        return -ENOMEM;
    default:
        return -EINVAL;
    }
}

bool viommu_endpoint_domain(const struct viommu *v, uint32_t endpoint, uint32_t *domain)
{
    size_t at;

    if (!ep_find(v, endpoint, &at))
        return false;
    *domain = v->eps[at].domain;
    return true;
}

size_t viommu_mapping_count(const struct viommu *v)
{
    return v->nmaps;
}
