/* The virtio-pmem device model: its config bytes, FLUSH answered from the flush callback's
 * result, short and unknown requests answered EIO without a flush, one request through the
 * split ring the core serves, and the guest-memory region a pmem file becomes (guest RAM a
 * plain buffer). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem/guest_mem.h"
#include "core/vm/virtio_pmem.h"
#include "core/vm/vring_req.h"

struct flushes {
    unsigned n;
    int ret;
};

static int flush(void *arg)
{
    struct flushes *f = arg;

    f->n++;
    return f->ret;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

Test(virtio_pmem, config_layout)
{
    uint8_t c[PMEM_CONFIG_SIZE];
    uint64_t start, size;

    pmem_config(0x1234500000ull, 6ull << 20, c);
    memcpy(&start, c, 8);
    memcpy(&size, c + 8, 8);
    cr_expect_eq(start, 0x1234500000ull);
    cr_expect_eq(size, 6ull << 20);
    cr_expect_eq(c[0], 0x00);
    cr_expect_eq(c[2], 0x50);
    cr_expect_eq(c[4], 0x12);
}

Test(virtio_pmem, flush_answers_its_result)
{
    struct flushes f = { 0 };
    uint8_t in[8] = { 0 }, out[PMEM_RESP_SIZE];

    memset(out, 0xff, sizeof(out));
    pmem_request(in, PMEM_REQ_SIZE, flush, &f, out);
    cr_expect_eq(f.n, 1);
    cr_expect_eq(le32(out), PMEM_RESP_OK);
    /* Trailing bytes past the type are ignored. */
    pmem_request(in, sizeof(in), flush, &f, out);
    cr_expect_eq(f.n, 2);
    cr_expect_eq(le32(out), PMEM_RESP_OK);
    f.ret = -EIO;
    pmem_request(in, PMEM_REQ_SIZE, flush, &f, out);
    cr_expect_eq(f.n, 3);
    cr_expect_eq(le32(out), PMEM_RESP_EIO);
}

Test(virtio_pmem, short_and_unknown_requests)
{
    struct flushes f = { 0 };
    uint8_t in[4] = { 1, 0, 0, 0 }, out[PMEM_RESP_SIZE];
    uint8_t max[4] = { 0xff, 0xff, 0xff, 0xff }; /* ChromeOS's DISCARD: not offered */

    pmem_request(in, sizeof(in), flush, &f, out);
    cr_expect_eq(le32(out), PMEM_RESP_EIO);
    pmem_request(max, sizeof(max), flush, &f, out);
    cr_expect_eq(le32(out), PMEM_RESP_EIO);
    in[0] = 0;
    for (size_t len = 0; len < PMEM_REQ_SIZE; len++) {
        pmem_request(in, len, flush, &f, out);
        cr_expect_eq(le32(out), PMEM_RESP_EIO, "%zu bytes", len);
    }
    cr_expect_eq(f.n, 0);
}

#define RAM   (1u << 20)
#define QSZ   4
#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u
#define REQ   0x4000u
#define RESP  0x5000u

struct rig {
    uint8_t *ram;
    struct guest_mem gm;
    struct vring_req_ring r;
    struct flushes f;
};

static size_t answer(void *arg, const uint8_t *in, size_t len, uint8_t out[VRING_RESP_MAX])
{
    struct rig *g = arg;

    pmem_request(in, len, flush, &g->f, out);
    return PMEM_RESP_SIZE;
}

static void desc(struct rig *g, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                 uint16_t next)
{
    uint8_t *p = g->ram + DESC + 16u * i;

    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

Test(virtio_pmem, flush_through_the_ring)
{
    struct rig g = { 0 };
    uint16_t idx = 1, head = 0, used;
    uint32_t type = PMEM_REQ_FLUSH, resp = 0xdead, len;

    g.ram = aligned_alloc(4096, RAM);
    cr_assert_not_null(g.ram);
    memset(g.ram, 0, RAM);
    guest_mem_init(&g.gm);
    cr_assert_eq(guest_mem_add_zone(&g.gm, g.ram, RAM, -1), 0);
    g.r = (struct vring_req_ring){ .desc = DESC, .avail = AVAIL, .used = USED, .size = QSZ };
    memcpy(g.ram + REQ, &type, 4);
    memcpy(g.ram + RESP, &resp, 4);
    desc(&g, 0, REQ, 4, 1 /* NEXT */, 1);
    desc(&g, 1, RESP, 4, 2 /* WRITE */, 0);
    memcpy(g.ram + AVAIL + 4, &head, 2);
    memcpy(g.ram + AVAIL + 2, &idx, 2);
    cr_assert_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), 1);
    cr_expect_eq(g.f.n, 1);
    memcpy(&resp, g.ram + RESP, 4);
    cr_expect_eq(resp, PMEM_RESP_OK);
    memcpy(&used, g.ram + USED + 2, 2);
    memcpy(&len, g.ram + USED + 8, 4);
    cr_expect_eq(used, 1);
    cr_expect_eq(len, PMEM_RESP_SIZE);
    free(g.ram);
}

Test(virtio_pmem, guest_mem_region)
{
    static uint8_t ram[1 << 16], file[1 << 16], priv[1 << 16];
    struct guest_mem gm;
    int r;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, ram, sizeof(ram), -1), 0);
    cr_expect_eq(guest_mem_add_pmem(&gm, 1ull << 30, file, sizeof(file), 5, false), -EINVAL);
    r = guest_mem_add_pmem(&gm, 4ull << 30, file, sizeof(file), 5, false);
    cr_assert_eq(r, 1);
    cr_expect(gm.regions[r].pmem);
    cr_expect_not(gm.regions[r].vmem);
    cr_expect_not(gm.regions[r].core_only);
    r = guest_mem_add_pmem(&gm, (4ull << 30) + (2ull << 20), priv, sizeof(priv), 6, true);
    cr_assert_eq(r, 2);
    cr_expect(gm.regions[r].core_only);
    /* KVM and the core see them; the boot memory map and the RAM size do not. */
    cr_expect_eq(guest_mem_ptr(&gm, (4ull << 30) + 8, 8), file + 8);
    cr_expect_eq(gm.size, sizeof(ram));
    cr_expect_eq(guest_mem_high_size(&gm), 0);
    /* RAM cannot follow them. */
    cr_expect_eq(guest_mem_add_zone(&gm, ram, sizeof(ram), -1), -EINVAL);
}
