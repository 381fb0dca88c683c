#include "core/acpi/aml.h"

#include <errno.h>
#include <string.h>

/* Encodings from ACPI 6.5, section 20.2. */
#define AML_ZERO           0x00
#define AML_ONE            0x01
#define AML_NAME_OP        0x08
#define AML_BYTE_PREFIX    0x0a
#define AML_WORD_PREFIX    0x0b
#define AML_DWORD_PREFIX   0x0c
#define AML_STRING_PREFIX  0x0d
#define AML_QWORD_PREFIX   0x0e
#define AML_SCOPE_OP       0x10
#define AML_BUFFER_OP      0x11
#define AML_PACKAGE_OP     0x12
#define AML_METHOD_OP      0x14
#define AML_DUAL_NAME      0x2e
#define AML_MULTI_NAME     0x2f
#define AML_EXT_PREFIX     0x5b
#define AML_ROOT_CHAR      0x5c
#define AML_PARENT_CHAR    0x5e
#define AML_LOCAL0         0x60
#define AML_ARG0           0x68
#define AML_IF_OP          0xa0
#define AML_WHILE_OP       0xa2
#define AML_EXT_MUTEX_OP   0x01
#define AML_EXT_ACQUIRE_OP 0x23
#define AML_EXT_RELEASE_OP 0x27
#define AML_EXT_REGION_OP  0x80
#define AML_EXT_FIELD_OP   0x81
#define AML_EXT_DEVICE_OP  0x82

/* Resource descriptor tags (ACPI 6.5, 6.4.2 and 6.4.3). */
#define RES_IRQ_NOFLAGS 0x22 /* small, type 0x04, length 2 */
#define RES_IO          0x47 /* small, type 0x08, length 7 */
#define RES_END_TAG     0x79 /* small, type 0x0f, length 1 */
#define RES_MEM32_FIXED 0x86
#define RES_EXT_IRQ     0x89
#define RES_DWORD_ADDR  0x87
#define RES_WORD_ADDR   0x88
#define RES_QWORD_ADDR  0x8a
/* Address space descriptors (6.4.3.5): resource types and the general flags of a bridge
 * window: producer, positive decode, minimum and maximum fixed. */
#define RES_TYPE_MEM     0
#define RES_TYPE_IO      1
#define RES_TYPE_BUS     2
#define RES_WINDOW_FLAGS 0x0c
#define RES_IO_ENTIRE    0x03 /* _RNG: ISA and non-ISA ports */
#define RES_MEM_RW       0x01 /* non-cacheable, read-write */
#define RES_MEM_RAM      0x03 /* cacheable, read-write */
#define RES_IO_DECODE16  0x01
#define RES_MEM_WRITABLE 0x01

#define AML_NAMESEG_LEN  4
#define AML_PKGLEN_MAX   0x0fffffffu

static bool lead_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return lead_char(c) || (c >= '0' && c <= '9');
}

/* Writes one NameSeg from s (up to the next '.' or the end), padded with '_'; returns the
 * number of characters consumed, or 0 after latching -EINVAL. */
static size_t put_nameseg(struct acpi_buf *b, const char *s)
{
    char seg[AML_NAMESEG_LEN] = { '_', '_', '_', '_' };
    size_t n = 0;

    while (s[n] && s[n] != '.') {
        if (n == AML_NAMESEG_LEN || !(n ? name_char(s[n]) : lead_char(s[n]))) {
            acpi_buf_fail(b, -EINVAL);
            return 0;
        }
        seg[n] = s[n];
        n++;
    }
    if (!n) {
        acpi_buf_fail(b, -EINVAL);
        return 0;
    }
    acpi_buf_put_bytes(b, seg, sizeof(seg));
    return n;
}

static void put_name_string(struct acpi_buf *b, const char *path)
{
    size_t nsegs = 1;

    if (*path == '\\') {
        acpi_buf_put8(b, AML_ROOT_CHAR);
        path++;
    } else {
        while (*path == '^') {
            acpi_buf_put8(b, AML_PARENT_CHAR);
            path++;
        }
    }
    for (const char *c = path; *c; c++)
        nsegs += *c == '.';
    if (!*path) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    if (nsegs == 2) {
        acpi_buf_put8(b, AML_DUAL_NAME);
    } else if (nsegs > 2) {
        if (nsegs > UINT8_MAX) {
            acpi_buf_fail(b, -EINVAL);
            return;
        }
        acpi_buf_put8(b, AML_MULTI_NAME);
        acpi_buf_put8(b, (uint8_t)nsegs);
    }
    for (;;) {
        size_t used = put_nameseg(b, path);

        if (!used)
            return;
        path += used;
        if (!*path)
            return;
        path++; /* the '.' */
    }
}

