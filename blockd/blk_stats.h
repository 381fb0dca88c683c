/* Cloud Hypervisor's block counters (vm.counters): completed reads and writes, their bytes and
 * latencies. Each queue owns one struct blk_stats and is its only writer; the control thread
 * reads every queue's at any time and sums them, so fields are accessed atomically (relaxed: a
 * sum may mix two moments of one queue, never a torn value). */
#ifndef CELLVM_BLOCKD_BLK_STATS_H
#define CELLVM_BLOCKD_BLK_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blk_stats_dir {
    uint64_t ops, bytes;
    uint64_t lat_min, lat_max, lat_total; /* microseconds; 0 while ops == 0 */
};

struct blk_stats {
    struct blk_stats_dir rd, wr;
};

/* Called by the owning queue's thread once per request completed with status OK. */
void blk_stats_record(struct blk_stats *s, bool write, uint64_t bytes, uint64_t lat_us);

/* Sums n queues' counters into *out (overwritten): ops, bytes and totals add (saturating), min
 * and max over the queues that completed any request. */
void blk_stats_sum(const struct blk_stats *s, size_t n, struct blk_stats *out);

#endif
