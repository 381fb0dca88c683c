/*
 * state.json's memory hotplug parts (issue 18, version 3): the ACPI memory hotplug slots of the
 * RAM vm.resize added and each virtio-mem device's plugged blocks survive a round trip; slots
 * that are not memory ranges, pending flags on empty slots, ejects of slots that do not exist,
 * bitmaps of the wrong size or disagreeing with plugged_size, sizes past the region, counts past
 * their bounds, an older version and truncated text are refused, naming the place.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm/vm_state.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

/*
 * One vCPU, no device; RAM of 512 MiB, two regions vm.resize added (slots 0 and 1 of 8, the
 * second not yet seen by the guest) and a 1 GiB virtio-mem region with blocks 0-9 and 511
 * plugged, 64 MiB requested.
 */
static void sample(struct vm_state *s)
{
    memset(s, 0, sizeof(*s));
    cr_assert_eq(vm_state_alloc(s, 1, 0), 0);
    s->version = VMS_VERSION;
    s->max_vcpus = 2;
    s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    s->platform.nseg = 1;
    s->nranges = 4;
    s->ranges[0] = (struct vms_range){ 0, 512 * MIB };
    s->ranges[1] = (struct vms_range){ 4 * GIB, 256 * MIB };
    s->ranges[2] = (struct vms_range){ 4 * GIB + 256 * MIB, 128 * MIB };
    s->ranges[3] = (struct vms_range){ 8 * GIB, GIB };
    s->memhp.nslots = 8;
    s->memhp.sel = 1;
    s->memhp.ejected = 0x2;
    s->memhp.slot[0] = (struct vms_memhp_slot){ .base = 4 * GIB, .size = 256 * MIB, .enabled = 1 };
    s->memhp.slot[1] = (struct vms_memhp_slot){
        .base = 4 * GIB + 256 * MIB, .size = 128 * MIB, .enabled = 1, .inserting = 1
    };
    s->nvmem = 1;
    s->vmem[0] = (struct vms_vmem){ .addr = 8 * GIB,
                                    .region_size = GIB,
                                    .usable_size = GIB,
                                    .plugged_size = 11 * VMS_VMEM_BLOCK,
                                    .requested_size = 64 * MIB };
    s->vmem[0].plugged = calloc(vms_vmem_words(GIB), sizeof(uint64_t));
    cr_assert_not_null(s->vmem[0].plugged);
    s->vmem[0].plugged[0] = 0x3ff;
    s->vmem[0].plugged[7] = 1ull << 63;
}

static char *sample_json(void)
{
    struct vm_state a;
    char *json;

    sample(&a);
    json = vm_state_to_json(&a);
    vm_state_free(&a);
    cr_assert_not_null(json);
    return json;
}