/* PkgLength encoding of value (ACPI 6.5, 20.2.4): one byte up to 63, otherwise a lead byte
 * holding the count of following bytes and the low nibble. Returns the encoded size. */
static size_t encode_pkglen(uint32_t value, uint8_t out[4])
{
    size_t n;

    if (value <= 0x3f) {
        out[0] = (uint8_t)value;
        return 1;
    }
    n = value <= 0xfff ? 2 : value <= 0xfffff ? 3 : 4;
    out[0] = (uint8_t)(((n - 1) << 6) | (value & 0x0f));
    for (size_t i = 1; i < n; i++)
        out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
    return n;
}

void aml_end(struct acpi_buf *b, size_t mark)
{
    uint8_t enc[4];
    size_t body, n;

    if (b->err)
        return;
    if (mark > b->len) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    body = b->len - mark;
    /* PkgLength counts its own bytes, so the encoded size depends on the total. */
    for (n = 1; n <= 4; n++) {
        uint64_t total = (uint64_t)body + n;

        if (total > AML_PKGLEN_MAX)
            break;
        if (encode_pkglen((uint32_t)total, enc) == n) {
            acpi_buf_insert(b, mark, enc, n);
            return;
        }
    }
    acpi_buf_fail(b, -ENOSPC);
}

void aml_op(struct acpi_buf *b, enum aml_opcode op)
{
    acpi_buf_put8(b, (uint8_t)op);
}

void aml_int(struct acpi_buf *b, uint64_t v)
{
    if (v <= AML_ONE) {
        acpi_buf_put8(b, (uint8_t)v); /* ZeroOp, OneOp */
    } else if (v <= UINT8_MAX) {
        acpi_buf_put8(b, AML_BYTE_PREFIX);
        acpi_buf_put8(b, (uint8_t)v);
    } else if (v <= UINT16_MAX) {
        acpi_buf_put8(b, AML_WORD_PREFIX);
        acpi_buf_put16(b, (uint16_t)v);
    } else if (v <= UINT32_MAX) {
        acpi_buf_put8(b, AML_DWORD_PREFIX);
        acpi_buf_put32(b, (uint32_t)v);
    } else {
        acpi_buf_put8(b, AML_QWORD_PREFIX);
        acpi_buf_put64(b, v);
    }
}

void aml_string(struct acpi_buf *b, const char *s)
{
    /* AML strings are ASCII without embedded NULs (20.2.3). */
    for (const char *c = s; *c; c++) {
        if ((unsigned char)*c > 0x7f) {
            acpi_buf_fail(b, -EINVAL);
            return;
        }
    }
    acpi_buf_put8(b, AML_STRING_PREFIX);
    acpi_buf_put_bytes(b, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void aml_eisaid(struct acpi_buf *b, const char *id)
{
    uint8_t bytes[4];
    uint16_t vendor = 0;

    /* Three uppercase letters (5 bits each, 'A' = 1) then four hex digits, stored so that
     * the integer's memory bytes read big-endian (ASL EisaId, 19.6.35). */
    if (strlen(id) != 7) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z') {
            acpi_buf_fail(b, -EINVAL);
            return;
        }
        vendor = (uint16_t)((vendor << 5) | (id[i] - 'A' + 1));
    }
    bytes[0] = (uint8_t)(vendor >> 8);
    bytes[1] = (uint8_t)vendor;
    for (int i = 0; i < 2; i++) {
        int hi = hex_digit(id[3 + 2 * i]), lo = hex_digit(id[4 + 2 * i]);

        if (hi < 0 || lo < 0) {
            acpi_buf_fail(b, -EINVAL);
            return;
        }
        bytes[2 + i] = (uint8_t)(hi << 4 | lo);
    }
    acpi_buf_put8(b, AML_DWORD_PREFIX);
    acpi_buf_put_bytes(b, bytes, sizeof(bytes));
}

void aml_local(struct acpi_buf *b, unsigned n)
{
    if (n > 7)
        acpi_buf_fail(b, -EINVAL);
    else
        acpi_buf_put8(b, (uint8_t)(AML_LOCAL0 + n));
}

void aml_arg(struct acpi_buf *b, unsigned n)
{
    if (n > 6)
        acpi_buf_fail(b, -EINVAL);
    else
        acpi_buf_put8(b, (uint8_t)(AML_ARG0 + n));
}

void aml_null_target(struct acpi_buf *b)
{
    acpi_buf_put8(b, AML_ZERO); /* NullName */
}

void aml_name_ref(struct acpi_buf *b, const char *path)
{
    put_name_string(b, path);
}

void aml_name(struct acpi_buf *b, const char *path)
{
    acpi_buf_put8(b, AML_NAME_OP);
    put_name_string(b, path);
}

