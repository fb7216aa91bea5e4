/*
 * blo_adapt_input: splits an agency export into records, with their record
 * and line numbers, as it arrives (a file, a pipe): JSON Lines (one object
 * per line) or CSV (RFC 4180: a header row, quoted fields that may hold
 * commas, doubled quotes and line breaks). A record that cannot be read as
 * one (too long, not UTF-8, an unterminated quote) comes back with the
 * problem named, so the caller rejects it and goes on with the next.
 */
#ifndef BLO_ADAPT_INPUT_H
#define BLO_ADAPT_INPUT_H

#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The most bytes of one record; a longer one is rejected as a whole. */
#define BLO_ADAPT_RECORD_MAX_BYTES (64u * 1024u)
/* The most fields of one CSV row. */
#define BLO_ADAPT_CSV_MAX_FIELDS 64

typedef enum { BLO_ADAPT_JSON_LINES = 0, BLO_ADAPT_CSV = 1 } blo_adapt_format_t;

typedef struct {
	size_t number;      /* 1, 2, ...; a CSV header row is record 0 */
	size_t line;        /* the line it starts on, from 1 */
	const char *text;   /* its bytes without the final line break, NUL-terminated */
	size_t len;
	const char *const *fields; /* CSV: the fields, unquoted, NUL-terminated */
	size_t n_fields;
	const char *problem; /* NULL, or why the record cannot be read */
	size_t problem_column; /* CSV: the column (from 1) the problem is in; 0: none */
} blo_adapt_record_t;

typedef struct blo_adapt_input blo_adapt_input_t;

/* Opens a reader of format over in (borrowed: the caller closes it after
 * blo_adapt_input_close). *out is the caller's. Returns 0 or BLO_ENOMEM. */
int blo_adapt_input_open(blo_adapt_input_t **out, blo_adapt_format_t format, FILE *in,
			 blo_err_t *err);

/* Reads the next record into *rec, whose pointers are borrowed until the
 * next call. Blank lines between records are skipped; a UTF-8 byte order
 * mark at the start is dropped. Returns 1 with a record, 0 at the end, or
 * -errno if reading failed. */
int blo_adapt_input_next(blo_adapt_input_t *self, blo_adapt_record_t *rec, blo_err_t *err);

/* Lines read so far. */
size_t blo_adapt_input_lines(const blo_adapt_input_t *self);

/* Closes the reader (not its FILE) and sets *self_p to NULL. NULL: nothing. */
void blo_adapt_input_close(blo_adapt_input_t **self_p);

/* Index of the first byte of s[0..len) that is not strict UTF-8 (no
 * overlong forms, surrogates or code points past U+10FFFF), or len. */
size_t blo_adapt_utf8_check(const char *s, size_t len);

#endif
