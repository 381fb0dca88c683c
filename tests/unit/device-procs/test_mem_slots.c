/* More memory regions than one SET_MEM_TABLE carries: vu_fe_set_memory switches to ADD_MEM_REG
 * (CONFIGURE_MEM_SLOTS) against the real backend state machine, and a ring whose buffers live in
 * the tenth region still echoes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device-procs/vu_backend.h"
#include "echo_dev.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

#define NREG  10
#define CHUNK (64u << 10)
#define PF_BASE                                                                       \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))
#define PF_SLOTS (PF_BASE | (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

static struct echo_dev dev;
static struct vu_backend *b;
static pthread_t thr;
static int bsock = -1;
static struct vu_frontend fe;
static struct vu_gmem gm;
static struct vu_gring ring;
static struct vu_fe_region regs[NREG];

static void *serve(void *arg)
{
    (void)arg;
    while (vu_backend_handle(b, bsock) == 0)
        ;
    shutdown(bsock, SHUT_RDWR);
    vu_backend_disconnect(b);
    return NULL;
}

/* The 1 MiB memfd as NREG regions of CHUNK bytes, gpa = offset, from the one fd. */
static void setup(void)
{
    int sv[2];

    echo_init(&dev);
    b = vu_backend_new(&echo_ops, &dev);
    cr_assert(b);
    cr_assert_eq(vu_gmem_create(&gm, 1 << 20), 0);
    for (unsigned i = 0; i < NREG; i++)
        regs[i] = (struct vu_fe_region){ .gpa = (uint64_t)i * CHUNK,
                                         .size = CHUNK,
                                         .uva = (uint64_t)(uintptr_t)gm.base + (uint64_t)i * CHUNK,
                                         .mmap_offset = (uint64_t)i * CHUNK,
                                         .fd = gm.fd };
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

static void negotiate(uint64_t pf)
{
    uint64_t offered;

    cr_assert_eq(vu_fe_negotiate(&fe, pf, &offered), 0);
    cr_assert_eq(vu_fe_set_features(&fe, offered), 0);
}

/* The ring in region 0, then buffers in the last region: only its ADD_MEM_REG maps them. */
static void start_ring(void)
{
    struct vu_fe_vring v;

    cr_assert_eq(vu_gring_init(&ring, &gm, 8, true), 0);
    cr_assert_lt(gm.brk, CHUNK, "ring inside region 0");
    v = vu_gring_vring(&ring, &gm);
    cr_assert_eq(vu_fe_start_vring(&fe, 0, &v), 0);
    gm.brk = (uint64_t)(NREG - 1) * CHUNK;
}

static int echo_once(const char *text)
{
    uint64_t out = vu_gmem_alloc(&gm, 64, 8), in = vu_gmem_alloc(&gm, 64, 8);
    struct vu_gbuf bufs[2] = { { out, (uint32_t)strlen(text) }, { in, 64 } };
    uint16_t head, h;
    uint32_t len;

    cr_assert_geq(out, (uint64_t)(NREG - 1) * CHUNK, "buffers in the last region");
    memcpy(vu_gmem_ptr(&gm, out), text, strlen(text));
    cr_assert_eq(vu_gring_add(&ring, bufs, 1, 1, &head), 0);
    vu_gring_want_interrupt(&ring);
    vu_gring_kick(&ring);
    for (int waited = 0; waited < 2000; waited += 10) {
        if (vu_gring_get_used(&ring, &h, &len) == 1) {
            cr_assert_eq(h, head);
            cr_assert_eq(memcmp(vu_gmem_ptr(&gm, in), text, len), 0);
            return (int)len;
        }
        vu_gring_wait(&ring, 10);
    }
    return -1;
}

TestSuite(mem_slots, .init = setup, .fini = teardown, .timeout = 20);

Test(mem_slots, ten_regions_through_add_mem_reg)
{
    negotiate(PF_SLOTS);
    cr_assert_eq(vu_fe_set_memory(&fe, regs, NREG), 0);
    cr_assert_eq(fe.nheld, NREG);
    start_ring();
    cr_assert_eq(echo_once("tenth region"), 12);
    /* The same layout again (a guest reboot): nothing changes, the ring keeps working. */
    cr_assert_eq(vu_fe_set_memory(&fe, regs, NREG), 0);
    cr_assert_eq(fe.nheld, NREG);
    cr_assert_eq(echo_once("again"), 5);
}

Test(mem_slots, removed_region_is_unmapped)
{
    negotiate(PF_SLOTS);
    cr_assert_eq(vu_fe_set_memory(&fe, regs, NREG), 0);
    start_ring();
    cr_assert_eq(echo_once("mapped"), 6);
    /* Nine regions still take the ADD path when one moves: swap the last for a smaller one,
     * so the buffers' region is gone and the backend must refuse the next request. */
    regs[NREG - 1].size = CHUNK / 2;
    regs[NREG - 1].gpa += CHUNK / 2;
    regs[NREG - 1].uva += CHUNK / 2;
    regs[NREG - 1].mmap_offset += CHUNK / 2;
    cr_assert_eq(vu_fe_set_memory(&fe, regs, NREG), 0);
    cr_assert_eq(fe.nheld, NREG);
    cr_assert_eq(echo_once("unmapped"), -1, "buffers outside every region are not touched");
}

Test(mem_slots, too_many_without_mem_slots)
{
    negotiate(PF_BASE);
    cr_assert_eq(vu_fe_set_memory(&fe, regs, NREG), -E2BIG);
    cr_assert_eq(vu_fe_set_memory(&fe, regs, 8), 0, "eight fit in SET_MEM_TABLE");
    cr_assert_eq(fe.nheld, 8);
}

Test(mem_slots, refused_add_mem_reg_leaves_queues_serving)
{
    struct vu_fe_region clash = regs[0];

    negotiate(PF_SLOTS);
    cr_assert_eq(vu_fe_set_memory(&fe, regs, NREG), 0);
    start_ring();
    cr_assert_eq(echo_once("before"), 6);
    /* Overlaps region 0 in guest-physical space under another user address: refused. */
    clash.uva += 1ull << 32;
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &clash), -EIO);
    cr_assert_eq(echo_once("after a refused region"), 22, "the queues were restarted");
    /* A region past the end of its file is refused after the overlap checks: same answer. */
    clash.gpa = 1ull << 32;
    clash.mmap_offset = 1ull << 20;
    cr_assert_eq(vu_fe_add_mem_reg(&fe, &clash), -EIO);
    cr_assert_eq(echo_once("again"), 5);
}
