/* The passed-through function as the guest sees it, without KVM: config space built from the
 * fake device, BAR sizing and placement, memory slots following the BAR (through a stand-in for
 * KVM_SET_USER_MEMORY_REGION), trapped BAR accesses, and MSI/MSI-X enables turned into SET_IRQS
 * with the right eventfds. KVM calls on vm_fd -1 simply fail (routes, irqfds). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/vm/vfio_pci.h"
#include "core/vm/vm_numa.h"
#include "tests/unit/core/vm/vfu_harness.h"

#define RAM_SIZE (2u << 20)

struct slot_call {
    uint32_t slot;
    uint64_t gpa, size;
};

/* The stand-in has no context argument: KVM's has none either. */
static struct slot_call calls[64];
static unsigned ncalls;

static int fake_set_slot(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
    (void)vm_fd;
    (void)host;
    if (ncalls < 64)
        calls[ncalls] = (struct slot_call){ slot, gpa, size };
    ncalls++;
    return 0;
}

struct rig {
    struct vfu_harness h;
    struct pci_bus bus;
    struct gsi_table gsi;
    struct guest_mem mem;
    uint8_t *ram;
    int ram_fd;
    struct log log;
    struct vfio_pci_ctx ctx;
    struct vfio_pci_dev d;
};

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* An NVMe-like function: BAR0 32-bit, BAR2 prefetchable holding the MSI-X table and PBA,
 * BAR4 an I/O BAR; capabilities vendor (hidden), MSI 64-bit, MSI-X 8 vectors, PCIe v2. */
static void shape_device(uint8_t *c)
{
    c[6] = 0x10; /* capability list */
    c[8] = 0x10; /* revision */
    c[9] = 0x02;
    c[10] = 0x08;
    c[11] = 0x01;
    put32(c + 0x10, 0);
    put32(c + 0x18, 0x8);
    put32(c + 0x20, 0x1);
    put32(c + 0x2c, 0x11001af4);
    c[0x34] = 0x40;
    c[0x40] = 0x09;
    c[0x41] = 0x50;
    c[0x50] = 0x05;
    c[0x51] = 0x60;
    c[0x52] = 0x80; /* 64-bit */
    c[0x60] = 0x11;
    c[0x61] = 0x70;
    c[0x62] = 7; /* 8 vectors */
    put32(c + 0x64, 0x0 | 2);
    put32(c + 0x68, 0x80 | 2);
    c[0x70] = 0x10;
    c[0x71] = 0;
    c[0x72] = 0x02;              /* version 2, endpoint */
    put32(c + 0x7c, 0x12345678); /* link capabilities */
}

static void rig_up(struct rig *g)
{
    char err[200] = "";
    struct vfio_pci_params p = { .id = "nv0" };

    memset(g, 0, sizeof(*g));
    ncalls = 0;
    p.sock = harness_start(&g->h);
    shape_device(g->h.dev.cfg);
    cr_assert_eq(pci_bus_init(&g->bus, 0x200000000ull, 0x300000000ull), 0);
    /* A routing table that never reached KVM: GSIs allocate, commits fail on fd -1. */
    g->gsi.vm_fd = -1;
    pthread_mutex_init(&g->gsi.lock, NULL);
    g->ram_fd = memfd_create("ram", MFD_CLOEXEC);
    cr_assert_eq(ftruncate(g->ram_fd, RAM_SIZE), 0);
    g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g->ram_fd, 0);
    cr_assert_neq(g->ram, MAP_FAILED);
    guest_mem_init(&g->mem);
    cr_assert_geq(guest_mem_add_zone(&g->mem, g->ram, RAM_SIZE, g->ram_fd), 0);
    log_init(&g->log, open("/dev/null", O_WRONLY | O_CLOEXEC), 3);
    vfio_pci_ctx_init(&g->ctx, -1, &g->gsi, &g->mem, &g->log, &g->bus);
    g->ctx.set_slot = fake_set_slot;
    cr_assert_eq(vfio_pci_init(&g->d, &g->ctx, &p, err, sizeof(err)), 0, "%s", err);
}

static void rig_down(struct rig *g)
{
    vfio_pci_destroy(&g->d);
    harness_stop(&g->h);
    munmap(g->ram, RAM_SIZE);
    close(g->ram_fd);
    close(g->log.fd);
    pci_bus_destroy(&g->bus);
}

