/*
 * Unit tests of blo_journal's write-ahead log (blo_journal_batch_t.logged):
 * a logged batch is told durable before its commit and is readable once
 * the commit returns; a process that dies between the two (in the logged
 * callback, so after the log's sync and before LMDB's commit) leaves the
 * batch in the log, and the next open replays it whole: records, ids,
 * cursors and audit records; a store that lost its unsynced commits (a
 * machine's crash, stood for by a copy of data.mdb taken at its last sync)
 * gets every logged batch back; a logged batch that changes nothing still
 * takes its transaction id; a record that does not check out ends the
 * log; a log of another history, or beside a copy that renumbered its
 * transactions, is refused, and one of another store passed over; the
 * log starts over when it
 * is full; a batch too large for it commits as usual; readers asking for
 * a logged record before its commit is done wait for it.
 * Each test works in its own temporary folder.
 */
#include "blo_test.h"
#include "journal_test.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ID BLO_JOURNAL_ID_BYTES
#define WAL_BYTES ((size_t)1 << 20)
#define WAL_HDR 64

/* A batch of entries for numbers first.., each with an ACCEPT audit
 * record, and optionally one cursor. */
typedef struct {
	blo_journal_batch_t jb;
	blo_journal_entry_t entries[64];
	blo_audit_record_t audit[64];
	blo_cursor_update_t cursor;
	uint8_t ids[64][ID];
	uint8_t *data[64];
	char cursor_name[32];
} wbatch_t;

static void wbatch_make(wbatch_t *b, uint64_t first, size_t count, uint64_t cursor_seq)
{
	assert_true(count <= 64);
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < count; i++) {
		uint64_t n = first + i;

		id_of(n, b->ids[i]);
		b->data[i] = malloc(len_of(n));
		assert_non_null(b->data[i]);
		data_of(n, b->data[i], len_of(n));
		b->entries[i] = (blo_journal_entry_t){
			.id = b->ids[i], .data = b->data[i], .len = len_of(n), .time_ms = (int64_t)n};
		b->audit[i] = (blo_audit_record_t){.event = BLO_AUDIT_ACCEPT,
						   .time_ms = (int64_t)n,
						   .principal = "agent-th-customs",
						   .entry_index = (int)i};
	}
	b->jb.entries = b->entries;
	b->jb.n_entries = count;
	b->jb.audit = b->audit;
	b->jb.n_audit = count;
	if (cursor_seq > 0) {
		snprintf(b->cursor_name, sizeof(b->cursor_name), "sub/console-%llu",
			 (unsigned long long)first);
		b->cursor = (blo_cursor_update_t){.name = b->cursor_name, .seq = cursor_seq};
		b->jb.cursors = &b->cursor;
		b->jb.n_cursors = 1;
	}
}

static void wbatch_free(wbatch_t *b)
{
	for (size_t i = 0; i < 64; i++)
		free(b->data[i]);
}

typedef struct {
	int calls;
	uint64_t seqs[64]; /* the entries' sequences when it was called */
	int results[64];
	bool die;          /* _exit(0) in the call: a crash before the commit */
} logged_t;

static void on_logged(blo_journal_batch_t *batch, void *arg)
{
	logged_t *l = arg;

	l->calls++;
	for (size_t i = 0; i < batch->n_entries && i < 64; i++) {
		l->seqs[i] = batch->entries[i].seq;
		l->results[i] = batch->entries[i].result;
	}
	if (l->die)
		_exit(0);
}

static int copy_file(const char *from, const char *to);

static blo_journal_t *open_wal(const char *dir, size_t wal_size)
{
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.wal_size = wal_size};
	blo_err_t err = {0};

	if (blo_journal_open(&j, dir, &opts, &err) != 0)
		fail_msg("open %s: %s", dir, err.msg);
	return j;
}

/* Commits numbers first..first+count-1 as one batch, logged when l. */
static int commit_range(blo_journal_t *j, uint64_t first, size_t count, uint64_t cursor_seq,
			logged_t *l, bool defer)
{
	wbatch_t b;
	blo_err_t err = {0};
	int rc;

	wbatch_make(&b, first, count, cursor_seq);
	b.jb.defer_sync = defer;
	if (l != NULL) {
		b.jb.logged = on_logged;
		b.jb.logged_arg = l;
	}
	rc = blo_journal_commit(j, &b.jb, &err);
	if (rc != 0)
		fail_msg("commit %llu+%zu: %s", (unsigned long long)first, count, err.msg);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(b.entries[i].result, 0);
	if (l != NULL && l->calls > 0)
		assert_int_equal(b.jb.txn, 0);
	wbatch_free(&b);
	return rc;
}

