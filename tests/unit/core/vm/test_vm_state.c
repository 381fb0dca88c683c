/*
 * state.json (issue 18): every field survives a round trip, and what a snapshot directory may
 * hold after a crash, a bad copy or an edit (another version, truncation, wrong blob sizes,
 * counts past their bounds, negative numbers, a memory-ranges of the wrong size) is refused
 * with an error that names the place.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/vm/vm_state.h"

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 131u + i * 7u);
}

/* A state with something in every field: two vCPUs, two devices, two ranges. */
static void sample(struct vm_state *s)
{
    memset(s, 0, sizeof(*s));
    cr_assert_eq(vm_state_alloc(s, 2, 2), 0);
    s->version = VMS_VERSION;
    s->max_vcpus = 4;
    for (uint32_t i = 0; i < 2; i++) {
        struct vms_vcpu *v = &s->vcpu[i];

        fill((uint8_t *)&v->regs, sizeof(v->regs), i + 1);
        fill((uint8_t *)&v->sregs, sizeof(v->sregs), i + 2);
        fill((uint8_t *)&v->xsave, sizeof(v->xsave), i + 3);
        fill((uint8_t *)&v->xcrs, sizeof(v->xcrs), i + 4);
        fill((uint8_t *)&v->lapic, sizeof(v->lapic), i + 5);
        fill((uint8_t *)&v->events, sizeof(v->events), i + 6);
        fill((uint8_t *)&v->debugregs, sizeof(v->debugregs), i + 7);
        v->mp_state = KVM_MP_STATE_HALTED;
        v->nmsrs = 3;
        v->msrs[0] = (struct kvm_msr_entry){ .index = 0x10, .data = UINT64_MAX };
        v->msrs[1] = (struct kvm_msr_entry){ .index = 0xc0000080, .data = 0xd01 };
        v->msrs[2] = (struct kvm_msr_entry){ .index = 0x6e0, .data = 12345 };
    }
    fill((uint8_t *)&s->pic_master, sizeof(s->pic_master), 20);
    fill((uint8_t *)&s->pic_slave, sizeof(s->pic_slave), 21);
    fill((uint8_t *)&s->ioapic, sizeof(s->ioapic), 22);
    s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    s->clock.clock = 987654321;
    s->nranges = 2;
    s->ranges[0] = (struct vms_range){ 0, 0xc0000000 };
    s->ranges[1] = (struct vms_range){ 0x100000000, 0x40000000 };
    s->platform.serial_present = true;
    s->platform.serial = (struct vms_serial){ .ier = 2,
                                              .lcr = 3,
                                              .mcr = 8,
                                              .fcr = 0xc1,
                                              .scr = 5,
                                              .dll = 1,
                                              .dlm = 0,
                                              .lsr_err = 2,
                                              .msr_delta = 1,
                                              .thr_ipending = true,
                                              .rx_head = 63,
                                              .rx_count = 64 };
    fill(s->platform.serial.rx, sizeof(s->platform.serial.rx), 30);
    s->platform.rtc_index = 0x0b;
    fill(s->platform.rtc_nvram, sizeof(s->platform.rtc_nvram), 31);
    s->platform.ged_pending = 4;
    s->platform.nseg = 2;
    s->platform.pci_hp_sel = 1;
    s->platform.pci_up[1] = 0x20;
    s->platform.pci_down[0] = 0x8;
    s->platform.pci_removing[0] = 0x8;
    fill(s->platform.host_cfg[0], VMS_CFG_SIZE, 32);
    fill(s->platform.host_cfg[1], VMS_CFG_SIZE, 33);
    s->platform.cf8 = 0x80000810;
    s->platform.cpu_hp_sel = 3;
    s->platform.cpu_enabled[0] = 0x3;
    s->platform.cpu_inserting[0] = 0x2;
    s->platform.cpu_removing[3] = 1ull << 63;
    for (uint32_t d = 0; d < 2; d++) {
        struct vms_device *o = &s->dev[d];

        snprintf(o->id, sizeof(o->id), "_disk%u", d);
        o->virtio_id = d ? 1 : 2;
        o->seg = d;
        o->slot = 3 + d;
        fill(o->cfg, sizeof(o->cfg), 40 + d);
        o->nvec = 3;
        fill(&o->msix_table[0][0], 3 * 16, 50 + d);
        o->msix_pba[0] = 0x5;
        o->driver_features = 0x130000246ull;
        o->dfselect = 1;
        o->gfselect = 1;
        o->status = 0x0f;
        o->isr = 1;
        o->generation = 9;
        o->config_vector = 0;
        o->queue_select = 1;
        o->ctrl_avail = 77;
        o->pairs = d;
        o->config_len = 60;
        fill(o->config, 60, 60 + d);
        o->nqueues = 2;
        for (uint16_t q = 0; q < 2; q++)
            o->q[q] = (struct vms_queue){ .size = 256,
                                          .vector = (uint16_t)(q + 1),
                                          .enabled = true,
                                          .desc = 0x1000 * q,
                                          .avail = 0x2000 + q,
                                          .used = 0xfffffffffffff000ull,
                                          .running = !q,
                                          .avail_idx = 65535 };
        /* The disk's backend saved its state; the other one is an external backend. */
        o->dstate_kind = d ? VMS_DSTATE_FRONTEND : VMS_DSTATE_BACKEND;
        if (!d) {
            o->dstate_len = 40;
            o->dstate = malloc(40);
            cr_assert_not_null(o->dstate);
            fill(o->dstate, 40, 70);
        }
    }
    /* A boot pmem above RAM and one vm.add-pmem placed above the PCI windows; an armed
     * watchdog. */
    s->npmem = 2;
    s->pmem[0] = (struct vms_pmem){ .id = "pm0", .gpa = 0x140000000ull, .size = 4ull << 20 };
    s->pmem[1] = (struct vms_pmem){
        .id = "pm1", .gpa = 0x10000000000ull, .size = 512ull << 20, .hot = true
    };
    s->watchdog = (struct vms_watchdog){
        .present = true, .armed = true, .since_ping_ms = 3000, .to_check_ms = 12000
    };
}

