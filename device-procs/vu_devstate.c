#include "device-procs/vu_devstate.h"

#include <errno.h>
#include <string.h>

uint32_t vu_devstate_crc32(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

void vu_devstate_seal(uint8_t *buf, uint16_t virtio_id, uint64_t features, uint32_t len)
{
    uint32_t magic = VU_DEVSTATE_MAGIC, crc = vu_devstate_crc32(buf + VU_DEVSTATE_HDR, len);
    uint16_t version = VU_DEVSTATE_VERSION;

    memcpy(buf, &magic, 4);
    memcpy(buf + 4, &version, 2);
    memcpy(buf + 6, &virtio_id, 2);
    memcpy(buf + 8, &features, 8);
    memcpy(buf + 16, &len, 4);
    memcpy(buf + 20, &crc, 4);
}

int vu_devstate_open(const uint8_t *buf, size_t len, uint16_t virtio_id, uint64_t features,
                     const uint8_t **payload, uint32_t *plen, const char **why)
{
    uint32_t magic, n, crc;
    uint16_t version, id;
    uint64_t f;

    if (len < VU_DEVSTATE_HDR) {
        *why = "truncated header";
        return -EINVAL;
    }
    memcpy(&magic, buf, 4);
    memcpy(&version, buf + 4, 2);
    memcpy(&id, buf + 6, 2);
    memcpy(&f, buf + 8, 8);
    memcpy(&n, buf + 16, 4);
    memcpy(&crc, buf + 20, 4);
    if (magic != VU_DEVSTATE_MAGIC)
        *why = "not a cellvm device state";
    else if (version != VU_DEVSTATE_VERSION)
        *why = "another device state version";
    else if (id != virtio_id)
        *why = "the state of another device type";
    else if (n != len - VU_DEVSTATE_HDR)
        *why = n > len - VU_DEVSTATE_HDR ? "truncated payload" : "trailing bytes";
    else if (crc != vu_devstate_crc32(buf + VU_DEVSTATE_HDR, n))
        *why = "checksum mismatch (corrupt)";
    else if (f != features)
        *why = "saved with other acked virtio features";
    else {
        *payload = buf + VU_DEVSTATE_HDR;
        *plen = n;
        return 0;
    }
    return -EINVAL;
}
