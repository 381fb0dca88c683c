/*
 * cellvm-edu-check: drives QEMU's `edu` PCI device (docs/specs/edu.rst in QEMU) from L2 userspace
 * through sysfs, with no driver bound: the device is passed through from L1 by cellvm's VFIO.
 *
 *   cellvm-edu-check [BDF]         (default: the first function with ids 1234:11e8)
 *   cellvm-edu-check --intx [BDF]  instead of the checks: INTx through uio_pci_generic (bound
 *                                  to the device beforehand, /dev/uioN present): MSI turned off,
 *                                  then twice: unmask (clear INTx-disable), raise an interrupt
 *                                  (0x60), wait for the event count (poll, 2 s), acknowledge it
 *                                  (0x64). The second only arrives when the first was EOId and
 *                                  the host's INTx unmasked again; prints "edu: intx: ..."
 *   cellvm-edu-check --bench N     instead of the checks: the mean time of N reads of a BAR0
 *                                  register (a memslot when the VMM maps the BAR, no exit) and of
 *                                  N 4-byte config-space reads through sysfs (always trapped),
 *                                  printed as "edu-bench: mmio_read_ns X config_read_ns Y"
 *
 * Checks, each printed as "edu: ..." and failing with exit status 1:
 *   ident      BAR0 register 0x00 reads 0x010000ed, and the liveness register inverts
 *   factorial  5! computed by the device
 *   dma        2 KiB of a page of this process (its physical address from /proc/self/pagemap) copied into
 *              the device's buffer and back into a second page, contents compared
 *   msi        the MSI capability programmed by hand (address 0xfee00000, vector 0xdf, which no
 *              Linux driver owns), then an interrupt raised: the guest kernel logs "No irq
 *              handler for vector" for it, which the caller looks for in dmesg
 * Built static for the L2 initramfs (no libc of the guest's).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EDU_IDENT     0x00
#define EDU_LIVE      0x04
#define EDU_FACT      0x08
#define EDU_STATUS    0x20
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK   0x64
#define EDU_DMA_SRC   0x80
#define EDU_DMA_DST   0x88
#define EDU_DMA_CNT   0x90
#define EDU_DMA_CMD   0x98
#define EDU_BUF       0x40000u /* the device's DMA buffer, as a DMA address */
#define MSI_VECTOR    0xdf
/* Less than the whole 4 KiB buffer: QEMU 7.2's edu range check refuses a transfer that ends at
 * the buffer's end (and aborts the whole QEMU with a hardware error). */
#define DMA_LEN 2048

static volatile uint32_t *bar;

static uint32_t rd(uint32_t off)
{
    return bar[off / 4];
}

static void wr(uint32_t off, uint32_t v)
{
    bar[off / 4] = v;
}

static void wr64(uint32_t off, uint64_t v)
{
    wr(off, (uint32_t)v);
    wr(off + 4, (uint32_t)(v >> 32));
}

static void nap(void)
{
    struct timespec ts = { 0, 1000000 };

    nanosleep(&ts, NULL);
}

/* Waits (at most 2 s) until (reg & mask) == 0. */
static int wait_clear(uint32_t reg, uint32_t mask)
{
    for (int i = 0; i < 2000; i++) {
        if (!(rd(reg) & mask))
            return 0;
        nap();
    }
    return -1;
}

static int cfg_rw(const char *dev, int write, off_t off, void *buf, size_t len)
{
    char path[256];
    int fd, r;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", dev);
    fd = open(path, write ? O_WRONLY : O_RDONLY);
    if (fd < 0)
        return -1;
    r = write ? (int)pwrite(fd, buf, len, off) : (int)pread(fd, buf, len, off);
    close(fd);
    return r == (int)len ? 0 : -1;
}

static int find_edu(char *out, size_t len)
{
    FILE *p = popen("for d in /sys/bus/pci/devices/*; do "
                    "[ \"$(cat $d/vendor):$(cat $d/device)\" = 0x1234:0x11e8 ] && "
                    "basename $d && break; done",
                    "r");
    int ok;

    if (!p)
        return -1;
    ok = fgets(out, (int)len, p) != NULL;
    pclose(p);
    if (!ok)
        return -1;
    out[strcspn(out, "\n")] = 0;
    return 0;
}

static uint64_t phys_of(void *va)
{
    uint64_t ent = 0;
    long pg = sysconf(_SC_PAGESIZE);
    int fd = open("/proc/self/pagemap", O_RDONLY);

    if (fd < 0)
        return 0;
    if (pread(fd, &ent, 8, (off_t)((uintptr_t)va / (uintptr_t)pg * 8)) != 8)
        ent = 0;
    close(fd);
    if (!(ent & (1ull << 63)))
        return 0;
    return (ent & ((1ull << 55) - 1)) * (uint64_t)pg;
}

