#include "vsock_harness.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vsockd/host_unix.h"

static void record_read(void *opaque, void *dst, const void *src, size_t len)
{
    struct harness *h = opaque;
    const uint8_t *s = src;

    memcpy(dst, src, len);
    if (h->nreads < H_MAX_READS)
        h->reads[h->nreads++] = (struct h_read){ .src = s, .len = len };
    if (h->poke_at && s < h->poke_at + 4 && s + len > h->poke_at)
        memcpy(h->poke_at, &h->poke_val, 4);
}

void h_init(struct harness *h, uint32_t buf_alloc, uint32_t max_conns)
{
    struct vsock_cfg cfg = { .guest_cid = H_GUEST_CID,
                             .buf_alloc = buf_alloc,
                             .max_conns = max_conns,
                             .uds_name = "v.sock" };

    memset(h, 0, sizeof(*h));
    strcpy(h->dir, "/tmp/cellvm-vsock-ut.XXXXXX");
    cr_assert_not_null(mkdtemp(h->dir));
    snprintf(h->sock, sizeof(h->sock), "%s/v.sock", h->dir);
    h->mem = aligned_alloc(4096, H_MEM_SIZE);
    cr_assert_not_null(h->mem);
    h->mem_ops = (struct vsock_mem){ .read = record_read, .opaque = h };
    cr_assert_eq(host_listen(h->sock, &cfg.listen_fd), 0);
    cfg.uds_dir = h->dir;
    cfg.mem = &h->mem_ops;
    cr_assert_eq(vsock_dev_new(&cfg, &h->d), 0);
}

void h_fini(struct harness *h)
{
    char cmd[128];

    vsock_dev_free(h->d);
    free(h->mem);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
    (void)!system(cmd);
}

struct h_pkt h_pkt(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
    return (struct h_pkt){ .src_cid = H_GUEST_CID,
                           .dst_cid = VSOCK_HOST_CID,
                           .src_port = src_port,
                           .dst_port = dst_port,
                           .op = op,
                           .type = VSOCK_TYPE_STREAM,
                           .buf_alloc = 1u << 20 };
}

static void encode(uint8_t *raw, const struct h_pkt *p)
{
    struct vsock_hdr hd = { .src_cid = p->src_cid,
                            .dst_cid = p->dst_cid,
                            .src_port = p->src_port,
                            .dst_port = p->dst_port,
                            .len = p->len,
                            .type = p->type,
                            .op = p->op,
                            .flags = p->flags,
                            .buf_alloc = p->buf_alloc,
                            .fwd_cnt = p->fwd_cnt };

    vsock_hdr_encode(raw, &hd);
}

static struct virtq_elem *elem_new(void)
{
    struct virtq_elem *e = calloc(1, sizeof(*e));

    cr_assert_not_null(e);
    return e;
}

uint8_t *h_tx(struct harness *h, const struct h_pkt *p, const void *payload, size_t plen,
              const size_t *cuts, unsigned ncuts)
{
    struct virtq_elem *e = elem_new();
    size_t total = VSOCK_HDR_LEN + plen, off = 0;
    /* Descriptors sit apart in guest memory, as a driver's scattered buffers would. */
    size_t gap = 64;
    uint8_t *hdr = h->mem;

    cr_assert_leq(total + (ncuts + 1) * gap, H_MEM_SIZE);
    {
        uint8_t *flat = malloc(total);

        cr_assert_not_null(flat);
        encode(flat, p);
        if (plen)
            memcpy(flat + VSOCK_HDR_LEN, payload, plen);
        if (!ncuts) {
            memcpy(h->mem, flat, total);
            e->iov[0] = (struct iovec){ .iov_base = h->mem, .iov_len = total };
            e->out_num = 1;
        } else {
            uint8_t *at = h->mem;

            for (unsigned i = 0; i < ncuts; i++) {
                memcpy(at, flat + off, cuts[i]);
                e->iov[i] = (struct iovec){ .iov_base = at, .iov_len = cuts[i] };
                off += cuts[i];
                at += cuts[i] + gap;
            }
            cr_assert_eq(off, total, "cuts cover %zu of %zu bytes", off, total);
            e->out_num = (uint16_t)ncuts;
        }
        free(flat);
    }
    e->out_len = total;
    vsock_tx(h->d, e);
    free(e);
    return hdr;
}

