/* The virtio-mem device model and its request queue: plug, unplug, unplug-all and state
 * requests checked against block alignment, the usable region and the blocks' state, NACK past
 * the requested size, unplugged blocks handed to discard, the config bytes, and the split ring
 * walker that carries one request and one response per chain (guest RAM a plain buffer). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem/guest_mem.h"
#include "core/vm/virtio_mem.h"
#include "core/vm/vring_req.h"

#define BASE  (4ull << 30)
#define SIZE  (256ull << 20) /* 128 blocks */
#define BLOCK VMEM_BLOCK_SIZE

struct discards {
    unsigned n;
    uint64_t off, len;
    int fail; /* -errno returned */
};

static int record(void *arg, uint64_t off, uint64_t len)
{
    struct discards *d = arg;

    d->n++;
    d->off = off;
    d->len = len;
    return d->fail;
}

static void req(uint8_t out[VMEM_REQ_SIZE], uint16_t type, uint64_t addr, uint16_t nb)
{
    memset(out, 0, VMEM_REQ_SIZE);
    memcpy(out, &type, 2);
    memcpy(out + 8, &addr, 8);
    memcpy(out + 16, &nb, 2);
}

/* Sends one request; returns the response type, *state its state field. */
static uint16_t ask(struct vmem *m, uint16_t type, uint64_t addr, uint16_t nb, uint16_t *state)
{
    uint8_t in[VMEM_REQ_SIZE], out[VMEM_RESP_SIZE];
    uint16_t t, st;

    req(in, type, addr, nb);
    memset(out, 0xee, sizeof(out));
    vmem_request(m, in, sizeof(in), out);
    memcpy(&t, out, 2);
    memcpy(&st, out + 8, 2);
    if (state)
        *state = st;
    return t;
}

static uint64_t cfg64(const struct vmem *m, unsigned off)
{
    uint8_t c[VMEM_CONFIG_SIZE];
    uint64_t v;

    vmem_config(m, c);
    memcpy(&v, c + off, 8);
    return v;
}

Test(virtio_mem, init_refuses_bad_layouts)
{
    struct vmem m;

    cr_expect_eq(vmem_init(&m, BASE, 0, 0, -1, NULL, NULL), -EINVAL);
    cr_expect_eq(vmem_init(&m, BASE, SIZE + BLOCK, 0, -1, NULL, NULL), -EINVAL);
    cr_expect_eq(vmem_init(&m, BASE + BLOCK, SIZE, 0, -1, NULL, NULL), -EINVAL);
    cr_expect_eq(vmem_init(&m, BASE, SIZE, SIZE + BLOCK, -1, NULL, NULL), -EINVAL);
    cr_expect_eq(vmem_init(&m, BASE, SIZE, 4096, -1, NULL, NULL), -EINVAL);
    cr_expect_eq(vmem_init(&m, BASE, VMEM_MAX_REGION + VMEM_REGION_ALIGN, 0, -1, NULL, NULL),
                 -EINVAL);
    cr_expect_eq(vmem_init(&m, UINT64_MAX & ~(VMEM_REGION_ALIGN - 1), SIZE, 0, -1, NULL, NULL),
                 -EINVAL);
    cr_assert_eq(vmem_init(&m, BASE, SIZE, SIZE, 3, NULL, NULL), 0);
    cr_expect_eq(vmem_features(&m), 1ull << VMEM_F_ACPI_PXM);
    vmem_destroy(&m);
}

Test(virtio_mem, config_layout)
{
    struct vmem m;
    uint8_t c[VMEM_CONFIG_SIZE];
    uint16_t node;

    cr_assert_eq(vmem_init(&m, BASE, SIZE, 64 * BLOCK, 5, NULL, NULL), 0);
    vmem_config(&m, c);
    memcpy(&node, c + 8, 2);
    cr_expect_eq(cfg64(&m, 0), BLOCK);
    cr_expect_eq(node, 5);
    cr_expect_eq(cfg64(&m, 16), BASE);
    cr_expect_eq(cfg64(&m, 24), SIZE);
    cr_expect_eq(cfg64(&m, 32), SIZE);
    cr_expect_eq(cfg64(&m, 40), 0);
    cr_expect_eq(cfg64(&m, 48), 64 * BLOCK);
    vmem_destroy(&m);
}

