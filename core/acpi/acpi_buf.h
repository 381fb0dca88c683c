#ifndef CELLVM_CORE_ACPI_ACPI_BUF_H
#define CELLVM_CORE_ACPI_ACPI_BUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Append-only little-endian byte sink shared by the table builders and the AML builder. The
 * first failure (-ENOSPC, -EINVAL) is latched in err and turns every later write into a no-op,
 * so builders run straight through and check err once at the end.
 */
struct acpi_buf {
    uint8_t *base;
    size_t cap;
    size_t len;
    int err;
};

void acpi_buf_init(struct acpi_buf *b, uint8_t *base, size_t cap);
void acpi_buf_fail(struct acpi_buf *b, int err);

/* Appends n zero bytes and returns them, or NULL (error latched). */
uint8_t *acpi_buf_grow(struct acpi_buf *b, size_t n);
void acpi_buf_align(struct acpi_buf *b, size_t align);
void acpi_buf_put8(struct acpi_buf *b, uint8_t v);
void acpi_buf_put16(struct acpi_buf *b, uint16_t v);
void acpi_buf_put32(struct acpi_buf *b, uint32_t v);
void acpi_buf_put64(struct acpi_buf *b, uint64_t v);
void acpi_buf_put_bytes(struct acpi_buf *b, const void *src, size_t n);

/* Inserts n bytes at offset at (<= len), moving what follows. */
void acpi_buf_insert(struct acpi_buf *b, size_t at, const uint8_t *src, size_t n);

/* Little-endian stores into bytes already in the buffer. */
void acpi_le16(uint8_t *p, uint16_t v);
void acpi_le32(uint8_t *p, uint32_t v);
void acpi_le64(uint8_t *p, uint64_t v);

/* Byte sum; a table is valid when the sum over all of it is 0. */
uint8_t acpi_sum(const uint8_t *p, size_t n);

/*
 * System description table framing: acpi_sdt_begin writes the 36-byte header (length and
 * checksum left zero) with cellvm's OEM fields and returns the table's offset; acpi_sdt_end
 * fills in length and checksum once the body is appended.
 */
#define ACPI_OEM_ID       "CELLVM"
#define ACPI_SDT_HDR_SIZE 36
size_t acpi_sdt_begin(struct acpi_buf *b, const char sig[4], uint8_t rev);
void acpi_sdt_end(struct acpi_buf *b, size_t start);

#endif
