/*
 * Tests of blo_err: codes that collide with neither errno nor LMDB, one
 * explanation for any code, and messages that accumulate their context.
 */
#include "blo_test.h"

#include <errno.h>
#include <lmdb.h>

static void test_codes_lie_clear_of_errno_and_lmdb(void **state)
{
	(void)state;
	for (int rc = BLO_E_FIRST - 1; rc > BLO_E_LAST; rc--) {
		assert_true(rc < -4095);                                   /* not -errno */
		assert_true(rc < MDB_LAST_ERRCODE || rc > MDB_KEYEXIST);   /* not MDB_* */
	}
}

static void test_every_code_has_its_own_explanation(void **state)
{
	(void)state;
	for (int rc = BLO_E_FIRST - 1; rc > BLO_E_LAST; rc--) {
		const char *msg = blo_strerror(rc);

		assert_non_null(msg);
		assert_string_not_equal(msg, "unknown error code");
		for (int other = rc - 1; other > BLO_E_LAST; other--)
			assert_string_not_equal(msg, blo_strerror(other));
	}
}

static void test_strerror_falls_through_to_errno_and_lmdb(void **state)
{
	(void)state;
	assert_string_equal(blo_strerror(0), "success");
	assert_string_equal(blo_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(blo_strerror(EACCES), strerror(EACCES));
	assert_string_equal(blo_strerror(MDB_MAP_FULL), mdb_strerror(MDB_MAP_FULL));
	assert_string_equal(blo_strerror(MDB_NOTFOUND), mdb_strerror(MDB_NOTFOUND));
	assert_string_equal(blo_strerror(-99999999), "unknown error code");
	assert_string_equal(blo_strerror(BLO_E_FIRST), "unknown error code");
}

static void test_err_set_records_code_and_message(void **state)
{
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_err_set(&err, BLO_EVALIDATE, "field \"%s\": %d", "hs_code", 42),
			 BLO_EVALIDATE);
	assert_int_equal(err.code, BLO_EVALIDATE);
	assert_string_equal(err.msg, "field \"hs_code\": 42");
	assert_int_equal(blo_err_set(NULL, BLO_EINVAL, "ignored"), BLO_EINVAL);
}

static void test_err_prefix_adds_context_and_keeps_the_code(void **state)
{
	blo_err_t err = {0};

	(void)state;
	blo_err_set(&err, BLO_EPARSE, "bad hex");
	assert_int_equal(blo_err_prefix(&err, "customs record %d", 17), BLO_EPARSE);
	assert_string_equal(err.msg, "customs record 17: bad hex");
	assert_int_equal(blo_err_prefix(NULL, "x"), 0);
	blo_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
}

static void test_long_messages_are_cut_not_overflowed(void **state)
{
	blo_err_t err = {0};
	char big[2000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	blo_err_set(&err, BLO_EINVAL, "%s", big);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	blo_err_prefix(&err, "%s", big);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_lie_clear_of_errno_and_lmdb),
		cmocka_unit_test(test_every_code_has_its_own_explanation),
		cmocka_unit_test(test_strerror_falls_through_to_errno_and_lmdb),
		cmocka_unit_test(test_err_set_records_code_and_message),
		cmocka_unit_test(test_err_prefix_adds_context_and_keeps_the_code),
		cmocka_unit_test(test_long_messages_are_cut_not_overflowed),
	};

	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