static uint32_t rd(struct rig *g, uint32_t reg, uint32_t len)
{
    return pci_cfg_read(&g->bus, 0, g->d.pci.slot, 0, reg, len);
}

static void wr(struct rig *g, uint32_t reg, uint32_t len, uint32_t v)
{
    pci_cfg_write(&g->bus, 0, g->d.pci.slot, 0, reg, len, v);
}

/* The guest's capability list: ids into ids[], offsets into offs[]; returns the count. */
static unsigned walk(struct rig *g, uint8_t *ids, uint8_t *offs)
{
    unsigned n = 0;

    for (uint32_t at = rd(g, 0x34, 1); at && n < 16; at = rd(g, at + 1, 1)) {
        ids[n] = (uint8_t)rd(g, at, 1);
        offs[n++] = (uint8_t)at;
    }
    return n;
}

static uint8_t cap_at(struct rig *g, uint8_t id)
{
    uint8_t ids[16], offs[16];
    unsigned n = walk(g, ids, offs);

    for (unsigned i = 0; i < n; i++)
        if (ids[i] == id)
            return offs[i];
    return 0;
}

Test(vfio_pci, config_space_as_the_guest_sees_it)
{
    struct rig g;
    uint8_t ids[16], offs[16];
    unsigned n;
    uint8_t pcie;

    rig_up(&g);
    cr_expect_eq(rd(&g, 0, 4), 0x11e81234u);
    cr_expect_eq(rd(&g, 0x08, 4), 0x01080210u, "class and revision from the device");
    cr_expect_eq(rd(&g, 0x2c, 4), 0x11001af4u, "subsystem from the device");
    cr_expect_eq(rd(&g, 0x3d, 1), 0, "no INTx pin");
    n = walk(&g, ids, offs);
    cr_assert_eq(n, 3, "vendor capability hidden");
    cr_expect_eq(ids[0], 0x05);
    cr_expect_eq(ids[1], 0x11);
    cr_expect_eq(ids[2], 0x10);
    pcie = offs[2];
    cr_expect_eq((rd(&g, pcie + 2, 2) >> 4) & 0xf, 9, "a root-complex integrated endpoint");
    cr_expect_eq(rd(&g, pcie + 0x0c, 4), 0, "no link");
    wr(&g, pcie + 8, 2, 0xffff);
    cr_expect_eq(rd(&g, pcie + 8, 2), 0, "read-only");
    cr_expect_eq(rd(&g, offs[0] + 2, 2), 0x80, "MSI: 64-bit, one vector, no mask bits");
    cr_expect_eq(rd(&g, offs[1] + 2, 2), 7, "MSI-X: 8 vectors");
    cr_expect_eq(rd(&g, offs[1] + 4, 4), 2u, "table in BAR 2 at 0");
    cr_expect_eq(rd(&g, 0x100, 4), 0, "extended space hidden");
    cr_expect_eq(g.h.dev.nmap_calls, 1, "guest RAM mapped for DMA");
    cr_expect_eq(g.h.dev.map_calls[0].iova, 0);
    cr_expect_eq(g.h.dev.map_calls[0].size, RAM_SIZE);
    rig_down(&g);
}

