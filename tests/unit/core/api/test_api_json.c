/*
 * The REST API's JSON <-> protobuf mapping against Cloud Hypervisor v51.0's schemas: a Kata-style
 * VmConfig parses field by field, everything outside the schema or of the wrong type is refused
 * with the field named, features cellvm lacks are named unless left at their default, and the
 * rendering is the inverse of the parsing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/api_json.h"
#include "core/api/api_routes.h"

static char err[APIJ_ERR_LEN];

static Cellvm__ApiVmConfig *parse_vm(const char *json, int expect)
{
    ProtobufCMessage *m = NULL;
    int r =
        apij_parse(json, strlen(json), &cellvm__api_vm_config__descriptor, &m, err, sizeof(err));

    cr_assert_eq(r, expect, "apij_parse(%s) = %d (%s)", json, r, r ? err : "");
    return (Cellvm__ApiVmConfig *)m;
}

static void refused(const char *json, const char *msg)
{
    cr_assert_null(parse_vm(json, -EINVAL));
    cr_assert(strstr(err, msg), "'%s' -> '%s', expected '%s'", json, err, msg);
}

/* What Kata's clh driver sends, in substance. */
static const char kata[] =
    "{\"payload\":{\"kernel\":\"/k/vmlinux\",\"cmdline\":\"console=hvc0 quiet\","
    "\"initramfs\":\"/k/initrd\"},"
    "\"cpus\":{\"boot_vcpus\":1,\"max_vcpus\":4,\"topology\":{\"threads_per_core\":1,"
    "\"cores_per_die\":4,\"dies_per_package\":1,\"packages\":1}},"
    "\"memory\":{\"size\":2147483648,\"shared\":true,\"hugepages\":false},"
    "\"disks\":[{\"path\":\"/k/root.img\",\"readonly\":true,\"id\":\"disk0\"}],"
    "\"serial\":{\"mode\":\"Tty\"},\"console\":{\"mode\":\"Off\"},"
    "\"rng\":{\"src\":\"/dev/urandom\"},"
    "\"vsock\":{\"cid\":3,\"socket\":\"/run/vsock.sock\",\"id\":\"vsock0\"},"
    "\"iommu\":false,\"pvpanic\":false,\"watchdog\":false,\"landlock_enable\":false,"
    "\"balloon\":null,\"fs\":[],\"platform\":{}}";

