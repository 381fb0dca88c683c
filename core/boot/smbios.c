#include "core/boot/smbios.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ipc/le.h"

/* SMBIOS 3.2.0 (DSP0134) numbers. */
#define SMBIOS_TYPE_BIOS   0
#define SMBIOS_TYPE_SYSTEM 1
#define SMBIOS_TYPE_OEM    11
#define SMBIOS_TYPE_END    127

#define BIOS_INFO_LEN      0x14 /* through the two characteristics extension bytes */
#define SYSTEM_INFO_LEN    0x1b /* through SKU and family (2.4 and later) */
#define OEM_INFO_LEN       5
#define END_INFO_LEN       4

#define BIOS_CHAR_PCI      (1u << 7) /* characteristics: PCI is supported */
#define BIOS_CHAR2_VM      (1u << 4) /* characteristics extension byte 2: virtual machine */

/* The strings Cloud Hypervisor reports, so guests that look at them see the same machine. */
#define BIOS_VENDOR         "cloud-hypervisor"
#define BIOS_VERSION        "0"
#define SYSTEM_MANUFACTURER "Cloud Hypervisor"
#define SYSTEM_PRODUCT      "cloud-hypervisor"

/* Append cursor: the first error is kept and turns later writes into no-ops. */
struct sm_buf {
    uint8_t *p;
    size_t cap, len;
    int err;
};

static uint8_t *sm_grow(struct sm_buf *b, size_t n)
{
    uint8_t *at;

    if (b->err)
        return NULL;
    if (n > b->cap - b->len) {
        b->err = -ENOSPC;
        return NULL;
    }
    at = b->p + b->len;
    memset(at, 0, n);
    b->len += n;
    return at;
}

/* A structure's formatted part: type, length, handle, then len - 4 zero bytes to fill in. */
static uint8_t *sm_struct(struct sm_buf *b, uint8_t type, uint8_t len, uint16_t handle)
{
    uint8_t *s = sm_grow(b, len);

    if (s) {
        s[0] = type;
        s[1] = len;
        le_put16(s + 2, handle);
    }
    return s;
}

static void sm_string(struct sm_buf *b, const char *str)
{
    size_t n = strlen(str);
    uint8_t *at = sm_grow(b, n + 1);

    if (at)
        memcpy(at, str, n); /* the NUL is already there */
}

/* Ends a structure's string set: one more NUL, or two when it has no strings at all. */
static void sm_strings_end(struct sm_buf *b, bool has_strings)
{
    sm_grow(b, has_strings ? 1 : 2);
}

static void put_bios(struct sm_buf *b, uint16_t handle)
{
    uint8_t *s = sm_struct(b, SMBIOS_TYPE_BIOS, BIOS_INFO_LEN, handle);

    if (s) {
        s[4] = 1; /* vendor: string 1 */
        s[5] = 2; /* version: string 2 */
        le_put64(s + 10, BIOS_CHAR_PCI);
        s[19] = BIOS_CHAR2_VM;
    }
    sm_string(b, BIOS_VENDOR);
    sm_string(b, BIOS_VERSION);
    sm_strings_end(b, true);
}

static void put_system(struct sm_buf *b, uint16_t handle, const struct smbios_params *p)
{
    uint8_t *s = sm_struct(b, SMBIOS_TYPE_SYSTEM, SYSTEM_INFO_LEN, handle);
    const uint8_t *u = p->uuid;

    if (s) {
        s[4] = 1; /* manufacturer */
        s[5] = 2; /* product name */
        s[7] = p->serial_number ? 3 : 0;
        if (u) {
            /* time_low, time_mid, time_hi_and_version little-endian; the rest as written. */
            const uint8_t order[SMBIOS_UUID_LEN] = { 3, 2, 1,  0,  5,  4,  7,  6,
                                                     8, 9, 10, 11, 12, 13, 14, 15 };

            for (size_t i = 0; i < SMBIOS_UUID_LEN; i++)
                s[8 + i] = u[order[i]];
        }
    }
    sm_string(b, SYSTEM_MANUFACTURER);
    sm_string(b, SYSTEM_PRODUCT);
    if (p->serial_number)
        sm_string(b, p->serial_number);
    sm_strings_end(b, true);
}

static void put_oem(struct sm_buf *b, uint16_t handle, const struct smbios_params *p)
{
    uint8_t *s = sm_struct(b, SMBIOS_TYPE_OEM, OEM_INFO_LEN, handle);

    if (s)
        s[4] = (uint8_t)p->noem_strings;
    for (size_t i = 0; i < p->noem_strings; i++)
        sm_string(b, p->oem_strings[i]);
    sm_strings_end(b, true);
}

static uint8_t sm_checksum(const uint8_t *p, size_t n)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0x100 - sum);
}

static bool valid_params(const struct smbios_params *p)
{
    if (p->noem_strings > SMBIOS_MAX_OEM_STRINGS || (p->noem_strings && !p->oem_strings))
        return false;
    if (p->serial_number && !p->serial_number[0])
        return false;
    for (size_t i = 0; i < p->noem_strings; i++)
        if (!p->oem_strings[i] || !p->oem_strings[i][0])
            return false;
    return true;
}

long smbios_build(const struct smbios_params *p, uint8_t *buf, uint64_t buf_gpa, size_t cap)
{
    struct sm_buf b = { .p = buf, .cap = cap };
    uint16_t handle = 0;
    uint8_t *ep;
    size_t table_len;

    if ((buf_gpa & 0xf) || !valid_params(p))
        return -EINVAL;
    ep = sm_grow(&b, SMBIOS_EP_SIZE);
    put_bios(&b, ++handle);
    put_system(&b, ++handle, p);
    if (p->noem_strings)
        put_oem(&b, ++handle, p);
    sm_struct(&b, SMBIOS_TYPE_END, END_INFO_LEN, ++handle);
    sm_strings_end(&b, false);
    if (b.err)
        return b.err;
    table_len = b.len - SMBIOS_EP_SIZE;
    memcpy(ep, "_SM3_", 5);
    ep[6] = SMBIOS_EP_SIZE;
    ep[7] = 3; /* SMBIOS 3.2.0 */
    ep[8] = 2;
    ep[9] = 0;                              /* docrev */
    ep[10] = 0x01;                          /* entry point revision: SMBIOS 3.0 */
    le_put32(ep + 12, (uint32_t)table_len); /* the table's maximum size: its size */
    le_put64(ep + 16, buf_gpa + SMBIOS_EP_SIZE);
    ep[5] = sm_checksum(ep, SMBIOS_EP_SIZE);
    return (long)b.len;
}