void aml_op_region(struct acpi_buf *b, const char *path, enum aml_region_space space,
                   uint64_t offset, uint64_t len)
{
    acpi_buf_put8(b, AML_EXT_PREFIX);
    acpi_buf_put8(b, AML_EXT_REGION_OP);
    put_name_string(b, path);
    acpi_buf_put8(b, (uint8_t)space);
    aml_int(b, offset);
    aml_int(b, len);
}

void aml_mutex(struct acpi_buf *b, const char *path, uint8_t sync_level)
{
    if (sync_level > 15) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    acpi_buf_put8(b, AML_EXT_PREFIX);
    acpi_buf_put8(b, AML_EXT_MUTEX_OP);
    put_name_string(b, path);
    acpi_buf_put8(b, sync_level); /* SyncFlags: level in bits 0-3 */
}

void aml_acquire(struct acpi_buf *b, const char *path, uint16_t timeout)
{
    acpi_buf_put8(b, AML_EXT_PREFIX);
    acpi_buf_put8(b, AML_EXT_ACQUIRE_OP);
    put_name_string(b, path);
    acpi_buf_put16(b, timeout); /* a bare WordData, no prefix */
}

void aml_release(struct acpi_buf *b, const char *path)
{
    acpi_buf_put8(b, AML_EXT_PREFIX);
    acpi_buf_put8(b, AML_EXT_RELEASE_OP);
    put_name_string(b, path);
}

size_t aml_scope(struct acpi_buf *b, const char *path)
{
    size_t mark;

    acpi_buf_put8(b, AML_SCOPE_OP);
    mark = b->len;
    put_name_string(b, path);
    return mark;
}

size_t aml_device(struct acpi_buf *b, const char *path)
{
    size_t mark;

    acpi_buf_put8(b, AML_EXT_PREFIX);
    acpi_buf_put8(b, AML_EXT_DEVICE_OP);
    mark = b->len;
    put_name_string(b, path);
    return mark;
}

