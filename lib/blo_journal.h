/*
 * blo_journal: the broker's durable store, on LMDB. Envelopes are appended
 * in batches, one synced write transaction per batch (group commit), under
 * monotonic sequence numbers starting at 1; an id index makes a re-appended
 * id a no-op reported as a duplicate. Named durable cursors record how far
 * each subscriber or peer has acknowledged. An audit log, a hash chain in
 * the same store, records what the broker did with each alert. One batch
 * may carry all three, committed together. Retention purges envelopes by
 * age and by count, never audit records: the oldest of those leave only by
 * blo_journal_audit_trim, once a caller (blo_audit_archive) has written
 * them elsewhere. LMDB's copy-on-write keeps every committed batch across a
 * crash.
 */
#ifndef BLO_JOURNAL_H
#define BLO_JOURNAL_H

#include "blo_err.h"
#include "blo_hist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_JOURNAL_ID_BYTES 16
#define BLO_CURSOR_NAME_MAX 128 /* including the NUL */

typedef struct blo_journal blo_journal_t;

typedef struct {
	/* Size of the LMDB map in bytes: the most the journal can hold. 0: 1 GiB.
	 * Rounded up to whole pages. May grow on reopen; never shrinks below what
	 * is stored. Purge of a full journal may add a few pages (see there), and
	 * so may audit records and cursors while it is full (blo_journal_commit). */
	size_t map_size;
	/* Size of the write-ahead log (the file "wal" in the journal's folder)
	 * in bytes, written out in full when it is made; 0: none, and batches
	 * asking for it commit as usual (see blo_journal_batch_t.logged).
	 * Whatever this says, open replays a log it finds (see
	 * blo_journal_open). At least BLO_JOURNAL_WAL_MIN. */
	size_t wal_size;
	/* Optional, out: why the log could not be made, if it could not (a
	 * filesystem without room for it and 64 MiB more, say): the journal
	 * opens all the same, without one. */
	blo_err_t *wal_err;
} blo_journal_opts_t;

#define BLO_JOURNAL_WAL_MIN ((size_t)64 << 10)

/* One envelope to append. The caller fills id, data, len and time_ms;
 * blo_journal_append or blo_journal_commit fills seq and result. */
typedef struct {
	const uint8_t *id;   /* BLO_JOURNAL_ID_BYTES; borrowed */
	const uint8_t *data; /* the serialized envelope; borrowed */
	size_t len;
	int64_t time_ms;     /* when the broker received it */
	uint64_t seq;        /* out: new sequence, or the stored one if duplicate;
			      * 0 when the batch failed or for a conflict */
	int result;          /* out: 0 stored, BLO_EDUPLICATE already stored,
			      * BLO_ECONFLICT the id is another alert's (nothing
			      * stored), what same answered when it could not
			      * tell (nothing stored; the rest of the batch is),
			      * or the batch's error code when the batch failed */
	/* Optional: asked when the id is already stored (or earlier in the
	 * batch), with that record's envelope, whether it is this entry's
	 * alert again (> 0: BLO_EDUPLICATE) or another alert under the same
	 * id (0: BLO_ECONFLICT); a BLO_* error (< 0, such as BLO_ENOMEM) when
	 * it cannot tell just now. NULL: every stored id is a duplicate.
	 * Called inside the write transaction: it must not call the journal. */
	int (*same)(const uint8_t *stored, size_t stored_len, void *arg);
	void *same_arg;
} blo_journal_entry_t;

/* One durable cursor to set: the subscriber or peer called name (1 to
 * BLO_CURSOR_NAME_MAX - 1 bytes; borrowed) has acknowledged up to seq. Or,
 * with remove, to delete (seq is ignored; no matter if there is none). */
typedef struct {
	const char *name;
	uint64_t seq;
	bool remove;
} blo_cursor_update_t;

