/*
 * blo_hist: how long something took, counted in buckets that double: the
 * first holds durations up to 64 us, the next up to 128 us, and so on to
 * 1.05 s; the last holds the rest. Any thread may add and read (relaxed
 * atomics: a reading may be a few additions behind, never torn).
 *
 * The journal keeps one for its synced commits, which is what an ack waits
 * for, and the broker one for its publishes from read to answer:
 * status.json shows both, so a slow or stalling disk can be told from a
 * slow broker.
 */
#ifndef BLO_HIST_H
#define BLO_HIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_HIST_BUCKETS 16
#define BLO_HIST_FIRST_NS INT64_C(64000) /* upper bound of bucket 0 */

typedef struct {
	_Atomic uint64_t n[BLO_HIST_BUCKETS];
	_Atomic uint64_t sum_ns;
	_Atomic int64_t max_ns;
} blo_hist_t;

/* A reading: bucket counts, their total, and the sum and largest of what
 * was added. */
typedef struct {
	uint64_t n[BLO_HIST_BUCKETS];
	uint64_t count;
	double sum_ms;
	double max_ms;
} blo_hist_snap_t;

/* Counts a duration (negative: as 0). */
void blo_hist_add(blo_hist_t *h, int64_t ns);

void blo_hist_read(const blo_hist_t *h, blo_hist_snap_t *out);

/* The upper bound of bucket i in ms; the last bucket has none: -1. */
double blo_hist_bound_ms(int i);

/* Bucket i's bound as a name: "%.3f" ms ("0.064", ..., "1048.576"), or
 * "+Inf" for the last. Written into buf (16 bytes are enough); returns buf. */
const char *blo_hist_bound_name(int i, char *buf, size_t size);

/* The bucket holding the q-th quantile (0 < q <= 1) of counts n, e.g.
 * 0.99 for p99; -1 when n is all zero. Its bound is an upper bound of that
 * quantile. */
int blo_hist_quantile_bucket(const uint64_t n[BLO_HIST_BUCKETS], double q);

#endif