static void expect_same(const struct vm_state *a, const struct vm_state *b)
{
    cr_assert_eq(a->version, b->version);
    cr_assert_eq(a->nvcpus, b->nvcpus);
    cr_assert_eq(a->max_vcpus, b->max_vcpus);
    cr_assert_eq(memcmp(a->vcpu, b->vcpu, a->nvcpus * sizeof(*a->vcpu)), 0, "vCPUs differ");
    cr_assert_eq(memcmp(&a->pic_master, &b->pic_master, sizeof(a->pic_master)), 0);
    cr_assert_eq(memcmp(&a->pic_slave, &b->pic_slave, sizeof(a->pic_slave)), 0);
    cr_assert_eq(memcmp(&a->ioapic, &b->ioapic, sizeof(a->ioapic)), 0);
    cr_assert_eq(a->clock.clock, b->clock.clock);
    cr_assert_eq(a->nranges, b->nranges);
    cr_assert_eq(memcmp(a->ranges, b->ranges, sizeof(a->ranges)), 0);
    cr_assert_eq(memcmp(&a->platform, &b->platform, sizeof(a->platform)), 0, "platform differs");
    cr_assert_eq(a->npmem, b->npmem);
    cr_assert_eq(memcmp(a->pmem, b->pmem, sizeof(a->pmem)), 0, "pmem differs");
    cr_assert_eq(memcmp(&a->watchdog, &b->watchdog, sizeof(a->watchdog)), 0, "watchdog differs");
    cr_assert_eq(a->ndevices, b->ndevices);
    for (uint32_t i = 0; i < a->ndevices; i++) {
        struct vms_device x = a->dev[i], y = b->dev[i];

        cr_assert_eq(x.dstate_len, y.dstate_len);
        cr_assert_eq(!x.dstate_len || !memcmp(x.dstate, y.dstate, x.dstate_len), 1,
                     "device %u: backend state differs", i);
        x.dstate = y.dstate = NULL;
        cr_assert_eq(memcmp(&x, &y, sizeof(x)), 0, "device %u differs", i);
    }
}

Test(vm_state, round_trip_every_field)
{
    struct vm_state a, b;
    char err[256] = "";
    char *json;

    sample(&a);
    json = vm_state_to_json(&a);
    cr_assert_not_null(json);
    cr_assert_eq(vm_state_from_json(&b, json, strlen(json), err, sizeof(err)), 0, "%s", err);
    expect_same(&a, &b);
    cr_assert_eq(vm_state_ram_size(&b), 0x100000000ull);
    cr_log_info("state.json of 2 vCPUs and 2 devices: %zu bytes", strlen(json));
    free(json);
    vm_state_free(&a);
    vm_state_free(&b);
}