/* What an audit record says happened, recorded as the name in quotes. */
typedef enum {
	BLO_AUDIT_ACCEPT = 1, /* "accept": a publish stored */
	BLO_AUDIT_DUPLICATE,  /* "duplicate": a publish already stored, acked again */
	BLO_AUDIT_REJECT,     /* "reject": a publish or message refused */
	BLO_AUDIT_DELIVER,    /* "deliver": an alert delivered to a subscriber */
	BLO_AUDIT_FORWARD,    /* "forward": an alert forwarded to a peer broker */
	BLO_AUDIT_RECEIVE,    /* "receive": an alert received from a peer broker */
	BLO_AUDIT_SESSION,    /* "session": authentication events */
	BLO_AUDIT_ADMIN       /* "admin": registry reload and other operator actions */
} blo_audit_event_t;

#define BLO_AUDIT_HASH_BYTES 32   /* BLAKE2b-256 */
#define BLO_AUDIT_FIELD_MAX 4096  /* bytes of principal or detail recorded */
#define BLO_AUDIT_NO_ENTRY (-1)   /* entry_index of a record about no entry */

/* One audit record to append; every pointer is borrowed for the call. It is
 * stored as one compact JSON object, fields in this order, absent ones
 * (NULL, or seq 0) left out:
 *   {"aseq":N,"time_ms":T,"event":"accept","principal":"...",
 *    "alert":"<32 lowercase hex digits>","seq":S,"detail":"..."}
 * where aseq is the record's audit sequence (1, 2, ...). principal and
 * detail keep at most BLO_AUDIT_FIELD_MAX bytes (a longer one is cut at a
 * character boundary and ends in "..."); bytes that are not UTF-8 are
 * recorded as U+FFFD. */
typedef struct {
	blo_audit_event_t event;
	int64_t time_ms;         /* when, in ms since the epoch */
	const char *principal;   /* who: the authenticated publisher, subscriber
				  * or peer broker; NULL: none */
	const uint8_t *alert_id; /* BLO_JOURNAL_ID_BYTES, or NULL */
	uint64_t seq;            /* journal sequence, or 0: none */
	const char *detail;      /* reason, durable name, peer...; NULL: none */
	/* BLO_AUDIT_NO_ENTRY, or the index of an entry of the same batch, for
	 * what only the commit knows: seq becomes that entry's sequence
	 * (stored or already held), alert_id, if NULL, its id, and an ACCEPT
	 * or DUPLICATE record says which the entry turned out to be. Careful:
	 * a zeroed record has entry_index 0, the first entry. */
	int entry_index;
	/* Optional: when it points to true once the batch's entries are stored
	 * (an entry's same callback may set it), the record is left out. */
	const bool *skip;
} blo_audit_record_t;

/* Everything one blo_journal_commit stores. entries are in-out as for
 * blo_journal_append; cursors and audit are read only. Any count may be 0
 * (its pointer then may be NULL). */
typedef struct blo_journal_batch {
	blo_journal_entry_t *entries;
	size_t n_entries;
	const blo_cursor_update_t *cursors;
	size_t n_cursors;
	const blo_audit_record_t *audit;
	size_t n_audit;
	/* In: leave the last sync to a later commit or blo_journal_sync (see
	 * blo_journal_commit). */
	bool defer_sync;
	/* Out: the commit's transaction, for blo_journal_durable_txn; 0 when
	 * it wrote nothing, failed, or was logged (durable at once). */
	uint64_t txn;
	/* Optional: make the batch durable through the write-ahead log, so
	 * that it may be acknowledged before its commit's own syncs. When the
	 * journal has a log (wal_size), room on its filesystem (as for
	 * defer_sync) and the batch fits in the log, the commit writes what the
	 * batch changes into the log and syncs that (one small sequential
	 * write), then calls logged(batch, logged_arg), then commits as with
	 * defer_sync. At the call the entries have their results and sequences
	 * and the batch survives any crash (open replays the log), but readers
	 * do not see it yet: they do once blo_journal_commit returns (what
	 * blo_journal_find_id and blo_journal_get answer in between, see
	 * there). logged runs on the committing thread holding the journal's
	 * writer lock: it must not call the journal, blo_journal_durable_txn
	 * excepted. A commit that fails after
	 * logged was called is a failed write to disk (see blo_journal_sync):
	 * the journal takes nothing more until it is opened again, which
	 * replays the log. When logged is not called the batch commits as
	 * usual (batch->txn says when it is durable). */
	void (*logged)(struct blo_journal_batch *batch, void *arg);
	void *logged_arg;
} blo_journal_batch_t;

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
	uint64_t wal_replayed; /* batches of the write-ahead log that open
				* replayed (a crash had cut their commit short) */
} blo_journal_stats_t;

