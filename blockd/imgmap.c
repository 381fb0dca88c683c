#include "imgmap.h"

#include <errno.h>
#include <string.h>

void imgmap_init(struct imgmap *m)
{
    memset(m, 0, sizeof(*m));
    m->guard = -1;
}

int imgmap_read(const struct imgmap *m, uint64_t off, uint64_t len, const struct iovec *iov,
                unsigned niov)
{
    const uint8_t *src;

    if (!m->base || off > m->len || len > m->len - off ||
        __atomic_load_n(&m->broken, __ATOMIC_ACQUIRE))
        return -ERANGE;
    src = m->base + off;
    for (unsigned i = 0; i < niov && len; i++) {
        size_t n = iov[i].iov_len < len ? iov[i].iov_len : (size_t)len;

        memcpy(iov[i].iov_base, src, n);
        src += n;
        len -= n;
    }
    /* A fault anywhere meanwhile (this thread's or another's) may have zeroed what we read. */
    if (__atomic_load_n(&m->broken, __ATOMIC_ACQUIRE))
        return -EIO;
    return len ? -EIO : 0;
}
