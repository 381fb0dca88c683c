/* blk-bench: a vhost-user-blk frontend on the ipc/ library (no guest) that keeps QD requests in
 * flight against a backend for a fixed time and reports IOPS and the backend's CPU time per
 * request (utime + stime of /proc/PID/stat, all threads). The same program drives cellvm-blockd
 * and qemu-storage-daemon, so the two figures are comparable.
 *
 *   blk-bench SOCKET PID randread|seqread|randwrite|fillwrite BS QD SECONDS
 * prints: iops=N reqs=N cpu_us_per_req=F seconds=F kicks_per_req=F (kick eventfd writes the
 * backend's notification suppression left this frontend to make)
 * fillwrite writes the whole disk once, front to back, without a warm-up (SECONDS caps it): on a
 * fresh QCOW2 image whose cluster size is BS, every request allocates a cluster. */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"

#define RING_NUM 256
#define MAX_QD   128

struct slot {
    uint64_t hdr, data, status;
};

struct bench {
    struct vu_frontend fe;
    struct vu_gmem mem;
    struct vu_gring ring;
    struct slot slots[MAX_QD];
    int slot_of_head[RING_NUM];
    uint32_t type;
    bool seq;
    bool fill; /* one pass, then no more requests */
    uint32_t bs;
    uint64_t sectors; /* disk capacity */
    uint64_t next_seq, rng;
    long kicks; /* eventfd writes made */
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cpu_ticks(long pid, unsigned long long *ticks)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f)
        return -errno;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -EINVAL;
    *ticks = ut + st;
    return 0;
}

static uint64_t next_sector(struct bench *b)
{
    uint64_t per = b->bs / 512, blocks = b->sectors / per;

    if (b->fill) {
        uint64_t s = b->next_seq;

        b->next_seq += per;
        return s;
    }
    if (b->seq) {
        uint64_t s = b->next_seq;

        b->next_seq = (b->next_seq + per) % (blocks * per);
        return s;
    }
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    /* Never sector 0: an autodetected raw image refuses writes there. */
    return (1 + b->rng % (blocks - 1)) * per;
}

/* 1 once a fillwrite has sent its last request. */
static bool filled(const struct bench *b)
{
    uint64_t per = b->bs / 512;

    return b->fill && b->next_seq + per > b->sectors / per * per;
}

/* 0 when a request went out, 1 when a fillwrite has nothing more to send, or -errno. */
static int submit(struct bench *b, int i)
{
    struct slot *s = &b->slots[i];
    struct virtio_blk_outhdr *h = vu_gmem_ptr(&b->mem, s->hdr);
    bool in = b->type == VIRTIO_BLK_T_IN;
    struct vu_gbuf bufs[3] = { { s->hdr, sizeof(*h) }, { s->data, b->bs }, { s->status, 1 } };
    uint16_t head;
    int r;

    if (filled(b))
        return 1;

    h->type = htole32(b->type);
    h->ioprio = 0;
    h->sector = htole64(next_sector(b));
    r = vu_gring_add(&b->ring, bufs, in ? 1 : 2, in ? 2 : 1, &head);
    if (r < 0)
        return r;
    b->slot_of_head[head] = i;
    return 0;
}

static int setup(struct bench *b, const char *sock, unsigned qd)
{
    const uint64_t want = 1ull << 32 | 1ull << VIRTIO_RING_F_EVENT_IDX;
    uint64_t pf = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK | 1ull << VHOST_USER_PROTOCOL_F_CONFIG |
                  1ull << VHOST_USER_PROTOCOL_F_MQ;
    uint64_t offered;
    struct virtio_blk_config cfg;
    struct vu_fe_region reg;
    struct vu_fe_vring vr;
    int r;

    /* The socket file exists from bind(); listen() may come a moment later. */
    for (int i = 0; i < 100 && (r = vu_fe_connect(&b->fe, sock)) == -ECONNREFUSED; i++)
        usleep(20000);
    if (r == 0)
        r = vu_fe_negotiate(&b->fe, pf, &offered);
    if (r == 0)
        r = vu_fe_set_features(&b->fe, offered & want);
    if (r == 0)
        r = vu_fe_get_config(&b->fe, 0, &cfg, offsetof(struct virtio_blk_config, num_queues) + 2);
    if (r < 0) {
        fprintf(stderr, "blk-bench: negotiation: %s\n", strerror(-r));
        return r;
    }
    b->sectors = le64toh(cfg.capacity);
    r = vu_gmem_create(&b->mem, (uint64_t)qd * (b->bs + 4096) + (4u << 20));
    if (r == 0)
        r = vu_gring_init(&b->ring, &b->mem, RING_NUM,
                          (offered & want) >> VIRTIO_RING_F_EVENT_IDX & 1);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < qd; i++) {
        b->slots[i].hdr = vu_gmem_alloc(&b->mem, 16, 16);
        b->slots[i].status = vu_gmem_alloc(&b->mem, 1, 1);
        b->slots[i].data = vu_gmem_alloc(&b->mem, b->bs, 4096);
        if (b->slots[i].data == UINT64_MAX)
            return -ENOMEM;
    }
    reg = vu_gmem_region(&b->mem);
    r = vu_fe_set_mem_table(&b->fe, &reg, 1);
    vr = vu_gring_vring(&b->ring, &b->mem);
    if (r == 0)
        r = vu_fe_start_vring(&b->fe, 0, &vr);
    return r;
}

