/* The core's vfio-user client against vfiod's server and its fake device, and against servers
 * that misbehave: wrong ids, error replies, silence, a closed socket, malformed region info. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/vm/vfu_client.h"
#include "tests/unit/core/vm/vfu_harness.h"

static void connect_fake(struct vfu_harness *h, struct vfu_client *c)
{
    char err[200] = "";
    int sock = harness_start(h);

    cr_assert_eq(vfuc_connect(c, sock, err, sizeof(err)), 0, "%s", err);
}

static void finish(struct vfu_harness *h, struct vfu_client *c)
{
    vfuc_close(c);
    harness_stop(h);
}

Test(vfu_client, version_info_and_irqs)
{
    struct vfu_harness h;
    struct vfu_client c;
    struct vfu_device_info di;
    struct vfu_irq_info ii;

    connect_fake(&h, &c);
    cr_expect_eq(c.caps.max_msg_fds, VFU_MAX_FDS);
    cr_expect_eq(c.caps.max_data_xfer_size, VFU_MAX_DATA);
    cr_assert_eq(vfuc_device_info(&c, &di), 0);
    cr_expect(di.flags & VFU_DEV_F_PCI);
    cr_expect_eq(di.num_regions, VFU_PCI_NUM_REGIONS);
    cr_assert_eq(vfuc_irq_info(&c, VFU_PCI_MSIX_IRQ_INDEX, &ii), 0);
    cr_expect_eq(ii.count, 8);
    cr_expect_eq(vfuc_irq_info(&c, 99, &ii), -EINVAL, "a server error is -errno");
    cr_expect_eq(vfuc_reset(&c), -ENOTTY, "edu-like: no reset");
    cr_expect_eq(vfuc_device_info(&c, &di), 0, "an error reply leaves the stream usable");
    finish(&h, &c);
}

Test(vfu_client, region_info_sparse_and_fd)
{
    struct vfu_harness h;
    struct vfu_client c;
    struct vfuc_region r;
    uint32_t magic = 0xfeedc0de;
    uint8_t *p;

    connect_fake(&h, &c);
    cr_assert_eq(vfuc_region_info(&c, 0, &r), 0);
    cr_expect(r.flags & VFU_REGION_F_MMAP);
    cr_expect_eq(r.size, FAKE_BAR0_SIZE);
    cr_assert_eq(r.nsparse, 1);
    cr_expect_eq(r.sparse[0].size, FAKE_BAR0_SIZE);
    cr_assert_geq(r.fd, 0);
    p = mmap(NULL, FAKE_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, (off_t)r.offset);
    cr_assert_neq(p, MAP_FAILED);
    close(r.fd);
    cr_assert_eq(vfuc_region_write(&c, 0, 64, &magic, 4), 0);
    cr_expect_eq(memcmp(p + 64, &magic, 4), 0, "the mapping is the region");
    munmap(p, FAKE_BAR0_SIZE);
    cr_assert_eq(vfuc_region_info(&c, 2, &r), 0);
    cr_expect_eq(r.fd, -1);
    cr_expect_eq(r.size, FAKE_BAR2_SIZE);
    cr_assert_eq(vfuc_region_info(&c, 1, &r), 0);
    cr_expect_eq(r.size, 0, "absent BAR");
    h.dev.bar0_nsparse = 0;
    cr_assert_eq(vfuc_region_info(&c, 0, &r), 0);
    cr_expect_eq(r.nsparse, 0, "whole BAR mappable");
    cr_expect_geq(r.fd, 0);
    close(r.fd);
    finish(&h, &c);
}

Test(vfu_client, region_access_split)
{
    struct vfu_harness h;
    struct vfu_client c;
    uint8_t out[200], in[200];

    connect_fake(&h, &c);
    c.caps.max_data_xfer_size = 16; /* 13 messages each way */
    for (unsigned i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(i * 7 + 1);
    cr_assert_eq(vfuc_region_write(&c, 2, 8, out, sizeof(out)), 0);
    cr_expect_eq(memcmp(h.dev.bar2 + 8, out, sizeof(out)), 0);
    memset(in, 0, sizeof(in));
    cr_assert_eq(vfuc_region_read(&c, 2, 8, in, sizeof(in)), 0);
    cr_expect_eq(memcmp(in, out, sizeof(in)), 0);
    cr_expect_lt(vfuc_region_read(&c, 2, FAKE_BAR2_SIZE - 4, in, 8), 0, "past the region");
    cr_expect_eq(vfuc_region_read(&c, 2, 0, in, 4), 0, "still usable");
    finish(&h, &c);
}

