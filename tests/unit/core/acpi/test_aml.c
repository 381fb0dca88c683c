/* Byte-level checks of the AML encoder against ACPI 6.5 section 20 encodings. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/acpi/aml.h"

struct sink {
    struct acpi_buf b;
    uint8_t mem[0x12000];
};

static void sink_init(struct sink *s)
{
    memset(s->mem, 0, sizeof(s->mem));
    acpi_buf_init(&s->b, s->mem, sizeof(s->mem));
}

#define EXPECT_BYTES(s, ...)                                                        \
    do {                                                                            \
        const uint8_t want_[] = { __VA_ARGS__ };                                    \
        cr_assert_eq((s)->b.err, 0, "error %d", (s)->b.err);                        \
        cr_assert_eq((s)->b.len, sizeof(want_), "length %zu, want %zu", (s)->b.len, \
                     sizeof(want_));                                                \
        cr_assert(!memcmp((s)->mem, want_, sizeof(want_)), "bytes differ");         \
    } while (0)

Test(aml, integers_use_the_smallest_encoding)
{
    static const struct {
        uint64_t v;
        size_t len;
        uint8_t first;
    } cases[] = {
        { 0, 1, 0x00 },          { 1, 1, 0x01 },          { 2, 2, 0x0a },
        { 0xff, 2, 0x0a },       { 0x100, 3, 0x0b },      { 0xffff, 3, 0x0b },
        { 0x10000, 5, 0x0c },    { 0xffffffff, 5, 0x0c }, { 0x100000000ull, 9, 0x0e },
        { UINT64_MAX, 9, 0x0e },
    };
    struct sink s;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sink_init(&s);
        aml_int(&s.b, cases[i].v);
        cr_assert_eq(s.b.len, cases[i].len, "value %#llx", (unsigned long long)cases[i].v);
        cr_assert_eq(s.mem[0], cases[i].first);
    }
    sink_init(&s);
    aml_int(&s.b, 0x12345678);
    EXPECT_BYTES(&s, 0x0c, 0x78, 0x56, 0x34, 0x12);
}

Test(aml, name_strings)
{
    struct sink s;

    sink_init(&s);
    aml_name_ref(&s.b, "_S5");
    EXPECT_BYTES(&s, '_', 'S', '5', '_');
    sink_init(&s);
    aml_name_ref(&s.b, "\\_SB.PWRB");
    EXPECT_BYTES(&s, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B');
    sink_init(&s);
    aml_name_ref(&s.b, "\\_SB.PC00.S08");
    EXPECT_BYTES(&s, 0x5c, 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', '0', '0', 'S', '0', '8', '_');
    sink_init(&s);
    aml_name_ref(&s.b, "^^GED");
    EXPECT_BYTES(&s, 0x5e, 0x5e, 'G', 'E', 'D', '_');
}

Test(aml, mutex_acquire_release_shift)
{
    struct sink s;

    sink_init(&s);
    aml_mutex(&s.b, "BLCK", 0);
    aml_acquire(&s.b, "BLCK", 0xffff);
    aml_release(&s.b, "BLCK");
    /* B0EJ = One << Arg0 */
    aml_op(&s.b, AML_SHIFT_LEFT);
    aml_int(&s.b, 1);
    aml_arg(&s.b, 0);
    aml_name_ref(&s.b, "B0EJ");
    EXPECT_BYTES(&s, 0x5b, 0x01, 'B', 'L', 'C', 'K', 0x00,   /* Mutex (BLCK, 0) */
                 0x5b, 0x23, 'B', 'L', 'C', 'K', 0xff, 0xff, /* Acquire (BLCK, 0xFFFF) */
                 0x5b, 0x27, 'B', 'L', 'C', 'K',             /* Release (BLCK) */
                 0x79, 0x01, 0x68, 'B', '0', 'E', 'J');
    sink_init(&s);
    aml_mutex(&s.b, "BLCK", 16);
    cr_assert_eq(s.b.err, -EINVAL, "SyncLevel is 4 bits");
}

Test(aml, bad_names_latch_einval)
{
    static const char *const bad[] = { "",        "\\",   "^",  "com1", "1ABC",
                                       "TOOLONG", "A..B", "A.", ".A",   "A-B" };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sink s;

        sink_init(&s);
        aml_name_ref(&s.b, bad[i]);
        cr_assert_eq(s.b.err, -EINVAL, "\"%s\" accepted", bad[i]);
        /* Latched: later writes do nothing. */
        size_t len = s.b.len;
        aml_int(&s.b, 5);
        cr_assert_eq(s.b.len, len);
    }
}

