/*
 * Unit tests for blo_adapt_progress: what is marked done or rejected stays
 * so across a close and reopen, one adapter at a time holds a store, keys of
 * rejections tell inputs and records apart, and the map grows when it fills.
 */
#include "blo_test.h"

#include "blo_adapt.h"

#include <errno.h>

static char *dir;
static char *store;

static int setup(void **state)
{
	(void)state;
	dir = blo_test_mkdtemp();
	if (asprintf(&store, "%s/adapter", dir) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	blo_test_rmdir(dir);
	free(dir);
	free(store);
	dir = store = NULL;
	return 0;
}

static void id_of(uint8_t id[BLO_ID_BYTES], const char *ref)
{
	blo_alert_derive_id(id, "TH", BLONET__AGENCY_KIND__CUSTOMS, ref);
}

static void test_done_records_stay_done_after_reopen(void **state)
{
	blo_adapt_progress_t *p = NULL;
	blo_adapt_done_t d[2] = { { .seq = 7, .source_ref = "SZ-1" },
				  { .seq = 8, .duplicate = true, .source_ref = "SZ-2" } };
	uint8_t other[BLO_ID_BYTES];
	blo_err_t err = { 0 };
	size_t done = 0, rejected = 0;
	bool is = true;

	(void)state;
	id_of(d[0].id, "SZ-1");
	id_of(d[1].id, "SZ-2");
	id_of(other, "SZ-3");
	E(blo_adapt_progress_open(&p, store, &err));
	E(blo_adapt_progress_is_done(p, d[0].id, &is, &err));
	assert_false(is);
	E(blo_adapt_progress_mark_done(p, d, 2, &err));
	E(blo_adapt_progress_mark_done(p, d, 0, &err)); /* nothing: fine */
	blo_adapt_progress_close(&p);
	assert_null(p);
	blo_adapt_progress_close(&p);

	E(blo_adapt_progress_open(&p, store, &err));
	E(blo_adapt_progress_is_done(p, d[0].id, &is, &err));
	assert_true(is);
	E(blo_adapt_progress_is_done(p, d[1].id, &is, &err));
	assert_true(is);
	E(blo_adapt_progress_is_done(p, other, &is, &err));
	assert_false(is);
	E(blo_adapt_progress_counts(p, &done, &rejected, &err));
	assert_int_equal(done, 2);
	assert_int_equal(rejected, 0);
	blo_adapt_progress_close(&p);
}

static void test_rejections_are_remembered_by_input_record_and_text(void **state)
{
	blo_adapt_progress_t *p = NULL;
	uint8_t k1[BLO_ID_BYTES], k2[BLO_ID_BYTES], k3[BLO_ID_BYTES], k4[BLO_ID_BYTES];
	uint8_t k5[BLO_ID_BYTES];
	blo_err_t err = { 0 };
	bool seen = true;

	(void)state;
	blo_adapt_progress_reject_key(k1, BLO_ADAPT_CUSTOMS, "a.jsonl", 3, "bad", 3);
	blo_adapt_progress_reject_key(k2, BLO_ADAPT_CUSTOMS, "b.jsonl", 3, "bad", 3);
	blo_adapt_progress_reject_key(k3, BLO_ADAPT_CUSTOMS, "a.jsonl", 4, "bad", 3);
	blo_adapt_progress_reject_key(k4, BLO_ADAPT_CUSTOMS, "a.jsonl", 3, "bad!", 4);
	blo_adapt_progress_reject_key(k5, BLO_ADAPT_NARCOTICS, "a.jsonl", 3, "bad", 3);
	assert_memory_not_equal(k1, k2, BLO_ID_BYTES);
	assert_memory_not_equal(k1, k3, BLO_ID_BYTES);
	assert_memory_not_equal(k1, k4, BLO_ID_BYTES);
	assert_memory_not_equal(k1, k5, BLO_ID_BYTES);
	E(blo_adapt_progress_open(&p, store, &err));
	E(blo_adapt_progress_is_rejected(p, k1, &seen, &err));
	assert_false(seen);
	E(blo_adapt_progress_mark_rejected(p, k1, &err));
	blo_adapt_progress_close(&p);
	E(blo_adapt_progress_open(&p, store, &err));
	E(blo_adapt_progress_is_rejected(p, k1, &seen, &err));
	assert_true(seen);
	E(blo_adapt_progress_is_rejected(p, k2, &seen, &err));
	assert_false(seen);
	blo_adapt_progress_close(&p);
}

static void test_one_adapter_at_a_time(void **state)
{
	blo_adapt_progress_t *p = NULL, *q = NULL;
	blo_err_t err = { 0 };

	(void)state;
	E(blo_adapt_progress_open(&p, store, &err));
	assert_int_equal(blo_adapt_progress_open(&q, store, &err), -EBUSY);
	assert_null(q);
	assert_non_null(strstr(err.msg, "in use by another adapter"));
	blo_adapt_progress_close(&p);
	E(blo_adapt_progress_open(&q, store, &err));
	blo_adapt_progress_close(&q);
}

static void test_a_store_that_cannot_be_made_is_an_error(void **state)
{
	blo_adapt_progress_t *p = NULL;
	blo_err_t err = { 0 };
	char *path = NULL;

	(void)state;
	assert_true(asprintf(&path, "%s/no/such/folder", dir) > 0);
	assert_int_equal(blo_adapt_progress_open(&p, path, &err), -ENOENT);
	assert_null(p);
	free(path);
}

static void test_the_map_grows_when_it_fills(void **state)
{
	enum { BATCH = 2000, BATCHES = 60 };
	blo_adapt_progress_t *p = NULL;
	blo_adapt_done_t *d = calloc(BATCH, sizeof(*d));
	char (*refs)[300] = calloc(BATCH, sizeof(*refs));
	blo_err_t err = { 0 };
	size_t done = 0, rejected = 0;
	bool is = false;

	(void)state;
	assert_non_null(d);
	assert_non_null(refs);
	E(blo_adapt_progress_open(&p, store, &err));
	/* 120,000 records with long references: well past the first 16 MiB. */
	for (int b = 0; b < BATCHES; b++) {
		for (int i = 0; i < BATCH; i++) {
			snprintf(refs[i], sizeof(refs[i]), "%0250d-%d-%d", 0, b, i);
			id_of(d[i].id, refs[i]);
			d[i].seq = (uint64_t)(b * BATCH + i + 1);
			d[i].source_ref = refs[i];
		}
		E(blo_adapt_progress_mark_done(p, d, BATCH, &err));
	}
	E(blo_adapt_progress_counts(p, &done, &rejected, &err));
	assert_int_equal(done, BATCH * BATCHES);
	E(blo_adapt_progress_is_done(p, d[BATCH - 1].id, &is, &err));
	assert_true(is);
	blo_adapt_progress_close(&p);
	/* A grown store opens again at its size. */
	E(blo_adapt_progress_open(&p, store, &err));
	E(blo_adapt_progress_is_done(p, d[0].id, &is, &err));
	assert_true(is);
	blo_adapt_progress_close(&p);
	free(d);
	free(refs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_done_records_stay_done_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejections_are_remembered_by_input_record_and_text,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_adapter_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_store_that_cannot_be_made_is_an_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_the_map_grows_when_it_fills, setup, teardown),
	};

	return cmocka_run_group_tests_name("adapt_progress", tests, NULL, NULL);
}
