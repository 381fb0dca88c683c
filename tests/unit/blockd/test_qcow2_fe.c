/* cellvm-blockd serving QCOW2 through the ipc/ frontend library, on images qemu-img builds:
 * a qcow2 -> qcow2 -> raw chain read through (zeroes past each shorter layer), copy-on-write,
 * discards that read zeroes over backing data, backing files refused unless allowed, chains
 * that loop, run too deep, name a device or the image itself, or lie about their format; a
 * backing file shrinking underneath; live resize over --control-socket with CONFIG_CHANGE. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe_util.h"
#include "ipc/msg.h"

static struct fe_daemon t;

static void setup(void)
{
    fe_init(&t);
    if (!fe_have("qemu-img") || !fe_have("qemu-io"))
        cr_skip_test("qemu-img/qemu-io not installed (qemu-utils)");
}

static void teardown(void)
{
    fe_fini(&t);
}

TestSuite(qcow2_fe, .init = setup, .fini = teardown, .timeout = 60);

/* base.raw (1 MiB of 0xaa) <- mid.qcow2 (2 MiB, 0xbb at 64K) <- top.qcow2 (4 MiB, 0xcc at
 * 192K), relative names as qemu-img writes them. */
static void make_chain(void)
{
    cr_assert_eq(fe_sh("cd %s && qemu-img create -f raw base.raw 1M && "
                       "qemu-io -f raw -c 'write -P 0xaa 0 1M' base.raw && "
                       "qemu-img create -f qcow2 -F raw -b base.raw mid.qcow2 2M && "
                       "qemu-io -f qcow2 -c 'write -P 0xbb 64k 64k' mid.qcow2 && "
                       "qemu-img create -f qcow2 -F qcow2 -b mid.qcow2 top.qcow2 4M && "
                       "qemu-io -f qcow2 -c 'write -P 0xcc 192k 64k' top.qcow2",
                       t.dir),
                 0);
}

static void expect_fill(uint64_t off, uint32_t len, uint8_t v)
{
    uint8_t *p;

    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_IN, off / 512, len, true), VIRTIO_BLK_S_OK, "read at %llu",
                 (unsigned long long)off);
    p = fe_data(&t, 0, 0);
    for (uint32_t i = 0; i < len; i++)
        cr_assert_eq(p[i], v, "byte %llu: %#x, want %#x", (unsigned long long)off + i, p[i], v);
}

static void start_top(const char *extra)
{
    char spec[256];

    snprintf(spec, sizeof(spec), "path=%s/top.qcow2%s", t.dir, extra);
    cr_assert_eq(fe_start(&t, spec, false), 0, "blockd refused: see %s", t.log);
}

Test(qcow2_fe, chain_reads_through_and_discard_hides_backing)
{
    struct virtio_blk_config cfg;

    make_chain();
    start_top(",backing_files=on,image_type=qcow2");
    fe_connect(&t, 1);
    cr_assert_eq(vu_fe_get_config(&t.fe, 0, &cfg, sizeof(cfg)), 0);
    cr_assert_eq(le64toh(cfg.capacity), 8192);
    cr_assert_eq(le32toh(cfg.discard_sector_alignment), 128, "discards in whole clusters");
    expect_fill(0, 65536, 0xaa);
    expect_fill(65536, 65536, 0xbb);
    expect_fill(192 << 10, 65536, 0xcc);
    expect_fill(1536 << 10, 65536, 0);
    expect_fill(3 << 20, 65536, 0);
    /* A partial write copies the rest of the cluster up from the chain. */
    memset(fe_data(&t, 0, 0), 0x11, 4096);
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_OUT, 8, 4096, false), VIRTIO_BLK_S_OK);
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
    expect_fill(4096, 4096, 0x11);
    expect_fill(0, 4096, 0xaa);
    expect_fill(8192, 57344, 0xaa);
    /* Discarded and zeroed clusters never show what the backing file holds there. */
    cr_assert_eq(fe_dwz(&t, VIRTIO_BLK_T_DISCARD, 128, 128), VIRTIO_BLK_S_OK);
    expect_fill(65536, 65536, 0);
    cr_assert_eq(fe_dwz(&t, VIRTIO_BLK_T_WRITE_ZEROES, 256 + 8, 8), VIRTIO_BLK_S_OK);
    expect_fill(128 << 10, 4096, 0xaa);
    expect_fill((128 << 10) + 4096, 4096, 0);
}

