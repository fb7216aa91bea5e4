/*
 * blo_commit_hold_ns: how long the broker's writer lets a batch gather
 * before its synced commit. A quiet broker, or a batch with nothing more on
 * its way, commits at once; a busy one waits for what is coming, within the
 * time left of the hold limit and up to max_batch.
 */
#include "blo_test.h"

#include "blo_broker.h"

#define MS (INT64_C(1000000))

static void test_a_quiet_broker_commits_at_once(void **state)
{
	(void)state;
	/* 1,000 publishes a second bring 4 in 4 ms: fewer than the minimum
	 * worth a wait, however many are still being verified. */
	assert_int_equal(blo_commit_hold_ns(1000, 1, 1, 4 * MS, 1000), 0);
	assert_int_equal(blo_commit_hold_ns(1000, 1, 500, 4 * MS, 1000), 0);
	/* Just below the minimum, and just at it. */
	assert_int_equal(blo_commit_hold_ns(7999, 10, 500, 4 * MS, 1000), 0);
	assert_true(blo_commit_hold_ns(8000, 10, 500, 4 * MS, 1000) > 0);
}

static void test_nothing_coming_commits_at_once(void **state)
{
	(void)state;
	/* A client that waits for its acks before sending more: everything it
	 * sent is in the batch, so a wait would only delay the acks. */
	assert_int_equal(blo_commit_hold_ns(50000, 64, 0, 4 * MS, 1000), 0);
	/* Fewer coming than the minimum worth a wait. */
	assert_int_equal(blo_commit_hold_ns(50000, 64, BLO_COMMIT_HOLD_MIN_JOIN - 1, 4 * MS, 1000), 0);
}

static void test_a_busy_broker_waits_for_what_is_coming(void **state)
{
	(void)state;
	/* 20,000/s with 3,000 being verified: the batch would fill in 48 ms,
	 * so it waits all that is left of the limit. */
	assert_int_equal(blo_commit_hold_ns(20000, 40, 3000, 4 * MS, 1000), 4 * MS);
	assert_int_equal(blo_commit_hold_ns(20000, 40, 3000, 2 * MS, 1000), 2 * MS);
	/* With 1 ms left, 20 more would come: not worth the wait. */
	assert_int_equal(blo_commit_hold_ns(20000, 40, 3000, 1 * MS, 1000), 0);
	/* 100 coming at 20,000/s: 5 ms would bring them all; 3 ms are left. */
	assert_int_equal(blo_commit_hold_ns(20000, 40, 100, 3 * MS, 1000), 3 * MS);
	/* 40 coming at 20,000/s: 2 ms brings them, less than the 4 ms left. */
	assert_int_equal(blo_commit_hold_ns(20000, 40, 40, 4 * MS, 1000), 2 * MS);
}

static void test_the_wait_stops_at_max_batch(void **state)
{
	(void)state;
	/* Room for 60 more at 100,000/s: 0.6 ms, though 5,000 are coming. */
	assert_int_equal(blo_commit_hold_ns(100000, 940, 5000, 4 * MS, 1000), 600000);
	/* Room for fewer than the minimum: commit now. */
	assert_int_equal(blo_commit_hold_ns(100000, 990, 5000, 4 * MS, 1000), 0);
	assert_int_equal(blo_commit_hold_ns(100000, 1000, 5000, 4 * MS, 1000), 0);
	assert_int_equal(blo_commit_hold_ns(100000, 1200, 5000, 4 * MS, 1000), 0);
}

static void test_no_time_left_or_no_publishes_commits_at_once(void **state)
{
	(void)state;
	assert_int_equal(blo_commit_hold_ns(20000, 40, 3000, 0, 1000), 0);
	assert_int_equal(blo_commit_hold_ns(20000, 40, 3000, -5, 1000), 0);
	/* An audit-only batch is never held here (it has its own deferral). */
	assert_int_equal(blo_commit_hold_ns(20000, 0, 3000, 4 * MS, 1000), 0);
	/* No rate measured. */
	assert_int_equal(blo_commit_hold_ns(0, 40, 3000, 4 * MS, 1000), 0);
	assert_int_equal(blo_commit_hold_ns(-1, 40, 3000, 4 * MS, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_quiet_broker_commits_at_once),
		cmocka_unit_test(test_nothing_coming_commits_at_once),
		cmocka_unit_test(test_a_busy_broker_waits_for_what_is_coming),
		cmocka_unit_test(test_the_wait_stops_at_max_batch),
		cmocka_unit_test(test_no_time_left_or_no_publishes_commits_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
