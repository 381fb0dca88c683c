#include "core/vm/virtio_pmem.h"

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void pmem_config(uint64_t start, uint64_t size, uint8_t out[PMEM_CONFIG_SIZE])
{
    put_le(out, start, 8);
    put_le(out + 8, size, 8);
}

void pmem_request(const uint8_t *in, size_t len, pmem_flush_fn flush, void *arg,
                  uint8_t out[PMEM_RESP_SIZE])
{
    uint32_t type;
    uint32_t ret = PMEM_RESP_EIO;

    if (len >= PMEM_REQ_SIZE) {
        type =
            (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
        if (type == PMEM_REQ_FLUSH)
            ret = flush(arg) ? PMEM_RESP_EIO : PMEM_RESP_OK;
    }
    put_le(out, ret, 4);
}