Test(vfu_client, set_irqs_split_by_max_msg_fds)
{
    struct vfu_harness h;
    struct vfu_client c;
    int fds[8];
    unsigned n0;

    connect_fake(&h, &c);
    for (unsigned i = 0; i < 8; i++)
        fds[i] = eventfd(0, EFD_CLOEXEC);
    c.caps.max_msg_fds = 3;
    n0 = h.dev.nirq_calls;
    cr_assert_eq(vfuc_set_irqs(&c, VFU_IRQ_SET_DATA_EVENTFD | VFU_IRQ_SET_ACTION_TRIGGER,
                               VFU_PCI_MSIX_IRQ_INDEX, 0, 8, fds),
                 0);
    cr_assert_eq(h.dev.nirq_calls, n0 + 3);
    for (unsigned k = 0; k < 3; k++) {
        const struct fake_irq_call *call = &h.dev.irq_calls[n0 + k];

        cr_expect_eq(call->index, VFU_PCI_MSIX_IRQ_INDEX);
        cr_expect_eq(call->start, 3 * k);
        cr_expect_eq(call->count, k < 2 ? 3 : 2);
        cr_expect_eq(call->nfds_valid, call->count);
    }
    cr_assert_eq(vfuc_set_irqs(&c, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER,
                               VFU_PCI_MSIX_IRQ_INDEX, 0, 0, NULL),
                 0);
    cr_expect_eq(h.dev.irq_calls[n0 + 3].count, 0);
    cr_expect_eq(h.dev.irq_calls[n0 + 3].flags, VFU_IRQ_SET_DATA_NONE | VFU_IRQ_SET_ACTION_TRIGGER);
    for (unsigned i = 0; i < 8; i++)
        close(fds[i]);
    finish(&h, &c);
}

Test(vfu_client, dma_map_unmap)
{
    struct vfu_harness h;
    struct vfu_client c;
    int fd = memfd_create("ram", MFD_CLOEXEC);

    cr_assert_eq(ftruncate(fd, 1 << 20), 0);
    connect_fake(&h, &c);
    cr_assert_eq(vfuc_dma_map(&c, fd, 0, 0x100000, 1 << 20, VFU_DMA_READ | VFU_DMA_WRITE), 0);
    cr_expect_eq(h.dev.nmap_calls, 1);
    cr_expect_eq(h.dev.map_calls[0].iova, 0x100000);
    cr_expect_eq(vfuc_dma_map(&c, fd, 0, 0x100000, 1 << 20, VFU_DMA_READ), -EEXIST,
                 "overlap refused by the server");
    cr_assert_eq(vfuc_dma_unmap(&c, 0x100000, 1 << 20), 0);
    cr_expect_eq(h.dev.nunmap_calls, 1);
    close(fd);
    finish(&h, &c);
}

/* A scripted server: answers VERSION properly, then treats the next request by `mode`. */
enum rogue_mode { WRONG_ID, WRONG_CMD, SILENT, HANGUP, SPARSE_PAST_END, CAP_LOOP, SHORT_READ };

struct rogue {
    int sock;
    enum rogue_mode mode;
    pthread_t thread;
};

static void reply(int sock, const struct vfu_hdr *req, uint16_t id_delta, const void *p, size_t len)
{
    struct vfu_hdr h;

    vfu_reply_hdr(req, &h, 0);
    h.msg_id = (uint16_t)(h.msg_id + id_delta);
    vfu_send(sock, &h, p, len, NULL, 0);
}

static void region_reply(int sock, const struct vfu_hdr *req, bool loop)
{
    uint8_t buf[sizeof(struct vfu_region_info) + sizeof(struct vfu_cap_sparse) +
                sizeof(struct vfu_sparse_area)];
    struct vfu_region_info ri = { .argsz = sizeof(buf),
                                  .flags = VFU_REGION_F_READ | VFU_REGION_F_CAPS,
                                  .cap_offset = sizeof(ri),
                                  .size = 4096 };
    struct vfu_cap_sparse sp = { .hdr = { .id = VFU_CAP_SPARSE_MMAP, .version = 1 },
                                 .nr_areas = 1 };
    struct vfu_sparse_area a = { .offset = 0, .size = loop ? 4096 : 8192 }; /* 8192: past it */

    if (loop)
        sp.hdr.next = sizeof(ri); /* points at itself */
    memcpy(buf, &ri, sizeof(ri));
    memcpy(buf + sizeof(ri), &sp, sizeof(sp));
    memcpy(buf + sizeof(ri) + sizeof(sp), &a, sizeof(a));
    reply(sock, req, 0, buf, sizeof(buf));
}

