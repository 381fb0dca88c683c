/* vsock-bench: plays the guest's virtio-vsock driver (ipc/vu_guest rings, no VM) against a
 * jailed cellvm-vsockd it starts, and measures stream throughput host -> guest (a host program
 * on the hybrid socket, "CONNECT") and guest -> host (a host listener on PATH_<port>). The
 * limit is a plain unix socketpair copying the same bytes in the same run, 64 KiB writes.
 * The machines this runs on are shared, so each direction is measured ROUNDS times, each
 * vsockd transfer right after its own socketpair one, and the median round is reported.
 *
 * The driver's buffers are Linux's: the whole RX ring filled with buffers of a header and
 * 4 KiB of payload (VIRTIO_VSOCK_DEFAULT_RX_BUF_SIZE), TX packets of up to 64 KiB.
 *
 *   vsock-bench VSOCKD MIB [in|out|both] [RXBUF] [copy]
 * (in: host -> guest only, out: guest -> host only, for profiling one path; RXBUF: payload
 * bytes per RX buffer, 4096 by default, up to 65536; copy: the guest's application copies each
 * payload, as a guest's recv() and send() do (and as the host program and the socketpair do);
 * without it the driver never touches payload bytes) prints one line per direction: vsockd
 * MiB/s, socketpair MiB/s, ratio (of the median round), vsockd's CPU time per MiB (the median
 * round's of its own: the whole thread group, from schedstat), and the bench's own CPU per MiB
 * in the same rounds (the driver and the host program: what the frontend costs, to tell a slow
 * daemon from a slow frontend) beside the socketpair's (its writer and reader). */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"
#include "tests/bench/bench_cpu.h"
#include "vsockd/pkt.h"

#define RING      256
#define NBUF      128 /* TX buffers; RX gets the whole ring */
#define BUFSZ     (VSOCK_HDR_LEN + VSOCK_MAX_PKT)
#define RXBUF_DEF 4096u /* Linux's VIRTIO_VSOCK_DEFAULT_RX_BUF_SIZE */
#define CID       3u
#define WINDOW    (4u << 20) /* our buf_alloc as the guest */
#define CHUNK     (64 * 1024)
#define GPORT     4000u
#define HPORT_IN  1234u /* guest listens: host -> guest */
#define HPORT_OUT 5000u /* host listens: guest -> host */
#define ROUNDS    7

struct drv {
    struct vu_frontend fe;
    struct vu_gmem mem;
    struct vu_gring rx, tx;
    uint64_t rx_gpa[RING]; /* buffer behind each rx head */
    uint32_t rx_len;       /* bytes per RX buffer: header and payload */
    uint64_t tx_gpa[NBUF];
    uint64_t tx_of_head[RING]; /* tx buffer index + 1 behind each tx head */
    unsigned tx_free[NBUF], ntx_free;
    /* the one stream */
    uint32_t local_port, peer_port;
    uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt, fwd_cnt, fwd_sent;
    uint64_t got;
    uint64_t updates; /* CREDIT_UPDATEs received */
    uint64_t stalls;  /* guest -> host: times the sender waited for credit */
    bool responded, reset, peer_eof;
    uint8_t *app; /* copy mode: the guest application's buffer (VSOCK_MAX_PKT), else NULL */
};

