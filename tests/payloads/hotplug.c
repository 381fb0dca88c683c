/*
 * ACPI PCI hotplug seen from a guest without ACPI (issue 16): the GED's PCI bit, the \_SB_.PHPR
 * registers (PCIU, PCID read-to-clear, B0EJ, PSEG) and ECAM, driven by a runner that hot-adds a
 * virtio-blk disk (case hotplug) or a virtio-pmem file (case hotplug-pmem) through the API and
 * then asks for its removal (tests/kvm/cellvm-cases.sh). The guest does what the DSDT's PSCN and
 * _EJ0 would do:
 *
 *   "ready hotplug"      registers idle, a B0EJ of an empty slot and an out-of-range PSEG ignored
 *   "added slot = N"     GED 0x4 came, PCIU named slot N (and read 0 after), ECAM: 1af4:1042
 *                        (virtio-blk) or 1af4:105b (virtio-pmem, "added pmem slot = N" first)
 *   "eject slot = N"     GED 0x4 again, PCID named slot N; PSEG=0 and B0EJ=that bit written
 *   "gone slot = N"      the slot's ECAM reads all ones
 *   PASS after the power button (the runner presses it once it saw the removal on the host).
 *
 * Every wait is bounded by the TSC (KVM's frequency leaf), 20 s each.
 */
#include "lib.h"

#include "core/platform.h"

#define PHPR_PCIU    (GPA_PCI_HOTPLUG_START + 0)
#define PHPR_PCID    (GPA_PCI_HOTPLUG_START + 4)
#define PHPR_B0EJ    (GPA_PCI_HOTPLUG_START + 8)
#define PHPR_PSEG    (GPA_PCI_HOTPLUG_START + 12)

#define EMPTY_SLOT   30u         /* nothing is ever plugged there in this test */
#define VIRTIO_BLK   0x10421af4u /* device 0x1042 (modern virtio-blk), vendor 0x1af4 */
#define VIRTIO_PMEM  0x105b1af4u /* device 0x105b (virtio-pmem, id 27): case hotplug-pmem */
#define WAIT_SECONDS 20u

static uint64_t tsc_per_sec;

static void clock_init(void)
{
    uint32_t khz = 0;

    if (cpuid(0x40000000, 0).eax >= 0x40000010)
        khz = cpuid(0x40000010, 0).eax;
    /* Without the leaf assume a fast TSC: the bound only grows. */
    tsc_per_sec = (uint64_t)(khz > 100000 ? khz : 5000000) * 1000;
}

static uint32_t ecam_id(unsigned slot)
{
    return mmio_read32(GPA_ECAM_START + ((uint64_t)slot << 15));
}

/* Polls the GED register (reads clear it) until one of bits shows; the bits seen, or 0 after
 * WAIT_SECONDS. Other bits seen on the way are kept in the result too. */
static uint32_t wait_ged(uint32_t bits)
{
    uint64_t end = rdtsc() + WAIT_SECONDS * tsc_per_sec;
    uint32_t seen = 0;

    while (!(seen & bits) && rdtsc() < end) {
        seen |= mmio_read32(GPA_GED_START);
        cpu_relax();
    }
    return seen & bits ? seen : 0;
}

static unsigned lowest_bit(uint32_t v)
{
    unsigned n = 0;

    while (v && !(v & 1u)) {
        v >>= 1;
        n++;
    }
    return n;
}

static void say_slot(const char *what, unsigned slot)
{
    serial_puts(PAYLOAD_MARK);
    serial_puts(what);
    serial_puts(" slot = ");
    serial_puthex(slot);
    serial_puts("\n");
}

void payload_main(uint32_t start_info)
{
    uint32_t ev, up, down, id = 0;
    unsigned slot;
    uint64_t end;

    (void)start_info;
    serial_init();
    clock_init();

    /* Idle registers; a PSEG of 5 with one segment and an eject of an empty slot are ignored
     * (the rest of the run shows the VM kept going). */
    payload_check(mmio_read32(PHPR_PCIU) == 0, "pciu idle", 0);
    payload_check(mmio_read32(PHPR_PCID) == 0, "pcid idle", 0);
    mmio_write32(PHPR_PSEG, 5);
    payload_check(mmio_read32(PHPR_PSEG) == 0, "pseg 5 ignored (one segment)",
                  mmio_read32(PHPR_PSEG));
    mmio_write32(PHPR_B0EJ, 1u << EMPTY_SLOT);
    payload_check(ecam_id(EMPTY_SLOT) == 0xffffffffu, "empty slot reads all ones",
                  ecam_id(EMPTY_SLOT));
    payload_check(mmio_read32(PHPR_B0EJ) == 0, "b0ej reads 0", 0);
    payload_say("ready hotplug", "");

    ev = wait_ged(GED_EVENT_PCI);
    if (!payload_check(ev & GED_EVENT_PCI, "ged pci event (add)", ev))
        payload_fail("hotplug", "no GED PCI event after the add");
    up = mmio_read32(PHPR_PCIU);
    payload_check(up != 0 && (up & (up - 1)) == 0 && !(up & 1u), "pciu names one slot", up);
    payload_check(mmio_read32(PHPR_PCIU) == 0, "pciu read cleared it", 0);
    payload_check(mmio_read32(PHPR_PCID) == 0, "pcid empty on add", 0);
    slot = lowest_bit(up);
    if (up)
        id = ecam_id(slot);
    payload_check(id == VIRTIO_BLK || id == VIRTIO_PMEM, "ecam vendor/device of the new slot", id);
    if (payload_check(up != 0 && (id == VIRTIO_BLK || id == VIRTIO_PMEM), "added device", id)) {
        say_slot(id == VIRTIO_PMEM ? "added pmem" : "added", slot);
        say_slot("added", slot);
    } else
        payload_fail("hotplug", "the added device is not where PCIU says");

    ev = wait_ged(GED_EVENT_PCI);
    if (!payload_check(ev & GED_EVENT_PCI, "ged pci event (remove)", ev))
        payload_fail("hotplug", "no GED PCI event after the removal request");
    down = mmio_read32(PHPR_PCID);
    payload_check(down == 1u << slot, "pcid names the added slot", down);
    payload_check(mmio_read32(PHPR_PCID) == 0, "pcid read cleared it", 0);
    payload_check(mmio_read32(PHPR_PCIU) == 0, "pciu empty on remove", 0);
    payload_check(ecam_id(slot) == id, "device still there until ejected", ecam_id(slot));
    mmio_write32(PHPR_PSEG, 0);
    mmio_write32(PHPR_B0EJ, 1u << slot);
    say_slot("eject", slot);

    /* The core takes the eject on its control thread: the slot empties shortly after. */
    end = rdtsc() + WAIT_SECONDS * tsc_per_sec;
    while ((id = ecam_id(slot)) != 0xffffffffu && rdtsc() < end)
        cpu_relax();
    if (payload_check(id == 0xffffffffu, "ecam of the ejected slot", id))
        say_slot("gone", slot);
    else
        payload_fail("hotplug", "the ejected device is still on the bus");

    ev = wait_ged(GED_EVENT_POWER_BUTTON);
    payload_check(ev & GED_EVENT_POWER_BUTTON, "power button ends the run", ev);
    payload_finish("hotplug");
}