/* Runs body in a child process that ends in it (on_logged's _exit) or by
 * returning; the test goes on once it has. */
static void in_child(void (*body)(const char *dir), const char *dir)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		body(dir);
		_exit(3); /* body was to end the process in its logged call */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------ in process */

static void test_a_logged_batch_is_told_durable_then_readable(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = open_wal(dir, WAL_BYTES);
	logged_t l = {0};
	blo_journal_stats_t st;
	uint64_t records = 0, cseq = 0;
	blo_err_t err = {0};

	(void)state;
	commit_range(j, 1, 3, 0, NULL, false);
	commit_range(j, 4, 5, 2, &l, false);
	assert_int_equal(l.calls, 1);
	/* At the call the entries had their sequences and results. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(l.seqs[i], 4 + i);
		assert_int_equal(l.results[i], 0);
	}
	for (uint64_t n = 1; n <= 8; n++)
		assert_record_is(j, n, n);
	E(blo_journal_cursor_get(j, "sub/console-4", &cseq));
	assert_int_equal(cseq, 2);
	E(blo_journal_audit_verify(j, &records, NULL, &err));
	assert_int_equal(records, 8);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, 8);
	assert_int_equal(st.wal_replayed, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_without_a_log_a_logged_batch_commits_as_usual(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = open_wal(dir, 0);
	logged_t l = {0};
	wbatch_t b;
	blo_err_t err = {0};

	(void)state;
	wbatch_make(&b, 1, 2, 0);
	b.jb.logged = on_logged;
	b.jb.logged_arg = &l;
	E(blo_journal_commit(j, &b.jb, &err));
	assert_int_equal(l.calls, 0);
	assert_true(b.jb.txn > 0);
	assert_true(blo_journal_durable_txn(j) >= b.jb.txn);
	assert_record_is(j, 2, 2);
	wbatch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_a_batch_too_large_for_the_log_commits_as_usual(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = open_wal(dir, BLO_JOURNAL_WAL_MIN);
	logged_t l = {0};
	wbatch_t b;
	blo_err_t err = {0};

	(void)state;
	/* 64 envelopes of 1,500 bytes: more than the 64 KiB log holds. */
	wbatch_make(&b, 1, 64, 0);
	for (size_t i = 0; i < 64; i++) {
		free(b.data[i]);
		b.data[i] = calloc(1, 1500);
		assert_non_null(b.data[i]);
		b.entries[i].data = b.data[i];
		b.entries[i].len = 1500;
	}
	b.jb.logged = on_logged;
	b.jb.logged_arg = &l;
	E(blo_journal_commit(j, &b.jb, &err));
	assert_int_equal(l.calls, 0);
	assert_true(b.jb.txn > 0);
	wbatch_free(&b);
	/* The log still serves the next one that fits. */
	commit_range(j, 100, 1, 0, &l, false);
	assert_int_equal(l.calls, 1);
	assert_record_is(j, 65, 100);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_a_deferred_commit_is_on_disk_before_a_logged_one(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = open_wal(dir, WAL_BYTES);
	wbatch_t b;
	blo_err_t err = {0};
	uint64_t deferred;
	logged_t l = {0};

	(void)state;
	wbatch_make(&b, 1, 2, 0);
	b.jb.defer_sync = true;
	E(blo_journal_commit(j, &b.jb, &err));
	deferred = b.jb.txn;
	assert_true(deferred > 0);
	assert_true(blo_journal_durable_txn(j) < deferred);
	wbatch_free(&b);
	/* A logged batch builds on it: the log cannot bring it back, so it
	 * is synced first. */
	commit_range(j, 3, 1, 0, &l, false);
	assert_int_equal(l.calls, 1);
	assert_true(blo_journal_durable_txn(j) >= deferred);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_a_bad_log_size_is_refused(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.wal_size = 1000};
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_journal_open(&j, dir, &opts, &err), BLO_EINVAL);
	assert_null(j);
	assert_non_null(strstr(err.msg, "write-ahead log size 1000"));
	blo_test_rmdir(dir);
	free(dir);
}

