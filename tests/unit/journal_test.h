/*
 * What the journal tests share (test_journal.c, test_journal_wal.c,
 * test_audit.c): payloads that are a function of a number n (the id, the
 * length and every byte), so that any record can be checked against what
 * was written.
 */
#ifndef JOURNAL_TEST_H
#define JOURNAL_TEST_H

#include "blo_test.h"

static inline void id_of(uint64_t n, uint8_t id[BLO_JOURNAL_ID_BYTES])
{
	uint64_t x = n * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;

	for (int i = 0; i < BLO_JOURNAL_ID_BYTES; i++) {
		x ^= x >> 29;
		x *= 0xBF58476D1CE4E5B9ull;
		id[i] = (uint8_t)(x >> 56);
	}
}

static inline size_t len_of(uint64_t n)
{
	return 40 + (size_t)(n * 37 % 600);
}

static inline void data_of(uint64_t n, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(n * 131 + i * 7);
}

/* The record at seq must be number n, byte for byte, and its id must be
 * found under seq. */
static inline void assert_record_is(blo_journal_t *j, uint64_t seq, uint64_t n)
{
	uint8_t *data = NULL, id[BLO_JOURNAL_ID_BYTES], want_id[BLO_JOURNAL_ID_BYTES];
	uint8_t *want = malloc(len_of(n));
	size_t len = 0;
	int64_t time_ms = 0;
	uint64_t found = 0;

	assert_non_null(want);
	E(blo_journal_get(j, seq, &data, &len, &time_ms, id));
	data_of(n, want, len_of(n));
	id_of(n, want_id);
	assert_int_equal(len, len_of(n));
	assert_memory_equal(data, want, len);
	assert_memory_equal(id, want_id, BLO_JOURNAL_ID_BYTES);
	assert_int_equal(time_ms, (int64_t)n);
	E(blo_journal_find_id(j, want_id, &found));
	assert_int_equal(found, seq);
	free(data);
	free(want);
}

#endif
