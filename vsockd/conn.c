#include "vsockd/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsockd/host_unix.h"

void conn_table_init(struct conn_table *t)
{
    memset(t->bucket, 0, sizeof(t->bucket));
    TAILQ_INIT(&t->all);
    t->count = 0;
}

static unsigned hash(uint32_t local_port, uint32_t peer_port)
{
    uint32_t h = local_port * 0x9e3779b1u ^ peer_port * 0x85ebca77u;

    return (h ^ h >> 16) & (CONN_BUCKETS - 1);
}

struct vsock_conn *conn_find(const struct conn_table *t, uint32_t local_port, uint32_t peer_port)
{
    struct vsock_conn *c = t->bucket[hash(local_port, peer_port)];

    while (c && (c->local_port != local_port || c->peer_port != peer_port))
        c = c->hnext;
    return c;
}

static void unhash(struct conn_table *t, struct vsock_conn *c)
{
    struct vsock_conn **p = &t->bucket[hash(c->local_port, c->peer_port)];

    while (*p && *p != c)
        p = &(*p)->hnext;
    if (*p)
        *p = c->hnext;
    c->hnext = NULL;
}

static void link_hash(struct conn_table *t, struct vsock_conn *c)
{
    unsigned b = hash(c->local_port, c->peer_port);

    c->hnext = t->bucket[b];
    t->bucket[b] = c;
}

struct vsock_conn *conn_new(struct conn_table *t, int fd, uint32_t local_port, uint32_t peer_port,
                            uint32_t buf_size)
{
    struct vsock_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->fd = fd;
    c->local_port = local_port;
    c->peer_port = peer_port;
    c->buf_size = buf_size;
    link_hash(t, c);
    TAILQ_INSERT_TAIL(&t->all, c, all);
    t->count++;
    return c;
}

void conn_rekey(struct conn_table *t, struct vsock_conn *c, uint32_t local_port, uint32_t peer_port)
{
    unhash(t, c);
    c->local_port = local_port;
    c->peer_port = peer_port;
    link_hash(t, c);
}

void conn_free(struct conn_table *t, struct vsock_conn *c)
{
    unhash(t, c);
    TAILQ_REMOVE(&t->all, c, all);
    t->count--;
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c);
}

uint32_t conn_our_free(const struct vsock_conn *c)
{
    uint32_t held = c->rx_cnt - c->fwd_cnt;

    return held >= c->buf_size ? 0 : c->buf_size - held;
}

uint32_t conn_peer_credit(const struct vsock_conn *c)
{
    uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

    return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

int conn_buf_append(struct vsock_conn *c, const struct vsock_mem *mem, const struct iovec *iov,
                    unsigned n, size_t off, size_t len)
{
    size_t done = 0;

    if (len > c->buf_size - c->buf_len)
        return -ENOBUFS;
    if (!c->buf) {
        c->buf = malloc(c->buf_size);
        if (!c->buf)
            return -ENOMEM;
        c->buf_head = 0;
    }
    while (done < len) {
        uint32_t tail = (c->buf_head + c->buf_len) % c->buf_size;
        size_t room = c->buf_size - tail, got;

        if (room > len - done)
            room = len - done;
        got = vsock_iov_read(mem, iov, n, off + done, c->buf + tail, room);
        if (got != room)
            return -EFAULT;
        c->buf_len += (uint32_t)got;
        done += got;
    }
    return 0;
}

int conn_send_iov(struct vsock_conn *c, const struct vsock_mem *mem, const struct iovec *iov,
                  unsigned n, size_t len)
{
    ssize_t w = len ? host_send(c->fd, iov, n) : 0;
    size_t sent;

    if (w < 0 && w != -EAGAIN)
        return (int)w;
    sent = w > 0 ? (size_t)w : 0;
    c->fwd_cnt += (uint32_t)sent;
    return sent < len ? conn_buf_append(c, mem, iov, n, sent, len - sent) : 0;
}

int conn_buf_flush(struct vsock_conn *c)
{
    while (c->buf_len) {
        struct iovec v[2];
        uint32_t first = c->buf_size - c->buf_head;
        unsigned nv = 1;
        ssize_t w;

        v[0].iov_base = c->buf + c->buf_head;
        v[0].iov_len = first < c->buf_len ? first : c->buf_len;
        if (first < c->buf_len) {
            v[1].iov_base = c->buf;
            v[1].iov_len = c->buf_len - first;
            nv = 2;
        }
        w = host_send(c->fd, v, nv);
        if (w == -EAGAIN)
            return 0;
        if (w < 0)
            return (int)w;
        c->buf_head = (uint32_t)((c->buf_head + (size_t)w) % c->buf_size);
        c->buf_len -= (uint32_t)w;
        c->fwd_cnt += (uint32_t)w;
    }
    /* Drained: give the memory back; an idle connection holds none. */
    free(c->buf);
    c->buf = NULL;
    c->buf_head = 0;
    return 0;
}
