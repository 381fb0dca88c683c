/* The VIOT (virtio-iommu topology): its bytes as Linux's drivers/acpi/viot.c reads them
 * (header, checksum, node count and offset, each node's type, length and fields, every range's
 * output node pointing at the IOMMU node), the endpoint ids Linux derives from a range, the
 * rejected inputs, and `iasl -d` on the table: its log must be clean; an iasl that knows VIOT
 * (ACPICA 20210604 and later) must decode our fields; an older one (Debian 12's 20200925 prints
 * "Unknown ACPI table signature") must still decode the header and dump exactly our bytes. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_test_util.h"
#include "core/acpi/viot.h"

static size_t build(uint8_t *buf, size_t cap, const struct viot_params *p, int *err)
{
    struct acpi_buf b;

    acpi_buf_init(&b, buf, cap);
    acpi_viot_build(&b, p);
    *err = b.err;
    return b.len;
}

/* Linux's endpoint id for (segment, bdf) through the table's ranges; -1 when none covers it. */
static int64_t linux_endpoint(const uint8_t *t, uint16_t seg, uint16_t bdf)
{
    uint16_t count = rd16(t + 36), off = rd16(t + 38);

    for (unsigned i = 0; i < count && off + 4u <= rd32(t + 4); i++) {
        const uint8_t *n = t + off;

        if (n[0] == VIOT_NODE_PCI_RANGE && seg >= rd16(n + 8) && seg <= rd16(n + 10) &&
            bdf >= rd16(n + 12) && bdf <= rd16(n + 14))
            return ((int64_t)(seg - rd16(n + 8)) << 16) + bdf - rd16(n + 12) + rd32(n + 4);
        off += rd16(n + 2);
    }
    return -1;
}

Test(acpi_viot, bytes)
{
    const struct viot_range r[3] = { viot_segment_range(0),
                                     viot_segment_range(1),
                                     { .endpoint_start = viot_endpoint(4, 0x100),
                                       .segment_start = 4,
                                       .segment_end = 5,
                                       .bdf_start = 0x100,
                                       .bdf_end = 0x1ff } };
    const struct viot_params p = {
        .iommu_segment = 0, .iommu_bdf = 0x20, .nranges = 3, .ranges = r
    };
    uint8_t buf[512], *t = buf + 8;
    size_t len;

    memset(buf, 0xee, sizeof(buf));
    {
        struct acpi_buf b;

        acpi_buf_init(&b, buf, sizeof(buf));
        acpi_buf_put64(&b, 0x1122334455667788ull); /* the table need not start at 0 */
        acpi_viot_build(&b, &p);
        cr_assert_eq(b.err, 0);
        len = b.len - 8;
    }
    cr_assert_eq(len, 48 + 16 + 3 * 24);
    cr_expect_eq(memcmp(t, "VIOT", 4), 0);
    cr_expect_eq(rd32(t + 4), len, "length");
    cr_expect_eq(t[8], 0, "revision 0");
    cr_expect_eq(byte_sum(t, len), 0, "checksum");
    cr_expect_eq(memcmp(t + 10, "CELLVM", 6), 0, "OEM id");
    cr_expect_eq(memcmp(t + 16, "CVMVIOT ", 8), 0, "OEM table id");
    cr_expect_eq(rd16(t + 36), 4, "node count: the IOMMU and 3 ranges");
    cr_expect_eq(rd16(t + 38), 48, "node offset");
    for (unsigned i = 40; i < 48; i++)
        cr_expect_eq(t[i], 0, "reserved byte %u", i);
    /* the virtio-pci IOMMU node */
    cr_expect_eq(t[48], 3);
    cr_expect_eq(t[49], 0);
    cr_expect_eq(rd16(t + 50), 16);
    cr_expect_eq(rd16(t + 52), 0, "segment");
    cr_expect_eq(rd16(t + 54), 0x20, "bdf 00:04.0");
    for (unsigned i = 56; i < 64; i++)
        cr_expect_eq(t[i], 0);
    /* the ranges */
    for (unsigned i = 0; i < 3; i++) {
        const uint8_t *n = t + 64 + 24 * i;

        cr_expect_eq(n[0], 1, "range %u: PCI range", i);
        cr_expect_eq(n[1], 0);
        cr_expect_eq(rd16(n + 2), 24);
        cr_expect_eq(rd32(n + 4), r[i].endpoint_start);
        cr_expect_eq(rd16(n + 8), r[i].segment_start);
        cr_expect_eq(rd16(n + 10), r[i].segment_end);
        cr_expect_eq(rd16(n + 12), r[i].bdf_start);
        cr_expect_eq(rd16(n + 14), r[i].bdf_end);
        cr_expect_eq(rd16(n + 16), 48, "output node: the IOMMU node's offset");
        for (unsigned j = 18; j < 24; j++)
            cr_expect_eq(n[j], 0);
    }
    cr_expect_eq(buf[8 + len], 0xee, "nothing past the table");
    /* the ids Linux derives are the ones the device model uses */
    cr_expect_eq(linux_endpoint(t, 0, 0x18), 0x18);
    cr_expect_eq(linux_endpoint(t, 1, 0xffff), 0x1ffff);
    cr_expect_eq(linux_endpoint(t, 4, 0x108), 0x40108);
    cr_expect_eq(linux_endpoint(t, 5, 0x1ff), 0x501ff);
    cr_expect_eq(linux_endpoint(t, 4, 0x8), -1, "outside the bdf range");
    cr_expect_eq(linux_endpoint(t, 2, 0x8), -1, "segment without a range");
}