/* Opens (creating if needed) the journal in folder dir, which must exist.
 * opts may be NULL (defaults). *out is the caller's: close with
 * blo_journal_close. Not to be used across fork(): open it in the process
 * that uses it. Any number of threads may call the read functions while
 * one thread writes. The id index lives in memory, 23 to 46 bytes per
 * stored record, and open rebuilds it from the stored ids (about 0.3 s per
 * million records, warm). A journal of the first build gains the empty
 * audit log. Returns 0, -errno (-ENOENT: no such folder),
 * BLO_ECORRUPT (unknown format, damaged store), BLO_ENOMEM, BLO_EFULL or an
 * MDB_* code.
 * The write-ahead log: open first replays, in order, every record of the
 * folder's "wal" that the store does not hold yet (batches logged and
 * acknowledged whose commit a crash cut short), and syncs them. The log
 * ends at the first record that does not check out (never acknowledged:
 * its sync had not returned). A record beyond the store's next
 * transaction is BLO_ECORRUPT, the log and the store not being of the same
 * history (a store restored from a copy, say): nothing is changed then.
 * Then, with opts->wal_size, the log is made (or remade at that size):
 * where it cannot be, opts->wal_err says why and the journal has none. */
int blo_journal_open(blo_journal_t **out, const char *dir, const blo_journal_opts_t *opts,
		     blo_err_t *err);

/* Closes the journal and sets *self_p to NULL. NULL: nothing. */
void blo_journal_close(blo_journal_t **self_p);

/* Stores a whole batch in one write transaction, committed and synced to
 * disk before it returns (but see defer_sync below): the entries first,
 * then the cursors, in order (for a name given twice the later update
 * holds, a seq or a removal), then the audit
 * records, appended to the audit chain in order. All of the batch is stored
 * or none of it.
 * Entries: each entry's result says stored or duplicate (a later entry
 * repeating an id earlier in the same batch is a duplicate too); duplicates
 * take no sequence number.
 * Returns 0; BLO_EINVAL, before anything is written, for a cursor name of a
 * bad length, an audit event outside blo_audit_event_t or an entry_index
 * outside the batch (err says which); BLO_EFULL when the map is full (purge
 * or grow, then retry); BLO_ENOSPACE when its filesystem is full;
 * BLO_ECORRUPT (the store, or the audit log, is not what was written, or a
 * write to disk failed: see blo_journal_sync); BLO_ENOMEM, -errno or an
 * MDB_* code otherwise. On failure nothing of this batch is stored (unless
 * only the sync after its commit failed), everything committed before
 * stays, every entry has seq 0 and the error as its result, and err names
 * the journal folder (and map size when full).
 * A full map: so that the broker can still record refusals and acks while
 * it is full, a batch without entries that does not fit may use a reserve
 * beyond map_size (1/64 of the map, at least 64 pages; the map grows into
 * it). Once that has happened, batches with entries are refused with
 * BLO_EFULL at once until blo_journal_purge removes records (or the journal
 * is reopened), so the map never grows past map_size plus the reserve on
 * this account. When the reserve is used up too, every batch gets
 * BLO_EFULL.
 * An empty batch returns 0 and writes nothing.
 * defer_sync: the commit returns once its data pages are synced and its
 * meta page (which makes them the journal's state) is written but not yet
 * synced: readers see it, a crash of the process keeps it, a crash of the
 * machine may undo it (never half of it). It is on disk once
 * blo_journal_durable_txn() >= batch->txn: after the next commit that
 * writes (its own data sync takes the meta page along) or after
 * blo_journal_sync. Nothing stored by it may be acknowledged before that.
 * A group commit so costs one device flush while publishes keep coming,
 * not two. With under 64 MiB free on the filesystem nothing is deferred. */
