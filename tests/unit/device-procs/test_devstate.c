/*
 * vhost-user DEVICE_STATE in the backend runtime (issue 18): the echo device with a state of
 * its own (config byte 0, a payload size the test chooses), saved through the frontend library
 * over a real socket pair into a blob, loaded into a second backend; and everything a load may
 * meet that is not its own blob (truncated, corrupt, edited, another device, other features,
 * oversized, rings running) refused by CHECK_DEVICE_STATE while the backend keeps serving.
 * The backend side runs as devproc's loop would: a poll on the socket and the transfer's fd.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device-procs/vu_backend.h"
#include "device-procs/vu_devstate.h"
#include "echo_dev.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

#define PF                                                                            \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | (1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE))

/* One backend and the frontend that drives it. */
struct side {
    struct echo_dev dev;
    struct vu_backend *b;
    struct vu_frontend fe;
    int bsock;
    pthread_t thr;
    int loads; /* load_state calls that changed the device */
};

static struct devproc_ops ops;
static size_t save_size = 16; /* payload bytes save_state produces */
static struct side src, dst;
static struct vu_gmem gm;

/* The echo device's state: its config space, then filler up to save_size. */
static int echo_save(void *d, uint8_t *buf, size_t cap)
{
    struct echo_dev *e = d;

    if (save_size > cap || save_size < sizeof(e->config))
        return -E2BIG;
    memcpy(buf, e->config, sizeof(e->config));
    for (size_t i = sizeof(e->config); i < save_size; i++)
        buf[i] = (uint8_t)i;
    return (int)save_size;
}

static int echo_load(void *d, const uint8_t *buf, size_t len)
{
    struct echo_dev *e = d;
    struct side *s = d == &src.dev ? &src : &dst;

    if (len < sizeof(e->config))
        return -EINVAL;
    for (size_t i = sizeof(e->config); i < len; i++)
        if (buf[i] != (uint8_t)i)
            return -EINVAL;
    memcpy(e->config, buf, sizeof(e->config));
    s->loads++;
    return 0;
}

/* devproc's loop in small: the socket, and the transfer's fd while it has one. */
static void *serve(void *arg)
{
    struct side *s = arg;

    for (;;) {
        struct pollfd p[2] = { { .fd = s->bsock, .events = POLLIN } };
        bool wr;
        int xfd = vu_backend_xfer_fd(s->b, &wr), n;

        p[1] = (struct pollfd){ .fd = xfd, .events = wr ? POLLOUT : POLLIN };
        n = poll(p, xfd >= 0 ? 2 : 1, 1000);
        if (n < 0)
            break;
        if (xfd >= 0 && p[1].revents)
            vu_backend_xfer_pump(s->b);
        if (p[0].revents && vu_backend_handle(s->b, s->bsock))
            break;
    }
    shutdown(s->bsock, SHUT_RDWR);
    vu_backend_disconnect(s->b);
    return NULL;
}

static void side_up(struct side *s)
{
    int sv[2];
    uint64_t offered;

    echo_init(&s->dev);
    s->loads = 0;
    s->b = vu_backend_new(&ops, &s->dev);
    cr_assert_not_null(s->b);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    s->bsock = sv[1];
    vu_fe_init(&s->fe, sv[0]);
    cr_assert_eq(pthread_create(&s->thr, NULL, serve, s), 0);
    cr_assert_eq(vu_fe_negotiate(&s->fe, PF, &offered), 0);
    cr_assert(vu_fe_has_device_state(&s->fe), "DEVICE_STATE offered with save and load");
    cr_assert_eq(vu_fe_set_features(&s->fe, offered), 0);
}

static void side_down(struct side *s)
{
    if (!s->b)
        return;
    vu_fe_close(&s->fe);
    pthread_join(s->thr, NULL);
    close(s->bsock);
    vu_backend_free(s->b);
    s->b = NULL;
}

