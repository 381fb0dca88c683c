#include "core/acpi/acpi_buf.h"

#include <errno.h>
#include <string.h>

/* Header fields shared by every table cellvm builds. The OEM table id is "CVM" + signature,
 * so each table is identifiable in a guest's dmesg; the creator fields name cellvm itself,
 * not an ASL compiler. */
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID       "CVMM"
#define ACPI_CREATOR_REVISION 1

void acpi_buf_init(struct acpi_buf *b, uint8_t *base, size_t cap)
{
    b->base = base;
    b->cap = base ? cap : 0;
    b->len = 0;
    b->err = 0;
}

void acpi_buf_fail(struct acpi_buf *b, int err)
{
    if (!b->err)
        b->err = err;
}

uint8_t *acpi_buf_grow(struct acpi_buf *b, size_t n)
{
    uint8_t *p;

    if (b->err)
        return NULL;
    if (n > b->cap - b->len) {
        acpi_buf_fail(b, -ENOSPC);
        return NULL;
    }
    p = b->base + b->len;
    memset(p, 0, n);
    b->len += n;
    return p;
}

void acpi_buf_align(struct acpi_buf *b, size_t align)
{
    size_t rem = b->len % align;

    if (rem)
        acpi_buf_grow(b, align - rem);
}

void acpi_buf_put_bytes(struct acpi_buf *b, const void *src, size_t n)
{
    uint8_t *p = acpi_buf_grow(b, n);

    if (p && n)
        memcpy(p, src, n);
}

void acpi_buf_put8(struct acpi_buf *b, uint8_t v)
{
    acpi_buf_put_bytes(b, &v, 1);
}

void acpi_buf_put16(struct acpi_buf *b, uint16_t v)
{
    uint8_t *p = acpi_buf_grow(b, 2);

    if (p)
        acpi_le16(p, v);
}

void acpi_buf_put32(struct acpi_buf *b, uint32_t v)
{
    uint8_t *p = acpi_buf_grow(b, 4);

    if (p)
        acpi_le32(p, v);
}

void acpi_buf_put64(struct acpi_buf *b, uint64_t v)
{
    uint8_t *p = acpi_buf_grow(b, 8);

    if (p)
        acpi_le64(p, v);
}

void acpi_buf_insert(struct acpi_buf *b, size_t at, const uint8_t *src, size_t n)
{
    size_t tail;

    if (b->err)
        return;
    if (at > b->len) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    tail = b->len - at;
    if (!acpi_buf_grow(b, n))
        return;
    memmove(b->base + at + n, b->base + at, tail);
    memcpy(b->base + at, src, n);
}

void acpi_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void acpi_le32(uint8_t *p, uint32_t v)
{
    acpi_le16(p, (uint16_t)v);
    acpi_le16(p + 2, (uint16_t)(v >> 16));
}

void acpi_le64(uint8_t *p, uint64_t v)
{
    acpi_le32(p, (uint32_t)v);
    acpi_le32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

size_t acpi_sdt_begin(struct acpi_buf *b, const char sig[4], uint8_t rev)
{
    size_t start = b->len;
    char table_id[8] = { 'C', 'V', 'M', sig[0], sig[1], sig[2], sig[3], ' ' };

    acpi_buf_put_bytes(b, sig, 4);
    acpi_buf_put32(b, 0); /* length, set by acpi_sdt_end */
    acpi_buf_put8(b, rev);
    acpi_buf_put8(b, 0); /* checksum, set by acpi_sdt_end */
    acpi_buf_put_bytes(b, ACPI_OEM_ID, 6);
    acpi_buf_put_bytes(b, table_id, sizeof(table_id));
    acpi_buf_put32(b, ACPI_OEM_REVISION);
    acpi_buf_put_bytes(b, ACPI_CREATOR_ID, 4);
    acpi_buf_put32(b, ACPI_CREATOR_REVISION);
    return start;
}

void acpi_sdt_end(struct acpi_buf *b, size_t start)
{
    uint8_t *t;
    size_t len;

    if (b->err)
        return;
    len = b->len - start;
    if (len < ACPI_SDT_HDR_SIZE || len > UINT32_MAX) {
        acpi_buf_fail(b, -EINVAL);
        return;
    }
    t = b->base + start;
    acpi_le32(t + 4, (uint32_t)len);
    t[9] = 0;
    t[9] = (uint8_t)(0x100 - acpi_sum(t, len));
}
