/* VIRTIO_F_ACCESS_PLATFORM end to end: the frontend library drives a real backend (echo device,
 * one thread per queue) over a socketpair with memfd guest memory; rings and buffers are given
 * by IOVA and translated through the IOTLB the frontend fills with IOTLB_MSG. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "device-procs/vu_backend.h"
#include "echo_dev.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

#define ALL_PF                                                                              \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |       \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) | \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                                  \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))
#define AP (1ull << VIRTIO_F_ACCESS_PLATFORM)
/* Where the guest's IOMMU puts things: rings at RING_IOVA + gpa, buffers one by one. */
#define RING_IOVA 0x40000000ull
#define BUF_IOVA  0x900000000ull

static struct echo_dev dev;
static struct vu_backend *b;
static pthread_t thr;
static int bsock = -1;
static struct vu_frontend fe;
static struct vu_gmem gm;
static struct vu_gring ring;
static uint64_t offered;

static void *serve(void *arg)
{
    (void)arg;
    while (vu_backend_handle(b, bsock) == 0)
        ;
    shutdown(bsock, SHUT_RDWR);
    vu_backend_disconnect(b);
    return NULL;
}

static void setup(void)
{
    int sv[2];

    echo_init(&dev);
    b = vu_backend_new(&echo_ops, &dev);
    cr_assert(b);
    cr_assert_eq(vu_gmem_create(&gm, 1 << 20), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    bsock = sv[1];
    vu_fe_init(&fe, sv[0]);
    cr_assert_eq(pthread_create(&thr, NULL, serve, NULL), 0);
}

static void teardown(void)
{
    vu_fe_close(&fe);
    pthread_join(thr, NULL);
    close(bsock);
    vu_gring_destroy(&ring);
    vu_gmem_destroy(&gm);
    vu_backend_free(b);
}

static uint64_t uva(uint64_t gpa)
{
    return (uint64_t)(uintptr_t)gm.base + gpa;
}

/* Negotiates (with ACCESS_PLATFORM if ap) and maps memory. */
static void open_device(bool ap)
{
    struct vu_fe_region r = vu_gmem_region(&gm);

    cr_assert_eq(vu_fe_negotiate(&fe, ALL_PF, &offered), 0);
    cr_assert_not(offered & AP, "a frontend acks it only by asking");
    cr_assert(vu_fe_has_access_platform(&fe));
    cr_assert_eq(vu_fe_set_features(&fe, offered | (ap ? AP : 0)), 0);
    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 8, true), 0);
}

/* The ring's pages at RING_IOVA + gpa. */
static void map_ring(void)
{
    uint64_t lo = ring.desc_gpa & ~0xfffull;
    uint64_t hi = (ring.used_gpa + 6 + 8 * ring.num + 0xfff) & ~0xfffull;

    cr_assert_eq(vu_fe_iotlb_update(&fe, RING_IOVA + lo, hi - lo, uva(lo), VHOST_USER_ACCESS_RW),
                 0);
}

static int start_ring_by_iova(uint64_t base)
{
    struct vu_fe_vring v = vu_gring_vring(&ring, &gm);

    v.desc_uva = base + ring.desc_gpa;
    v.avail_uva = base + ring.avail_gpa;
    v.used_uva = base + ring.used_gpa;
    return vu_fe_start_vring(&fe, 0, &v);
}

/* One page of guest memory for a buffer, mapped at iova with perm when perm is nonzero. */
static uint64_t buffer(uint64_t iova, uint8_t perm)
{
    uint64_t gpa = vu_gmem_alloc(&gm, 4096, 4096);

    cr_assert_neq(gpa, UINT64_MAX);
    if (perm)
        cr_assert_eq(vu_fe_iotlb_update(&fe, iova, 4096, uva(gpa), perm), 0);
    return gpa;
}

/* Publishes text out -> in (each by the address the device sees, filled through its gpa) and
 * kicks. */
