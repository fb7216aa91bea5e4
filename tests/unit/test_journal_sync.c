/*
 * The journal's syncs when they fail, and short of room: a failed write to
 * disk is final (nothing more is taken as durable, nothing more written),
 * a commit refused for want of room is not unless it carried a deferred
 * commit to disk, and nothing is deferred on a nearly full filesystem.
 *
 * This program defines fdatasync and statvfs itself: LMDB and the journal
 * call these, so a test can make the next syncs fail and the filesystem
 * look full.
 */
#include "blo_test.h"

#include <errno.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ID BLO_JOURNAL_ID_BYTES

static int fail_errno; /* the errno the failing sync gives; 0: none fails */
static int fail_in;    /* that many syncs succeed before it */
static int syncs;      /* syncs seen */
static long long free_now = 1LL << 40;

int fdatasync(int fd)
{
	syncs++;
	if (fail_errno != 0 && fail_in-- == 0) {
		errno = fail_errno;
		fail_errno = 0;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

int statvfs(const char *restrict path, struct statvfs *restrict buf)
{
	(void)path;
	memset(buf, 0, sizeof(*buf));
	buf->f_frsize = buf->f_bsize = 4096;
	buf->f_bavail = buf->f_bfree = (fsblkcnt_t)(free_now / 4096);
	buf->f_blocks = buf->f_bfree * 2;
	return 0;
}

/* The sync after the next `after` ones fails with err. */
static void fail_sync(int after, int err)
{
	fail_in = after;
	fail_errno = err;
}

static int setup(void **state)
{
	fail_errno = 0;
	free_now = 1LL << 40;
	*state = blo_test_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	fail_errno = 0;
	blo_test_rmdir(*state);
	free(*state);
	return 0;
}

/* Commits one entry numbered n (its id and bytes follow from n); returns
 * the result and the commit's transaction in *txn. */
static int commit_one(blo_journal_t *j, uint64_t n, bool defer, uint64_t *txn, blo_err_t *err)
{
	uint8_t id[ID] = {0}, data[64];
	blo_journal_entry_t e = {.id = id, .data = data, .len = sizeof(data), .time_ms = 1};
	blo_journal_batch_t b = {.entries = &e, .n_entries = 1, .defer_sync = defer};
	int rc;

	memcpy(id, &n, sizeof(n));
	memset(data, (int)n, sizeof(data));
	rc = blo_journal_commit(j, &b, err);
	if (txn != NULL)
		*txn = b.txn;
	return rc;
}

static bool stored(blo_journal_t *j, uint64_t n)
{
	uint8_t id[ID] = {0};
	uint64_t seq;

	memcpy(id, &n, sizeof(n));
	return blo_journal_find_id(j, id, &seq) == 0;
}

static void test_a_failed_sync_is_final_until_reopen(void **state)
{
	blo_journal_t *j = blo_test_journal_open(*state, 0);
	blo_err_t err = {0};
	uint64_t a, b;

	E(commit_one(j, 1, true, &a, NULL));
	assert_true(a > 0 && blo_journal_durable_txn(j) < a);
	fail_sync(0, EIO);
	assert_int_equal(blo_journal_sync(j, &err), BLO_ECORRUPT);
	assert_non_null(strstr(err.msg, "a write to disk failed"));
	assert_true(blo_journal_durable_txn(j) < a);
	/* The next sync would succeed: the kernel said it once. Still
	 * nothing is taken as durable, nothing more is written. */
	assert_int_equal(blo_journal_sync(j, NULL), BLO_ECORRUPT);
	assert_true(blo_journal_durable_txn(j) < a);
	assert_int_equal(commit_one(j, 2, false, &b, NULL), BLO_ECORRUPT);
	assert_int_equal(b, 0);
	assert_false(stored(j, 2));
	blo_journal_close(&j);
	/* Opened again, it writes; what reached the disk is there. */
	j = blo_test_journal_open(*state, 0);
	assert_true(stored(j, 1));
	E(commit_one(j, 2, false, &b, NULL));
	assert_true(blo_journal_durable_txn(j) >= b);
	blo_journal_close(&j);
}

/* A commit's own data sync is the one that takes a deferred commit's meta
 * page to disk: when it fails, even "no space", that one may be lost. */
static void test_a_commit_failing_while_a_deferred_one_waits_is_final(void **state)
{
	blo_journal_t *j = blo_test_journal_open(*state, 0);
	blo_err_t err = {0};
	uint64_t a, b;

	E(commit_one(j, 1, true, &a, NULL));
	fail_sync(0, ENOSPC);
	assert_int_equal(commit_one(j, 2, true, &b, &err), BLO_ECORRUPT);
	assert_true(blo_journal_durable_txn(j) < a);
	assert_int_equal(blo_journal_sync(j, NULL), BLO_ECORRUPT);
	blo_journal_close(&j);
}

/* With nothing deferred, a commit refused for want of room left the disk as
 * it was: the journal goes on once there is room. */
static void test_a_commit_failing_for_room_with_nothing_deferred_is_not_final(void **state)
{
	blo_journal_t *j = blo_test_journal_open(*state, 0);
	blo_err_t err = {0};
	uint64_t a, c;

	E(commit_one(j, 1, false, &a, NULL));
	assert_true(blo_journal_durable_txn(j) >= a);
	fail_sync(0, ENOSPC);
	assert_int_equal(commit_one(j, 2, false, NULL, &err), BLO_ENOSPACE);
	assert_false(stored(j, 2));
	E(commit_one(j, 3, true, &c, NULL));
	E(blo_journal_sync(j, NULL));
	assert_true(blo_journal_durable_txn(j) >= c);
	blo_journal_close(&j);
}

/* Short of room nothing is deferred, and a commit first syncs what was, so
 * that a refusal for want of room never carries a deferred commit. */
static void test_nothing_is_deferred_on_a_nearly_full_filesystem(void **state)
{
	blo_journal_t *j = blo_test_journal_open(*state, 0);
	uint64_t a, b, c;
	int before;

	free_now = 1 << 20;
	E(commit_one(j, 1, true, &a, NULL));
	assert_true(blo_journal_durable_txn(j) >= a); /* synced at once */

	free_now = 1LL << 40;
	E(commit_one(j, 2, true, &b, NULL));
	assert_true(blo_journal_durable_txn(j) < b);

	/* Room runs short: b is synced before c's commit, and c's own sync
	 * failing for room is then no loss of b's. */
	free_now = 1 << 20;
	before = syncs;
	fail_sync(1, ENOSPC);
	assert_int_equal(commit_one(j, 3, true, &c, NULL), BLO_ENOSPACE);
	assert_int_equal(syncs - before, 2);
	assert_true(blo_journal_durable_txn(j) >= b);
	assert_false(stored(j, 3));
	free_now = 1LL << 40;
	E(commit_one(j, 3, false, &c, NULL));
	assert_true(blo_journal_durable_txn(j) >= c);
	blo_journal_close(&j);
}

/* Open syncs what an earlier process may have left in the page cache, and
 * close syncs a deferred commit left behind. */
static void test_open_and_close_sync(void **state)
{
	blo_journal_t *j;
	uint64_t a;
	int before = syncs;

	j = blo_test_journal_open(*state, 0);
	assert_true(syncs > before);
	E(commit_one(j, 1, true, &a, NULL));
	assert_true(blo_journal_durable_txn(j) < a);
	before = syncs;
	blo_journal_close(&j);
	assert_int_equal(syncs - before, 1);
}

/* The logged callback lets the batch go, as the broker does: the id it
 * lent the entry is freed there (a read after it is ASan's to catch). */
static void let_go(blo_journal_batch_t *batch, void *arg)
{
	*(int *)arg += 1;
	free((void *)batch->entries[0].id);
}

static void test_a_commit_failing_after_its_log_is_replayed_at_open(void **state)
{
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.wal_size = BLO_JOURNAL_WAL_MIN};
	blo_journal_stats_t st;
	blo_err_t err = {0};
	uint8_t *id = calloc(1, ID), data[64];
	blo_journal_entry_t e = {.id = id, .data = data, .len = sizeof(data), .time_ms = 1};
	int calls = 0;
	blo_journal_batch_t b = {.entries = &e, .n_entries = 1, .logged = let_go,
				 .logged_arg = &calls};
	uint64_t n = 2;

	assert_non_null(id);
	E(blo_journal_open(&j, *state, &opts, &err));
	E(commit_one(j, 1, false, NULL, NULL));
	memcpy(id, &n, sizeof(n));
	memset(data, 2, sizeof(data));
	/* The log's sync goes through; the commit's own sync after it fails. */
	fail_sync(1, EIO);
	assert_int_equal(blo_journal_commit(j, &b, &err), BLO_ECORRUPT);
	assert_int_equal(calls, 1);
	/* Final, as any failed write to disk. */
	assert_int_equal(commit_one(j, 3, false, NULL, NULL), BLO_ECORRUPT);
	blo_journal_close(&j);
	/* Acknowledged from the log: the next open has it. */
	E(blo_journal_open(&j, *state, &opts, &err));
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.wal_replayed, 1);
	assert_true(stored(j, 1));
	assert_true(stored(j, 2));
	assert_false(stored(j, 3));
	E(commit_one(j, 3, false, NULL, NULL));
	blo_journal_close(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_failed_sync_is_final_until_reopen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_commit_failing_while_a_deferred_one_waits_is_final,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_a_commit_failing_for_room_with_nothing_deferred_is_not_final, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_nothing_is_deferred_on_a_nearly_full_filesystem,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_and_close_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_commit_failing_after_its_log_is_replayed_at_open,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
