/*
 * Unit tests of blo_console_store: messages stored once by id, in arrival
 * order, flags and publish results, our own messages taking the delivered
 * envelope, the front ends' cursors, persistence across reopening, and the
 * running console's lock.
 */
#include "blo_test.h"

#include "blo_console_store.h"

#include <errno.h>
#include <sys/stat.h>

typedef struct {
	char *dir;
	char *store_dir;
	blo_console_store_t *store;
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = blo_test_mkdtemp();
	/* The store makes missing folders itself. */
	assert_true(asprintf(&f->store_dir, "%s/data/console", f->dir) > 0);
	E(blo_console_store_open(&f->store, f->store_dir, NULL));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	blo_console_store_close(&f->store);
	blo_test_rmdir(f->dir);
	free(f->store_dir);
	free(f->dir);
	free(f);
	return 0;
}

static void record(blo_console_record_t *r, uint8_t tag, const char *payload)
{
	memset(r, 0, sizeof(*r));
	memset(r->id, tag, BLO_ID_BYTES);
	r->envelope = (uint8_t *)payload;
	r->envelope_len = strlen(payload);
	r->broker_seq = tag;
	r->received_ms = 1000 + tag;
	r->flags = BLO_CONSOLE_VERIFIED;
}

typedef struct {
	uint64_t seqs[16];
	uint8_t tags[16];
	size_t n;
} seen_t;

static int collect(const blo_console_record_t *rec, void *arg)
{
	seen_t *s = arg;

	s->seqs[s->n] = rec->local_seq;
	s->tags[s->n] = rec->id[0];
	s->n++;
	return 0;
}

static void test_put_numbers_records_in_arrival_order(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r[3];
	bool stored[3];
	seen_t seen = {0};

	record(&r[0], 7, "seven");
	record(&r[1], 3, "three");
	record(&r[2], 9, "nine");
	E(blo_console_store_put(f->store, r, 3, stored, NULL));
	assert_true(stored[0] && stored[1] && stored[2]);
	assert_int_equal(r[0].local_seq, 1);
	assert_int_equal(r[1].local_seq, 2);
	assert_int_equal(r[2].local_seq, 3);
	E(blo_console_store_scan(f->store, 1, collect, &seen));
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.tags[0], 7);
	assert_int_equal(seen.tags[1], 3);
	assert_int_equal(seen.tags[2], 9);
	assert_int_equal(blo_console_store_last_seq(f->store), 3);
}

static void test_an_id_delivered_again_is_not_stored_twice(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r[2], again;
	bool stored[2];
	seen_t seen = {0};

	record(&r[0], 1, "first");
	record(&r[1], 1, "first, in the same batch");
	E(blo_console_store_put(f->store, r, 2, stored, NULL));
	assert_true(stored[0]);
	assert_false(stored[1]);
	assert_int_equal(r[1].local_seq, 1);
	record(&again, 1, "redelivered later");
	E(blo_console_store_put(f->store, &again, 1, stored, NULL));
	assert_false(stored[0]);
	E(blo_console_store_scan(f->store, 1, collect, &seen));
	assert_int_equal(seen.n, 1);
}

static void test_get_returns_a_copy_with_flags_and_note(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r, got;

	record(&r, 5, "payload");
	snprintf(r.note, sizeof(r.note), "signature not verified: test");
	r.flags = 0;
	E(blo_console_store_put(f->store, &r, 1, NULL, NULL));
	E(blo_console_store_get(f->store, r.id, &got, NULL));
	assert_int_equal(got.envelope_len, 7);
	assert_memory_equal(got.envelope, "payload", 7);
	assert_string_equal(got.note, "signature not verified: test");
	assert_int_equal(got.flags, 0);
	assert_int_equal(got.received_ms, 1005);
	assert_int_equal(got.broker_seq, 5);
	blo_console_record_clear(&got);
	assert_null(got.envelope);
	{
		uint8_t absent[BLO_ID_BYTES] = {0};

		assert_int_equal(blo_console_store_get(f->store, absent, &got, NULL), BLO_ENOTFOUND);
	}
}

static void test_flags_and_publish_results_are_updated_in_place(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r, got;

	record(&r, 4, "ack");
	r.flags = BLO_CONSOLE_MINE;
	r.pub = BLO_CONSOLE_PUB_PENDING;
	r.broker_seq = 0;
	E(blo_console_store_put(f->store, &r, 1, NULL, NULL));
	E(blo_console_store_set_flags(f->store, r.id, BLO_CONSOLE_READ, 0, NULL));
	E(blo_console_store_set_pub(f->store, r.id, BLO_CONSOLE_PUB_REJECTED, "UNKNOWN_REFERENCE: x", NULL));
	E(blo_console_store_get(f->store, r.id, &got, NULL));
	assert_int_equal(got.flags, BLO_CONSOLE_MINE | BLO_CONSOLE_READ);
	assert_int_equal(got.pub, BLO_CONSOLE_PUB_REJECTED);
	assert_string_equal(got.note, "UNKNOWN_REFERENCE: x");
	assert_memory_equal(got.envelope, "ack", 3);
	assert_int_equal(got.local_seq, 1);
	blo_console_record_clear(&got);
	E(blo_console_store_set_flags(f->store, r.id, 0, BLO_CONSOLE_READ, NULL));
	E(blo_console_store_get(f->store, r.id, &got, NULL));
	assert_int_equal(got.flags, BLO_CONSOLE_MINE);
	blo_console_record_clear(&got);
}