Test(qcow2_fe, chain_result_checks_with_qemu)
{
    make_chain();
    start_top(",backing_files=on");
    fe_connect(&t, 1);
    memset(fe_data(&t, 0, 0), 0x22, 8192);
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_OUT, 1000, 8192, false), VIRTIO_BLK_S_OK);
    cr_assert_eq(fe_dwz(&t, VIRTIO_BLK_T_DISCARD, 128, 128), VIRTIO_BLK_S_OK);
    /* Stop the daemon only: the scratch dir stays for qemu. */
    kill(t.pid, SIGTERM);
    waitpid(t.pid, NULL, 0);
    t.pid = -1;
    cr_assert_eq(fe_sh("qemu-img check %s/top.qcow2", t.dir), 0, "qemu-img check");
    cr_assert_eq(fe_sh("qemu-io -r -f qcow2 -c 'read -P 0x22 %u 8k' -c 'read -P 0 64k 64k' "
                       "-c 'read -P 0xaa 0 64k' %s/top.qcow2 | grep -q 'Pattern verification "
                       "failed' && exit 1 || exit 0",
                       1000 * 512, t.dir),
                 0);
    cr_assert_eq(fe_sh("qemu-io -r -f qcow2 -c 'read -P 0 64k 64k' %s/top.qcow2 | "
                       "grep -q 'read 65536/65536'",
                       t.dir),
                 0, "qemu reads zeroes where cellvm discarded");
}

Test(qcow2_fe, backing_refused_unless_allowed)
{
    char spec[256];

    make_chain();
    snprintf(spec, sizeof(spec), "path=%s/top.qcow2", t.dir);
    cr_assert_gt(fe_start_refused(&t, spec), 0);
    cr_assert(fe_log_has(&t, "backing_files=on"), "the refusal says how to allow it");
}

static void expect_refused(const char *img, const char *why)
{
    char spec[256];

    snprintf(spec, sizeof(spec), "path=%s/%s,backing_files=on", t.dir, img);
    cr_assert_gt(fe_start_refused(&t, spec), 0, "%s must be refused", img);
    cr_assert(fe_log_has(&t, why), "%s: log lacks \"%s\"", img, why);
}

Test(qcow2_fe, bad_chains_refused)
{
    cr_assert_eq(fe_sh("cd %s && qemu-img create -f qcow2 a.qcow2 1M && "
                       "qemu-img create -f qcow2 -F qcow2 -b a.qcow2 b.qcow2 1M && "
                       "qemu-img rebase -u -F qcow2 -b b.qcow2 a.qcow2 && "
                       "qemu-img create -u -f qcow2 -F qcow2 -b a.qcow2 c.qcow2 1M && "
                       "qemu-img create -f qcow2 self.qcow2 1M && "
                       "qemu-img rebase -u -F qcow2 -b self.qcow2 self.qcow2 && "
                       "qemu-img create -f qcow2 dev.qcow2 1M && "
                       "qemu-img rebase -u -F raw -b /dev/zero dev.qcow2 && "
                       "qemu-img create -f raw plain.raw 1M && "
                       "qemu-img create -f qcow2 liar.qcow2 1M && "
                       "qemu-img rebase -u -F qcow2 -b plain.raw liar.qcow2 && "
                       "qemu-img create -f qcow2 vmdk.qcow2 1M && "
                       "qemu-img rebase -u -F vmdk -b plain.raw vmdk.qcow2 && "
                       "qemu-img create -f qcow2 gone.qcow2 1M && "
                       "qemu-img rebase -u -F raw -b nowhere.raw gone.qcow2",
                       t.dir),
                 0);
    expect_refused("c.qcow2", "loops");  /* c -> a -> b -> a */
    expect_refused("a.qcow2", "itself"); /* a -> b -> a */
    expect_refused("self.qcow2", "itself");
    expect_refused("dev.qcow2", "regular file");
    expect_refused("liar.qcow2", "not a qcow2 image");
    expect_refused("vmdk.qcow2", "not supported");
    expect_refused("gone.qcow2", "nowhere.raw");
}