Test(virtio_mem, plug_unplug_state)
{
    struct discards d = { 0 };
    struct vmem m;
    uint16_t st;

    cr_assert_eq(vmem_init(&m, BASE, SIZE, 8 * BLOCK, -1, record, &d), 0);
    cr_expect_eq(vmem_features(&m), 0);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 2 * BLOCK, 4, NULL), VMEM_RESP_ACK);
    cr_expect_eq(cfg64(&m, 40), 4 * BLOCK);
    cr_expect_eq(ask(&m, VMEM_REQ_STATE, BASE + 2 * BLOCK, 4, &st), VMEM_RESP_ACK);
    cr_expect_eq(st, VMEM_STATE_PLUGGED);
    cr_expect_eq(ask(&m, VMEM_REQ_STATE, BASE, 4, &st), VMEM_RESP_ACK);
    cr_expect_eq(st, VMEM_STATE_MIXED);
    cr_expect_eq(ask(&m, VMEM_REQ_STATE, BASE + 100 * BLOCK, 28, &st), VMEM_RESP_ACK);
    cr_expect_eq(st, VMEM_STATE_UNPLUGGED);
    /* Already plugged, in part: the whole request fails and nothing changes. */
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 5 * BLOCK, 2, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(cfg64(&m, 40), 4 * BLOCK);
    /* Past the requested size: NACK (the driver waits for a bigger request). */
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 20 * BLOCK, 5, NULL), VMEM_RESP_NACK);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 20 * BLOCK, 4, NULL), VMEM_RESP_ACK);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 30 * BLOCK, 1, NULL), VMEM_RESP_NACK);
    /* Unplug gives the blocks back through discard, at their offset in the region. */
    cr_expect_eq(ask(&m, VMEM_REQ_UNPLUG, BASE + 3 * BLOCK, 2, NULL), VMEM_RESP_ACK);
    cr_expect_eq(d.n, 1);
    cr_expect_eq(d.off, 3 * BLOCK);
    cr_expect_eq(d.len, 2 * BLOCK);
    cr_expect_eq(cfg64(&m, 40), 6 * BLOCK);
    /* Unplugging a block that is not plugged is an error. */
    cr_expect_eq(ask(&m, VMEM_REQ_UNPLUG, BASE + 3 * BLOCK, 1, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(d.n, 1);
    vmem_destroy(&m);
}

Test(virtio_mem, bounds_and_alignment)
{
    struct vmem m;

    cr_assert_eq(vmem_init(&m, BASE, SIZE, SIZE, -1, NULL, NULL), 0);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 4096, 1, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE - BLOCK, 1, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE, 0, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + SIZE, 1, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + SIZE - BLOCK, 2, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(ask(&m, VMEM_REQ_STATE, UINT64_MAX - BLOCK + 1, 1, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE, 128, NULL), VMEM_RESP_ACK);
    cr_expect_eq(cfg64(&m, 40), SIZE);
    cr_expect_eq(ask(&m, 7, BASE, 1, NULL), VMEM_RESP_ERROR);
    vmem_destroy(&m);
}

Test(virtio_mem, short_and_unknown_requests)
{
    struct vmem m;
    uint8_t in[4] = { VMEM_REQ_PLUG, 0, 0, 0 }, out[VMEM_RESP_SIZE];
    uint16_t t;

    cr_assert_eq(vmem_init(&m, BASE, SIZE, SIZE, -1, NULL, NULL), 0);
    vmem_request(&m, in, sizeof(in), out);
    memcpy(&t, out, 2);
    cr_expect_eq(t, VMEM_RESP_ERROR);
    vmem_request(&m, in, 0, out);
    memcpy(&t, out, 2);
    cr_expect_eq(t, VMEM_RESP_ERROR);
    in[0] = VMEM_REQ_UNPLUG_ALL; /* needs only its type */
    vmem_request(&m, in, 2, out);
    memcpy(&t, out, 2);
    cr_expect_eq(t, VMEM_RESP_ACK);
    vmem_destroy(&m);
}

Test(virtio_mem, unplug_all_and_discard_failure)
{
    struct discards d = { 0 };
    struct vmem m;

    cr_assert_eq(vmem_init(&m, BASE, SIZE, SIZE, -1, record, &d), 0);
    cr_expect_eq(ask(&m, VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMEM_RESP_ACK);
    cr_expect_eq(d.n, 0, "nothing plugged, nothing to give back");
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 64 * BLOCK, 10, NULL), VMEM_RESP_ACK);
    d.fail = -EIO;
    cr_expect_eq(ask(&m, VMEM_REQ_UNPLUG, BASE + 64 * BLOCK, 10, NULL), VMEM_RESP_ERROR);
    cr_expect_eq(cfg64(&m, 40), 10 * BLOCK, "a block that could not be released stays plugged");
    cr_expect_eq(ask(&m, VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMEM_RESP_ERROR);
    d.fail = 0;
    cr_expect_eq(ask(&m, VMEM_REQ_UNPLUG_ALL, 0, 0, NULL), VMEM_RESP_ACK);
    cr_expect_eq(d.off, 0);
    cr_expect_eq(d.len, SIZE);
    cr_expect_eq(cfg64(&m, 40), 0);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 64 * BLOCK, 10, NULL), VMEM_RESP_ACK);
    vmem_reset(&m);
    cr_expect_eq(cfg64(&m, 40), 0);
    vmem_destroy(&m);
}

