#include "lib.h"

/*
 * The guest side of the respawn benchmark for netd and vsockd (tests/bench/respawn_bench.c,
 * issue 19): a steady stream of one-packet transmit requests on queue 1 of a virtio-net or
 * virtio-vsock function, one at a time, one '.' on the serial port each time the device hands
 * the buffer back (a completed request). Queue 0 (receive) gets its buffers once so the device
 * has somewhere to put what arrives; nothing else is read. net-stream.c and vsock-stream.c
 * pick the device with STREAM_NET or STREAM_VSOCK and include this file. Runs until the host
 * stops the VM; a request waits up to about a minute of TSC time, for a replacement process.
 *
 * netd: broadcast frames of a local experimental ethertype (0x88b5) out of the TAP. vsockd: RST
 * packets to the host (CID 2) for a connection that does not exist, which the device consumes
 * and drops: no stream state, so a replacement vsockd has nothing to reset.
 */

/* The virtio-blk payload's PCI and virtio-pci helpers; its own ring setup is not used. */
#define payload_main virtio_blk_main
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "virtio_blk.c"
#pragma GCC diagnostic pop
#undef payload_main
#undef NAME

#if defined(STREAM_NET)
#define NAME      "net-stream"
#define DEVICE_ID 0x1041
#elif defined(STREAM_VSOCK)
#define NAME      "vsock-stream"
#define DEVICE_ID 0x1053
#else
#error "define STREAM_NET or STREAM_VSOCK"
#endif

#define SQ_GPA      0x1100000ull /* queue q at SQ_GPA + q * SQ_STRIDE */
#define SQ_STRIDE   0x10000ull
#define SQ_BUF      0x1000ull /* buffers from here, BUF_SIZE each */
#define BUF_SIZE    0x800u
#define WAIT_CYCLES (200ull * 1000 * 1000 * 1000)
#define NO_VECTOR   0xffff

struct squeue {
    uint64_t base, notify;
    uint16_t avail_idx, used_seen;
};

static int find_device(void)
{
    for (int d = 1; d < 32; d++)
        if (mmio_read32(ECAM(d, 0)) == ((uint32_t)DEVICE_ID << 16 | PCI_VENDOR_VIRTIO))
            return d;
    return -1;
}

static void sq_setup(struct squeue *q, uint16_t qi)
{
    q->base = SQ_GPA + qi * SQ_STRIDE;
    q->avail_idx = q->used_seen = 0;
    memset((void *)(uintptr_t)q->base, 0, SQ_BUF);
    wr16(common + 0x16, qi); /* queue_select */
    payload_check(rd16(common + 0x18) >= QSIZE, "queue size", rd16(common + 0x18));
    wr16(common + 0x18, QSIZE);
    wr16(common + 0x1a, NO_VECTOR); /* the payload polls the used ring */
    wr64(common + 0x20, q->base);
    wr64(common + 0x28, q->base + 0x100);
    wr64(common + 0x30, q->base + 0x200);
    q->notify = notify + (uint64_t)rd16(common + 0x1e) * notify_mult;
    wr16(common + 0x1c, 1);
}

/* Makes descriptor slot (== buffer slot) available with len bytes, device-writable or not. */
static void sq_post(struct squeue *q, uint16_t slot, uint32_t len, bool writable)
{
    struct vdesc *desc = (struct vdesc *)(uintptr_t)q->base;
    volatile uint16_t *avail = (volatile uint16_t *)(uintptr_t)(q->base + 0x100);

    desc[slot] =
        (struct vdesc){ q->base + SQ_BUF + slot * BUF_SIZE, len, (uint16_t)(writable ? 2 : 0), 0 };
    avail[2 + q->avail_idx % QSIZE] = slot;
    __asm__ volatile("" ::: "memory");
    avail[1] = ++q->avail_idx;
}

static void sq_kick(const struct squeue *q, uint16_t qi)
{
    __asm__ volatile("mfence" ::: "memory");
    wr16(q->notify, qi);
}

static bool sq_wait(struct squeue *q)
{
    volatile uint16_t *idx = (volatile uint16_t *)(uintptr_t)(q->base + 0x200 + 2);
    uint64_t start = rdtsc();

    while (*idx == q->used_seen) {
        if (rdtsc() - start > WAIT_CYCLES)
            return false;
        cpu_relax();
    }
    q->used_seen = *idx;
    return true;
}

/* The packet sent each time, in tx buffer 0; its length. */
static uint32_t fill_packet(uint8_t *p)
{
#if defined(STREAM_NET)
    static const uint8_t eth[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52,
                                     0x54, 0x00, 0x0a, 0x0b, 0x0f, 0x88, 0xb5 };

    memset(p, 0, 12 + 60); /* virtio_net_hdr_v1: no offloads */
    memcpy(p + 12, eth, sizeof(eth));
    memcpy(p + 12 + 14, "cellvm respawn bench", 20);
    return 12 + 60;
#else
    uint64_t cid = mmio_read32(device) | (uint64_t)mmio_read32(device + 4) << 32;
    uint32_t w[11] = { 0 };

    /* virtio_vsock_hdr: src_cid, dst_cid (le64 each), src_port, dst_port, len, type|op<<16,
     * flags, buf_alloc, fwd_cnt. */
    w[0] = (uint32_t)cid;
    w[1] = (uint32_t)(cid >> 32);
    w[2] = 2; /* VMADDR_CID_HOST */
    w[4] = 40000;
    w[5] = 40001;
    w[7] = 1u | 3u << 16; /* STREAM, OP_RST */
    memcpy(p, w, 44);
    return 44;
#endif
}

void payload_main(uint32_t start_info)
{
    struct squeue rx, tx;
    uint32_t msix_cap = 0, len;
    uint64_t bar;
    int d;

    (void)start_info;
    serial_init();
    d = find_device();
    if (d < 0)
        payload_fail(NAME, "no such virtio function on bus 0");
    bar = setup_bar(d);
    walk_caps(d, bar, &msix_cap);
    if (!common || !negotiate())
        payload_fail(NAME, "virtio setup failed");
    wr16(common + 0x10, NO_VECTOR); /* no config vector */
    sq_setup(&rx, 0);
    sq_setup(&tx, 1);
    wr8(common + 0x14, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    for (uint16_t i = 0; i < QSIZE; i++)
        sq_post(&rx, i, BUF_SIZE, true);
    sq_kick(&rx, 0);
    len = fill_packet((uint8_t *)(uintptr_t)(tx.base + SQ_BUF));
    payload_say("streaming", "");
    for (;;) {
        sq_post(&tx, 0, len, false);
        sq_kick(&tx, 1);
        if (!sq_wait(&tx))
            payload_fail(NAME, "a transmit request did not complete");
        serial_putc('.');
    }
}