static void setup(void)
{
    ops = echo_ops;
    ops.virtio_id = 0x2a;
    ops.save_state = echo_save;
    ops.load_state = echo_load;
    save_size = 16;
    cr_assert_eq(vu_gmem_create(&gm, 1 << 20), 0);
    side_up(&src);
    side_up(&dst);
}

static void teardown(void)
{
    side_down(&src);
    side_down(&dst);
    vu_gmem_destroy(&gm);
}

TestSuite(devstate, .init = setup, .fini = teardown, .timeout = 30);

/* A saved blob of the source, config byte 0 set to mark. */
static uint8_t *saved(uint8_t mark, size_t *len)
{
    uint8_t *blob = NULL;

    cr_assert_eq(vu_fe_set_config(&src.fe, 0, &mark, 1, VHOST_USER_CONFIG_WRITABLE), 0);
    cr_assert_eq(vu_fe_save_state(&src.fe, &blob, len, VU_DEVSTATE_MAX), 0);
    cr_assert_eq(*len, VU_DEVSTATE_HDR + save_size);
    return blob;
}

/* The destination still answers and still takes a good blob after whatever came before. */
static void still_serves(const uint8_t *good, size_t len, uint8_t mark)
{
    uint64_t f;
    uint8_t c = 0;

    cr_assert_eq(vu_fe_get_features(&dst.fe, &f), 0, "the backend keeps serving");
    cr_assert_eq(vu_fe_load_state(&dst.fe, good, len), 0);
    cr_assert_eq(vu_fe_get_config(&dst.fe, 0, &c, 1), 0);
    cr_assert_eq(c, mark);
}

Test(devstate, save_load_round_trip)
{
    size_t len;
    uint8_t *blob = saved(0x5c, &len);
    const uint8_t *payload;
    const char *why = NULL;
    uint32_t plen;
    uint64_t f = src.fe.features &
                 ~((1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VHOST_USER_F_LOG_ALL));
    uint8_t c = 0;

    cr_assert_eq(vu_devstate_open(blob, len, 0x2a, f, &payload, &plen, &why), 0, "%s", why);
    cr_assert_eq(plen, 16);
    cr_assert_eq(payload[0], 0x5c);
    cr_assert_eq(vu_fe_load_state(&dst.fe, blob, len), 0);
    cr_assert_eq(dst.loads, 1);
    cr_assert_eq(vu_fe_get_config(&dst.fe, 0, &c, 1), 0);
    cr_assert_eq(c, 0x5c, "the state moved to the other backend");
    /* Twice in a row, and back the other way. */
    cr_assert_eq(vu_fe_load_state(&dst.fe, blob, len), 0);
    cr_assert_eq(vu_fe_load_state(&src.fe, blob, len), 0);
    free(blob);
}

Test(devstate, large_state_moves_through_the_loop)
{
    size_t len;
    uint8_t *blob;

    /* Larger than a socket's buffer: both directions need the pump more than once. */
    save_size = VU_DEVSTATE_MAX - VU_DEVSTATE_HDR;
    blob = saved(0x77, &len);
    cr_assert_eq(vu_fe_load_state(&dst.fe, blob, len), 0);
    cr_assert_eq(dst.loads, 1);
    free(blob);
}

