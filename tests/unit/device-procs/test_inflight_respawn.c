/*
 * Device respawn with the inflight region, end to end with the real backend state machine: a
 * frontend (playing the core) negotiates INFLIGHT_SHMFD, takes the region with GET_INFLIGHT_FD and
 * starts a ring of requests; backend 1 takes some and completes some, then dies (its socket closed,
 * no GET_VRING_BASE); backend 2 gets the memory table, SET_INFLIGHT_FD and the base the core
 * computes (vu_inflight_ring_base, the function core/vm/virtio_pci_rc.c calls). Every request must
 * then be completed exactly once: in-flight ones resubmitted, completed ones (signalled or not)
 * left alone, the ones never taken served from the avail ring.
 *
 * The device here is the test thread itself (hold_dev: start_queue hands it the virtq and nothing
 * else touches the ring), so it takes and completes exactly what the case says; one case puts the
 * echo device, with its own thread, behind backend 2. every_crash_point stops backend 1's pushes at
 * each store into the used ring or the inflight record (write-protect, then single-step) and
 * recovers from each of those states.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <ucontext.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "device-procs/inflight.h"
#include "device-procs/virtq.h"
#include "device-procs/vu_backend.h"
#include "echo_dev.h"
#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"
#include "ipc/vu_inflight.h"

#define QS       32 /* ring size */
#define NREQ     12 /* requests published, two descriptors each */
#define FEATURES (1ull << VIRTIO_F_VERSION_1)
/* What the core asks for; CONFIG and BACKEND_REQ are offered only by devices with a config. */
#define WANT_PF                                                                              \
    ((1ull << VHOST_USER_PROTOCOL_F_MQ) | (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |        \
     (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                                   \
     (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |                                        \
     (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | \
     (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ))
#define USED_BYTES (4 + 8 * QS)
#define PAGE       4096ul

struct hold_dev {
    pthread_mutex_t lock;
    struct virtq *vq; /* queue 0 while the backend runs it: the test thread is its device thread */
};

static int hold_start(void *dev, uint16_t idx, struct virtq *vq)
{
    struct hold_dev *d = dev;

    pthread_mutex_lock(&d->lock);
    if (idx == 0)
        d->vq = vq;
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static int hold_stop(void *dev, uint16_t idx)
{
    struct hold_dev *d = dev;

    pthread_mutex_lock(&d->lock);
    if (idx == 0)
        d->vq = NULL;
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static const struct devproc_ops hold_ops = {
    .name = "hold",
    .spec_option = "hold",
    .features = FEATURES,
    .max_queues = 1,
    .start_queue = hold_start,
    .stop_queue = hold_stop,
};

/* One backend process: its state machine, its device and the frontend's connection to it. */
struct inst {
    struct vu_backend *b;
    bool echo;
    struct hold_dev hold;
    struct echo_dev edev;
    pthread_t thr;
    int bsock; /* the backend's end */
    struct vu_frontend fe;
};

struct req {
    uint16_t head;
    uint64_t out, in; /* gpas */
    char text[8];
};

static struct vu_gmem gm;
static struct vu_gring ring;
static struct req rq[NREQ];
static struct virtq_elem *el; /* by request, and a scratch one at NREQ */
static uint16_t start_idx;    /* ring indices at the first start */
static int infl_fd = -1;      /* the region, kept by the "core" across backends */
static uint64_t infl_size;
static uint8_t *region; /* our view of it */
static uint64_t first_pf;

static void *serve(void *arg)
{
    struct inst *in = arg;

    while (vu_backend_handle(in->b, in->bsock) == 0)
        ;
    shutdown(in->bsock, SHUT_RDWR);
    vu_backend_disconnect(in->b);
    return NULL;
}

static struct inst *spawn(bool echo)
{
    struct inst *in = calloc(1, sizeof(*in));
    int sv[2];

    cr_assert(in);
    in->echo = echo;
    pthread_mutex_init(&in->hold.lock, NULL);
    if (echo)
        echo_init(&in->edev);
    in->b = echo ? vu_backend_new(&echo_ops, &in->edev) : vu_backend_new(&hold_ops, &in->hold);
    cr_assert(in->b);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    in->bsock = sv[1];
    vu_fe_init(&in->fe, sv[0]);
    cr_assert_eq(pthread_create(&in->thr, NULL, serve, in), 0);
    return in;
}

/* The backend dies: its connection ends with no GET_VRING_BASE and its state goes with it.
 * (Its disconnect path writes neither the rings nor the region: a SIGKILL leaves the same.) */
static void crash(struct inst *in)
{
    vu_fe_close(&in->fe);
    pthread_join(in->thr, NULL);
    close(in->bsock);
    vu_backend_free(in->b);
    if (in->echo)
        for (unsigned i = 0; i < ECHO_QUEUES; i++)
            close(in->edev.stop_fd[i]);
    pthread_mutex_destroy(&in->hold.lock);
    free(in);
}

static void setup(void)
{
    cr_assert_eq(vu_gmem_create(&gm, 1 << 20), 0);
    cr_assert_eq(vu_gring_init(&ring, &gm, QS, false), 0);
    gm.brk = (gm.brk + PAGE - 1) & ~(PAGE - 1); /* the used ring's page holds nothing else */
    el = calloc(NREQ + 1, sizeof(*el));
    cr_assert(el);
}

static void teardown(void)
{
    if (region)
        munmap(region, infl_size);
    region = NULL;
    if (infl_fd >= 0)
        close(infl_fd);
    infl_fd = -1;
    free(el);
    vu_gring_destroy(&ring);
    vu_gmem_destroy(&gm);
}

/* Puts every ring index at start (a driver that has run for a while) and publishes NREQ. */
static void publish(uint16_t start)
{
    start_idx = start;
    ring.avail_idx = ring.last_used = ring.kicked_idx = start;
    ring.avail->idx = ring.used->idx = start;
    for (int i = 0; i < NREQ; i++) {
        struct req *r = &rq[i];

        snprintf(r->text, sizeof(r->text), "req-%02d", i);
        r->out = vu_gmem_alloc(&gm, 16, 8);
        r->in = vu_gmem_alloc(&gm, 32, 8);
        memcpy(vu_gmem_ptr(&gm, r->out), r->text, strlen(r->text));
        memset(vu_gmem_ptr(&gm, r->in), 0, 32);
        cr_assert_eq(
            vu_gring_add(&ring,
                         (struct vu_gbuf[]){ { r->out, (uint32_t)strlen(r->text) }, { r->in, 32 } },
                         1, 1, &r->head),
            0);
    }
}

static void start_ring(struct inst *in, uint16_t base)
{
    struct vu_fe_vring v = vu_gring_vring(&ring, &gm);

    v.base = base;
    cr_assert_eq(vu_fe_start_vring(&in->fe, 0, &v), 0);
}

/* The core's first start: negotiation, memory, GET_INFLIGHT_FD before any ring, the ring. */
static void first_start(struct inst *in)
{
    struct vu_fe_region r = vu_gmem_region(&gm);
    uint64_t offered;

    cr_assert_eq(vu_fe_negotiate(&in->fe, WANT_PF, &offered), 0);
    cr_assert(in->fe.protocol_features & (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
    first_pf = in->fe.protocol_features;
    cr_assert_eq(vu_fe_set_features(&in->fe, FEATURES), 0);
    cr_assert_eq(vu_fe_set_mem_table(&in->fe, &r, 1), 0);
    cr_assert_eq(vu_fe_get_inflight_fd(&in->fe, 1, QS, &infl_fd, &infl_size), 0);
    cr_assert_geq(infl_size, vu_inflight_queue_bytes(QS));
    region = mmap(NULL, infl_size, PROT_READ | PROT_WRITE, MAP_SHARED, infl_fd, 0);
    cr_assert_neq(region, MAP_FAILED);
    start_ring(in, start_idx);
}

/* What core/vm/virtio_pci_rc.c's ring_base does for ring 0. */
static uint16_t core_base(void)
{
    uint64_t per = vu_inflight_queue_bytes(QS);
    uint8_t *rec = malloc(per);
    uint16_t base;

    cr_assert(rec);
    cr_assert_eq(pread(infl_fd, rec, per, 0), (ssize_t)per);
    base = vu_inflight_ring_base(rec, (const uint8_t *)ring.used,
                                 __atomic_load_n(&ring.used->idx, __ATOMIC_ACQUIRE), QS);
    free(rec);
    return base;
}

/* The core's reconnect(): same protocol features, features, memory table, SET_INFLIGHT_FD, then
 * the ring from the computed base. Returns the base sent. */
static uint16_t reconnect(struct inst *in)
{
    struct vu_fe_region r = vu_gmem_region(&gm);
    uint16_t base;
    uint64_t offered;

    cr_assert_eq(vu_fe_negotiate(&in->fe, first_pf, &offered), 0);
    cr_assert_eq(in->fe.protocol_features, first_pf, "the replacement offers what the first did");
    cr_assert_eq(vu_fe_set_features(&in->fe, FEATURES), 0);
    cr_assert_eq(vu_fe_set_mem_table(&in->fe, &r, 1), 0);
    cr_assert_eq(vu_fe_set_inflight_fd(&in->fe, 1, QS, infl_fd, infl_size), 0);
    base = core_base();
    start_ring(in, base);
    return base;
}

static struct virtq *hold_vq(struct inst *in)
{
    struct virtq *vq;

    pthread_mutex_lock(&in->hold.lock);
    vq = in->hold.vq;
    pthread_mutex_unlock(&in->hold.lock);
    cr_assert(vq, "queue 0 runs");
    return vq;
}

static int req_of(uint32_t head)
{
    for (int i = 0; i < NREQ; i++)
        if (rq[i].head == head)
            return i;
    return -1;
}

/* Takes the next request as the device would; returns its number, or -1 when none is left. */
static int take(struct virtq *vq)
{
    int r = virtq_pop(vq, &el[NREQ]), i;

    cr_assert_geq(r, 0, "pop: %s", strerror(-r));
    if (r == 0)
        return -1;
    i = req_of(el[NREQ].head);
    cr_assert_geq(i, 0, "popped head %u is no request", el[NREQ].head);
    memcpy(&el[i], &el[NREQ], sizeof(el[i]));
    return i;
}

/* Writes "<who>:req-NN" into request i's writable buffer (through the backend's mapping). */
static uint32_t fill(int i, char who)
{
    struct virtq_elem *e = &el[i];
    char text[16];
    int n = snprintf(text, sizeof(text), "%c:%s", who, rq[i].text);

    cr_assert_eq(e->in_num, 1);
    memcpy(e->iov[e->out_num].iov_base, text, (size_t)n);
    return (uint32_t)n;
}

static void complete(struct virtq *vq, int i, char who, bool signal)
{
    cr_assert_eq(virtq_push(vq, &el[i], fill(i, who)), 0);
    if (signal)
        virtq_notify(vq);
}

static uint16_t used_now(void)
{
    return __atomic_load_n(&ring.used->idx, __ATOMIC_ACQUIRE);
}

/*
 * The end state: exactly NREQ used entries past start_idx, each request once, each buffer holding
 * what its one completer wrote (who[i]: '1' or '2' for backend 1 or 2, 'e' for the echo device).
 */
static void check_exactly_once(const char *who)
{
    int seen[NREQ] = { 0 };
    uint16_t now = used_now();

    cr_assert_eq((uint16_t)(now - start_idx), NREQ, "used entries: %u",
                 (uint16_t)(now - start_idx));
    for (uint16_t k = start_idx; k != now; k++) {
        int i = req_of(ring.used->ring[k & (QS - 1)].id);

        cr_assert_geq(i, 0, "used id %u is no request", ring.used->ring[k & (QS - 1)].id);
        seen[i]++;
    }
    for (int i = 0; i < NREQ; i++) {
        char want[16];
        const char *got = vu_gmem_ptr(&gm, rq[i].in);

        cr_assert_eq(seen[i], 1, "request %d completed %d times", i, seen[i]);
        if (who[i] == 'e')
            snprintf(want, sizeof(want), "%s", rq[i].text);
        else
            snprintf(want, sizeof(want), "%c:%s", who[i], rq[i].text);
        cr_assert_eq(memcmp(got, want, strlen(want) + 1), 0, "request %d holds \"%.16s\", not %s",
                     i, got, want);
    }
}

/* Backend 1 takes npop requests (0..npop-1) and completes done[0..ndone), signalling all but
 * the last, then dies. */
static void run_backend1(int npop, const int *done, int ndone)
{
    struct inst *b1 = spawn(false);
    struct virtq *vq;

    first_start(b1);
    vq = hold_vq(b1);
    for (int i = 0; i < npop; i++)
        cr_assert_eq(take(vq), i);
    for (int k = 0; k < ndone; k++)
        complete(vq, done[k], '1', k + 1 < ndone);
    crash(b1);
}

/*
 * Backend 2 (hold) after backend 1 took requests 0..npop-1: the base the core sends is where the
 * backend's own recovery put the ring, it hands out exactly want[0..nwant) (the requests still in
 * flight, oldest first), then npop..NREQ-1 from the avail ring, then nothing. Each is completed
 * by backend 2 unless complete2 is false. Returns the running backend.
 */
static struct inst *run_backend2(int npop, const int *want, int nwant, bool complete2)
{
    struct inst *b2 = spawn(false);
    uint16_t base = reconnect(b2);
    struct virtq *vq = hold_vq(b2);

    cr_assert_eq(vq->last_avail_idx, (uint16_t)(start_idx + npop),
                 "backend recovered %u, taken up to %u", vq->last_avail_idx,
                 (uint16_t)(start_idx + npop));
    cr_assert_eq(base, vq->last_avail_idx, "core sent %u, backend recovered %u", base,
                 vq->last_avail_idx);
    for (int k = 0; k < nwant; k++)
        cr_assert_eq(take(vq), want[k], "resubmission %d", k);
    for (int i = npop; i < NREQ; i++)
        cr_assert_eq(take(vq), i, "from the avail ring");
    cr_assert_eq(take(vq), -1, "nothing else");
    for (int k = 0; complete2 && k < nwant; k++)
        complete(vq, want[k], '2', true);
    for (int i = npop; complete2 && i < NREQ; i++)
        complete(vq, i, '2', true);
    return b2;
}

TestSuite(inflight_respawn, .init = setup, .fini = teardown, .timeout = 30);

static void resubmit_case(uint16_t start)
{
    /* 8 taken; 1, 4, 6 completed and signalled, 2 completed but never signalled. */
    static const int done[] = { 1, 4, 6, 2 }, inflight[] = { 0, 3, 5, 7 };
    char who[NREQ + 1] = "222222222222";

    publish(start);
    run_backend1(8, done, 4);
    crash(run_backend2(8, inflight, 4, true));
    for (int k = 0; k < 4; k++)
        who[done[k]] = '1';
    check_exactly_once(who);
}

Test(inflight_respawn, in_flight_resubmitted_done_kept_rest_served)
{
    resubmit_case(0);
}

Test(inflight_respawn, across_the_index_wrap)
{
    resubmit_case(0xfffa);
}

Test(inflight_respawn, nothing_taken)
{
    char who[NREQ + 1] = "222222222222";

    publish(0);
    run_backend1(0, NULL, 0);
    crash(run_backend2(0, NULL, 0, true));
    check_exactly_once(who);
}

Test(inflight_respawn, echo_device_replaces)
{
    static const int done[] = { 5, 0, 3 };
    char who[NREQ + 1] = "eeeeeeeeeeee";
    struct inst *b2;

    publish(7);
    run_backend1(7, done, 3);
    b2 = spawn(true);
    cr_assert_eq(reconnect(b2), (uint16_t)(start_idx + 7));
    for (int waited = 0; waited < 5000 && (uint16_t)(used_now() - start_idx) < NREQ; waited += 10)
        vu_gring_wait(&ring, 10);
    usleep(50 * 1000); /* anything done twice would show up now */
    for (int k = 0; k < 3; k++)
        who[done[k]] = '1';
    check_exactly_once(who);
    crash(b2);
}

Test(inflight_respawn, second_crash_while_resubmitting)
{
    static const int done[] = { 2 }, first[] = { 0, 1 };
    static const int second[] = { 0, 3, 4, 5 };
    char who[NREQ + 1] = "333333333333";
    struct inst *b2, *b3;
    struct virtq *vq;

    who[1] = '2';
    who[2] = '1';
    publish(0);
    run_backend1(6, done, 1);
    /* Backend 2 takes two of the resubmitted requests, completes the second, and dies too. */
    b2 = spawn(false);
    cr_assert_eq(reconnect(b2), 6);
    vq = hold_vq(b2);
    cr_assert_eq(take(vq), first[0]);
    cr_assert_eq(take(vq), first[1]);
    complete(vq, 1, '2', true);
    crash(b2);
    b3 = spawn(false);
    {
        uint16_t base = reconnect(b3);

        vq = hold_vq(b3);
        cr_assert_eq(base, 6);
        cr_assert_eq(vq->last_avail_idx, 6);
    }
    for (int k = 0; k < 4; k++)
        cr_assert_eq(take(vq), second[k]);
    for (int i = 6; i < NREQ; i++)
        cr_assert_eq(take(vq), i);
    cr_assert_eq(take(vq), -1);
    for (int k = 0; k < 4; k++)
        complete(vq, second[k], '3', true);
    for (int i = 6; i < NREQ; i++)
        complete(vq, i, '3', true);
    crash(b3);
    check_exactly_once(who);
}

#if defined(__x86_64__)
#define REC_BYTES ((VU_INFLIGHT_HDR + QS * VU_INFLIGHT_DESC + 63) & ~63)
#define MAX_SNAP  64
#define TRAP_FLAG 0x100

/* The used ring and the inflight record as a death at one instant leaves them. */
struct snap {
    uint8_t used[USED_BYTES];
    uint8_t rec[REC_BYTES];
};

static struct snap *snaps;
static volatile sig_atomic_t nsnap, armed;
static uintptr_t watched[2]; /* backend 1's pages: its used ring and its inflight record */

static void take_snap(void)
{
    if (nsnap >= MAX_SNAP)
        return;
    memcpy(snaps[nsnap].used, ring.used, USED_BYTES);
    memcpy(snaps[nsnap].rec, region, REC_BYTES);
    nsnap++;
}

static void protect(int prot)
{
    for (int i = 0; i < 2; i++)
        mprotect((void *)watched[i], PAGE, prot);
}

/* A store into a watched page is about to happen: record the state before it, let that one
 * instruction run, and watch again after it (on_trap). */
static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uintptr_t page = (uintptr_t)si->si_addr & ~(PAGE - 1);

    if (!armed || (page != watched[0] && page != watched[1])) {
        signal(sig, SIG_DFL);
        return;
    }
    take_snap();
    protect(PROT_READ | PROT_WRITE);
    uc->uc_mcontext.gregs[REG_EFL] |= TRAP_FLAG;
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;

    (void)sig;
    (void)si;
    uc->uc_mcontext.gregs[REG_EFL] &= ~TRAP_FLAG;
    if (armed)
        protect(PROT_READ);
}

/*
 * Backend 1 takes 0..4, completes 2 (virtq_push), then 0 and 3 as one group (virtq_push_n, as
 * netd's mergeable receive does). A death before any of the stores those make into the used ring
 * or the inflight record, or after the last, must leave a state that backend 2 recovers exactly:
 * what reached the used index is done, everything else taken is resubmitted once.
 */
Test(inflight_respawn, every_crash_point)
{
    struct sigaction sa = { .sa_flags = SA_SIGINFO }, old_segv, old_trap;
    static const int group[] = { 0, 3 };
    struct inst *b1;
    struct virtq *vq;
    uint16_t heads[2];
    uint32_t lens[2];

    snaps = calloc(MAX_SNAP, sizeof(*snaps));
    cr_assert(snaps);
    publish(0);
    b1 = spawn(false);
    first_start(b1);
    vq = hold_vq(b1);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(take(vq), i);
    for (int k = 0; k < 2; k++) {
        heads[k] = rq[group[k]].head;
        lens[k] = fill(group[k], '1');
    }
    watched[0] = (uintptr_t)vq->used & ~(PAGE - 1);
    watched[1] = (uintptr_t)vq->inflight->hdr & ~(PAGE - 1);
    sa.sa_sigaction = on_segv;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGSEGV, &sa, &old_segv), 0);
    sa.sa_sigaction = on_trap;
    cr_assert_eq(sigaction(SIGTRAP, &sa, &old_trap), 0);
    armed = 1;
    protect(PROT_READ);
    cr_assert_eq(virtq_push(vq, &el[2], fill(2, '1')), 0);
    cr_assert_eq(virtq_push_n(vq, heads, lens, 2), 0);
    armed = 0;
    protect(PROT_READ | PROT_WRITE);
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGTRAP, &old_trap, NULL);
    take_snap(); /* dead right after the last push */
    crash(b1);
    /* Two pushes of at least used entry, used index, inflight entry and recorded used index. */
    cr_assert_geq(nsnap, 9, "only %d crash points seen", (int)nsnap);
    cr_assert_lt(nsnap, MAX_SNAP);
    for (int s = 0; s < nsnap; s++) {
        uint16_t now;
        int want[5], nwant = 0;
        bool done[NREQ] = { false };

        memcpy(ring.used, snaps[s].used, USED_BYTES);
        memcpy(region, snaps[s].rec, REC_BYTES);
        now = used_now();
        for (uint16_t k = start_idx; k != now; k++)
            done[req_of(ring.used->ring[k & (QS - 1)].id)] = true;
        for (int i = 0; i < 5; i++)
            if (!done[i])
                want[nwant++] = i;
        cr_log_info("crash point %d of %d: %u used", s, (int)nsnap, (uint16_t)(now - start_idx));
        crash(run_backend2(5, want, nwant, false));
    }
    free(snaps);
}
#endif
