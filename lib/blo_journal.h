/*
 * blo_journal: the broker's durable store, on LMDB. Envelopes are appended
 * in batches, one synced write transaction per batch (group commit), under
 * monotonic sequence numbers starting at 1; an id index makes a re-appended
 * id a no-op reported as a duplicate. Named durable cursors record how far
 * each subscriber or peer has acknowledged. Retention purges by age and by
 * count. LMDB's copy-on-write keeps every committed batch across a crash.
 */
#ifndef BLO_JOURNAL_H
#define BLO_JOURNAL_H

#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_JOURNAL_ID_BYTES 16
#define BLO_CURSOR_NAME_MAX 128 /* including the NUL */

typedef struct blo_journal blo_journal_t;

typedef struct {
	/* Size of the LMDB map in bytes: the most the journal can hold. 0: 1 GiB.
	 * Rounded up to whole pages. May grow on reopen; never shrinks below what
	 * is stored. Purge of a full journal may add a few pages (see there). */
	size_t map_size;
} blo_journal_opts_t;

/* One envelope to append. The caller fills id, data, len and time_ms;
 * blo_journal_append fills seq and result. */
typedef struct {
	const uint8_t *id;   /* BLO_JOURNAL_ID_BYTES; borrowed */
	const uint8_t *data; /* the serialized envelope; borrowed */
	size_t len;
	int64_t time_ms;     /* when the broker received it */
	uint64_t seq;        /* out: new sequence, or the stored one if duplicate;
			      * 0 when the batch failed */
	int result;          /* out: 0 stored, BLO_EDUPLICATE already stored, or
			      * the batch's error code when the batch failed */
} blo_journal_entry_t;

/* A stored record. Pointers point into the LMDB map: do not free; valid only
 * inside the callback or until the next journal call, as documented. */
typedef struct {
	uint64_t seq;
	int64_t time_ms;
	const uint8_t *id;   /* BLO_JOURNAL_ID_BYTES */
	const uint8_t *data;
	size_t len;
} blo_journal_record_t;

typedef struct {
	uint64_t first_seq; /* 0 when empty */
	uint64_t last_seq;  /* highest ever assigned (survives purges) */
	uint64_t count;     /* records stored */
	size_t map_size;    /* bytes */
	size_t used_bytes;  /* pages in use * page size: the pages of the latest
			     * snapshot (all databases and the free-page list);
			     * free pages awaiting reuse are not counted */
} blo_journal_stats_t;

/* Opens (creating if needed) the journal in folder dir, which must exist.
 * opts may be NULL (defaults). *out is the caller's: close with
 * blo_journal_close. Not to be used across fork(): open it in the process
 * that uses it. Any number of threads may call the read functions while
 * one thread writes. The id index lives in memory, 23 to 46 bytes per
 * stored record, and open rebuilds it from the stored ids (about 0.3 s per
 * million records, warm). Returns 0, -errno (-ENOENT: no such folder),
 * BLO_ECORRUPT (unknown format, damaged store), BLO_ENOMEM, BLO_EFULL or an
 * MDB_* code. */
int blo_journal_open(blo_journal_t **out, const char *dir, const blo_journal_opts_t *opts,
		     blo_err_t *err);

/* Closes the journal and sets *self_p to NULL. NULL: nothing. */
void blo_journal_close(blo_journal_t **self_p);

/* Appends entries[0..n) in one write transaction, committed and synced to
 * disk before it returns. Each entry's result says stored or duplicate (a
 * later entry repeating an id earlier in the same batch is a duplicate too);
 * duplicates take no sequence number. On failure nothing of this batch is
 * stored and everything committed before stays: BLO_EFULL when the map is
 * full (purge or grow, then retry), BLO_ECORRUPT, -errno or an MDB_* code
 * otherwise; err names the journal folder (and map size when full). n == 0:
 * returns 0 and writes nothing. */
int blo_journal_append(blo_journal_t *self, blo_journal_entry_t *entries, size_t n, blo_err_t *err);

/* Copies the record at seq: *data (malloc()ed, caller frees, never NULL on
 * success even when *len is 0), *len, and optionally time_ms and id (16
 * bytes); either may be NULL. BLO_ENOTFOUND if there is no such record
 * (never stored, or purged); BLO_ENOMEM. */
int blo_journal_get(blo_journal_t *self, uint64_t seq, uint8_t **data, size_t *len,
		    int64_t *time_ms, uint8_t *id);

/* The sequence under which id (16 bytes) is stored, or BLO_ENOTFOUND (never
 * stored, or purged). */
int blo_journal_find_id(blo_journal_t *self, const uint8_t *id, uint64_t *seq);

/* Calls fn for each record with sequence >= from_seq, in order, at most max
 * records (0: no limit), inside one read transaction (a consistent snapshot:
 * appends made meanwhile are not seen). rec points into the map, valid
 * during the call only. fn returns 0 to go on, anything else to stop: that
 * value is returned. Returns 0 at the end. fn must not call
 * blo_journal_purge (it may wait for the scan to end). */
typedef int (*blo_journal_scan_fn)(const blo_journal_record_t *rec, void *arg);
int blo_journal_scan(blo_journal_t *self, uint64_t from_seq, size_t max, blo_journal_scan_fn fn,
		     void *arg);

/* The first sequence whose time_ms >= time_ms, for replay from a time; or
 * last_seq + 1 when none is. Exact even if time_ms went back (a clock step):
 * the journal remembers the last record that broke the order, scans up to
 * it and binary-searches the ascending rest, so the usual cost is
 * O(log^2 n). */
int blo_journal_seq_at_time(blo_journal_t *self, int64_t time_ms, uint64_t *seq);

/* Named durable cursors: the last sequence a subscriber or peer has
 * acknowledged. Names are 1 to BLO_CURSOR_NAME_MAX - 1 bytes, else
 * BLO_EINVAL. get: BLO_ENOTFOUND if the cursor was never set (or deleted).
 * set: one synced transaction for all n cursors (BLO_EFULL when the map is
 * full). delete: synced; BLO_ENOTFOUND if there was no such cursor. */
int blo_journal_cursor_get(blo_journal_t *self, const char *name, uint64_t *seq);
int blo_journal_cursor_set(blo_journal_t *self, const char *const *names, const uint64_t *seqs,
			   size_t n, blo_err_t *err);
int blo_journal_cursor_delete(blo_journal_t *self, const char *name);

/* Retention: deletes records whose time_ms < older_than_ms (a time in ms
 * since the epoch, e.g. now - max_age; 0: no age limit) and then the oldest
 * records beyond keep_count (0: no count limit), in batches of synced
 * transactions; their ids leave the index too; last_seq stays. Records go
 * oldest sequence first and purge stops at the first one it keeps, so the
 * stored sequences stay contiguous (a record older than the limit but
 * appended after a newer one, by a clock step back, stays until the newer
 * one goes). Deleting needs a few free pages: if a full map has none, purge
 * grows the map by a small step (1/64 of it, at least 64 pages). *purged
 * (optional) receives how many went, also on failure (batches committed
 * before it). */
int blo_journal_purge(blo_journal_t *self, int64_t older_than_ms, uint64_t keep_count,
		      uint64_t *purged, blo_err_t *err);

/* Fills *out from one consistent snapshot. */
int blo_journal_stats(blo_journal_t *self, blo_journal_stats_t *out);

#endif