static void kick(struct bench *b)
{
    b->kicks += vu_gring_kick(&b->ring) == 1;
}

/* Keeps qd requests in flight until `until`; returns completions, or -errno. */
static long run(struct bench *b, unsigned qd, double until, long *errors)
{
    uint16_t head;
    uint32_t len;
    long done = 0;
    unsigned inflight = 0;
    int r, idle = 0;

    for (unsigned i = 0; i < qd; i++) {
        r = submit(b, (int)i);
        if (r < 0)
            return r;
        inflight += r == 0;
    }
    kick(b);
    while (now() < until && (inflight || !filled(b))) {
        int n = 0;

        while (vu_gring_get_used(&b->ring, &head, &len) == 1) {
            int i = b->slot_of_head[head];
            uint8_t *st = vu_gmem_ptr(&b->mem, b->slots[i].status);

            if (*st != VIRTIO_BLK_S_OK)
                (*errors)++;
            done++;
            n++;
            inflight--;
            r = submit(b, i);
            if (r < 0)
                return r;
            inflight += r == 0;
        }
        if (n) {
            kick(b);
            continue;
        }
        /* Ask for an interrupt, then look once more: a completion that raced with the
         * request would not interrupt (the fence orders the store before the load). */
        vu_gring_want_interrupt(&b->ring);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (vu_gring_get_used(&b->ring, &head, &len) == 1) {
            int i = b->slot_of_head[head];

            done++;
            inflight--;
            r = submit(b, i);
            if (r < 0)
                return -EIO;
            inflight += r == 0;
            kick(b);
            continue;
        }
        if (!inflight)
            break;
        if (vu_gring_wait(&b->ring, 1000) == 0 && ++idle >= 10)
            return -ETIMEDOUT;
    }
    /* Drain what is still in flight so the backend stops cleanly. */
    for (int k = 0; k < 200 && b->ring.num_free < b->ring.num; k++) {
        while (vu_gring_get_used(&b->ring, &head, &len) == 1)
            ;
        vu_gring_want_interrupt(&b->ring);
        if (b->ring.num_free < b->ring.num)
            vu_gring_wait(&b->ring, 10);
    }
    return done;
}

int main(int argc, char **argv)
{
    static struct bench b;
    unsigned long long t0, t1;
    long pid, reqs, errors = 0;
    unsigned qd;
    double secs, start, warm;

    if (argc != 7) {
        fprintf(stderr, "usage: blk-bench SOCKET PID randread|seqread|randwrite|fillwrite BS QD "
                        "SECONDS\n");
        return 2;
    }
    pid = atol(argv[2]);
    b.seq = !strcmp(argv[3], "seqread");
    b.fill = !strcmp(argv[3], "fillwrite");
    b.type = !strcmp(argv[3], "randwrite") || b.fill ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
    b.bs = (uint32_t)atoi(argv[4]);
    qd = (unsigned)atoi(argv[5]);
    secs = atof(argv[6]);
    b.rng = 0x9e3779b97f4a7c15ull;
    if (qd == 0 || qd > MAX_QD || b.bs % 512 || b.bs == 0 || secs <= 0) {
        fprintf(stderr, "blk-bench: bad arguments\n");
        return 2;
    }
    if (setup(&b, argv[1], qd) < 0 || b.sectors < 2 * (b.bs / 512)) {
        fprintf(stderr, "blk-bench: cannot set up the device on %s\n", argv[1]);
        return 1;
    }
    warm = now() + 0.5;
    if (!b.fill && run(&b, qd, warm, &errors) < 0) {
        fprintf(stderr, "blk-bench: warm-up failed\n");
        return 1;
    }
    if (cpu_ticks(pid, &t0) < 0) {
        fprintf(stderr, "blk-bench: cannot read /proc/%ld/stat\n", pid);
        return 1;
    }
    b.kicks = 0;
    start = now();
    reqs = run(&b, qd, start + secs, &errors);
    secs = now() - start;
    if (reqs < 0 || cpu_ticks(pid, &t1) < 0) {
        fprintf(stderr, "blk-bench: run failed (%s)\n", strerror((int)-reqs));
        return 1;
    }
    printf("iops=%.0f reqs=%ld errors=%ld cpu_us_per_req=%.2f seconds=%.2f kicks_per_req=%.3f\n",
           (double)reqs / secs, reqs, errors,
           reqs ? (double)(t1 - t0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)reqs : 0.0, secs,
           reqs ? (double)b.kicks / (double)reqs : 0.0);
    vu_gring_destroy(&b.ring);
    vu_fe_close(&b.fe);
    vu_gmem_destroy(&b.mem);
    return errors ? 1 : 0;
}
