#include "balloond/balloon.h"

#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balloond/balloon_sys.h"

#define LOG_WINDOW_NS (10ull * 1000000000ull)
#define LOG_LINES     10u
/* Pieces a page run may be split into by region boundaries (RAM below and above the hole). */
#define RUN_PIECES 8u

int balloon_init(struct balloon *b, uint64_t size, bool discard)
{
    memset(b, 0, sizeof(*b));
    b->discard = discard;
    b->num_pages = (uint32_t)(size >> BALLOON_PAGE_SHIFT);
    return -pthread_mutex_init(&b->log.lock, NULL);
}

void balloon_destroy(struct balloon *b)
{
    pthread_mutex_destroy(&b->log.lock);
}

static void count(struct balloon *b, enum balloon_ctr c, uint64_t n)
{
    __atomic_fetch_add(&b->ctr[c], n, __ATOMIC_RELAXED);
}

uint64_t balloon_counter(const struct balloon *b, enum balloon_ctr c)
{
    return __atomic_load_n(&b->ctr[c], __ATOMIC_RELAXED);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void balloon_log(struct balloon *b, const char *fmt, ...)
{
    struct balloon_log *l = &b->log;
    uint64_t t = now_ns(), dropped = 0;
    bool print;
    va_list ap;

    pthread_mutex_lock(&l->lock);
    if (t - l->window_ns >= LOG_WINDOW_NS) {
        dropped = l->dropped;
        l->window_ns = t;
        l->lines = 0;
        l->dropped = 0;
    }
    print = l->lines < LOG_LINES;
    if (print)
        l->lines++;
    else
        l->dropped++;
    pthread_mutex_unlock(&l->lock);
    if (dropped)
        fprintf(stderr, "cellvm-balloond: %llu more such messages were not logged\n",
                (unsigned long long)dropped);
    if (!print)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "cellvm-balloond: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

bool balloon_set_target(struct balloon *b, uint64_t size)
{
    uint32_t pages = (uint32_t)(size >> BALLOON_PAGE_SHIFT);
    uint32_t old = __atomic_exchange_n(&b->num_pages, pages, __ATOMIC_RELAXED);

    return old != pages;
}

void balloon_config(const struct balloon *b, uint8_t out[BALLOON_CONFIG_SIZE])
{
    uint32_t np = htole32(__atomic_load_n(&b->num_pages, __ATOMIC_RELAXED));
    uint32_t ac = htole32(__atomic_load_n(&b->actual, __ATOMIC_RELAXED));

    memcpy(out, &np, 4);
    memcpy(out + 4, &ac, 4);
}

int balloon_config_write(struct balloon *b, const uint8_t *buf, uint32_t off, uint32_t len,
                         bool migration, bool *changed)
{
    uint8_t space[BALLOON_CONFIG_SIZE];
    uint32_t np, ac;

    *changed = false;
    if (off >= BALLOON_CONFIG_SIZE || len > BALLOON_CONFIG_SIZE - off || !len)
        return -EINVAL;
    /* num_pages is the host's; the driver writes actual, whole (virtio 1.2, 5.5.6). */
    if (!migration && (off != 4 || len != 4))
        return -EPERM;
    balloon_config(b, space);
    memcpy(space + off, buf, len);
    memcpy(&np, space, 4);
    memcpy(&ac, space + 4, 4);
    if (migration)
        __atomic_store_n(&b->num_pages, le32toh(np), __ATOMIC_RELAXED);
    *changed = __atomic_exchange_n(&b->actual, le32toh(ac), __ATOMIC_RELAXED) != le32toh(ac);
    return 0;
}

size_t balloon_read_pfns(struct balloon *b, const struct virtq_elem *e, uint32_t *pfns, size_t max)
{
    size_t n = 0, extra = 0;
    uint8_t part[4];
    size_t have = 0;

    /* The readable part may be split anywhere (indirect tables, region ends): reassemble. */
    for (uint16_t i = 0; i < e->out_num; i++) {
        const uint8_t *p = e->iov[i].iov_base;
        size_t len = e->iov[i].iov_len;

        for (size_t k = 0; k < len; k++) {
            uint32_t v;

            part[have++] = p[k];
            if (have < 4)
                continue;
            have = 0;
            if (n == max) {
                extra++;
                continue;
            }
            memcpy(&v, part, 4);
            pfns[n++] = le32toh(v);
        }
    }
    if (extra) {
        count(b, BALLOON_C_TOO_MANY, extra);
        balloon_log(b, "a request lists %zu page numbers, %zu more than the %zu taken: skipped",
                    n + extra, extra, max);
    }
    return n;
}

/* Insertion sort: n is at most BALLOON_MAX_PFNS, and glibc's qsort asks sysinfo() for the
 * machine's memory, which the jail does not allow. Nearly sorted input (Linux hands out runs)
 * costs about n steps. */
static void sort_u32(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;

        for (; j && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

size_t balloon_pfn_runs(struct balloon *b, uint32_t *pfns, size_t n, struct balloon_range *out)
{
    size_t runs = 0, dups = 0;

    if (!n)
        return 0;
    sort_u32(pfns, n);
    for (size_t i = 0; i < n; i++) {
        uint64_t gpa = (uint64_t)pfns[i] << BALLOON_PAGE_SHIFT;

        if (i && pfns[i] == pfns[i - 1]) {
            dups++;
            continue;
        }
        if (runs && out[runs - 1].gpa + out[runs - 1].len == gpa) {
            out[runs - 1].len += BALLOON_PAGE_SIZE;
            continue;
        }
        out[runs].gpa = gpa;
        out[runs].len = BALLOON_PAGE_SIZE;
        runs++;
    }
    if (dups) {
        count(b, BALLOON_C_DUP_PFN, dups);
        balloon_log(b, "a request lists %zu page numbers twice: each taken once", dups);
    }
    return runs;
}

/* Punches one host range of one region (p from devmem). */
static void discard_host(struct balloon *b, const struct devmem *m, void *p, uint64_t len)
{
    uint64_t off;
    int fd, r;

    r = devmem_host_file(m, p, len, &fd, &off);
    if (!r)
        r = balloon_sys_punch(fd, off, len);
    if (r) {
        count(b, BALLOON_C_PUNCH_ERRORS, 1);
        balloon_log(b, "cannot discard %llu bytes of guest memory: %s", (unsigned long long)len,
                    strerror(-r));
        return;
    }
    count(b, BALLOON_C_DISCARDED, len);
}

/* A run of pages, all guest memory: punched piece by piece (it may cross regions). */
static bool discarding(const struct balloon *b)
{
    return __atomic_load_n(&b->discard, __ATOMIC_RELAXED);
}

static void discard_run(struct balloon *b, const struct devmem *m, const struct iovec *iov, int n)
{
    if (!discarding(b))
        return;
    for (int i = 0; i < n; i++)
        discard_host(b, m, iov[i].iov_base, iov[i].iov_len);
}

/* Counts (and with punch, discards) every page of the request that is guest memory. */
static void give(struct balloon *b, const struct devmem *m, uint32_t *pfns, size_t n, bool punch,
                 enum balloon_ctr what)
{
    struct balloon_range runs[BALLOON_MAX_PFNS];
    struct iovec iov[RUN_PIECES];

    if (n > BALLOON_MAX_PFNS)
        n = BALLOON_MAX_PFNS; /* balloon_read_pfns never reads more */
    n = balloon_pfn_runs(b, pfns, n, runs);
    for (size_t i = 0; i < n; i++) {
        uint64_t pages = runs[i].len >> BALLOON_PAGE_SHIFT, bad = 0;
        int k = devmem_gpa_iov(m, runs[i].gpa, runs[i].len, iov, RUN_PIECES);

        if (k >= 0) {
            count(b, what, pages);
            if (punch)
                discard_run(b, m, iov, k);
            continue;
        }
        /* Some page of the run is not guest memory: page by page (at most 256 in all). */
        for (uint64_t p = 0; p < pages; p++) {
            void *h = devmem_gpa(m, runs[i].gpa + p * BALLOON_PAGE_SIZE, BALLOON_PAGE_SIZE);

            if (!h) {
                bad++;
                continue;
            }
            count(b, what, 1);
            if (punch && discarding(b))
                discard_host(b, m, h, BALLOON_PAGE_SIZE);
        }
        if (bad) {
            count(b, BALLOON_C_BAD_PFN, bad);
            balloon_log(b, "%llu page(s) from page number 0x%llx are not guest memory: skipped",
                        (unsigned long long)bad,
                        (unsigned long long)(runs[i].gpa >> BALLOON_PAGE_SHIFT));
        }
    }
}

void balloon_inflate(struct balloon *b, const struct devmem *m, uint32_t *pfns, size_t n)
{
    give(b, m, pfns, n, true, BALLOON_C_INFLATED);
}

void balloon_deflate(struct balloon *b, const struct devmem *m, uint32_t *pfns, size_t n)
{
    give(b, m, pfns, n, false, BALLOON_C_DEFLATED);
}

void balloon_report(struct balloon *b, const struct devmem *m, const struct virtq_elem *e)
{
    unsigned total = (unsigned)e->out_num + e->in_num, extra = 0;

    for (unsigned i = 0; i < total; i++) {
        uint8_t *p = e->iov[i].iov_base;
        uint64_t len = e->iov[i].iov_len, off, head;
        int fd;

        if (i >= BALLOON_MAX_RANGES) {
            extra++;
            continue;
        }
        /* Each buffer came out of virtq_pop inside one region; its file must be ours. */
        if (devmem_host_file(m, p, len, &fd, &off) == -EFAULT) {
            count(b, BALLOON_C_BAD_RANGE, 1);
            balloon_log(b, "a reported range is not guest memory: skipped");
            continue;
        }
        count(b, BALLOON_C_REPORTED, len);
        /* Only whole pages of the file go. */
        head = (BALLOON_PAGE_SIZE - (off & (BALLOON_PAGE_SIZE - 1))) & (BALLOON_PAGE_SIZE - 1);
        if (len <= head)
            continue;
        len = (len - head) & ~(BALLOON_PAGE_SIZE - 1);
        if (len && discarding(b))
            discard_host(b, m, p + head, len);
    }
    if (extra) {
        count(b, BALLOON_C_BAD_RANGE, extra);
        balloon_log(b, "a report lists %u ranges, more than %u: the rest skipped", total,
                    BALLOON_MAX_RANGES);
    }
}