Test(vfio_pci, bar_sizing_and_memory_slots)
{
    struct rig g;
    uint32_t bar0, bar2;

    rig_up(&g);
    bar0 = rd(&g, 0x10, 4);
    bar2 = rd(&g, 0x18, 4);
    cr_expect_eq(bar2 & 0xf, 0x8, "prefetchable kept");
    cr_expect_eq(rd(&g, 0x20, 4), 0, "I/O BAR left out");
    cr_expect_eq(rd(&g, 0x30, 4), 0, "no ROM");
    wr(&g, 0x10, 4, 0xffffffff);
    cr_expect_eq(rd(&g, 0x10, 4), 0xfffff000u);
    wr(&g, 0x18, 4, 0xffffffff);
    cr_expect_eq(rd(&g, 0x18, 4), 0xfffff008u, "256-byte BAR shown as a page");
    wr(&g, 0x10, 4, bar0);
    wr(&g, 0x18, 4, bar2);
    cr_expect_eq(ncalls, 0, "nothing decodes yet");
    wr(&g, 0x04, 2, 0x0006);
    cr_expect_eq(g.h.dev.cfg[4] | g.h.dev.cfg[5] << 8, 0x0406, "memory, master, INTx off");
    cr_assert_eq(ncalls, 1, "BAR0 mapped, BAR2 (no mmap) trapped");
    cr_expect_eq(calls[0].slot, VFIO_SLOT_FIRST);
    cr_expect_eq(calls[0].gpa, bar0 & ~0xfu);
    cr_expect_eq(calls[0].size, FAKE_BAR0_SIZE);
    cr_expect_eq(g.h.dev.cfg[0x10], 0, "BAR registers never reach the device");
    /* The guest moves BAR0 onto BAR2: the slot goes, no new one over another BAR. */
    wr(&g, 0x10, 4, bar2 & ~0xfu);
    cr_assert_eq(ncalls, 2);
    cr_expect_eq(calls[1].size, 0);
    wr(&g, 0x10, 4, bar0);
    cr_assert_eq(ncalls, 3);
    cr_expect_eq(calls[2].gpa, bar0 & ~0xfu);
    wr(&g, 0x04, 2, 0x0004);
    cr_assert_eq(ncalls, 4, "memory decoding off removes the slot");
    cr_expect_eq(calls[3].size, 0);
    cr_expect_eq(g.h.dev.cfg[4], 0x04);
    wr(&g, 0x04, 2, 0x0006);
    cr_assert_eq(ncalls, 5);
    rig_down(&g);
    cr_expect_eq(ncalls, 6, "teardown deletes the slot");
    cr_expect_eq(calls[5].size, 0);
}

Test(vfio_pci, trapped_bar_accesses)
{
    struct rig g;
    uint64_t v = 0;
    const struct pci_dev_ops *ops;

    rig_up(&g);
    ops = g.d.pci.ops;
    g.h.dev.bar2[0xc8] = 0xab;
    ops->bar_read(&g.d.pci, 2, 0xc8, 1, &v);
    cr_expect_eq(v, 0xab, "forwarded with REGION_READ");
    ops->bar_read(&g.d.pci, 2, 0x200, 4, &v);
    cr_expect_eq(v, 0xffffffffu, "past the device's region");
    ops->bar_write(&g.d.pci, 2, 0xd0, 4, 0x01020304);
    cr_expect_eq(g.h.dev.bar2[0xd0], 0x04);
    /* The MSI-X table is the core's, never the device's. */
    ops->bar_write(&g.d.pci, 2, 0x10, 4, 0xfee00000);
    cr_expect_eq(g.h.dev.bar2[0x10], 0);
    ops->bar_read(&g.d.pci, 2, 0x10, 4, &v);
    cr_expect_eq(v, 0xfee00000);
    ops->bar_read(&g.d.pci, 2, 0x1c, 4, &v);
    cr_expect_eq(v, 1, "vectors start masked");
    rig_down(&g);
}

Test(vfio_pci, msix_enable_hands_eventfds)
{
    struct rig g;
    uint8_t msix;
    unsigned n0;
    uint64_t v = 0, one = 1;

    rig_up(&g);
    msix = cap_at(&g, 0x11);
    cr_assert_neq(msix, 0);
    g.d.cl.caps.max_msg_fds = 3; /* split into 3 + 3 + 2 */
    n0 = g.h.dev.nirq_calls;
    wr(&g, msix + 2, 2, 0x8000);
    cr_assert_eq(g.h.dev.nirq_calls, n0 + 3);
    for (unsigned k = 0; k < 3; k++) {
        const struct fake_irq_call *c = &g.h.dev.irq_calls[n0 + k];

        cr_expect_eq(c->flags, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER);
        cr_expect_eq(c->index, VFU_PCI_MSIX_IRQ_INDEX);
        cr_expect_eq(c->start, 3 * k);
        cr_expect_eq(c->nfds_valid, k < 2 ? 3u : 2u);
    }
    /* A masked vector's signal shows in the PBA. */
    cr_assert_eq(write(g.d.irq_fd[3], &one, sizeof(one)), sizeof(one));
    g.d.pci.ops->bar_read(&g.d.pci, 2, 0x80, 8, &v);
    cr_expect_eq(v, 1u << 3);
    wr(&g, msix + 2, 2, 0x0000);
    cr_assert_eq(g.h.dev.nirq_calls, n0 + 4);
    cr_expect_eq(g.h.dev.irq_calls[n0 + 3].flags,
                 VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER);
    cr_expect_eq(g.h.dev.irq_calls[n0 + 3].count, 0);
    rig_down(&g);
}