Test(acpi_viot, rejected_inputs)
{
    struct viot_range r = viot_segment_range(3);
    struct viot_params p = { .iommu_bdf = 8, .nranges = 1, .ranges = &r };
    uint8_t buf[16384];
    int err;

    cr_expect_gt(build(buf, sizeof(buf), &p, &err), 0);
    cr_expect_eq(err, 0);
    p.nranges = 0;
    build(buf, sizeof(buf), &p, &err);
    cr_expect_eq(err, -EINVAL, "no range");
    p.nranges = 1;
    p.ranges = NULL;
    build(buf, sizeof(buf), &p, &err);
    cr_expect_eq(err, -EINVAL);
    p.ranges = &r;
    r.segment_end = 2;
    build(buf, sizeof(buf), &p, &err);
    cr_expect_eq(err, -EINVAL, "segment_start > segment_end");
    r = viot_segment_range(3);
    r.bdf_start = 9;
    r.bdf_end = 8;
    build(buf, sizeof(buf), &p, &err);
    cr_expect_eq(err, -EINVAL, "bdf_start > bdf_end");
    r = viot_segment_range(0xffff);
    r.endpoint_start = 0xffff0001u;
    build(buf, sizeof(buf), &p, &err);
    cr_expect_eq(err, -EINVAL, "ids past 2^32 - 1");
    r.endpoint_start = 0xffff0000u;
    build(buf, sizeof(buf), &p, &err);
    cr_expect_eq(err, 0, "up to 2^32 - 1 exactly");
    {
        struct viot_range *many = calloc(VIOT_MAX_RANGES + 1, sizeof(*many));

        cr_assert_not_null(many);
        for (unsigned i = 0; i <= VIOT_MAX_RANGES; i++)
            many[i] = viot_segment_range((uint16_t)i);
        p.ranges = many;
        p.nranges = VIOT_MAX_RANGES;
        cr_expect_eq(build(buf, sizeof(buf), &p, &err), 48 + 16 + 24 * VIOT_MAX_RANGES);
        cr_expect_eq(err, 0);
        p.nranges = VIOT_MAX_RANGES + 1;
        build(buf, sizeof(buf), &p, &err);
        cr_expect_eq(err, -EINVAL);
        p.nranges = VIOT_MAX_RANGES;
        build(buf, 100, &p, &err);
        cr_expect_eq(err, -ENOSPC, "no room");
        free(many);
    }
}

/* The value iasl prints for the next `name :` line at or after *from; advances *from. */
static unsigned long long field(const char **from, const char *name)
{
    char key[128];
    const char *at;

    snprintf(key, sizeof(key), "%s : ", name);
    at = strstr(*from, key);
    cr_assert_not_null(at, "iasl printed no \"%s\" after:\n%.400s", name, *from);
    *from = at + strlen(key);
    return strtoull(*from, NULL, 16);
}