struct host {
    char path[100];
    uint64_t bytes;
    double t_end;
    int rc;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
    fprintf(stderr, "vsock-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
    exit(1);
}

static void post_rx(struct drv *d, uint64_t gpa)
{
    struct vu_gbuf b = { .gpa = gpa, .len = d->rx_len };
    uint16_t head;

    if (vu_gring_add(&d->rx, &b, 0, 1, &head))
        die("rx add", ENOSPC);
    d->rx_gpa[head] = gpa;
}

/* Publishes one packet without kicking: callers batch, then kick once (queue_pkt + kick), as
   Linux's driver does when it queues several packets per virtqueue_kick_prepare. */
static void queue_pkt(struct drv *d, uint16_t op, uint32_t flags, uint32_t len)
{
    struct vsock_hdr h = {
        .src_cid = CID,
        .dst_cid = VSOCK_HOST_CID,
        .src_port = d->local_port,
        .dst_port = d->peer_port,
        .len = len,
        .type = VSOCK_TYPE_STREAM,
        .op = op,
        .flags = flags,
        .buf_alloc = WINDOW,
        .fwd_cnt = d->fwd_cnt,
    };
    struct vu_gbuf b;
    unsigned slot;
    uint16_t head;

    if (!d->ntx_free)
        die("tx buffers", ENOSPC);
    slot = d->tx_free[--d->ntx_free];
    vsock_hdr_encode(vu_gmem_ptr(&d->mem, d->tx_gpa[slot]), &h);
    if (d->app && op == VSOCK_OP_RW) /* send(): the application's bytes into the packet */
        memcpy((uint8_t *)vu_gmem_ptr(&d->mem, d->tx_gpa[slot]) + VSOCK_HDR_LEN, d->app, len);
    b = (struct vu_gbuf){ .gpa = d->tx_gpa[slot], .len = VSOCK_HDR_LEN + len };
    if (vu_gring_add(&d->tx, &b, 1, 0, &head))
        die("tx add", ENOSPC);
    d->tx_of_head[head] = slot + 1;
    d->fwd_sent = d->fwd_cnt;
    if (op == VSOCK_OP_RW)
        d->tx_cnt += len;
}

static void send_pkt(struct drv *d, uint16_t op, uint32_t flags, uint32_t len)
{
    queue_pkt(d, op, flags, len);
    vu_gring_kick(&d->tx);
}

static void on_rx(struct drv *d, const struct vsock_hdr *h)
{
    if (h->op == VSOCK_OP_REQUEST) {
        d->local_port = h->dst_port;
        d->peer_port = h->src_port;
        d->responded = true;
        send_pkt(d, VSOCK_OP_RESPONSE, 0, 0);
        return;
    }
    if (h->src_port != d->peer_port || h->dst_port != d->local_port)
        return; /* an earlier stream winding down */
    d->peer_buf_alloc = h->buf_alloc;
    d->peer_fwd_cnt = h->fwd_cnt;
    if (h->op == VSOCK_OP_RESPONSE)
        d->responded = true;
    else if (h->op == VSOCK_OP_RST)
        d->reset = true;
    else if (h->op == VSOCK_OP_SHUTDOWN)
        d->peer_eof = true;
    else if (h->op == VSOCK_OP_CREDIT_UPDATE)
        d->updates++;
    else if (h->op == VSOCK_OP_RW) {
        d->got += h->len;
        d->fwd_cnt += h->len; /* the "application" consumed it at once */
        if (d->fwd_cnt - d->fwd_sent >= WINDOW / 4)
            queue_pkt(d, VSOCK_OP_CREDIT_UPDATE, 0, 0); /* kicked once per service() */
    }
}

static bool used_pending(const struct vu_gring *r)
{
    return __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) != r->last_used;
}

/*
 * Reaps both rings; when nothing was there, waits up to ms for an interrupt. With EVENT_IDX the
 * device signals only when it passes used_event, so that is armed just before sleeping (and the
 * rings looked at once more, in case the device went past it meanwhile) and left stale while we
 * are busy: a driver that is not waiting takes no interrupts. TX completions only give buffers
 * back, so, like Linux's driver, we ask to hear of them only when short of buffers; what a
 * sender waits for is credit, which arrives on RX.
 */
static void service(struct drv *d, int ms)
{
    uint16_t head;
    uint32_t len;
    int n = 0, rx = 0;

    while (vu_gring_get_used(&d->rx, &head, &len) == 1) {
        struct vsock_hdr h;

        vsock_hdr_decode(&h, vu_gmem_ptr(&d->mem, d->rx_gpa[head]));
        /* recv(): the payload out to the application (a length past the buffer is vsockd's
           bug, and the byte count at the end would not add up). */
        if (d->app && h.op == VSOCK_OP_RW && h.len <= d->rx_len - VSOCK_HDR_LEN)
            memcpy(d->app, (const uint8_t *)vu_gmem_ptr(&d->mem, d->rx_gpa[head]) + VSOCK_HDR_LEN,
                   h.len);
        on_rx(d, &h);
        post_rx(d, d->rx_gpa[head]);
        rx++;
    }
    if (rx)
        vu_gring_kick(&d->rx);
    vu_gring_kick(&d->tx); /* credit updates queued by on_rx */
    n = rx;
    while (vu_gring_get_used(&d->tx, &head, &len) == 1) {
        if (d->tx_of_head[head])
            d->tx_free[d->ntx_free++] = (unsigned)(d->tx_of_head[head] - 1);
        d->tx_of_head[head] = 0;
        n++;
    }
    if (!n && ms) {
        struct pollfd p[2] = { { .fd = d->rx.call_fd, .events = POLLIN },
                               { .fd = d->tx.call_fd, .events = POLLIN } };
        uint64_t v;

        bool tx_low = d->ntx_free < NBUF / 2;

        vu_gring_want_interrupt(&d->rx);
        if (tx_low)
            vu_gring_want_interrupt(&d->tx);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (used_pending(&d->rx) || (tx_low && used_pending(&d->tx)))
            return;
        if (poll(p, 2, ms) > 0)
            for (int i = 0; i < 2; i++)
                if (p[i].revents)
                    (void)!read(p[i].fd, &v, sizeof(v));
    }
}