Test(api_json, kata_config_parses)
{
    Cellvm__ApiVmConfig *c = parse_vm(kata, 0);

    cr_assert_str_eq(c->payload->kernel, "/k/vmlinux");
    cr_assert_str_eq(c->payload->cmdline, "console=hvc0 quiet");
    cr_assert(c->cpus->has_boot_vcpus && c->cpus->boot_vcpus == 1);
    cr_assert_eq(c->cpus->max_vcpus, 4);
    cr_assert_eq(c->cpus->topology->cores_per_die, 4);
    cr_assert(c->memory->has_size && c->memory->size == 2147483648ull);
    cr_assert(c->memory->has_shared && c->memory->shared);
    cr_assert(!c->memory->has_thp, "absent stays absent");
    cr_assert_eq(c->n_disks, 1);
    cr_assert(c->disks[0]->readonly);
    cr_assert_str_eq(c->disks[0]->id, "disk0");
    cr_assert_str_eq(c->serial->mode, "Tty");
    cr_assert_eq(c->vsock->cid, 3);
    cr_assert(c->has_iommu && !c->iommu);
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

Test(api_json, render_is_the_inverse)
{
    Cellvm__ApiVmConfig *c = parse_vm(kata, 0), *c2;
    char *json = apij_render(&c->base), *json2;

    cr_assert_not_null(json);
    cr_assert_null(strstr(json, "null"), "absent fields are left out: %s", json);
    c2 = parse_vm(json, 0);
    json2 = apij_render(&c2->base);
    cr_assert_str_eq(json, json2);
    free(json);
    free(json2);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    protobuf_c_message_free_unpacked(&c2->base, NULL);
}

/* vm.create's devices (VFIO): Cloud Hypervisor's DeviceConfig, field by field and back. */
Test(api_json, devices_parse_and_render)
{
    Cellvm__ApiVmConfig *c =
        parse_vm("{\"payload\":{\"kernel\":\"k\"},\"devices\":[{\"path\":"
                 "\"/sys/bus/pci/devices/0000:01:00.0\",\"id\":\"gpu0\",\"iommu\":false,"
                 "\"pci_segment\":0},{\"path\":\"/sys/bus/pci/devices/0000:02:00.0/\","
                 "\"x_nv_gpudirect_clique\":1}]}",
                 0);
    char *json;

    cr_assert_eq(c->n_devices, 2);
    cr_assert_str_eq(c->devices[0]->path, "/sys/bus/pci/devices/0000:01:00.0");
    cr_assert_str_eq(c->devices[0]->id, "gpu0");
    cr_assert(c->devices[0]->has_iommu && !c->devices[0]->iommu);
    cr_assert(c->devices[0]->has_pci_segment && c->devices[0]->pci_segment == 0);
    cr_assert_null(c->devices[1]->id);
    cr_assert(c->devices[1]->has_x_nv_gpudirect_clique);
    json = apij_render(&c->base);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"devices\":[{\"path\":\"\\/sys\\/bus") ||
                  strstr(json, "\"devices\":[{\"path\":\"/sys/bus"),
              "%s", json);
    free(json);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    refused("{\"devices\":[{\"path\":\"p\",\"bdf\":\"x\"}]}", "VmConfig.devices[0].bdf");
    refused("{\"devices\":[{\"path\":1}]}", "devices[0].path: expected a string");
    refused("{\"devices\":{\"path\":\"p\"}}", "devices: expected an array");
}

/* vm.create's user_devices: Cloud Hypervisor's UserDeviceConfig, field by field and back. */
Test(api_json, user_devices_parse_and_render)
{
    Cellvm__ApiVmConfig *c =
        parse_vm("{\"payload\":{\"kernel\":\"k\"},\"user_devices\":[{\"socket\":"
                 "\"/tmp/edu.sock\",\"id\":\"uedu\",\"pci_segment\":0},{\"socket\":\"/s\"}]}",
                 0);
    char *json;

    cr_assert_eq(c->n_user_devices, 2);
    cr_assert_str_eq(c->user_devices[0]->socket, "/tmp/edu.sock");
    cr_assert_str_eq(c->user_devices[0]->id, "uedu");
    cr_assert(c->user_devices[0]->has_pci_segment && c->user_devices[0]->pci_segment == 0);
    cr_assert_null(c->user_devices[1]->id);
    json = apij_render(&c->base);
    cr_assert_not_null(json);
    cr_assert(strstr(json, "\"user_devices\":[{\"socket\":\"\\/tmp\\/edu.sock\"") ||
                  strstr(json, "\"user_devices\":[{\"socket\":\"/tmp/edu.sock\""),
              "%s", json);
    free(json);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    refused("{\"user_devices\":[{\"socket\":\"s\",\"path\":\"x\"}]}",
            "VmConfig.user_devices[0].path");
    refused("{\"user_devices\":[{\"socket\":1}]}", "user_devices[0].socket: expected a string");
}

Test(api_json, unknown_fields_are_named)
{
    refused("{\"payload\":{\"kernel\":\"k\"},\"bogus\":1}", "VmConfig.bogus: unknown field");
    refused("{\"payload\":{\"kernel\":\"k\",\"kernal\":\"x\"}}", "VmConfig.payload.kernal");
    refused("{\"disks\":[{\"path\":\"a\"},{\"pth\":\"b\"}]}", "VmConfig.disks[1].pth");
}