/* The bytes of iasl's "Raw Table Data" dump: lines "    OFFS: xx xx ...  // ascii". */
static size_t raw_dump(const char *text, uint8_t *out, size_t max)
{
    const char *at = strstr(text, "Raw Table Data");
    size_t n = 0;

    cr_assert_not_null(at);
    while ((at = strchr(at, '\n')) && n < max) {
        char line[256];
        size_t ll = strcspn(++at, "\n");
        unsigned off, v;
        int used;
        const char *p;

        if (ll >= sizeof(line))
            continue;
        memcpy(line, at, ll);
        line[ll] = '\0';
        if (sscanf(line, " %4x:%n", &off, &used) != 1)
            continue;
        cr_assert_eq(off, n, "dump offset %x at %zu", off, n);
        for (p = line + used; n < max && p[0] == ' ' && p[1] != ' '; p += used) {
            if (sscanf(p, " %2x%n", &v, &used) != 1)
                break;
            out[n++] = (uint8_t)v;
        }
    }
    return n;
}

Test(acpi_viot, iasl_disassembles_it)
{
    const struct viot_range r[2] = { viot_segment_range(0), viot_segment_range(1) };
    const struct viot_params p = {
        .iommu_segment = 1, .iommu_bdf = 0x28, .nranges = 2, .ranges = r
    };
    uint8_t t[512], dump[512];
    char dat[4096], prefix[4096], dsl[4096], log[4096], *dir, *text, *logtext;
    char *argv[] = { "iasl", "-vs", "-p", prefix, "-d", dat, NULL };
    const char *bad, *at;
    int err;
    size_t len;

    if (!find_in_path("iasl"))
        cr_skip_test("iasl not found in PATH (Debian: apt-get install acpica-tools)");
    len = build(t, sizeof(t), &p, &err);
    cr_assert_eq(err, 0);
    dir = make_tmpdir();
    snprintf(dat, sizeof(dat), "%s/viot.dat", dir);
    snprintf(prefix, sizeof(prefix), "%s/viot", dir);
    snprintf(dsl, sizeof(dsl), "%s/viot.dsl", dir);
    snprintf(log, sizeof(log), "%s/viot.log", dir);
    cr_assert_eq(write_file(dat, t, len), 0);
    cr_assert_eq(run_logged(argv, log), 0, "iasl -d");
    logtext = read_file(log, NULL);
    text = read_file(dsl, NULL);
    cr_assert_not_null(text, "iasl wrote no .dsl:\n%s", logtext ? logtext : "");
    bad = find_bad_word(logtext ? logtext : "");
    cr_expect_null(bad, "iasl's log says \"%s\":\n%s", bad, logtext);
    bad = find_bad_word(text);
    cr_expect_null(bad, "the .dsl says \"%s\":\n%s", bad, text);
    at = text;
    cr_expect_eq(field(&at, "Table Length"), len);
    cr_expect_eq(field(&at, "Revision"), 0);
    cr_expect_eq(field(&at, "Checksum"), t[9]);
    cr_expect_not_null(strstr(text, "\"CELLVM\""));
    if (strstr(text, "Unknown ACPI table signature")) {
        fprintf(stderr, "note: this iasl does not decode VIOT (ACPICA < 20210604): "
                        "comparing its raw dump\n");
        cr_expect_eq(raw_dump(text, dump, sizeof(dump)), len);
        cr_expect_eq(memcmp(dump, t, len), 0, "iasl read our exact bytes");
    } else {
        cr_expect_eq(field(&at, "Node count"), 3);
        cr_expect_eq(field(&at, "Node offset"), 48);
        cr_expect_eq(field(&at, "Type"), 3);
        cr_expect_eq(field(&at, "Length"), 16);
        cr_expect_eq(field(&at, "PCI Segment"), 1);
        cr_expect_eq(field(&at, "PCI BDF number"), 0x28);
        for (unsigned i = 0; i < 2; i++) {
            cr_expect_eq(field(&at, "Type"), 1);
            cr_expect_eq(field(&at, "Length"), 24);
            cr_expect_eq(field(&at, "Endpoint start"), i << 16);
            cr_expect_eq(field(&at, "PCI Segment start"), i);
            cr_expect_eq(field(&at, "PCI Segment end"), i);
            cr_expect_eq(field(&at, "PCI BDF start"), 0);
            cr_expect_eq(field(&at, "PCI BDF end"), 0xffff);
            cr_expect_eq(field(&at, "Output node"), 48);
        }
    }
    free(text);
    free(logtext);
    remove_tree(dir);
    free(dir);
}