/* --------------------------------------------------------------- crashes */

/* 3 batches as usual, 3 logged, then a logged one (numbers 20..23, a
 * cursor) whose process dies once the log has it. */
static void crash_after_logging(const char *dir)
{
	blo_journal_t *j = open_wal(dir, WAL_BYTES);
	logged_t l = {0}, dying = {.die = true};

	for (uint64_t i = 0; i < 3; i++)
		commit_range(j, 1 + 2 * i, 2, 0, NULL, i == 2);
	for (uint64_t i = 0; i < 3; i++)
		commit_range(j, 7 + 2 * i, 2, 0, &l, false);
	commit_range(j, 20, 4, 5, &dying, false);
}

static void test_a_batch_logged_before_a_crash_is_replayed(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j;
	blo_journal_stats_t st;
	uint64_t records = 0, cseq = 0, seq = 0;
	blo_err_t err = {0};
	wbatch_t b;

	(void)state;
	in_child(crash_after_logging, dir);
	/* Opened without a log of its own: the one there is replayed all
	 * the same. */
	j = open_wal(dir, 0);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.wal_replayed, 1);
	assert_int_equal(st.last_seq, 16);
	assert_int_equal(st.count, 16);
	for (uint64_t n = 1; n <= 12; n++)
		assert_record_is(j, n, n);
	for (uint64_t n = 20; n <= 23; n++)
		assert_record_is(j, n - 7, n);
	E(blo_journal_cursor_get(j, "sub/console-20", &cseq));
	assert_int_equal(cseq, 5);
	E(blo_journal_audit_verify(j, &records, NULL, &err));
	assert_int_equal(records, 16);
	/* The replayed ids are known: sent again, a duplicate. */
	wbatch_make(&b, 21, 1, 0);
	E(blo_journal_commit(j, &b.jb, &err));
	assert_int_equal(b.entries[0].result, BLO_EDUPLICATE);
	assert_int_equal(b.entries[0].seq, 14);
	wbatch_free(&b);
	/* And the sequence goes on after them. */
	commit_range(j, 30, 1, 0, NULL, false);
	assert_record_is(j, 17, 30);
	assert_int_equal(blo_journal_find_id(j, (uint8_t[ID]){0}, &seq), BLO_ENOTFOUND);
	blo_journal_close(&j);
	/* Nothing is replayed twice. */
	j = open_wal(dir, WAL_BYTES);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.wal_replayed, 0);
	assert_int_equal(st.last_seq, 17);
	E(blo_journal_audit_verify(j, &records, NULL, &err));
	assert_int_equal(records, 18); /* 16, the duplicate's, and 30's */
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* The offset of the last record's payload, and the end of the log's
 * records, read by the format (blo_journal.c: a 64-byte header with the
 * payload's length at 4); returns how many records there are. */
static int wal_last_record(const char *dir, off_t *payload, off_t *end)
{
	int n = 0;

	char path[4096];
	uint8_t h[WAL_HDR];
	off_t at = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/wal", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	*payload = -1;
	while (pread(fd, h, sizeof(h), at) == (ssize_t)sizeof(h) && h[0] == 'B' && h[1] == 'L' &&
	       h[2] == 'W' && h[3] == '1') {
		uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];

		*payload = at + WAL_HDR;
		at += WAL_HDR + (off_t)len;
		n++;
	}
	*end = at;
	close(fd);
	assert_true(*payload > 0);
	return n;
}

static void poke(const char *dir, off_t at, const void *bytes, size_t n)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/wal", dir);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, at), (ssize_t)n);
	close(fd);
}

