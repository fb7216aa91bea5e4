/*
 * Unit tests of blo_console_store: messages stored once by id, in arrival
 * order, flags and publish results, our own messages taking the delivered
 * envelope, the front ends' cursors, persistence across reopening, the
 * running console's lock, and retention: pruned messages leave, their ids
 * stay remembered (no second showing), numbers are never reused, and a store
 * at its size limit refuses with BLO_EFULL until pruning frees it.
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
	blo_committee_t *c = NULL;
	blo_err_t err = {0};
	char *dir = NULL;

	/* A broker journal is LMDB too, but not a console store. */
	assert_true(asprintf(&dir, "%s/journal", f->dir) > 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	E(blo_journal_open(&j, dir, NULL, NULL));
	blo_journal_close(&j);
	assert_int_equal(blo_console_store_open(&s, dir, &err), BLO_ECORRUPT);
	assert_null(s);
	assert_non_null(strstr(err.msg, "holds another store, not a console's"));
	/* Nor a committee's store. */
	free(dir);
	assert_true(asprintf(&dir, "%s/committee", f->dir) > 0);
	E(blo_committee_open(&c, dir, NULL, NULL));
	blo_committee_close(&c);
	assert_int_equal(blo_console_store_open(&s, dir, &err), BLO_ECORRUPT);
	assert_null(s);
	/* And the other way round (the console's store closed first: one
	 * process opens an LMDB file once). */
	blo_console_store_close(&f->store);
	assert_int_equal(blo_committee_open(&c, f->store_dir, NULL, &err), BLO_ECORRUPT);
	assert_null(c);
	assert_non_null(strstr(err.msg, "holds another store, not a committee's"));
	free(dir);
}

static void test_a_pruned_message_is_gone_but_never_stored_again(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r[3], again;
	uint8_t ids[2][BLO_ID_BYTES];
	bool stored[3];
	seen_t seen = {0};
	uint64_t messages = 0, remembered = 0;
	size_t removed = 0;
	blo_console_record_t got;

	record(&r[0], 1, "one");
	record(&r[1], 2, "two");
	record(&r[2], 3, "three");
	E(blo_console_store_put(f->store, r, 3, stored, NULL));
	memcpy(ids[0], r[0].id, BLO_ID_BYTES);
	memset(ids[1], 0x77, BLO_ID_BYTES); /* not held: skipped */
	E(blo_console_store_prune(f->store, (const uint8_t (*)[BLO_ID_BYTES])ids, 2, &removed, NULL));
	assert_int_equal(removed, 1);
	E(blo_console_store_scan(f->store, 1, collect, &seen));
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.tags[0], 2);
	assert_int_equal(blo_console_store_get(f->store, r[0].id, &got, NULL), BLO_ENOTFOUND);
	E(blo_console_store_counts(f->store, &messages, &remembered));
	assert_int_equal(messages, 2);
	assert_int_equal(remembered, 1);
	/* A late redelivery, even after a restart, stores nothing. */
	blo_console_store_close(&f->store);
	E(blo_console_store_open(&f->store, f->store_dir, NULL));
	record(&again, 1, "one, delivered again");
	E(blo_console_store_put(f->store, &again, 1, stored, NULL));
	assert_false(stored[0]);
	assert_int_equal(again.local_seq, 0);
	memset(&seen, 0, sizeof(seen));
	E(blo_console_store_scan(f->store, 1, collect, &seen));
	assert_int_equal(seen.n, 2);
}

static void test_numbers_are_not_given_again_when_the_newest_are_pruned(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r[3], next;
	uint8_t ids[3][BLO_ID_BYTES];

	record(&r[0], 1, "one");
	record(&r[1], 2, "two");
	record(&r[2], 3, "three");
	E(blo_console_store_put(f->store, r, 3, NULL, NULL));
	for (int i = 0; i < 3; i++)
		memcpy(ids[i], r[i].id, BLO_ID_BYTES);
	E(blo_console_store_prune(f->store, (const uint8_t (*)[BLO_ID_BYTES])ids, 3, NULL, NULL));
	assert_int_equal(blo_console_store_last_seq(f->store), 3);
	blo_console_store_close(&f->store);
	E(blo_console_store_open(&f->store, f->store_dir, NULL));
	assert_int_equal(blo_console_store_last_seq(f->store), 3);
	/* A front end's cursor at 3 must not skip the next message. */
	record(&next, 4, "four");
	E(blo_console_store_put(f->store, &next, 1, NULL, NULL));
	assert_int_equal(next.local_seq, 4);
}

