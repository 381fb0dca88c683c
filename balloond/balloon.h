#ifndef CELLVM_BALLOOND_BALLOON_H
#define CELLVM_BALLOOND_BALLOON_H

/*
 * The virtio-balloon device model (virtio 1.2, 5.5) without threads or sockets, so the unit
 * tests drive it with a real memfd behind a devmem table:
 *
 *   - config space: le32 num_pages (the target the host sets), le32 actual (what the driver
 *     says the balloon holds; the only field it writes);
 *   - inflate queue: arrays of le32 4 KiB page frame numbers the driver gives up; each valid
 *     page is punched out of the guest memory file (balloon_sys.h), runs of adjacent pages in
 *     one call;
 *   - deflate queue: the pages it takes back; nothing to do on the host (a punched page faults
 *     in as zeroes), they are only counted;
 *   - free page reporting queue (VIRTIO_BALLOON_F_REPORTING): device-writable buffers that are
 *     the free ranges themselves; each is punched, its 4 KiB-aligned inside only.
 *
 * Everything the guest sends is checked: a page outside guest memory, a page listed twice in
 * one request, more than BALLOON_MAX_PFNS pages in one request, a range that is not guest
 * memory are skipped and counted, with a rate-limited log line (balloon_log). Nothing is
 * punched while discard is off (a VFIO device pins guest memory for DMA: a punched page would
 * be replaced under the device, as QEMU disables discard with VFIO).
 *
 * Thread safety: the queue threads call balloon_inflate/deflate/report concurrently (counters
 * and the log are atomic or locked); the config is read and written on the control loop.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device-procs/devmem.h"
#include "device-procs/virtq.h"

#define BALLOON_PAGE_SHIFT  12
#define BALLOON_PAGE_SIZE   (1ull << BALLOON_PAGE_SHIFT)
#define BALLOON_CONFIG_SIZE 8 /* num_pages, actual */
/* Linux sends at most 256 page numbers per request (VIRTIO_BALLOON_ARRAY_PFNS_MAX), Cloud
   Hypervisor takes 1 KiB per descriptor: beyond this a request's page numbers are skipped. */
#define BALLOON_MAX_PFNS 256u
/* Free ranges per reporting request: Linux reports at most 32 (PAGE_REPORTING_CAPACITY). */
#define BALLOON_MAX_RANGES              64u

#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_REPORTING      5

enum balloon_queue { BALLOON_Q_INFLATE, BALLOON_Q_DEFLATE, BALLOON_Q_REPORTING };

enum balloon_ctr {
    BALLOON_C_INFLATED,     /* valid pages the driver put in the balloon */
    BALLOON_C_DEFLATED,     /* valid pages it took back */
    BALLOON_C_REPORTED,     /* bytes of free ranges reported */
    BALLOON_C_DISCARDED,    /* bytes punched out of guest memory */
    BALLOON_C_BAD_PFN,      /* page numbers outside guest memory */
    BALLOON_C_DUP_PFN,      /* page numbers listed twice in one request */
    BALLOON_C_TOO_MANY,     /* page numbers beyond BALLOON_MAX_PFNS in one request */
    BALLOON_C_BAD_RANGE,    /* reported ranges (or buffers) that are not guest memory */
    BALLOON_C_PUNCH_ERRORS, /* fallocate failures (a hugetlbfs file takes no 4 KiB punch) */
    BALLOON_C_COUNT,
};

struct balloon_log {
    pthread_mutex_t lock;
    uint64_t window_ns; /* start of the current window */
    unsigned lines;     /* logged in this window */
    uint64_t dropped;   /* not logged in this window */
};

struct balloon {
    bool discard;       /* punch given-back pages; off while VFIO is attached (atomic: the control
                     loop may turn it off while queue threads run) */
    uint32_t num_pages; /* target; written on the control loop */
    uint32_t actual;    /* the driver's last write */
    uint64_t ctr[BALLOON_C_COUNT];
    struct balloon_log log;
};

/* One page run: [gpa, gpa + len). */
struct balloon_range {
    uint64_t gpa, len;
};

int balloon_init(struct balloon *b, uint64_t size, bool discard);
void balloon_destroy(struct balloon *b);

/* Sets the target (bytes, rounded down to pages); true when num_pages changed. */
bool balloon_set_target(struct balloon *b, uint64_t size);
/* The config space as the driver reads it (little endian), BALLOON_CONFIG_SIZE bytes. */
void balloon_config(const struct balloon *b, uint8_t out[BALLOON_CONFIG_SIZE]);
/*
 * A config write. The driver may write `actual` only (offset 4, 4 bytes; -EPERM otherwise);
 * migration may restore both fields. *changed tells whether actual moved. 0 or -errno.
 */
int balloon_config_write(struct balloon *b, const uint8_t *buf, uint32_t off, uint32_t len,
                         bool migration, bool *changed);

/*
 * The page numbers of one inflate/deflate request: the element's readable part read as le32s,
 * at most max (the rest is counted as BALLOON_C_TOO_MANY), a trailing partial entry ignored.
 * Returns how many were read.
 */
size_t balloon_read_pfns(struct balloon *b, const struct virtq_elem *e, uint32_t *pfns, size_t max);

/*
 * Sorts pfns, drops duplicates (counted) and merges adjacent pages into runs. Returns the
 * number of runs written to out (room for n). pfns is reordered.
 */
size_t balloon_pfn_runs(struct balloon *b, uint32_t *pfns, size_t n, struct balloon_range *out);

/* One inflate request: every valid page counted and, with discard, punched. */
void balloon_inflate(struct balloon *b, const struct devmem *m, uint32_t *pfns, size_t n);
/* One deflate request: every valid page counted (nothing to give back on the host). */
void balloon_deflate(struct balloon *b, const struct devmem *m, uint32_t *pfns, size_t n);
/* One reporting request: each buffer of the element (readable or writable) is a free range. */
void balloon_report(struct balloon *b, const struct devmem *m, const struct virtq_elem *e);

uint64_t balloon_counter(const struct balloon *b, enum balloon_ctr c);

/* A rate-limited log line: at most 10 every 10 s, then a count of what was left out. */
__attribute__((format(printf, 2, 3))) void balloon_log(struct balloon *b, const char *fmt, ...);

#endif