Test(vm_state_mem, round_trip)
{
    struct vm_state a, b;
    char err[256] = "";
    char *json;

    sample(&a);
    json = vm_state_to_json(&a);
    cr_assert_not_null(json);
    cr_assert_eq(vm_state_from_json(&b, json, strlen(json), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(&a.memhp, &b.memhp, sizeof(a.memhp)), 0, "memory hotplug slots differ");
    cr_assert_eq(b.nvmem, 1);
    cr_assert_eq(b.vmem[0].addr, 8 * GIB);
    cr_assert_eq(b.vmem[0].region_size, GIB);
    cr_assert_eq(b.vmem[0].usable_size, GIB);
    cr_assert_eq(b.vmem[0].plugged_size, 22 * MIB);
    cr_assert_eq(b.vmem[0].requested_size, 64 * MIB);
    cr_assert_not_null(b.vmem[0].plugged);
    cr_assert_eq(memcmp(a.vmem[0].plugged, b.vmem[0].plugged, 8 * sizeof(uint64_t)), 0,
                 "plugged blocks differ");
    cr_assert_not_null(strstr(json, "\"plugged\":\"ff03000000000000"), "bitmap as bytes");
    cr_assert_eq(vm_state_ram_size(&b), 512 * MIB + 384 * MIB + GIB);
    free(json);
    vm_state_free(&a);
    vm_state_free(&b);
}

/* No hotplug at all: empty lists, and they come back empty. */
Test(vm_state_mem, none)
{
    struct vm_state a, b;
    char err[256] = "";
    char *json;

    sample(&a);
    free(a.vmem[0].plugged);
    a.vmem[0].plugged = NULL;
    a.nvmem = 0;
    memset(&a.memhp, 0, sizeof(a.memhp));
    a.nranges = 1;
    json = vm_state_to_json(&a);
    cr_assert_not_null(json);
    cr_assert_not_null(strstr(json, "\"virtio_mem\":[]"), "%s", json);
    cr_assert_eq(vm_state_from_json(&b, json, strlen(json), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(b.nvmem, 0);
    cr_assert_eq(b.memhp.nslots, 0);
    free(json);
    vm_state_free(&a);
    vm_state_free(&b);
}

static void refused(const char *text, const char *want)
{
    struct vm_state s;
    char err[256] = "";
    int r = vm_state_from_json(&s, text, strlen(text), err, sizeof(err));

    cr_assert_neq(r, 0, "accepted, wanted '%s'", want);
    cr_assert_not_null(strstr(err, want), "error '%s' does not say '%s'", err, want);
    vm_state_free(&s);
}

/* The sample's JSON with the first `from` replaced by `to`, refused with `want`. */
static void edited_refused(const char *from, const char *to, const char *want)
{
    char *json = sample_json(), *at = strstr(json, from), *out;

    cr_assert_not_null(at, "'%s' not in the JSON", from);
    out = malloc(strlen(json) + strlen(to) + 1);
    cr_assert_not_null(out);
    memcpy(out, json, (size_t)(at - json));
    strcpy(out + (at - json), to);
    strcat(out, at + strlen(from));
    refused(out, want);
    free(out);
    free(json);
}

#define EMPTY "{\"base\":0,\"size\":0,\"enabled\":0,\"inserting\":0,\"removing\":0}"

Test(vm_state_mem, slots_checked)
{
    /* A slot whose region is not among the memory ranges (RAM that memory-ranges lacks). */
    edited_refused("\"base\":4294967296", "\"base\":4296015872",
                   "memory_hotplug.slots[0]: 0x100100000+0x10000000 is not one of memory_ranges");
    /* Slot 2 is the first empty one. */
    edited_refused("{\"base\":0,\"size\":0,\"enabled\":0,\"inserting\":0",
                   "{\"base\":0,\"size\":0,\"enabled\":0,\"inserting\":1",
                   "memory_hotplug.slots[2]: an empty slot with a region or pending flags");
    edited_refused(EMPTY "," EMPTY,
                   EMPTY ",{\"base\":8589934592,\"size\":1073741824,\"enabled\":1,"
                         "\"inserting\":0,\"removing\":0}",
                   "memory_hotplug.slots[3]: enabled after an empty slot");
    edited_refused("\"ejected\":2", "\"ejected\":256",
                   "memory_hotplug: ejected: slots past the 8 there are");
    edited_refused("\"enabled\":1", "\"enabled\":2",
                   "memory_hotplug.slots[0].enabled: 2 is above 1");
    edited_refused("\"memory_hotplug\":{", "\"memory_hotplugs\":{",
                   "memory_hotplug: expected an object");
    edited_refused("\"select\":1,", "", "memory_hotplug.select: missing");
}

Test(vm_state_mem, virtio_mem_checked)
{
    edited_refused("\"plugged_size\":23068672", "\"plugged_size\":25165824",
                   "virtio_mem[0]: 11 blocks plugged, plugged_size says 12");
    edited_refused("\"plugged\":\"", "\"plugged\":\"00",
                   "virtio_mem[0].plugged: expected 128 hex digits");
    edited_refused("\"plugged\":\"ff", "\"plugged\":\"FF", "virtio_mem[0].plugged: not lowercase");
    edited_refused("\"addr\":8589934592", "\"addr\":8592031744",
                   "virtio_mem[0]: region not one of memory_ranges");
    edited_refused("\"requested_size\":67108864", "\"requested_size\":2147483648",
                   "virtio_mem[0]: region not one of memory_ranges, or sizes not whole blocks");
    edited_refused("\"requested_size\":67108864", "\"requested_size\":67112960",
                   "sizes not whole blocks");
    edited_refused("\"region_size\":1073741824", "\"region_size\":2199023255552",
                   "virtio_mem[0].region_size: 2199023255552 is above 1099511627776");
    edited_refused("\"usable_region_size\":1073741824", "\"usable_region_size\":-1",
                   "virtio_mem[0].usable_region_size: expected an integer from 0");
}

Test(vm_state_mem, counts_and_versions_refused)
{
    char more[16 + 9 * 3] = "\"virtio_mem\":[", *json, slots[32 + 65 * 3] = "\"slots\":[";

    for (int i = 0; i < 8; i++)
        strcat(more, "{},");
    edited_refused("\"virtio_mem\":[", more, "virtio_mem: more than 8 entries");
    for (int i = 0; i < 57; i++)
        strcat(slots, "{},");
    edited_refused("\"slots\":[", slots, "memory_hotplug.slots: more than 64 entries");
    edited_refused("\"version\":3", "\"version\":2", "version 2, this cellvm reads version 3");
    /* Cut inside the bitmap: not a document. */
    json = sample_json();
    *strstr(json, "\"plugged\":\"ff03") = '\0';
    refused(json, "not one JSON document");
    free(json);
}
