/*
 * virtio-console's rings in a fake guest memory (device-procs' virtq code validates every
 * chain), with pipes as the host side: transmit chains reach the output fd, a host side that
 * takes nothing makes the bounded buffer drop (never the ring wait), a failing output drops and
 * moves on, input goes into one receive buffer per read, no buffer stops the input, an ended
 * input is reported, and hostile chains (outside memory, no writable part) are handled. The
 * daemon's --console spec (tty, pty, null, file=; off and socket= refused) too.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consoled/console.h"
#include "consoled/console_spec.h"
#include "device-procs/devmem.h"

#define GPA  0x100000ull
#define UVA  0x7f0000000000ull
#define SIZE 0x400000ull
#define NUM  128u
#define BUFS 0x10000ull
#define SLOT 0x10000ull

static uint8_t *mem;
static struct devmem dm;
static struct virtq rxq, txq;
static struct con_dev con;
static uint16_t next_desc[2];
static int out[2] = { -1, -1 }, in[2] = { -1, -1 };

/* Queue q's rings: descriptors, avail and used at 0x4000 * q. */
static struct vring_desc *descs(int q)
{
    return (struct vring_desc *)(mem + 0x4000 * q);
}

static struct vring_avail *avail(int q)
{
    return (struct vring_avail *)(mem + 0x4000 * q + 0x1000);
}

static struct vring_used *used(int q)
{
    return (struct vring_used *)(mem + 0x4000 * q + 0x2000);
}

static void ring(struct virtq *vq, int q)
{
    uint64_t b = UVA + 0x4000ull * q;

    virtq_init(vq, (uint16_t)q);
    vq->num = NUM;
    cr_assert_eq(virtq_map(vq, &dm, b, b + 0x1000, b + 0x2000), 0);
    virtq_prepare(vq);
}

static void setup(void)
{
    mem = aligned_alloc(4096, SIZE);
    cr_assert_not_null(mem);
    memset(mem, 0, SIZE);
    devmem_init(&dm);
    cr_assert_eq(devmem_add_host(&dm, GPA, UVA, mem, SIZE), 0);
    ring(&rxq, CON_RXQ);
    ring(&txq, CON_TXQ);
    next_desc[0] = next_desc[1] = 0;
    cr_assert_eq(con_init(&con), 0);
    con.rxq = &rxq;
    con.txq = &txq;
    cr_assert_eq(pipe2(out, O_CLOEXEC | O_NONBLOCK), 0);
    cr_assert_eq(pipe2(in, O_CLOEXEC | O_NONBLOCK), 0);
    con.out_fd = out[1];
    con.in_fd = in[0];
}

static void teardown(void)
{
    con_destroy(&con);
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (in[i] >= 0)
            close(in[i]);
        out[i] = in[i] = -1;
    }
    free(mem);
}

static uint16_t post_at(int q, uint64_t gpa, uint32_t len, uint16_t flags)
{
    uint16_t i = next_desc[q]++ % NUM;
    struct vring_avail *a = avail(q);

    descs(q)[i] = (struct vring_desc){ .addr = gpa, .len = len, .flags = flags };
    a->ring[a->idx % NUM] = i;
    __atomic_store_n(&a->idx, (uint16_t)(a->idx + 1), __ATOMIC_RELEASE);
    return i;
}

static uint8_t *slot_ptr(int q, unsigned slot)
{
    return mem + BUFS + (q * 32u + slot) * SLOT;
}

static uint16_t post_tx(unsigned slot, const void *p, uint32_t len)
{
    memcpy(slot_ptr(CON_TXQ, slot), p, len);
    return post_at(CON_TXQ, GPA + BUFS + (32u + slot) * SLOT, len, 0);
}

static uint16_t post_rx(unsigned slot, uint32_t len)
{
    return post_at(CON_RXQ, GPA + BUFS + slot * SLOT, len, VRING_DESC_F_WRITE);
}