static void drv_setup(struct drv *d, const char *sock, uint32_t rxbuf)
{
    uint64_t offered;
    struct vu_fe_vring vr;
    int r;

    memset(d, 0, sizeof(*d));
    d->rx_len = VSOCK_HDR_LEN + rxbuf;
    if ((r = vu_fe_connect(&d->fe, sock)) || (r = vu_fe_negotiate(&d->fe, ~0ull, &offered)) ||
        (r = vu_fe_set_features(&d->fe,
                                1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX)))
        die("vhost-user setup", r);
    if ((r = vu_gmem_create(&d->mem, 32u << 20)))
        die("guest memory", r);
    {
        struct vu_fe_region reg = vu_gmem_region(&d->mem);

        if ((r = vu_fe_set_mem_table(&d->fe, &reg, 1)))
            die("SET_MEM_TABLE", r);
    }
    if ((r = vu_gring_init(&d->rx, &d->mem, RING, true)) ||
        (r = vu_gring_init(&d->tx, &d->mem, RING, true)))
        die("rings", r);
    for (unsigned i = 0; i < NBUF; i++) {
        d->tx_gpa[i] = vu_gmem_alloc(&d->mem, BUFSZ, 64);
        d->tx_free[d->ntx_free++] = i;
    }
    for (unsigned i = 0; i < RING; i++)
        post_rx(d, vu_gmem_alloc(&d->mem, d->rx_len, 64));
    vr = vu_gring_vring(&d->rx, &d->mem);
    if ((r = vu_fe_start_vring(&d->fe, 0, &vr)))
        die("start rx", r);
    vr = vu_gring_vring(&d->tx, &d->mem);
    if ((r = vu_fe_start_vring(&d->fe, 1, &vr)))
        die("start tx", r);
    vu_gring_kick(&d->rx);
}

static void *host_sender(void *arg)
{
    struct host *h = arg;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    static char buf[CHUNK];
    char line[64];
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t n = 0;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->path);
    h->rc = 1;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return NULL;
    snprintf(line, sizeof(line), "CONNECT %u\n", HPORT_IN);
    if (write(s, line, strlen(line)) < 0)
        return NULL;
    while (n < sizeof(line) - 1 && read(s, line + n, 1) == 1 && line[n] != '\n')
        n++;
    if (strncmp(line, "OK ", 3))
        return NULL;
    for (uint64_t left = h->bytes; left;) {
        ssize_t w = write(s, buf, left < CHUNK ? left : CHUNK);

        if (w <= 0)
            return NULL;
        left -= (uint64_t)w;
    }
    close(s);
    h->rc = 0;
    return NULL;
}

static void *host_receiver(void *arg)
{
    struct host *h = arg;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    static char buf[CHUNK];
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), s;
    uint64_t got = 0;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", h->path);
    h->rc = 1;
    unlink(h->path); /* the previous round's listener */
    if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
        return NULL;
    chmod(h->path, 0666); /* a jailed vsockd started by root runs as nobody */
    h->rc = 2;            /* listening */
    s = accept(l, NULL, NULL);
    while (s >= 0 && got < h->bytes) {
        ssize_t r = read(s, buf, sizeof(buf));

        if (r <= 0)
            break;
        got += (uint64_t)r;
    }
    h->t_end = now();
    h->rc = got == h->bytes ? 0 : 1;
    close(s);
    close(l);
    return NULL;
}

static double host_to_guest(struct drv *d, const char *hybrid, uint64_t bytes)
{
    struct host h = { .bytes = bytes };
    pthread_t t;
    double t0 = 0, t1;

    snprintf(h.path, sizeof(h.path), "%s", hybrid);
    d->responded = false;
    d->got = 0;
    d->tx_cnt = d->fwd_cnt = d->fwd_sent = 0;
    pthread_create(&t, NULL, host_sender, &h);
    while (!d->responded)
        service(d, 100);
    t0 = now();
    while (d->got < bytes)
        service(d, 100);
    t1 = now();
    send_pkt(d, VSOCK_OP_RST, 0, 0);
    pthread_join(t, NULL);
    if (h.rc)
        die("host sender", EIO);
    return (double)bytes / (t1 - t0) / (1 << 20);
}