static void test_the_log_ends_at_a_record_that_does_not_check_out(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j;
	blo_journal_stats_t st;
	uint64_t records = 0;
	blo_err_t err = {0};
	off_t payload, end;
	uint8_t byte, junk[512];

	(void)state;
	in_child(crash_after_logging, dir);
	/* Bytes after the last record: as a write the crash cut off. */
	/* The three logged batches and the crashed one, from offset 0. */
	assert_int_equal(wal_last_record(dir, &payload, &end), 4);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 29 + 3);
	junk[0] = 'B', junk[1] = 'L', junk[2] = 'W', junk[3] = '1';
	poke(dir, end, junk, sizeof(junk));
	/* And the crashed batch's own record torn: one byte of it changed. */
	{
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "%s/wal", dir);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, &byte, 1, payload + 40), 1);
		close(fd);
	}
	byte ^= 0x10;
	poke(dir, payload + 40, &byte, 1);
	j = open_wal(dir, WAL_BYTES);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.wal_replayed, 0);
	assert_int_equal(st.last_seq, 12);
	for (uint64_t n = 1; n <= 12; n++)
		assert_record_is(j, n, n);
	E(blo_journal_audit_verify(j, &records, NULL, &err));
	assert_int_equal(records, 12);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void commit_two(const char *dir)
{
	blo_journal_t *j = open_wal(dir, WAL_BYTES);

	commit_range(j, 1, 2, 0, NULL, false);
	commit_range(j, 3, 2, 0, NULL, false);
	blo_journal_close(&j);
	_exit(0);
}

/* Goes on from commit_two: one batch as usual, one logged, and one logged
 * whose process dies in its call. */
static void then_crash(const char *dir)
{
	blo_journal_t *j = open_wal(dir, WAL_BYTES);
	logged_t l = {0}, dying = {.die = true};

	commit_range(j, 5, 2, 0, NULL, false);
	commit_range(j, 7, 2, 0, &l, false);
	commit_range(j, 9, 2, 0, &dying, false);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n = 0;

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in >= 0 && out >= 0 && n == 0 ? 0 : -1;
}

static void test_a_log_of_another_history_is_refused(void **state)
{
	char *dir = blo_test_mkdtemp();
	char data[4096], saved[4096];
	blo_journal_t *j = NULL;
	blo_journal_stats_t st;
	blo_err_t err = {0};

	(void)state;
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(saved, sizeof(saved), "%s/data.mdb.saved", dir);
	in_child(commit_two, dir);
	assert_int_equal(copy_file(data, saved), 0);
	in_child(then_crash, dir);
	/* The store as it was before the log's first record: a copy
	 * restored, one transaction short of what the log goes on from. */
	assert_int_equal(copy_file(saved, data), 0);
	assert_int_equal(blo_journal_open(&j, dir, NULL, &err), BLO_ECORRUPT);
	assert_null(j);
	assert_non_null(strstr(err.msg, "not of one history"));
	/* Nothing was changed: with the log moved aside it opens as it was. */
	{
		char wal[4096], aside[4096];

		snprintf(wal, sizeof(wal), "%s/wal", dir);
		snprintf(aside, sizeof(aside), "%s/wal.aside", dir);
		assert_int_equal(rename(wal, aside), 0);
	}
	j = open_wal(dir, 0);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, 4);
	assert_int_equal(st.wal_replayed, 0);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* A machine that loses its power keeps what was synced, which may be less
 * than what its processes committed: data.mdb as it was at its last sync.
 * A copy taken then, put back after the crash, stands for that. */
static void lose_power_after_logging(const char *dir)
{
	blo_journal_t *j = open_wal(dir, WAL_BYTES);
	logged_t l = {0}, dying = {.die = true};
	char data[4096], saved[4096];
	blo_err_t err = {0};

	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(saved, sizeof(saved), "%s/data.mdb.synced", dir);
	commit_range(j, 1, 2, 0, NULL, false);
	commit_range(j, 3, 2, 0, NULL, true);
	E(blo_journal_sync(j, &err));
	assert_int_equal(copy_file(data, saved), 0);
	for (uint64_t n = 10; n < 60; n += 10)
		commit_range(j, n, 3, n, &l, false);
	commit_range(j, 60, 3, 0, &dying, false);
}