/* Decodes text and expects a refusal whose message contains want. */
static void refused(const char *text, const char *want)
{
    struct vm_state s;
    char err[256] = "";
    int r = vm_state_from_json(&s, text, strlen(text), err, sizeof(err));

    cr_assert_neq(r, 0, "accepted, wanted '%s'", want);
    cr_assert_not_null(strstr(err, want), "error '%s' does not say '%s'", err, want);
    vm_state_free(&s);
}

/* The sample's JSON with the first `from` replaced by `to`. */
static char *edited(const char *from, const char *to)
{
    struct vm_state a;
    char *json, *at, *out;

    sample(&a);
    json = vm_state_to_json(&a);
    vm_state_free(&a);
    cr_assert_not_null(json);
    at = strstr(json, from);
    cr_assert_not_null(at, "'%s' not in the JSON", from);
    out = malloc(strlen(json) + strlen(to) + 1);
    cr_assert_not_null(out);
    memcpy(out, json, (size_t)(at - json));
    strcpy(out + (at - json), to);
    strcat(out, at + strlen(from));
    free(json);
    return out;
}

Test(vm_state, other_version_refused)
{
    char *j = edited("\"version\":3", "\"version\":2");

    refused(j, "version 2, this cellvm reads version 3");
    free(j);
}

/* The backend state: its kind, its length against its bytes, no bytes without a backend. */
Test(vm_state, device_state_checked)
{
    static const char *const bad[][3] = {
        { "\"device_state\":\"backend\"", "\"device_state\":\"guessed\"",
          "devices[0].device_state: expected none, backend or frontend-only" },
        { "\"device_state_len\":40", "\"device_state_len\":41",
          "devices[0].device_state_data: expected 82 hex digits" },
        { "\"device_state_len\":40", "\"device_state_len\":1048577",
          "devices[0].device_state_len: 1048577 is above 1048576" },
        { "\"device_state_len\":0", "\"device_state_len\":2",
          "devices[1].device_state_len: non-zero without a backend state" },
        { "\"device_state_data\":\"d2", "\"device_state_data\":\"D2",
          "devices[0].device_state_data: not lowercase hex" },
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *j = edited(bad[i][0], bad[i][1]);

        refused(j, bad[i][2]);
        free(j);
    }
}

Test(vm_state, truncated_refused)
{
    struct vm_state a;
    char *json;

    sample(&a);
    json = vm_state_to_json(&a);
    vm_state_free(&a);
    json[strlen(json) / 2] = '\0';
    refused(json, "not one JSON document");
    refused("", "not one JSON document");
    refused("{} {}", "not one JSON document");
    refused("[]", "expected an object");
    free(json);
}

Test(vm_state, edited_blobs_and_numbers_refused)
{
    char *j;

    j = edited("\"mp_state\":3", "\"mp_state\":-3");
    refused(j, "vcpus[0].mp_state: expected an integer from 0");
    free(j);
    j = edited("\"mp_state\":3", "\"mp_state\":300");
    refused(j, "vcpus[0].mp_state: 300 is above");
    free(j);
    j = edited("\"lapic\":\"", "\"lapic\":\"00");
    refused(j, "vcpus[0].lapic: expected 2048 hex digits");
    free(j);
    j = edited("\"debugregs\":\"", "\"debugregs\":\"zz");
    refused(j, "vcpus[0].debugregs: expected");
    free(j);
    j = edited("\"mp_state\":3", "\"mp_state\":\"3\"");
    refused(j, "expected an integer");
    free(j);
    j = edited("\"slot\":3", "\"slot\":32");
    refused(j, "devices[0].slot: 32 is above 31");
    free(j);
    j = edited("\"id\":\"_disk0\"", "\"id\":\"a\\nb\"");
    refused(j, "devices[0].id: not printable");
    free(j);
    j = edited("\"config_len\":60", "\"config_len\":61");
    refused(j, "devices[0].config: expected 122 hex digits");
    free(j);
    j = edited("\"irqchip\":{", "\"irqch\":{");
    refused(j, "irqchip: expected an object");
    free(j);
    j = edited("\"size\":1073741824", "\"size\":1073741825");
    refused(j, "memory_ranges[1]: not page aligned");
    free(j);
}

/* The pmem places (version 3): aligned, not empty, inside the address space, apart, ids
 * unique, at most VMS_MAX_PMEM; the watchdog's times bounded, armed only when present. */
