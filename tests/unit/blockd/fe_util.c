#include "fe_util.h"

#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define F_VERSION_1 (1ull << 32)

int fe_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int r;

    memcpy(cmd, "( ", 2);
    va_start(ap, fmt);
    vsnprintf(cmd + 2, sizeof(cmd) - 24, fmt, ap);
    va_end(ap);
    strcat(cmd, " ) >/dev/null 2>&1");
    r = system(cmd);
    return r < 0 || !WIFEXITED(r) ? -1 : WEXITSTATUS(r);
}

bool fe_have(const char *prog)
{
    return fe_sh("command -v %s", prog) == 0;
}

double fe_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fe_init(struct fe_daemon *d)
{
    memset(d, 0, sizeof(*d));
    d->pid = -1;
    snprintf(d->dir, sizeof(d->dir), "/var/tmp/cellvm-q2fe-XXXXXX");
    cr_assert_not_null(mkdtemp(d->dir));
    snprintf(d->sock, sizeof(d->sock), "%s/vu.sock", d->dir);
    snprintf(d->ctl, sizeof(d->ctl), "%s/ctl.sock", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/blockd.log", d->dir);
}

static void disconnect(struct fe_daemon *d)
{
    if (!d->connected)
        return;
    for (unsigned q = 0; q < d->nq; q++)
        vu_gring_destroy(&d->ring[q]);
    vu_fe_close(&d->fe);
    vu_gmem_destroy(&d->mem);
    d->connected = false;
}

void fe_fini(struct fe_daemon *d)
{
    disconnect(d);
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        waitpid(d->pid, NULL, 0);
    }
    d->pid = -1;
    if (d->dir[0])
        fe_sh("rm -rf %s", d->dir);
}

int fe_start(struct fe_daemon *d, const char *spec, bool ctl)
{
    const char *exe = getenv("CELLVM_BLOCKD");
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    posix_spawn_file_actions_t fa;
    struct stat st;
    int status;

    if (!exe)
        cr_skip_test("CELLVM_BLOCKD not set (run through meson)");
    char *argv[] = { (char *)exe,  "--socket-path",
                     d->sock,      "--disk",
                     (char *)spec, ctl ? "--control-socket" : NULL,
                     d->ctl,       NULL };
    cr_assert_eq(posix_spawn_file_actions_init(&fa), 0);
    cr_assert_eq(
        posix_spawn_file_actions_addopen(&fa, 2, d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    cr_assert_eq(posix_spawn(&d->pid, exe, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 500; i++) {
        if (stat(d->sock, &st) == 0 && (!ctl || stat(d->ctl, &st) == 0))
            return 0;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = -1;
            return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 255;
        }
        nanosleep(&pause, NULL);
    }
    cr_assert_fail("cellvm-blockd did not come up in 10 s");
    return -1;
}

int fe_start_refused(struct fe_daemon *d, const char *spec)
{
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    int r = fe_start(d, spec, false), status;

    if (r > 0)
        return r;
    /* The socket exists before the backing chain is opened: wait for the exit. */
    for (int i = 0; i < 500; i++) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = -1;
            return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 255;
        }
        nanosleep(&pause, NULL);
    }
    return 0;
}

bool fe_log_has(const struct fe_daemon *d, const char *s)
{
    char buf[8192];
    FILE *f = fopen(d->log, "r");
    size_t n;

    if (!f)
        return false;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, s) != NULL;
}

static void on_config_change(void *opaque)
{
    ((struct fe_daemon *)opaque)->config_changes++;
}

void fe_connect(struct fe_daemon *d, unsigned nq)
{
    struct vu_fe_region reg;
    uint64_t offered, pf = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK |
                           1ull << VHOST_USER_PROTOCOL_F_CONFIG | 1ull << VHOST_USER_PROTOCOL_F_MQ |
                           1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ |
                           1ull << VHOST_USER_PROTOCOL_F_DEVICE_STATE;
    struct timespec pause = { 0, 20 * 1000 * 1000 };
    int r = -ECONNREFUSED;

    cr_assert_leq(nq, FE_MAX_Q);
    /* The socket file exists from bind(); listen() comes once the image (and its backing
     * chain) is open, which a loaded host can make take a while. */
    for (int i = 0; i < 250 && (r = vu_fe_connect(&d->fe, d->sock)) == -ECONNREFUSED; i++)
        nanosleep(&pause, NULL);
    cr_assert_eq(r, 0);
    d->fe.config_changed = on_config_change;
    d->fe.opaque = d;
    cr_assert_eq(vu_fe_negotiate(&d->fe, pf, &offered), 0);
    cr_assert(d->fe.backend_req_fd >= 0, "BACKEND_REQ negotiated");
    cr_assert_eq(vu_fe_set_features(&d->fe, F_VERSION_1 | (nq > 1 ? 1ull << VIRTIO_BLK_F_MQ : 0)),
                 0);
    cr_assert_eq(vu_gmem_create(&d->mem, 8u << 20), 0);
    for (unsigned q = 0; q < nq; q++) {
        cr_assert_eq(vu_gring_init(&d->ring[q], &d->mem, FE_RING, false), 0);
        for (unsigned s = 0; s < FE_SLOTS; s++) {
            struct fe_slot *sl = &d->slot[q][s];

            sl->hdr = vu_gmem_alloc(&d->mem, sizeof(struct virtio_blk_outhdr), 16);
            sl->data = vu_gmem_alloc(&d->mem, FE_BUF, 4096);
            sl->status = vu_gmem_alloc(&d->mem, 1, 1);
            cr_assert_neq(sl->status, UINT64_MAX);
        }
    }
    reg = vu_gmem_region(&d->mem);
    cr_assert_eq(vu_fe_set_mem_table(&d->fe, &reg, 1), 0);
    for (unsigned q = 0; q < nq; q++) {
        struct vu_fe_vring vr = vu_gring_vring(&d->ring[q], &d->mem);

        cr_assert_eq(vu_fe_start_vring(&d->fe, (uint16_t)q, &vr), 0);
    }
    d->nq = nq;
    d->connected = true;
}