static void echo(uint64_t out_addr, uint64_t out_gpa, uint64_t in_addr, uint64_t in_gpa,
                 const char *text)
{
    struct vu_gbuf bufs[2] = { { out_addr, (uint32_t)strlen(text) }, { in_addr, 64 } };
    uint16_t head;

    memcpy(vu_gmem_ptr(&gm, out_gpa), text, strlen(text));
    memset(vu_gmem_ptr(&gm, in_gpa), 0, 64);
    cr_assert_eq(vu_gring_add(&ring, bufs, 1, 1, &head), 0);
    vu_gring_want_interrupt(&ring);
    vu_gring_kick(&ring);
}

/* Waits for the used entry of the last chain: its length, or -1 on timeout. */
static int reap(uint64_t in_gpa, const char *text, int timeout_ms)
{
    uint16_t h;
    uint32_t len;

    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (vu_gring_get_used(&ring, &h, &len) == 1) {
            cr_assert_eq(len, strlen(text));
            cr_assert_eq(memcmp(vu_gmem_ptr(&gm, in_gpa), text, len), 0);
            return (int)len;
        }
        vu_gring_wait(&ring, 10);
    }
    return -1;
}

static int broken_err(void)
{
    return __atomic_load_n(&dev.broken_err, __ATOMIC_ACQUIRE);
}

/* An IOTLB_MSG built by hand (types the library never sends); the backend's verdict. */
static int raw_iotlb(uint8_t type, uint64_t iova, uint64_t size, uint8_t perm)
{
    struct vu_msg m;
    int fds[VHOST_USER_MAX_FDS];
    size_t nfds = 0;

    vu_msg_init(&m, VHOST_USER_IOTLB_MSG, VHOST_USER_FLAG_NEED_REPLY, sizeof(m.p.iotlb));
    memset(&m.p.iotlb, 0, sizeof(m.p.iotlb));
    m.p.iotlb = (struct vu_iotlb_msg){
        .iova = iova, .size = size, .uaddr = uva(0), .perm = perm, .type = type
    };
    cr_assert_eq(vu_msg_send(fe.sock, &m, NULL, 0), 0);
    cr_assert_eq(vu_msg_recv(fe.sock, &m, fds, &nfds), 1);
    cr_assert_eq(nfds, 0);
    cr_assert_eq(m.hdr.request, VHOST_USER_IOTLB_MSG);
    cr_assert_eq(m.hdr.size, 8);
    return m.p.u64 ? -EIO : 0;
}

TestSuite(vu_iotlb, .init = setup, .fini = teardown, .timeout = 30);

Test(vu_iotlb, ring_and_buffers_by_iova_then_invalidate)
{
    uint64_t out, in;

    open_device(true);
    map_ring();
    cr_assert_eq(start_ring_by_iova(RING_IOVA), 0);
    out = buffer(BUF_IOVA, VHOST_USER_ACCESS_RO);
    in = buffer(BUF_IOVA + 0x10000, VHOST_USER_ACCESS_WO);
    echo(BUF_IOVA, out, BUF_IOVA + 0x10000, in, "through the iommu");
    cr_assert_eq(reap(in, "through the iommu", 2000), 17);
    /* Acked: from now on no queue thread translates through the old entry. */
    cr_assert_eq(vu_fe_iotlb_invalidate(&fe, BUF_IOVA + 0x10000, 4096), 0);
    echo(BUF_IOVA, out, BUF_IOVA + 0x10000, in, "again");
    cr_assert_eq(reap(in, "again", 300), -1);
    cr_assert_eq(broken_err(), -EFAULT);
}

Test(vu_iotlb, buffer_by_guest_physical_address_is_refused)
{
    uint64_t out, in;

    open_device(true);
    map_ring();
    cr_assert_eq(start_ring_by_iova(RING_IOVA), 0);
    out = buffer(BUF_IOVA, VHOST_USER_ACCESS_RO);
    in = buffer(0, 0);
    echo(BUF_IOVA, out, in, in, "gpa");
    cr_assert_eq(reap(in, "gpa", 300), -1);
    cr_assert_eq(broken_err(), -EFAULT);
}

