/*
 * The broker writer's held answers (broker_held_add, broker_held_take): the
 * acks of a deferred commit wait until the journal has that commit on disk,
 * and go then, in order, without waiting for any later commit.
 */
#include "blo_test.h"

#include "blo_broker_int.h"

/* A chain of n jobs: accepted with sequences first..first+n-1. */
static job_t *chain_of(uint64_t first, size_t n)
{
	job_t *head = NULL, **tail = &head;

	for (size_t i = 0; i < n; i++) {
		job_t *j = calloc(1, sizeof(*j));

		assert_non_null(j);
		j->kind = JOB_PUBLISH;
		j->status = BLONET__PUBLISH_STATUS__ACCEPTED;
		j->seq = first + i;
		*tail = j;
		tail = &j->next;
	}
	return head;
}

static size_t length_of(const job_t *j)
{
	size_t n = 0;

	for (; j != NULL; j = j->next)
		n++;
	return n;
}

/* The sequences of a chain are first, first+1, ... in order. */
static void assert_seqs(const job_t *j, uint64_t first, size_t n)
{
	assert_int_equal(length_of(j), n);
	for (size_t i = 0; i < n; i++, j = j->next)
		assert_int_equal(j->seq, first + i);
}

static void test_nothing_held_gives_nothing(void **state)
{
	held_t h = {.tail = &h.head};
	uint64_t last = 99;

	(void)state;
	assert_null(broker_held_take(&h, UINT64_MAX, &last));
	assert_int_equal(last, 0);
	assert_ptr_equal(h.tail, &h.head);
}

static void test_answers_go_once_their_commit_is_on_disk_in_order(void **state)
{
	held_t h = {.tail = &h.head};
	uint64_t last = 0;
	job_t *got;

	(void)state;
	broker_held_add(&h, chain_of(1, 3), 5);
	broker_held_add(&h, chain_of(4, 2), 6);
	assert_int_equal(h.txn, 6);
	assert_null(broker_held_take(&h, 4, &last));
	assert_int_equal(last, 0);

	got = broker_held_take(&h, 5, &last);
	assert_seqs(got, 1, 3);
	assert_int_equal(last, 3);
	broker_job_free_chain(got);
	assert_seqs(h.head, 4, 2);
	assert_null(broker_held_take(&h, 5, &last));

	got = broker_held_take(&h, 6, &last);
	assert_seqs(got, 4, 2);
	assert_int_equal(last, 5);
	broker_job_free_chain(got);
	assert_null(h.head);
	assert_ptr_equal(h.tail, &h.head);
	assert_int_equal(h.txn, 0);
	/* Empty again, it takes new chains. */
	broker_held_add(&h, chain_of(6, 1), 7);
	got = broker_held_take(&h, 7, &last);
	assert_seqs(got, 6, 1);
	broker_job_free_chain(got);
}

/* Under steady load each deferred commit is made durable by the next one:
 * the answers of commit k go as soon as commit k+1 is done, never later. */
static void test_steady_commits_release_each_previous_one(void **state)
{
	held_t h = {.tail = &h.head};
	uint64_t last = 0;

	(void)state;
	for (uint64_t k = 1; k <= 10; k++) {
		job_t *got;

		broker_held_add(&h, chain_of(10 * k, 4), 100 + k);
		/* Commit 100+k synced its data pages: 100+k-1 is on disk. */
		got = broker_held_take(&h, 100 + k - 1, &last);
		if (k == 1) {
			assert_null(got);
		} else {
			assert_seqs(got, 10 * (k - 1), 4);
			assert_int_equal(last, 10 * (k - 1) + 3);
		}
		broker_job_free_chain(got);
		/* Only the newest commit's answers wait. */
		assert_seqs(h.head, 10 * k, 4);
	}
	broker_job_free_chain(broker_held_take(&h, UINT64_MAX, &last));
}

/* A commit that wrote nothing (txn 0) stays behind what is held before it,
 * so answers keep their order. */
static void test_a_commit_without_a_transaction_waits_behind_earlier_ones(void **state)
{
	held_t h = {.tail = &h.head};
	uint64_t last = 0;
	job_t *got;

	(void)state;
	broker_held_add(&h, chain_of(1, 2), 5);
	broker_held_add(&h, chain_of(3, 1), 0);
	assert_int_equal(h.txn, 5);
	assert_null(broker_held_take(&h, 4, &last));
	got = broker_held_take(&h, 5, &last);
	assert_seqs(got, 1, 3);
	assert_int_equal(last, 3);
	broker_job_free_chain(got);
	assert_null(h.head);
}

/* Only what was stored counts toward the sequence made deliverable: a
 * duplicate names the sequence stored before, a refusal none. */
static void test_last_seq_counts_only_accepted_answers(void **state)
{
	held_t h = {.tail = &h.head};
	job_t *c = chain_of(7, 3);
	uint64_t last = 0;
	job_t *got;

	(void)state;
	c->status = BLONET__PUBLISH_STATUS__DUPLICATE;
	c->seq = 40;
	c->next->next->status = BLONET__PUBLISH_STATUS__REJECTED;
	c->next->next->seq = 0;
	broker_held_add(&h, c, 3);
	got = broker_held_take(&h, 3, &last);
	assert_int_equal(length_of(got), 3);
	assert_int_equal(last, 8);
	broker_job_free_chain(got);

	c = chain_of(50, 1);
	c->status = BLONET__PUBLISH_STATUS__DUPLICATE;
	broker_held_add(&h, c, 4);
	got = broker_held_take(&h, 4, &last);
	assert_int_equal(last, 0);
	broker_job_free_chain(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_held_gives_nothing),
		cmocka_unit_test(test_answers_go_once_their_commit_is_on_disk_in_order),
		cmocka_unit_test(test_steady_commits_release_each_previous_one),
		cmocka_unit_test(test_a_commit_without_a_transaction_waits_behind_earlier_ones),
		cmocka_unit_test(test_last_seq_counts_only_accepted_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
