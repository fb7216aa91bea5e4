/*
 * bench_journal: synced appends per second into a fresh journal for batches
 * of 1, 100 and 1,000 envelopes of 512 bytes with random 16-byte ids (alert
 * ids are hashes), compared at batch 1,000 with the 500,000 alerts/s target.
 * Usage: bench_journal [seconds per batch size, default 2]
 */
#include "blo_journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ENVELOPE_BYTES 512
#define MAX_BATCH 1000
#define TARGET_PER_S 500000.0

typedef struct {
	double seconds;
	uint64_t appended;
	uint64_t commits;
	size_t used_bytes;
} run_t;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Removes the journal folder made by run_batch: LMDB's two files, then it. */
static void remove_journal_dir(const char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	char path[4096];

	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			fprintf(stderr, "warning: could not remove %s\n", path);
	}
	if (rmdir(dir) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* Appends batches of `batch` envelopes into a fresh journal for about
 * `seconds`. Returns 0, or the failing code. */
static int run_batch(size_t batch, double seconds, run_t *run)
{
	static uint8_t data[MAX_BATCH][ENVELOPE_BYTES];
	static uint8_t ids[MAX_BATCH][BLO_JOURNAL_ID_BYTES];
	static blo_journal_entry_t entries[MAX_BATCH];
	const char *base = getenv("TMPDIR");
	char dir[4096];
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = (size_t)8 << 30};
	blo_journal_stats_t st;
	blo_err_t err = {0};
	uint64_t rng = 42;
	double start, end;
	int rc;

	memset(run, 0, sizeof(*run));
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	snprintf(dir, sizeof(dir), "%s/blonet-bench-XXXXXX", base);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	rc = blo_journal_open(&j, dir, &opts, &err);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	for (size_t i = 0; i < batch; i++) {
		for (size_t k = 0; k < ENVELOPE_BYTES; k += 8) {
			uint64_t r = splitmix64(&rng);

			memcpy(&data[i][k], &r, 8);
		}
	}
	start = now_s();
	end = start;
	while (end - start < seconds) {
		int64_t t = (int64_t)(end * 1000);

		for (size_t i = 0; i < batch; i++) {
			uint64_t a = splitmix64(&rng), b = splitmix64(&rng);

			memcpy(ids[i], &a, 8);
			memcpy(ids[i] + 8, &b, 8);
			memcpy(data[i], &a, 8); /* every envelope differs */
			entries[i] = (blo_journal_entry_t){
				.id = ids[i], .data = data[i], .len = ENVELOPE_BYTES, .time_ms = t};
		}
		rc = blo_journal_append(j, entries, batch, &err);
		if (rc != 0) {
			fprintf(stderr, "append: %s\n", err.msg);
			goto out;
		}
		run->appended += batch;
		run->commits++;
		end = now_s();
	}
	run->seconds = end - start;
	rc = blo_journal_stats(j, &st);
	if (rc == 0)
		run->used_bytes = st.used_bytes;
out:
	blo_journal_close(&j);
	remove_journal_dir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	static const size_t batches[] = {1, 100, 1000};
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	double per_s_1000 = 0;

	if (seconds <= 0) {
		fprintf(stderr, "usage: %s [seconds per batch size]\n", argv[0]);
		return 2;
	}
	printf("journal: synced appends of %d-byte envelopes, random ids, fresh journal per "
	       "batch size, ~%.1f s each\n",
	       ENVELOPE_BYTES, seconds);
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		run_t run;
		double per_s;

		if (run_batch(batches[b], seconds, &run) != 0)
			return 1;
		per_s = (double)run.appended / run.seconds;
		printf("batch %4zu: %10.0f appends/s  (%llu envelopes, %llu commits in %.2f s, "
		       "%.2f ms/commit, %.0f MB/s of envelopes, journal %.0f MB)\n",
		       batches[b], per_s, (unsigned long long)run.appended,
		       (unsigned long long)run.commits, run.seconds,
		       1000.0 * run.seconds / (double)run.commits,
		       per_s * ENVELOPE_BYTES / 1e6, (double)run.used_bytes / 1e6);
		if (batches[b] == 1000)
			per_s_1000 = per_s;
	}
	printf("batch 1000 vs target %.0f alerts/s: %.0f/s = %.2fx the target: %s\n", TARGET_PER_S,
	       per_s_1000, per_s_1000 / TARGET_PER_S,
	       per_s_1000 >= TARGET_PER_S ? "target met" : "BELOW TARGET");
	return 0;
}