Test(qcow2_fe, chain_depth_limited)
{
    /* l0.raw <- l1 <- ... <- l17: 17 backing files under l17, one more than allowed. */
    cr_assert_eq(fe_sh("cd %s && qemu-img create -f raw l0.raw 64k && "
                       "qemu-img create -f qcow2 -F raw -b l0.raw l1.qcow2 64k && "
                       "for i in $(seq 2 17); do qemu-img create -f qcow2 -F qcow2 "
                       "-b l$((i-1)).qcow2 l$i.qcow2 64k || exit 1; done",
                       t.dir),
                 0);
    expect_refused("l17.qcow2", "deeper");
    /* 16 backing files are fine. */
    {
        char spec[256];

        snprintf(spec, sizeof(spec), "path=%s/l16.qcow2,backing_files=on", t.dir);
        cr_assert_eq(fe_start(&t, spec, false), 0, "a 16-deep chain opens");
    }
}

Test(qcow2_fe, backing_file_shrinking_underneath_reads_zeroes)
{
    cr_assert_eq(fe_sh("cd %s && qemu-img create -f raw base.raw 1M && "
                       "qemu-io -f raw -c 'write -P 0xaa 0 1M' base.raw && "
                       "qemu-img create -f qcow2 -F raw -b base.raw top.qcow2 1M",
                       t.dir),
                 0);
    start_top(",backing_files=on");
    fe_connect(&t, 1);
    expect_fill(768 << 10, 4096, 0xaa);
    cr_assert_eq(fe_sh("truncate -s 512K %s/base.raw", t.dir), 0);
    expect_fill(768 << 10, 4096, 0);
    expect_fill(0, 4096, 0xaa);
    /* Copy-on-write over the vanished part still works, and zero-fills. */
    memset(fe_data(&t, 0, 0), 0x33, 512);
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_OUT, (900 << 10) / 512, 512, false), VIRTIO_BLK_S_OK);
    expect_fill(900 << 10, 512, 0x33);
    expect_fill((900 << 10) + 512, 512, 0);
}

/* The vm.counters figures of a DeviceStats answer. */
struct fe_ctr {
    uint64_t rd_ops, rd_bytes, wr_ops, wr_bytes, rd_min, rd_max, wr_min, wr_max, wr_total;
};

/* Sends Resize then StatsRequest on the control socket; the stats answer says the resize was
 * handled, an Error before it that it was refused. Returns 0 or the Error's errnum; the stats
 * answer's counters go to *ctr when it is not NULL. */