Test(aml, eisaid)
{
    struct sink s;

    sink_init(&s);
    aml_eisaid(&s.b, "PNP0501");
    EXPECT_BYTES(&s, 0x0c, 0x41, 0xd0, 0x05, 0x01);
    sink_init(&s);
    aml_eisaid(&s.b, "PNP0C0C");
    EXPECT_BYTES(&s, 0x0c, 0x41, 0xd0, 0x0c, 0x0c);
    sink_init(&s);
    aml_eisaid(&s.b, "pnp0501");
    cr_assert_eq(s.b.err, -EINVAL);
    sink_init(&s);
    aml_eisaid(&s.b, "PNP05");
    cr_assert_eq(s.b.err, -EINVAL);
    sink_init(&s);
    aml_eisaid(&s.b, "PNP050G");
    cr_assert_eq(s.b.err, -EINVAL);
}

Test(aml, string)
{
    struct sink s;

    sink_init(&s);
    aml_string(&s.b, "ACPI0013");
    EXPECT_BYTES(&s, 0x0d, 'A', 'C', 'P', 'I', '0', '0', '1', '3', 0);
}

/* Decodes a PkgLength; returns its byte count. */
static size_t decode_pkglen(const uint8_t *p, uint32_t *value)
{
    size_t n = (size_t)(p[0] >> 6) + 1;

    if (n == 1) {
        *value = p[0] & 0x3f;
        return 1;
    }
    *value = p[0] & 0x0f;
    for (size_t i = 1; i < n; i++)
        *value |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    return n;
}

/* Packages whose bodies straddle the 1/2/3-byte PkgLength boundaries. */
Test(aml, pkglen_boundaries)
{
    static const size_t bodies[] = { 0, 61, 62, 63, 64, 0xffc, 0xffd, 0xffe, 0xfff, 0x10000 };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct sink s;
        uint32_t v;
        size_t n, mark;

        sink_init(&s);
        mark = aml_scope(&s.b, "S");
        /* scope = NameSeg (4 bytes) + filler */
        for (size_t k = 4; k < bodies[i]; k++)
            acpi_buf_put8(&s.b, 0xa3); /* NoopOp */
        aml_end(&s.b, mark);
        cr_assert_eq(s.b.err, 0);
        n = decode_pkglen(s.mem + 1, &v);
        size_t body = bodies[i] < 4 ? 4 : bodies[i];
        cr_assert_eq(v, body + n, "body %zu: PkgLength %u counts itself", body, v);
        cr_assert_eq(s.b.len, 1 + n + body);
        cr_assert_eq(n, body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 : 3, "body %zu", body);
        cr_assert(!memcmp(s.mem + 1 + n, "S___", 4));
    }
}

Test(aml, method_if_notify)
{
    struct sink s;
    size_t m, c;

    sink_init(&s);
    m = aml_method(&s.b, "_EVT", 1, true);
    aml_op(&s.b, AML_STORE);
    aml_name_ref(&s.b, "GDAT");
    aml_local(&s.b, 0);
    c = aml_if(&s.b);
    aml_op(&s.b, AML_AND);
    aml_local(&s.b, 0);
    aml_int(&s.b, 1);
    aml_null_target(&s.b);
    aml_op(&s.b, AML_NOTIFY);
    aml_name_ref(&s.b, "PWRB");
    aml_int(&s.b, 0x80);
    aml_end(&s.b, c);
    aml_end(&s.b, m);
    EXPECT_BYTES(&s, 0x14, 0x19, '_', 'E', 'V', 'T', 0x09, /* Method, 1 arg, serialized */
                 0x70, 'G', 'D', 'A', 'T', 0x60,           /* Store (GDAT, Local0) */
                 0xa0, 0x0c, 0x7b, 0x60, 0x01, 0x00,       /* If (And (Local0, One)) */
                 0x86, 'P', 'W', 'R', 'B', 0x0a, 0x80);    /* Notify (PWRB, 0x80) */
}

