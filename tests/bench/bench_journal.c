/*
 * bench_journal: synced appends per second into a fresh journal for batches
 * of 1, 100 and 1,000 envelopes of 512 bytes with random 16-byte ids (alert
 * ids are hashes), compared at batch 1,000 with the 500,000 alerts/s target;
 * then batch 1,000 again with one ACCEPT audit record per envelope in the
 * same commit, the broker's real load.
 * Usage: bench_journal [seconds per batch size, default 2]
 */
#include "blo_journal.h"

#include <errno.h>
#include <stdbool.h>
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
	double cpu_seconds; /* of this process: the journal's own cost, which
			     * the disk's latency does not blur */
	uint64_t appended;
	uint64_t commits;
	size_t used_bytes;
} run_t;

static double clock_s(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
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
 * `seconds`, with an ACCEPT audit record for each if `audit`. Returns 0, or
 * the failing code. */
static int run_batch(size_t batch, bool audit, double seconds, run_t *run)
{
	static uint8_t data[MAX_BATCH][ENVELOPE_BYTES];
	static uint8_t ids[MAX_BATCH][BLO_JOURNAL_ID_BYTES];
	static blo_journal_entry_t entries[MAX_BATCH];
	static blo_audit_record_t accepts[MAX_BATCH];
	const char *base = getenv("TMPDIR");
	char dir[4096];
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = (size_t)8 << 30};
	blo_journal_stats_t st;
	blo_err_t err = {0};
	uint64_t rng = 42;
	double start, end, cpu_start;
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
	cpu_start = clock_s(CLOCK_PROCESS_CPUTIME_ID);
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
			/* As the broker writes it: seq and alert id come from the
			 * entry at commit. */
			accepts[i] = (blo_audit_record_t){.event = BLO_AUDIT_ACCEPT,
							  .time_ms = t,
							  .principal = "th-customs-mukdahan",
							  .entry_index = (int)i};
		}
		if (audit) {
			blo_journal_batch_t b = {.entries = entries, .n_entries = batch,
						 .audit = accepts, .n_audit = batch};

			rc = blo_journal_commit(j, &b, &err);
		} else {
			rc = blo_journal_append(j, entries, batch, &err);
		}
		if (rc != 0) {
			fprintf(stderr, "append: %s\n", err.msg);
			goto out;
		}
		run->appended += batch;
		run->commits++;
		end = now_s();
	}
	run->seconds = end - start;
	run->cpu_seconds = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
	rc = blo_journal_stats(j, &st);
	if (rc == 0)
		run->used_bytes = st.used_bytes;
out:
	blo_journal_close(&j);
	remove_journal_dir(dir);
	return rc;
}

static void print_run(const char *label, const run_t *run)
{
	double per_s = (double)run->appended / run->seconds;

	printf("%s: %10.0f appends/s  (%llu envelopes, %llu commits in %.2f s, "
	       "%.2f ms/commit of which %.2f ms CPU, %.0f MB/s of envelopes, journal %.0f MB)\n",
	       label, per_s, (unsigned long long)run->appended,
	       (unsigned long long)run->commits, run->seconds,
	       1000.0 * run->seconds / (double)run->commits,
	       1000.0 * run->cpu_seconds / (double)run->commits, per_s * ENVELOPE_BYTES / 1e6,
	       (double)run->used_bytes / 1e6);
}

int main(int argc, char **argv)
{
	static const size_t batches[] = {1, 100, 1000};
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	double per_s_1000 = 0, per_s_audit;
	run_t run;

	if (seconds <= 0) {
		fprintf(stderr, "usage: %s [seconds per batch size]\n", argv[0]);
		return 2;
	}
	printf("journal: synced appends of %d-byte envelopes, random ids, fresh journal per "
	       "batch size, ~%.1f s each\n",
	       ENVELOPE_BYTES, seconds);
	for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
		char label[32];

		if (run_batch(batches[b], false, seconds, &run) != 0)
			return 1;
		snprintf(label, sizeof(label), "batch %4zu", batches[b]);
		print_run(label, &run);
		if (batches[b] == 1000)
			per_s_1000 = (double)run.appended / run.seconds;
	}
	printf("batch 1000 vs target %.0f alerts/s: %.0f/s = %.2fx the target: %s\n", TARGET_PER_S,
	       per_s_1000, per_s_1000 / TARGET_PER_S,
	       per_s_1000 >= TARGET_PER_S ? "target met" : "BELOW TARGET");
	if (run_batch(1000, true, seconds, &run) != 0)
		return 1;
	print_run("batch 1000 + 1000 ACCEPT audit records", &run);
	per_s_audit = (double)run.appended / run.seconds;
	printf("batch 1000 with audit: %.2fx the rate without, %.2fx the target\n",
	       per_s_audit / per_s_1000, per_s_audit / TARGET_PER_S);
	return 0;
}