static int control_resize_ctr(int ctl, uint64_t size, struct fe_ctr *ctr)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT, *ans = NULL;
    Cellvm__Resize rs = CELLVM__RESIZE__INIT;
    Cellvm__StatsRequest sr = CELLVM__STATS_REQUEST__INIT;
    int fds[4], err = 0;
    size_t nfds;
    const char *why;

    rs.size = size;
    env.body_case = CELLVM__ENVELOPE__BODY_RESIZE;
    env.resize = &rs;
    cr_assert_eq(ipc_send_envelope(ctl, &env, NULL, 0), 0);
    env.body_case = CELLVM__ENVELOPE__BODY_STATS_REQUEST;
    env.stats_request = &sr;
    cr_assert_eq(ipc_send_envelope(ctl, &env, NULL, 0), 0);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(ipc_recv_envelope(ctl, &ans, fds, 4, &nfds, &why), 0);
        if (ans->body_case == CELLVM__ENVELOPE__BODY_ERROR)
            err = ans->error->errnum;
        if (ans->body_case == CELLVM__ENVELOPE__BODY_DEVICE_STATS) {
            const Cellvm__DeviceStats *st = ans->device_stats;

            if (ctr)
                *ctr = (struct fe_ctr){ st->read_ops,           st->read_bytes,
                                        st->write_ops,          st->write_bytes,
                                        st->read_latency_min,   st->read_latency_max,
                                        st->write_latency_min,  st->write_latency_max,
                                        st->write_latency_total };
            ipc_free_envelope(ans);
            return err;
        }
        ipc_free_envelope(ans); /* device events */
    }
    cr_assert_fail("no DeviceStats answer");
    return -1;
}

static int control_resize(int ctl, uint64_t size)
{
    return control_resize_ctr(ctl, size, NULL);
}

static int control_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct timeval tv = { .tv_sec = 10 };

    cr_assert_geq(s, 0);
    cr_assert_lt(strlen(t.ctl), sizeof(sa.sun_path));
    memcpy(sa.sun_path, t.ctl, strlen(t.ctl) + 1);
    cr_assert_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return s;
}

static void resize_round(const char *spec, const char *img)
{
    struct virtio_blk_config cfg;
    struct fe_ctr c;
    struct stat st;
    int ctl;

    cr_assert_eq(fe_start(&t, spec, true), 0, "blockd refused: see %s", t.log);
    fe_connect(&t, 1);
    ctl = control_connect();
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_IN, 8192, 512, true), VIRTIO_BLK_S_IOERR,
                 "past the end before the resize");
    cr_assert_eq(control_resize(ctl, 8u << 20), 0);
    fe_poll_backend(&t, 2000);
    cr_assert_eq(t.config_changes, 1, "CONFIG_CHANGE sent");
    cr_assert_eq(vu_fe_get_config(&t.fe, 0, &cfg, sizeof(cfg)), 0);
    cr_assert_eq(le64toh(cfg.capacity), 16384);
    memset(fe_data(&t, 0, 0), 0x44, 4096);
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_OUT, 16376, 4096, false), VIRTIO_BLK_S_OK);
    expect_fill(16376 * 512ull, 4096, 0x44);
    cr_assert_eq(fe_req(&t, VIRTIO_BLK_T_IN, 16384, 512, true), VIRTIO_BLK_S_IOERR);
    /* vm.counters: the one write and the one good read count; the refused reads do not. */
    cr_assert_eq(control_resize_ctr(ctl, 4u << 20, &c), ENOTSUP, "shrinking is refused");
    cr_assert_eq(c.wr_ops, 1);
    cr_assert_eq(c.wr_bytes, 4096);
    cr_assert_eq(c.rd_ops, 1);
    cr_assert_eq(c.rd_bytes, 4096);
    cr_assert_leq(c.wr_min, c.wr_max);
    cr_assert_eq(c.wr_total, c.wr_min, "one write: total is its latency");
    cr_assert_lt(c.wr_max, 10000000, "a 4 KiB write in under 10 s");
    cr_assert_leq(c.rd_min, c.rd_max);
    cr_assert_eq(control_resize(ctl, (8u << 20) + 100), EINVAL, "not whole sectors");
    close(ctl);
    /* The next supervisor is served too. */
    ctl = control_connect();
    cr_assert_eq(control_resize(ctl, 12u << 20), 0);
    close(ctl);
    fe_poll_backend(&t, 2000);
    cr_assert_eq(t.config_changes, 2);
    kill(t.pid, SIGTERM);
    waitpid(t.pid, NULL, 0);
    t.pid = -1;
    if (strstr(img, ".qcow2")) {
        cr_assert_eq(fe_sh("qemu-img check %s", img), 0);
        cr_assert_eq(fe_sh("qemu-img info %s | grep -q 'virtual size: 12 MiB'", img), 0);
    } else {
        cr_assert_eq(stat(img, &st), 0);
        cr_assert_eq(st.st_size, 12 << 20);
    }
}