size_t aml_method(struct acpi_buf *b, const char *path, unsigned nargs, bool serialized)
{
    size_t mark;

    if (nargs > 7)
        acpi_buf_fail(b, -EINVAL);
    acpi_buf_put8(b, AML_METHOD_OP);
    mark = b->len;
    put_name_string(b, path);
    /* MethodFlags: ArgCount in bits 0-2, SerializeFlag in bit 3, SyncLevel 0. */
    acpi_buf_put8(b, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
    return mark;
}

size_t aml_if(struct acpi_buf *b)
{
    acpi_buf_put8(b, AML_IF_OP);
    return b->len;
}

size_t aml_while(struct acpi_buf *b)
{
    acpi_buf_put8(b, AML_WHILE_OP);
    return b->len;
}

size_t aml_package(struct acpi_buf *b, uint8_t nelems)
{
    size_t mark;

    acpi_buf_put8(b, AML_PACKAGE_OP);
    mark = b->len;
    acpi_buf_put8(b, nelems);
    return mark;
}

size_t aml_field(struct acpi_buf *b, const char *region, uint8_t flags)
{
    size_t mark;

    acpi_buf_put8(b, AML_EXT_PREFIX);
    acpi_buf_put8(b, AML_EXT_FIELD_OP);
    mark = b->len;
    put_name_string(b, region);
    acpi_buf_put8(b, flags);
    return mark;
}

void aml_field_unit(struct acpi_buf *b, const char *name, uint32_t bits)
{
    uint8_t enc[4];

    /* NamedField: a bare NameSeg and the width in bits, PkgLength-encoded but (unlike a
     * package) not counting its own bytes. */
    if (!bits || bits > AML_PKGLEN_MAX || strchr(name, '.') || !put_nameseg(b, name)) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    acpi_buf_put_bytes(b, enc, encode_pkglen(bits, enc));
}

void aml_field_reserved(struct acpi_buf *b, uint32_t bits)
{
    uint8_t enc[4];

    /* ReservedField: a zero byte in place of the NameSeg, then the width as above. */
    if (!bits || bits > AML_PKGLEN_MAX) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    acpi_buf_put8(b, 0x00);
    acpi_buf_put_bytes(b, enc, encode_pkglen(bits, enc));
}

size_t aml_buffer(struct acpi_buf *b)
{
    acpi_buf_put8(b, AML_BUFFER_OP);
    return b->len;
}

void aml_buffer_end(struct acpi_buf *b, size_t mark)
{
    struct acpi_buf size_enc;
    uint8_t enc[9];

    if (b->err)
        return;
    if (mark > b->len) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    /* BufferSize precedes the bytes; it is known only now. */
    acpi_buf_init(&size_enc, enc, sizeof(enc));
    aml_int(&size_enc, b->len - mark);
    acpi_buf_insert(b, mark, enc, size_enc.len);
    aml_end(b, mark);
}

size_t aml_restemp(struct acpi_buf *b)
{
    return aml_buffer(b);
}

void aml_restemp_end(struct acpi_buf *b, size_t mark)
{
    acpi_buf_put8(b, RES_END_TAG);
    acpi_buf_put8(b, 0); /* checksum 0: "treat as correct" (6.4.2.9) */
    aml_buffer_end(b, mark);
}

void aml_res_io(struct acpi_buf *b, uint16_t base, uint8_t len)
{
    acpi_buf_put8(b, RES_IO);
    acpi_buf_put8(b, RES_IO_DECODE16);
    acpi_buf_put16(b, base); /* minimum */
    acpi_buf_put16(b, base); /* maximum: equal, so the range is fixed */
    acpi_buf_put8(b, 1);     /* alignment */
    acpi_buf_put8(b, len);
}

void aml_res_irq_noflags(struct acpi_buf *b, uint8_t irq)
{
    if (irq > 15) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    acpi_buf_put8(b, RES_IRQ_NOFLAGS);
    acpi_buf_put16(b, (uint16_t)(1u << irq));
}

void aml_res_mem32_fixed(struct acpi_buf *b, bool writable, uint32_t base, uint32_t len)
{
    acpi_buf_put8(b, RES_MEM32_FIXED);
    acpi_buf_put16(b, 9); /* length of the body */
    acpi_buf_put8(b, writable ? RES_MEM_WRITABLE : 0);
    acpi_buf_put32(b, base);
    acpi_buf_put32(b, len);
}

void aml_res_interrupt(struct acpi_buf *b, uint8_t flags, uint32_t gsi)
{
    acpi_buf_put8(b, RES_EXT_IRQ);
    acpi_buf_put16(b, 6); /* flags, count, one DWord, no resource source */
    acpi_buf_put8(b, flags);
    acpi_buf_put8(b, 1);
    acpi_buf_put32(b, gsi);
}

/* The common head of Word/DWord/QWord address descriptors: tag, body length, type, flags. */
static void addr_head(struct acpi_buf *b, uint8_t tag, uint16_t body, uint8_t type, uint8_t tflags)
{
    acpi_buf_put8(b, tag);
    acpi_buf_put16(b, body);
    acpi_buf_put8(b, type);
    acpi_buf_put8(b, RES_WINDOW_FLAGS);
    acpi_buf_put8(b, tflags);
}

static void word_window(struct acpi_buf *b, uint8_t type, uint8_t tflags, uint16_t min,
                        uint16_t max)
{
    if (max < min) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    addr_head(b, RES_WORD_ADDR, 13, type, tflags);
    acpi_buf_put16(b, 0); /* granularity */
    acpi_buf_put16(b, min);
    acpi_buf_put16(b, max);
    acpi_buf_put16(b, 0); /* translation */
    acpi_buf_put16(b, (uint16_t)(max - min + 1));
}

void aml_res_word_bus(struct acpi_buf *b, uint16_t min, uint16_t max)
{
    word_window(b, RES_TYPE_BUS, 0, min, max);
}

void aml_res_word_io(struct acpi_buf *b, uint16_t min, uint16_t max)
{
    word_window(b, RES_TYPE_IO, RES_IO_ENTIRE, min, max);
}

void aml_res_dword_mem(struct acpi_buf *b, uint32_t min, uint32_t max)
{
    if (max < min) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    addr_head(b, RES_DWORD_ADDR, 23, RES_TYPE_MEM, RES_MEM_RW);
    acpi_buf_put32(b, 0);
    acpi_buf_put32(b, min);
    acpi_buf_put32(b, max);
    acpi_buf_put32(b, 0);
    acpi_buf_put32(b, max - min + 1);
}

static void qword_window(struct acpi_buf *b, uint8_t tflags, uint64_t min, uint64_t max)
{
    if (max < min) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    addr_head(b, RES_QWORD_ADDR, 43, RES_TYPE_MEM, tflags);
    acpi_buf_put64(b, 0);
    acpi_buf_put64(b, min);
    acpi_buf_put64(b, max);
    acpi_buf_put64(b, 0);
    acpi_buf_put64(b, max - min + 1);
}

void aml_res_qword_mem(struct acpi_buf *b, uint64_t min, uint64_t max)
{
    qword_window(b, RES_MEM_RW, min, max);
}

void aml_res_qword_ram(struct acpi_buf *b, uint64_t min, uint64_t max)
{
    qword_window(b, RES_MEM_RAM, min, max);
}
