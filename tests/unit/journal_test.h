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

#endif
