/*
 * blo_adapt_progress: an adapter's durable progress, a small LMDB store of
 * its own (not the broker's journal). It remembers every record the broker
 * acknowledged (by alert id, so a record is skipped when it comes again, in
 * the same file after a restart or in another) and every rejection already
 * written to the reject file (so a restart does not write it twice). A
 * record is marked done only after its final PublishAck; one synced
 * transaction marks a batch.
 */
#ifndef BLO_ADAPT_PROGRESS_H
#define BLO_ADAPT_PROGRESS_H

#include "blo_adapt_rules.h"
#include "blo_codec.h"
#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blo_adapt_progress blo_adapt_progress_t;

typedef struct {
	uint8_t id[BLO_ID_BYTES]; /* the alert id */
	uint64_t seq;             /* the broker's journal sequence */
	bool duplicate;           /* the broker already held it */
	const char *source_ref;   /* borrowed; kept for operators */
} blo_adapt_done_t;

/* Opens (creating it, mode 0700) the store in the folder dir and takes an
 * exclusive lock on it: a second adapter on the same store is refused with
 * -EBUSY. *out is the caller's. Returns 0, -errno or an MDB_* code. */
int blo_adapt_progress_open(blo_adapt_progress_t **out, const char *dir, blo_err_t *err);

/* Closes the store, releasing the lock, and sets *self_p to NULL. */
void blo_adapt_progress_close(blo_adapt_progress_t **self_p);

/* *done: whether the alert id was acknowledged by the broker. */
int blo_adapt_progress_is_done(blo_adapt_progress_t *self, const uint8_t id[BLO_ID_BYTES],
			       bool *done, blo_err_t *err);

/* Marks n acknowledged records done, in one synced transaction. Grows the
 * map when it fills. */
int blo_adapt_progress_mark_done(blo_adapt_progress_t *self, const blo_adapt_done_t *done,
				 size_t n, blo_err_t *err);

/* The key of a rejection: the agency, the input's name, the record number
 * and its bytes, hashed. */
void blo_adapt_progress_reject_key(uint8_t key[BLO_ID_BYTES], blo_adapt_agency_t agency,
				   const char *input, size_t number, const char *text, size_t len);

/* *seen: whether this rejection was written before. */
int blo_adapt_progress_is_rejected(blo_adapt_progress_t *self, const uint8_t key[BLO_ID_BYTES],
				   bool *seen, blo_err_t *err);

/* Remembers a rejection written to the reject file (synced). */
int blo_adapt_progress_mark_rejected(blo_adapt_progress_t *self,
				     const uint8_t key[BLO_ID_BYTES], blo_err_t *err);

/* How many records are done and rejections remembered. */
int blo_adapt_progress_counts(blo_adapt_progress_t *self, size_t *done, size_t *rejected,
			      blo_err_t *err);

#endif