static double guest_to_host(struct drv *d, const char *dir, uint64_t bytes, unsigned round)
{
    struct host h = { .bytes = bytes };
    pthread_t t;
    double t0;
    uint64_t sent = 0;
    bool waiting = false;

    snprintf(h.path, sizeof(h.path), "%s/v.sock_%u", dir, HPORT_OUT);
    pthread_create(&t, NULL, host_receiver, &h);
    while (__atomic_load_n(&h.rc, __ATOMIC_ACQUIRE) != 2)
        usleep(1000);
    d->local_port = GPORT + round; /* a fresh stream: the last one may still be closing */
    d->peer_port = HPORT_OUT;
    d->responded = d->reset = d->peer_eof = false;
    d->tx_cnt = d->fwd_cnt = d->fwd_sent = 0;
    d->updates = d->stalls = 0;
    send_pkt(d, VSOCK_OP_REQUEST, 0, 0);
    while (!d->responded && !d->reset)
        service(d, 100);
    if (d->reset)
        die("guest connect", ECONNREFUSED);
    t0 = now();
    while (sent < bytes) {
        unsigned queued = 0;

        /* Everything the credit and the free buffers allow, then one kick. */
        for (;;) {
            uint32_t credit = d->peer_buf_alloc - (d->tx_cnt - d->peer_fwd_cnt);
            uint32_t n = bytes - sent < VSOCK_MAX_PKT ? (uint32_t)(bytes - sent) : VSOCK_MAX_PKT;

            /* A wait for credit starts when the sender is out of it; counted once. */
            if (n && credit < n && !waiting)
                d->stalls++;
            waiting = n && credit < n;
            if (!n || credit < n || !d->ntx_free)
                break;
            queue_pkt(d, VSOCK_OP_RW, 0, n);
            sent += n;
            queued++;
        }
        if (queued)
            vu_gring_kick(&d->tx);
        service(d, queued ? 0 : 100);
    }
    pthread_join(t, NULL);
    send_pkt(d, VSOCK_OP_RST, 0, 0);
    if (h.rc)
        die("host receiver", EIO);
    return (double)bytes / (h.t_end - t0) / (1 << 20);
}

static void *pair_reader(void *arg)
{
    struct host *h = arg;
    static char buf[CHUNK];
    uint64_t got = 0;
    int s = h->rc;

    while (got < h->bytes) {
        ssize_t r = read(s, buf, sizeof(buf));

        if (r <= 0)
            break;
        got += (uint64_t)r;
    }
    h->t_end = now();
    return NULL;
}

static double socketpair_limit(uint64_t bytes)
{
    static char buf[CHUNK];
    struct host h = { .bytes = bytes };
    pthread_t t;
    int sv[2];
    double t0;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        die("socketpair", errno);
    h.rc = sv[1];
    pthread_create(&t, NULL, pair_reader, &h);
    t0 = now();
    for (uint64_t left = bytes; left;) {
        ssize_t w = write(sv[0], buf, left < CHUNK ? left : CHUNK);

        if (w <= 0)
            die("socketpair write", errno);
        left -= (uint64_t)w;
    }
    pthread_join(t, NULL);
    close(sv[0]);
    close(sv[1]);
    return (double)bytes / (h.t_end - t0) / (1 << 20);
}

struct round {
    double vs, lim;
    double cpu;        /* vsockd's CPU time per MiB moved, ms */
    double bcpu;       /* this process's (driver and host program) over the same transfer */
    double lcpu;       /* this process's over the socketpair transfer (writer and reader) */
    double upd, stall; /* guest -> host: CREDIT_UPDATEs and credit waits per MiB */
};

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int by_ratio(const void *a, const void *b)
{
    const struct round *x = a, *y = b;
    double rx = x->vs / x->lim, ry = y->vs / y->lim;

    return rx < ry ? -1 : rx > ry;
}

static double median_of(const struct round *r, size_t field)
{
    double v[ROUNDS];

    for (int i = 0; i < ROUNDS; i++)
        v[i] = *(const double *)((const char *)&r[i] + field);
    qsort(v, ROUNDS, sizeof(double), by_double);
    return v[ROUNDS / 2];
}

