/* PCI config space and MSI-X state without a VM: ECAM-style config access, BAR sizing and the
 * decode callbacks a device sees, capability chaining, MSI-X mask and pending bits. */
#include <criterion/criterion.h>

#include "core/platform.h"
#include "core/vm/msix.h"
#include "core/vm/pci.h"

struct seen {
    unsigned calls;
    uint64_t last;
};

static void mapped(struct pci_dev *d, unsigned bar, uint64_t addr)
{
    struct seen *s = d->opaque;

    (void)bar;
    s->calls++;
    s->last = addr;
}

static const struct pci_dev_ops ops = { .bar_mapped = mapped };

static void setup(struct pci_bus *b, struct pci_dev *d, struct seen *s)
{
    cr_assert_eq(pci_bus_init(b, 0x200000000ull, 0x300000000ull), 0);
    pci_dev_init(d, 0x1af4, 0x1042, 0x010000, 1, 0x1100, &ops, s);
    cr_assert_eq(pci_dev_add_bar(b, d, 0, 0x8000, true, false), 0);
    cr_assert_eq(pci_bus_add(b, d), 0);
}

Test(pci, host_bridge_and_absent_functions)
{
    struct pci_bus b;
    struct pci_dev d;
    struct seen s = { 0 };

    setup(&b, &d, &s);
    cr_expect_eq(pci_cfg_read(&b, 0, 0, 0, 0, 4), 0x00081b36u);
    cr_expect_eq(pci_cfg_read(&b, 0, 0, 0, 0x0a, 2), 0x0600); /* class: host bridge */
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0, 4), 0x10421af4u);
    cr_expect_eq(pci_cfg_read(&b, 0, 2, 0, 0, 4), 0xffffffffu);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 1, 0, 2), 0xffffu);
    cr_expect_eq(pci_cfg_read(&b, 1, 0, 0, 0, 4), 0xffffffffu);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0x100, 4), 0); /* no extended capabilities */
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 1, 2), 0xffffffffu & 0xffff); /* misaligned */
    pci_bus_destroy(&b);
}

Test(pci, bar_sizing_and_decode)
{
    struct pci_bus b;
    struct pci_dev d;
    struct seen s = { 0 };

    setup(&b, &d, &s);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0x10, 4), (uint32_t)GPA_MMIO32_START | 4);
    cr_expect_eq(s.calls, 0, "no decode before the memory bit");
    pci_cfg_write(&b, 0, 1, 0, 0x04, 2, 0x6);
    cr_expect_eq(s.calls, 1);
    cr_expect_eq(s.last, GPA_MMIO32_START);
    /* Sizing: all-ones reads back the size mask and stops the decode. */
    pci_cfg_write(&b, 0, 1, 0, 0x10, 4, 0xffffffffu);
    pci_cfg_write(&b, 0, 1, 0, 0x14, 4, 0xffffffffu);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0x10, 4), 0xffff8004u);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0x14, 4), 0xffffffffu);
    cr_expect_eq(s.last, PCI_BAR_UNMAPPED);
    /* The guest moves it inside the window. */
    pci_cfg_write(&b, 0, 1, 0, 0x10, 4, 0xd0000000u);
    pci_cfg_write(&b, 0, 1, 0, 0x14, 4, 0);
    cr_expect_eq(s.last, 0xd0000000ull);
    /* Reset puts it back home, decode off. */
    pci_bus_reset(&b);
    cr_expect_eq(s.last, PCI_BAR_UNMAPPED);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0x10, 4), (uint32_t)GPA_MMIO32_START | 4);
    pci_bus_destroy(&b);
}

Test(pci, read_only_fields_keep_their_value)
{
    struct pci_bus b;
    struct pci_dev d;
    struct seen s = { 0 };

    setup(&b, &d, &s);
    pci_cfg_write(&b, 0, 1, 0, 0, 4, 0);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0, 4), 0x10421af4u);
    pci_cfg_write(&b, 0, 1, 0, 0x3c, 1, 0x0b); /* interrupt line is scratch */
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0x3c, 1), 0x0b);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0x3d, 1), 0, "no interrupt pin: MSI-X only");
    pci_bus_destroy(&b);
}

Test(pci, msix_capability_and_masks)
{
    struct pci_bus b;
    struct pci_dev d;
    struct seen s = { 0 };
    struct msix m;
    uint64_t addr, val = 0;
    uint32_t data;
    uint8_t cap;

    setup(&b, &d, &s);
    cr_assert_eq(msix_init(&m, &d, 3, 0, 0x4000, 0x6000), 0);
    cap = (uint8_t)pci_cfg_read(&b, 0, 1, 0, 0x34, 1);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, cap, 1), 0x11);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, cap + 2, 2), 2, "table size - 1");
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, cap + 4, 4), 0x4000);
    cr_expect(msix_masked(&m, 0), "disabled at power-on");
    pci_cfg_write(&b, 0, 1, 0, cap + 2, 2, 0x8000);
    cr_expect(msix_sync_control(&m));
    cr_expect(msix_masked(&m, 0), "every vector masked at power-on");
    cr_expect_eq(msix_table_write(&m, 16 + 0, 4, 0xfee00000u), 1);
    msix_table_write(&m, 16 + 8, 4, 0x41);
    msix_table_write(&m, 16 + 12, 4, 0xfffffffeu); /* only the mask bit is writable */
    msix_table_read(&m, 16 + 12, 4, &val);
    cr_expect_eq(val, 0);
    cr_expect_not(msix_masked(&m, 1));
    msix_message(&m, 1, &addr, &data);
    cr_expect_eq(addr, 0xfee00000ull);
    cr_expect_eq(data, 0x41);
    msix_set_pending(&m, 2, true);
    msix_pba_read(&m, 0, 8, &val);
    cr_expect_eq(val, 4);
    cr_expect_eq(msix_table_write(&m, 3 * 16, 4, 0), -1, "beyond the table");
    pci_cfg_write(&b, 0, 1, 0, cap + 2, 2, 0xc000);
    cr_expect(msix_sync_control(&m));
    cr_expect(msix_masked(&m, 1), "function mask");
    pci_bus_destroy(&b);
}

/* A device that fills a capability field only when it is read (the virtio PCI_CFG window). */
static void refresh(struct pci_dev *d, uint32_t off, uint32_t len)
{
    struct seen *s = d->opaque;

    s->calls++;
    s->last = (uint64_t)off << 8 | len;
    d->cfg[off] = 0xa5;
}

static const struct pci_dev_ops refresh_ops = { .cfg_read = refresh };

Test(pci, cfg_read_hook_in_the_capability_area)
{
    struct pci_bus b;
    struct pci_dev d;
    struct seen s = { 0 };
    int c;

    cr_assert_eq(pci_bus_init(&b, 0x200000000ull, 0x300000000ull), 0);
    pci_dev_init(&d, 0x1af4, 0x1042, 0x010000, 1, 0x1100, &refresh_ops, &s);
    c = pci_dev_add_cap(&d, 0x09, 20);
    cr_assert_geq(c, PCI_CAP_START);
    cr_assert_eq(pci_bus_add(&b, &d), 0);
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, 0, 4), 0x10421af4u);
    cr_expect_eq(s.calls, 0, "the header is not the device's");
    cr_expect_eq(pci_cfg_read(&b, 0, 1, 0, (uint32_t)c + 16, 1), 0xa5);
    cr_expect_eq(s.calls, 1);
    cr_expect_eq(s.last, ((uint64_t)c + 16) << 8 | 1);
    pci_bus_destroy(&b);
}
