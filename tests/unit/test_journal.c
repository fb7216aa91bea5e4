/*
 * Unit tests of blo_journal: append and read back, sequence numbers,
 * duplicates and the id index, scans, time lookup, cursors, retention, a
 * full map, readers in other threads, a writer killed with SIGKILL, a
 * reader killed with SIGKILL (its stale slot cleared), and
 * batches that commit entries, cursors and audit records together (the
 * audit log itself is tested in test_audit.c).
 * Each test works in its own temporary folder.
 */
#include "blo_test.h"
#include "journal_test.h"

#include <cJSON.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID BLO_JOURNAL_ID_BYTES

/* A batch of entries for numbers first..first+count-1, with time_ms = n. */
typedef struct {
	blo_journal_entry_t *entries;
	uint8_t (*ids)[ID];
	uint8_t **data;
	size_t n;
} batch_t;

static void batch_make(batch_t *b, uint64_t first, size_t count)
{
	b->n = count;
	b->entries = calloc(count, sizeof(*b->entries));
	b->ids = calloc(count, ID);
	b->data = calloc(count, sizeof(*b->data));
	assert_non_null(b->entries);
	assert_non_null(b->ids);
	assert_non_null(b->data);
	for (size_t i = 0; i < count; i++) {
		uint64_t n = first + i;
		size_t len = len_of(n);

		id_of(n, b->ids[i]);
		b->data[i] = malloc(len);
		assert_non_null(b->data[i]);
		data_of(n, b->data[i], len);
		b->entries[i].id = b->ids[i];
		b->entries[i].data = b->data[i];
		b->entries[i].len = len;
		b->entries[i].time_ms = (int64_t)n;
	}
}

static void batch_free(batch_t *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->data[i]);
	free(b->data);
	free(b->ids);
	free(b->entries);
	memset(b, 0, sizeof(*b));
}

/* Appends numbers first..first+count-1 in one batch; all must be stored. */
static void append_range(blo_journal_t *j, uint64_t first, size_t count)
{
	batch_t b;
	blo_err_t err = {0};
	int rc;

	batch_make(&b, first, count);
	rc = blo_journal_append(j, b.entries, b.n, &err);
	if (rc != 0)
		fail_msg("append: %s", err.msg);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(b.entries[i].result, 0);
	batch_free(&b);
}

/* ---------------------------------------------------------------- open */

