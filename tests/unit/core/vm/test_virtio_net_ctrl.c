/* virtio-net control queue served by the core: commands reach the callback with their data,
 * the ack byte and the used ring are written, and malformed rings (loops, bad heads, runaway
 * indexes, descriptors outside RAM) fail with -EFAULT instead of spinning. Guest RAM is a
 * plain buffer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem/guest_mem.h"
#include "core/vm/virtio_net_ctrl.h"
#include "ipc/dirty_log.h"

#define RAM   (1u << 20)
#define QSZ   8
#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u

struct rig {
    uint8_t *ram;
    struct guest_mem gm;
    struct vnet_ctrl_ring r;
    unsigned calls;
    uint8_t cls, cmd, data[VNET_CTRL_DATA_MAX];
    size_t len;
    uint8_t answer;
};

static void rig_init(struct rig *g)
{
    memset(g, 0, sizeof(*g));
    g->ram = aligned_alloc(4096, RAM);
    cr_assert_not_null(g->ram);
    memset(g->ram, 0, RAM);
    guest_mem_init(&g->gm);
    cr_assert_eq(guest_mem_add_zone(&g->gm, g->ram, RAM, -1), 0);
    g->r = (struct vnet_ctrl_ring){ .desc = DESC, .avail = AVAIL, .used = USED, .size = QSZ };
    g->answer = VNET_CTRL_OK;
}

static void put16(struct rig *g, uint64_t gpa, uint16_t v)
{
    memcpy(g->ram + gpa, &v, 2);
}

static uint16_t get16(struct rig *g, uint64_t gpa)
{
    uint16_t v;

    memcpy(&v, g->ram + gpa, 2);
    return v;
}

static uint32_t get32(struct rig *g, uint64_t gpa)
{
    uint32_t v;

    memcpy(&v, g->ram + gpa, 4);
    return v;
}

static void put_desc(struct rig *g, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *p = g->ram + table + 16ull * i;

    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

/* Makes avail entry `slot` point at head and publishes idx. */
static void offer(struct rig *g, uint16_t slot, uint16_t head, uint16_t idx)
{
    put16(g, AVAIL + 4 + 2u * (slot % QSZ), head);
    put16(g, AVAIL + 2, idx);
}

static uint8_t cb(void *arg, uint8_t cls, uint8_t cmd, const uint8_t *data, size_t len)
{
    struct rig *g = arg;

    g->calls++;
    g->cls = cls;
    g->cmd = cmd;
    g->len = len;
    memcpy(g->data, data, len);
    return g->answer;
}

/* The Linux driver's layout: header, data, ack, chained. */
static void mq_chain(struct rig *g, uint64_t table, unsigned first, uint16_t pairs)
{
    g->ram[0x5000] = VNET_CTRL_MQ;
    g->ram[0x5001] = VNET_CTRL_MQ_PAIRS_SET;
    put16(g, 0x5100, pairs);
    g->ram[0x5200] = 0xee;
    put_desc(g, table, first, 0x5000, 2, 1, (uint16_t)(first + 1));
    put_desc(g, table, first + 1, 0x5100, 2, 1, (uint16_t)(first + 2));
    put_desc(g, table, first + 2, 0x5200, 1, 2, 0);
}

Test(vnet_ctrl, mq_command_acked_and_used)
{
    struct rig g;

    rig_init(&g);
    mq_chain(&g, DESC, 2, 3);
    offer(&g, 0, 2, 1);
    cr_assert_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), 1);
    cr_expect_eq(g.calls, 1);
    cr_expect_eq(g.cls, VNET_CTRL_MQ);
    cr_expect_eq(g.cmd, VNET_CTRL_MQ_PAIRS_SET);
    cr_expect_eq(g.len, 2);
    cr_expect_eq(g.data[0], 3);
    cr_expect_eq(g.ram[0x5200], VNET_CTRL_OK);
    cr_expect_eq(get16(&g, USED + 2), 1);
    cr_expect_eq(get32(&g, USED + 4), 2, "used id is the head");
    cr_expect_eq(get32(&g, USED + 8), 1, "one byte written");
    cr_expect_eq(g.r.last_avail, 1);
    cr_expect_not(vnet_ctrl_pending(&g.gm, &g.r));
    free(g.ram);
}

