/*
 * blo_console_store: a BLO console's own store, on LMDB, so that every
 * message it received or sent can be read after a restart or while the link
 * to the broker is down. One record per message id: the envelope exactly as
 * delivered (or, for what this console sent, as signed) and what the
 * console knows about it (read, signature verified, sent by this console and
 * what the broker said). Records are numbered in arrival order (local
 * sequence, from 1). Storing an id again stores nothing: deliveries are at
 * least once, and this is where the console de-duplicates them.
 *
 * Retention: blo_console_store_prune removes messages for good but
 * remembers their ids (with when they were received), so that a late
 * redelivery of a pruned message stores nothing and is not shown again;
 * blo_console_store_forget drops that memory for messages received long
 * enough ago that no broker can deliver them again. Local sequences are
 * never given twice, even when the newest messages are pruned. The store
 * never grows past its limit (blo_console_store_set_limit): a write that
 * would store a new message is refused with BLO_EFULL and a message that
 * says what to do.
 *
 * Several processes may open the same store (LMDB locks); one writer at a
 * time is LMDB's rule, and a running console holds the folder's lock file
 * (blo_console_store_lock) so that a second console does not share its
 * durable subscription.
 */
#ifndef BLO_CONSOLE_STORE_H
#define BLO_CONSOLE_STORE_H

#include "blo_codec.h"
#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blo_console_store blo_console_store_t;

/* Record flags. */
enum {
	BLO_CONSOLE_READ = 1u << 0,     /* the officer has opened it */
	BLO_CONSOLE_VERIFIED = 1u << 1, /* the origin signature verified on arrival */
	BLO_CONSOLE_MINE = 1u << 2      /* sent by this console */
};

/* What the broker said about a message this console sent. */
typedef enum {
	BLO_CONSOLE_PUB_NONE = 0,   /* not sent by this console */
	BLO_CONSOLE_PUB_PENDING,    /* signed and stored, not yet acknowledged */
	BLO_CONSOLE_PUB_ACCEPTED,   /* stored by the broker */
	BLO_CONSOLE_PUB_DUPLICATE,  /* the broker held it already */
	BLO_CONSOLE_PUB_REJECTED    /* refused for good: note says why */
} blo_console_pub_t;

#define BLO_CONSOLE_NOTE_MAX 512 /* bytes of a note, including the NUL */
#define BLO_CONSOLE_STORE_DEFAULT_MB 1024 /* the limit unless set */
#define BLO_CONSOLE_STORE_MIN_MB 1

/* One stored message. In records the store hands out, envelope is
 * malloc()ed and the caller's (blo_console_record_clear frees it). */
typedef struct {
	uint8_t id[BLO_ID_BYTES];
	uint64_t local_seq;   /* arrival order in this store, from 1 */
	uint64_t broker_seq;  /* the broker's journal sequence; 0: none yet */
	int64_t received_ms;  /* stored at (sent: signed at) */
	uint32_t flags;       /* BLO_CONSOLE_* */
	blo_console_pub_t pub;
	char note[BLO_CONSOLE_NOTE_MAX]; /* why verification or a publish failed */
	uint8_t *envelope;    /* serialized Envelope */
	size_t envelope_len;
} blo_console_record_t;

/* Opens (creating it and its folder if needed) the store in folder dir.
 * *out is the caller's: close with blo_console_store_close. Returns 0,
 * -errno, BLO_ECORRUPT (not a console store, or of a newer format) or an
 * MDB_* code. */
int blo_console_store_open(blo_console_store_t **out, const char *dir, blo_err_t *err);

/* Closes it (and its lock) and sets *self_p to NULL. NULL: nothing. */
void blo_console_store_close(blo_console_store_t **self_p);

/* Sets the most the store may take on disk, in MB (0: the default,
 * BLO_CONSOLE_STORE_DEFAULT_MB). Storing new messages that would need more
 * fails with BLO_EFULL; updates of held records, cursors and pruning may
 * use up to 1/16 more, so that a full store still records what was shown
 * and can be emptied. Returns 0 or BLO_EINVAL, with err saying so. */