int blo_journal_commit(blo_journal_t *self, blo_journal_batch_t *batch, blo_err_t *err);

/* Every commit whose batch->txn is at most this is on disk. */
uint64_t blo_journal_durable_txn(blo_journal_t *self);

/* Puts every commit made so far on disk (one fdatasync); 0 (at once for a
 * read-only journal), or -errno / an MDB_* code with err.
 * A failed write to disk (a sync, or a commit that failed for anything but
 * lack of room or memory) is final: the kernel reports it once and may drop
 * the pages it could not write, so blo_journal_durable_txn stops where it
 * was and every later commit and sync fails with BLO_ECORRUPT, until the
 * journal is opened again. */
int blo_journal_sync(blo_journal_t *self, blo_err_t *err);

/* blo_journal_commit of entries[0..n) alone. */
int blo_journal_append(blo_journal_t *self, blo_journal_entry_t *entries, size_t n, blo_err_t *err);

/* Copies the record at seq: *data (malloc()ed, caller frees, never NULL on
 * success even when *len is 0), *len, and optionally time_ms and id (16
 * bytes); either may be NULL. BLO_ENOTFOUND if there is no such record
 * (never stored, or purged); BLO_ENOMEM. A record beyond what the reader
 * sees, not found while a logged batch is between its log and its commit,
 * is looked for again once that commit is done (so what a logged callback
 * let out is found), waiting at most BLO_JOURNAL_LOGGED_WAIT_MS: -EAGAIN
 * after that. */
int blo_journal_get(blo_journal_t *self, uint64_t seq, uint8_t **data, size_t *len,
		    int64_t *time_ms, uint8_t *id);

#define BLO_JOURNAL_LOGGED_WAIT_MS 10000

/* The sequence under which id (16 bytes) is stored, or BLO_ENOTFOUND (never
 * stored, or purged); waits, as blo_journal_get does, for a logged batch's
 * commit when the id is indexed but not yet seen. */
int blo_journal_find_id(blo_journal_t *self, const uint8_t *id, uint64_t *seq);

/* Calls fn for each record with sequence >= from_seq, in order, at most max
 * records (0: no limit), inside one read transaction (a consistent snapshot:
 * appends made meanwhile are not seen). rec points into the map, valid
 * during the call only. fn returns 0 to go on, anything else to stop: that
 * value is returned. Returns 0 at the end. fn must not call
 * blo_journal_purge nor commit a batch without entries (such as
 * blo_journal_cursor_set): these may wait for the scan to end. */
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
 * set: blo_journal_commit of the n cursors names[i] = seqs[i] alone (one
 * synced transaction; BLO_EFULL when the map is full). delete: synced;
 * BLO_ENOTFOUND if there was no such cursor. */
int blo_journal_cursor_get(blo_journal_t *self, const char *name, uint64_t *seq);
int blo_journal_cursor_set(blo_journal_t *self, const char *const *names, const uint64_t *seqs,
			   size_t n, blo_err_t *err);
int blo_journal_cursor_delete(blo_journal_t *self, const char *name);