Test(vm_state, pmem_and_watchdog_checked)
{
    static const char *const bad[][3] = {
        { "\"gpa\":5368709120", "\"gpa\":5368709121", "pmem[0]: not 2 MiB aligned" },
        { "\"size\":4194304", "\"size\":0", "pmem[0]: not 2 MiB aligned, empty" },
        { "\"gpa\":1099511627776", "\"gpa\":18446744073707454464",
          "pmem[1]: not 2 MiB aligned, empty, or past the address space" },
        { "\"gpa\":1099511627776", "\"gpa\":5370806272",
          "pmem[1]: same id as, or overlapping, pmem[0]" },
        { "\"id\":\"pm1\"", "\"id\":\"pm0\"", "pmem[1]: same id as, or overlapping, pmem[0]" },
        { "\"id\":\"pm1\"", "\"id\":\"\"", "pmem[1].id: expected 1 to 64 bytes" },
        { "\"hot\":1", "\"hot\":2", "pmem[1].hot: 2 is above 1" },
        { "\"hot\":0", "\"hoot\":0", "pmem[0].hot: missing" },
        { "\"pmem\":[", "\"pmem\":[{},{},{},{},{},{},{},", "pmem: more than 8 entries" },
        { "\"pmem\":[", "\"pmem\":{", "not one JSON document" },
        { "\"pmem\":[", "\"pmems\":[", "pmem: expected an array" },
        { "\"since_ping_ms\":3000", "\"since_ping_ms\":600001",
          "watchdog.since_ping_ms: 600001 is above 600000" },
        { "\"to_check_ms\":12000", "\"to_check_ms\":-1",
          "watchdog.to_check_ms: expected an integer from 0" },
        { "\"watchdog\":{\"present\":1", "\"watchdog\":{\"present\":0",
          "watchdog: armed without a watchdog" },
        { "\"watchdog\":{", "\"watchdoq\":{", "watchdog: expected an object" },
        { "\"armed\":1", "\"armed\":\"yes\"", "watchdog.armed: expected an integer" },
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *j = edited(bad[i][0], bad[i][1]);

        refused(j, bad[i][2]);
        free(j);
    }
}

/* No pmem and no watchdog round-trip as such. */
Test(vm_state, without_pmem_and_watchdog)
{
    struct vm_state a, b;
    char err[256] = "";
    char *json;

    sample(&a);
    a.npmem = 0;
    memset(a.pmem, 0, sizeof(a.pmem));
    a.watchdog = (struct vms_watchdog){ 0 };
    json = vm_state_to_json(&a);
    cr_assert_not_null(json);
    cr_assert_not_null(strstr(json, "\"pmem\":[]"), "%s", "an empty pmem list");
    cr_assert_eq(vm_state_from_json(&b, json, strlen(json), err, sizeof(err)), 0, "%s", err);
    expect_same(&a, &b);
    free(json);
    vm_state_free(&a);
    vm_state_free(&b);
}

Test(vm_state, counts_past_bounds_refused)
{
    struct vm_state a;
    char *json, more[32 + 33 * 3] = "";

    /* 33 + 2 memory ranges: more than VMS_MAX_RANGES. */
    strcpy(more, "\"memory_ranges\":[");
    for (int i = 0; i < 33; i++)
        strcat(more, "{},");
    json = edited("\"memory_ranges\":[", more);
    refused(json, "memory_ranges: more than 32 entries");
    free(json);
    json = edited("\"vcpus\":[", "\"vcpus\":[1,");
    refused(json, "vcpus[0]: expected an object");
    free(json);
    sample(&a);
    a.max_vcpus = 1; /* 2 vCPUs of a VM of 1 */
    json = vm_state_to_json(&a);
    vm_state_free(&a);
    refused(json, "2 vCPUs of at most 1");
    free(json);
    /* Larger than the bound before any parsing. */
    {
        struct vm_state s;
        char err[128] = "";

        cr_assert_neq(vm_state_from_json(&s, "{}", (size_t)VMS_MAX_JSON + 1, err, sizeof(err)), 0);
        cr_assert_not_null(strstr(err, "larger than"), "%s", err);
        vm_state_free(&s);
    }
}

Test(vm_state, ram_file_size_checked)
{
    struct vm_state a;
    char err[160] = "";

    sample(&a);
    cr_assert_eq(vm_state_check_ram(&a, 0x100000000ull, err, sizeof(err)), 0);
    cr_assert_neq(vm_state_check_ram(&a, 0x100000000ull - 4096, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "truncated"), "%s", err);
    cr_assert_neq(vm_state_check_ram(&a, 0x100001000ull, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "too long"), "%s", err);
    vm_state_free(&a);
}