Test(qcow2_fe, resize_qcow2_over_control_socket)
{
    char spec[256], img[160];

    snprintf(img, sizeof(img), "%s/r.qcow2", t.dir);
    cr_assert_eq(fe_sh("qemu-img create -f qcow2 %s 4M", img), 0);
    snprintf(spec, sizeof(spec), "path=%s", img);
    resize_round(spec, img);
}

Test(qcow2_fe, resize_qcow2_with_backing)
{
    char spec[256], img[160];

    make_chain();
    snprintf(img, sizeof(img), "%s/top.qcow2", t.dir);
    snprintf(spec, sizeof(spec), "path=%s,backing_files=on", img);
    resize_round(spec, img);
}

Test(qcow2_fe, resize_raw_over_control_socket)
{
    char spec[256], img[160];

    snprintf(img, sizeof(img), "%s/r.raw", t.dir);
    cr_assert_eq(fe_sh("truncate -s 4M %s", img), 0);
    snprintf(spec, sizeof(spec), "path=%s,image_type=raw", img);
    resize_round(spec, img);
}

/* Writes in flight together that follow each other on the host (a fresh image allocates the
 * clusters in order) go down joined (qchan.c); each must land where its own request said. */
Test(qcow2_fe, writes_in_flight_together_land_in_place)
{
    char spec[256], cmd[384];
    unsigned left = FE_SLOTS;
    int s;

    cr_assert_eq(fe_sh("qemu-img create -f qcow2 %s/w.qcow2 4M", t.dir), 0);
    snprintf(spec, sizeof(spec), "path=%s/w.qcow2,image_type=qcow2", t.dir);
    cr_assert_eq(fe_start(&t, spec, false), 0, "blockd refused: see %s", t.log);
    fe_connect(&t, 1);
    /* Slot i: guest cluster i (whole), except the last four: two halves each of clusters 12
     * and 13, a partial write waiting behind the other half's allocation. */
    for (unsigned i = 0; i < FE_SLOTS; i++) {
        uint64_t off = i < 12 ? i * 65536ull : (12 + (i - 12) / 2) * 65536ull + (i % 2) * 32768;
        uint32_t len = i < 12 ? 65536 : 32768;

        memset(fe_data(&t, 0, i), 0x40 + (int)i, len);
        fe_submit(&t, 0, i, VIRTIO_BLK_T_OUT, off / 512, len, false);
    }
    for (int tries = 0; left && tries < 200; tries++) {
        fe_wait(&t, 50);
        while ((s = fe_reap(&t, 0)) >= 0) {
            cr_assert_eq(fe_status(&t, 0, (unsigned)s), VIRTIO_BLK_S_OK, "slot %d", s);
            left--;
        }
    }
    cr_assert_eq(left, 0, "%u writes never completed", left);
    kill(t.pid, SIGTERM);
    waitpid(t.pid, NULL, 0);
    t.pid = -1;
    cr_assert_eq(fe_sh("qemu-img check %s/w.qcow2", t.dir), 0, "qemu-img check");
    for (unsigned i = 0; i < FE_SLOTS; i++) {
        uint64_t off = i < 12 ? i * 65536ull : (12 + (i - 12) / 2) * 65536ull + (i % 2) * 32768;

        /* qemu-io exits with 1 when the pattern does not match. */
        snprintf(cmd, sizeof(cmd), "qemu-io -r -f qcow2 -c 'read -P %u %llu %u' %s/w.qcow2",
                 0x40 + i, (unsigned long long)off, i < 12 ? 65536 : 32768, t.dir);
        cr_assert_eq(fe_sh("%s", cmd), 0, "slot %u's data is not at guest offset %llu", i,
                     (unsigned long long)off);
    }
}