static void print_median(const char *dir, struct round *r, bool credit)
{
    double cpu = median_of(r, offsetof(struct round, cpu));
    double bcpu = median_of(r, offsetof(struct round, bcpu));
    double lcpu = median_of(r, offsetof(struct round, lcpu));

    double upd = median_of(r, offsetof(struct round, upd));
    double stall = median_of(r, offsetof(struct round, stall));

    qsort(r, ROUNDS, sizeof(*r), by_ratio);
    if (credit)
        printf("vsockd guest->host: %.2f CREDIT_UPDATEs per MiB, the sender waited for credit "
               "%.2f times per MiB (medians)\n",
               upd, stall);
    printf("vsockd %s: %.0f MiB/s; unix socketpair: %.0f MiB/s; ratio %.2f (median of %d; "
           "ratios %.2f..%.2f); vsockd CPU %.2f ms/MiB, bench (driver + host program) %.2f, "
           "socketpair (writer + reader) %.2f (medians)\n",
           dir, r[ROUNDS / 2].vs, r[ROUNDS / 2].lim, r[ROUNDS / 2].vs / r[ROUNDS / 2].lim, ROUNDS,
           r[0].vs / r[0].lim, r[ROUNDS - 1].vs / r[ROUNDS - 1].lim, cpu, bcpu, lcpu);
}

/* This process's CPU time, ns, threads that ended included. */
static unsigned long long self_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static double ns_per_mib(unsigned long long ns, uint64_t bytes)
{
    return (double)ns / 1e6 / ((double)bytes / (1 << 20));
}

/* vsockd's CPU (ms) per MiB over a transfer that started at c0 (bench_proc_cpu_ns). */
static double cpu_per_mib(pid_t pid, unsigned long long c0, uint64_t bytes)
{
    return (double)(bench_proc_cpu_ns(pid) - c0) / 1e6 / ((double)bytes / (1 << 20));
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/cellvm-vsock-bench.XXXXXX", vu[96], hybrid[96], spec[160];
    uint64_t bytes;
    struct drv d;
    struct round in[ROUNDS], out[ROUNDS];
    pid_t pid;
    int st;

    const char *only = argc >= 4 && strcmp(argv[3], "both") ? argv[3] : "";
    unsigned long rxbuf = argc >= 5 ? strtoul(argv[4], NULL, 10) : RXBUF_DEF;
    bool copy = argc == 6 && !strcmp(argv[5], "copy");

    if (argc < 3 || argc > 6 || (*only && strcmp(only, "in") && strcmp(only, "out")) ||
        rxbuf < 64 || rxbuf > VSOCK_MAX_PKT || (argc == 6 && !copy))
        return fprintf(stderr,
                       "usage: vsock-bench VSOCKD MIB [in|out|both] [RXBUF 64..65536] [copy]\n"),
               2;
    bytes = strtoull(argv[2], NULL, 10) << 20;
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir))
        die("mkdtemp", errno);
    snprintf(vu, sizeof(vu), "%s/vu.sock", dir);
    snprintf(hybrid, sizeof(hybrid), "%s/v.sock", dir);
    snprintf(spec, sizeof(spec), "cid=%u,socket=%s", CID, hybrid);
    pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "--socket-path", vu, "--vsock", spec, "--seccomp", "on",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && access(hybrid, F_OK); i++)
        usleep(50000);
    chmod(dir, 0755); /* vsockd runs as nobody once jailed by root */
    drv_setup(&d, vu, (uint32_t)rxbuf);
    if (copy && !(d.app = calloc(1, VSOCK_MAX_PKT)))
        die("application buffer", ENOMEM);
    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned long long c0, s0;

        if (strcmp(only, "out")) {
            s0 = self_cpu_ns();
            in[i].lim = socketpair_limit(bytes);
            in[i].lcpu = ns_per_mib(self_cpu_ns() - s0, bytes);
            c0 = bench_proc_cpu_ns(pid);
            s0 = self_cpu_ns();
            in[i].vs = host_to_guest(&d, hybrid, bytes);
            in[i].bcpu = ns_per_mib(self_cpu_ns() - s0, bytes);
            in[i].cpu = cpu_per_mib(pid, c0, bytes);
        }
        if (strcmp(only, "in")) {
            s0 = self_cpu_ns();
            out[i].lim = socketpair_limit(bytes);
            out[i].lcpu = ns_per_mib(self_cpu_ns() - s0, bytes);
            c0 = bench_proc_cpu_ns(pid);
            s0 = self_cpu_ns();
            out[i].vs = guest_to_host(&d, dir, bytes, i);
            out[i].bcpu = ns_per_mib(self_cpu_ns() - s0, bytes);
            out[i].cpu = cpu_per_mib(pid, c0, bytes);
            out[i].upd = (double)d.updates / ((double)bytes / (1 << 20));
            out[i].stall = (double)d.stalls / ((double)bytes / (1 << 20));
        }
    }
    if (strcmp(only, "out"))
        print_median("host->guest", in, false);
    if (strcmp(only, "in"))
        print_median("guest->host", out, true);
    vu_fe_close(&d.fe);
    free(d.app);
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    {
        char cmd[96];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void)!system(cmd);
    }
    return 0;
}