static uint16_t used_idx(int q)
{
    return __atomic_load_n(&used(q)->idx, __ATOMIC_ACQUIRE);
}

static ssize_t drain(void *buf, size_t len)
{
    return read(out[0], buf, len);
}

TestSuite(console, .init = setup, .fini = teardown);

Test(console, transmit_reaches_the_host)
{
    char got[64] = "";

    post_tx(0, "hello ", 6);
    post_tx(1, "guest\n", 6);
    cr_assert_eq(con_tx_pass(&con), CON_PASS_IDLE);
    cr_assert_eq(used_idx(CON_TXQ), 2);
    cr_assert_eq(used(CON_TXQ)->ring[0].len, 0, "nothing written into a transmit buffer");
    cr_assert_eq(con_flush(&con), 0);
    cr_assert_eq(drain(got, sizeof(got)), 12);
    cr_assert_eq(memcmp(got, "hello guest\n", 12), 0);
    cr_assert_eq(con.st.tx_chains, 2);
    cr_assert_eq(con.st.written, 12);
    cr_assert_eq(con.st.dropped, 0);
}

/* A host side that takes nothing: every chain is still used at once, the buffer holds
   CON_OUT_BUF bytes and the rest is dropped; once the host reads, what was kept arrives. */
Test(console, full_host_side_drops_never_waits)
{
    static uint8_t blob[SLOT], got[SLOT];
    size_t pipe_bytes = 0, kept = 0, sent = 0;
    ssize_t n;

    memset(blob, 'z', sizeof(blob));
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned i = 0; i < 16; i++) {
            post_tx(i, blob, 16384);
            sent += 16384;
        }
        cr_assert_neq(con_tx_pass(&con), CON_PASS_BROKEN);
        cr_assert_eq(used_idx(CON_TXQ), (uint16_t)(16 * (round + 1)), "chains held back");
        con_flush(&con);
    }
    cr_assert_eq(con_flush(&con), -EAGAIN, "the pipe is full");
    cr_assert_eq(con.len, CON_OUT_BUF);
    cr_assert_gt(con.st.dropped, 0);
    cr_assert_eq(con.st.tx_bytes + con.st.dropped, sent);
    while ((n = drain(got, sizeof(got))) > 0)
        pipe_bytes += (size_t)n;
    while (con.len) {
        cr_assert_geq(con_flush(&con), -EAGAIN);
        while ((n = drain(got, sizeof(got))) > 0)
            kept += (size_t)n;
    }
    cr_assert_eq(pipe_bytes + kept, con.st.written);
    cr_assert_eq(con.st.written, con.st.tx_bytes);
}

Test(console, failing_output_drops_and_moves_on)
{
    signal(SIGPIPE, SIG_IGN); /* as the runtime does */
    close(out[0]);
    out[0] = -1;
    post_tx(0, "lost\n", 5);
    cr_assert_eq(con_tx_pass(&con), CON_PASS_IDLE);
    cr_assert_eq(con_flush(&con), 0);
    cr_assert_eq(con.st.out_errors, 1);
    cr_assert_eq(con.st.dropped, 5);
    cr_assert_eq(con.len, 0);
}

Test(console, no_output_fd_is_a_sink)
{
    con.out_fd = -1;
    post_tx(0, "gone\n", 5);
    cr_assert_eq(con_tx_pass(&con), CON_PASS_IDLE);
    cr_assert_eq(used_idx(CON_TXQ), 1);
    cr_assert_eq(con.len, 0);
}

