/* Compressed clusters: locating the compressed bytes and inflating them (zlib raw deflate or
 * zstd). Output is bounded by the cluster size, so a hostile stream cannot write past it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "blockd/qcow2/qcow2_priv.h"

void q2_compressed_span(const struct qcow2 *q, uint64_t entry, uint64_t *off, uint64_t *len)
{
    uint32_t x = 62 - (q->cluster_bits - 8);
    uint64_t host = entry & ((1ull << x) - 1);
    uint64_t sectors = ((entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1)) + 1;

    *off = host;
    *len = sectors * 512 - (host & 511);
}

static int inflate_raw(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
    z_stream s;
    int ret;

    memset(&s, 0, sizeof(s));
    if (inflateInit2(&s, -12) != Z_OK)
        return -ENOMEM;
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)inlen;
    s.next_out = out;
    s.avail_out = (uInt)outlen;
    ret = inflate(&s, Z_FINISH);
    /* The stored span is rounded up to sectors, so input may remain after the stream ends. */
    bool ok = (ret == Z_STREAM_END || ret == Z_BUF_ERROR || ret == Z_OK) && s.avail_out == 0;
    inflateEnd(&s);
    return ok ? 0 : -EIO;
}

static int unzstd(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer ib = { in, inlen, 0 };
    ZSTD_outBuffer ob = { out, outlen, 0 };
    int ret = -EIO;

    if (!d)
        return -ENOMEM;
    /* Bounded: each call consumes input or fills output, and both are finite. */
    for (unsigned i = 0; i < 1024 && ob.pos < ob.size; i++) {
        size_t r = ZSTD_decompressStream(d, &ob, &ib);
        if (ZSTD_isError(r))
            break;
        if (r == 0 || ib.pos == ib.size)
            break;
    }
    if (ob.pos == ob.size)
        ret = 0;
    ZSTD_freeDCtx(d);
    return ret;
}

int q2_decompress(bool zstd, const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
    return zstd ? unzstd(in, inlen, out, outlen) : inflate_raw(in, inlen, out, outlen);
}

int q2_read_compressed(struct qcow2 *q, uint64_t entry, uint8_t *out)
{
    uint64_t off, len;
    uint8_t *in;
    int ret;

    q2_compressed_span(q, entry, &off, &len);
    if (off >= Q2_MAX_HOST_OFF || len > 2 * q->cluster_size)
        return -EIO;
    in = malloc(len);
    if (!in)
        return -ENOMEM;
    ssize_t n = q->file->ops->pread(q->file, in, len, off);
    if (n < 0) {
        ret = (int)n;
    } else {
        /* QEMU may store the last compressed cluster short of its sector count. */
        ret = q2_decompress(q->zstd, in, (size_t)n, out, q->cluster_size);
    }
    free(in);
    return ret;
}