static void test_forget_drops_only_the_memory_of_old_ids(void **state)
{
	fixture_t *f = *state;
	blo_console_record_t r[4], again;
	uint8_t ids[4][BLO_ID_BYTES];
	uint64_t remembered = 0;
	size_t forgotten = 0;
	bool stored[1];

	/* received_ms 1001..1004, interleaved in id order */
	record(&r[0], 4, "a");
	record(&r[1], 1, "b");
	record(&r[2], 3, "c");
	record(&r[3], 2, "d");
	E(blo_console_store_put(f->store, r, 4, NULL, NULL));
	for (int i = 0; i < 4; i++)
		memcpy(ids[i], r[i].id, BLO_ID_BYTES);
	E(blo_console_store_prune(f->store, (const uint8_t (*)[BLO_ID_BYTES])ids, 4, NULL, NULL));
	E(blo_console_store_forget(f->store, 1003, &forgotten, NULL));
	assert_int_equal(forgotten, 2); /* received at 1001 and 1002 */
	E(blo_console_store_counts(f->store, NULL, &remembered));
	assert_int_equal(remembered, 2);
	record(&again, 3, "c again: still remembered");
	E(blo_console_store_put(f->store, &again, 1, stored, NULL));
	assert_false(stored[0]);
	record(&again, 1, "b again: forgotten, so new");
	E(blo_console_store_put(f->store, &again, 1, stored, NULL));
	assert_true(stored[0]);
	assert_int_equal(again.local_seq, 5);
}

static void test_a_full_store_refuses_clearly_until_pruning_frees_it(void **state)
{
	fixture_t *f = *state;
	static char payload[8192];
	uint8_t (*ids)[BLO_ID_BYTES] = calloc(4096, BLO_ID_BYTES);
	blo_console_record_t r;
	blo_err_t err = {0};
	size_t n = 0;
	bool stored[1];
	int rc = 0;

	assert_non_null(ids);
	memset(payload, 'x', sizeof(payload) - 1);
	assert_int_equal(blo_console_store_set_limit(f->store, 0, NULL), 0);
	assert_int_equal(blo_console_store_set_limit(f->store, 2, NULL), 0);
	while (n < 4096) {
		record(&r, 0, payload);
		memcpy(r.id, &n, sizeof(n));
		r.id[15] = 0xAB;
		rc = blo_console_store_put(f->store, &r, 1, stored, &err);
		if (rc != 0)
			break;
		memcpy(ids[n++], r.id, BLO_ID_BYTES);
	}
	assert_int_equal(rc, BLO_EFULL);
	assert_true(n > 50 && n < 400); /* about 2 MB of 8 KB records */
	assert_non_null(strstr(err.msg, "is full (limit 2 MB)"));
	assert_non_null(strstr(err.msg, "--keep-days"));
	/* Nothing of the refused write is stored; pruning frees room. */
	E(blo_console_store_prune(f->store, (const uint8_t (*)[BLO_ID_BYTES])ids, n / 2, NULL, NULL));
	E(blo_console_store_put(f->store, &r, 1, stored, NULL));
	assert_true(stored[0]);
	free(ids);
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
		cmocka_unit_test_setup_teardown(test_a_pruned_message_is_gone_but_never_stored_again, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_numbers_are_not_given_again_when_the_newest_are_pruned,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget_drops_only_the_memory_of_old_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_full_store_refuses_clearly_until_pruning_frees_it, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("console_store", tests, NULL, NULL);
}