Test(virtio_mem, requested_size_changes)
{
    struct vmem m;

    cr_assert_eq(vmem_init(&m, BASE, SIZE, 0, -1, NULL, NULL), 0);
    cr_expect_eq(vmem_set_requested(&m, 0), -EEXIST);
    cr_expect_eq(vmem_set_requested(&m, SIZE + BLOCK), -EINVAL);
    cr_expect_eq(vmem_set_requested(&m, BLOCK + 4096), -EINVAL);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE, 1, NULL), VMEM_RESP_NACK);
    cr_expect_eq(vmem_set_requested(&m, 2 * BLOCK), 0);
    cr_expect_eq(cfg64(&m, 48), 2 * BLOCK);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE, 2, NULL), VMEM_RESP_ACK);
    /* Shrinking below what is plugged is allowed: the driver unplugs to match. */
    cr_expect_eq(vmem_set_requested(&m, 0), 0);
    cr_expect_eq(ask(&m, VMEM_REQ_PLUG, BASE + 4 * BLOCK, 1, NULL), VMEM_RESP_NACK);
    cr_expect_eq(ask(&m, VMEM_REQ_UNPLUG, BASE, 2, NULL), VMEM_RESP_ACK);
    vmem_destroy(&m);
}

/* --- the request ring --- */

#define RAM   (1u << 20)
#define QSZ   8
#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u
#define REQ   0x4000u
#define RESP  0x5000u

struct rig {
    uint8_t *ram;
    struct guest_mem gm;
    struct vring_req_ring r;
    struct vmem m;
    unsigned calls;
};

static void rig_init(struct rig *g)
{
    memset(g, 0, sizeof(*g));
    g->ram = aligned_alloc(4096, RAM);
    cr_assert_not_null(g->ram);
    memset(g->ram, 0, RAM);
    guest_mem_init(&g->gm);
    cr_assert_eq(guest_mem_add_zone(&g->gm, g->ram, RAM, -1), 0);
    g->r = (struct vring_req_ring){ .desc = DESC, .avail = AVAIL, .used = USED, .size = QSZ };
    cr_assert_eq(vmem_init(&g->m, BASE, SIZE, SIZE, -1, NULL, NULL), 0);
}

static void rig_fini(struct rig *g)
{
    vmem_destroy(&g->m);
    free(g->ram);
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

static void offer(struct rig *g, uint16_t head)
{
    uint16_t idx;

    memcpy(&idx, g->ram + AVAIL + 2, 2);
    memcpy(g->ram + AVAIL + 4 + 2u * (idx % QSZ), &head, 2);
    idx++;
    memcpy(g->ram + AVAIL + 2, &idx, 2);
}

static size_t answer(void *arg, const uint8_t *in, size_t len, uint8_t out[VRING_RESP_MAX])
{
    struct rig *g = arg;

    g->calls++;
    vmem_request(&g->m, in, len, out);
    return VMEM_RESP_SIZE;
}

static uint16_t used_idx(struct rig *g)
{
    uint16_t v;

    memcpy(&v, g->ram + USED + 2, 2);
    return v;
}

Test(vring_req, one_request_one_response)
{
    struct rig g;
    uint16_t t;
    uint32_t id, len;

    rig_init(&g);
    req(g.ram + REQ, VMEM_REQ_PLUG, BASE, 3);
    desc(&g, 0, REQ, VMEM_REQ_SIZE, 1, 1);
    desc(&g, 1, RESP, VMEM_RESP_SIZE, 2, 0);
    offer(&g, 0);
    cr_assert_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), 1);
    memcpy(&t, g.ram + RESP, 2);
    cr_expect_eq(t, VMEM_RESP_ACK);
    cr_expect_eq(g.m.plugged_size, 3 * BLOCK);
    cr_expect_eq(used_idx(&g), 1);
    memcpy(&id, g.ram + USED + 4, 4);
    memcpy(&len, g.ram + USED + 8, 4);
    cr_expect_eq(id, 0);
    cr_expect_eq(len, VMEM_RESP_SIZE);
    cr_expect_not(vring_req_pending(&g.gm, &g.r));
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), 0);
    rig_fini(&g);
}

