/*
 * net-bench: UDP frames of one size through a TAP, two ways, in the network namespace it runs in
 * (made by net-vs-tap.sh; link-local addresses only).
 *
 *   limit: this process writes the frames on a TAP fd of its own (guest -> host: a UDP socket
 *          bound on the TAP's address receives them) and reads what a UDP sender in the
 *          namespace sends to the "guest" address (host -> guest);
 *   netd:  the same frames go through cellvm-netd, spawned on the same TAP once the limit phase
 *          has let go of it, with this process as its vhost-user frontend playing the guest
 *          driver (ipc/vu_guest): TX ring in, RX ring out.
 *
 *   net-bench NETD TAP SIZE FRAMES
 * The two alternate for ROUNDS rounds (a fresh netd each round) and each direction's median
 * round is printed: the limit's pps, netd's pps, their ratio with its spread over the rounds,
 * and the CPU time per frame of the limit's TAP thread and of netd's whole thread group.
 * Every phase is bounded in frames and in seconds.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "ipc/vu_frontend.h"
#include "ipc/vu_guest.h"
#include "netd/tap_sys.h"
#include "tests/bench/bench_cpu.h"

#define HOST_IP   "169.254.88.1"
#define GUEST_IP  "169.254.88.2"
#define RX_PORT   9000 /* the namespace's receiver (guest -> host) */
#define TX_PORT   9001 /* the guest's port (host -> guest) */
#define HDR       12
#define RING      256
#define SLOT      2048
#define PHASE_S   5.0 /* a phase never runs longer than this */
#define IDLE_MS   300 /* a receiver stops after this long without a frame */
#define GUEST_MAC "\x02\x00\x00\x88\x00\x02"
#define ROUNDS    5 /* interleaved limit/netd rounds; the median is reported */

struct frame {
    uint8_t b[HDR + 1514];
    size_t len; /* header + frame */
};

struct result {
    double pps;
    unsigned long long frames;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* virtio-net header (zero) + Ethernet + IPv4 + UDP to HOST_IP:RX_PORT, size bytes of frame. */
static void build_frame(struct frame *f, const uint8_t host_mac[6], size_t size)
{
    uint8_t *e = f->b + HDR, *ip = e + 14, *udp = ip + 20;
    size_t iplen = size - 14;
    struct in_addr s, d;

    memset(f->b, 0, sizeof(f->b));
    memcpy(e, host_mac, 6);
    memcpy(e + 6, GUEST_MAC, 6);
    e[12] = 0x08;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(iplen >> 8);
    ip[3] = (uint8_t)iplen;
    ip[8] = 64;
    ip[9] = 17;
    inet_pton(AF_INET, GUEST_IP, &s);
    inet_pton(AF_INET, HOST_IP, &d);
    memcpy(ip + 12, &s, 4);
    memcpy(ip + 16, &d, 4);
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    udp[0] = 0x23;
    udp[1] = 0x28; /* source port 9000 */
    udp[2] = RX_PORT >> 8;
    udp[3] = RX_PORT & 0xff;
    udp[4] = (uint8_t)((iplen - 20) >> 8);
    udp[5] = (uint8_t)(iplen - 20); /* checksum 0: none, allowed over IPv4 */
    f->len = HDR + size;
}

static int udp_socket(const char *ip, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 8 << 20;

    inet_pton(AF_INET, ip, &a.sin_addr);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("udp socket");
        exit(1);
    }
    setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
    return s;
}

/* Counts datagrams on s until `want`, IDLE_MS of silence after the first, or PHASE_S. */
struct counter {
    int s;
    unsigned long long want, got;
    double first, last;
};