static void test_open_new_journal_is_empty(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_stats_t st;

	(void)state;
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.first_seq, 0);
	assert_int_equal(st.last_seq, 0);
	assert_int_equal(st.count, 0);
	assert_int_equal(st.map_size, (size_t)1 << 30);
	assert_true(st.used_bytes > 0 && st.used_bytes < st.map_size);
	blo_journal_close(&j);
	assert_null(j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_open_missing_folder_fails_with_its_name(void **state)
{
	char *dir = blo_test_mkdtemp();
	char *missing = NULL;
	blo_journal_t *j = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_true(asprintf(&missing, "%s/no-such-folder", dir) > 0);
	assert_int_equal(blo_journal_open(&j, missing, NULL, &err), -ENOENT);
	assert_null(j);
	assert_non_null(strstr(err.msg, missing));
	free(missing);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_close_null_does_nothing(void **state)
{
	blo_journal_t *j = NULL;

	(void)state;
	blo_journal_close(&j);
	blo_journal_close(NULL);
	assert_null(j);
}

/* ---------------------------------------------------------------- append */

static void test_append_then_get_returns_bytes_time_and_id(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_err_t err = {0};

	(void)state;
	batch_make(&b, 100, 3);
	E(blo_journal_append(j, b.entries, b.n, &err));
	for (size_t i = 0; i < b.n; i++) {
		assert_int_equal(b.entries[i].result, 0);
		assert_int_equal(b.entries[i].seq, i + 1);
		assert_record_is(j, i + 1, 100 + i);
	}
	batch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_get_optional_outputs_may_be_null(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t *data = NULL;
	size_t len = 0;

	(void)state;
	append_range(j, 7, 1);
	E(blo_journal_get(j, 1, &data, &len, NULL, NULL));
	assert_int_equal(len, len_of(7));
	free(data);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_append_empty_and_large_envelopes_round_trip(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	size_t big_len = 300 * 1000; /* spans LMDB overflow pages */
	uint8_t *big = malloc(big_len);
	uint8_t ids[2][ID];
	blo_journal_entry_t e[2] = {0};
	uint8_t *data = NULL;
	size_t len = 99;

	(void)state;
	assert_non_null(big);
	data_of(5, big, big_len);
	id_of(1, ids[0]);
	id_of(2, ids[1]);
	e[0] = (blo_journal_entry_t){.id = ids[0], .data = NULL, .len = 0, .time_ms = 1};
	e[1] = (blo_journal_entry_t){.id = ids[1], .data = big, .len = big_len, .time_ms = 2};
	E(blo_journal_append(j, e, 2, NULL));
	E(blo_journal_get(j, 1, &data, &len, NULL, NULL));
	assert_non_null(data);
	assert_int_equal(len, 0);
	free(data);
	E(blo_journal_get(j, 2, &data, &len, NULL, NULL));
	assert_int_equal(len, big_len);
	assert_memory_equal(data, big, big_len);
	free(data);
	free(big);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_append_empty_batch_does_nothing(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_stats_t st;

	(void)state;
	E(blo_journal_append(j, NULL, 0, NULL));
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_every_commit_is_timed(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_hist_snap_t before, after;

	(void)state;
	blo_journal_commit_times(j, &before);
	append_range(j, 1, 10);
	append_range(j, 11, 10);
	append_range(j, 21, 10);
	E(blo_journal_append(j, NULL, 0, NULL)); /* nothing to commit */
	blo_journal_commit_times(j, &after);
	assert_int_equal(after.count - before.count, 3);
	/* A synced commit takes some time, and the slowest is among them. */
	assert_true(after.sum_ms > before.sum_ms);
	assert_true(after.max_ms > 0 && after.max_ms <= after.sum_ms);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_get_unknown_seq_is_not_found(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t *data = (uint8_t *)"x";
	size_t len = 1;

	(void)state;
	assert_int_equal(blo_journal_get(j, 1, &data, &len, NULL, NULL), BLO_ENOTFOUND);
	assert_null(data);
	assert_int_equal(len, 0);
	append_range(j, 1, 2);
	assert_int_equal(blo_journal_get(j, 0, &data, &len, NULL, NULL), BLO_ENOTFOUND);
	assert_int_equal(blo_journal_get(j, 3, &data, &len, NULL, NULL), BLO_ENOTFOUND);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_sequence_is_monotonic_across_batches(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint64_t next = 1;

	(void)state;
	for (size_t batch = 1; batch <= 5; batch++) {
		batch_t b;

		batch_make(&b, next * 10, batch);
		E(blo_journal_append(j, b.entries, b.n, NULL));
		for (size_t i = 0; i < b.n; i++)
			assert_int_equal(b.entries[i].seq, next++);
		batch_free(&b);
	}
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_sequence_continues_after_reopen(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_journal_stats_t st;

	(void)state;
	append_range(j, 1, 4);
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 0);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.first_seq, 1);
	assert_int_equal(st.last_seq, 4);
	assert_int_equal(st.count, 4);
	batch_make(&b, 5, 2);
	E(blo_journal_append(j, b.entries, b.n, NULL));
	assert_int_equal(b.entries[0].seq, 5);
	assert_int_equal(b.entries[1].seq, 6);
	batch_free(&b);
	assert_record_is(j, 2, 2);
	assert_record_is(j, 6, 6);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_append_duplicate_id_in_later_batch_is_not_stored_twice(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_journal_stats_t st;

	(void)state;
	append_range(j, 1, 3); /* seqs 1..3 */
	batch_make(&b, 2, 3); /* numbers 2, 3 again and a new 4 */
	E(blo_journal_append(j, b.entries, b.n, NULL));
	assert_int_equal(b.entries[0].result, BLO_EDUPLICATE);
	assert_int_equal(b.entries[0].seq, 2);
	assert_int_equal(b.entries[1].result, BLO_EDUPLICATE);
	assert_int_equal(b.entries[1].seq, 3);
	assert_int_equal(b.entries[2].result, 0);
	assert_int_equal(b.entries[2].seq, 4); /* duplicates take no sequence */
	batch_free(&b);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 4);
	assert_int_equal(st.last_seq, 4);
	assert_record_is(j, 4, 4);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_append_duplicate_id_within_batch_is_not_stored_twice(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_journal_stats_t st;

	(void)state;
	batch_make(&b, 1, 4);
	b.entries[2].id = b.ids[0]; /* the third repeats the first's id */
	E(blo_journal_append(j, b.entries, b.n, NULL));
	assert_int_equal(b.entries[0].result, 0);
	assert_int_equal(b.entries[0].seq, 1);
	assert_int_equal(b.entries[1].seq, 2);
	assert_int_equal(b.entries[2].result, BLO_EDUPLICATE);
	assert_int_equal(b.entries[2].seq, 1);
	assert_int_equal(b.entries[3].result, 0);
	assert_int_equal(b.entries[3].seq, 3);
	batch_free(&b);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 3);
	assert_record_is(j, 1, 1); /* the first copy is the one kept */
	assert_record_is(j, 3, 4);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* blo_journal_entry_t.same for the tests: the stored envelope is "the same
 * alert" when its first byte equals first, unless cannot_tell (a BLO_*
 * error) is set; it records what it was shown. */
typedef struct {
	uint8_t first;
	int cannot_tell;
	size_t calls;
	size_t last_len;
} same_probe_t;

static int same_first_byte(const uint8_t *stored, size_t stored_len, void *arg)
{
	same_probe_t *p = arg;

	p->calls++;
	p->last_len = stored_len;
	if (p->cannot_tell != 0)
		return p->cannot_tell;
	return stored_len > 0 && stored[0] == p->first;
}

/* A stored id met again is a duplicate only if `same` says it is the same
 * alert; otherwise a conflict: nothing stored, no sequence, and the stored
 * record untouched. Within a batch too. */
static void test_same_id_of_another_alert_is_a_conflict(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_journal_stats_t st;
	same_probe_t yes, no;

	(void)state;
	append_range(j, 1, 2);
	batch_make(&b, 1, 4); /* ids 1, 2 stored; 3, 4 new */
	yes = (same_probe_t){.first = b.data[0][0]};
	no = (same_probe_t){.first = (uint8_t)(b.data[1][0] + 1)};
	b.entries[0].same = same_first_byte;
	b.entries[0].same_arg = &yes;
	b.entries[1].same = same_first_byte;
	b.entries[1].same_arg = &no;
	b.entries[3].id = b.ids[2]; /* repeats the third's id in the batch */
	b.entries[3].same = same_first_byte;
	b.entries[3].same_arg = &no;
	E(blo_journal_append(j, b.entries, b.n, NULL));
	assert_int_equal(b.entries[0].result, BLO_EDUPLICATE);
	assert_int_equal(b.entries[0].seq, 1);
	assert_int_equal(yes.calls, 1);
	assert_int_equal(yes.last_len, len_of(1));
	assert_int_equal(b.entries[1].result, BLO_ECONFLICT);
	assert_int_equal(b.entries[1].seq, 0);
	assert_int_equal(b.entries[2].result, 0);
	assert_int_equal(b.entries[2].seq, 3);
	assert_int_equal(b.entries[3].result, BLO_ECONFLICT);
	assert_int_equal(b.entries[3].seq, 0);
	assert_int_equal(no.calls, 2);
	batch_free(&b);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 3);
	assert_record_is(j, 2, 2);
	assert_record_is(j, 3, 3);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_duplicate_id_is_detected_after_reopen(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;

	(void)state;
	append_range(j, 1, 5);
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 0);
	batch_make(&b, 3, 4); /* 3, 4, 5 stored before; 6 new */
	E(blo_journal_append(j, b.entries, b.n, NULL));
	assert_int_equal(b.entries[0].result, BLO_EDUPLICATE);
	assert_int_equal(b.entries[0].seq, 3);
	assert_int_equal(b.entries[2].result, BLO_EDUPLICATE);
	assert_int_equal(b.entries[2].seq, 5);
	assert_int_equal(b.entries[3].result, 0);
	assert_int_equal(b.entries[3].seq, 6);
	batch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* A copy of the journal's private id fingerprint, to build ids that share
 * one. If the journal changes its fingerprint the test still passes, but
 * no longer forces a collision. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void test_ids_with_equal_fingerprints_are_told_apart(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t ids[3][ID];
	uint8_t data[1] = {0};
	blo_journal_entry_t e[4];
	uint64_t seq = 0;

	(void)state;
	/* fingerprint(id) = mix64(a ^ mix64(b)) for id = a || b: pick a for
	 * each b so that all three share one fingerprint. */
	for (uint64_t i = 0; i < 3; i++) {
		uint64_t b = 1000 + i;
		uint64_t a = 0x1234 ^ mix64(b);

		memcpy(ids[i], &a, 8);
		memcpy(ids[i] + 8, &b, 8);
	}
	for (size_t i = 0; i < 3; i++)
		e[i] = (blo_journal_entry_t){.id = ids[i], .data = data, .len = 1, .time_ms = 1};
	e[3] = e[1]; /* a true duplicate among the look-alikes */
	E(blo_journal_append(j, e, 4, NULL));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(e[i].result, 0);
		assert_int_equal(e[i].seq, i + 1);
	}
	assert_int_equal(e[3].result, BLO_EDUPLICATE);
	assert_int_equal(e[3].seq, 2);
	E(blo_journal_purge(j, 0, 2, NULL, NULL)); /* the first goes */
	assert_int_equal(blo_journal_find_id(j, ids[0], &seq), BLO_ENOTFOUND);
	E(blo_journal_find_id(j, ids[1], &seq));
	assert_int_equal(seq, 2);
	E(blo_journal_find_id(j, ids[2], &seq));
	assert_int_equal(seq, 3);
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 0);
	E(blo_journal_find_id(j, ids[2], &seq));
	assert_int_equal(seq, 3);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* Every number up to last: found at seq == number if above purged_to,
 * not found otherwise. */
static void assert_ids_indexed(blo_journal_t *j, uint64_t purged_to, uint64_t last)
{
	uint8_t id[ID];
	uint64_t seq = 0;

	for (uint64_t n = 1; n <= last; n++) {
		int rc;

		id_of(n, id);
		rc = blo_journal_find_id(j, id, &seq);
		if (n <= purged_to && rc != BLO_ENOTFOUND)
			fail_msg("id %llu: purged but found (%d)", (unsigned long long)n, rc);
		if (n > purged_to && (rc != 0 || seq != n))
			fail_msg("id %llu: rc %d seq %llu", (unsigned long long)n, rc,
				 (unsigned long long)seq);
	}
}

static void test_id_index_survives_growth_purges_and_reopen(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint64_t purged = 0;

	(void)state;
	/* 30,000 ids grow the index many times over; purges in between take
	 * slots out of the middle of probe runs. */
	for (uint64_t n = 1; n <= 30000; n += 2000) {
		append_range(j, n, 2000);
		if (n == 12001)
			E(blo_journal_purge(j, 0, 9000, &purged, NULL));
	}
	assert_int_equal(purged, 14000 - 9000);
	assert_ids_indexed(j, 5000, 30000);
	E(blo_journal_purge(j, 17000, 0, &purged, NULL)); /* time_ms == n */
	assert_int_equal(purged, 17000 - 5001);
	assert_ids_indexed(j, 16999, 30000);
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 0);
	assert_ids_indexed(j, 16999, 30000);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- scan */

typedef struct {
	uint64_t seqs[64];
	size_t n;
	size_t stop_after; /* 0: never stop */
} scan_log_t;

static int scan_record(const blo_journal_record_t *rec, void *arg)
{
	scan_log_t *log = arg;
	uint8_t want_id[ID];

	/* Records of these tests hold number == time_ms. */
	id_of((uint64_t)rec->time_ms, want_id);
	assert_memory_equal(rec->id, want_id, ID);
	assert_int_equal(rec->len, len_of((uint64_t)rec->time_ms));
	assert_true(log->n < 64);
	log->seqs[log->n++] = rec->seq;
	if (log->stop_after != 0 && log->n == log->stop_after)
		return 42;
	return 0;
}

static void test_scan_from_seq_visits_records_in_order_up_to_max(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	scan_log_t log = {0};

	(void)state;
	append_range(j, 1, 10);
	append_range(j, 11, 10);
	E(blo_journal_scan(j, 5, 0, scan_record, &log));
	assert_int_equal(log.n, 16);
	for (size_t i = 0; i < log.n; i++)
		assert_int_equal(log.seqs[i], 5 + i);

	memset(&log, 0, sizeof(log));
	E(blo_journal_scan(j, 8, 4, scan_record, &log));
	assert_int_equal(log.n, 4);
	assert_int_equal(log.seqs[0], 8);
	assert_int_equal(log.seqs[3], 11);

	memset(&log, 0, sizeof(log));
	E(blo_journal_scan(j, 0, 0, scan_record, &log)); /* 0: from the first */
	assert_int_equal(log.n, 20);
	assert_int_equal(log.seqs[0], 1);

	memset(&log, 0, sizeof(log));
	E(blo_journal_scan(j, 21, 0, scan_record, &log)); /* past the end */
	assert_int_equal(log.n, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_scan_stops_early_and_returns_callback_value(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	scan_log_t log = {.stop_after = 3};

	(void)state;
	append_range(j, 1, 10);
	assert_int_equal(blo_journal_scan(j, 2, 0, scan_record, &log), 42);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.seqs[2], 4);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- lookups */

static void test_find_id_returns_seq_or_not_found(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	uint8_t id[ID];
	uint64_t seq = 0;

	(void)state;
	append_range(j, 50, 5);
	id_of(53, id);
	E(blo_journal_find_id(j, id, &seq));
	assert_int_equal(seq, 4);
	id_of(99, id);
	assert_int_equal(blo_journal_find_id(j, id, &seq), BLO_ENOTFOUND);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* Appends one record per time in times[0..n); its number is its index
 * offset by base, so ids differ. */
static void append_at_times(blo_journal_t *j, uint64_t base, const int64_t *times, size_t n)
{
	batch_t b;

	batch_make(&b, base, n);
	for (size_t i = 0; i < n; i++)
		b.entries[i].time_ms = times[i];
	E(blo_journal_append(j, b.entries, b.n, NULL));
	batch_free(&b);
}

static void test_seq_at_time_finds_first_record_at_or_after_time(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	const int64_t times[] = {100, 200, 200, 300, 400, 400, 400, 500}; /* seqs 1..8 */
	uint64_t seq = 0;

	(void)state;
	E(blo_journal_seq_at_time(j, 100, &seq));
	assert_int_equal(seq, 1); /* empty: last_seq + 1 */
	append_at_times(j, 1000, times, 8);
	E(blo_journal_seq_at_time(j, -5, &seq));
	assert_int_equal(seq, 1);
	E(blo_journal_seq_at_time(j, 100, &seq));
	assert_int_equal(seq, 1);
	E(blo_journal_seq_at_time(j, 150, &seq));
	assert_int_equal(seq, 2);
	E(blo_journal_seq_at_time(j, 200, &seq));
	assert_int_equal(seq, 2);
	E(blo_journal_seq_at_time(j, 201, &seq));
	assert_int_equal(seq, 4);
	E(blo_journal_seq_at_time(j, 400, &seq));
	assert_int_equal(seq, 5);
	E(blo_journal_seq_at_time(j, 500, &seq));
	assert_int_equal(seq, 8);
	E(blo_journal_seq_at_time(j, 501, &seq));
	assert_int_equal(seq, 9);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_seq_at_time_is_exact_after_clock_step_back(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	/* seq:                     1    2    3    4   5    6    7    8    9 */
	const int64_t times[] = {100, 300, 500, 50, 60, 400, 600, 700, 800};
	uint64_t seq = 0;

	(void)state;
	append_at_times(j, 2000, times, 5);
	append_at_times(j, 3000, times + 5, 4);
	for (int64_t t = 0; t <= 900; t += 10) {
		uint64_t want = 10;

		for (size_t i = 0; i < 9; i++) {
			if (times[i] >= t) {
				want = i + 1;
				break;
			}
		}
		E(blo_journal_seq_at_time(j, t, &seq));
		if (seq != want)
			fail_msg("time %lld: seq %llu, want %llu", (long long)t,
				 (unsigned long long)seq, (unsigned long long)want);
	}
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- cursors */

static void test_cursor_set_get_and_delete(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	const char *names[] = {"sub:th-police", "peer:broker-la"};
	const uint64_t seqs[] = {17, 4};
	const uint64_t later[] = {18};
	uint64_t seq = 0;

	(void)state;
	assert_int_equal(blo_journal_cursor_get(j, "sub:th-police", &seq), BLO_ENOTFOUND);
	E(blo_journal_cursor_set(j, names, seqs, 2, NULL));
	E(blo_journal_cursor_get(j, "sub:th-police", &seq));
	assert_int_equal(seq, 17);
	E(blo_journal_cursor_get(j, "peer:broker-la", &seq));
	assert_int_equal(seq, 4);
	E(blo_journal_cursor_set(j, names, later, 1, NULL));
	E(blo_journal_cursor_get(j, "sub:th-police", &seq));
	assert_int_equal(seq, 18);
	E(blo_journal_cursor_delete(j, "sub:th-police"));
	assert_int_equal(blo_journal_cursor_get(j, "sub:th-police", &seq), BLO_ENOTFOUND);
	assert_int_equal(blo_journal_cursor_delete(j, "sub:th-police"), BLO_ENOTFOUND);
	E(blo_journal_cursor_get(j, "peer:broker-la", &seq));
	assert_int_equal(seq, 4);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_cursors_persist_across_reopen(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	const char *names[] = {"a", "b", "c"};
	const uint64_t seqs[] = {1, 2, 3};
	uint64_t seq = 0;

	(void)state;
	E(blo_journal_cursor_set(j, names, seqs, 3, NULL));
	E(blo_journal_cursor_delete(j, "b"));
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 0);
	E(blo_journal_cursor_get(j, "a", &seq));
	assert_int_equal(seq, 1);
	assert_int_equal(blo_journal_cursor_get(j, "b", &seq), BLO_ENOTFOUND);
	E(blo_journal_cursor_get(j, "c", &seq));
	assert_int_equal(seq, 3);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_cursor_removal_in_a_batch_keeps_order(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	/* a: set, then removed; b: removed, then set; c: never there. */
	const blo_cursor_update_t ups[] = {
		{.name = "a", .seq = 5},
		{.name = "b", .seq = 1},
		{.name = "a", .remove = true},
		{.name = "b", .remove = true},
		{.name = "b", .seq = 7},
		{.name = "c", .remove = true},
	};
	blo_journal_batch_t batch = {.cursors = ups, .n_cursors = 6};
	uint64_t seq = 0;

	(void)state;
	E(blo_journal_commit(j, &batch, NULL));
	assert_int_equal(blo_journal_cursor_get(j, "a", &seq), BLO_ENOTFOUND);
	E(blo_journal_cursor_get(j, "b", &seq));
	assert_int_equal(seq, 7);
	assert_int_equal(blo_journal_cursor_get(j, "c", &seq), BLO_ENOTFOUND);
	/* A removal in a later batch deletes a stored cursor. */
	batch = (blo_journal_batch_t){.cursors = &ups[3], .n_cursors = 1};
	E(blo_journal_commit(j, &batch, NULL));
	assert_int_equal(blo_journal_cursor_get(j, "b", &seq), BLO_ENOTFOUND);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

typedef struct {
	char names[8][BLO_CURSOR_NAME_MAX];
	uint64_t seqs[8];
	size_t n, stop_after;
} scanned_t;

static int scan_one(const char *name, uint64_t seq, void *arg)
{
	scanned_t *sc = arg;

	assert_true(sc->n < 8);
	snprintf(sc->names[sc->n], sizeof(sc->names[0]), "%s", name);
	sc->seqs[sc->n++] = seq;
	return sc->stop_after != 0 && sc->n == sc->stop_after ? 7 : 0;
}

static void test_cursor_scan_by_prefix(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	/* "sub/a/" must not take "sub/ab/x" nor "sub/a" itself; the names
	 * around the prefix in sort order make sure the scan starts and stops
	 * where it should. */
	const char *names[] = {"peer/a", "sub/a", "sub/a/1", "sub/a/2", "sub/a/3", "sub/ab/x", "sub/b/1"};
	const uint64_t seqs[] = {1, 2, 3, 4, 5, 6, 7};
	scanned_t sc = {0};

	(void)state;
	E(blo_journal_cursor_scan(j, "sub/a/", scan_one, &sc));
	assert_int_equal(sc.n, 0);
	E(blo_journal_cursor_set(j, names, seqs, 7, NULL));
	E(blo_journal_cursor_scan(j, "sub/a/", scan_one, &sc));
	assert_int_equal(sc.n, 3);
	assert_string_equal(sc.names[0], "sub/a/1");
	assert_string_equal(sc.names[2], "sub/a/3");
	assert_int_equal(sc.seqs[0], 3);
	assert_int_equal(sc.seqs[2], 5);
	sc = (scanned_t){.stop_after = 2};
	assert_int_equal(blo_journal_cursor_scan(j, "sub/a/", scan_one, &sc), 7);
	assert_int_equal(sc.n, 2);
	sc = (scanned_t){0};
	E(blo_journal_cursor_scan(j, "sub/", scan_one, &sc));
	assert_int_equal(sc.n, 6);
	sc = (scanned_t){0};
	E(blo_journal_cursor_scan(j, "", scan_one, &sc));
	assert_int_equal(sc.n, 7);
	assert_string_equal(sc.names[0], "peer/a");
	sc = (scanned_t){0};
	E(blo_journal_cursor_scan(j, "sub/c/", scan_one, &sc));
	E(blo_journal_cursor_scan(j, "zzz", scan_one, &sc));
	assert_int_equal(sc.n, 0);
	E(blo_journal_cursor_delete(j, "sub/a/2"));
	E(blo_journal_cursor_scan(j, "sub/a/", scan_one, &sc));
	assert_int_equal(sc.n, 2);
	assert_string_equal(sc.names[1], "sub/a/3");
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_cursor_name_empty_or_too_long_is_invalid(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	char longest[BLO_CURSOR_NAME_MAX];
	char too_long[BLO_CURSOR_NAME_MAX + 1];
	const char *names[2] = {"ok", too_long};
	const uint64_t seqs[2] = {1, 2};
	uint64_t seq = 0;
	blo_err_t err = {0};

	(void)state;
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	memset(too_long, 'y', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_int_equal(blo_journal_cursor_set(j, names, seqs, 2, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "cursor 1"));
	/* Nothing of the refused call was stored. */
	assert_int_equal(blo_journal_cursor_get(j, "ok", &seq), BLO_ENOTFOUND);
	assert_int_equal(blo_journal_cursor_get(j, "", &seq), BLO_EINVAL);
	assert_int_equal(blo_journal_cursor_get(j, too_long, &seq), BLO_EINVAL);
	assert_int_equal(blo_journal_cursor_delete(j, NULL), BLO_EINVAL);
	names[1] = longest;
	E(blo_journal_cursor_set(j, names, seqs, 2, NULL));
	E(blo_journal_cursor_get(j, longest, &seq));
	assert_int_equal(seq, 2);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- purge */

static void test_purge_by_age_removes_old_records_and_their_ids(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_stats_t st;
	uint64_t purged = 0, seq = 0;
	uint8_t id[ID];
	uint8_t *data = NULL;
	size_t len = 0;

	(void)state;
	append_range(j, 1, 10); /* seq n holds number n, time_ms n */
	append_range(j, 11, 10);
	E(blo_journal_purge(j, 8, 0, &purged, NULL)); /* time_ms < 8 goes */
	assert_int_equal(purged, 7);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.first_seq, 8);
	assert_int_equal(st.last_seq, 20);
	assert_int_equal(st.count, 13);
	for (uint64_t n = 1; n <= 7; n++) {
		id_of(n, id);
		assert_int_equal(blo_journal_find_id(j, id, &seq), BLO_ENOTFOUND);
		assert_int_equal(blo_journal_get(j, n, &data, &len, NULL, NULL), BLO_ENOTFOUND);
	}
	id_of(8, id);
	E(blo_journal_find_id(j, id, &seq));
	assert_int_equal(seq, 8);
	assert_record_is(j, 8, 8);
	E(blo_journal_purge(j, 8, 0, &purged, NULL)); /* again: nothing more */
	assert_int_equal(purged, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_purge_by_count_keeps_the_newest(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_stats_t st;
	uint64_t purged = 0, seq = 0;
	uint8_t id[ID];

	(void)state;
	append_range(j, 1, 25);
	E(blo_journal_purge(j, 0, 10, &purged, NULL));
	assert_int_equal(purged, 15);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.first_seq, 16);
	assert_int_equal(st.last_seq, 25);
	assert_int_equal(st.count, 10);
	id_of(15, id);
	assert_int_equal(blo_journal_find_id(j, id, &seq), BLO_ENOTFOUND);
	assert_record_is(j, 16, 16);
	assert_record_is(j, 25, 25);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_purge_by_age_then_count(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_stats_t st;
	uint64_t purged = 0;

	(void)state;
	append_range(j, 1, 30);
	E(blo_journal_purge(j, 6, 20, &purged, NULL)); /* 5 by age, 5 more by count */
	assert_int_equal(purged, 10);
	E(blo_journal_purge(j, 15, 20, &purged, NULL)); /* age alone goes further */
	assert_int_equal(purged, 4);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.first_seq, 15);
	assert_int_equal(st.count, 16);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_purge_many_records_spans_several_transactions(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_stats_t st;
	uint64_t purged = 0;

	(void)state;
	for (uint64_t n = 1; n <= 10000; n += 1000)
		append_range(j, n, 1000);
	E(blo_journal_purge(j, 0, 1, &purged, NULL));
	assert_int_equal(purged, 9999);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 1);
	assert_int_equal(st.first_seq, 10000);
	assert_record_is(j, 10000, 10000);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_last_seq_survives_purge_of_everything_and_reopen(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_stats_t st;
	uint64_t purged = 0, seq = 0;
	batch_t b;

	(void)state;
	append_range(j, 1, 5);
	E(blo_journal_purge(j, 1000, 0, &purged, NULL));
	assert_int_equal(purged, 5);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 0);
	assert_int_equal(st.first_seq, 0);
	assert_int_equal(st.last_seq, 5);
	E(blo_journal_seq_at_time(j, 0, &seq));
	assert_int_equal(seq, 6);
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 0);
	batch_make(&b, 1, 1); /* a purged id is stored again, as new */
	E(blo_journal_append(j, b.entries, b.n, NULL));
	assert_int_equal(b.entries[0].result, 0);
	assert_int_equal(b.entries[0].seq, 6);
	batch_free(&b);
	assert_record_is(j, 6, 1);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- full map */

static void test_map_full_keeps_committed_records_and_recovers_after_purge(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	blo_journal_stats_t st;
	blo_err_t err = {0};
	uint64_t acked = 0, purged = 0, seq = 0;
	uint64_t n = 1;
	uint8_t id[ID];
	batch_t b;
	int rc = 0;

	(void)state;
	/* Batches of 10 (numbers n..n+9 land at seqs n..n+9) until full. */
	while (rc == 0) {
		assert_true(n < 100000);
		batch_make(&b, n, 10);
		rc = blo_journal_append(j, b.entries, b.n, &err);
		if (rc == 0) {
			for (size_t i = 0; i < b.n; i++)
				assert_int_equal(b.entries[i].seq, n + i);
			acked = n + 9;
			n += 10;
		} else {
			for (size_t i = 0; i < b.n; i++)
				assert_int_equal(b.entries[i].result, BLO_EFULL);
		}
		batch_free(&b);
	}
	assert_int_equal(rc, BLO_EFULL);
	assert_int_equal(err.code, BLO_EFULL);
	assert_non_null(strstr(err.msg, dir));
	assert_non_null(strstr(err.msg, "1048576"));
	assert_true(acked > 100);

	/* Everything acknowledged is there; nothing of the refused batch is. */
	for (uint64_t s = 1; s <= acked; s++)
		assert_record_is(j, s, s);
	id_of(n, id);
	assert_int_equal(blo_journal_find_id(j, id, &seq), BLO_ENOTFOUND);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, acked);
	assert_int_equal(st.count, acked);

	/* A second try is refused the same way and harms nothing. */
	batch_make(&b, n, 10);
	assert_int_equal(blo_journal_append(j, b.entries, b.n, NULL), BLO_EFULL);
	batch_free(&b);

	E(blo_journal_purge(j, 0, acked / 2, &purged, &err));
	assert_int_equal(purged, acked - acked / 2);
	append_range(j, n, 10);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, acked + 10);
	assert_record_is(j, acked + 1, n);
	assert_record_is(j, acked, acked);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_map_full_recovers_after_reopen_with_bigger_map(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	blo_journal_stats_t st;
	uint64_t n = 1;
	batch_t b;
	int rc = 0;

	(void)state;
	while (rc == 0) {
		assert_true(n < 100000);
		batch_make(&b, n, 10);
		rc = blo_journal_append(j, b.entries, b.n, NULL);
		batch_free(&b);
		if (rc == 0)
			n += 10;
	}
	assert_int_equal(rc, BLO_EFULL);
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 4 << 20);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.map_size, 4 << 20);
	append_range(j, n, 10);
	assert_record_is(j, n, n);
	assert_record_is(j, 1, 1);
	blo_journal_close(&j);
	/* Reopening with a smaller map keeps what is stored. */
	j = blo_test_journal_open(dir, 1 << 20);
	E(blo_journal_stats(j, &st));
	assert_true(st.map_size >= st.used_bytes);
	assert_record_is(j, n + 9, n + 9);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* Appends batches of `batch` envelopes of len bytes (ids from number
 * *next on) until the journal refuses one; returns that refusal. */
static int fill_until_refused(blo_journal_t *j, uint64_t *next, size_t batch, size_t len)
{
	uint8_t *data = calloc(1, len + 1);
	blo_journal_entry_t *e = calloc(batch, sizeof(*e));
	uint8_t (*ids)[ID] = calloc(batch, ID);
	int rc = 0;

	assert_non_null(data);
	assert_non_null(e);
	assert_non_null(ids);
	while (rc == 0) {
		assert_true(*next < 1000000);
		for (size_t i = 0; i < batch; i++) {
			id_of(*next + i, ids[i]);
			e[i] = (blo_journal_entry_t){
				.id = ids[i], .data = data, .len = len, .time_ms = 0};
		}
		rc = blo_journal_append(j, e, batch, NULL);
		if (rc == 0)
			*next += batch;
	}
	free(ids);
	free(e);
	free(data);
	return rc;
}

static void test_map_full_of_large_envelopes_recovers_after_purge(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	uint64_t next = 1, purged = 0;

	(void)state;
	/* 5000 bytes: each record takes two overflow pages, which must be
	 * contiguous, so the pages the purge frees must be reusable at once. */
	assert_int_equal(fill_until_refused(j, &next, 1, 5000), BLO_EFULL);
	E(blo_journal_purge(j, 0, 1, &purged, NULL));
	assert_int_equal(purged, next - 2);
	next += 1000;
	assert_int_equal(fill_until_refused(j, &next, 1, 5000), BLO_EFULL);
	assert_true(next > 1000 + 100);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_purge_works_when_map_is_too_full_to_delete(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	blo_journal_stats_t st;
	uint64_t next = 1, purged = 0;

	(void)state;
	/* Fill to the brim: envelopes, then ever smaller batches of empty ones,
	 * until not even one empty envelope fits. Then even a single delete
	 * may find no page for its copy-on-write (with LMDB 0.9.24 it finds
	 * none) and purge must give the map a little room. */
	assert_int_equal(fill_until_refused(j, &next, 1, 500), BLO_EFULL);
	assert_int_equal(fill_until_refused(j, &next, 10, 0), BLO_EFULL);
	assert_int_equal(fill_until_refused(j, &next, 1, 0), BLO_EFULL);
	E(blo_journal_purge(j, 0, 1, &purged, NULL));
	assert_int_equal(purged, next - 2);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 1);
	assert_true(st.map_size >= 1 << 20);
	assert_true(st.map_size <= 2 << 20);
	append_range(j, next, 3);
	assert_record_is(j, next, next); /* seq == number here */
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- commit */

/* An ACCEPT audit record for each entry of b, pointing at it; caller
 * frees. */
static blo_audit_record_t *accepts_for(const batch_t *b, const char *principal)
{
	blo_audit_record_t *audit = calloc(b->n, sizeof(*audit));

	assert_non_null(audit);
	for (size_t i = 0; i < b->n; i++)
		audit[i] = (blo_audit_record_t){.event = BLO_AUDIT_ACCEPT,
						.time_ms = b->entries[i].time_ms,
						.principal = principal,
						.entry_index = (int)i};
	return audit;
}

typedef struct {
	char *text[64];
	size_t n;
} audit_texts_t;

static int collect_audit(uint64_t aseq, const char *text, size_t len, void *arg)
{
	audit_texts_t *t = arg;

	assert_int_equal(aseq, t->n + 1);
	assert_true(t->n < 64);
	t->text[t->n] = strndup(text, len);
	assert_non_null(t->text[t->n]);
	t->n++;
	return 0;
}

static void audit_texts_free(audit_texts_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->text[i]);
	t->n = 0;
}

/* The format version a closed journal in dir records, or sets it (v > 0),
 * through LMDB itself, in a process of its own. */
static int raw_version(const char *dir, uint8_t v)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env = NULL;
		MDB_txn *txn = NULL;
		MDB_dbi meta;
		MDB_val key = {.mv_size = 7, .mv_data = (void *)"version"}, val;
		uint8_t version[4] = {0, 0, 0, v};

		if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 8) != 0 ||
		    mdb_env_open(env, dir, 0, 0600) != 0 ||
		    mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, "meta", 0, &meta) != 0)
			_exit(255);
		if (v > 0) {
			val = (MDB_val){.mv_size = 4, .mv_data = version};
			if (mdb_put(txn, meta, &key, &val, 0) != 0 || mdb_txn_commit(txn) != 0)
				_exit(255);
			_exit(v);
		}
		if (mdb_get(txn, meta, &key, &val) != 0 || val.mv_size != 4)
			_exit(255);
		_exit(((uint8_t *)val.mv_data)[3]);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 255);
	return WEXITSTATUS(status);
}

/* A journal stays format 1 (what earlier builds read) until its first audit
 * trim makes it 2 (their verify would take the trimmed records for
 * tampering: they must refuse it instead); this build opens both, and
 * refuses a version it does not know, touching nothing. */
static void test_format_is_2_from_the_first_audit_trim_and_3_is_refused(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_t *ro = NULL;
	batch_t b;
	blo_audit_record_t *audit;
	blo_journal_batch_t batch;
	uint8_t hash[BLO_AUDIT_HASH_BYTES];
	uint64_t head = 0, records = 0;
	blo_err_t err = {0};

	(void)state;
	batch_make(&b, 1, 5);
	audit = accepts_for(&b, "th-customs");
	batch = (blo_journal_batch_t){.entries = b.entries, .n_entries = 5, .audit = audit,
				      .n_audit = 5};
	E(blo_journal_commit(j, &batch, NULL));
	blo_journal_close(&j);
	assert_int_equal(raw_version(dir, 0), 1);

	j = blo_test_journal_open(dir, 0);
	E(blo_journal_audit_head(j, &head, hash));
	assert_int_equal(head, 5);
	E(blo_journal_audit_trim(j, 5, hash, NULL));
	blo_journal_close(&j);
	assert_int_equal(raw_version(dir, 0), 2);

	j = blo_test_journal_open(dir, 0);
	E(blo_journal_audit_verify(j, &records, NULL, NULL));
	assert_int_equal(records, 0);
	blo_journal_close(&j);
	E(blo_journal_open_readonly(&ro, dir, NULL));
	blo_journal_close(&ro);

	assert_int_equal(raw_version(dir, 3), 3);
	assert_int_equal(blo_journal_open(&j, dir, NULL, &err), BLO_ECORRUPT);
	assert_non_null(strstr(err.msg, "unknown format version (this build reads 1 and 2)"));
	assert_null(j);
	assert_int_equal(blo_journal_open_readonly(&ro, dir, &err), BLO_ECORRUPT);
	assert_null(ro);
	assert_int_equal(raw_version(dir, 0), 3); /* untouched */
	free(audit);
	batch_free(&b);
	blo_test_rmdir(dir);
	free(dir);
}

/* blo_journal_entry_t.same that marks the entry's record to be left out. */
static int same_and_skip(const uint8_t *stored, size_t stored_len, void *arg)
{
	(void)stored;
	(void)stored_len;
	*(bool *)arg = true;
	return 1;
}

/* A same callback that cannot tell just now (no memory to decode the
 * stored alert): that entry is neither a duplicate nor a conflict but
 * refused with its error, nothing stored for it and no sequence; the rest
 * of the batch is stored, and its audit record says it was refused. */
static void test_same_that_cannot_tell_refuses_only_that_entry(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_audit_record_t *audit;
	blo_journal_batch_t batch;
	audit_texts_t texts = {0};
	blo_journal_stats_t st;
	same_probe_t unsure = {.cannot_tell = BLO_ENOMEM};

	(void)state;
	append_range(j, 1, 2);
	batch_make(&b, 2, 3); /* id 2 stored; 3 new */
	b.entries[0].same = same_first_byte;
	b.entries[0].same_arg = &unsure;
	audit = accepts_for(&b, "th-customs");
	batch = (blo_journal_batch_t){.entries = b.entries, .n_entries = 2, .audit = audit,
				      .n_audit = 2};
	E(blo_journal_commit(j, &batch, NULL));
	assert_int_equal(unsure.calls, 1);
	assert_int_equal(b.entries[0].result, BLO_ENOMEM);
	assert_int_equal(b.entries[0].seq, 0);
	assert_int_equal(b.entries[1].result, 0);
	assert_int_equal(b.entries[1].seq, 3);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.count, 3);
	assert_record_is(j, 2, 2);
	assert_record_is(j, 3, 3);
	E(blo_journal_audit_scan(j, 1, 0, collect_audit, &texts));
	assert_int_equal(texts.n, 2);
	assert_non_null(strstr(texts.text[0], "\"event\":\"reject\""));
	assert_non_null(strstr(texts.text[0], "could not compare it with the alert stored"));
	assert_null(strstr(texts.text[0], "\"seq\":"));
	assert_non_null(strstr(texts.text[1], "\"event\":\"accept\""));
	assert_non_null(strstr(texts.text[1], "\"seq\":3}"));
	audit_texts_free(&texts);
	free(audit);
	batch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_audit_record_skip_set_by_same(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_audit_record_t *audit;
	blo_journal_batch_t batch;
	audit_texts_t texts = {0};
	bool skip[3] = {false, false, false};
	uint64_t records = 0;

	(void)state;
	batch_make(&b, 1, 3);
	/* The first stored alone; then all three, each of whose records is
	 * left out if its entry's same callback says so: only the first's. */
	E(blo_journal_append(j, b.entries, 1, NULL));
	audit = accepts_for(&b, "th-customs");
	for (size_t i = 0; i < 3; i++) {
		b.entries[i].same = same_and_skip;
		b.entries[i].same_arg = &skip[i];
		audit[i].skip = &skip[i];
	}
	batch = (blo_journal_batch_t){.entries = b.entries, .n_entries = 3, .audit = audit,
				      .n_audit = 3};
	E(blo_journal_commit(j, &batch, NULL));
	assert_true(skip[0]);
	assert_false(skip[1]);
	assert_int_equal(b.entries[0].result, BLO_EDUPLICATE);
	E(blo_journal_audit_scan(j, 1, 0, collect_audit, &texts));
	assert_int_equal(texts.n, 2);
	assert_non_null(strstr(texts.text[0], "\"aseq\":1,"));
	assert_non_null(strstr(texts.text[0], "\"seq\":2}"));
	assert_non_null(strstr(texts.text[1], "\"aseq\":2,"));
	assert_non_null(strstr(texts.text[1], "\"seq\":3}"));
	audit_texts_free(&texts);
	E(blo_journal_audit_verify(j, &records, NULL, NULL));
	assert_int_equal(records, 2);
	free(audit);
	batch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_commit_stores_entries_cursors_and_audit_together(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_audit_record_t *audit;
	blo_cursor_update_t cursors[3] = {
		{.name = "sub:la-console-1", .seq = 1},
		{.name = "peer:vn-broker", .seq = 2},
		{.name = "sub:la-console-1", .seq = 3}, /* the later one counts */
	};
	blo_journal_batch_t batch;
	audit_texts_t texts = {0};
	uint64_t seq = 0, records = 0, head = 0;

	(void)state;
	batch_make(&b, 1, 3);
	audit = accepts_for(&b, "th-customs");
	batch = (blo_journal_batch_t){.entries = b.entries, .n_entries = 3, .cursors = cursors,
				      .n_cursors = 3, .audit = audit, .n_audit = 3};
	E(blo_journal_commit(j, &batch, NULL));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(b.entries[i].result, 0);
		assert_int_equal(b.entries[i].seq, i + 1);
		assert_record_is(j, i + 1, i + 1);
	}
	E(blo_journal_cursor_get(j, "sub:la-console-1", &seq));
	assert_int_equal(seq, 3);
	E(blo_journal_cursor_get(j, "peer:vn-broker", &seq));
	assert_int_equal(seq, 2);
	E(blo_journal_audit_scan(j, 1, 0, collect_audit, &texts));
	assert_int_equal(texts.n, 3);
	for (size_t i = 0; i < 3; i++) {
		char want[32];

		snprintf(want, sizeof(want), "\"seq\":%zu}", i + 1);
		assert_non_null(strstr(texts.text[i], "\"event\":\"accept\""));
		assert_non_null(strstr(texts.text[i], want));
	}
	audit_texts_free(&texts);
	E(blo_journal_audit_verify(j, &records, NULL, NULL));
	assert_int_equal(records, 3);
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, 3);
	free(audit);
	batch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* A deferred commit (defer_sync) is visible at once, and durable (its meta
 * page synced) only after the next commit that writes, or a sync. */
static void test_deferred_commit_is_durable_after_the_next_commit_or_a_sync(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t a, b, c;
	blo_journal_batch_t ba, bb, bc, empty = {.defer_sync = true};
	blo_hist_snap_t t0, t1, t2, t3, t4;

	(void)state;
	batch_make(&a, 1, 5);
	batch_make(&b, 6, 5);
	batch_make(&c, 11, 5);
	ba = (blo_journal_batch_t){.entries = a.entries, .n_entries = a.n, .defer_sync = true};
	bb = (blo_journal_batch_t){.entries = b.entries, .n_entries = b.n, .defer_sync = true};
	bc = (blo_journal_batch_t){.entries = c.entries, .n_entries = c.n};
	blo_journal_commit_times(j, &t0);

	E(blo_journal_commit(j, &ba, NULL));
	assert_true(ba.txn > 0);
	assert_true(blo_journal_durable_txn(j) < ba.txn);
	assert_record_is(j, 1, 1); /* readers see it already */
	blo_journal_commit_times(j, &t1);
	assert_int_equal(t1.count, t0.count + 1);

	/* The next commit's data sync takes a's meta page along. */
	E(blo_journal_commit(j, &bb, NULL));
	assert_true(bb.txn > ba.txn);
	assert_true(blo_journal_durable_txn(j) >= ba.txn);
	assert_true(blo_journal_durable_txn(j) < bb.txn);
	blo_journal_commit_times(j, &t2);
	assert_int_equal(t2.count, t0.count + 2);

	/* Nothing to write: no transaction, nothing becomes durable. */
	E(blo_journal_commit(j, &empty, NULL));
	assert_int_equal(empty.txn, 0);
	assert_true(blo_journal_durable_txn(j) < bb.txn);

	E(blo_journal_sync(j, NULL));
	assert_true(blo_journal_durable_txn(j) >= bb.txn);
	blo_journal_commit_times(j, &t3);
	assert_int_equal(t3.count, t0.count + 3); /* the sync is timed too */

	/* Without defer_sync a commit is durable when it returns. */
	E(blo_journal_commit(j, &bc, NULL));
	assert_true(bc.txn > bb.txn);
	assert_true(blo_journal_durable_txn(j) >= bc.txn);
	blo_journal_commit_times(j, &t4);
	assert_int_equal(t4.count, t0.count + 4);

	/* A deferred commit left at close is there on reopen. */
	batch_free(&a);
	batch_make(&a, 16, 5);
	ba = (blo_journal_batch_t){.entries = a.entries, .n_entries = a.n, .defer_sync = true};
	E(blo_journal_commit(j, &ba, NULL));
	blo_journal_close(&j);
	j = blo_test_journal_open(dir, 0);
	for (uint64_t n = 1; n <= 20; n++)
		assert_record_is(j, n, n);
	batch_free(&a);
	batch_free(&b);
	batch_free(&c);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_commit_empty_batch_does_nothing(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	blo_journal_batch_t batch = {0};
	blo_journal_stats_t before, after;
	uint64_t head = 9;

	(void)state;
	E(blo_journal_stats(j, &before));
	E(blo_journal_commit(j, &batch, NULL));
	E(blo_journal_stats(j, &after));
	assert_int_equal(after.last_seq, 0);
	assert_int_equal(after.used_bytes, before.used_bytes);
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_commit_bad_cursor_name_stores_no_part_of_the_batch(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	batch_t b;
	blo_audit_record_t *audit;
	blo_cursor_update_t cursors[2] = {{.name = "ok", .seq = 1}, {.name = "", .seq = 2}};
	blo_journal_batch_t batch;
	blo_journal_stats_t st;
	blo_err_t err = {0};
	uint64_t seq = 0, head = 0;
	uint8_t id[ID];

	(void)state;
	batch_make(&b, 1, 2);
	audit = accepts_for(&b, "th-customs");
	batch = (blo_journal_batch_t){.entries = b.entries, .n_entries = 2, .cursors = cursors,
				      .n_cursors = 2, .audit = audit, .n_audit = 2};
	assert_int_equal(blo_journal_commit(j, &batch, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "cursor 1"));
	assert_int_equal(b.entries[0].result, BLO_EINVAL);
	assert_int_equal(b.entries[0].seq, 0);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, 0);
	id_of(1, id);
	assert_int_equal(blo_journal_find_id(j, id, &seq), BLO_ENOTFOUND);
	assert_int_equal(blo_journal_cursor_get(j, "ok", &seq), BLO_ENOTFOUND);
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, 0);
	free(audit);
	batch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_commit_refused_by_full_map_stores_no_part_of_the_batch(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	blo_cursor_update_t cursor = {.name = "sub:la-console-1", .seq = 0};
	blo_journal_stats_t st;
	blo_err_t err = {0};
	uint64_t n = 1, seq = 0, head = 0, records = 0;
	uint8_t id[ID];
	int rc = 0;

	(void)state;
	/* Batches of 10 entries, their ACCEPTs and the cursor at the last. */
	while (rc == 0) {
		batch_t b;
		blo_audit_record_t *audit;
		blo_journal_batch_t batch;

		assert_true(n < 100000);
		batch_make(&b, n, 10);
		audit = accepts_for(&b, "th-customs");
		cursor.seq = n + 9;
		batch = (blo_journal_batch_t){.entries = b.entries, .n_entries = 10,
					      .cursors = &cursor, .n_cursors = 1,
					      .audit = audit, .n_audit = 10};
		rc = blo_journal_commit(j, &batch, &err);
		if (rc == 0) {
			n += 10;
		} else {
			for (size_t i = 0; i < 10; i++) {
				assert_int_equal(b.entries[i].result, BLO_EFULL);
				assert_int_equal(b.entries[i].seq, 0);
			}
		}
		free(audit);
		batch_free(&b);
	}
	assert_int_equal(rc, BLO_EFULL);
	assert_non_null(strstr(err.msg, "1048576"));
	/* What was acknowledged is whole; nothing of the refused batch is
	 * anywhere. */
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, n - 1);
	E(blo_journal_cursor_get(j, "sub:la-console-1", &seq));
	assert_int_equal(seq, n - 1);
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, n - 1);
	E(blo_journal_audit_verify(j, &records, NULL, NULL));
	assert_int_equal(records, n - 1);
	id_of(n, id);
	assert_int_equal(blo_journal_find_id(j, id, &seq), BLO_ENOTFOUND);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_append_and_cursor_set_write_no_audit_records(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 0);
	const char *names[40];
	uint64_t seqs[40];
	char name_buf[40][16];
	uint64_t head = 9, seq = 0;

	(void)state;
	append_range(j, 1, 5);
	/* More names than the wrapper keeps on its stack. */
	for (size_t i = 0; i < 40; i++) {
		snprintf(name_buf[i], sizeof(name_buf[i]), "sub:%zu", i);
		names[i] = name_buf[i];
		seqs[i] = i * 3;
	}
	E(blo_journal_cursor_set(j, names, seqs, 40, NULL));
	for (size_t i = 0; i < 40; i++) {
		E(blo_journal_cursor_get(j, names[i], &seq));
		assert_int_equal(seq, i * 3);
	}
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- threads */

typedef struct {
	blo_journal_t *j;
	atomic_int stop;
	uint64_t checks;
	int failure; /* 0, or the first wrong result seen */
} reader_arg_t;

static int count_record(const blo_journal_record_t *rec, void *arg)
{
	uint64_t *seen = arg;
	uint8_t want[ID];

	id_of((uint64_t)rec->time_ms, want);
	if (memcmp(want, rec->id, ID) != 0 || rec->len != len_of((uint64_t)rec->time_ms))
		return -1;
	(*seen)++;
	return 0;
}

/* Looks up ids and scans while the main thread appends and purges: what it
 * finds must always be whole and agree with itself. */
static void *reader_thread(void *p)
{
	reader_arg_t *arg = p;
	uint64_t n = 1;

	while (!atomic_load(&arg->stop) && arg->failure == 0) {
		uint8_t id[ID];
		uint64_t seq = 0, seen = 0;
		uint8_t *data = NULL;
		size_t len = 0;
		int rc;

		id_of(n, id);
		rc = blo_journal_find_id(arg->j, id, &seq);
		if (rc == 0 && seq != n)
			arg->failure = 1;
		else if (rc != 0 && rc != BLO_ENOTFOUND)
			arg->failure = rc;
		rc = blo_journal_get(arg->j, n, &data, &len, NULL, NULL);
		if (rc == 0 && len != len_of(n))
			arg->failure = 2;
		else if (rc != 0 && rc != BLO_ENOTFOUND)
			arg->failure = rc;
		free(data);
		rc = blo_journal_scan(arg->j, n, 50, count_record, &seen);
		if (rc != 0)
			arg->failure = rc;
		n = n % 20000 + 97;
		arg->checks++;
	}
	return NULL;
}

static void test_readers_in_other_threads_see_consistent_records(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 16 << 20);
	reader_arg_t args[2] = {{.j = j}, {.j = j}};
	pthread_t threads[2];

	(void)state;
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, reader_thread, &args[i]), 0);
	for (uint64_t n = 1; n <= 20000; n += 500) {
		append_range(j, n, 500);
		if (n % 5000 == 1)
			E(blo_journal_purge(j, 0, 4000, NULL, NULL));
	}
	for (size_t i = 0; i < 2; i++) {
		atomic_store(&args[i].stop, 1);
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(args[i].failure, 0);
		assert_true(args[i].checks > 0);
	}
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- crash */

typedef struct {
	uint64_t seq;
	uint64_t n;
} ack_t;

/* The child: appends batches of growing size forever and reports each
 * acknowledged (seq, number) on fd. Never returns. */
static void crash_child(const char *dir, int fd)
{
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = 256 << 20};
	uint64_t n = 1;

	if (blo_journal_open(&j, dir, &opts, NULL) != 0)
		_exit(2);
	for (size_t round = 0; round < 100000; round++) {
		batch_t b;
		size_t count = 1 + round % 50;

		batch_make(&b, n, count);
		if (blo_journal_append(j, b.entries, b.n, NULL) != 0)
			_exit(3);
		for (size_t i = 0; i < count; i++) {
			ack_t ack = {.seq = b.entries[i].seq, .n = n + i};

			if (write(fd, &ack, sizeof(ack)) != (ssize_t)sizeof(ack))
				_exit(4);
		}
		n += count;
		batch_free(&b);
	}
	_exit(5);
}

static void test_acknowledged_appends_survive_kill_9(void **state)
{
	char *dir = blo_test_mkdtemp();
	ack_t *acks = calloc(2000000, sizeof(*acks));
	size_t nacks = 0;
	int fds[2];
	pid_t pid;
	int status = 0;
	blo_journal_t *j = NULL;
	blo_journal_stats_t st;
	uint64_t seq = 0;
	uint8_t id[ID];

	(void)state;
	assert_non_null(acks);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(dir, fds[1]);
	}
	close(fds[1]);
	/* Read acknowledgements until a good many batches are in, then kill
	 * the writer wherever it is, and drain what it said before dying. */
	for (;;) {
		ssize_t got = read(fds[0], &acks[nacks], sizeof(ack_t));

		if (got == 0)
			break;
		assert_int_equal(got, sizeof(ack_t));
		nacks++;
		assert_true(nacks < 2000000);
		if (nacks == 3000)
			assert_int_equal(kill(pid, SIGKILL), 0);
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	j = blo_test_journal_open(dir, 256 << 20);
	for (size_t i = 0; i < nacks; i++) {
		assert_int_equal(acks[i].seq, i + 1);
		assert_record_is(j, acks[i].seq, acks[i].n);
		id_of(acks[i].n, id);
		E(blo_journal_find_id(j, id, &seq));
		assert_int_equal(seq, acks[i].seq);
	}
	E(blo_journal_stats(j, &st));
	/* The batch in flight may have committed without being reported. */
	assert_true(st.last_seq >= nacks);
	assert_int_equal(st.count, st.last_seq);
	append_range(j, 5000000, 3);
	assert_record_is(j, st.last_seq + 1, 5000000);
	blo_journal_close(&j);
	free(acks);
	blo_test_rmdir(dir);
	free(dir);
}

/* The batches of the whole-batch crash test: round r holds 1 + r % 20
 * entries; with the numbers n.. of its entries equal to their sequences. */
static size_t crash_batch_size(size_t round)
{
	return 1 + round % 20;
}

/* The child: commits batches forever, each with its entries, an ACCEPT per
 * entry, a DELIVER of the last one and the cursor "sub:c" at the last
 * sequence, and reports each acknowledged batch's last sequence on fd.
 * Never returns. */
static void whole_batch_crash_child(const char *dir, int fd)
{
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = 256 << 20};
	uint64_t n = 1;

	if (blo_journal_open(&j, dir, &opts, NULL) != 0)
		_exit(2);
	for (size_t round = 0; round < 100000; round++) {
		size_t count = crash_batch_size(round);
		batch_t b;
		blo_audit_record_t *audit;
		blo_cursor_update_t cursor = {.name = "sub:c", .seq = n + count - 1};
		blo_journal_batch_t batch;
		uint64_t last;

		batch_make(&b, n, count);
		audit = realloc(accepts_for(&b, "th-customs"), (count + 1) * sizeof(*audit));
		if (audit == NULL)
			_exit(3);
		audit[count] = (blo_audit_record_t){.event = BLO_AUDIT_DELIVER,
						    .principal = "la-console-1",
						    .detail = "sub:c",
						    .entry_index = (int)count - 1};
		batch = (blo_journal_batch_t){.entries = b.entries, .n_entries = count,
					      .cursors = &cursor, .n_cursors = 1,
					      .audit = audit, .n_audit = count + 1};
		if (blo_journal_commit(j, &batch, NULL) != 0)
			_exit(4);
		last = b.entries[count - 1].seq;
		if (write(fd, &last, sizeof(last)) != (ssize_t)sizeof(last))
			_exit(5);
		n += count;
		free(audit);
		batch_free(&b);
	}
	_exit(6);
}

/* Walks the audit log of the crash test: batch after batch, the ACCEPTs of
 * sequences n..n+count-1, then the DELIVER of the last. */
typedef struct {
	size_t round;
	uint64_t n;     /* first sequence of the batch being read */
	size_t in_batch; /* audit records of it read so far */
} crash_walk_t;

static int walk_crash_audit(uint64_t aseq, const char *text, size_t len, void *arg)
{
	crash_walk_t *w = arg;
	size_t count = crash_batch_size(w->round);
	cJSON *json = cJSON_ParseWithLength(text, len);
	const char *want_event = w->in_batch < count ? "accept" : "deliver";
	uint64_t want_seq = w->in_batch < count ? w->n + w->in_batch : w->n + count - 1;

	(void)aseq;
	assert_non_null(json);
	assert_string_equal(cJSON_GetObjectItem(json, "event")->valuestring, want_event);
	assert_int_equal((uint64_t)cJSON_GetObjectItem(json, "seq")->valuedouble, want_seq);
	cJSON_Delete(json);
	if (++w->in_batch == count + 1) {
		w->n += count;
		w->round++;
		w->in_batch = 0;
	}
	return 0;
}

static void test_committed_batches_survive_kill_9_whole_in_entries_cursor_and_audit(
	void **state)
{
	char *dir = blo_test_mkdtemp();
	uint64_t *acks = calloc(100000, sizeof(*acks));
	size_t nacks = 0;
	int fds[2];
	pid_t pid;
	int status = 0;
	blo_journal_t *j = NULL;
	blo_journal_stats_t st;
	crash_walk_t walk = {.round = 0, .n = 1, .in_batch = 0};
	uint64_t seq = 0, records = 0, head = 0;

	(void)state;
	assert_non_null(acks);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		whole_batch_crash_child(dir, fds[1]);
	}
	close(fds[1]);
	for (;;) {
		ssize_t got = read(fds[0], &acks[nacks], sizeof(acks[0]));

		if (got == 0)
			break;
		assert_int_equal(got, sizeof(acks[0]));
		nacks++;
		assert_true(nacks < 100000);
		if (nacks == 500)
			assert_int_equal(kill(pid, SIGKILL), 0);
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_true(nacks >= 500);

	j = blo_test_journal_open(dir, 256 << 20);
	E(blo_journal_stats(j, &st));
	/* The batch in flight may have committed without being reported. */
	assert_true(st.last_seq >= acks[nacks - 1]);
	assert_int_equal(st.count, st.last_seq);
	for (uint64_t s = 1; s <= st.last_seq; s++)
		assert_record_is(j, s, s);
	/* The cursor is the one of the last committed batch, whichever. */
	E(blo_journal_cursor_get(j, "sub:c", &seq));
	assert_int_equal(seq, st.last_seq);
	/* The audit log holds every committed batch whole and nothing more. */
	E(blo_journal_audit_verify(j, &records, NULL, NULL));
	E(blo_journal_audit_head(j, &head, NULL));
	assert_int_equal(head, records);
	E(blo_journal_audit_scan(j, 1, 0, walk_crash_audit, &walk));
	assert_int_equal(walk.in_batch, 0);
	assert_int_equal(walk.n - 1, st.last_seq);
	assert_true(walk.round >= nacks);
	/* And the journal goes on. */
	append_range(j, 5000000, 3);
	assert_record_is(j, st.last_seq + 1, 5000000);
	blo_journal_close(&j);
	free(acks);
	blo_test_rmdir(dir);
	free(dir);
}

/* Forks a process that opens the journal in dir with plain LMDB, as an
 * admin tool would, begins a read transaction, and is killed with SIGKILL
 * while it holds it: its reader slot stays behind. */
static void kill_a_reader_holding_a_snapshot(const char *dir)
{
	int fds[2];
	pid_t pid;
	char byte = 0;
	int status = 0;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env = NULL;
		MDB_txn *txn = NULL;

		close(fds[0]);
		if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 8) != 0 ||
		    mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0 ||
		    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
			_exit(1);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &byte, 1), 1);
	close(fds[0]);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static int count_dead_reader(const char *line, void *arg)
{
	long pid;

	if (sscanf(line, "%ld", &pid) == 1 && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		(*(int *)arg)++;
	return 0;
}

/* The reader slots of dead processes in the journal in dir, counted in a
 * process of its own (one process may not open an LMDB environment twice),
 * without clearing them. */
static int dead_readers(const char *dir)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		MDB_env *env = NULL;
		int dead = 0;

		if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 8) != 0 ||
		    mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0)
			_exit(255);
		mdb_reader_list(env, count_dead_reader, &dead);
		_exit(dead);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 255);
	return WEXITSTATUS(status);
}