Test(api_json, wrong_types)
{
    refused("{\"cpus\":{\"boot_vcpus\":\"2\"}}", "cpus.boot_vcpus: expected an integer");
    refused("{\"cpus\":{\"boot_vcpus\":1.5}}", "expected an integer");
    refused("{\"cpus\":{\"boot_vcpus\":-1}}", "must not be negative");
    refused("{\"cpus\":{\"boot_vcpus\":4294967296}}", "out of range");
    refused("{\"memory\":{\"shared\":1}}", "expected true or false");
    refused("{\"payload\":{\"kernel\":5}}", "expected a string");
    refused("{\"disks\":{\"path\":\"a\"}}", "expected an array");
    refused("{\"cpus\":[1]}", "expected an object");
    refused("[]", "expected an object");
}

Test(api_json, hostile_strings)
{
    refused("{\"payload\":{\"kernel\":\"a\\u0000b\"}}", "control character");
    refused("{\"payload\":{\"kernel\":\"a\\nb\"}}", "control character");
    refused("{\"payload\":{\"kernel\":\"\\u00e9\"}}", "non-ASCII");
    /* A command line may hold tabs, as on the command line. */
    protobuf_c_message_free_unpacked(&parse_vm("{\"payload\":{\"cmdline\":\"a\\tb\"}}", 0)->base,
                                     NULL);
}