int blo_console_store_set_limit(blo_console_store_t *self, uint64_t max_mb, blo_err_t *err);

/* Takes the folder's exclusive lock for a running console, without
 * waiting. Returns 0, or -EWOULDBLOCK when another process holds it. */
int blo_console_store_lock(blo_console_store_t *self, blo_err_t *err);

/* Stores records[0..n) in one synced write transaction. For each record
 * the caller fills id, envelope, envelope_len, broker_seq, received_ms,
 * flags, pub and note; the store sets local_seq and fills stored[i]: true
 * when it is new, false when the id was held already (then nothing is
 * written, except that a record of this console's that had no broker
 * sequence yet takes the delivered envelope, with its hop trace, and
 * broker_seq; local_seq is then the stored one; for an id pruned and still
 * remembered, local_seq is 0). stored may be NULL. Returns 0 or an error,
 * and then nothing of the batch is stored: BLO_EFULL when the store is at
 * its limit. */
int blo_console_store_put(blo_console_store_t *self, blo_console_record_t *records, size_t n,
			  bool *stored, blo_err_t *err);

/* Copies the record of id into *out (caller clears it). BLO_ENOTFOUND if
 * absent. */
int blo_console_store_get(blo_console_store_t *self, const uint8_t id[BLO_ID_BYTES],
			  blo_console_record_t *out, blo_err_t *err);

/* Sets and clears flags of id's record. BLO_ENOTFOUND if absent. */
int blo_console_store_set_flags(blo_console_store_t *self, const uint8_t id[BLO_ID_BYTES],
				uint32_t set, uint32_t clear, blo_err_t *err);

/* Records the broker's answer to a publish of id: pub and (for REJECTED)
 * note (NULL: none). BLO_ENOTFOUND if absent. */
int blo_console_store_set_pub(blo_console_store_t *self, const uint8_t id[BLO_ID_BYTES],
			      blo_console_pub_t pub, const char *note, blo_err_t *err);

/* Removes the records of ids[0..n) (ids not held are skipped) in one
 * synced transaction and remembers each id with its received_ms: storing
 * it again stores nothing. *removed (optional): how many were held. */
int blo_console_store_prune(blo_console_store_t *self, const uint8_t (*ids)[BLO_ID_BYTES], size_t n,
			    size_t *removed, blo_err_t *err);

/* Drops the memory of pruned ids received before before_ms (their ids
 * could be stored again afterwards). *forgotten (optional): how many. */
int blo_console_store_forget(blo_console_store_t *self, int64_t before_ms, size_t *forgotten,
			     blo_err_t *err);

/* How many messages the store holds and how many pruned ids it remembers
 * (either pointer may be NULL). Returns 0 or an MDB_* code. */
int blo_console_store_counts(blo_console_store_t *self, uint64_t *messages, uint64_t *remembered);

/* Calls fn for each record with local_seq >= from_seq in arrival order,
 * inside one read transaction. rec is valid during the call only (its
 * envelope points into the map: do not free). fn returns 0 to go on, other
 * values stop the scan and are returned. */
typedef int (*blo_console_store_scan_fn)(const blo_console_record_t *rec, void *arg);
int blo_console_store_scan(blo_console_store_t *self, uint64_t from_seq,
			   blo_console_store_scan_fn fn, void *arg);

/* The highest local sequence ever given (0: none), pruned ones included. */
uint64_t blo_console_store_last_seq(blo_console_store_t *self);

/* Named cursors of the front ends ("json", "line"): how far each has shown
 * the store. A name never set reads 0. */
int blo_console_store_cursor_get(blo_console_store_t *self, const char *name, uint64_t *seq);
int blo_console_store_cursor_set(blo_console_store_t *self, const char *name, uint64_t seq,
				 blo_err_t *err);

/* Frees what the store put in rec and zeroes it. */
void blo_console_record_clear(blo_console_record_t *rec);

#endif