static void test_dead_reader_slot_is_cleared_by_commits_while_open(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 64 << 20);

	(void)state;
	append_range(j, 1, 10);
	kill_a_reader_holding_a_snapshot(dir);
	assert_int_equal(dead_readers(dir), 1);
	/* Commits look at most once a second. */
	usleep(1100 * 1000);
	append_range(j, 11, 1);
	assert_int_equal(dead_readers(dir), 0);
	/* Purge looks every time. */
	kill_a_reader_holding_a_snapshot(dir);
	assert_int_equal(dead_readers(dir), 1);
	E(blo_journal_purge(j, 0, 1000, NULL, NULL));
	assert_int_equal(dead_readers(dir), 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* A journal kept small by purges stays within its map although a reader
 * died holding an old snapshot (which would pin every page freed since). */
static void test_dead_reader_does_not_make_a_bounded_journal_grow(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = blo_test_journal_open(dir, 1 << 20);
	blo_journal_stats_t st;
	blo_err_t err = {0};
	uint64_t n = 1;

	(void)state;
	append_range(j, n, 100);
	n += 100;
	kill_a_reader_holding_a_snapshot(dir);
	for (int round = 0; round < 600; round++) {
		append_range(j, n, 5);
		n += 5;
		if (round % 20 == 19 && blo_journal_purge(j, 0, 100, NULL, &err) != 0)
			fail_msg("purge: %s", err.msg);
	}
	E(blo_journal_stats(j, &st));
	assert_true(st.map_size <= (1 << 20) + (1 << 20) / 64 + 64 * 4096);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_new_journal_is_empty),
		cmocka_unit_test(test_open_missing_folder_fails_with_its_name),
		cmocka_unit_test(test_close_null_does_nothing),
		cmocka_unit_test(test_append_then_get_returns_bytes_time_and_id),
		cmocka_unit_test(test_get_optional_outputs_may_be_null),
		cmocka_unit_test(test_append_empty_and_large_envelopes_round_trip),
		cmocka_unit_test(test_append_empty_batch_does_nothing),
		cmocka_unit_test(test_every_commit_is_timed),
		cmocka_unit_test(test_get_unknown_seq_is_not_found),
		cmocka_unit_test(test_sequence_is_monotonic_across_batches),
		cmocka_unit_test(test_sequence_continues_after_reopen),
		cmocka_unit_test(test_append_duplicate_id_in_later_batch_is_not_stored_twice),
		cmocka_unit_test(test_append_duplicate_id_within_batch_is_not_stored_twice),
		cmocka_unit_test(test_duplicate_id_is_detected_after_reopen),
		cmocka_unit_test(test_same_id_of_another_alert_is_a_conflict),
		cmocka_unit_test(test_same_that_cannot_tell_refuses_only_that_entry),
		cmocka_unit_test(test_ids_with_equal_fingerprints_are_told_apart),
		cmocka_unit_test(test_id_index_survives_growth_purges_and_reopen),
		cmocka_unit_test(test_scan_from_seq_visits_records_in_order_up_to_max),
		cmocka_unit_test(test_scan_stops_early_and_returns_callback_value),
		cmocka_unit_test(test_find_id_returns_seq_or_not_found),
		cmocka_unit_test(test_seq_at_time_finds_first_record_at_or_after_time),
		cmocka_unit_test(test_seq_at_time_is_exact_after_clock_step_back),
		cmocka_unit_test(test_cursor_set_get_and_delete),
		cmocka_unit_test(test_cursors_persist_across_reopen),
		cmocka_unit_test(test_cursor_scan_by_prefix),
		cmocka_unit_test(test_cursor_removal_in_a_batch_keeps_order),
		cmocka_unit_test(test_cursor_name_empty_or_too_long_is_invalid),
		cmocka_unit_test(test_purge_by_age_removes_old_records_and_their_ids),
		cmocka_unit_test(test_purge_by_count_keeps_the_newest),
		cmocka_unit_test(test_purge_by_age_then_count),
		cmocka_unit_test(test_purge_many_records_spans_several_transactions),
		cmocka_unit_test(test_last_seq_survives_purge_of_everything_and_reopen),
		cmocka_unit_test(test_map_full_keeps_committed_records_and_recovers_after_purge),
		cmocka_unit_test(test_map_full_recovers_after_reopen_with_bigger_map),
		cmocka_unit_test(test_map_full_of_large_envelopes_recovers_after_purge),
		cmocka_unit_test(test_purge_works_when_map_is_too_full_to_delete),
		cmocka_unit_test(test_readers_in_other_threads_see_consistent_records),
		cmocka_unit_test(test_acknowledged_appends_survive_kill_9),
		cmocka_unit_test(test_dead_reader_slot_is_cleared_by_commits_while_open),
		cmocka_unit_test(test_dead_reader_does_not_make_a_bounded_journal_grow),
		cmocka_unit_test(test_commit_stores_entries_cursors_and_audit_together),
		cmocka_unit_test(test_audit_record_skip_set_by_same),
		cmocka_unit_test(test_format_is_2_from_the_first_audit_trim_and_3_is_refused),
		cmocka_unit_test(test_commit_empty_batch_does_nothing),
		cmocka_unit_test(test_deferred_commit_is_durable_after_the_next_commit_or_a_sync),
		cmocka_unit_test(test_commit_bad_cursor_name_stores_no_part_of_the_batch),
		cmocka_unit_test(test_commit_refused_by_full_map_stores_no_part_of_the_batch),
		cmocka_unit_test(test_append_and_cursor_set_write_no_audit_records),
		cmocka_unit_test(
			test_committed_batches_survive_kill_9_whole_in_entries_cursor_and_audit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