Test(devstate, bad_blobs_refused_backend_keeps_serving)
{
    size_t len;
    uint8_t *blob, *bad;
    uint64_t other = 0;

    save_size = 24; /* 8 filler bytes the device checks */
    blob = saved(0x33, &len);
    bad = malloc(len + 8);

    cr_assert_not_null(bad);
    /* Truncated: header, payload. */
    cr_assert_eq(vu_fe_load_state(&dst.fe, blob, 10), -EIO);
    cr_assert_eq(vu_fe_load_state(&dst.fe, blob, len - 1), -EIO);
    /* Trailing bytes. */
    memcpy(bad, blob, len);
    memset(bad + len, 0, 8);
    cr_assert_eq(vu_fe_load_state(&dst.fe, bad, len + 8), -EIO);
    /* One payload bit flipped: the checksum. */
    memcpy(bad, blob, len);
    bad[len - 1] ^= 0x10;
    cr_assert_eq(vu_fe_load_state(&dst.fe, bad, len), -EIO);
    /* Magic, version, device type, features, length, checksum. */
    for (size_t i = 0; i < 6; i++) {
        static const size_t off[] = { 0, 4, 6, 8, 16, 20 };

        memcpy(bad, blob, len);
        bad[off[i]] ^= 1;
        cr_assert_eq(vu_fe_load_state(&dst.fe, bad, len), -EIO, "header byte %zu", off[i]);
    }
    /* Valid framing, a payload the device refuses (its filler edited, checksum redone). */
    memcpy(bad, blob, len);
    bad[len - 1] ^= 0x10;
    memcpy(&other, bad + 8, 8);
    vu_devstate_seal(bad, 0x2a, other, (uint32_t)(len - VU_DEVSTATE_HDR));
    cr_assert_eq(vu_fe_load_state(&dst.fe, bad, len), -EIO);
    /* Nothing at all. */
    cr_assert_eq(vu_fe_load_state(&dst.fe, blob, 0), -EIO);
    cr_assert_eq(dst.loads, 0, "no refused blob reached the device");
    still_serves(blob, len, 0x33);
    free(bad);
    free(blob);
}

Test(devstate, oversized_refused)
{
    size_t len = VU_DEVSTATE_MAX + 4096;
    uint8_t *big = calloc(1, len), *blob;
    size_t good;

    cr_assert_not_null(big);
    cr_assert_eq(vu_fe_load_state(&dst.fe, big, len), -EIO);
    blob = saved(0x44, &good);
    still_serves(blob, good, 0x44);
    free(blob);
    free(big);
}

Test(devstate, refused_while_a_ring_runs)
{
    struct vu_gring ring;
    struct vu_fe_region r = vu_gmem_region(&gm);
    struct vu_fe_vring v;
    size_t len;
    uint8_t *blob = saved(0x21, &len), *out = NULL;
    uint16_t base;

    cr_assert_eq(vu_fe_set_mem_table(&dst.fe, &r, 1), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, 8, false), 0);
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_start_vring(&dst.fe, 0, &v), 0);
    cr_assert_eq(vu_fe_load_state(&dst.fe, blob, len), -EIO, "rings first stopped");
    cr_assert_eq(vu_fe_save_state(&dst.fe, &out, &len, VU_DEVSTATE_MAX), -EIO);
    cr_assert_eq(dst.loads, 0);
    cr_assert_eq(vu_fe_get_vring_base(&dst.fe, 0, &base), 0);
    still_serves(blob, VU_DEVSTATE_HDR + save_size, 0x21);
    vu_gring_destroy(&ring);
    free(blob);
}

Test(devstate, check_without_transfer_and_save_without_feature)
{
    struct side plain = { 0 };
    uint64_t offered;
    int sv[2];
    uint8_t *out = NULL;
    size_t len;

    /* A device without save/load does not offer the feature; the frontend says so. */
    echo_init(&plain.dev);
    plain.b = vu_backend_new(&echo_ops, &plain.dev);
    cr_assert_not_null(plain.b);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    plain.bsock = sv[1];
    vu_fe_init(&plain.fe, sv[0]);
    cr_assert_eq(pthread_create(&plain.thr, NULL, serve, &plain), 0);
    cr_assert_eq(vu_fe_negotiate(&plain.fe, PF, &offered), 0);
    cr_assert_not(vu_fe_has_device_state(&plain.fe));
    cr_assert_eq(vu_fe_save_state(&plain.fe, &out, &len, VU_DEVSTATE_MAX), -ENOTSUP);
    side_down(&plain);
}