static void test_a_machine_crash_loses_nothing_logged(void **state)
{
	char *dir = blo_test_mkdtemp();
	char data[4096], saved[4096];
	blo_journal_t *j;
	blo_journal_stats_t st;
	uint64_t records = 0, cseq = 0;
	blo_err_t err = {0};

	(void)state;
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(saved, sizeof(saved), "%s/data.mdb.synced", dir);
	in_child(lose_power_after_logging, dir);
	assert_int_equal(rename(saved, data), 0);
	j = open_wal(dir, WAL_BYTES);
	E(blo_journal_stats(j, &st));
	/* All six logged batches, told durable, come back from the log. */
	assert_int_equal(st.wal_replayed, 6);
	assert_int_equal(st.last_seq, 22);
	for (uint64_t n = 1; n <= 4; n++)
		assert_record_is(j, n, n);
	for (uint64_t b = 0; b < 6; b++)
		for (uint64_t i = 0; i < 3; i++)
			assert_record_is(j, 5 + 3 * b + i, 10 * (b + 1) + i);
	E(blo_journal_cursor_get(j, "sub/console-30", &cseq));
	assert_int_equal(cseq, 30);
	E(blo_journal_audit_verify(j, &records, NULL, &err));
	assert_int_equal(records, 22);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* A logged batch that changes nothing but its log mark (a cursor removed
 * that was never set), then one whose process dies in its call; the
 * machine loses what was not synced. */
static void log_a_batch_of_nothing(const char *dir)
{
	blo_journal_t *j = open_wal(dir, WAL_BYTES);
	logged_t l = {0}, dying = {.die = true};
	blo_cursor_update_t gone = {.name = "sub/never-set", .remove = true};
	blo_journal_batch_t nothing = {.cursors = &gone, .n_cursors = 1, .logged = on_logged,
				       .logged_arg = &l};
	char data[4096], saved[4096];
	blo_err_t err = {0};

	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(saved, sizeof(saved), "%s/data.mdb.synced", dir);
	commit_range(j, 1, 2, 0, NULL, false);
	assert_int_equal(copy_file(data, saved), 0);
	E(blo_journal_commit(j, &nothing, &err));
	assert_int_equal(l.calls, 1);
	commit_range(j, 3, 2, 0, &dying, false);
}

static void test_a_logged_batch_of_nothing_takes_its_place(void **state)
{
	char *dir = blo_test_mkdtemp();
	char data[4096], saved[4096];
	blo_journal_t *j;
	blo_journal_stats_t st;

	(void)state;
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	snprintf(saved, sizeof(saved), "%s/data.mdb.synced", dir);
	in_child(log_a_batch_of_nothing, dir);
	assert_int_equal(rename(saved, data), 0);
	j = open_wal(dir, WAL_BYTES);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.wal_replayed, 2);
	assert_int_equal(st.last_seq, 4);
	assert_record_is(j, 3, 3);
	assert_record_is(j, 4, 4);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* data.mdb of dir replaced by other's: the lock file goes with it, as a
 * restore does. */
static void replace_store(const char *dir, const char *other)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/data.mdb", other);
	snprintf(to, sizeof(to), "%s/data.mdb", dir);
	assert_int_equal(copy_file(from, to), 0);
	snprintf(to, sizeof(to), "%s/lock.mdb", dir);
	unlink(to);
}

static void test_a_log_of_another_store_is_passed_over(void **state)
{
	char *dir = blo_test_mkdtemp(), *other = blo_test_mkdtemp();
	blo_journal_t *j;
	blo_journal_stats_t st;

	(void)state;
	in_child(crash_after_logging, dir);
	/* A store made anew beside the old log. */
	j = open_wal(other, 0);
	commit_range(j, 500, 1, 0, NULL, false);
	blo_journal_close(&j);
	replace_store(dir, other);
	j = open_wal(dir, WAL_BYTES);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.wal_replayed, 0);
	assert_int_equal(st.last_seq, 1);
	assert_record_is(j, 1, 500);
	blo_journal_close(&j);
	blo_test_rmdir(other);
	blo_test_rmdir(dir);
	free(other);
	free(dir);
}

static void test_a_renumbered_copy_is_refused(void **state)
{
	char *dir = blo_test_mkdtemp(), *copy = blo_test_mkdtemp();
	MDB_env *env = NULL;
	blo_journal_t *j = NULL;
	blo_err_t err = {0};

	(void)state;
	in_child(crash_after_logging, dir);
	/* mdb_copy -c of the crashed store: the same store, its
	 * transactions renumbered from 1. */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_env_copy2(env, copy, MDB_CP_COMPACT), 0);
	mdb_env_close(env);
	replace_store(dir, copy);
	assert_int_equal(blo_journal_open(&j, dir, NULL, &err), BLO_ECORRUPT);
	assert_null(j);
	assert_non_null(strstr(err.msg, "renumbered"));
	blo_test_rmdir(copy);
	blo_test_rmdir(dir);
	free(copy);
	free(dir);
}

/* Many logged batches through the smallest log: it starts over again and
 * again; then a crash in the last one's call. */