Test(api_json, malformed_json)
{
    const char *bad[] = {
        "",        "{",          "{\"a\":}", "{\"payload\":{}} trailing",
        "{'a':1}", "{\"a\":1,}", "nul",      "{\"payload\":{\"kernel\":\"k\"}}{}"
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused(bad[i], "malformed JSON");
}

Test(api_json, depth_and_size_bounds)
{
    size_t n = APIJ_MAX_BODY + 10;
    char *big = malloc(n + 1), deep[200];
    ProtobufCMessage *m = NULL;

    cr_assert_not_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    cr_assert_eq(apij_parse(big, n, &cellvm__api_vm_config__descriptor, &m, err, sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "larger than"));
    free(big);
    memset(deep, '[', 100);
    memset(deep + 100, ']', 99);
    deep[199] = '\0';
    deep[0] = '{';
    refused(deep, "malformed JSON");
}

/* Kata's root image: every default vm.create carries it. */
Test(api_json, pmem_as_kata_sends_it)
{
    Cellvm__ApiVmConfig *m =
        parse_vm("{\"pmem\":[{\"file\":\"/img\",\"discard_writes\":true},"
                 "{\"file\":\"/b\",\"size\":4194304,\"id\":\"p1\",\"pci_segment\":0}]}",
                 0);

    cr_assert_eq(m->n_pmem, 2);
    cr_expect_str_eq(m->pmem[0]->file, "/img");
    cr_expect(m->pmem[0]->has_discard_writes && m->pmem[0]->discard_writes);
    cr_expect_not(m->pmem[0]->has_size);
    cr_expect(m->pmem[1]->has_size);
    cr_expect_eq(m->pmem[1]->size, 4194304);
    cr_expect_str_eq(m->pmem[1]->id, "p1");
    protobuf_c_message_free_unpacked(&m->base, NULL);
}

Test(api_json, unsupported_features_are_named)
{
    refused("{\"vdpa\":[{\"path\":\"a\"}]}", "vDPA devices");
    refused("{\"disks\":[{\"path\":\"a\",\"queue_affinity\":[{\"queue_index\":0}]}]}",
            "virtqueue affinity");
    /* The schema's defaults mean "not used" and pass. */
    protobuf_c_message_free_unpacked(
        &parse_vm("{\"balloon\":null,\"devices\":[],\"tpm\":{},\"landlock_enable\":false}", 0)
             ->base,
        NULL);
}

/* --landlock (issue 20): landlock_enable and LandlockConfig rules. */
Test(api_json, landlock_parses)
{
    Cellvm__ApiVmConfig *m = parse_vm("{\"landlock_enable\":true,\"landlock_rules\":["
                                      "{\"path\":\"/tmp\",\"access\":\"rw\"},"
                                      "{\"path\":\"/dev/null\",\"access\":\"r\"}]}",
                                      0);

    cr_expect(m->has_landlock_enable && m->landlock_enable);
    cr_assert_eq(m->n_landlock_rules, 2);
    cr_expect_str_eq(m->landlock_rules[0]->path, "/tmp");
    cr_expect_str_eq(m->landlock_rules[1]->access, "r");
    protobuf_c_message_free_unpacked(&m->base, NULL);
    refused("{\"landlock_rules\":[{\"path\":1}]}", "landlock_rules");
}

/* --balloon (issue 17): Cloud Hypervisor's BalloonConfig, absent keys absent. */
Test(api_json, balloon_parses)
{
    Cellvm__ApiVmConfig *c =
        parse_vm("{\"balloon\":{\"size\":268435456,\"free_page_reporting\":true}}", 0);

    cr_assert_not_null(c->balloon);
    cr_expect(c->balloon->has_size && c->balloon->size == 268435456ull);
    cr_expect(c->balloon->has_free_page_reporting && c->balloon->free_page_reporting);
    cr_expect(!c->balloon->has_deflate_on_oom);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    refused("{\"balloon\":{\"size\":\"1G\"}}", "balloon.size");
}

Test(api_json, null_means_absent)
{
    Cellvm__ApiVmConfig *c =
        parse_vm("{\"payload\":{\"kernel\":\"k\",\"initramfs\":null},\"cpus\":null}", 0);

    cr_assert_null(c->payload->initramfs);
    cr_assert_null(c->cpus);
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

Test(api_json, info_ping_counters)
{
    Cellvm__ApiVmInfo info = CELLVM__API_VM_INFO__INIT;
    Cellvm__ApiCounters ctr = CELLVM__API_COUNTERS__INIT;
    Cellvm__ApiDeviceCounters dev = CELLVM__API_DEVICE_COUNTERS__INIT, *devp = &dev;
    Cellvm__ApiCounter a = CELLVM__API_COUNTER__INIT, *ap = &a;
    Cellvm__ApiVmConfig *c = parse_vm(kata, 0);
    char *s;

    info.config = c;
    info.state = CELLVM__API_VM_STATE__API_VM_STATE_PAUSED;
    info.has_state = 1;
    s = apij_render_info(&info);
    cr_assert(strstr(s, "\"state\":\"Paused\""), "%s", s);
    cr_assert(strstr(s, "\"config\":{"), "%s", s);
    free(s);
    a.name = (char *)"read_bytes";
    a.value = 4096;
    dev.id = (char *)"disk0";
    dev.counters = &ap;
    dev.n_counters = 1;
    ctr.devices = &devp;
    ctr.n_devices = 1;
    s = apij_render_counters(&ctr);
    cr_assert_str_eq(s, "{\"disk0\":{\"read_bytes\":4096}}");
    free(s);
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

Test(api_routes, quirks_and_bodies)
{
    unsigned n;
    const struct api_route *r = api_routes(&n);

    cr_assert_eq(n, 30, "v51.0 has 30 paths");
    cr_assert_not_null(api_route_find("/api/v1/vm.nmi"));
    cr_assert_null(api_route_find("/api/v1/vmm.nmi"), "CH routes /vm.nmi, not the file's /vmm.nmi");
    cr_assert_null(api_route_find("/vm.info"));
    cr_assert_null(api_route_find("/api/v1/vm.info/x"));
    for (unsigned i = 0; i < n; i++) {
        cr_assert(r[i].endpoint || (r[i].missing && r[i].missing_status >= 400), "%s", r[i].path);
        /* TAP fds: vm.add-net's, vm.restore's net_fds. */
        cr_assert_eq(r[i].takes_fds,
                     !strcmp(r[i].path, "/vm.add-net") || !strcmp(r[i].path, "/vm.restore"));
    }
}

/* The 200 answer of a hot add: PciDeviceInfo, id then bdf. */
Test(api_json, pci_device_info)
{
    Cellvm__ApiPciDeviceInfo p = CELLVM__API_PCI_DEVICE_INFO__INIT;
    char *s;

    p.id = (char *)"hd1";
    p.bdf = (char *)"0000:00:05.0";
    s = apij_render_pci_device(&p);
    cr_assert_str_eq(s, "{\"id\":\"hd1\",\"bdf\":\"0000:00:05.0\"}");
    free(s);
}

static ProtobufCMessage *parse_as(const ProtobufCMessageDescriptor *d, const char *json, int expect)
{
    ProtobufCMessage *m = NULL;
    int r = apij_parse(json, strlen(json), d, &m, err, sizeof(err));

    cr_assert_eq(r, expect, "apij_parse(%s) = %d (%s)", json, r, r ? err : "");
    return m;
}

/* The bodies of vm.add-disk, vm.add-vsock, vm.add-device, vm.add-user-device, vm.add-fs,
 * vm.remove-device and vm.create's platform and fs, as the routes take them. */
Test(api_json, add_and_remove_bodies)
{
    const struct api_route *rt;
    Cellvm__ApiDiskConfig *d;
    Cellvm__ApiVsockConfig *v;
    Cellvm__ApiVmRemoveDevice *rm;
    Cellvm__ApiUserDeviceConfig *u;
    Cellvm__ApiFsConfig *f;
    Cellvm__ApiVmConfig *c;

    rt = api_route_find("/api/v1/vm.add-disk");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_ADD_DISK && !rt->takes_fds);
    d = (Cellvm__ApiDiskConfig *)parse_as(
        rt->body, "{\"path\":\"/i.raw\",\"id\":\"hd1\",\"pci_segment\":1}", 0);
    cr_expect_str_eq(d->path, "/i.raw");
    cr_expect_str_eq(d->id, "hd1");
    cr_expect(d->has_pci_segment && d->pci_segment == 1);
    protobuf_c_message_free_unpacked(&d->base, NULL);
    rt = api_route_find("/api/v1/vm.add-vsock");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_ADD_VSOCK);
    v = (Cellvm__ApiVsockConfig *)parse_as(rt->body, "{\"cid\":3,\"socket\":\"/v\"}", 0);
    cr_expect(v->has_cid && v->cid == 3);
    protobuf_c_message_free_unpacked(&v->base, NULL);
    rt = api_route_find("/api/v1/vm.add-device");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_ADD_DEVICE);
    cr_assert_null(parse_as(rt->body, "{\"path\":\"/p\",\"bdf\":1}", -EINVAL));
    cr_expect(strstr(err, "DeviceConfig.bdf: unknown field"), "%s", err);
    rt = api_route_find("/api/v1/vm.add-user-device");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_ADD_USER_DEVICE);
    u = (Cellvm__ApiUserDeviceConfig *)parse_as(rt->body, "{\"socket\":\"/s\"}", 0);
    cr_expect_str_eq(u->socket, "/s");
    protobuf_c_message_free_unpacked(&u->base, NULL);
    rt = api_route_find("/api/v1/vm.remove-device");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_REMOVE_DEVICE);
    rm = (Cellvm__ApiVmRemoveDevice *)parse_as(rt->body, "{\"id\":\"hd1\"}", 0);
    cr_expect_str_eq(rm->id, "hd1");
    protobuf_c_message_free_unpacked(&rm->base, NULL);
    cr_assert_null(parse_as(rt->body, "{\"id\":1}", -EINVAL));
    c = parse_vm("{\"platform\":{\"num_pci_segments\":2,\"oem_strings\":[\"a\"]}}", 0);
    cr_assert_not_null(c->platform);
    cr_expect_eq(c->platform->num_pci_segments, 2);
    cr_expect_eq(c->platform->n_oem_strings, 1);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    rt = api_route_find("/api/v1/vm.add-fs");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_ADD_FS);
    f = (Cellvm__ApiFsConfig *)parse_as(rt->body,
                                        "{\"tag\":\"t\",\"socket\":\"/s\",\"num_queues\":1,"
                                        "\"queue_size\":1024,\"id\":\"fs1\",\"pci_segment\":0}",
                                        0);
    cr_expect_str_eq(f->tag, "t");
    cr_expect_str_eq(f->socket, "/s");
    cr_expect_str_eq(f->id, "fs1");
    cr_expect(f->has_queue_size && f->queue_size == 1024 && f->num_queues == 1);
    protobuf_c_message_free_unpacked(&f->base, NULL);
    cr_assert_null(parse_as(rt->body, "{\"tag\":\"t\",\"cache\":\"always\"}", -EINVAL));
    c = parse_vm("{\"fs\":[{\"tag\":\"a\",\"socket\":\"/s\"}]}", 0);
    cr_assert_eq(c->n_fs, 1);
    cr_expect_str_eq(c->fs[0]->tag, "a");
    protobuf_c_message_free_unpacked(&c->base, NULL);
    /* vm.add-pmem (issue 20): a PmemConfig, file required by the schema's own parser later. */
    rt = api_route_find("/api/v1/vm.add-pmem");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_ADD_PMEM &&
              rt->body == &cellvm__api_pmem_config__descriptor);
    {
        Cellvm__ApiPmemConfig *pm = (Cellvm__ApiPmemConfig *)parse_as(
            rt->body,
            "{\"file\":\"/p.img\",\"size\":4194304,\"discard_writes\":true,\"id\":\"pm0\"}", 0);

        cr_assert_not_null(pm);
        cr_expect_str_eq(pm->file, "/p.img");
        cr_expect(pm->has_size && pm->size == 4194304 && pm->has_discard_writes &&
                  pm->discard_writes);
        cr_expect_str_eq(pm->id, "pm0");
        protobuf_c_message_free_unpacked(&pm->base, NULL);
    }
    cr_assert_null(parse_as(rt->body, "{\"file\":\"/p\",\"bogus\":1}", -EINVAL));
    rt = api_route_find("/api/v1/vm.resize");
    cr_assert(rt && rt->endpoint == CELLVM__API_ENDPOINT__API_VM_RESIZE &&
              rt->body == &cellvm__api_vm_resize__descriptor);
}