static int dma(uint64_t src, uint64_t dst, uint32_t cnt, uint32_t to_ram)
{
    wr64(EDU_DMA_SRC, src);
    wr64(EDU_DMA_DST, dst);
    wr64(EDU_DMA_CNT, cnt);
    wr(EDU_DMA_CMD, 1u | (to_ram ? 2u : 0u));
    return wait_clear(EDU_DMA_CMD, 1);
}

static int check_dma(void)
{
    uint8_t *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t pa, pb;

    if (a == MAP_FAILED || mlock(a, 8192))
        return printf("edu: dma: cannot lock two pages: %s\n", strerror(errno)), -1;
    for (int i = 0; i < 4096; i++) {
        a[i] = (uint8_t)(i * 7 + 3);
        a[4096 + i] = 0;
    }
    pa = phys_of(a);
    pb = phys_of(a + 4096);
    if (!pa || !pb)
        return printf("edu: dma: no physical address in pagemap\n"), -1;
    if (dma(pa, EDU_BUF, DMA_LEN, 0) || dma(EDU_BUF, pb, DMA_LEN, 1))
        return printf("edu: dma: the transfer did not complete\n"), -1;
    if (memcmp(a, a + 4096, DMA_LEN))
        return printf("edu: dma: the page came back different\n"), -1;
    printf("edu: dma: %d bytes from 0x%llx through the device to 0x%llx, equal\n", DMA_LEN,
           (unsigned long long)pa, (unsigned long long)pb);
    return 0;
}

/* Finds capability `id` in config space; 0 when absent. */
static int find_cap(const char *dev, uint8_t id)
{
    uint8_t cfg[256];

    if (cfg_rw(dev, 0, 0, cfg, sizeof(cfg)))
        return 0;
    if (!(cfg[6] & 0x10))
        return 0;
    for (int at = cfg[0x34] & 0xfc, n = 0; at >= 0x40 && n < 48; at = cfg[at + 1] & 0xfc, n++)
        if (cfg[at] == id)
            return at;
    return 0;
}

static int check_msi(const char *dev)
{
    int at = find_cap(dev, 0x05);
    uint16_t ctrl;
    uint32_t addr = 0xfee00000u;
    uint16_t data = MSI_VECTOR;

    if (!at)
        return printf("edu: msi: no MSI capability in config space\n"), -1;
    if (cfg_rw(dev, 0, at + 2, &ctrl, 2))
        return -1;
    if (cfg_rw(dev, 1, at + 4, &addr, 4))
        return -1;
    if (ctrl & 0x80) { /* 64-bit address */
        uint32_t hi = 0;

        if (cfg_rw(dev, 1, at + 8, &hi, 4) || cfg_rw(dev, 1, at + 12, &data, 2))
            return -1;
    } else if (cfg_rw(dev, 1, at + 8, &data, 2)) {
        return -1;
    }
    ctrl = (uint16_t)((ctrl & ~0x70u) | 1u); /* one vector, enabled */
    if (cfg_rw(dev, 1, at + 2, &ctrl, 2))
        return -1;
    wr(EDU_IRQ_RAISE, 0x5a);
    for (int i = 0; i < 100 && !(rd(EDU_STATUS + 4) & 0x5a); i++)
        nap();
    wr(EDU_IRQ_ACK, 0x5a);
    printf("edu: msi: capability at 0x%x programmed for vector 0x%x, interrupt raised\n", at,
           MSI_VECTOR);
    return 0;
}

/* The /dev/uioN node of dev (bound to uio_pci_generic), opened read-write; -1 when none. */
static int open_uio(const char *dev)
{
    char cmd[320], name[64], path[96];
    FILE *p;
    int ok;

    snprintf(cmd, sizeof(cmd), "ls /sys/bus/pci/devices/%s/uio 2>/dev/null | head -n 1", dev);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    ok = fgets(name, sizeof(name), p) != NULL;
    pclose(p);
    if (!ok)
        return -1;
    name[strcspn(name, "\n")] = 0;
    snprintf(path, sizeof(path), "/dev/%s", name);
    return open(path, O_RDWR);
}