Test(console, input_one_buffer_per_read)
{
    cr_assert_eq(write(in[1], "abc", 3), 3);
    cr_assert_eq(con_rx_once(&con), CON_PASS_NO_BUF, "no receive buffer yet");
    cr_assert_eq(used_idx(CON_RXQ), 0);
    post_rx(0, 2);
    post_rx(1, 64);
    cr_assert_eq(con_rx_once(&con), CON_PASS_IDLE);
    cr_assert_eq(used_idx(CON_RXQ), 1);
    cr_assert_eq(used(CON_RXQ)->ring[0].len, 2);
    cr_assert_eq(memcmp(slot_ptr(CON_RXQ, 0), "ab", 2), 0);
    cr_assert_eq(con_rx_once(&con), CON_PASS_IDLE);
    cr_assert_eq(used(CON_RXQ)->ring[1].len, 1);
    cr_assert_eq(slot_ptr(CON_RXQ, 1)[0], 'c');
    /* Nothing to read: the buffer goes back on the ring for the next read. */
    post_rx(2, 64);
    cr_assert_eq(con_rx_once(&con), CON_PASS_IDLE);
    cr_assert_eq(used_idx(CON_RXQ), 2);
    close(in[1]);
    in[1] = -1;
    cr_assert_eq(con_rx_once(&con), CON_PASS_INPUT_END);
    cr_assert(con.in_eof);
    cr_assert_eq(con_rx_once(&con), CON_PASS_INPUT_END);
    cr_assert_eq(used_idx(CON_RXQ), 2);
    cr_assert_eq(con.st.rx_bytes, 3);
}

Test(console, receive_chain_without_writable_part)
{
    cr_assert_eq(write(in[1], "x", 1), 1);
    post_at(CON_RXQ, GPA + BUFS, 16, 0); /* readable only */
    cr_assert_eq(con_rx_once(&con), CON_PASS_MORE);
    cr_assert_eq(used_idx(CON_RXQ), 1);
    cr_assert_eq(used(CON_RXQ)->ring[0].len, 0);
}

Test(console, chain_outside_guest_memory_breaks_the_queue)
{
    post_at(CON_TXQ, GPA + SIZE + 4096, 16, 0);
    cr_assert_eq(con_tx_pass(&con), CON_PASS_BROKEN);
    cr_assert(txq.broken);
}

Test(console, pass_is_bounded)
{
    for (unsigned i = 0; i < CON_MAX_PASS_REQS + 5; i++)
        post_tx(i % 16, "y", 1);
    cr_assert_eq(con_tx_pass(&con), CON_PASS_MORE, "used %u", used_idx(CON_TXQ));
    cr_assert_eq(used_idx(CON_TXQ), CON_MAX_PASS_REQS);
    cr_assert_eq(con_tx_pass(&con), CON_PASS_IDLE);
    cr_assert_eq(used_idx(CON_TXQ), CON_MAX_PASS_REQS + 5);
}

Test(console_spec, modes_and_refusals)
{
    static const struct {
        const char *v;
        int r;
        enum con_mode mode;
        const char *msg;
    } cases[] = {
        { "tty", 0, CON_MODE_TTY, NULL },
        { "pty", 0, CON_MODE_PTY, NULL },
        { "null", 0, CON_MODE_NULL, NULL },
        { "file=/tmp/x,iommu=off", 0, CON_MODE_FILE, NULL },
        { "tty,file=/tmp/x", 0, CON_MODE_TTY, NULL },
        { "off", -EINVAL, 0, "off means no device" },
        { "socket=/tmp/s", -EINVAL, 0, "socket mode is for --serial only" },
        { "file=", -EINVAL, 0, "missing value for 'file'" },
        { "", -EINVAL, 0, "no mode given" },
        { "tty,bogus=1", -EINVAL, 0, "unknown key 'bogus'" },
        { "tty,iommu=on", -EINVAL, 0, "known but not supported yet: iommu" },
    };
    char err[256];
    struct con_spec s;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        cr_expect_eq(con_spec_parse(cases[i].v, &s, err, sizeof(err)), cases[i].r, "%s: %s",
                     cases[i].v, err);
        if (!cases[i].r)
            cr_expect_eq(s.mode, cases[i].mode, "%s", cases[i].v);
        else
            cr_expect(strstr(err, cases[i].msg), "%s: '%s'", cases[i].v, err);
        con_spec_free(&s);
    }
}