Test(api_json, rate_limiters_parse)
{
    Cellvm__ApiVmConfig *c = parse_vm(
        "{\"rate_limit_groups\":[{\"id\":\"g0\",\"rate_limiter_config\":{\"bandwidth\":"
        "{\"size\":4194304,\"refill_time\":1000}}}],"
        "\"disks\":[{\"path\":\"a\",\"rate_limit_group\":\"g0\"},{\"path\":\"b\","
        "\"rate_limiter_config\":{\"ops\":{\"size\":100,\"one_time_burst\":5,"
        "\"refill_time\":10}}}],"
        "\"net\":[{\"rate_limiter_config\":{\"bandwidth\":{\"size\":1,\"refill_time\":2}}}]}",
        0);

    cr_assert_eq(c->n_rate_limit_groups, 1);
    cr_expect_str_eq(c->rate_limit_groups[0]->id, "g0");
    cr_expect_eq(c->rate_limit_groups[0]->rate_limiter_config->bandwidth->size, 4194304);
    cr_expect_eq(c->rate_limit_groups[0]->rate_limiter_config->bandwidth->refill_time, 1000);
    cr_expect_null(c->rate_limit_groups[0]->rate_limiter_config->ops);
    cr_expect_str_eq(c->disks[0]->rate_limit_group, "g0");
    cr_expect_eq(c->disks[1]->rate_limiter_config->ops->one_time_burst, 5);
    cr_expect_eq(c->net[0]->rate_limiter_config->bandwidth->refill_time, 2);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    refused("{\"disks\":[{\"path\":\"a\",\"rate_limiter_config\":{\"ops\":{\"size\":-1}}}]}",
            "size");
}