uint8_t *h_tx_raw(struct harness *h, const struct h_pkt *p, const void *payload, size_t plen,
                  size_t desc_bytes)
{
    struct virtq_elem *e = elem_new();

    encode(h->mem, p);
    if (plen)
        memcpy(h->mem + VSOCK_HDR_LEN, payload, plen);
    e->iov[0] = (struct iovec){ .iov_base = h->mem, .iov_len = desc_bytes };
    e->out_num = 1;
    e->out_len = desc_bytes;
    vsock_tx(h->d, e);
    free(e);
    return h->mem;
}

struct virtq_elem *h_elem(struct harness *h, const struct h_pkt *p, const void *payload,
                          size_t plen, size_t at)
{
    struct virtq_elem *e = elem_new();
    size_t total = VSOCK_HDR_LEN + plen;

    cr_assert_leq(at + total, H_MEM_SIZE / 2, "the upper half holds RX buffers");
    encode(h->mem + at, p);
    if (plen)
        memcpy(h->mem + at + VSOCK_HDR_LEN, payload, plen);
    e->iov[0] = (struct iovec){ .iov_base = h->mem + at, .iov_len = total };
    e->out_num = 1;
    e->out_len = total;
    return e;
}

int h_rx(struct harness *h, size_t cap, struct h_pkt *p, uint8_t *payload, size_t *plen)
{
    struct virtq_elem *e = elem_new();
    uint8_t *buf = h->mem + H_MEM_SIZE / 2;
    struct vsock_hdr hd;
    uint32_t written = 0;
    int r;

    cr_assert_leq(cap, H_MEM_SIZE / 2);
    memset(buf, 0xee, VSOCK_HDR_LEN);
    e->iov[0] = (struct iovec){ .iov_base = buf, .iov_len = cap };
    e->in_num = 1;
    e->in_len = cap;
    r = vsock_rx(h->d, e, &written);
    free(e);
    if (r == 0)
        return 0;
    cr_assert_geq(written, VSOCK_HDR_LEN);
    vsock_hdr_decode(&hd, buf);
    *p = (struct h_pkt){ .src_cid = hd.src_cid,
                         .dst_cid = hd.dst_cid,
                         .src_port = hd.src_port,
                         .dst_port = hd.dst_port,
                         .len = hd.len,
                         .type = hd.type,
                         .op = hd.op,
                         .flags = hd.flags,
                         .buf_alloc = hd.buf_alloc,
                         .fwd_cnt = hd.fwd_cnt };
    cr_assert_eq(written, VSOCK_HDR_LEN + hd.len);
    if (payload)
        memcpy(payload, buf + VSOCK_HDR_LEN, hd.len);
    if (plen)
        *plen = hd.len;
    return 1;
}

void h_pump(struct harness *h, int ms)
{
    uint32_t fired;

    for (int i = 0; i < 4; i++)
        cr_assert_eq(vsock_poll(h->d, i ? 0 : ms, &fired), 0);
}

unsigned h_reads_of(const struct harness *h, const uint8_t *at, size_t len, unsigned *min)
{
    unsigned most = 0, least = UINT32_MAX;

    for (size_t b = 0; b < len; b++) {
        unsigned n = 0;

        for (unsigned i = 0; i < h->nreads; i++)
            if (at + b >= h->reads[i].src && at + b < h->reads[i].src + h->reads[i].len)
                n++;
        most = n > most ? n : most;
        least = n < least ? n : least;
    }
    if (min)
        *min = least;
    return most;
}

int h_listen(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(s, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(s, 16), 0);
    return s;
}

int h_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(s, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(s);
        return -1;
    }
    return s;
}

int h_guest_connect(struct harness *h, uint32_t guest_port, uint32_t host_port, int lfd)
{
    struct h_pkt p = h_pkt(VSOCK_OP_REQUEST, guest_port, host_port), r;
    int s;

    h_tx(h, &p, NULL, 0, NULL, 0);
    cr_assert_eq(h_rx(h, 4096, &r, NULL, NULL), 1);
    cr_assert_eq(r.op, VSOCK_OP_RESPONSE, "op %u", r.op);
    cr_assert_eq(r.src_port, host_port);
    cr_assert_eq(r.dst_port, guest_port);
    cr_assert_eq(r.dst_cid, H_GUEST_CID);
    s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(s, 0);
    return s;
}
