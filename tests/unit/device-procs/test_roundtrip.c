/* Frontend library ↔ backend state machine ↔ echo device, with real memfd guest memory,
 * eventfds and device threads. */
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
     (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |                                       \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))

static struct echo_dev dev;
static struct vu_backend *b;
static pthread_t thr;
static int bsock = -1;
static struct vu_frontend fe;
static struct vu_gmem gm;
static struct vu_gring ring;
static int config_changes;

static void *serve(void *arg)
{
    (void)arg;
    while (vu_backend_handle(b, bsock) == 0)
        ;
    /* As devproc does: a dropped frontend sees its connection end. */
    shutdown(bsock, SHUT_RDWR);
    vu_backend_disconnect(b);
    return NULL;
}

static void connect_backend(void)
{
    int sv[2];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    bsock = sv[1];
    vu_fe_init(&fe, sv[0]);
    cr_assert_eq(pthread_create(&thr, NULL, serve, NULL), 0);
}

static void disconnect_backend(void)
{
    vu_fe_close(&fe);
    pthread_join(thr, NULL);
    close(bsock);
    bsock = -1;
}

static void setup(void)
{
    echo_init(&dev);
    b = vu_backend_new(&echo_ops, &dev);
    cr_assert(b);
    cr_assert_eq(vu_gmem_create(&gm, 1 << 20), 0);
    connect_backend();
}

static void teardown(void)
{
    disconnect_backend();
    vu_gring_destroy(&ring);
    vu_gmem_destroy(&gm);
    vu_backend_free(b);
}

static void on_config(void *opaque)
{
    (void)opaque;
    config_changes++;
}

/* Negotiates, maps memory and starts queue 0 with a ring of 8. */
static void start(uint64_t pf, bool proto_bit, bool event_idx)
{
    struct vu_fe_region r = vu_gmem_region(&gm);
    struct vu_fe_vring v;
    uint64_t offered;

    fe.config_changed = on_config;
    cr_assert_eq(vu_fe_negotiate(&fe, pf, &offered), 0);
    cr_assert_not(offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES), "bit 30 masked");
    if (!proto_bit)
        fe.features = 0;
    if (!event_idx)
        offered &= ~(1ull << VIRTIO_RING_F_EVENT_IDX);
    cr_assert_eq(vu_fe_set_features(&fe, offered), 0);
    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 8, event_idx), 0);
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
}

/* Sends one echo request and returns the used length (or -1 on timeout). */
static int echo_once(const char *text, int timeout_ms)
{
    uint64_t out = vu_gmem_alloc(&gm, 64, 8), in = vu_gmem_alloc(&gm, 64, 8);
    struct vu_gbuf bufs[2] = { { out, (uint32_t)strlen(text) }, { in, 64 } };
    uint16_t head, h;
    uint32_t len;

    memcpy(vu_gmem_ptr(&gm, out), text, strlen(text));
    cr_assert_eq(vu_gring_add(&ring, bufs, 1, 1, &head), 0);
    vu_gring_want_interrupt(&ring);
    vu_gring_kick(&ring);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (vu_gring_get_used(&ring, &h, &len) == 1) {
            cr_assert_eq(h, head);
            cr_assert_eq(memcmp(vu_gmem_ptr(&gm, in), text, len), 0);
            return (int)len;
        }
        vu_gring_wait(&ring, 10);
    }
    return -1;
}

TestSuite(roundtrip, .init = setup, .fini = teardown, .timeout = 20);

Test(roundtrip, echo_with_event_idx)
{
    start(ALL_PF, true, true);
    cr_assert_eq(echo_once("hello", 2000), 5);
    cr_assert_eq(echo_once("again, longer", 2000), 13);
}

Test(roundtrip, echo_without_event_idx)
{
    start(ALL_PF, true, false);
    cr_assert_eq(echo_once("plain", 2000), 5);
}

Test(roundtrip, no_reply_ack)
{
    start(ALL_PF & ~(1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK), true, true);
    cr_assert_eq(echo_once("noack", 2000), 5);
}

Test(roundtrip, rings_disabled_until_enable_with_bit30)
{
    struct vu_fe_region r = vu_gmem_region(&gm);
    struct vu_fe_vring v;
    uint64_t offered;

    cr_assert_eq(vu_fe_negotiate(&fe, ALL_PF, &offered), 0);
    cr_assert_eq(vu_fe_set_features(&fe, offered), 0);
    cr_assert_eq(vu_fe_set_mem_table(&fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 8, true), 0);
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_set_vring_num(&fe, 0, v.num), 0);
    cr_assert_eq(vu_fe_set_vring_addr(&fe, 0, v.desc_uva, v.avail_uva, v.used_uva), 0);
    cr_assert_eq(vu_fe_set_vring_base(&fe, 0, 0), 0);
    cr_assert_eq(vu_fe_set_vring_call(&fe, 0, v.call_fd), 0);
    cr_assert_eq(vu_fe_set_vring_kick(&fe, 0, v.kick_fd), 0);
    cr_assert_eq(echo_once("wait", 200), -1, "disabled ring is not processed");
    cr_assert_eq(vu_fe_set_vring_enable(&fe, 0, true), 0);
    {
        uint16_t h;
        uint32_t len;
        int got = 0;

        for (int i = 0; i < 200 && !got; i++) {
            got = vu_gring_get_used(&ring, &h, &len) == 1;
            if (!got)
                vu_gring_wait(&ring, 10);
        }
        cr_assert(got, "enabling runs the request without a new kick");
    }
}

Test(roundtrip, rings_enabled_without_bit30)
{
    start(ALL_PF, false, true);
    cr_assert_eq(echo_once("legacy", 2000), 6);
}

