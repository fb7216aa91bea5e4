/* blo_hist: durations in buckets that double (see blo_hist.h). */
#include "blo_hist.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>

static int bucket_of(int64_t ns)
{
	int i = 0;

	for (int64_t bound = BLO_HIST_FIRST_NS; ns > bound && i < BLO_HIST_BUCKETS - 1; bound *= 2)
		i++;
	return i;
}

void blo_hist_add(blo_hist_t *h, int64_t ns)
{
	int64_t max;

	assert(h != NULL);
	if (ns < 0)
		ns = 0;
	atomic_fetch_add_explicit(&h->n[bucket_of(ns)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns, memory_order_relaxed);
	max = atomic_load_explicit(&h->max_ns, memory_order_relaxed);
	while (ns > max && !atomic_compare_exchange_weak_explicit(&h->max_ns, &max, ns,
								 memory_order_relaxed,
								 memory_order_relaxed))
		;
}

void blo_hist_read(const blo_hist_t *h, blo_hist_snap_t *out)
{
	assert(h != NULL && out != NULL);
	out->count = 0;
	for (int i = 0; i < BLO_HIST_BUCKETS; i++) {
		out->n[i] = atomic_load_explicit(&h->n[i], memory_order_relaxed);
		out->count += out->n[i];
	}
	out->sum_ms = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e6;
	out->max_ms = (double)atomic_load_explicit(&h->max_ns, memory_order_relaxed) / 1e6;
}

double blo_hist_bound_ms(int i)
{
	if (i < 0 || i >= BLO_HIST_BUCKETS - 1)
		return -1;
	return (double)(BLO_HIST_FIRST_NS << i) / 1e6;
}

const char *blo_hist_bound_name(int i, char *buf, size_t size)
{
	if (blo_hist_bound_ms(i) < 0)
		snprintf(buf, size, "+Inf");
	else
		snprintf(buf, size, "%.3f", blo_hist_bound_ms(i));
	return buf;
}

int blo_hist_quantile_bucket(const uint64_t n[BLO_HIST_BUCKETS], double q)
{
	uint64_t total = 0, seen = 0;
	double want;

	for (int i = 0; i < BLO_HIST_BUCKETS; i++)
		total += n[i];
	if (total == 0)
		return -1;
	/* The rank of the quantile, 1-based: p99 of 100 is the 99th. */
	want = q * (double)total;
	for (int i = 0; i < BLO_HIST_BUCKETS; i++) {
		seen += n[i];
		if ((double)seen >= want)
			return i;
	}
	return BLO_HIST_BUCKETS - 1;
}