/* A live migration's log set (vm_dirty.h): the ack's page and the used ring's are marked, the
 * pages only read (header, data, rings the driver writes) are not. */
Test(vnet_ctrl, writes_marked_in_the_dirty_log)
{
    uint8_t log[RAM / 4096 / 8] = { 0 };
    struct rig g;

    rig_init(&g);
    g.gm.dirty_log_size = sizeof(log);
    g.gm.dirty_log = log;
    mq_chain(&g, DESC, 2, 3);
    g.ram[0x5200] = 0xee;
    put_desc(&g, DESC, 4, 0x7200, 1, 2, 0); /* the ack on its own page */
    offer(&g, 0, 2, 1);
    cr_assert_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), 1);
    for (uint64_t p = 0; p < RAM / 4096; p++)
        cr_expect_eq(dirty_log_test(log, sizeof(log), p), p == USED / 4096 || p == 7, "page %lu",
                     p);
    free(g.ram);
}

Test(vnet_ctrl, indirect_table_and_error_ack)
{
    struct rig g;

    rig_init(&g);
    g.answer = VNET_CTRL_ERR;
    mq_chain(&g, 0x6000, 0, 9);
    put_desc(&g, DESC, 0, 0x6000, 3 * 16, 4, 0);
    offer(&g, 0, 0, 1);
    cr_assert_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), 1);
    cr_expect_eq(g.data[0], 9);
    cr_expect_eq(g.ram[0x5200], VNET_CTRL_ERR);
    free(g.ram);
}

Test(vnet_ctrl, event_idx_publishes_avail_event)
{
    struct rig g;

    rig_init(&g);
    g.r.event_idx = true;
    mq_chain(&g, DESC, 0, 1);
    offer(&g, 0, 0, 1);
    cr_assert_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), 1);
    cr_expect_eq(get16(&g, USED + 4 + 8 * QSZ), 1);
    free(g.ram);
}

Test(vnet_ctrl, descriptor_loop_fails)
{
    struct rig g;

    rig_init(&g);
    put_desc(&g, DESC, 0, 0x5000, 2, 1, 0); /* next is itself */
    offer(&g, 0, 0, 1);
    cr_expect_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), -EFAULT);
    cr_expect_eq(g.calls, 0);
    cr_expect_eq(get16(&g, USED + 2), 0);
    free(g.ram);
}

Test(vnet_ctrl, bad_heads_indexes_and_addresses_fail)
{
    struct rig g;

    rig_init(&g);
    offer(&g, 0, QSZ, 1); /* head outside the table */
    cr_expect_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), -EFAULT);
    put16(&g, AVAIL + 2, QSZ + 1); /* more new entries than the ring holds */
    cr_expect_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), -EFAULT);
    put_desc(&g, DESC, 0, RAM - 1, 64, 0, 0); /* data past the end of RAM */
    offer(&g, 0, 0, 1);
    cr_expect_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), -EFAULT);
    put_desc(&g, DESC, 0, 0x6000, 17, 4, 0); /* indirect length not a multiple of 16 */
    cr_expect_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), -EFAULT);
    g.r.size = 6; /* not a power of two */
    cr_expect_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), -EFAULT);
    cr_expect_eq(g.calls, 0);
    free(g.ram);
}

Test(vnet_ctrl, short_chain_gets_an_error_ack)
{
    struct rig g;

    rig_init(&g);
    g.ram[0x5200] = 0xee;
    put_desc(&g, DESC, 0, 0x5000, 1, 1, 1); /* one header byte only */
    put_desc(&g, DESC, 1, 0x5200, 1, 2, 0);
    offer(&g, 0, 0, 1);
    cr_assert_eq(vnet_ctrl_process(&g.gm, &g.r, cb, &g), 1);
    cr_expect_eq(g.calls, 0);
    cr_expect_eq(g.ram[0x5200], VNET_CTRL_ERR);
    free(g.ram);
}
