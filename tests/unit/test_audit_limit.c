/*
 * blo_audit_limit: a principal's refusals are recorded one by one up to the
 * burst per window, the rest counted and summed up once the window ends;
 * other principals are not affected.
 */
#include "blo_test.h"

#include "blo_audit_limit.h"

typedef struct {
	blo_audit_summary_t s[8];
	char principal[8][64];
	char last[8][BLO_AUDIT_LIMIT_DETAIL];
	size_t n;
} seen_t;

static void on_summary(const blo_audit_summary_t *s, void *arg)
{
	seen_t *seen = arg;

	assert_true(seen->n < 8);
	seen->s[seen->n] = *s;
	snprintf(seen->principal[seen->n], sizeof(seen->principal[0]), "%s", s->principal);
	snprintf(seen->last[seen->n], sizeof(seen->last[0]), "%s", s->last);
	seen->n++;
}

static void test_the_burst_is_recorded_and_the_rest_counted(void **state)
{
	blo_audit_limit_t *l = NULL;
	size_t recorded = 0;

	(void)state;
	E(blo_audit_limit_new(&l, 5, 60000));
	for (int i = 0; i < 1000; i++)
		recorded += blo_audit_limit_take(l, "th-console-maesai", 1000 + i, "malformed frame");
	assert_int_equal(recorded, 5);
	assert_int_equal(blo_audit_limit_suppressed(l), 995);
	blo_audit_limit_destroy(&l);
	assert_null(l);
}

static void test_principals_have_their_own_budget(void **state)
{
	blo_audit_limit_t *l = NULL;

	(void)state;
	E(blo_audit_limit_new(&l, 2, 60000));
	assert_true(blo_audit_limit_take(l, "abuser", 0, NULL));
	assert_true(blo_audit_limit_take(l, "abuser", 1, NULL));
	assert_false(blo_audit_limit_take(l, "abuser", 2, NULL));
	assert_true(blo_audit_limit_take(l, "th-customs-maesai", 3, NULL));
	assert_true(blo_audit_limit_take(l, "th-customs-maesai", 4, NULL));
	blo_audit_limit_destroy(&l);
}

static void test_a_window_that_left_something_out_is_summed_up_once(void **state)
{
	blo_audit_limit_t *l = NULL;
	seen_t seen = {0};

	(void)state;
	E(blo_audit_limit_new(&l, 1, 1000));
	assert_true(blo_audit_limit_take(l, "abuser", 5000, "first"));
	assert_false(blo_audit_limit_take(l, "abuser", 5100, "second"));
	assert_false(blo_audit_limit_take(l, "abuser", 5200, "third"));
	assert_true(blo_audit_limit_take(l, "quiet", 5300, "only one"));
	blo_audit_limit_flush(l, 5999, on_summary, &seen);
	assert_int_equal(seen.n, 0); /* not over yet */
	blo_audit_limit_flush(l, 6000, on_summary, &seen);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.principal[0], "abuser");
	assert_int_equal(seen.s[0].suppressed, 2);
	assert_int_equal(seen.s[0].from_ms, 5000);
	assert_int_equal(seen.s[0].to_ms, 6000);
	assert_string_equal(seen.last[0], "third");
	blo_audit_limit_flush(l, 9000, on_summary, &seen);
	assert_int_equal(seen.n, 1); /* "quiet" left nothing out: no summary */
	blo_audit_limit_destroy(&l);
}

static void test_a_new_window_starts_with_a_new_burst_and_keeps_the_old_summary(void **state)
{
	blo_audit_limit_t *l = NULL;
	seen_t seen = {0};

	(void)state;
	E(blo_audit_limit_new(&l, 1, 1000));
	assert_true(blo_audit_limit_take(l, "abuser", 0, NULL));
	assert_false(blo_audit_limit_take(l, "abuser", 10, "old"));
	/* The next window begins before any flush. */
	assert_true(blo_audit_limit_take(l, "abuser", 1500, NULL));
	assert_false(blo_audit_limit_take(l, "abuser", 1600, "new"));
	blo_audit_limit_flush(l, 1700, on_summary, &seen);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.s[0].suppressed, 1);
	assert_string_equal(seen.last[0], "old");
	blo_audit_limit_flush(l, INT64_MAX, on_summary, &seen);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.last[1], "new");
	assert_int_equal(blo_audit_limit_suppressed(l), 2);
	blo_audit_limit_destroy(&l);
}

static void test_a_count_takes_what_is_left_of_the_burst(void **state)
{
	blo_audit_limit_t *l = NULL;
	seen_t seen = {0};

	(void)state;
	E(blo_audit_limit_new(&l, 5, 1000));
	assert_true(blo_audit_limit_take(l, "(unregistered keys)", 0, "one with its details"));
	assert_int_equal(blo_audit_limit_take_n(l, "(unregistered keys)", 10, 3, "dropped"), 3);
	/* One left of the burst: the first of 10 is recorded, 9 counted. */
	assert_int_equal(blo_audit_limit_take_n(l, "(unregistered keys)", 20, 10, "dropped"), 1);
	assert_int_equal(blo_audit_limit_take_n(l, "(unregistered keys)", 30, 7, "dropped again"), 0);
	assert_false(blo_audit_limit_take(l, "(unregistered keys)", 40, NULL));
	assert_int_equal(blo_audit_limit_take_n(l, "(unregistered keys)", 50, 0, "none"), 0);
	assert_int_equal(blo_audit_limit_suppressed(l), 17);
	/* Another principal's budget is untouched. */
	assert_int_equal(blo_audit_limit_take_n(l, "abuser", 60, 2, NULL), 2);
	blo_audit_limit_flush(l, 1000, on_summary, &seen);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.principal[0], "(unregistered keys)");
	assert_int_equal(seen.s[0].suppressed, 17);
	assert_string_equal(seen.last[0], "dropped again");
	/* A new window: a new burst. */
	assert_int_equal(blo_audit_limit_take_n(l, "(unregistered keys)", 1000, 8, NULL), 5);
	assert_int_equal(blo_audit_limit_suppressed(l), 20);
	blo_audit_limit_destroy(&l);
}

static void test_a_limiter_needs_a_burst_and_a_window(void **state)
{
	blo_audit_limit_t *l = NULL;

	(void)state;
	assert_int_equal(blo_audit_limit_new(&l, 0, 1000), BLO_EINVAL);
	assert_int_equal(blo_audit_limit_new(&l, 10, 0), BLO_EINVAL);
	assert_null(l);
	blo_audit_limit_destroy(&l);
	blo_audit_limit_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_burst_is_recorded_and_the_rest_counted),
		cmocka_unit_test(test_principals_have_their_own_budget),
		cmocka_unit_test(test_a_window_that_left_something_out_is_summed_up_once),
		cmocka_unit_test(test_a_new_window_starts_with_a_new_burst_and_keeps_the_old_summary),
		cmocka_unit_test(test_a_count_takes_what_is_left_of_the_burst),
		cmocka_unit_test(test_a_limiter_needs_a_burst_and_a_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