static void crash_after_wrapping(const char *dir)
{
	blo_journal_t *j = open_wal(dir, BLO_JOURNAL_WAL_MIN);
	logged_t l = {0}, dying = {.die = true};

	for (uint64_t n = 1; n <= 300; n += 3)
		commit_range(j, n, 3, n, &l, false);
	assert_int_equal(l.calls, 100);
	commit_range(j, 1000, 2, 0, &dying, false);
}

static void test_the_log_starts_over_when_full(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j;
	blo_journal_stats_t st;
	uint64_t records = 0;
	blo_err_t err = {0};

	(void)state;
	in_child(crash_after_wrapping, dir);
	j = open_wal(dir, BLO_JOURNAL_WAL_MIN);
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.wal_replayed, 1);
	assert_int_equal(st.last_seq, 302);
	for (uint64_t n = 1; n <= 300; n++)
		assert_record_is(j, n, n);
	assert_record_is(j, 301, 1000);
	assert_record_is(j, 302, 1001);
	E(blo_journal_audit_verify(j, &records, NULL, &err));
	assert_int_equal(records, 302);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------------- readers */

typedef struct {
	blo_journal_t *j;
	uint8_t id[ID];
	uint64_t seq;
	atomic_int started;
	int find_rc, get_rc;
	uint64_t found;
} reader_t;

static void *reader_main(void *arg)
{
	reader_t *r = arg;
	uint8_t *data = NULL;
	size_t len = 0;

	atomic_store(&r->started, 1);
	r->find_rc = blo_journal_find_id(r->j, r->id, &r->found);
	r->get_rc = blo_journal_get(r->j, r->seq, &data, &len, NULL, NULL);
	free(data);
	return NULL;
}

typedef struct {
	reader_t *r;
	pthread_t thread;
	bool begun;
} window_t;

/* In the window between log and commit: a reader asks for what the call
 * lets out, and is given time to find it missing. */
static void on_logged_start_reader(blo_journal_batch_t *batch, void *arg)
{
	window_t *w = arg;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 30 * 1000000};

	w->r->seq = batch->entries[0].seq;
	memcpy(w->r->id, batch->entries[0].id, ID);
	w->begun = pthread_create(&w->thread, NULL, reader_main, w->r) == 0;
	while (w->begun && !atomic_load(&w->r->started))
		sched_yield();
	nanosleep(&ts, NULL);
}

static void test_a_reader_in_the_window_finds_the_logged_record(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = open_wal(dir, WAL_BYTES);
	reader_t r = {.j = j};
	window_t w = {.r = &r};
	wbatch_t b;
	blo_err_t err = {0};

	(void)state;
	commit_range(j, 1, 2, 0, NULL, false);
	wbatch_make(&b, 3, 1, 0);
	b.jb.logged = on_logged_start_reader;
	b.jb.logged_arg = &w;
	E(blo_journal_commit(j, &b.jb, &err));
	assert_true(w.begun);
	pthread_join(w.thread, NULL);
	assert_int_equal(r.seq, 3);
	assert_int_equal(r.find_rc, 0);
	assert_int_equal(r.found, 3);
	assert_int_equal(r.get_rc, 0);
	wbatch_free(&b);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_logged_batch_is_told_durable_then_readable),
		cmocka_unit_test(test_without_a_log_a_logged_batch_commits_as_usual),
		cmocka_unit_test(test_a_batch_too_large_for_the_log_commits_as_usual),
		cmocka_unit_test(test_a_deferred_commit_is_on_disk_before_a_logged_one),
		cmocka_unit_test(test_a_bad_log_size_is_refused),
		cmocka_unit_test(test_a_batch_logged_before_a_crash_is_replayed),
		cmocka_unit_test(test_the_log_ends_at_a_record_that_does_not_check_out),
		cmocka_unit_test(test_a_log_of_another_history_is_refused),
		cmocka_unit_test(test_a_log_of_another_store_is_passed_over),
		cmocka_unit_test(test_a_renumbered_copy_is_refused),
		cmocka_unit_test(test_the_log_starts_over_when_full),
		cmocka_unit_test(test_a_machine_crash_loses_nothing_logged),
		cmocka_unit_test(test_a_logged_batch_of_nothing_takes_its_place),
		cmocka_unit_test(test_a_reader_in_the_window_finds_the_logged_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