/* Calls fn for each cursor whose name starts with prefix ("" : all; at
 * most BLO_CURSOR_NAME_MAX - 1 bytes, else BLO_EINVAL), in name order,
 * inside one read transaction: name (NUL-terminated, valid during the call)
 * and seq. fn returns 0 to go on, anything else to stop: that value is
 * returned. 0 at the end, or -errno / an MDB_* code. A malformed cursor
 * (blo_journal_cursor_get says BLO_ECORRUPT) is passed over. fn must not
 * call the journal. */
typedef int (*blo_journal_cursor_fn)(const char *name, uint64_t seq, void *arg);
int blo_journal_cursor_scan(blo_journal_t *self, const char *prefix, blo_journal_cursor_fn fn,
			    void *arg);

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
 * before it). Audit records are never purged. Removing records ends the
 * refusal of entries that a full map started (see blo_journal_commit). */
int blo_journal_purge(blo_journal_t *self, int64_t older_than_ms, uint64_t keep_count,
		      uint64_t *purged, blo_err_t *err);

/* Fills *out from one consistent snapshot. */
int blo_journal_stats(blo_journal_t *self, blo_journal_stats_t *out);

/* How long this journal's writes to disk took since it was opened: each
 * write transaction's commit (its data pages synced, its meta page written,
 * and synced unless deferred) and each blo_journal_sync. */
void blo_journal_commit_times(blo_journal_t *self, blo_hist_snap_t *out);

/* The audit log: a hash chain of the records appended by blo_journal_commit,
 * keyed by audit sequence 1, 2, ...; each stored as its text followed by
 * hash = BLAKE2b-256(previous record's hash || text), the hash before
 * record 1 being 32 zero bytes. The journal also stores the newest
 * (aseq, hash), the head, in the same transaction as the records.
 *
 * The oldest records may have been trimmed (blo_journal_audit_trim): the
 * journal then keeps the anchor, the last trimmed record's (aseq, hash),
 * and the chain goes on from it.
 *
 * blo_journal_audit_verify recomputes the chain the journal holds in one
 * snapshot, from the anchor (or from 32 zero bytes before aseq 1):
 * sequences without a gap from the anchor's next, each text starting with
 * {"aseq":<its own sequence>, each hash, and the end of the chain equal to
 * the head (which catches removed newest records). records and bad_aseq
 * are optional. Returns 0 when intact, *records = how many the journal
 * holds; BLO_ECORRUPT otherwise, *bad_aseq = the first audit sequence
 * missing, altered or out of place, *records = the intact ones before it,
 * err saying what is wrong; MDB_* or -errno for a
 * failed read. It holds one read snapshot throughout (about 0.6 s per
 * million records): appends go on meanwhile, but the map cannot grow.
 * Tamper-evident, not tamper-proof: whoever can write the store can
 * rewrite the whole chain; compare the head with a copy kept elsewhere to
 * catch that. */
int blo_journal_audit_verify(blo_journal_t *self, uint64_t *records, uint64_t *bad_aseq,
			     blo_err_t *err);

/* The head as committed: the newest audit sequence (0: none yet) and its
 * hash (BLO_AUDIT_HASH_BYTES; 32 zero bytes when none) into hash, which may
 * be NULL. Returns 0, BLO_ECORRUPT (no head), or an MDB_* code. */
int blo_journal_audit_head(blo_journal_t *self, uint64_t *aseq, uint8_t *hash);

/* The anchor as committed: the last trimmed audit sequence (0: none ever
 * trimmed) and its hash (32 zero bytes when none) into hash, which may be
 * NULL. Returns 0, BLO_ECORRUPT (malformed), or -errno / an MDB_* code. */
int blo_journal_audit_anchor(blo_journal_t *self, uint64_t *aseq, uint8_t *hash);