static void *count_udp(void *arg)
{
    struct counter *c = arg;
    struct mmsghdr m[64];
    struct iovec iov[64];
    static uint8_t bufs[64][2048];
    double end = now() + PHASE_S + 1;

    for (int i = 0; i < 64; i++) {
        iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
        m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    while (c->got < c->want && now() < end) {
        struct pollfd p = { .fd = c->s, .events = POLLIN };
        int n;

        if (poll(&p, 1, c->got ? IDLE_MS : 2000) <= 0)
            break;
        n = recvmmsg(c->s, m, 64, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        if (!c->got)
            c->first = now();
        c->got += (unsigned)n;
        c->last = now();
    }
    return NULL;
}

static double rate(unsigned long long n, double t0, double t1)
{
    return n > 1 && t1 > t0 ? (double)(n - 1) / (t1 - t0) : 0;
}

/* Sends `n` datagrams of the frame's payload from the namespace to the guest, bounded. */
struct sender {
    size_t payload;
    unsigned long long n;
    volatile int stop;
};

static void *send_udp(void *arg)
{
    struct sender *sd = arg;
    int s = udp_socket(HOST_IP, 0);
    struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(TX_PORT) };
    static uint8_t payload[1500];
    double end = now() + PHASE_S;

    inet_pton(AF_INET, GUEST_IP, &d.sin_addr);
    for (unsigned long long i = 0; i < sd->n && !sd->stop && ((i & 1023) || now() < end); i++)
        if (sendto(s, payload, sd->payload, 0, (struct sockaddr *)&d, sizeof(d)) < 0 &&
            errno != ENOBUFS && errno != EAGAIN)
            break;
    close(s);
    return NULL;
}

static struct result limit_tx(int tap, const struct frame *f, unsigned long long n)
{
    struct counter c = { .s = udp_socket(HOST_IP, RX_PORT), .want = n };
    pthread_t t;
    double end = now() + PHASE_S;

    pthread_create(&t, NULL, count_udp, &c);
    for (unsigned long long i = 0; i < n && ((i & 1023) || now() < end); i++)
        if (write(tap, f->b, f->len) < 0 && errno != EAGAIN)
            break;
    pthread_join(t, NULL);
    close(c.s);
    return (struct result){ rate(c.got, c.first, c.last), c.got };
}

static struct result limit_rx(int tap, size_t size, unsigned long long n)
{
    struct sender sd = { .payload = size - 42, .n = n };
    static uint8_t b[HDR + 65536];
    unsigned long long got = 0;
    double first = 0, last = 0, end;
    pthread_t t;

    pthread_create(&t, NULL, send_udp, &sd);
    end = now() + PHASE_S + 1;
    while (got < n && now() < end) {
        struct pollfd p = { .fd = tap, .events = POLLIN };

        if (poll(&p, 1, got ? IDLE_MS : 2000) <= 0)
            break;
        while (read(tap, b, sizeof(b)) > 0) {
            if (!got)
                first = now();
            got++;
            last = now();
        }
    }
    sd.stop = 1;
    pthread_join(t, NULL);
    return (struct result){ rate(got, first, last), got };
}

struct guest {
    struct vu_frontend fe;
    struct vu_gmem mem;
    struct vu_gring rx, tx;
    uint64_t frame_gpa, rx_gpa;
    unsigned rx_next;
};

static int guest_start(struct guest *g, const char *sock, const struct frame *f)
{
    uint64_t offered, feat = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_EVENT_IDX;
    struct vu_fe_region reg;
    struct vu_fe_vring v;
    int r;

    if ((r = vu_fe_connect(&g->fe, sock)) ||
        (r = vu_fe_negotiate(&g->fe, 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK, &offered)) ||
        (r = vu_fe_set_features(&g->fe, feat & offered)) || (r = vu_gmem_create(&g->mem, 4 << 20)))
        return r;
    reg = vu_gmem_region(&g->mem);
    if ((r = vu_fe_set_mem_table(&g->fe, &reg, 1)) ||
        (r = vu_gring_init(&g->rx, &g->mem, RING, true)) ||
        (r = vu_gring_init(&g->tx, &g->mem, RING, true)))
        return r;
    g->frame_gpa = vu_gmem_alloc(&g->mem, sizeof(f->b), 64);
    g->rx_gpa = vu_gmem_alloc(&g->mem, (uint64_t)RING * SLOT, 4096);
    memcpy(vu_gmem_ptr(&g->mem, g->frame_gpa), f->b, f->len);
    v = vu_gring_vring(&g->rx, &g->mem);
    if ((r = vu_fe_start_vring(&g->fe, 0, &v)))
        return r;
    v = vu_gring_vring(&g->tx, &g->mem);
    return vu_fe_start_vring(&g->fe, 1, &v);
}

static struct result netd_tx(struct guest *g, const struct frame *f, unsigned long long n)
{
    struct counter c = { .s = udp_socket(HOST_IP, RX_PORT), .want = n };
    struct vu_gbuf b = { g->frame_gpa, (uint32_t)f->len };
    unsigned long long sent = 0;
    double end = now() + PHASE_S;
    uint16_t head;
    uint32_t len;
    pthread_t t;

    pthread_create(&t, NULL, count_udp, &c);
    while (sent < n && now() < end) {
        while (vu_gring_get_used(&g->tx, &head, &len) == 1)
            ;
        while (sent < n && vu_gring_add(&g->tx, &b, 1, 0, &head) == 0)
            sent++;
        vu_gring_kick(&g->tx);
        if (g->tx.num_free == 0) {
            vu_gring_want_interrupt(&g->tx);
            if (vu_gring_get_used(&g->tx, &head, &len) == 0)
                vu_gring_wait(&g->tx, 100);
        }
    }
    pthread_join(t, NULL);
    close(c.s);
    return (struct result){ rate(c.got, c.first, c.last), c.got };
}

static void rx_refill(struct guest *g)
{
    uint16_t head;

    while (g->rx.num_free) {
        struct vu_gbuf b = { g->rx_gpa + (uint64_t)(g->rx_next++ % RING) * SLOT, SLOT };

        if (vu_gring_add(&g->rx, &b, 0, 1, &head))
            break;
    }
    vu_gring_kick(&g->rx);
}

static struct result netd_rx(struct guest *g, size_t size, unsigned long long n)
{
    struct sender sd = { .payload = size - 42, .n = n };
    unsigned long long got = 0;
    double first = 0, last = 0, end;
    uint16_t head;
    uint32_t len;
    pthread_t t;

    rx_refill(g);
    pthread_create(&t, NULL, send_udp, &sd);
    end = now() + PHASE_S + 1;
    while (got < n && now() < end) {
        int k = 0;

        while (vu_gring_get_used(&g->rx, &head, &len) == 1) {
            if (!got)
                first = now();
            got++;
            k++;
        }
        if (k) {
            last = now();
            rx_refill(g);
            continue;
        }
        vu_gring_want_interrupt(&g->rx);
        if (vu_gring_get_used(&g->rx, &head, &len) == 1) {
            got++;
            last = now();
            rx_refill(g);
            continue;
        }
        if (vu_gring_wait(&g->rx, got ? IDLE_MS : 2000) <= 0)
            break;
    }
    sd.stop = 1;
    pthread_join(t, NULL);
    return (struct result){ rate(got, first, last), got };
}

static pid_t spawn_netd(const char *netd, const char *tap, const char *sock)
{
    char spec[128];
    pid_t pid;

    snprintf(spec, sizeof(spec), "tap=%s,num_queues=2,mac=02:00:00:88:00:02", tap);
    unlink(sock);
    pid = fork();
    if (pid == 0) {
        execl(netd, netd, "--socket-path", sock, "--seccomp", "on", "--net", spec, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        struct stat st;

        if (stat(sock, &st) == 0)
            return pid;
        usleep(50000);
    }
    kill(pid, SIGTERM);
    return -1;
}

/* One direction's figures of one round. */
struct round {
    double lim, netd;    /* pps */
    double lim_cpu, cpu; /* us of CPU per frame: the TAP writer/reader thread, netd */
    unsigned long long lf, nf;
};

static int by_ratio(const void *a, const void *b)
{
    const struct round *x = a, *y = b;
    double rx = x->lim > 0 ? x->netd / x->lim : 0, ry = y->lim > 0 ? y->netd / y->lim : 0;

    return (rx > ry) - (rx < ry);
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The round whose netd/limit ratio is the median, the spread of the ratios and the medians of
 * the CPU figures (each sorted on its own). */
static void report(const char *dir, size_t size, struct round *r, int n)
{
    double cpu[ROUNDS], lcpu[ROUNDS];
    struct round m;

    qsort(r, (size_t)n, sizeof(*r), by_ratio);
    m = r[n / 2];
    for (int i = 0; i < n; i++) {
        cpu[i] = r[i].cpu;
        lcpu[i] = r[i].lim_cpu;
    }
    qsort(cpu, (size_t)n, sizeof(double), by_double);
    qsort(lcpu, (size_t)n, sizeof(double), by_double);
    printf("%-13s %4zu B  limit %9.0f pps (%llu frames)  netd %9.0f pps (%llu frames)  "
           "ratio %.2f (median of %d, %.2f-%.2f)  CPU us/frame: limit %.2f netd %.2f\n",
           dir, size, m.lim, m.lf, m.netd, m.nf, m.lim > 0 ? m.netd / m.lim : 0, n,
           r[0].lim > 0 ? r[0].netd / r[0].lim : 0,
           r[n - 1].lim > 0 ? r[n - 1].netd / r[n - 1].lim : 0, lcpu[n / 2], cpu[n / 2]);
}

static double thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double per_frame_us(double ns, unsigned long long frames)
{
    return frames ? ns / 1000.0 / (double)frames : 0;
}

/* The limit's half of a round: this process on its own TAP fd, both directions. */
static int limit_round(const char *tap_arg, const struct frame *f, size_t size,
                       unsigned long long n, struct round *tx, struct round *rx)
{
    char tap_name[IFNAMSIZ] = { 0 };
    struct result r;
    double c0;
    int tap;

    snprintf(tap_name, sizeof(tap_name), "%s", tap_arg);
    if (tap_open(tap_name, 1, &tap) || tap_set_vnet_hdr_sz(tap, HDR)) {
        fprintf(stderr, "net-bench: cannot open TAP %s\n", tap_arg);
        return -1;
    }
    c0 = thread_cpu_ns();
    r = limit_tx(tap, f, n);
    tx->lim = r.pps;
    tx->lf = r.frames;
    tx->lim_cpu = per_frame_us(thread_cpu_ns() - c0, r.frames);
    c0 = thread_cpu_ns();
    r = limit_rx(tap, size, n);
    rx->lim = r.pps;
    rx->lf = r.frames;
    rx->lim_cpu = per_frame_us(thread_cpu_ns() - c0, r.frames);
    close(tap);
    return 0;
}

/* netd's half: a fresh jailed netd on the same TAP, driven as its guest, both directions. */
static int netd_round(const char *netd, const char *tap, const char *sock, const struct frame *f,
                      size_t size, unsigned long long n, struct round *tx, struct round *rx)
{
    unsigned long long c0, c1, c2;
    struct result r;
    struct guest g;
    pid_t pid;
    int rc = 0;

    pid = spawn_netd(netd, tap, sock);
    if (pid < 0) {
        fprintf(stderr, "net-bench: cellvm-netd did not come up\n");
        return -1;
    }
    memset(&g, 0, sizeof(g));
    vu_fe_init(&g.fe, -1);
    g.mem.fd = g.rx.kick_fd = g.rx.call_fd = g.tx.kick_fd = g.tx.call_fd = -1;
    if (guest_start(&g, sock, f)) {
        fprintf(stderr, "net-bench: vhost-user setup failed\n");
        rc = -1;
    } else {
        c0 = bench_proc_cpu_ns(pid);
        r = netd_tx(&g, f, n);
        c1 = bench_proc_cpu_ns(pid);
        tx->netd = r.pps;
        tx->nf = r.frames;
        tx->cpu = per_frame_us((double)(c1 - c0), r.frames);
        r = netd_rx(&g, size, n);
        c2 = bench_proc_cpu_ns(pid);
        rx->netd = r.pps;
        rx->nf = r.frames;
        rx->cpu = per_frame_us((double)(c2 - c1), r.frames);
    }
    vu_fe_close(&g.fe);
    vu_gring_destroy(&g.rx);
    vu_gring_destroy(&g.tx);
    vu_gmem_destroy(&g.mem);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    unlink(sock);
    return rc;
}

int main(int argc, char **argv)
{
    char path[128], dir[] = "/tmp/net-bench.XXXXXX", sock[64];
    struct round tx[ROUNDS], rx[ROUNDS];
    struct frame f;
    uint8_t mac[6];
    unsigned m[6];
    size_t size;
    unsigned long long n;
    FILE *mf;
    int rc = 0;

    if (argc != 5) {
        fprintf(stderr, "usage: net-bench NETD TAP SIZE FRAMES\n");
        return 2;
    }
    size = strtoul(argv[3], NULL, 0);
    n = strtoull(argv[4], NULL, 0);
    if (size < 64 || size > 1514 || !n)
        return 2;
    snprintf(path, sizeof(path), "/sys/class/net/%s/address", argv[2]);
    mf = fopen(path, "r");
    if (!mf || fscanf(mf, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6) {
        fprintf(stderr, "net-bench: no TAP %s here\n", argv[2]);
        if (mf)
            fclose(mf);
        return 1;
    }
    fclose(mf);
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)m[i];
    build_frame(&f, mac, size);
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir)) {
        perror("net-bench: mkdtemp");
        return 1;
    }
    snprintf(sock, sizeof(sock), "%s/netd.sock", dir);

    /* Rounds alternate the limit and netd, so a change in the host's load hits both. */
    memset(tx, 0, sizeof(tx));
    memset(rx, 0, sizeof(rx));
    for (int i = 0; i < ROUNDS && !rc; i++)
        rc = limit_round(argv[2], &f, size, n, &tx[i], &rx[i]) ||
             netd_round(argv[1], argv[2], sock, &f, size, n, &tx[i], &rx[i]);
    rmdir(dir);
    if (rc)
        return 1;
    report("guest->host", size, tx, ROUNDS);
    report("host->guest", size, rx, ROUNDS);
    return 0;
}
