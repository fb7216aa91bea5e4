/*
 * blo_hist: durations in buckets that double from 64 us; counts, sum and
 * the largest; quantiles as the bucket that holds them; many threads adding.
 */
#include "blo_test.h"

#include "blo_hist.h"

#include <pthread.h>

#define US INT64_C(1000)
#define MS INT64_C(1000000)

static void test_a_duration_goes_to_the_first_bucket_that_holds_it(void **state)
{
	blo_hist_t h = {0};
	blo_hist_snap_t s;

	(void)state;
	blo_hist_add(&h, 0);
	blo_hist_add(&h, -5);            /* a clock oddity: counted as 0 */
	blo_hist_add(&h, 64 * US);       /* a bound belongs to its bucket */
	blo_hist_add(&h, 64 * US + 1);   /* just over: the next */
	blo_hist_add(&h, 300 * US);      /* (256, 512] us */
	blo_hist_add(&h, 82 * MS);       /* (65.536, 131.072] ms */
	blo_hist_add(&h, 1048576 * US);  /* the last bound, 1.048576 s */
	blo_hist_add(&h, 10000 * MS);    /* beyond every bound */
	blo_hist_read(&h, &s);
	assert_int_equal(s.n[0], 3);
	assert_int_equal(s.n[1], 1);
	assert_int_equal(s.n[3], 1);
	assert_int_equal(s.n[11], 1);
	assert_int_equal(s.n[14], 1);
	assert_int_equal(s.n[15], 1);
	assert_int_equal(s.count, 8);
	assert_true(s.max_ms == 10000.0);
	/* 0 + 0 + 0.064 + 0.064000001 + 0.3 + 82 + 1048.576 + 10000 ms */
	assert_true(s.sum_ms > 11131.003 && s.sum_ms < 11131.005);
}

static void test_bounds_double_from_64_us_and_the_last_has_none(void **state)
{
	(void)state;
	assert_true(blo_hist_bound_ms(0) == 0.064);
	assert_true(blo_hist_bound_ms(1) == 0.128);
	assert_true(blo_hist_bound_ms(4) == 1.024);
	assert_true(blo_hist_bound_ms(BLO_HIST_BUCKETS - 2) == 1048.576);
	assert_true(blo_hist_bound_ms(BLO_HIST_BUCKETS - 1) < 0);
	assert_true(blo_hist_bound_ms(-1) < 0);
	assert_true(blo_hist_bound_ms(BLO_HIST_BUCKETS) < 0);
}

static void test_bounds_are_named_as_status_json_shows_them(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(blo_hist_bound_name(0, buf, sizeof(buf)), "0.064");
	assert_string_equal(blo_hist_bound_name(5, buf, sizeof(buf)), "2.048");
	assert_string_equal(blo_hist_bound_name(BLO_HIST_BUCKETS - 2, buf, sizeof(buf)), "1048.576");
	assert_string_equal(blo_hist_bound_name(BLO_HIST_BUCKETS - 1, buf, sizeof(buf)), "+Inf");
}

static void test_a_quantile_is_the_bucket_that_holds_it(void **state)
{
	uint64_t n[BLO_HIST_BUCKETS] = {0};

	(void)state;
	assert_int_equal(blo_hist_quantile_bucket(n, 0.5), -1);
	/* 98 commits up to 0.512 ms, then one up to 4 ms and one of 80 ms. */
	n[3] = 98;
	n[6] = 1;
	n[11] = 1;
	assert_int_equal(blo_hist_quantile_bucket(n, 0.5), 3);
	assert_int_equal(blo_hist_quantile_bucket(n, 0.98), 3);
	assert_int_equal(blo_hist_quantile_bucket(n, 0.99), 6);
	assert_int_equal(blo_hist_quantile_bucket(n, 1.0), 11);
	/* One sample: every quantile is it. */
	memset(n, 0, sizeof(n));
	n[15] = 1;
	assert_int_equal(blo_hist_quantile_bucket(n, 0.01), 15);
	assert_int_equal(blo_hist_quantile_bucket(n, 1.0), 15);
}

#define PER_THREAD 100000

static void *add_many(void *arg)
{
	blo_hist_t *h = arg;

	for (int64_t i = 1; i <= PER_THREAD; i++)
		blo_hist_add(h, i * US);
	return NULL;
}

static void test_threads_adding_at_once_lose_nothing(void **state)
{
	blo_hist_t h = {0};
	blo_hist_snap_t s;
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, add_many, &h), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	blo_hist_read(&h, &s);
	assert_int_equal(s.count, 4 * PER_THREAD);
	/* 1..64 us in bucket 0, 65..128 in bucket 1, from each thread. */
	assert_int_equal(s.n[0], 4 * 64);
	assert_int_equal(s.n[1], 4 * 64);
	assert_true(s.max_ms == PER_THREAD / 1000.0);
	/* Each thread adds 1 + ... + 100,000 us. */
	assert_true(s.sum_ms == 4.0 * PER_THREAD * (PER_THREAD + 1) / 2 / 1000.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_duration_goes_to_the_first_bucket_that_holds_it),
		cmocka_unit_test(test_bounds_double_from_64_us_and_the_last_has_none),
		cmocka_unit_test(test_bounds_are_named_as_status_json_shows_them),
		cmocka_unit_test(test_a_quantile_is_the_bucket_that_holds_it),
		cmocka_unit_test(test_threads_adding_at_once_lose_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