Test(vfio_pci, msi_enable_and_reset)
{
    struct rig g;
    uint8_t msi;
    unsigned n0;

    rig_up(&g);
    msi = cap_at(&g, 0x05);
    cr_assert_neq(msi, 0);
    wr(&g, msi + 4, 4, 0xfee00000);
    wr(&g, msi + 12, 2, 0x41);
    cr_expect_eq(rd(&g, msi + 12, 2), 0x41);
    n0 = g.h.dev.nirq_calls;
    wr(&g, msi + 2, 2, 0x0001);
    cr_assert_eq(g.h.dev.nirq_calls, n0 + 1);
    cr_expect_eq(g.h.dev.irq_calls[n0].index, VFU_PCI_MSI_IRQ_INDEX);
    cr_expect_eq(g.h.dev.irq_calls[n0].count, 1);
    cr_expect_eq(g.h.dev.irq_calls[n0].nfds_valid, 1);
    wr(&g, 0x04, 2, 0x0006);
    pci_bus_reset(&g.bus);
    cr_expect_eq(vfio_pci_reset(&g.d), 0, "a device without reset is fine");
    cr_expect_eq(g.h.dev.nirq_calls, n0 + 2, "interrupts disabled on reset");
    cr_expect_eq(g.h.dev.irq_calls[n0 + 1].count, 0);
    cr_expect_eq(rd(&g, msi + 2, 2) & 1, 0);
    cr_expect_eq(g.h.dev.cfg[4] & 0x06, 0, "the device stops decoding and mastering");
    rig_down(&g);
}

/* nv0 sits in slot 7; every other device is gone. */
static int slot_of_nv0(const void *arg, const char *id)
{
    (void)arg;
    return strcmp(id, "nv0") ? -1 : 7;
}

Test(vfio_pci, numa_generic_initiator_finds_vfio_devices)
{
    const struct vpci_params virtio[1] = { { .id = "disk0" } };
    const struct vfio_pci_params vfio[2] = { { .id = "edu0" }, { .id = "nv0" } };
    const uint32_t cpu_node[1] = { 0 }, zone_node[1] = { 0 };
    const uint8_t dist[4] = { 10, 20, 20, 10 };
    const struct vm_numa_initiator gi[2] = { { "nv0", 1 }, { "disk0", 1 } };
    struct vm_numa src = { .nnodes = 2,
                           .cpu_node = cpu_node,
                           .zone_node = zone_node,
                           .distances = dist,
                           .initiators = gi,
                           .ninitiators = 2 };
    const struct vm_numa_initiator bad[1] = { { "nope", 1 } };
    struct vm_numa_state s;
    struct guest_mem gm;
    struct acpi_mem_range ranges[GUEST_MEM_MAX_REGIONS];
    struct acpi_pci_initiator out[ACPI_MAX_INITIATORS];
    struct acpi_params ap = { 0 };

    guest_mem_init(&gm);
    cr_assert_eq(vm_numa_copy(&s, &src, 1, 1, virtio, 1, vfio, 2), 0);
    cr_expect_str_eq(s.initiators[0].id, "nv0");
    cr_expect_str_eq(s.initiators[1].id, "disk0");
    vm_numa_acpi(&s, &gm, slot_of_nv0, NULL, ranges, out, &ap);
    cr_assert_eq(ap.ninitiators, 1, "disk0 is gone (hot-removed): left out");
    cr_expect_eq(out[0].dev, 7, "the vfio function's slot");
    cr_expect_eq(out[0].node, 1);
    vm_numa_free(&s);
    src.initiators = bad;
    src.ninitiators = 1;
    cr_expect_eq(vm_numa_copy(&s, &src, 1, 1, virtio, 1, vfio, 2), -ENOENT);
}
