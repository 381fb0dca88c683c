#include "vsockd/pkt.h"

#include <endian.h>
#include <string.h>

static void direct_read(void *opaque, void *dst, const void *src, size_t len)
{
    (void)opaque;
    memcpy(dst, src, len);
}

const struct vsock_mem vsock_mem_direct = { .read = direct_read, .opaque = NULL };

size_t vsock_iov_read(const struct vsock_mem *mem, const struct iovec *iov, unsigned n, size_t off,
                      void *dst, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t seg = iov[i].iov_len, take;

        if (off >= seg) {
            off -= seg;
            continue;
        }
        take = seg - off < len - done ? seg - off : len - done;
        mem->read(mem->opaque, (uint8_t *)dst + done, (const uint8_t *)iov[i].iov_base + off, take);
        done += take;
        off = 0;
    }
    return done;
}

size_t vsock_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *src, size_t len)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t seg = iov[i].iov_len, take;

        if (off >= seg) {
            off -= seg;
            continue;
        }
        take = seg - off < len - done ? seg - off : len - done;
        memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, take);
        done += take;
        off = 0;
    }
    return done;
}

unsigned vsock_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
                         struct iovec *out, unsigned max, size_t *got)
{
    unsigned k = 0;
    size_t done = 0;

    for (unsigned i = 0; i < n && k < max && done < len; i++) {
        size_t seg = iov[i].iov_len, take;

        if (off >= seg) {
            off -= seg;
            continue;
        }
        take = seg - off < len - done ? seg - off : len - done;
        out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
        out[k].iov_len = take;
        k++;
        done += take;
        off = 0;
    }
    *got = done;
    return k;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

static void put64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static void put16(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VSOCK_HDR_LEN])
{
    h->src_cid = get64(raw);
    h->dst_cid = get64(raw + 8);
    h->src_port = get32(raw + 16);
    h->dst_port = get32(raw + 20);
    h->len = get32(raw + 24);
    h->type = get16(raw + 28);
    h->op = get16(raw + 30);
    h->flags = get32(raw + 32);
    h->buf_alloc = get32(raw + 36);
    h->fwd_cnt = get32(raw + 40);
}

void vsock_hdr_encode(uint8_t raw[VSOCK_HDR_LEN], const struct vsock_hdr *h)
{
    put64(raw, h->src_cid);
    put64(raw + 8, h->dst_cid);
    put32(raw + 16, h->src_port);
    put32(raw + 20, h->dst_port);
    put32(raw + 24, h->len);
    put16(raw + 28, h->type);
    put16(raw + 30, h->op);
    put32(raw + 32, h->flags);
    put32(raw + 36, h->buf_alloc);
    put32(raw + 40, h->fwd_cnt);
}