Test(vu_iotlb, write_into_read_only_mapping_is_refused)
{
    uint64_t out, in;

    open_device(true);
    map_ring();
    cr_assert_eq(start_ring_by_iova(RING_IOVA), 0);
    out = buffer(BUF_IOVA, VHOST_USER_ACCESS_RO);
    in = buffer(BUF_IOVA + 0x10000, VHOST_USER_ACCESS_RO);
    echo(BUF_IOVA, out, BUF_IOVA + 0x10000, in, "ro");
    cr_assert_eq(reap(in, "ro", 300), -1);
    cr_assert_eq(broken_err(), -EFAULT);
}

Test(vu_iotlb, ring_not_mapped_is_refused)
{
    open_device(true);
    cr_assert_eq(start_ring_by_iova(RING_IOVA), -EIO, "SET_VRING_ADDR nacked");
    cr_assert_eq(dev.starts, 0);
}

Test(vu_iotlb, ring_unmapped_stops_the_queue_until_mapped_again)
{
    uint64_t out, in;

    open_device(true);
    map_ring();
    cr_assert_eq(start_ring_by_iova(RING_IOVA), 0);
    cr_assert_eq(dev.starts, 1);
    cr_assert_eq(vu_fe_iotlb_invalidate(&fe, RING_IOVA + ring.used_gpa, 8), 0);
    cr_assert_eq(dev.stops, 1, "stopped before the ack");
    out = buffer(BUF_IOVA, VHOST_USER_ACCESS_RO);
    in = buffer(BUF_IOVA + 0x10000, VHOST_USER_ACCESS_WO);
    cr_assert_eq(dev.starts, 1, "buffer updates do not start it while its ring is unmapped");
    echo(BUF_IOVA, out, BUF_IOVA + 0x10000, in, "waiting");
    cr_assert_eq(reap(in, "waiting", 200), -1);
    map_ring();
    cr_assert_eq(dev.starts, 2, "the update that maps the ring starts it where it was");
    cr_assert_eq(reap(in, "waiting", 2000), 7);
    cr_assert_eq(broken_err(), 0);
}

Test(vu_iotlb, table_survives_reset_device)
{
    uint64_t out, in;

    open_device(true);
    /* All guest memory at RING_IOVA + gpa, read-write. */
    cr_assert_eq(vu_fe_iotlb_update(&fe, RING_IOVA, gm.size, uva(0), VHOST_USER_ACCESS_RW), 0);
    cr_assert_eq(start_ring_by_iova(RING_IOVA), 0);
    out = buffer(0, 0);
    in = buffer(0, 0);
    echo(RING_IOVA + out, out, RING_IOVA + in, in, "before");
    cr_assert_eq(reap(in, "before", 2000), 6);
    cr_assert_eq(vu_fe_reset_device(&fe), 0);
    cr_assert_eq(vu_fe_set_features(&fe, offered | AP), 0);
    vu_gring_destroy(&ring);
    cr_assert_eq(vu_gring_init(&ring, &gm, 8, true), 0);
    cr_assert_eq(start_ring_by_iova(RING_IOVA), 0, "no UPDATE needed again");
    echo(RING_IOVA + out, out, RING_IOVA + in, in, "after reset");
    cr_assert_eq(reap(in, "after reset", 2000), 11);
}

Test(vu_iotlb, refused_messages_are_nacked)
{
    open_device(true);
    cr_assert_eq(raw_iotlb(VHOST_USER_IOTLB_MISS, BUF_IOVA, 4096, VHOST_USER_ACCESS_RO), -EIO);
    cr_assert_eq(raw_iotlb(VHOST_USER_IOTLB_ACCESS_FAIL, BUF_IOVA, 4096, VHOST_USER_ACCESS_RO),
                 -EIO);
    cr_assert_eq(raw_iotlb(9, BUF_IOVA, 4096, VHOST_USER_ACCESS_RO), -EIO);
    cr_assert_eq(vu_fe_iotlb_update(&fe, BUF_IOVA, 0, uva(0), VHOST_USER_ACCESS_RO), -EIO);
    cr_assert_eq(vu_fe_iotlb_update(&fe, UINT64_MAX - 0xfff, 0x2000, uva(0), VHOST_USER_ACCESS_RO),
                 -EIO, "wraps");
    cr_assert_eq(vu_fe_iotlb_update(&fe, BUF_IOVA, 4096, uva(0), 0), -EIO, "no permission");
    cr_assert_eq(vu_fe_iotlb_invalidate(&fe, BUF_IOVA, 0), -EIO);
    cr_assert_eq(raw_iotlb(VHOST_USER_IOTLB_UPDATE, BUF_IOVA, 4096, VHOST_USER_ACCESS_RO), 0);
    cr_assert_eq(vu_fe_iotlb_invalidate(&fe, BUF_IOVA, 4096), 0, "the connection goes on");
}