static void test_our_message_takes_the_delivered_envelope_once(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t mine, back, got;
	bool stored;

	record(&mine, 8, "as signed");
	mine.flags = BLO_CONSOLE_MINE | BLO_CONSOLE_READ;
	mine.pub = BLO_CONSOLE_PUB_ACCEPTED;
	mine.broker_seq = 0;
	E(blo_console_store_put(f->store, &mine, 1, NULL, NULL));
	record(&back, 8, "as delivered, with its hop trace");
	back.broker_seq = 42;
	E(blo_console_store_put(f->store, &back, 1, &stored, NULL));
	assert_false(stored);
	E(blo_console_store_get(f->store, mine.id, &got, NULL));
	assert_int_equal(got.broker_seq, 42);
	assert_int_equal(got.envelope_len, strlen("as delivered, with its hop trace"));
	assert_int_equal(got.flags, BLO_CONSOLE_MINE | BLO_CONSOLE_READ);
	assert_int_equal(got.pub, BLO_CONSOLE_PUB_ACCEPTED);
	blo_console_record_clear(&got);
}

static void test_cursors_start_at_zero_and_persist(void **state)
{
	fixture_t *f = *state;
	uint64_t seq = 99;

	E(blo_console_store_cursor_get(f->store, "json", &seq));
	assert_int_equal(seq, 0);
	E(blo_console_store_cursor_set(f->store, "json", 17, NULL));
	E(blo_console_store_cursor_set(f->store, "line", 3, NULL));
	blo_console_store_close(&f->store);
	E(blo_console_store_open(&f->store, f->store_dir, NULL));
	E(blo_console_store_cursor_get(f->store, "json", &seq));
	assert_int_equal(seq, 17);
	E(blo_console_store_cursor_get(f->store, "line", &seq));
	assert_int_equal(seq, 3);
}

static void test_records_survive_reopening_and_numbering_goes_on(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r;
	seen_t seen = {0};

	record(&r, 1, "one");
	E(blo_console_store_put(f->store, &r, 1, NULL, NULL));
	blo_console_store_close(&f->store);
	E(blo_console_store_open(&f->store, f->store_dir, NULL));
	record(&r, 2, "two");
	E(blo_console_store_put(f->store, &r, 1, NULL, NULL));
	assert_int_equal(r.local_seq, 2);
	E(blo_console_store_scan(f->store, 2, collect, &seen));
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.tags[0], 2);
}

static void test_a_second_console_cannot_take_the_lock(void **state)
{
	fixture_t *f = *state;
	blo_console_store_t *other = NULL;
	blo_err_t err = {0};

	E(blo_console_store_lock(f->store, NULL));
	E(blo_console_store_open(&other, f->store_dir, NULL));
	assert_int_equal(blo_console_store_lock(other, &err), -EWOULDBLOCK);
	assert_non_null(strstr(err.msg, "another blonet-console"));
	blo_console_store_close(&other);
	/* Released with the store. */
	blo_console_store_close(&f->store);
	E(blo_console_store_open(&other, f->store_dir, NULL));
	E(blo_console_store_lock(other, NULL));
	blo_console_store_close(&other);
	E(blo_console_store_open(&f->store, f->store_dir, NULL));
}

static void test_a_foreign_store_is_refused(void **state)
{
	fixture_t *f = *state;
	blo_journal_t *j = NULL;
	blo_console_store_t *s = NULL;
	char *dir = NULL;

	/* A broker journal is LMDB too, but not a console store. */
	assert_true(asprintf(&dir, "%s/journal", f->dir) > 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	E(blo_journal_open(&j, dir, NULL, NULL));
	blo_journal_close(&j);
	assert_int_not_equal(blo_console_store_open(&s, dir, NULL), 0);
	assert_null(s);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_numbers_records_in_arrival_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_id_delivered_again_is_not_stored_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_returns_a_copy_with_flags_and_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_and_publish_results_are_updated_in_place, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_our_message_takes_the_delivered_envelope_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cursors_start_at_zero_and_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_survive_reopening_and_numbering_goes_on, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_second_console_cannot_take_the_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_foreign_store_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests_name("console_store", tests, NULL, NULL);
}