static int check_intx(const char *dev)
{
    int at = find_cap(dev, 0x05), fd = open_uio(dev);
    uint32_t count = 0, last = 0;
    uint16_t ctrl;

    if (fd < 0)
        return printf("edu: intx: no /dev/uioN for %s (uio_pci_generic bound?)\n", dev), -1;
    /* The MSI check leaves MSI on, and edu prefers MSI: off, so INTx is what it raises. */
    if (at && (cfg_rw(dev, 0, at + 2, &ctrl, 2) ||
               (ctrl = (uint16_t)(ctrl & ~1u), cfg_rw(dev, 1, at + 2, &ctrl, 2))))
        return printf("edu: intx: cannot turn MSI off\n"), -1;
    for (int round = 0; round < 2; round++) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        uint16_t cmd;
        int r;

        /* uio_pci_generic masks with INTx-disable at each interrupt and has no irqcontrol:
         * userspace clears the bit in config space (Documentation/driver-api/uio-howto). */
        if (cfg_rw(dev, 0, 4, &cmd, 2) ||
            (cmd = (uint16_t)(cmd & ~0x400u), cfg_rw(dev, 1, 4, &cmd, 2)))
            return printf("edu: intx: cannot clear INTx-disable\n"), -1;
        wr(EDU_IRQ_RAISE, 0x100u << round);
        r = poll(&pfd, 1, 2000);
        if (r <= 0 || read(fd, &count, sizeof(count)) != (ssize_t)sizeof(count)) {
            printf("edu: intx: interrupt %d never arrived (irq status 0x%x)\n", round + 1,
                   rd(EDU_STATUS + 4));
            wr(EDU_IRQ_ACK, rd(EDU_STATUS + 4));
            return -1;
        }
        wr(EDU_IRQ_ACK, 0x100u << round);
        if (round && count == last)
            return printf("edu: intx: event count stuck at %u\n", count), -1;
        last = count;
    }
    close(fd);
    printf("edu: intx: two interrupts through INTx (uio event count %u)\n", count);
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench(const char *dev, long n)
{
    char path[256];
    volatile uint32_t sink = 0;
    uint64_t t0, t1, t2;
    uint32_t v;
    int fd;

    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", dev);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return printf("edu-bench: open %s: %s\n", path, strerror(errno)), 1;
    t0 = now_ns();
    for (long i = 0; i < n; i++)
        sink += rd(EDU_IDENT);
    t1 = now_ns();
    for (long i = 0; i < n; i++) {
        if (pread(fd, &v, 4, 0) != 4)
            return printf("edu-bench: config read failed\n"), 1;
        sink += v;
    }
    t2 = now_ns();
    close(fd);
    printf("edu-bench: mmio_read_ns %llu config_read_ns %llu (%ld reads each)\n",
           (unsigned long long)((t1 - t0) / (uint64_t)n),
           (unsigned long long)((t2 - t1) / (uint64_t)n), n);
    return 0;
}

int main(int argc, char **argv)
{
    long nbench = 0;
    int intx = 0;
    char dev[64];
    char path[256];
    uint16_t cmd;
    uint32_t f;
    int fd;

    if (argc > 1 && !strcmp(argv[1], "--intx")) {
        intx = 1;
        argc--;
        argv++;
    } else if (argc > 2 && !strcmp(argv[1], "--bench")) {
        nbench = strtol(argv[2], NULL, 10);
        if (nbench <= 0 || nbench > 100000000)
            return printf("edu: --bench needs a count from 1 to 1e8\n"), 2;
        argc -= 2;
        argv += 2;
    }
    if (argc > 1)
        snprintf(dev, sizeof(dev), "%s", argv[1]);
    else if (find_edu(dev, sizeof(dev)))
        return printf("edu: no edu device (1234:11e8) in /sys/bus/pci/devices\n"), 1;
    /* memory decoding and bus mastering: no driver does it for us */
    if (cfg_rw(dev, 0, 4, &cmd, 2))
        return printf("edu: cannot read %s's config space\n", dev), 1;
    cmd |= 0x6;
    if (cfg_rw(dev, 1, 4, &cmd, 2))
        return printf("edu: cannot write %s's command register\n", dev), 1;
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", dev);
    fd = open(path, O_RDWR | O_SYNC);
    if (fd < 0)
        return printf("edu: open %s: %s\n", path, strerror(errno)), 1;
    bar = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (bar == MAP_FAILED)
        return printf("edu: mmap %s: %s\n", path, strerror(errno)), 1;
    if (rd(EDU_IDENT) != 0x010000ed)
        return printf("edu: ident 0x%08x, want 0x010000ed\n", rd(EDU_IDENT)), 1;
    wr(EDU_LIVE, 0x12345678);
    if (rd(EDU_LIVE) != ~0x12345678u)
        return printf("edu: liveness 0x%08x, want 0x%08x\n", rd(EDU_LIVE), ~0x12345678u), 1;
    if (nbench)
        return bench(dev, nbench);
    if (intx)
        return check_intx(dev) ? 1 : 0;
    printf("edu: %s ident 0x010000ed, liveness ok\n", dev);
    wr(EDU_FACT, 5);
    if (wait_clear(EDU_STATUS, 1) || (f = rd(EDU_FACT)) != 120)
        return printf("edu: factorial of 5 gave %u\n", rd(EDU_FACT)), 1;
    printf("edu: factorial 5! = %u\n", f);
    if (check_dma() || check_msi(dev))
        return 1;
    return 0;
}