Test(vu_iotlb, wrong_payload_size_drops_the_connection)
{
    struct vu_msg m;
    uint64_t f;

    open_device(true);
    vu_msg_init(&m, VHOST_USER_IOTLB_MSG, VHOST_USER_FLAG_NEED_REPLY, 24);
    memset(&m.p.iotlb, 0, sizeof(m.p.iotlb));
    m.p.iotlb.type = VHOST_USER_IOTLB_UPDATE;
    cr_assert_eq(vu_msg_send(fe.sock, &m, NULL, 0), 0);
    cr_assert_lt(vu_fe_get_features(&fe, &f), 0);
}

Test(vu_iotlb, frontend_without_access_platform_translates_by_gpa_as_before)
{
    struct vu_fe_vring v;
    uint64_t out, in;

    open_device(false);
    /* A table is accepted but never consulted: it maps nothing the rings or buffers use. */
    cr_assert_eq(vu_fe_iotlb_update(&fe, 0, 4096, uva(0x80000), VHOST_USER_ACCESS_RO), 0);
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
    out = buffer(0, 0);
    in = buffer(0, 0);
    echo(out, out, in, in, "by gpa");
    cr_assert_eq(reap(in, "by gpa", 2000), 6);
    cr_assert_eq(broken_err(), 0);
}

Test(vu_iotlb, updates_need_reply_ack)
{
    struct vu_frontend plain;

    vu_fe_init(&plain, -1);
    cr_assert_eq(vu_fe_iotlb_update(&plain, 0, 4096, 0, VHOST_USER_ACCESS_RO), -ENOTSUP);
    cr_assert_eq(vu_fe_iotlb_invalidate(&plain, 0, 4096), -ENOTSUP);
    cr_assert_not(vu_fe_has_access_platform(&plain));
}

/* A device without config space still offers what an IOMMU frontend requires. */
Test(vu_iotlb_offer, every_device_offers_access_platform_and_the_backend_channel)
{
    struct devproc_ops ops = echo_ops;
    struct echo_dev d;
    struct vu_backend *nb;
    struct vu_msg m;
    int sv[2], fds[VHOST_USER_MAX_FDS];
    size_t nfds;

    ops.get_config = NULL;
    ops.set_config = NULL;
    ops.protocol_features = 0;
    echo_init(&d);
    nb = vu_backend_new(&ops, &d);
    cr_assert(nb);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    vu_msg_init(&m, VHOST_USER_GET_FEATURES, 0, 0);
    cr_assert_eq(vu_msg_send(sv[0], &m, NULL, 0), 0);
    cr_assert_eq(vu_backend_handle(nb, sv[1]), 0);
    cr_assert_eq(vu_msg_recv(sv[0], &m, fds, &nfds), 1);
    cr_assert(m.p.u64 & AP);
    vu_msg_init(&m, VHOST_USER_GET_PROTOCOL_FEATURES, 0, 0);
    cr_assert_eq(vu_msg_send(sv[0], &m, NULL, 0), 0);
    cr_assert_eq(vu_backend_handle(nb, sv[1]), 0);
    cr_assert_eq(vu_msg_recv(sv[0], &m, fds, &nfds), 1);
    cr_assert(m.p.u64 & (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ));
    cr_assert(m.p.u64 & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
    cr_assert_not(m.p.u64 & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
    vu_backend_free(nb);
    close(sv[0]);
    close(sv[1]);
}