/* Removes the audit records from the anchor's next through upto_aseq in
 * one synced transaction and makes upto_aseq the anchor, provided each of
 * them holds the hash of its text and the previous one (the chain holds
 * from the anchor) and the record upto_aseq holds hash
 * (BLO_AUDIT_HASH_BYTES): the caller recomputed the chain from the anchor
 * over the copy it keeps elsewhere, so equal hashes mean equal texts.
 * Otherwise nothing is removed. Only the
 * writer of the journal should call it (it races appends otherwise: no
 * harm, but the caller's view may be stale). Returns 0; BLO_EINVAL when
 * upto_aseq is not after the anchor or is past the head; BLO_ECORRUPT (a
 * record is missing or altered, or the last holds another hash); BLO_EFULL when even a grown
 * map has no room for the deletion; -EACCES (opened read-only); or an
 * MDB_* code; err says which. */
int blo_journal_audit_trim(blo_journal_t *self, uint64_t upto_aseq, const uint8_t *hash,
			   blo_err_t *err);

/* The chain's step: out = BLAKE2b-256(prev || text), prev and out being
 * BLO_AUDIT_HASH_BYTES; out may be prev. */
void blo_journal_audit_hash(uint8_t *out, const uint8_t *prev, const void *text, size_t len);

/* Calls fn for each audit record with aseq >= from_aseq, in order, at most
 * max records (0: no limit), inside one read transaction. text is the
 * record's JSON, len bytes, not NUL-terminated (print with "%.*s"); it
 * points into the map: valid during the call only. fn returns 0 to go on,
 * anything else to stop: that value is returned. Returns 0 at the end,
 * BLO_ECORRUPT for a stored value too short to hold a hash. Checks no
 * hash: see blo_journal_audit_verify. fn must not call what
 * blo_journal_scan's may not. */
typedef int (*blo_journal_audit_fn)(uint64_t aseq, const char *text, size_t len, void *arg);
int blo_journal_audit_scan(blo_journal_t *self, uint64_t from_aseq, size_t max,
			   blo_journal_audit_fn fn, void *arg);

/* The name an event is recorded under ("accept", ...): a static string, or
 * NULL for a value outside blo_audit_event_t. */
const char *blo_journal_audit_event_name(blo_audit_event_t event);

/* Opens an existing journal for reading only, as an admin tool does beside
 * a running broker (or after it stopped): nothing in dir is created or
 * changed, and every write (commit, cursors, purge, meta_put) fails with
 * -EACCES. When LMDB's lock file exists (a broker made it) the reader
 * registers there, so the broker may write meanwhile; when it does not, no
 * broker has the journal open and it is read without locks. The map size
 * is the journal's own. It reads the store only: a batch whose commit a
 * crash cut short is in the write-ahead log until the journal is opened
 * for writing again. *out is the caller's: blo_journal_close. Returns 0;
 * BLO_ENOTFOUND "no journal at DIR: is the data_dir right?" when dir holds
 * no journal; -EACCES when the lock file may not be written (another
 * user's broker); BLO_ECORRUPT (not a journal of this format); BLO_ENOMEM;
 * or an MDB_* code; err says which. */
int blo_journal_open_readonly(blo_journal_t **out, const char *dir, blo_err_t *err);

/* Small named values a program keeps with its journal, e.g. the highest
 * registry version a broker has accepted: name (1 to
 * BLO_JOURNAL_META_NAME_MAX - 1 bytes) -> a 64-bit value, in a namespace of
 * their own beside the journal's internal entries. get: 0 and *value;
 * BLO_ENOTFOUND if never put; BLO_EINVAL for a bad name; BLO_ECORRUPT.
 * put: stores it in one synced write transaction of its own (durable once
 * it returns 0); BLO_EINVAL (name), BLO_EFULL (map full), -EACCES (opened
 * read-only), or an MDB_* code, named in err. */
#define BLO_JOURNAL_META_NAME_MAX 64 /* including the NUL */
int blo_journal_meta_get(blo_journal_t *self, const char *name, uint64_t *value);
int blo_journal_meta_put(blo_journal_t *self, const char *name, uint64_t value, blo_err_t *err);

#endif