static void *rogue_run(void *arg)
{
    struct rogue *g = arg;
    struct vfu_msg m;
    char json[VFU_MAX_VERSION];
    uint8_t ver[sizeof(struct vfu_version) + sizeof(json)];
    const struct vfu_caps caps = { .max_msg_fds = 4, .max_data_xfer_size = 4096, .pgsizes = 4096 };
    struct vfu_version v = { 0, 1 };
    size_t jlen;

    if (vfu_recv(g->sock, &m, VFU_MAX_MSG, VFU_MAX_FDS) != 1)
        return NULL;
    vfu_version_encode(&caps, json, sizeof(json), &jlen);
    memcpy(ver, &v, sizeof(v));
    memcpy(ver + sizeof(v), json, jlen);
    reply(g->sock, &m.hdr, 0, ver, sizeof(v) + jlen);
    vfu_msg_release(&m);
    if (vfu_recv(g->sock, &m, VFU_MAX_MSG, VFU_MAX_FDS) != 1)
        return NULL;
    switch (g->mode) {
    case WRONG_ID:
        reply(g->sock, &m.hdr, 1, NULL, 0);
        break;
    case WRONG_CMD:
        m.hdr.command = VFU_CMD_DMA_MAP;
        reply(g->sock, &m.hdr, 0, NULL, 0);
        break;
    case SILENT:
        break;
    case HANGUP:
        shutdown(g->sock, SHUT_RDWR);
        break;
    case SPARSE_PAST_END:
    case CAP_LOOP:
        region_reply(g->sock, &m.hdr, g->mode == CAP_LOOP);
        break;
    case SHORT_READ: {
        struct vfu_region_access a;

        memcpy(&a, m.payload, sizeof(a));
        reply(g->sock, &m.hdr, 0, &a, sizeof(a)); /* the data is missing */
        break;
    }
    }
    vfu_msg_release(&m);
    /* Hold the line until the client is done. */
    while (vfu_recv(g->sock, &m, VFU_MAX_MSG, VFU_MAX_FDS) == 1)
        vfu_msg_release(&m);
    return NULL;
}

static void rogue_connect(struct rogue *g, enum rogue_mode mode, struct vfu_client *c)
{
    int sv[2];
    char err[200] = "";
    struct timeval tv = { .tv_usec = 200000 };

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    g->sock = sv[1];
    g->mode = mode;
    cr_assert_eq(pthread_create(&g->thread, NULL, rogue_run, g), 0);
    cr_assert_eq(vfuc_connect(c, sv[0], err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(c->caps.max_msg_fds, 4);
    /* 5 s is the product's wait; a test need not sit through it. */
    cr_assert_eq(setsockopt(c->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

static void rogue_finish(struct rogue *g, struct vfu_client *c)
{
    vfuc_close(c);
    pthread_join(g->thread, NULL);
    close(g->sock);
}

static void expect_broken(enum rogue_mode mode, int want)
{
    struct rogue g;
    struct vfu_client c;
    struct vfu_device_info di;
    uint32_t v;

    rogue_connect(&g, mode, &c);
    if (mode == SHORT_READ)
        cr_expect_eq(vfuc_region_read(&c, 0, 0, &v, 4), want);
    else
        cr_expect_eq(vfuc_device_info(&c, &di), want);
    cr_expect_eq(vfuc_device_info(&c, &di), -ENOTCONN, "broken for good");
    rogue_finish(&g, &c);
}

Test(vfu_client, garbage_and_dead_servers)
{
    expect_broken(WRONG_ID, -EPROTO);
    expect_broken(WRONG_CMD, -EPROTO);
    expect_broken(SILENT, -ETIMEDOUT);
    expect_broken(HANGUP, -ECONNRESET);
}

Test(vfu_client, bad_payloads)
{
    struct rogue g;
    struct vfu_client c;
    struct vfuc_region r;
    uint32_t v;

    rogue_connect(&g, SPARSE_PAST_END, &c);
    cr_expect_eq(vfuc_region_info(&c, 0, &r), -EPROTO, "sparse area past the region");
    rogue_finish(&g, &c);
    rogue_connect(&g, CAP_LOOP, &c);
    cr_expect_eq(vfuc_region_info(&c, 0, &r), -EPROTO, "capability chain loops");
    rogue_finish(&g, &c);
    rogue_connect(&g, SHORT_READ, &c);
    cr_expect_eq(vfuc_region_read(&c, 0, 0, &v, 4), -EPROTO, "read reply without its data");
    rogue_finish(&g, &c);
}

Test(vfu_client, connect_refuses_non_server)
{
    int sv[2];
    struct vfu_client c;
    char err[200] = "";

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    close(sv[1]); /* nobody there */
    cr_expect_lt(vfuc_connect(&c, sv[0], err, sizeof(err)), 0);
    cr_expect_neq(err[0], '\0');
    vfuc_close(&c); /* harmless after a failed connect */
}