uint8_t *fe_data(struct fe_daemon *d, unsigned q, unsigned s)
{
    return vu_gmem_ptr(&d->mem, d->slot[q][s].data);
}

uint8_t fe_status(struct fe_daemon *d, unsigned q, unsigned s)
{
    return *(uint8_t *)vu_gmem_ptr(&d->mem, d->slot[q][s].status);
}

void fe_submit(struct fe_daemon *d, unsigned q, unsigned s, uint32_t type, uint64_t sector,
               uint32_t len, bool in)
{
    struct fe_slot *sl = &d->slot[q][s];
    struct virtio_blk_outhdr *h = vu_gmem_ptr(&d->mem, sl->hdr);
    struct vu_gbuf bufs[3];
    unsigned nout = 1, nin = 0, n = 0;

    cr_assert(!sl->busy);
    cr_assert_leq(len, FE_BUF);
    h->type = htole32(type);
    h->ioprio = 0;
    h->sector = htole64(sector);
    *(uint8_t *)vu_gmem_ptr(&d->mem, sl->status) = 0xee;
    bufs[n++] = (struct vu_gbuf){ sl->hdr, sizeof(*h) };
    if (len) {
        bufs[n++] = (struct vu_gbuf){ sl->data, len };
        if (in)
            nin++;
        else
            nout++;
    }
    bufs[n++] = (struct vu_gbuf){ sl->status, 1 };
    nin++;
    cr_assert_eq(vu_gring_add(&d->ring[q], bufs, nout, nin, &sl->head), 0);
    sl->busy = true;
    sl->type = type;
    sl->sector = sector;
    sl->len = len;
    vu_gring_kick(&d->ring[q]);
}

int fe_reap(struct fe_daemon *d, unsigned q)
{
    uint16_t head;
    uint32_t len;

    if (vu_gring_get_used(&d->ring[q], &head, &len) != 1)
        return -1;
    for (unsigned s = 0; s < FE_SLOTS; s++) {
        if (d->slot[q][s].busy && d->slot[q][s].head == head) {
            d->slot[q][s].busy = false;
            return (int)s;
        }
    }
    cr_assert_fail("used head %u matches no request", head);
    return -1;
}

void fe_wait(struct fe_daemon *d, int ms)
{
    struct pollfd p[FE_MAX_Q];
    uint64_t v;

    for (unsigned q = 0; q < d->nq; q++)
        p[q] = (struct pollfd){ .fd = d->ring[q].call_fd, .events = POLLIN };
    if (poll(p, d->nq, ms) <= 0)
        return;
    for (unsigned q = 0; q < d->nq; q++)
        if (p[q].revents & POLLIN)
            (void)!read(p[q].fd, &v, sizeof(v));
}

uint8_t fe_req(struct fe_daemon *d, uint32_t type, uint64_t sector, uint32_t len, bool in)
{
    int s = -1;

    fe_submit(d, 0, 0, type, sector, len, in);
    for (int i = 0; i < 300 && (s = fe_reap(d, 0)) < 0; i++)
        fe_wait(d, 100);
    cr_assert_eq(s, 0, "no completion within 30 s");
    return fe_status(d, 0, 0);
}

uint8_t fe_dwz(struct fe_daemon *d, uint32_t type, uint64_t sector, uint32_t num)
{
    struct virtio_blk_discard_write_zeroes *seg = (void *)fe_data(d, 0, 0);

    seg->sector = htole64(sector);
    seg->num_sectors = htole32(num);
    seg->flags = 0;
    return fe_req(d, type, 0, sizeof(*seg), false);
}

void fe_poll_backend(struct fe_daemon *d, int ms)
{
    struct pollfd p = { .fd = d->fe.backend_req_fd, .events = POLLIN };

    while (poll(&p, 1, ms) == 1 && (p.revents & POLLIN)) {
        cr_assert_eq(vu_fe_handle_backend_req(&d->fe), 0);
        ms = 0;
    }
}
