#include "core/vm/msix.h"

#include <errno.h>
#include <string.h>

#include "ipc/le.h"

#define PCI_CAP_ID_MSIX  0x11
#define MSIX_CAP_LEN     12
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK  0x4000
#define MSIX_VEC_MASKED  1u

int msix_init(struct msix *m, struct pci_dev *d, uint16_t nvec, unsigned bar, uint32_t table_off,
              uint32_t pba_off)
{
    int off;

    if (!nvec || nvec > MSIX_MAX_VECTORS || (table_off | pba_off) & 7 || bar >= PCI_NUM_BARS)
        return -EINVAL;
    off = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
    if (off < 0)
        return off;
    memset(m, 0, sizeof(*m));
    m->nvec = nvec;
    m->ctrl = d->cfg + off + 2;
    le_put16(m->ctrl, (uint16_t)(nvec - 1));
    d->wmask[off + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
    le_put32(d->cfg + off + 4, table_off | bar);
    le_put32(d->cfg + off + 8, pba_off | bar);
    msix_reset(m);
    return 0;
}

static uint32_t entry_word(const struct msix *m, uint16_t v, unsigned w)
{
    return le_get32(m->table[v] + 4 * w);
}

bool msix_masked(const struct msix *m, uint16_t v)
{
    return v >= m->nvec || !m->enabled || m->fmask || (entry_word(m, v, 3) & MSIX_VEC_MASKED);
}

void msix_message(const struct msix *m, uint16_t v, uint64_t *addr, uint32_t *data)
{
    *addr = v < m->nvec ? entry_word(m, v, 0) | (uint64_t)entry_word(m, v, 1) << 32 : 0;
    *data = v < m->nvec ? entry_word(m, v, 2) : 0;
}

void msix_table_read(const struct msix *m, uint64_t off, uint32_t len, uint64_t *val)
{
    uint64_t v = 0;

    if ((len != 4 && len != 8) || off % len || off >= (uint64_t)m->nvec * MSIX_ENTRY_SIZE)
        return;
    for (uint32_t i = 0; i < len; i++)
        v |= (uint64_t)m->table[off / MSIX_ENTRY_SIZE][off % MSIX_ENTRY_SIZE + i] << (8 * i);
    *val = v;
}

int msix_table_write(struct msix *m, uint64_t off, uint32_t len, uint64_t val)
{
    uint8_t *e;

    if ((len != 4 && len != 8) || off % len || off >= (uint64_t)m->nvec * MSIX_ENTRY_SIZE)
        return -1;
    e = m->table[off / MSIX_ENTRY_SIZE];
    for (uint32_t i = 0; i < len; i++) {
        unsigned b = (unsigned)(off % MSIX_ENTRY_SIZE) + i;

        /* Vector control: only the mask bit is writable. */
        if (b >= 12)
            e[b] = b == 12 ? (uint8_t)((val >> (8 * i)) & MSIX_VEC_MASKED) : 0;
        else
            e[b] = (uint8_t)(val >> (8 * i));
    }
    return (int)(off / MSIX_ENTRY_SIZE);
}

void msix_pba_read(const struct msix *m, uint64_t off, uint32_t len, uint64_t *val)
{
    uint64_t word;

    if ((len != 4 && len != 8) || off % len || off / 8 >= sizeof(m->pba) / sizeof(m->pba[0]))
        return;
    word = m->pba[off / 8];
    *val = len == 8 ? word : (uint32_t)(word >> (8 * (off % 8)));
}

void msix_set_pending(struct msix *m, uint16_t v, bool pending)
{
    if (v >= m->nvec)
        return;
    if (pending)
        m->pba[v / 64] |= 1ull << (v % 64);
    else
        m->pba[v / 64] &= ~(1ull << (v % 64));
}

bool msix_pending(const struct msix *m, uint16_t v)
{
    return v < m->nvec && (m->pba[v / 64] >> (v % 64)) & 1;
}

bool msix_sync_control(struct msix *m)
{
    uint16_t c = (uint16_t)(m->ctrl[0] | m->ctrl[1] << 8);
    bool en = c & MSIX_CTRL_ENABLE, fm = c & MSIX_CTRL_FMASK;
    bool changed = en != m->enabled || fm != m->fmask;

    m->enabled = en;
    m->fmask = fm;
    return changed;
}

void msix_reset(struct msix *m)
{
    memset(m->table, 0, sizeof(m->table));
    for (uint16_t v = 0; v < m->nvec; v++)
        m->table[v][12] = MSIX_VEC_MASKED;
    memset(m->pba, 0, sizeof(m->pba));
    m->ctrl[1] &= (uint8_t) ~((MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8);
    m->enabled = false;
    m->fmask = false;
}