Test(vring_req, malformed_chains_fail)
{
    struct rig g;

    rig_init(&g);
    /* No writable descriptor: nowhere to answer. */
    desc(&g, 0, REQ, VMEM_REQ_SIZE, 0, 0);
    offer(&g, 0);
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), -EFAULT);
    cr_expect_eq(g.calls, 0);
    rig_fini(&g);

    rig_init(&g);
    /* A response buffer too small for the answer. */
    desc(&g, 0, REQ, VMEM_REQ_SIZE, 1, 1);
    desc(&g, 1, RESP, 4, 2, 0);
    offer(&g, 0);
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), -EFAULT);
    cr_expect_eq(used_idx(&g), 0);
    rig_fini(&g);

    rig_init(&g);
    /* A loop, and a head past the ring. */
    desc(&g, 0, REQ, VMEM_REQ_SIZE, 1, 0);
    offer(&g, 0);
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), -EFAULT);
    rig_fini(&g);

    rig_init(&g);
    offer(&g, QSZ);
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), -EFAULT);
    rig_fini(&g);

    rig_init(&g);
    /* The request outside guest RAM. */
    desc(&g, 0, RAM - 8, VMEM_REQ_SIZE, 1, 1);
    desc(&g, 1, RESP, VMEM_RESP_SIZE, 2, 0);
    offer(&g, 0);
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 16, answer, &g), -EFAULT);
    rig_fini(&g);
}

Test(vring_req, budget_bounds_the_work)
{
    struct rig g;

    rig_init(&g);
    for (uint16_t i = 0; i < 4; i++) {
        req(g.ram + REQ + 32u * i, VMEM_REQ_STATE, BASE, 1);
        desc(&g, (uint16_t)(2 * i), REQ + 32u * i, VMEM_REQ_SIZE, 1, (uint16_t)(2 * i + 1));
        desc(&g, (uint16_t)(2 * i + 1), RESP + 16u * i, VMEM_RESP_SIZE, 2, 0);
        offer(&g, (uint16_t)(2 * i));
    }
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 3, answer, &g), 3);
    cr_expect(vring_req_pending(&g.gm, &g.r));
    cr_expect_eq(vring_req_process(&g.gm, &g.r, 3, answer, &g), 1);
    cr_expect_eq(used_idx(&g), 4);
    rig_fini(&g);
}

/* --- the region in the memory map --- */

Test(virtio_mem, guest_mem_region)
{
    static uint8_t ram[1 << 16], region[1 << 16];
    struct guest_mem gm;
    int r;

    guest_mem_init(&gm);
    cr_assert_eq(guest_mem_add_zone(&gm, ram, sizeof(ram), -1), 0);
    /* Below 4 GiB, below the end of RAM or unaligned: refused. */
    cr_expect_eq(guest_mem_add_vmem(&gm, 1ull << 30, region, sizeof(region), 7, 0), -EINVAL);
    cr_expect_eq(guest_mem_add_vmem(&gm, BASE + 1, region, sizeof(region), 7, 0), -EINVAL);
    r = guest_mem_add_vmem(&gm, BASE, region, sizeof(region), 7, 0);
    cr_assert_eq(r, 1);
    cr_expect(gm.regions[r].vmem);
    cr_expect_eq(gm.regions[r].fd, 7);
    /* Devices and KVM see it (a pointer into it), the boot map does not (size, high RAM). */
    cr_expect_eq(guest_mem_ptr(&gm, BASE + 16, 8), region + 16);
    cr_expect_eq(gm.size, sizeof(ram));
    cr_expect_eq(guest_mem_high_size(&gm), 0);
    cr_expect_eq(guest_mem_end(&gm), BASE + sizeof(region));
    /* Zones come before the virtio-mem regions, never after. */
    cr_expect_eq(guest_mem_add_zone(&gm, ram, sizeof(ram), -1), -EINVAL);
}
