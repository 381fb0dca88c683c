/*
 * cellvm-pte-scan PID GPA: for the nested bench's sentinel (l1-lib.sh, l2_sentinel), in L1. A
 * vCPU of the cellvm VM whose core is PID is stuck on a nested page fault while walking the
 * guest's page tables at GPA, an address beyond its RAM (0x1_00xx_xff8 so far: bit 32 set).
 * This says where the bad address came from: it reads the guest RAM through /proc/PID/mem (the
 * core's mapping of the memfd "cellvm-guest-ram", one range from GPA 0) and prints every
 * present 8-byte entry that points at GPA's page, with its page's other present entries, and how
 * many entries point at the same page without bit 32 (the value the entry would have had).
 * None found: the bad address is not in guest memory (the vCPU's CR3, or the walk itself).
 * Exit: 0 when it scanned, 1 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE      4096u
#define ADDR_MASK UINT64_C(0x000ffffffffff000)
#define BIT32     (UINT64_C(1) << 32)
#define MAX_HITS  8

struct ram {
    uint64_t start; /* the core's virtual address of GPA 0 */
    uint64_t size;
};

static int find_ram(int pid, struct ram *r)
{
    char path[64], line[512];
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/maps", pid);
    f = fopen(path, "r");
    if (!f)
        return -errno;
    r->size = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long lo, hi, off;

        if (!strstr(line, "cellvm-guest-ram"))
            continue;
        if (sscanf(line, "%llx-%llx %*s %llx", &lo, &hi, &off) != 3 || off != 0)
            continue;
        if (hi - lo > r->size) { /* the whole RAM, not a device window onto part of it */
            r->start = lo;
            r->size = hi - lo;
        }
    }
    fclose(f);
    return r->size ? 0 : -ENOENT;
}

static void show_page(const uint64_t *pg, uint64_t gpa, unsigned hit)
{
    unsigned present = 0, high = 0;

    for (unsigned i = 0; i < PAGE / 8; i++) {
        if (!(pg[i] & 1))
            continue;
        present++;
        if (pg[i] & BIT32)
            high++;
    }
    printf("pte-scan:   its page 0x%" PRIx64 ": %u present entries, %u with bit 32\n", gpa, present,
           high);
    for (unsigned i = hit >= 2 ? hit - 2 : 0; i < PAGE / 8 && i <= hit + 2; i++)
        printf("pte-scan:     [%3u] 0x%016" PRIx64 "%s\n", i, pg[i], i == hit ? "  <-" : "");
}

int main(int argc, char **argv)
{
    static uint64_t buf[(1u << 20) / 8];
    uint64_t bad, want, plain_want, plain = 0, gpa;
    unsigned hits = 0;
    struct ram ram = { 0, 0 };
    char path[64];
    int pid, fd, r;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PID GPA\n", argv[0]);
        return 1;
    }
    pid = atoi(argv[1]);
    bad = strtoull(argv[2], NULL, 0);
    want = bad & ADDR_MASK;
    plain_want = want & ~BIT32; /* the entry without the stray bit, counted when it differs */
    r = find_ram(pid, &ram);
    if (r) {
        fprintf(stderr, "pte-scan: no guest RAM mapping in /proc/%d/maps: %s\n", pid, strerror(-r));
        return 1;
    }
    snprintf(path, sizeof(path), "/proc/%d/mem", pid);
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "pte-scan: %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("pte-scan: guest RAM %" PRIu64 " MiB; entries pointing at 0x%" PRIx64 ":\n",
           ram.size >> 20, want);
    for (gpa = 0; gpa < ram.size; gpa += sizeof(buf)) {
        size_t len = ram.size - gpa < sizeof(buf) ? (size_t)(ram.size - gpa) : sizeof(buf);
        ssize_t n = pread(fd, buf, len, (off_t)(ram.start + gpa));

        if (n != (ssize_t)len) {
            fprintf(stderr, "pte-scan: read at GPA 0x%" PRIx64 " failed\n", gpa);
            close(fd);
            return 1;
        }
        for (size_t i = 0; i < len / 8; i++) {
            uint64_t v = buf[i];

            if (!(v & 1))
                continue;
            if (plain_want != want && (v & ADDR_MASK) == plain_want)
                plain++;
            if ((v & ADDR_MASK) != want || hits >= MAX_HITS)
                continue;
            hits++;
            printf("pte-scan: GPA 0x%" PRIx64 " holds 0x%016" PRIx64 "\n", gpa + i * 8, v);
            show_page(buf + (i & ~(size_t)(PAGE / 8 - 1)), (gpa + i * 8) & ~(uint64_t)(PAGE - 1),
                      (unsigned)(i % (PAGE / 8)));
        }
    }
    gpa = plain_want;
    if (gpa < ram.size && pread(fd, buf, PAGE, (off_t)(ram.start + gpa)) == (ssize_t)PAGE) {
        unsigned present = 0;

        for (unsigned i = 0; i < PAGE / 8; i++)
            present += buf[i] & 1;
        printf("pte-scan: the page at 0x%" PRIx64 " (bit 32 clear): %u present entries, [511] "
               "0x%016" PRIx64 "\n",
               gpa, present, buf[511]);
    }
    close(fd);
    if (!hits)
        printf("pte-scan: none: the address is not in guest memory (the vCPU's CR3 or the walk)\n");
    printf("pte-scan: %" PRIu64 " present entries point at 0x%" PRIx64 " (bit 32 clear)\n", plain,
           plain_want);
    return 0;
}
