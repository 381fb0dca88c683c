#include "core/vm/virtio_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Request layout (5.15.6): le16 type, 6 bytes of padding, le64 addr, le16 nb_blocks. */
#define REQ_ADDR      8
#define REQ_NB_BLOCKS 16
/* Response layout: le16 type, 6 bytes of padding, le16 state. */
#define RESP_STATE 8

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int vmem_init(struct vmem *m, uint64_t addr, uint64_t size, uint64_t requested, int node,
              vmem_discard_fn discard, void *arg)
{
    memset(m, 0, sizeof(*m));
    if (!size || size > VMEM_MAX_REGION || size % VMEM_REGION_ALIGN || addr % VMEM_REGION_ALIGN ||
        addr > UINT64_MAX - size || requested > size || requested % VMEM_BLOCK_SIZE ||
        node > UINT16_MAX)
        return -EINVAL;
    m->nblocks = size / VMEM_BLOCK_SIZE;
    m->plugged = calloc((m->nblocks + 63) / 64, sizeof(uint64_t));
    if (!m->plugged)
        return -ENOMEM;
    m->addr = addr;
    m->region_size = m->usable_region_size = size;
    m->requested_size = requested;
    m->has_node = node >= 0;
    m->node_id = node >= 0 ? (uint16_t)node : 0;
    m->discard = discard;
    m->discard_arg = arg;
    return 0;
}

void vmem_destroy(struct vmem *m)
{
    free(m->plugged);
    m->plugged = NULL;
    m->nblocks = 0;
}

uint64_t vmem_features(const struct vmem *m)
{
    return m->has_node ? 1ull << VMEM_F_ACPI_PXM : 0;
}

void vmem_config(const struct vmem *m, uint8_t out[VMEM_CONFIG_SIZE])
{
    memset(out, 0, VMEM_CONFIG_SIZE);
    put_le(out + 0, VMEM_BLOCK_SIZE, 8);
    put_le(out + 8, m->node_id, 2);
    put_le(out + 16, m->addr, 8);
    put_le(out + 24, m->region_size, 8);
    put_le(out + 32, m->usable_region_size, 8);
    put_le(out + 40, m->plugged_size, 8);
    put_le(out + 48, m->requested_size, 8);
}

int vmem_set_requested(struct vmem *m, uint64_t size)
{
    if (size == m->requested_size)
        return -EEXIST;
    if (size > m->region_size || size % VMEM_BLOCK_SIZE)
        return -EINVAL;
    m->requested_size = size;
    return 0;
}

static bool test_bit(const struct vmem *m, uint64_t i)
{
    return m->plugged[i / 64] >> (i % 64) & 1;
}

/* Whether blocks [first, first + n) are all plugged (want) or all unplugged (!want). */
static bool range_is(const struct vmem *m, uint64_t first, uint64_t n, bool want)
{
    for (uint64_t i = first; i < first + n; i++)
        if (test_bit(m, i) != want)
            return false;
    return true;
}

static void set_range(struct vmem *m, uint64_t first, uint64_t n, bool plugged)
{
    for (uint64_t i = first; i < first + n; i++) {
        if (plugged)
            m->plugged[i / 64] |= 1ull << (i % 64);
        else
            m->plugged[i / 64] &= ~(1ull << (i % 64));
    }
}

/* The blocks a request names, when they lie wholly in the usable region; else false. */
static bool request_range(const struct vmem *m, uint64_t addr, uint64_t nb, uint64_t *first)
{
    if (!nb || addr < m->addr || (addr - m->addr) % VMEM_BLOCK_SIZE)
        return false;
    *first = (addr - m->addr) / VMEM_BLOCK_SIZE;
    return *first < m->usable_region_size / VMEM_BLOCK_SIZE &&
           nb <= m->usable_region_size / VMEM_BLOCK_SIZE - *first;
}

static int discard(struct vmem *m, uint64_t first, uint64_t n)
{
    return m->discard ? m->discard(m->discard_arg, first * VMEM_BLOCK_SIZE, n * VMEM_BLOCK_SIZE)
                      : 0;
}

static uint16_t plug(struct vmem *m, uint64_t addr, uint64_t nb, bool on)
{
    uint64_t first;

    /* requested_size may have shrunk below plugged_size: no plug until the driver caught up. */
    if (on && (m->plugged_size > m->requested_size ||
               nb * VMEM_BLOCK_SIZE > m->requested_size - m->plugged_size))
        return VMEM_RESP_NACK;
    if (!request_range(m, addr, nb, &first) || !range_is(m, first, nb, !on))
        return VMEM_RESP_ERROR;
    if (!on && discard(m, first, nb))
        return VMEM_RESP_ERROR; /* the blocks stay plugged: nothing was lost */
    set_range(m, first, nb, on);
    if (on)
        m->plugged_size += nb * VMEM_BLOCK_SIZE;
    else
        m->plugged_size -= nb * VMEM_BLOCK_SIZE;
    return VMEM_RESP_ACK;
}

static uint16_t unplug_all(struct vmem *m)
{
    if (m->plugged_size && discard(m, 0, m->nblocks))
        return VMEM_RESP_ERROR;
    memset(m->plugged, 0, (m->nblocks + 63) / 64 * sizeof(uint64_t));
    m->plugged_size = 0;
    return VMEM_RESP_ACK;
}

static uint16_t state(const struct vmem *m, uint64_t addr, uint64_t nb, uint16_t *st)
{
    uint64_t first;

    if (!request_range(m, addr, nb, &first))
        return VMEM_RESP_ERROR;
    *st = range_is(m, first, nb, true)    ? VMEM_STATE_PLUGGED
          : range_is(m, first, nb, false) ? VMEM_STATE_UNPLUGGED
                                          : VMEM_STATE_MIXED;
    return VMEM_RESP_ACK;
}

void vmem_request(struct vmem *m, const uint8_t *in, size_t len, uint8_t out[VMEM_RESP_SIZE])
{
    uint16_t type = len >= 2 ? (uint16_t)get_le(in, 2) : UINT16_MAX, resp, st = 0;
    uint64_t addr = len >= VMEM_REQ_SIZE ? get_le(in + REQ_ADDR, 8) : 0;
    uint64_t nb = len >= VMEM_REQ_SIZE ? get_le(in + REQ_NB_BLOCKS, 2) : 0;

    if (len < VMEM_REQ_SIZE && type != VMEM_REQ_UNPLUG_ALL)
        type = UINT16_MAX; /* UNPLUG_ALL needs only its type */
    switch (type) {
    case VMEM_REQ_PLUG:
    case VMEM_REQ_UNPLUG:
        resp = plug(m, addr, nb, type == VMEM_REQ_PLUG);
        break;
    case VMEM_REQ_UNPLUG_ALL:
        resp = unplug_all(m);
        break;
    case VMEM_REQ_STATE:
        resp = state(m, addr, nb, &st);
        break;
    default:
        resp = VMEM_RESP_ERROR;
        break;
    }
    memset(out, 0, VMEM_RESP_SIZE);
    put_le(out, resp, 2);
    put_le(out + RESP_STATE, st, 2);
}

void vmem_reset(struct vmem *m)
{
    (void)unplug_all(m);
}