Test(aml, device_region_field)
{
    struct sink s;
    size_t d, f;

    sink_init(&s);
    d = aml_device(&s.b, "GED");
    aml_op_region(&s.b, "GDST", AML_SYSTEM_MEMORY, 0xfeb00000, 4);
    f = aml_field(&s.b, "GDST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
    aml_field_unit(&s.b, "GDAT", 32);
    aml_field_unit(&s.b, "WIDE", 100); /* two-byte bit count, not self-inclusive */
    aml_end(&s.b, f);
    aml_end(&s.b, d);
    EXPECT_BYTES(&s, 0x5b, 0x82, 0x26, 'G', 'E', 'D', '_',                  /* Device (GED) */
                 0x5b, 0x80, 'G', 'D', 'S', 'T', 0x00,                      /* OperationRegion */
                 0x0c, 0x00, 0x00, 0xb0, 0xfe, 0x0a, 0x04,                  /* offset, length */
                 0x5b, 0x81, 0x11, 'G', 'D', 'S', 'T', 0x43,                /* Field */
                 'G', 'D', 'A', 'T', 0x20, 'W', 'I', 'D', 'E', 0x44, 0x06); /* units */
}

Test(aml, package)
{
    struct sink s;
    size_t p;

    sink_init(&s);
    aml_name(&s.b, "_S5");
    p = aml_package(&s.b, 4);
    aml_int(&s.b, 5);
    aml_int(&s.b, 0);
    aml_int(&s.b, 0);
    aml_int(&s.b, 0);
    aml_end(&s.b, p);
    EXPECT_BYTES(&s, 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00);
}

Test(aml, resource_template)
{
    struct sink s;
    size_t r;

    sink_init(&s);
    r = aml_restemp(&s.b);
    aml_res_io(&s.b, 0x3f8, 8);
    aml_res_irq_noflags(&s.b, 4);
    aml_res_mem32_fixed(&s.b, true, 0xfeb00000, 0x1000);
    aml_res_interrupt(&s.b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 5);
    aml_restemp_end(&s.b, r);
    EXPECT_BYTES(&s, 0x11, 0x25, 0x0a, 0x22,                     /* Buffer (34) */
                 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, /* IO */
                 0x22, 0x10, 0x00,                               /* IRQNoFlags {4} */
                 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xb0, 0xfe, /* Memory32Fixed */
                 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00,
                 0x00,        /* Interrupt {5} */
                 0x79, 0x00); /* EndTag */
    sink_init(&s);
    aml_res_irq_noflags(&s.b, 16);
    cr_assert_eq(s.b.err, -EINVAL);
}

Test(aml, enospc_is_latched)
{
    uint8_t mem[6];
    struct acpi_buf b;
    size_t m;

    acpi_buf_init(&b, mem, sizeof(mem));
    m = aml_device(&b, "ABCD");
    aml_end(&b, m);
    cr_assert_eq(b.err, -ENOSPC, "7 bytes do not fit in 6");
    cr_assert_leq(b.len, sizeof(mem));
}

Test(aml, while_and_reserved_field)
{
    struct sink s;
    size_t w, f;

    sink_init(&s);
    w = aml_while(&s.b);
    aml_op(&s.b, AML_LLESS);
    aml_local(&s.b, 0);
    aml_int(&s.b, 4);
    aml_op(&s.b, AML_ADD);
    aml_local(&s.b, 0);
    aml_int(&s.b, 1);
    aml_local(&s.b, 0);
    aml_end(&s.b, w);
    f = aml_field(&s.b, "PRST", AML_FIELD_BYTE_ACC | AML_FIELD_WRITE_AS_ZEROS);
    aml_field_reserved(&s.b, 32);
    aml_field_unit(&s.b, "CPEN", 1);
    aml_field_reserved(&s.b, 160); /* two-byte width */
    aml_end(&s.b, f);
    EXPECT_BYTES(&s, 0xa2, 0x09, 0x95, 0x60, 0x0a, 0x04,                 /* While (Local0 < 4) */
                 0x72, 0x60, 0x01, 0x60,                                 /* Local0 += 1 */
                 0x5b, 0x81, 0x10, 'P', 'R', 'S', 'T', 0x41, 0x00, 0x20, /* Field, Offset (4) */
                 'C', 'P', 'E', 'N', 0x01, 0x00, 0x40, 0x0a);            /* CPEN 1, 160 bits */
    sink_init(&s);
    aml_field_reserved(&s.b, 0);
    cr_expect_eq(s.b.err, -EINVAL);
}

Test(aml, qword_ram_is_cacheable)
{
    struct sink s;

    sink_init(&s);
    aml_res_qword_ram(&s.b, 0x100000000ull, 0x13fffffffull);
    cr_assert_eq(s.b.err, 0);
    cr_assert_eq(s.b.len, 46);
    cr_expect_eq(s.mem[0], 0x8a);
    cr_expect_eq(s.mem[4], 0x0c, "producer, fixed minimum and maximum");
    cr_expect_eq(s.mem[5], 0x03, "cacheable, read-write");
    sink_init(&s);
    aml_res_qword_mem(&s.b, 0x100000000ull, 0x13fffffffull);
    cr_expect_eq(s.mem[5], 0x01, "a bridge window stays non-cacheable");
}