Test(roundtrip, get_vring_base_stops_without_reset)
{
    struct vu_fe_vring v;
    uint16_t base = 0xffff;

    start(ALL_PF, true, true);
    cr_assert_eq(echo_once("one", 2000), 3);
    cr_assert_eq(echo_once("two", 2000), 3);
    cr_assert_eq(vu_fe_get_vring_base(&fe, 0, &base), 0);
    cr_assert_eq(base, 2);
    cr_assert_eq(dev.stops, 1);
    cr_assert_eq(echo_once("parked", 200), -1, "a stopped ring is not touched");
    /* The third request is still in the ring: restarting at base 2 picks it up. */
    v = vu_gring_vring(&ring, &gm);
    v.base = base;
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
    {
        uint16_t h;
        uint32_t len;
        int got = 0;

        for (int i = 0; i < 200 && !got; i++) {
            got = vu_gring_get_used(&ring, &h, &len) == 1;
            if (!got)
                vu_gring_wait(&ring, 10);
        }
        cr_assert(got);
        cr_assert_eq(len, 6);
    }
}

Test(roundtrip, config_space)
{
    uint8_t buf[16], one = 0x42;

    start(ALL_PF, true, true);
    cr_assert_eq(vu_fe_get_config(&fe, 0, buf, 16), 0);
    cr_assert_eq(buf[3], 0xa3);
    cr_assert_eq(vu_fe_get_config(&fe, 12, buf, 8), -EIO, "past the config size");
    cr_assert_eq(vu_fe_set_config(&fe, 0, &one, 1, VHOST_USER_CONFIG_WRITABLE), 0);
    cr_assert_eq(vu_fe_get_config(&fe, 0, buf, 1), 0);
    cr_assert_eq(buf[0], 0x42);
    cr_assert_eq(vu_fe_set_config(&fe, 4, &one, 1, VHOST_USER_CONFIG_WRITABLE), -EIO,
                 "read-only field");
}

Test(roundtrip, config_change_on_backend_channel)
{
    start(ALL_PF, true, true);
    cr_assert_geq(fe.backend_req_fd, 0);
    cr_assert_eq(vu_backend_config_changed(b), 0);
    cr_assert_eq(vu_fe_handle_backend_req(&fe), 0);
    cr_assert_eq(config_changes, 1);
}

Test(roundtrip, reset_device)
{
    start(ALL_PF, true, true);
    cr_assert_eq(echo_once("x", 2000), 1);
    cr_assert_eq(vu_fe_reset_device(&fe), 0);
    cr_assert_eq(dev.resets, 1);
    cr_assert_eq(dev.stops, 1);
    cr_assert(vu_backend_suspended(b));
}

Test(roundtrip, inflight_fd)
{
    int fd = -1;
    uint64_t size = 0;

    start(ALL_PF, true, true);
    cr_assert_lt(vu_fe_get_inflight_fd(&fe, 1, 8, &fd, &size), 0,
                 "refused while a queue runs: the backend drops the connection");
    close(fd);
}

Test(roundtrip, inflight_fd_before_start)
{
    int fd = -1;
    uint64_t size = 0, offered;

    cr_assert_eq(vu_fe_negotiate(&fe, ALL_PF, &offered), 0);
    cr_assert_eq(vu_fe_get_inflight_fd(&fe, 2, 8, &fd, &size), 0);
    cr_assert_geq(fd, 0);
    cr_assert_geq(size, 2 * (16 + 8 * 16));
    cr_assert_eq(vu_fe_set_inflight_fd(&fe, 2, 8, fd, size), 0);
    cr_assert_lt(vu_fe_get_inflight_fd(&fe, 9, 8, &fd, &size), 0, "more queues than the device");
    close(fd);
}

Test(roundtrip, mem_slots)
{
    struct vu_gmem extra;
    struct vu_fe_region r;
    uint64_t slots = 0;

    start(ALL_PF, true, true);
    cr_assert_eq(vu_fe_get_max_mem_slots(&fe, &slots), 0);
    cr_assert_eq(slots, 509);
    cr_assert_eq(vu_gmem_create(&extra, 1 << 16), 0);
    r = vu_gmem_region(&extra);
    r.gpa = 1ull << 32;
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &r), 0);
    cr_assert_eq(echo_once("after add", 2000), 9, "queue restarted after the change");
    r.size /= 2;
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &r), -EIO, "overlap");
    r.size *= 2;
    /* The identical region again is counted, not refused: QEMU < 8.1 adds it once per vhost_dev
       (a multi-queue net device has one per queue pair) and removes it as often. */
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &r), 0, "identical: counted");
    cr_assert_eq(vu_fe_rem_mem_reg(&fe, &r), 0);
    cr_assert_eq(vu_fe_rem_mem_reg(&fe, &r), 0);
    cr_assert_eq(vu_fe_rem_mem_reg(&fe, &r), -EIO, "already gone");
    vu_gmem_destroy(&extra);
}

Test(roundtrip, next_frontend_after_disconnect)
{
    start(ALL_PF, true, true);
    cr_assert_eq(echo_once("first", 2000), 5);
    disconnect_backend();
    cr_assert(vu_backend_suspended(b), "queues stopped when the frontend left");
    vu_gring_destroy(&ring);
    connect_backend();
    start(ALL_PF, true, true);
    cr_assert_eq(echo_once("second", 2000), 6);
}

Test(roundtrip, queue_count)
{
    uint64_t n = 0, offered;

    cr_assert_eq(vu_fe_negotiate(&fe, ALL_PF, &offered), 0);
    cr_assert_eq(vu_fe_get_queue_num(&fe, &n), 0);
    cr_assert_eq(n, ECHO_QUEUES);
}
