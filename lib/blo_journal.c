/*
 * blo_journal: the broker's durable store on LMDB. Five named databases:
 * "records" (8-byte big-endian seq -> 24-byte header + envelope), "idlog"
 * (seq -> 16-byte id, append-only like records), "cursors" (name -> seq),
 * "audit" (8-byte big-endian aseq -> record text + BLAKE2b-256 chain hash)
 * and "meta" (format version, append state so that last_seq survives
 * purges, the audit head, and the audit anchor: the last record moved out
 * by blo_journal_audit_trim). Every write is one LMDB transaction, synced
 * before it returns or, if deferred, by the next commit or blo_journal_sync;
 * sequences stay contiguous because purge only removes the oldest records.
 * The id index is a hash table in memory, rebuilt from idlog at open: an
 * LMDB B-tree keyed by random ids rewrites a 4 KiB page per appended id and
 * made appends 8x slower.
 */
#include "blo_journal.h"

#include "blo_err.h"
#include "blo_util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAP_SIZE ((size_t)1 << 30)
/* Format versions. 1: what every build reads; the audit database and head
 * are additions that a journal of the first build gains at open, and a
 * first build ignores them. 2: the audit log has been trimmed (it starts
 * at an anchor, blo_journal_audit_trim): a build that reads only 1 would
 * take the missing records for tampering, so it must refuse the journal
 * instead. A new journal is 1 until its first trim. */
#define FORMAT_VERSION 1u
#define FORMAT_TRIMMED 2u
#define NAMED_DBS 5

/* Record value: time_ms (8 bytes, big-endian) and id, then the envelope. */
#define HDR_TIME_OFF 0
#define HDR_ID_OFF 8
#define HDR_BYTES (8 + BLO_JOURNAL_ID_BYTES)

/* Records removed per purge transaction: bounds its dirty pages and how
 * long it holds the writer lock. */
#define PURGE_BATCH 4096
/* A full map can leave no page for the copy-on-write a delete needs; purge
 * then grows the map by a step, at most this many times per call. */
#define PURGE_MAX_GROWS 8

/* The id index: open addressing with linear probing over (fingerprint, seq)
 * slots, at most 7/10 full. A fingerprint match is only a candidate: the id
 * is compared with the one idlog holds under that seq, in the caller's
 * transaction, so readers see exactly what is committed. */
#define INDEX_MIN_SLOTS 1024

typedef struct {
	uint64_t fp;
	uint64_t seq; /* 0: empty slot (sequences start at 1) */
} id_slot_t;

typedef struct {
	id_slot_t *slots;
	size_t cap; /* a power of two */
	size_t count;
} id_index_t;

struct blo_journal {
	MDB_env *env;
	MDB_dbi records;
	MDB_dbi idlog;
	MDB_dbi cursors;
	MDB_dbi audit;
	MDB_dbi meta;
	char *dir;
	/* Held shared by every call that opens a transaction and exclusively
	 * to resize the map, which LMDB allows only with no transaction open
	 * in the process. Taken before index_lock. Guards the two fields after
	 * it, too. */
	pthread_rwlock_t map_lock;
	/* The map size batches with entries may fill. A batch without entries
	 * that finds the map full may grow it by a reserve beyond this; then
	 * reserve_open refuses entries until a purge. */
	size_t entry_map_size;
	bool reserve_open;
	pthread_rwlock_t index_lock; /* guards index */
	id_index_t index;
	/* Where a write transaction formats an audit record: only the holder
	 * of LMDB's writer lock uses it. AUDIT_TEXT_CAP bytes. */
	char *audit_text;
	/* When commits last cleared dead readers (CLOCK_MONOTONIC, ms): see
	 * reap_dead_readers. */
	_Atomic int64_t readers_checked_ms;
	blo_hist_t commit_times; /* of every commit and sync: see txn_commit */
	/* One sync at a time, each with its verdict (write_failed, then
	 * durable_txn): the kernel reports a failed writeback to one sync only,
	 * and another's success must not count before that failure does.
	 * Taken inside LMDB's writer lock by commits; never held while waiting
	 * for it. Guards the three fields after it (atomic for readers). */
	pthread_mutex_t sync_lock;
	/* The newest write transaction committed through txn_commit. */
	_Atomic uint64_t committed_txn;
	/* Every write transaction up to this LMDB txnid is on disk, its meta
	 * page too (see txn_commit). */
	_Atomic uint64_t durable_txn;
	/* A write to disk failed (0: none; else the -errno or MDB_* code). The
	 * kernel may have dropped the pages it could not write and will not
	 * say so again, so from then on nothing is taken as durable and every
	 * write fails, until the journal is opened again. */
	_Atomic int write_failed;
	/* The write-ahead log (see blo_journal_batch_t.logged and wal_append):
	 * its file (-1: none), its size, where the next record goes, and the
	 * newest transaction written there since it last started over. Only
	 * the holder of LMDB's writer lock uses these, and the five after. */
	int wal_fd;
	size_t wal_size;
	size_t wal_off;
	uint64_t wal_newest;
	uint8_t wal_key[16]; /* of the records since the log last started over */
	uint8_t store_id[16]; /* META_STORE_ID, read or made at open */
	/* What the transaction being logged changes, as the log has it
	 * (redo_note while redo_on); redo_err: out of memory on the way. */
	uint8_t *redo;
	size_t redo_len, redo_cap;
	bool redo_on;
	int redo_err;
	_Atomic uint64_t logging_txn; /* the transaction being logged; 0: none */
	/* The newest commit that is not in the log: a logged batch must not
	 * build on one that a crash of the machine could still undo. */
	_Atomic uint64_t unlogged_txn;
	/* Odd while a logged batch is between its log and its commit (readers
	 * look again once it is even: blo_journal_get). */
	_Atomic uint64_t logged_windows;
	uint64_t replayed; /* records of the log that open replayed */
};

/* The append state in meta under "state", 24 bytes big-endian. Times in
 * records ascend except after a clock step back: unordered_seq is the last
 * sequence whose time_ms was below an earlier record's, so records after it
 * ascend and seq_at_time can binary-search them. */
typedef struct {
	uint64_t last_seq;
	int64_t max_time_ms;    /* highest time_ms appended; INT64_MIN: none */
	uint64_t unordered_seq; /* 0: times have always ascended */
} journal_state_t;

#define STATE_BYTES 24

/* Free bytes for an unprivileged writer on the filesystem of dir; -1 when
 * unknown. */
static long long free_bytes(const char *dir)
{
	struct statvfs st;

	if (statvfs(dir, &st) != 0)
		return -1;
	return (long long)st.f_bavail * (long long)st.f_frsize;
}

/* Below this much free space, an EIO from a write is taken for a full
 * filesystem (LMDB reports a short write as EIO) rather than a failing disk. */
#define DISK_LOW_BYTES (4LL << 20)

/* Below this much free space commits are not deferred (see txn_commit). */
#define DEFER_MIN_FREE_BYTES (64LL << 20)

/* Holding sync_lock. */
static void durable_raise(blo_journal_t *self, uint64_t txn)
{
	if (atomic_load(&self->write_failed) == 0 && txn > atomic_load(&self->durable_txn))
		atomic_store(&self->durable_txn, txn);
}

/* Holding sync_lock: a commit is on disk in the page cache only. */
static bool deferred_outstanding(blo_journal_t *self)
{
	return atomic_load(&self->committed_txn) > atomic_load(&self->durable_txn);
}

/* Holding sync_lock: records a failed commit (sync false) or sync in
 * write_failed, unless nothing of it can have failed on the way to the
 * disk: no map room or memory (before any write), or no room on the
 * filesystem (LMDB reports a short write as EIO) while no deferred commit
 * waits, whose meta page this commit's sync would have carried. A failed
 * sync always counts. */
static int write_failure(blo_journal_t *self, int rc, bool sync)
{
	long long left;
	int none = 0;

	if (!sync) {
		if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL || rc == ENOMEM)
			return rc;
		if ((rc == ENOSPC || rc == EDQUOT ||
		     (rc == EIO && (left = free_bytes(self->dir)) >= 0 && left < DISK_LOW_BYTES)) &&
		    !deferred_outstanding(self))
			return rc;
	}
	atomic_compare_exchange_strong(&self->write_failed, &none, rc);
	return rc;
}

/* Commits a write transaction. The environment is MDB_NOMETASYNC: LMDB
 * writes the data pages, syncs them, then writes the meta page without a
 * sync. So each commit that writes puts every earlier commit's meta page on
 * disk with its own data pages, and its own is on disk only after the next
 * sync: here (fdatasync) unless defer is set. Short of room on the
 * filesystem, nothing is deferred and what was is synced first, so that a
 * commit refused for want of room never fails to carry an earlier one.
 * *txn_out (optional) gets the transaction's id for
 * blo_journal_durable_txn, or 0 when it wrote nothing; *committed
 * (optional) whether LMDB committed it, even if the sync after failed.
 * Each commit's time (with its own sync) goes into commit_times. */
static int txn_commit(blo_journal_t *self, MDB_txn *txn, bool defer, uint64_t *txn_out,
		      bool *committed)
{
	int64_t start = blo_mono_ns();
	uint64_t id = mdb_txn_id(txn);
	MDB_envinfo info;
	long long left;
	int rc;

	if (txn_out != NULL)
		*txn_out = 0;
	if (committed != NULL)
		*committed = false;
	pthread_mutex_lock(&self->sync_lock);
	if ((rc = atomic_load(&self->write_failed)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	if ((defer || deferred_outstanding(self)) && (left = free_bytes(self->dir)) >= 0 &&
	    left < DEFER_MIN_FREE_BYTES) {
		defer = false;
		if (deferred_outstanding(self)) {
			if ((rc = mdb_env_sync(self->env, 1)) != 0) {
				mdb_txn_abort(txn);
				write_failure(self, rc, true);
				goto out;
			}
			durable_raise(self, atomic_load(&self->committed_txn));
		}
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0) {
		write_failure(self, rc, false);
		goto out;
	}
	if (committed != NULL)
		*committed = true;
	/* A transaction that changed nothing writes no meta page and syncs
	 * nothing. (Commits are serialized here: no other took its id.) */
	if (mdb_env_info(self->env, &info) != 0 || info.me_last_txnid < id)
		goto out;
	atomic_store(&self->committed_txn, id);
	if (id != atomic_load(&self->logging_txn))
		atomic_store(&self->unlogged_txn, id);
	durable_raise(self, id - 1);
	if (!defer) {
		if ((rc = mdb_env_sync(self->env, 1)) != 0) {
			write_failure(self, rc, true);
			goto out;
		}
		durable_raise(self, id);
	}
	blo_hist_add(&self->commit_times, blo_mono_ns() - start);
	if (txn_out != NULL)
		*txn_out = id;
out:
	pthread_mutex_unlock(&self->sync_lock);
	return rc;
}

static const char META_VERSION[] = "version";
static const char META_STATE[] = "state";
/* The audit head: the newest aseq (8 bytes big-endian) and its hash. */
static const char META_AUDIT_HEAD[] = "audit_head";
/* The audit anchor, same layout: the last record trimmed and its hash;
 * absent until the first trim (then the chain starts at aseq 1 from 32
 * zero bytes). */
static const char META_AUDIT_ANCHOR[] = "audit_anchor";
/* The id of the newest logged transaction (see the write-ahead log). */
static const char META_WAL_TXN[] = "wal_txn";
/* 16 random bytes made with the store: its write-ahead log's records
 * carry them. */
static const char META_STORE_ID[] = "store_id";
#define AUDIT_HEAD_BYTES (8 + BLO_AUDIT_HASH_BYTES)

/* The longest record text: the fixed fields, and principal and detail with
 * every byte escaped to 6 (\u00XX) plus quotes and the "..." of a cut. */
#define AUDIT_TEXT_CAP (256 + 2 * (6 * BLO_AUDIT_FIELD_MAX + 8))

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------- write-ahead log
 *
 * The file "wal" beside data.mdb, written out in full when made, so that a
 * record's sync writes its pages and nothing of the file's layout. Records
 * follow each other from offset 0:
 *   magic (4 bytes, "BLW1"), payload length (4), LMDB transaction id (8),
 *   the store's id (16, META_STORE_ID: the log is of this data.mdb and no
 *   other), the round's key (16), BLAKE2b-128 keyed with it of the first
 *   32 bytes and the payload (16), payload;
 * all big-endian. The payload is what the transaction changed, in order:
 *   op (1: put, 2: delete), database (DB_*), key length (2), value length
 *   (4; 0 for a delete), key, value;
 * every logged transaction puts META_WAL_TXN, so that it changes something
 * and takes its id (LMDB gives a transaction that changes nothing no id of
 * its own). A record is written and synced before its transaction
 * commits, and a transaction is logged only when every commit before it is
 * on disk or in the log (sync_committed): so the records the store lacks
 * after a crash are the last ones, for consecutive transactions from the
 * store's next. The log starts over at offset 0, under a new random key,
 * once the store has all of it on disk (wal_append). Replay takes the key
 * of the record at 0 and ends at the first record that does not check out
 * under it: what an earlier round left beyond the new records (a key of
 * its own), a torn write, or bytes of a payload, which hold alert
 * envelopes that publishers chose but cannot carry a record that checks
 * out (they do not know the key). A record of another store's id ends it
 * too (a store made anew beside an old log), and a store holding a logged
 * transaction beyond its own last (META_WAL_TXN: a copy that renumbered
 * its transactions) is refused, not replayed onto. */
#define WAL_NAME "wal"
#define WAL_MAGIC 0x424c5731u /* "BLW1" */
#define WAL_HDR_BYTES 64
#define WAL_STORE_BYTES 16
#define WAL_KEY_BYTES 16
#define WAL_HASH_BYTES 16
#define OP_HDR_BYTES 8
#define OP_PUT 1
#define OP_DEL 2
enum { DB_RECORDS, DB_IDLOG, DB_CURSORS, DB_AUDIT, DB_META, DB_COUNT };

static size_t map_step(size_t map_size);

/* Notes one change of the transaction being logged. A put's value is
 * noted as it is when this is called: after a MDB_RESERVE put, call it
 * once the value is written. */
static void redo_note(blo_journal_t *self, int op, int db, const MDB_val *key, const MDB_val *val)
{
	size_t vlen = op == OP_PUT ? val->mv_size : 0;
	size_t need = OP_HDR_BYTES + key->mv_size + vlen;
	uint8_t *o;

	if (!self->redo_on || self->redo_err != 0)
		return;
	if (key->mv_size > UINT16_MAX || vlen > UINT32_MAX) {
		self->redo_err = BLO_ETOOBIG;
		return;
	}
	if (self->redo_len + need > self->redo_cap) {
		size_t cap = self->redo_cap > 0 ? self->redo_cap : 4096;
		uint8_t *grown;

		while (cap < self->redo_len + need)
			cap *= 2;
		if ((grown = realloc(self->redo, cap)) == NULL) {
			self->redo_err = BLO_ENOMEM;
			return;
		}
		self->redo = grown;
		self->redo_cap = cap;
	}
	o = self->redo + self->redo_len;
	o[0] = (uint8_t)op;
	o[1] = (uint8_t)db;
	o[2] = (uint8_t)(key->mv_size >> 8);
	o[3] = (uint8_t)key->mv_size;
	put_be32(o + 4, (uint32_t)vlen);
	memcpy(o + OP_HDR_BYTES, key->mv_data, key->mv_size);
	if (vlen > 0)
		memcpy(o + OP_HDR_BYTES + key->mv_size, val->mv_data, vlen);
	self->redo_len += need;
}

/* The hash a record's header carries: of its first 32 bytes and payload,
 * keyed with the round's key (header bytes 32 to 48). */
static void wal_hash(uint8_t *out, const uint8_t *hdr, const uint8_t *payload, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, hdr + 32, WAL_KEY_BYTES, WAL_HASH_BYTES);
	crypto_generichash_blake2b_update(&st, hdr, 32);
	crypto_generichash_blake2b_update(&st, payload, len);
	crypto_generichash_blake2b_final(&st, out, WAL_HASH_BYTES);
}

static char *wal_path(const blo_journal_t *self, const char *name)
{
	size_t n = strlen(self->dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", self->dir, name);
	return p;
}

static MDB_val val_of(const void *data, size_t len)
{
	MDB_val v = {.mv_size = len, .mv_data = (void *)data};

	return v;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Ids are usually hashes already; mixing makes structured ids spread too. */
static uint64_t id_fingerprint(const uint8_t *id)
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return mix64(a ^ mix64(b));
}

/* Zeroed slots from mmap, on huge pages where the kernel agrees: lookups
 * hit random slots, and with 4 KiB pages each one also missed the TLB. */
static id_slot_t *slots_alloc(size_t cap)
{
	size_t bytes = cap * sizeof(id_slot_t);
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (bytes >= ((size_t)2 << 20))
		madvise(p, bytes, MADV_HUGEPAGE); /* a hint: failure is harmless */
	return p;
}

static void slots_free(id_slot_t *slots, size_t cap)
{
	if (slots != NULL)
		munmap(slots, cap * sizeof(id_slot_t));
}

static void index_insert(id_index_t *ix, uint64_t fp, uint64_t seq)
{
	size_t mask = ix->cap - 1;
	size_t i = fp & mask;

	while (ix->slots[i].seq != 0)
		i = (i + 1) & mask;
	ix->slots[i].fp = fp;
	ix->slots[i].seq = seq;
	ix->count++;
}

/* Makes room for `more` insertions. BLO_ENOMEM if it cannot. */
static int index_reserve(id_index_t *ix, size_t more)
{
	size_t cap = ix->cap < INDEX_MIN_SLOTS ? INDEX_MIN_SLOTS : ix->cap;
	id_index_t grown = {0};

	if (more > SIZE_MAX / 16 - ix->count)
		return BLO_ENOMEM;
	while (ix->count + more > cap / 10 * 7) {
		if (cap > SIZE_MAX / 2 / sizeof(id_slot_t))
			return BLO_ENOMEM;
		cap *= 2;
	}
	if (cap == ix->cap)
		return 0;
	grown.slots = slots_alloc(cap);
	if (grown.slots == NULL)
		return BLO_ENOMEM;
	grown.cap = cap;
	for (size_t i = 0; i < ix->cap; i++) {
		if (ix->slots[i].seq != 0)
			index_insert(&grown, ix->slots[i].fp, ix->slots[i].seq);
	}
	slots_free(ix->slots, ix->cap);
	*ix = grown;
	return 0;
}

/* Removes the slot of seq, shifting later slots of the probe run back so
 * that no lookup stops early at the hole. */
static void index_remove(id_index_t *ix, uint64_t fp, uint64_t seq)
{
	size_t mask = ix->cap - 1;
	size_t hole = fp & mask;
	size_t j;

	while (ix->slots[hole].seq != seq) {
		if (ix->slots[hole].seq == 0)
			return; /* not indexed */
		hole = (hole + 1) & mask;
	}
	j = hole;
	for (;;) {
		size_t home;
		bool stays;

		j = (j + 1) & mask;
		if (ix->slots[j].seq == 0)
			break;
		home = ix->slots[j].fp & mask;
		/* Slot j may fill the hole unless its home lies in (hole, j]. */
		stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!stays) {
			ix->slots[hole] = ix->slots[j];
			hole = j;
		}
	}
	ix->slots[hole].fp = 0;
	ix->slots[hole].seq = 0;
	ix->count--;
}

/* The sequence holding id as txn sees it: 0 and *seq, MDB_NOTFOUND, or an
 * error. The caller holds index_lock. */
static int id_lookup(const blo_journal_t *self, MDB_txn *txn, const uint8_t *id, uint64_t fp,
		     uint64_t *seq, bool *unseen)
{
	const id_index_t *ix = &self->index;
	size_t mask = ix->cap - 1;
	uint8_t seq_be[8];
	MDB_val key = val_of(seq_be, sizeof(seq_be));
	MDB_val val;

	for (size_t i = fp & mask; ix->slots[i].seq != 0; i = (i + 1) & mask) {
		int rc;

		if (ix->slots[i].fp != fp)
			continue;
		put_be64(seq_be, ix->slots[i].seq);
		rc = mdb_get(txn, self->idlog, &key, &val);
		if (rc == MDB_NOTFOUND) {
			/* Not committed in txn's view (purge unindexes). */
			if (unseen != NULL)
				*unseen = true;
			continue;
		}
		if (rc != 0)
			return rc;
		if (val.mv_size == BLO_JOURNAL_ID_BYTES &&
		    memcmp(val.mv_data, id, BLO_JOURNAL_ID_BYTES) == 0) {
			*seq = ix->slots[i].seq;
			return 0;
		}
	}
	return MDB_NOTFOUND;
}

static size_t current_map_size(const blo_journal_t *self)
{
	MDB_envinfo info;

	if (mdb_env_info(self->env, &info) != 0)
		return 0;
	return info.me_mapsize;
}

/* Turns an LMDB result into a libblonet code: MDB_MAP_FULL becomes
 * BLO_EFULL, a full filesystem BLO_ENOSPACE, an errno -errno, other MDB_*
 * codes stay. With err, says which journal and what it was doing. */
static int lmdb_fail(const blo_journal_t *self, int rc, blo_err_t *err, const char *doing)
{
	long long left;
	int failed = atomic_load(&self->write_failed);

	if (failed != 0)
		return blo_err_set(err, BLO_ECORRUPT,
				   "journal %s: %s: a write to disk failed (%s): what the disk "
				   "holds is unknown, so nothing more is written until the journal "
				   "is opened again (restart)",
				   self->dir, doing, blo_strerror(failed > 0 ? -failed : failed));
	if (rc == MDB_MAP_FULL)
		return blo_err_set(err, BLO_EFULL,
				   "journal %s: %s: map full (map_size %zu bytes): purge old "
				   "records or reopen with a larger map_size",
				   self->dir, doing, current_map_size(self));
	if (rc == ENOSPC || rc == EDQUOT ||
	    (rc == EIO && (left = free_bytes(self->dir)) >= 0 && left < DISK_LOW_BYTES))
		return blo_err_set(err, BLO_ENOSPACE,
				   "journal %s: %s: the filesystem has no space left (%s; %lld bytes "
				   "free): free some space there",
				   self->dir, doing, blo_strerror(-rc), free_bytes(self->dir));
	if (rc > 0)
		rc = -rc;
	return blo_err_set(err, rc, "journal %s: %s: %s", self->dir, doing, blo_strerror(rc));
}

/* Syncs the store when a commit not in the log may not be on disk yet
 * (all commits when all is set): 0, or the failed sync's code, recorded
 * as final. */
static int sync_committed(blo_journal_t *self, bool all)
{
	int rc;

	pthread_mutex_lock(&self->sync_lock);
	if ((rc = atomic_load(&self->write_failed)) == 0 &&
	    (all ? atomic_load(&self->committed_txn) : atomic_load(&self->unlogged_txn)) >
		    atomic_load(&self->durable_txn)) {
		uint64_t last = atomic_load(&self->committed_txn);

		if ((rc = mdb_env_sync(self->env, 1)) != 0)
			write_failure(self, rc, true);
		else
			durable_raise(self, last);
	}
	pthread_mutex_unlock(&self->sync_lock);
	return rc;
}

/* Writes the noted changes of transaction txnid to the log and syncs it.
 * When the store has every record of the log on disk, the log starts over;
 * when the record does not fit after the last, the store is synced first
 * so that it has. A failed write or sync is final (write_failure). */
static int wal_append(blo_journal_t *self, uint64_t txnid, blo_err_t *err)
{
	uint8_t hdr[WAL_HDR_BYTES];
	size_t len = WAL_HDR_BYTES + self->redo_len, done = 0;
	off_t at;
	int rc = atomic_load(&self->write_failed);

	if (rc != 0)
		return lmdb_fail(self, rc, err, "write-ahead log");
	if (atomic_load(&self->durable_txn) >= self->wal_newest)
		self->wal_off = 0;
	if (self->wal_off + len > self->wal_size) {
		if ((rc = sync_committed(self, true)) != 0)
			return lmdb_fail(self, rc, err, "sync before the write-ahead log starts over");
		self->wal_off = 0;
	}
	if (self->wal_off == 0)
		randombytes_buf(self->wal_key, sizeof(self->wal_key));
	put_be32(hdr, WAL_MAGIC);
	put_be32(hdr + 4, (uint32_t)self->redo_len);
	put_be64(hdr + 8, txnid);
	memcpy(hdr + 16, self->store_id, WAL_STORE_BYTES);
	memcpy(hdr + 32, self->wal_key, WAL_KEY_BYTES);
	wal_hash(hdr + 48, hdr, self->redo, self->redo_len);
	at = (off_t)self->wal_off;
	while (done < len) {
		struct iovec iov[2];
		int n = 0;
		ssize_t w;

		if (done < WAL_HDR_BYTES)
			iov[n++] = (struct iovec){hdr + done, WAL_HDR_BYTES - done};
		iov[n++] = (struct iovec){self->redo + (done > WAL_HDR_BYTES ? done - WAL_HDR_BYTES : 0),
					  self->redo_len - (done > WAL_HDR_BYTES ? done - WAL_HDR_BYTES : 0)};
		w = pwritev(self->wal_fd, iov, n, at + (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? errno : EIO;
			break;
		}
		done += (size_t)w;
	}
	if (rc == 0 && fdatasync(self->wal_fd) != 0)
		rc = errno;
	if (rc != 0) {
		pthread_mutex_lock(&self->sync_lock);
		write_failure(self, rc, true);
		pthread_mutex_unlock(&self->sync_lock);
		return lmdb_fail(self, rc, err,
				 "write-ahead log (the batch may be in it all the same: sent "
				 "again, it is a duplicate)");
	}
	self->wal_off += len;
	self->wal_newest = txnid;
	return 0;
}

static MDB_dbi db_of(const blo_journal_t *self, int db)
{
	switch (db) {
	case DB_RECORDS:
		return self->records;
	case DB_IDLOG:
		return self->idlog;
	case DB_CURSORS:
		return self->cursors;
	case DB_AUDIT:
		return self->audit;
	default:
		return self->meta;
	}
}

/* Applies one record's changes as transaction txnid, committed (synced
 * by open afterwards). */
static int wal_apply(blo_journal_t *self, const uint8_t *p, size_t len, uint64_t txnid,
		     blo_err_t *err)
{
	MDB_txn *txn = NULL;
	size_t at = 0;
	int rc;

	if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
		return lmdb_fail(self, rc, err, "write-ahead log: begin");
	if (mdb_txn_id(txn) != txnid) {
		mdb_txn_abort(txn);
		return blo_err_set(err, BLO_ECORRUPT,
				   "journal %s: write-ahead log: transaction %llu would be "
				   "replayed as %llu", self->dir, (unsigned long long)txnid,
				   (unsigned long long)mdb_txn_id(txn));
	}
	while (rc == 0 && at < len) {
		size_t klen, vlen;
		MDB_val key, val;
		int op, db;

		if (len - at < OP_HDR_BYTES)
			break;
		op = p[at];
		db = p[at + 1];
		klen = (size_t)p[at + 2] << 8 | p[at + 3];
		vlen = get_be32(p + at + 4);
		if ((op != OP_PUT && op != OP_DEL) || db < 0 || db >= DB_COUNT || klen == 0 ||
		    klen > len - at - OP_HDR_BYTES || vlen > len - at - OP_HDR_BYTES - klen ||
		    (op == OP_DEL && vlen != 0))
			break;
		key = val_of(p + at + OP_HDR_BYTES, klen);
		val = val_of(p + at + OP_HDR_BYTES + klen, vlen);
		if (op == OP_PUT) {
			rc = mdb_put(txn, db_of(self, db), &key, &val, 0);
		} else if ((rc = mdb_del(txn, db_of(self, db), &key, NULL)) == MDB_NOTFOUND) {
			rc = 0;
		}
		at += OP_HDR_BYTES + klen + vlen;
	}
	if (rc == 0 && at != len) {
		mdb_txn_abort(txn);
		return blo_err_set(err, BLO_ECORRUPT,
				   "journal %s: write-ahead log: transaction %llu holds a malformed "
				   "change at byte %zu", self->dir, (unsigned long long)txnid, at);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(self, rc, err, "write-ahead log: replay");
	}
	if ((rc = txn_commit(self, txn, true, NULL, NULL)) != 0)
		return lmdb_fail(self, rc, err, "write-ahead log: replay commit");
	return 0;
}

/* Reads len bytes at off: 0, -errno, or BLO_ECORRUPT (the file ended). */
static int read_at(int fd, uint8_t *buf, size_t len, size_t off)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : BLO_ECORRUPT;
		got += (size_t)n;
	}
	return 0;
}

/* Replays the records of the log that the store lacks (see
 * blo_journal_open); *replayed counts them. Reads headers, and the
 * payloads of the records it replays only: the store has the others (a
 * record is synced before its commit), so open reads little of a log
 * that is mostly behind the store. */
static int wal_replay(blo_journal_t *self, uint64_t *replayed, blo_err_t *err)
{
	char *path = wal_path(self, WAL_NAME);
	uint8_t *buf = NULL, h[WAL_HDR_BYTES], round_key[WAL_KEY_BYTES];
	struct stat st;
	MDB_envinfo info;
	size_t size = 0, off = 0, cap = 0;
	uint64_t last, logged = 0;
	int fd = -1, rc = 0;

	*replayed = 0;
	if (path == NULL)
		return blo_err_set(err, BLO_ENOMEM, "journal %s: out of memory", self->dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			rc = blo_err_set(err, -errno, "journal %s: write-ahead log: %s", self->dir,
					 strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = blo_err_set(err, -errno, "journal %s: write-ahead log: %s", self->dir,
				 strerror(errno));
		goto out;
	}
	size = (size_t)st.st_size;
	if (size < WAL_HDR_BYTES)
		goto out;
	if ((rc = mdb_env_info(self->env, &info)) != 0) {
		rc = lmdb_fail(self, rc, err, "write-ahead log: store state");
		goto out;
	}
	last = info.me_last_txnid;
	{
		MDB_txn *txn = NULL;
		MDB_val key = val_of(META_WAL_TXN, sizeof(META_WAL_TXN) - 1), val;

		if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) == 0) {
			rc = mdb_get(txn, self->meta, &key, &val);
			if (rc == 0 && val.mv_size == 8)
				logged = get_be64(val.mv_data);
			rc = rc == MDB_NOTFOUND ? 0 : rc;
			mdb_txn_abort(txn);
		}
		if (rc != 0) {
			rc = lmdb_fail(self, rc, err, "write-ahead log: store state");
			goto out;
		}
	}
	while (size - off >= WAL_HDR_BYTES) {
		size_t len;
		uint64_t txnid;
		uint8_t hash[WAL_HASH_BYTES];

		if ((rc = read_at(fd, h, WAL_HDR_BYTES, off)) != 0)
			goto read_failed;
		len = get_be32(h + 4);
		txnid = get_be64(h + 8);
		if (off == 0)
			memcpy(round_key, h + 32, WAL_KEY_BYTES);
		if (get_be32(h) != WAL_MAGIC || len > size - off - WAL_HDR_BYTES ||
		    sodium_memcmp(h + 16, self->store_id, WAL_STORE_BYTES) != 0 ||
		    sodium_memcmp(h + 32, round_key, WAL_KEY_BYTES) != 0)
			break;
		/* In the store already (its record was synced before its
		 * commit): passed over unread. */
		if (txnid <= last && *replayed == 0) {
			off += WAL_HDR_BYTES + len;
			continue;
		}
		if (len > cap) {
			uint8_t *grown = realloc(buf, len);

			if (grown == NULL) {
				rc = blo_err_set(err, BLO_ENOMEM,
						 "journal %s: write-ahead log: out of memory", self->dir);
				goto out;
			}
			buf = grown;
			cap = len;
		}
		if (len > 0 && (rc = read_at(fd, buf, len, off + WAL_HDR_BYTES)) != 0)
			goto read_failed;
		wal_hash(hash, h, buf, len);
		if (sodium_memcmp(hash, h + 48, WAL_HASH_BYTES) != 0)
			break;
		/* Before anything is replayed: a store whose ids were
		 * renumbered is no base for the log's. */
		if (txnid > last && *replayed == 0 && logged > last) {
			rc = blo_err_set(err, BLO_ECORRUPT,
					 "journal %s: write-ahead log: the store holds logged transaction "
					 "%llu beyond its own last, %llu: a copy that renumbered its "
					 "transactions (mdb_copy -c?); the log cannot be replayed onto "
					 "it: move %s aside to open the store as it is",
					 self->dir, (unsigned long long)logged, (unsigned long long)last,
					 path);
			goto out;
		}
		if (*replayed > 0 && txnid != last + 1) {
			rc = blo_err_set(err, BLO_ECORRUPT,
					 "journal %s: write-ahead log: transaction %llu follows %llu",
					 self->dir, (unsigned long long)txnid, (unsigned long long)last);
			goto out;
		}
		if (txnid > last) {
			if (txnid != last + 1) {
				rc = blo_err_set(err, BLO_ECORRUPT,
						 "journal %s: write-ahead log: its next record is "
						 "transaction %llu, but the store's next is %llu: the "
						 "two are not of one history (a store restored from a "
						 "copy?); to open the store as it is, move %s aside",
						 self->dir, (unsigned long long)txnid,
						 (unsigned long long)(last + 1), path);
				goto out;
			}
			/* A commit the map could not take (its free-page list
			 * grew, say) made it here: the map grows, as purge's do. */
			for (int grows = 0;; grows++) {
				size_t map = current_map_size(self);

				rc = wal_apply(self, buf, len, txnid, err);
				if (rc != BLO_EFULL || grows == PURGE_MAX_GROWS ||
				    mdb_env_set_mapsize(self->env, map + map_step(map)) != 0)
					break;
				blo_err_clear(err);
			}
			if (rc != 0)
				goto out;
			last = txnid;
			(*replayed)++;
		}
		off += WAL_HDR_BYTES + len;
	}
	goto out;
read_failed:
	rc = blo_err_set(err, rc, "journal %s: write-ahead log: read: %s", self->dir,
			 rc == BLO_ECORRUPT ? "shorter than it was" : blo_strerror(rc));
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

/* Opens the log for writing, made (or remade) at size bytes of zeros
 * first when it is not that size: written to "wal.new", synced, renamed
 * over "wal", and the folder synced, so that a log is whole or absent. */
static int wal_make(blo_journal_t *self, size_t size, blo_err_t *err)
{
	char *path = wal_path(self, WAL_NAME), *tmp = wal_path(self, WAL_NAME ".new");
	uint8_t *zeros = NULL;
	struct stat st;
	int fd = -1, dfd = -1, rc = 0;

	if (path == NULL || tmp == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "journal %s: out of memory", self->dir);
		goto out;
	}
	if (stat(path, &st) != 0 || (size_t)st.st_size != size) {
		size_t chunk = (size_t)1 << 20;
		long long left = free_bytes(self->dir);

		/* Logged commits need DEFER_MIN_FREE_BYTES free (may_log). */
		if (left >= 0 && left < DEFER_MIN_FREE_BYTES + (long long)size) {
			rc = blo_err_set(err, BLO_ENOSPACE,
					 "journal %s: write-ahead log: only %lld bytes free on its "
					 "filesystem, under the %lld it needs", self->dir, left,
					 DEFER_MIN_FREE_BYTES + (long long)size);
			goto out;
		}

		if ((zeros = calloc(1, chunk)) == NULL) {
			rc = blo_err_set(err, BLO_ENOMEM, "journal %s: out of memory", self->dir);
			goto out;
		}
		int werr = 0;

		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
			werr = errno;
		for (size_t at = 0; werr == 0 && at < size;) {
			ssize_t n = pwrite(fd, zeros, size - at < chunk ? size - at : chunk, (off_t)at);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				werr = n < 0 ? errno : EIO;
			else
				at += (size_t)n;
		}
		if (werr == 0 && fdatasync(fd) != 0)
			werr = errno;
		if (fd >= 0 && close(fd) != 0 && werr == 0)
			werr = errno;
		if (werr == 0 && rename(tmp, path) != 0)
			werr = errno;
		if (werr == 0 && ((dfd = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
				  fsync(dfd) != 0))
			werr = errno;
		if (werr != 0) {
			unlink(tmp);
			rc = blo_err_set(err, -werr, "journal %s: write-ahead log: make %s: %s",
					 self->dir, tmp, strerror(werr));
			goto out;
		}
	}
	if ((self->wal_fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		rc = blo_err_set(err, -errno, "journal %s: write-ahead log: %s", self->dir,
				 strerror(errno));
	self->wal_size = size;
	self->wal_off = 0;
	self->wal_newest = 0;
out:
	if (dfd >= 0)
		close(dfd);
	free(zeros);
	free(tmp);
	free(path);
	return rc;
}

static int state_load(const blo_journal_t *self, MDB_txn *txn, journal_state_t *st)
{
	MDB_val key = val_of(META_STATE, sizeof(META_STATE) - 1);
	MDB_val val;
	int rc;

	rc = mdb_get(txn, self->meta, &key, &val);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? BLO_ECORRUPT : rc;
	if (val.mv_size != STATE_BYTES)
		return BLO_ECORRUPT;
	st->last_seq = get_be64(val.mv_data);
	st->max_time_ms = (int64_t)get_be64((const uint8_t *)val.mv_data + 8);
	st->unordered_seq = get_be64((const uint8_t *)val.mv_data + 16);
	return 0;
}

static int state_store(blo_journal_t *self, MDB_txn *txn, const journal_state_t *st)
{
	uint8_t buf[STATE_BYTES];
	MDB_val key = val_of(META_STATE, sizeof(META_STATE) - 1);
	MDB_val val = val_of(buf, sizeof(buf));
	int rc;

	put_be64(buf, st->last_seq);
	put_be64(buf + 8, (uint64_t)st->max_time_ms);
	put_be64(buf + 16, st->unordered_seq);
	rc = mdb_put(txn, self->meta, &key, &val, 0);
	if (rc == 0)
		redo_note(self, OP_PUT, DB_META, &key, &val);
	return rc;
}

/* Fills rec from a records entry; BLO_ECORRUPT if it is too short. */
static int record_decode(const MDB_val *key, const MDB_val *val, blo_journal_record_t *rec)
{
	const uint8_t *v = val->mv_data;

	if (key->mv_size != 8 || val->mv_size < HDR_BYTES)
		return BLO_ECORRUPT;
	rec->seq = get_be64(key->mv_data);
	rec->time_ms = (int64_t)get_be64(v + HDR_TIME_OFF);
	rec->id = v + HDR_ID_OFF;
	rec->data = v + HDR_BYTES;
	rec->len = val->mv_size - HDR_BYTES;
	return 0;
}

/* ---- the audit chain ---- */

static const char *const EVENT_NAMES[] = {
	[BLO_AUDIT_ACCEPT] = "accept",   [BLO_AUDIT_DUPLICATE] = "duplicate",
	[BLO_AUDIT_REJECT] = "reject",   [BLO_AUDIT_DELIVER] = "deliver",
	[BLO_AUDIT_FORWARD] = "forward", [BLO_AUDIT_RECEIVE] = "receive",
	[BLO_AUDIT_SESSION] = "session", [BLO_AUDIT_ADMIN] = "admin",
};

const char *blo_journal_audit_event_name(blo_audit_event_t event)
{
	if ((int)event < BLO_AUDIT_ACCEPT || (int)event > BLO_AUDIT_ADMIN)
		return NULL;
	return EVENT_NAMES[event];
}

static char *put_bytes(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LITERAL(p, lit) put_bytes((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
	char digits[20];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

static char *put_i64(char *p, int64_t v)
{
	if (v >= 0)
		return put_u64(p, (uint64_t)v);
	*p++ = '-';
	return put_u64(p, (uint64_t)0 - (uint64_t)v);
}

/* The length of the UTF-8 sequence starting s[0..n), or 0 if it is not a
 * valid one (overlong forms, surrogates and values above U+10FFFF are
 * not). */
static size_t utf8_sequence(const uint8_t *s, size_t n)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		c &= 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return len;
}

/* Writes str as a JSON string: at most BLO_AUDIT_FIELD_MAX bytes of it, so
 * that the record stays bounded, and only valid UTF-8, so that any JSON
 * reader takes it. At most 6 * BLO_AUDIT_FIELD_MAX + 5 bytes. */
static char *put_json_string(char *p, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = (const uint8_t *)str;
	size_t n = strnlen(str, BLO_AUDIT_FIELD_MAX + 1);
	bool cut = n > BLO_AUDIT_FIELD_MAX;

	if (cut) {
		n = BLO_AUDIT_FIELD_MAX;
		/* Not inside a character: back to its first byte. */
		for (int k = 0; k < 3 && n > 0 && (s[n] & 0xC0) == 0x80; k++)
			n--;
	}
	*p++ = '"';
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t len;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
			i++;
		} else if (c == '\n') {
			p = PUT_LITERAL(p, "\\n");
			i++;
		} else if (c == '\r') {
			p = PUT_LITERAL(p, "\\r");
			i++;
		} else if (c == '\t') {
			p = PUT_LITERAL(p, "\\t");
			i++;
		} else if (c < 0x20) {
			p = PUT_LITERAL(p, "\\u00");
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
			i++;
		} else if ((len = utf8_sequence(s + i, n - i)) == 0) {
			p = PUT_LITERAL(p, "\\ufffd");
			i++;
		} else {
			p = put_bytes(p, str + i, len);
			i += len;
		}
	}
	if (cut)
		p = PUT_LITERAL(p, "...");
	*p++ = '"';
	return p;
}

/* Formats the text of audit record aseq into buf (AUDIT_TEXT_CAP bytes),
 * with event, alert and seq as resolved for it; returns its length. */
static size_t audit_format(char *buf, uint64_t aseq, const blo_audit_record_t *r,
			   blo_audit_event_t event, const uint8_t *alert, uint64_t seq)
{
	static const char hex[] = "0123456789abcdef";
	const char *name = EVENT_NAMES[event];
	char *p = buf;

	p = PUT_LITERAL(p, "{\"aseq\":");
	p = put_u64(p, aseq);
	p = PUT_LITERAL(p, ",\"time_ms\":");
	p = put_i64(p, r->time_ms);
	p = PUT_LITERAL(p, ",\"event\":\"");
	p = put_bytes(p, name, strlen(name));
	*p++ = '"';
	if (r->principal != NULL) {
		p = PUT_LITERAL(p, ",\"principal\":");
		p = put_json_string(p, r->principal);
	}
	if (alert != NULL) {
		p = PUT_LITERAL(p, ",\"alert\":\"");
		for (size_t i = 0; i < BLO_JOURNAL_ID_BYTES; i++) {
			*p++ = hex[alert[i] >> 4];
			*p++ = hex[alert[i] & 15];
		}
		*p++ = '"';
	}
	if (seq != 0) {
		p = PUT_LITERAL(p, ",\"seq\":");
		p = put_u64(p, seq);
	}
	if (r->detail != NULL) {
		p = PUT_LITERAL(p, ",\"detail\":");
		p = put_json_string(p, r->detail);
	}
	*p++ = '}';
	assert((size_t)(p - buf) <= AUDIT_TEXT_CAP);
	return (size_t)(p - buf);
}

void blo_journal_audit_hash(uint8_t *out, const uint8_t *prev, const void *text, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, BLO_AUDIT_HASH_BYTES);
	crypto_generichash_blake2b_update(&st, prev, BLO_AUDIT_HASH_BYTES);
	crypto_generichash_blake2b_update(&st, text, len);
	crypto_generichash_blake2b_final(&st, out, BLO_AUDIT_HASH_BYTES);
}

/* An (aseq, hash) mark of meta as txn sees it: the audit head or the
 * anchor. A missing one is (0, 32 zero bytes) when missing_ok, else
 * BLO_ECORRUPT; a malformed one BLO_ECORRUPT. */
static int mark_load(const blo_journal_t *self, MDB_txn *txn, const char *name, bool missing_ok,
		     uint64_t *aseq, uint8_t *hash)
{
	MDB_val key = val_of(name, strlen(name));
	MDB_val val;
	int rc;

	rc = mdb_get(txn, self->meta, &key, &val);
	if (rc == MDB_NOTFOUND && missing_ok) {
		*aseq = 0;
		memset(hash, 0, BLO_AUDIT_HASH_BYTES);
		return 0;
	}
	if (rc != 0)
		return rc == MDB_NOTFOUND ? BLO_ECORRUPT : rc;
	if (val.mv_size != AUDIT_HEAD_BYTES)
		return BLO_ECORRUPT;
	*aseq = get_be64(val.mv_data);
	memcpy(hash, (const uint8_t *)val.mv_data + 8, BLO_AUDIT_HASH_BYTES);
	return 0;
}

static int mark_store(blo_journal_t *self, MDB_txn *txn, const char *name, uint64_t aseq,
		      const uint8_t *hash)
{
	uint8_t buf[AUDIT_HEAD_BYTES];
	MDB_val key = val_of(name, strlen(name));
	MDB_val val = val_of(buf, sizeof(buf));
	int rc;

	put_be64(buf, aseq);
	memcpy(buf + 8, hash, BLO_AUDIT_HASH_BYTES);
	rc = mdb_put(txn, self->meta, &key, &val, 0);
	if (rc == 0)
		redo_note(self, OP_PUT, DB_META, &key, &val);
	return rc;
}

/* The head always exists (open writes it); the anchor from the first trim. */
static int head_load(const blo_journal_t *self, MDB_txn *txn, uint64_t *aseq, uint8_t *hash)
{
	return mark_load(self, txn, META_AUDIT_HEAD, false, aseq, hash);
}

static int head_store(blo_journal_t *self, MDB_txn *txn, uint64_t aseq,
		      const uint8_t *hash)
{
	return mark_store(self, txn, META_AUDIT_HEAD, aseq, hash);
}

static int anchor_load(const blo_journal_t *self, MDB_txn *txn, uint64_t *aseq, uint8_t *hash)
{
	return mark_load(self, txn, META_AUDIT_ANCHOR, true, aseq, hash);
}

/* Writes the audit head of a journal that has none: a new one, or one of
 * the first build (no audit records). Were records there without a head,
 * the newest of them becomes it, so that the chain goes on from there. */
static int head_init(blo_journal_t *self, MDB_txn *txn)
{
	MDB_val key = val_of(META_AUDIT_HEAD, sizeof(META_AUDIT_HEAD) - 1);
	MDB_val val;
	MDB_cursor *cur = NULL;
	uint8_t hash[BLO_AUDIT_HASH_BYTES] = {0};
	uint64_t aseq = 0;
	int rc;

	rc = mdb_get(txn, self->meta, &key, &val);
	if (rc != MDB_NOTFOUND)
		return rc;
	rc = mdb_cursor_open(txn, self->audit, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	if (rc == 0) {
		if (key.mv_size != 8 || val.mv_size < BLO_AUDIT_HASH_BYTES) {
			rc = BLO_ECORRUPT;
			goto out;
		}
		aseq = get_be64(key.mv_data);
		memcpy(hash, (const uint8_t *)val.mv_data + val.mv_size - BLO_AUDIT_HASH_BYTES,
		       BLO_AUDIT_HASH_BYTES);
	} else if (rc != MDB_NOTFOUND) {
		goto out;
	}
	rc = head_store(self, txn, aseq, hash);
out:
	mdb_cursor_close(cur);
	return rc;
}

/* 0 if a stored format version is one this build reads. */
static int version_check(const blo_journal_t *self, const MDB_val *val, blo_err_t *err)
{
	const uint8_t *v = val->mv_data;

	if (val->mv_size == 4 && v[0] == 0 && v[1] == 0 && v[2] == 0 &&
	    (v[3] == FORMAT_VERSION || v[3] == FORMAT_TRIMMED))
		return 0;
	return blo_err_set(err, BLO_ECORRUPT,
			   "journal %s: unknown format version (this build reads %u and %u)",
			   self->dir, FORMAT_VERSION, FORMAT_TRIMMED);
}

/* Creates the databases and the meta entries of a new journal, or checks
 * the format version of an existing one; gives it an audit head if it has
 * none. */
static int journal_init(blo_journal_t *self, blo_err_t *err)
{
	MDB_txn *txn = NULL;
	MDB_val key = val_of(META_VERSION, sizeof(META_VERSION) - 1);
	MDB_val val;
	uint8_t version[4] = {0, 0, 0, FORMAT_VERSION};
	int rc;

	rc = mdb_txn_begin(self->env, NULL, 0, &txn);
	if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "begin");
		goto out;
	}
	if ((rc = mdb_dbi_open(txn, "records", MDB_CREATE, &self->records)) != 0 ||
	    (rc = mdb_dbi_open(txn, "idlog", MDB_CREATE, &self->idlog)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cursors", MDB_CREATE, &self->cursors)) != 0 ||
	    (rc = mdb_dbi_open(txn, "audit", MDB_CREATE, &self->audit)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta)) != 0) {
		rc = lmdb_fail(self, rc, err, "open databases");
		goto out;
	}
	rc = mdb_get(txn, self->meta, &key, &val);
	if (rc == MDB_NOTFOUND) {
		journal_state_t st = {.last_seq = 0, .max_time_ms = INT64_MIN, .unordered_seq = 0};

		val = val_of(version, sizeof(version));
		rc = mdb_put(txn, self->meta, &key, &val, 0);
		if (rc == 0)
			rc = state_store(self, txn, &st);
		if (rc != 0) {
			rc = lmdb_fail(self, rc, err, "create");
			goto out;
		}
	} else if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "read format version");
		goto out;
	} else if ((rc = version_check(self, &val, err)) != 0) {
		goto out;
	}
	rc = head_init(self, txn);
	if (rc == BLO_ECORRUPT) {
		rc = blo_err_set(err, rc, "journal %s: malformed audit record", self->dir);
		goto out;
	} else if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "audit head");
		goto out;
	}
	/* The store's id: made with it (or at the first open of a journal
	 * of an earlier build, which has no log yet). */
	key = val_of(META_STORE_ID, sizeof(META_STORE_ID) - 1);
	rc = mdb_get(txn, self->meta, &key, &val);
	if (rc == 0 && val.mv_size == sizeof(self->store_id)) {
		memcpy(self->store_id, val.mv_data, sizeof(self->store_id));
	} else if (rc == MDB_NOTFOUND) {
		randombytes_buf(self->store_id, sizeof(self->store_id));
		val = val_of(self->store_id, sizeof(self->store_id));
		rc = mdb_put(txn, self->meta, &key, &val, 0);
	} else if (rc == 0) {
		rc = BLO_ECORRUPT;
	}
	if (rc != 0) {
		rc = rc == BLO_ECORRUPT ? blo_err_set(err, rc, "journal %s: malformed store id", self->dir)
					: lmdb_fail(self, rc, err, "store id");
		goto out;
	}
	rc = txn_commit(self, txn, false, NULL, NULL);
	txn = NULL;
	if (rc != 0)
		rc = lmdb_fail(self, rc, err, "commit");
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/* Fills the id index from idlog, which must match records entry for entry. */
static int index_build(blo_journal_t *self, blo_err_t *err)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_stat ids, records;
	MDB_val key, val;
	int rc;

	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_stat(txn, self->idlog, &ids)) != 0 ||
	    (rc = mdb_stat(txn, self->records, &records)) != 0 ||
	    (rc = mdb_cursor_open(txn, self->idlog, &cur)) != 0) {
		rc = lmdb_fail(self, rc, err, "read id log");
		goto out;
	}
	if (ids.ms_entries != records.ms_entries) {
		rc = blo_err_set(err, BLO_ECORRUPT,
				 "journal %s: %zu ids logged for %zu records", self->dir,
				 ids.ms_entries, records.ms_entries);
		goto out;
	}
	rc = index_reserve(&self->index, ids.ms_entries);
	if (rc != 0) {
		rc = blo_err_set(err, rc, "journal %s: no memory for the index of %zu ids",
				 self->dir, ids.ms_entries);
		goto out;
	}
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		if (key.mv_size != 8 || val.mv_size != BLO_JOURNAL_ID_BYTES) {
			rc = blo_err_set(err, BLO_ECORRUPT, "journal %s: malformed id log entry",
					 self->dir);
			goto out;
		}
		index_insert(&self->index, id_fingerprint(val.mv_data), get_be64(key.mv_data));
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else
		rc = lmdb_fail(self, rc, err, "read id log");
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

/* Frees a journal whatever part of it was made (env, locks, index). */
static void journal_free(blo_journal_t *self, int locks_made)
{
	if (self == NULL)
		return;
	if (self->env != NULL)
		mdb_env_close(self->env);
	if (locks_made > 0)
		pthread_rwlock_destroy(&self->map_lock);
	if (locks_made > 1)
		pthread_rwlock_destroy(&self->index_lock);
	pthread_mutex_destroy(&self->sync_lock);
	if (self->wal_fd >= 0)
		close(self->wal_fd);
	free(self->redo);
	slots_free(self->index.slots, self->index.cap);
	free(self->audit_text);
	free(self->dir);
	free(self);
}

/* What both opens share: the struct, its locks, and the LMDB environment
 * of dir opened with flags and map_size (0: the size the journal has).
 * *out is made only on success. */
static int journal_new(blo_journal_t **out, const char *dir, size_t map_size, unsigned flags,
		       blo_err_t *err)
{
	blo_journal_t *self;
	int locks_made = 0;
	int rc;

	*out = NULL;
	/* Picks libsodium's fastest BLAKE2b for this CPU. Should it fail, the
	 * portable one computes the same hashes: go on. */
	if (sodium_init() < 0)
		(void)0;
	self = calloc(1, sizeof(*self));
	if (self != NULL) {
		self->sync_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
		self->wal_fd = -1;
	}
	if (self == NULL || (self->dir = strdup(dir)) == NULL ||
	    (self->audit_text = malloc(AUDIT_TEXT_CAP)) == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "journal %s: out of memory", dir);
		goto out;
	}
	rc = pthread_rwlock_init(&self->map_lock, NULL);
	if (rc == 0) {
		locks_made = 1;
		rc = pthread_rwlock_init(&self->index_lock, NULL);
	}
	if (rc != 0) {
		rc = blo_err_set(err, -rc, "journal %s: lock: %s", dir, blo_strerror(-rc));
		goto out;
	}
	locks_made = 2;
	rc = mdb_env_create(&self->env);
	if (rc != 0) {
		self->env = NULL;
		rc = lmdb_fail(self, rc, err, "create environment");
		goto out;
	}
	if ((rc = mdb_env_set_maxdbs(self->env, NAMED_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(self->env, map_size)) != 0) {
		rc = lmdb_fail(self, rc, err, "configure");
		goto out;
	}
	rc = mdb_env_open(self->env, dir, flags, 0600);
	if (rc == EACCES && (flags & MDB_RDONLY))
		rc = blo_err_set(err, -EACCES,
				 "journal %s: cannot register as a reader in its lock file: "
				 "permission denied (run as the broker's user)",
				 dir);
	else if (rc != 0)
		rc = lmdb_fail(self, rc, err, (flags & MDB_RDONLY) ? "open read-only" : "open");
out:
	if (rc != 0)
		journal_free(self, locks_made);
	else
		*out = self;
	return rc;
}

int blo_journal_open(blo_journal_t **out, const char *dir, const blo_journal_opts_t *opts,
		     blo_err_t *err)
{
	blo_journal_t *self = NULL;
	size_t map_size = opts != NULL && opts->map_size != 0 ? opts->map_size : DEFAULT_MAP_SIZE;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t wal_size = opts != NULL ? opts->wal_size : 0;
	uint64_t replayed = 0;
	int dead_readers = 0;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return blo_err_set(err, BLO_EINVAL, "journal: no folder given");
	if (wal_size != 0 && (wal_size < BLO_JOURNAL_WAL_MIN || wal_size > UINT32_MAX))
		return blo_err_set(err, BLO_EINVAL,
				   "journal %s: write-ahead log size %zu: must be 0 or %zu to %u bytes",
				   dir, wal_size, BLO_JOURNAL_WAL_MIN, UINT32_MAX);
	if (map_size % page != 0)
		map_size += page - map_size % page;
	/* NOTLS: read transactions belong to the call, not the thread, so
	 * reader threads may share the journal. Not WRITEMAP: measured 3x
	 * slower here (a page fault per fresh page, then msync), and it lets a
	 * stray pointer write corrupt the store. NOMETASYNC, never NOSYNC: the
	 * data pages are synced before the meta page that points at them is
	 * written, and txn_commit (or blo_journal_sync) syncs the meta page
	 * before anyone is told the commit is durable. */
	rc = journal_new(&self, dir, map_size, MDB_NOTLS | MDB_NOMETASYNC, err);
	if (rc != 0)
		return rc;
	/* A process that died holding a reader slot would pin old pages. */
	mdb_reader_check(self->env, &dead_readers);
	self->entry_map_size = current_map_size(self);
	rc = journal_init(self, err);
	/* Before anything else commits: the log names the transactions it
	 * holds by the ids they had. */
	if (rc == 0)
		rc = wal_replay(self, &replayed, err);
	/* Replay may have grown the map. */
	self->entry_map_size = current_map_size(self);
	if (rc == 0)
		rc = index_build(self, err);
	/* A process before this one may have left a deferred commit whose meta
	 * page is in the page cache only: on disk before the journal is used.
	 * So are the replayed ones, before the log may start over. */
	if (rc == 0 && (rc = mdb_env_sync(self->env, 1)) != 0)
		rc = lmdb_fail(self, rc, err, "sync");
	if (rc == 0) {
		atomic_store(&self->durable_txn, atomic_load(&self->committed_txn));
		self->replayed = replayed;
	}
	if (rc == 0 && wal_size != 0) {
		blo_err_t wal_err = {0};

		/* Only a shortcut to durability: without it, as usual. */
		if (wal_make(self, wal_size, &wal_err) != 0 && opts->wal_err != NULL)
			*opts->wal_err = wal_err;
	}
	if (rc != 0)
		journal_free(self, 2);
	else
		*out = self;
	return rc;
}

void blo_journal_close(blo_journal_t **self_p)
{
	blo_journal_t *self;
	unsigned flags;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	/* A deferred commit goes to disk now, not at the kernel's leisure. */
	if (mdb_env_get_flags(self->env, &flags) == 0 && !(flags & MDB_RDONLY))
		mdb_env_sync(self->env, 1);
	journal_free(self, 2);
	*self_p = NULL;
}

static void lock_shared(blo_journal_t *self)
{
	int rc = pthread_rwlock_rdlock(&self->map_lock);

	assert(rc == 0);
	(void)rc;
}

static void unlock(blo_journal_t *self)
{
	pthread_rwlock_unlock(&self->map_lock);
}

static void index_lock_exclusive(blo_journal_t *self)
{
	int rc = pthread_rwlock_wrlock(&self->index_lock);

	assert(rc == 0);
	(void)rc;
}

static void index_unlock(blo_journal_t *self)
{
	pthread_rwlock_unlock(&self->index_lock);
}

/* Stores one entry, or reports the sequence already holding its id: logs
 * the id and appends the record under the next sequence, then indexes it.
 * The caller holds index_lock exclusively. */
static int append_one(blo_journal_t *self, MDB_txn *txn, MDB_cursor *records,
		      MDB_cursor *idlog, journal_state_t *st, blo_journal_entry_t *e)
{
	uint8_t seq_be[8];
	uint64_t fp = id_fingerprint(e->id);
	uint64_t seq = st->last_seq + 1;
	MDB_val key = val_of(seq_be, sizeof(seq_be));
	MDB_val val;
	int rc;

	rc = id_lookup(self, txn, e->id, fp, &e->seq, NULL);
	if (rc == 0) {
		e->result = BLO_EDUPLICATE;
		if (e->same != NULL) {
			int same;

			put_be64(seq_be, e->seq);
			rc = mdb_get(txn, self->records, &key, &val);
			if (rc != 0)
				return rc == MDB_NOTFOUND ? BLO_ECORRUPT : rc; /* idlog has it */
			if (val.mv_size < HDR_BYTES)
				return BLO_ECORRUPT;
			same = e->same((const uint8_t *)val.mv_data + HDR_BYTES, val.mv_size - HDR_BYTES,
				       e->same_arg);
			if (same <= 0) {
				e->result = same < 0 ? same : BLO_ECONFLICT;
				e->seq = 0;
			}
		}
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;

	put_be64(seq_be, seq);
	val = val_of(e->id, BLO_JOURNAL_ID_BYTES);
	rc = mdb_cursor_put(idlog, &key, &val, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		return BLO_ECORRUPT; /* an entry above last_seq: meta lies */
	if (rc != 0)
		return rc;
	redo_note(self, OP_PUT, DB_IDLOG, &key, &val);
	/* RESERVE: LMDB makes room and we write the header and envelope into
	 * the page directly, with no staging buffer. */
	val.mv_size = HDR_BYTES + e->len;
	val.mv_data = NULL;
	rc = mdb_cursor_put(records, &key, &val, MDB_APPEND | MDB_RESERVE);
	if (rc == MDB_KEYEXIST)
		return BLO_ECORRUPT;
	if (rc != 0)
		return rc;
	put_be64(val.mv_data, (uint64_t)e->time_ms);
	memcpy((uint8_t *)val.mv_data + HDR_ID_OFF, e->id, BLO_JOURNAL_ID_BYTES);
	if (e->len > 0)
		memcpy((uint8_t *)val.mv_data + HDR_BYTES, e->data, e->len);
	redo_note(self, OP_PUT, DB_RECORDS, &key, &val);
	index_insert(&self->index, fp, seq);

	if (e->time_ms < st->max_time_ms)
		st->unordered_seq = seq;
	else
		st->max_time_ms = e->time_ms;
	st->last_seq = seq;
	e->seq = seq;
	e->result = 0;
	return 0;
}

/* BLO_EINVAL unless name is 1..BLO_CURSOR_NAME_MAX-1 bytes. */
static int cursor_key(const char *name, MDB_val *key)
{
	size_t len;

	if (name == NULL)
		return BLO_EINVAL;
	len = strnlen(name, BLO_CURSOR_NAME_MAX);
	if (len == 0 || len == BLO_CURSOR_NAME_MAX)
		return BLO_EINVAL;
	*key = val_of(name, len);
	return 0;
}

/* Appends entries[0..n) in txn, *done counting those processed (the stored
 * ones are indexed: the caller unindexes them if the transaction fails),
 * and writes the append state. */
static int entries_append(blo_journal_t *self, MDB_txn *txn, blo_journal_entry_t *entries,
			  size_t n, size_t *done, blo_err_t *err)
{
	MDB_cursor *records = NULL, *idlog = NULL;
	journal_state_t st;
	int rc;

	rc = state_load(self, txn, &st);
	if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "append: read state");
		goto out;
	}
	if ((rc = mdb_cursor_open(txn, self->records, &records)) != 0 ||
	    (rc = mdb_cursor_open(txn, self->idlog, &idlog)) != 0) {
		rc = lmdb_fail(self, rc, err, "append: cursor");
		goto out;
	}
	/* Readers may meet the new slots before the commit: they check the id
	 * log in their own transaction, which does not show this batch yet. */
	index_lock_exclusive(self);
	rc = index_reserve(&self->index, n);
	/* Each lookup is a cache miss in a large table: start them all now so
	 * that they overlap instead of stalling one by one. */
	for (size_t i = 0; rc == 0 && i < n; i++)
		__builtin_prefetch(&self->index.slots[id_fingerprint(entries[i].id) &
						      (self->index.cap - 1)]);
	while (rc == 0 && *done < n) {
		assert(entries[*done].id != NULL);
		assert(entries[*done].data != NULL || entries[*done].len == 0);
		rc = append_one(self, txn, records, idlog, &st, &entries[*done]);
		if (rc == 0)
			(*done)++;
	}
	index_unlock(self);
	if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "append");
		blo_err_prefix(err, "entry %zu of %zu", *done, n);
		goto out;
	}
	rc = state_store(self, txn, &st);
	if (rc != 0)
		rc = lmdb_fail(self, rc, err, "append: write state");
out:
	if (records != NULL)
		mdb_cursor_close(records);
	if (idlog != NULL)
		mdb_cursor_close(idlog);
	return rc;
}

static int cursors_put(blo_journal_t *self, MDB_txn *txn, const blo_cursor_update_t *cursors,
		       size_t n, blo_err_t *err)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t seq_be[8];
		MDB_val key, val = val_of(seq_be, sizeof(seq_be));
		int rc;

		cursor_key(cursors[i].name, &key);
		put_be64(seq_be, cursors[i].seq);
		if (cursors[i].remove) {
			rc = mdb_del(txn, self->cursors, &key, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
			if (rc == 0)
				redo_note(self, OP_DEL, DB_CURSORS, &key, NULL);
		} else {
			rc = mdb_put(txn, self->cursors, &key, &val, 0);
			if (rc == 0)
				redo_note(self, OP_PUT, DB_CURSORS, &key, &val);
		}
		if (rc != 0) {
			rc = lmdb_fail(self, rc, err, "set cursor");
			blo_err_prefix(err, "cursor \"%s\"", cursors[i].name);
			return rc;
		}
	}
	return 0;
}

/* Appends the batch's audit records to the chain, after its entries (their
 * results and sequences are known by now), and moves the head. */
static int audit_append(blo_journal_t *self, MDB_txn *txn, const blo_journal_batch_t *b,
			blo_err_t *err)
{
	MDB_cursor *cur = NULL;
	uint8_t hash[BLO_AUDIT_HASH_BYTES];
	uint8_t aseq_be[8];
	MDB_val key = val_of(aseq_be, sizeof(aseq_be));
	MDB_val val;
	uint64_t aseq;
	int rc;

	if (b->n_audit == 0)
		return 0;
	rc = head_load(self, txn, &aseq, hash);
	if (rc == 0)
		rc = mdb_cursor_open(txn, self->audit, &cur);
	for (size_t i = 0; rc == 0 && i < b->n_audit; i++) {
		const blo_audit_record_t *r = &b->audit[i];
		blo_audit_record_t conflict;
		blo_audit_event_t event = r->event;
		const uint8_t *alert = r->alert_id;
		uint64_t seq = r->seq;
		size_t len;

		if (r->skip != NULL && *r->skip)
			continue;
		if (r->entry_index != BLO_AUDIT_NO_ENTRY) {
			const blo_journal_entry_t *e = &b->entries[r->entry_index];

			seq = e->seq;
			if (alert == NULL)
				alert = e->id;
			if (event == BLO_AUDIT_ACCEPT || event == BLO_AUDIT_DUPLICATE)
				event = e->result == BLO_EDUPLICATE ? BLO_AUDIT_DUPLICATE
								    : BLO_AUDIT_ACCEPT;
			if (e->result != 0 && e->result != BLO_EDUPLICATE) {
				/* Refused, whatever the record was to say (an accept,
				 * a forward received): another alert's id, or not
				 * known to be the stored alert again just now. */
				event = BLO_AUDIT_REJECT;
				conflict = *r;
				conflict.detail = e->result == BLO_ECONFLICT
							  ? "alert id already stored for another alert"
							  : "not stored: could not compare it with the alert "
							    "stored under its id just now (send it again)";
				r = &conflict;
			}
		}
		aseq++;
		len = audit_format(self->audit_text, aseq, r, event, alert, seq);
		put_be64(aseq_be, aseq);
		val.mv_size = len + BLO_AUDIT_HASH_BYTES;
		val.mv_data = NULL;
		rc = mdb_cursor_put(cur, &key, &val, MDB_APPEND | MDB_RESERVE);
		if (rc == MDB_KEYEXIST) {
			/* Only a hand on the store puts records past the head:
			 * refuse to write over them. */
			rc = blo_err_set(err, BLO_ECORRUPT,
					 "journal %s: audit record %llu exists beyond the audit "
					 "head: the audit log was altered (verify it)",
					 self->dir, (unsigned long long)aseq);
			goto out;
		}
		if (rc != 0)
			break;
		blo_journal_audit_hash(hash, hash, self->audit_text, len);
		memcpy(val.mv_data, self->audit_text, len);
		memcpy((uint8_t *)val.mv_data + len, hash, BLO_AUDIT_HASH_BYTES);
		redo_note(self, OP_PUT, DB_AUDIT, &key, &val);
	}
	if (rc == 0)
		rc = head_store(self, txn, aseq, hash);
	if (rc == BLO_ECORRUPT)
		rc = blo_err_set(err, rc, "journal %s: the audit head is missing or malformed",
				 self->dir);
	else if (rc != 0)
		rc = lmdb_fail(self, rc, err, "append audit records");
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	return rc;
}

/* Whether a batch asking for the log may have it: the journal has one and
 * its filesystem has room enough to defer (see txn_commit). */
static bool may_log(const blo_journal_t *self, const blo_journal_batch_t *b)
{
	long long left;

	return b->logged != NULL && self->wal_fd >= 0 && atomic_load(&self->write_failed) == 0 &&
	       ((left = free_bytes(self->dir)) < 0 || left >= DEFER_MIN_FREE_BYTES);
}

/* One write transaction for the whole batch, committed. The caller holds
 * map_lock shared. On failure the entries stored in it leave the index.
 * A logged batch (may_log) goes to the log between its changes and its
 * commit, and its caller hears of it there. */
static int commit_txn(blo_journal_t *self, blo_journal_batch_t *b, blo_err_t *err)
{
	MDB_txn *txn = NULL;
	size_t done = 0; /* entries processed; the stored ones are indexed */
	bool committed = false, logging = may_log(self, b), called = false;
	int rc;

	rc = mdb_txn_begin(self->env, NULL, 0, &txn);
	if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "commit: begin");
		goto out;
	}
	/* What it builds on must survive what it does: a commit of another
	 * thread too, which ended before this began (its sync, under
	 * sync_lock, is waited for). */
	if (logging && (rc = sync_committed(self, false)) != 0) {
		rc = lmdb_fail(self, rc, err, "sync before a logged commit");
		goto out;
	}
	if (logging) {
		self->redo_len = 0;
		self->redo_err = 0;
		self->redo_on = true;
	}
	if (b->n_entries > 0) {
		rc = entries_append(self, txn, b->entries, b->n_entries, &done, err);
		if (rc != 0)
			goto out;
	}
	rc = cursors_put(self, txn, b->cursors, b->n_cursors, err);
	if (rc != 0)
		goto out;
	rc = audit_append(self, txn, b, err);
	if (rc != 0)
		goto out;
	if (logging) {
		uint8_t id_be[8];
		MDB_val key = val_of(META_WAL_TXN, sizeof(META_WAL_TXN) - 1), val = val_of(id_be, 8);

		put_be64(id_be, mdb_txn_id(txn));
		if ((rc = mdb_put(txn, self->meta, &key, &val, 0)) != 0) {
			rc = lmdb_fail(self, rc, err, "commit: log mark");
			goto out;
		}
		redo_note(self, OP_PUT, DB_META, &key, &val);
		self->redo_on = false;
		/* Too large for the log (or no memory to note it): as usual. */
		logging = self->redo_err == 0 && WAL_HDR_BYTES + self->redo_len <= self->wal_size;
	}
	if (logging) {
		if ((rc = wal_append(self, mdb_txn_id(txn), err)) != 0)
			goto out;
		atomic_store(&self->logging_txn, mdb_txn_id(txn));
		atomic_fetch_add(&self->logged_windows, 1);
		b->logged(b, b->logged_arg);
		called = true;
	}
	rc = txn_commit(self, txn, logging || b->defer_sync, &b->txn, &committed);
	txn = NULL;
	if (logging) {
		atomic_store(&self->logging_txn, 0);
		atomic_fetch_add(&self->logged_windows, 1);
		b->txn = 0;
		/* Acknowledged, yet not in the store: only the log has it now,
		 * and open replays it. Nothing more until then. */
		if (rc != 0) {
			int none = 0;

			pthread_mutex_lock(&self->sync_lock);
			atomic_compare_exchange_strong(&self->write_failed, &none, rc);
			pthread_mutex_unlock(&self->sync_lock);
		}
	}
	if (rc != 0)
		rc = lmdb_fail(self, rc, err, "commit");
out:
	self->redo_on = false;
	if (txn != NULL)
		mdb_txn_abort(txn);
	/* Committed but not synced: stored all the same, so still indexed.
	 * Logged (called): in the log, which the next open replays; and the
	 * entries' ids may be gone with what the caller let go. */
	if (rc != 0 && done > 0 && !committed && !called) {
		index_lock_exclusive(self);
		for (size_t i = 0; i < done; i++) {
			if (b->entries[i].result == 0)
				index_remove(&self->index, id_fingerprint(b->entries[i].id),
					     b->entries[i].seq);
		}
		index_unlock(self);
	}
	return rc;
}

/* BLO_EINVAL, with err, unless every cursor name and audit record is
 * well-formed. */
static int batch_check(const blo_journal_t *self, const blo_journal_batch_t *b, blo_err_t *err)
{
	MDB_val key;

	for (size_t i = 0; i < b->n_cursors; i++) {
		if (cursor_key(b->cursors[i].name, &key) != 0)
			return blo_err_set(err, BLO_EINVAL,
					   "journal %s: cursor %zu: name must be 1 to %d bytes",
					   self->dir, i, BLO_CURSOR_NAME_MAX - 1);
	}
	for (size_t i = 0; i < b->n_audit; i++) {
		const blo_audit_record_t *r = &b->audit[i];

		if (blo_journal_audit_event_name(r->event) == NULL)
			return blo_err_set(err, BLO_EINVAL,
					   "journal %s: audit record %zu: unknown event %d",
					   self->dir, i, (int)r->event);
		if (r->entry_index != BLO_AUDIT_NO_ENTRY &&
		    (r->entry_index < 0 || (size_t)r->entry_index >= b->n_entries))
			return blo_err_set(err, BLO_EINVAL,
					   "journal %s: audit record %zu: entry_index %d outside "
					   "the batch of %zu entries",
					   self->dir, i, r->entry_index, b->n_entries);
	}
	return 0;
}

static size_t map_step(size_t map_size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t step = map_size / 64 > 64 * page ? map_size / 64 : 64 * page;

	return step - step % page;
}

/* Lets batches without entries grow the map into the reserve beyond
 * entry_map_size, and from then on refuses batches with entries. 0 if the
 * reserve is open, BLO_EFULL if it is used up. */
static int open_reserve(blo_journal_t *self)
{
	int rc = pthread_rwlock_wrlock(&self->map_lock);

	assert(rc == 0);
	if (!self->reserve_open) {
		size_t limit = self->entry_map_size + map_step(self->entry_map_size);

		rc = BLO_EFULL;
		if (current_map_size(self) < limit && mdb_env_set_mapsize(self->env, limit) == 0) {
			self->reserve_open = true;
			rc = 0;
		}
	}
	pthread_rwlock_unlock(&self->map_lock);
	return rc;
}

/* Ends the refusal of entries after a purge: back to entry_map_size, or
 * to the pages in use if the reserve holds some (LMDB keeps those). */
static void close_reserve(blo_journal_t *self)
{
	int rc = pthread_rwlock_wrlock(&self->map_lock);

	assert(rc == 0);
	if (self->reserve_open && mdb_env_set_mapsize(self->env, self->entry_map_size) == 0)
		self->reserve_open = false;
	pthread_rwlock_unlock(&self->map_lock);
}

/* A process killed inside a read transaction (an admin tool, a backup)
 * leaves its reader slot behind, and the slot pins the snapshot it read:
 * no page freed since can be reused, so every commit grows the file until
 * the map is full, and purge can only grow the map further. LMDB clears
 * such slots only when asked: open does, purge does every time, commits at
 * most once a second (a lock and a syscall per reader process). */
#define READER_CHECK_EVERY_MS 1000

static void reap_dead_readers(blo_journal_t *self, bool always)
{
	int64_t now = blo_mono_ns() / 1000000, last;
	int dead = 0;

	last = atomic_load(&self->readers_checked_ms);
	if (!always && (now - last < READER_CHECK_EVERY_MS ||
			!atomic_compare_exchange_strong(&self->readers_checked_ms, &last, now)))
		return;
	mdb_reader_check(self->env, &dead);
}

int blo_journal_commit(blo_journal_t *self, blo_journal_batch_t *batch, blo_err_t *err)
{
	int rc;

	assert(self != NULL && batch != NULL);
	assert(batch->entries != NULL || batch->n_entries == 0);
	assert(batch->cursors != NULL || batch->n_cursors == 0);
	assert(batch->audit != NULL || batch->n_audit == 0);
	batch->txn = 0;
	rc = batch_check(self, batch, err);
	if (rc != 0)
		goto out;
	if (batch->n_entries == 0 && batch->n_cursors == 0 && batch->n_audit == 0)
		return 0;
	reap_dead_readers(self, false);
	for (;;) {
		bool had_reserve;

		lock_shared(self);
		had_reserve = self->reserve_open;
		if (batch->n_entries > 0 && had_reserve)
			rc = blo_err_set(err, BLO_EFULL,
					 "journal %s: map full (map_size %zu bytes): publishing is "
					 "refused until a purge removes old records",
					 self->dir, self->entry_map_size);
		else
			rc = commit_txn(self, batch, err);
		unlock(self);
		/* A full map refuses entries, but what the broker records about
		 * them (refusals, acks) goes into the reserve. */
		if (rc != BLO_EFULL || batch->n_entries > 0 || had_reserve ||
		    open_reserve(self) != 0)
			break;
		blo_err_clear(err);
	}
out:
	if (rc != 0) {
		for (size_t i = 0; i < batch->n_entries; i++) {
			batch->entries[i].seq = 0;
			batch->entries[i].result = rc;
		}
	}
	return rc;
}

uint64_t blo_journal_durable_txn(blo_journal_t *self)
{
	assert(self != NULL);
	return atomic_load(&self->durable_txn);
}

int blo_journal_sync(blo_journal_t *self, blo_err_t *err)
{
	int64_t start = blo_mono_ns();
	uint64_t last;
	unsigned flags;
	int rc;

	assert(self != NULL);
	/* A read-only handle commits nothing: nothing of its own to sync. */
	if (mdb_env_get_flags(self->env, &flags) == 0 && (flags & MDB_RDONLY))
		return 0;
	pthread_mutex_lock(&self->sync_lock);
	/* What is committed before the sync starts is on disk after it. */
	last = atomic_load(&self->committed_txn);
	if ((rc = atomic_load(&self->write_failed)) == 0) {
		if ((rc = mdb_env_sync(self->env, 1)) != 0)
			write_failure(self, rc, true);
		else
			durable_raise(self, last);
	}
	pthread_mutex_unlock(&self->sync_lock);
	if (rc != 0)
		return lmdb_fail(self, rc, err, "sync");
	blo_hist_add(&self->commit_times, blo_mono_ns() - start);
	return 0;
}

int blo_journal_append(blo_journal_t *self, blo_journal_entry_t *entries, size_t n, blo_err_t *err)
{
	blo_journal_batch_t batch = {.entries = entries, .n_entries = n};

	return blo_journal_commit(self, &batch, err);
}

/* After a read found nothing: whether to read again, once the logged
 * batch that was between its log and its commit when the read began
 * (windows, odd) is committed. What a logged callback let out is sought
 * only after that began. Only for what may be in that batch (unseen: a
 * sequence beyond the read's view, an id indexed but not in its view):
 * a purged record or an unknown id is answered at once. *rc becomes
 * -EAGAIN when the wait is over BLO_JOURNAL_LOGGED_WAIT_MS. */
static bool logged_wait(blo_journal_t *self, uint64_t windows, bool unseen, int *rc)
{
	int64_t until = blo_mono_ns() + (int64_t)BLO_JOURNAL_LOGGED_WAIT_MS * 1000000;

	if (*rc != BLO_ENOTFOUND || (windows & 1) == 0 || !unseen)
		return false;
	while (atomic_load(&self->logged_windows) == windows) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 50000};

		if (blo_mono_ns() >= until) {
			*rc = -EAGAIN;
			return false;
		}
		nanosleep(&ts, NULL);
	}
	return true;
}

static int get_once(blo_journal_t *self, uint64_t seq, uint8_t **data, size_t *len,
		    int64_t *time_ms, uint8_t *id, bool *unseen);

int blo_journal_get(blo_journal_t *self, uint64_t seq, uint8_t **data, size_t *len,
		    int64_t *time_ms, uint8_t *id)
{
	uint64_t windows;
	bool unseen;
	int rc;

	assert(self != NULL && data != NULL && len != NULL);
	do {
		windows = atomic_load(&self->logged_windows);
		unseen = false;
		rc = get_once(self, seq, data, len, time_ms, id, &unseen);
	} while (logged_wait(self, windows, unseen, &rc));
	return rc;
}

static int get_once(blo_journal_t *self, uint64_t seq, uint8_t **data, size_t *len,
		    int64_t *time_ms, uint8_t *id, bool *unseen)
{
	MDB_txn *txn = NULL;
	uint8_t seq_be[8];
	MDB_val key = val_of(seq_be, sizeof(seq_be));
	MDB_val val;
	blo_journal_record_t rec;
	int rc;

	assert(self != NULL && data != NULL && len != NULL);
	*data = NULL;
	*len = 0;
	put_be64(seq_be, seq);
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		goto out;
	rc = mdb_get(txn, self->records, &key, &val);
	if (rc == MDB_NOTFOUND) {
		journal_state_t st;

		*unseen = state_load(self, txn, &st) != 0 || seq > st.last_seq;
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = record_decode(&key, &val, &rec);
	if (rc != 0)
		goto out;
	/* malloc(0) may return NULL: an empty envelope still gets a buffer. */
	*data = malloc(rec.len > 0 ? rec.len : 1);
	if (*data == NULL) {
		rc = BLO_ENOMEM;
		goto out;
	}
	memcpy(*data, rec.data, rec.len);
	*len = rec.len;
	if (time_ms != NULL)
		*time_ms = rec.time_ms;
	if (id != NULL)
		memcpy(id, rec.id, BLO_JOURNAL_ID_BYTES);
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc == MDB_NOTFOUND)
		rc = BLO_ENOTFOUND;
	else if (rc > 0)
		rc = -rc;
	return rc;
}

static int find_once(blo_journal_t *self, const uint8_t *id, uint64_t *seq, bool *unseen);

int blo_journal_find_id(blo_journal_t *self, const uint8_t *id, uint64_t *seq)
{
	uint64_t windows;
	bool unseen;
	int rc;

	assert(self != NULL && id != NULL && seq != NULL);
	do {
		windows = atomic_load(&self->logged_windows);
		unseen = false;
		rc = find_once(self, id, seq, &unseen);
	} while (logged_wait(self, windows, unseen, &rc));
	return rc;
}

static int find_once(blo_journal_t *self, const uint8_t *id, uint64_t *seq, bool *unseen)
{
	MDB_txn *txn = NULL;
	int rc;

	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		goto out;
	rc = pthread_rwlock_rdlock(&self->index_lock);
	assert(rc == 0);
	rc = id_lookup(self, txn, id, id_fingerprint(id), seq, unseen);
	index_unlock(self);
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc == MDB_NOTFOUND)
		rc = BLO_ENOTFOUND;
	else if (rc > 0)
		rc = -rc;
	return rc;
}

int blo_journal_scan(blo_journal_t *self, uint64_t from_seq, size_t max, blo_journal_scan_fn fn,
		     void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	uint8_t seq_be[8];
	MDB_val key = val_of(seq_be, sizeof(seq_be));
	MDB_val val;
	blo_journal_record_t rec;
	size_t visited = 0;
	int rc;

	assert(self != NULL && fn != NULL);
	put_be64(seq_be, from_seq);
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_open(txn, self->records, &cur);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && (max == 0 || visited < max)) {
		rc = record_decode(&key, &val, &rec);
		if (rc != 0)
			goto out;
		rc = fn(&rec, arg);
		if (rc != 0)
			goto out;
		visited++;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0)
		rc = -rc;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	return rc;
}

/* The first record at or after seq: its time in *time_ms and its sequence
 * in *found. MDB_NOTFOUND past the end. */
static int time_at_or_after(MDB_cursor *cur, uint64_t seq, uint64_t *found, int64_t *time_ms)
{
	uint8_t seq_be[8];
	MDB_val key = val_of(seq_be, sizeof(seq_be));
	MDB_val val;
	blo_journal_record_t rec;
	int rc;

	put_be64(seq_be, seq);
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	if (rc != 0)
		return rc;
	rc = record_decode(&key, &val, &rec);
	if (rc != 0)
		return rc;
	*found = rec.seq;
	*time_ms = rec.time_ms;
	return 0;
}

int blo_journal_seq_at_time(blo_journal_t *self, int64_t time_ms, uint64_t *seq)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	journal_state_t st;
	uint64_t lo, hi, found;
	int64_t t;
	int rc;

	assert(self != NULL && seq != NULL);
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		goto out;
	rc = state_load(self, txn, &st);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_open(txn, self->records, &cur);
	if (rc != 0)
		goto out;

	/* Up to unordered_seq times may go back and forth: scan them. */
	lo = 0;
	while (lo <= st.unordered_seq) {
		rc = time_at_or_after(cur, lo, &found, &t);
		if (rc != 0 || found > st.unordered_seq)
			break;
		if (t >= time_ms) {
			*seq = found;
			goto out;
		}
		lo = found + 1;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto out;

	/* From lo on times ascend: binary search. Invariant: records below lo
	 * are earlier than time_ms; the first record at or after hi is not
	 * (or there is none). Robust to gaps in the sequence. */
	hi = st.last_seq + 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		rc = time_at_or_after(cur, mid, &found, &t);
		if (rc == MDB_NOTFOUND || (rc == 0 && found >= hi)) {
			hi = mid;
		} else if (rc != 0) {
			goto out;
		} else if (t >= time_ms) {
			hi = found;
		} else {
			lo = found + 1;
		}
	}
	rc = time_at_or_after(cur, lo, &found, &t);
	if (rc == MDB_NOTFOUND) {
		*seq = st.last_seq + 1;
		rc = 0;
	} else if (rc == 0) {
		*seq = found;
	}
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc > 0)
		rc = -rc;
	return rc;
}

/* A value of 8 bytes big-endian under key in dbi, read in a transaction of
 * its own: 0, BLO_ENOTFOUND, BLO_ECORRUPT (another size), or -errno / an
 * MDB_* code. */
static int get_u64(blo_journal_t *self, MDB_dbi dbi, MDB_val *key, uint64_t *out)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	int rc;

	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_get(txn, dbi, key, &val);
	if (rc == 0 && val.mv_size != 8)
		rc = BLO_ECORRUPT;
	if (rc == 0)
		*out = get_be64(val.mv_data);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc == MDB_NOTFOUND)
		rc = BLO_ENOTFOUND;
	else if (rc > 0)
		rc = -rc;
	return rc;
}

int blo_journal_cursor_get(blo_journal_t *self, const char *name, uint64_t *seq)
{
	MDB_val key;
	int rc;

	assert(self != NULL && seq != NULL);
	rc = cursor_key(name, &key);
	return rc != 0 ? rc : get_u64(self, self->cursors, &key, seq);
}

int blo_journal_cursor_scan(blo_journal_t *self, const char *prefix, blo_journal_cursor_fn fn,
			    void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	size_t len;
	MDB_val key, val;
	int rc, stop = 0;

	assert(self != NULL && fn != NULL);
	if (prefix == NULL || (len = strnlen(prefix, BLO_CURSOR_NAME_MAX)) == BLO_CURSOR_NAME_MAX)
		return BLO_EINVAL;
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_cursor_open(txn, self->cursors, &cur);
	key = val_of(prefix, len);
	for (MDB_cursor_op op = len > 0 ? MDB_SET_RANGE : MDB_FIRST; rc == 0; op = MDB_NEXT) {
		char name[BLO_CURSOR_NAME_MAX];

		rc = mdb_cursor_get(cur, &key, &val, op);
		if (rc != 0 || key.mv_size < len || memcmp(key.mv_data, prefix, len) != 0)
			break;
		/* Not a cursor as this journal writes them: passed over, as
		 * blo_journal_cursor_get refuses that one alone. */
		if (key.mv_size >= sizeof(name) || val.mv_size != 8)
			continue;
		memcpy(name, key.mv_data, key.mv_size);
		name[key.mv_size] = '\0';
		if ((stop = fn(name, get_be64(val.mv_data), arg)) != 0)
			break;
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (stop != 0)
		return stop;
	if (rc == MDB_NOTFOUND)
		rc = 0;
	return rc > 0 ? -rc : rc;
}

int blo_journal_cursor_set(blo_journal_t *self, const char *const *names, const uint64_t *seqs,
			   size_t n, blo_err_t *err)
{
	blo_cursor_update_t few[16];
	blo_cursor_update_t *updates = few;
	blo_journal_batch_t batch = {.n_cursors = n};
	int rc;

	assert(self != NULL);
	assert((names != NULL && seqs != NULL) || n == 0);
	if (n > sizeof(few) / sizeof(few[0])) {
		updates = calloc(n, sizeof(*updates));
		if (updates == NULL)
			return blo_err_set(err, BLO_ENOMEM,
					   "journal %s: set cursors: out of memory", self->dir);
	}
	for (size_t i = 0; i < n; i++)
		updates[i] = (blo_cursor_update_t){.name = names[i], .seq = seqs[i]};
	batch.cursors = updates;
	rc = blo_journal_commit(self, &batch, err);
	if (updates != few)
		free(updates);
	return rc;
}

int blo_journal_cursor_delete(blo_journal_t *self, const char *name)
{
	MDB_txn *txn = NULL;
	MDB_val key;
	int rc;

	assert(self != NULL);
	rc = cursor_key(name, &key);
	if (rc != 0)
		return rc;
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, 0, &txn);
	if (rc != 0)
		goto out;
	rc = mdb_del(txn, self->cursors, &key, NULL);
	if (rc != 0)
		goto out;
	rc = txn_commit(self, txn, false, NULL, NULL);
	txn = NULL;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc == MDB_NOTFOUND)
		rc = BLO_ENOTFOUND;
	else if (rc == MDB_MAP_FULL)
		rc = BLO_EFULL;
	else if (rc > 0)
		rc = -rc;
	return rc;
}

/* Removes the oldest record, and its id, while it is older than
 * older_than_ms or the journal holds more than keep_count; at most limit
 * records, listed in gone[0..*removed) for the index. *done says nothing
 * more qualifies. */
static int purge_some(blo_journal_t *self, MDB_txn *txn, int64_t older_than_ms,
		      uint64_t keep_count, size_t limit, id_slot_t *gone, size_t *removed,
		      bool *done)
{
	MDB_cursor *cur = NULL;
	MDB_stat stat;
	MDB_val key, val;
	blo_journal_record_t rec;
	uint8_t seq_be[8];
	uint64_t count;
	int rc;

	*removed = 0;
	*done = false;
	rc = mdb_stat(txn, self->records, &stat);
	if (rc != 0)
		goto out;
	count = stat.ms_entries;
	rc = mdb_cursor_open(txn, self->records, &cur);
	if (rc != 0)
		goto out;
	while (*removed < limit) {
		bool too_old, too_many;

		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
		if (rc == MDB_NOTFOUND) {
			*done = true;
			rc = 0;
			goto out;
		}
		if (rc != 0)
			goto out;
		rc = record_decode(&key, &val, &rec);
		if (rc != 0)
			goto out;
		too_old = older_than_ms != 0 && rec.time_ms < older_than_ms;
		too_many = keep_count != 0 && count > keep_count;
		if (!too_old && !too_many) {
			*done = true;
			goto out;
		}
		/* rec points into the page the delete rewrites: take what the
		 * index needs first. */
		gone[*removed].fp = id_fingerprint(rec.id);
		gone[*removed].seq = rec.seq;
		rc = mdb_cursor_del(cur, 0);
		if (rc != 0)
			goto out;
		put_be64(seq_be, gone[*removed].seq);
		key = val_of(seq_be, sizeof(seq_be));
		rc = mdb_del(txn, self->idlog, &key, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			goto out;
		rc = 0;
		count--;
		(*removed)++;
	}
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	return rc;
}

/* Rewrites the append state in a transaction of its own. LMDB reuses the
 * pages a transaction frees only two transactions later, so after the last
 * purge batch this makes what it freed available to the very next append. */
static int touch_state(blo_journal_t *self)
{
	MDB_txn *txn = NULL;
	journal_state_t st;
	int rc;

	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, 0, &txn);
	if (rc != 0)
		goto out;
	rc = state_load(self, txn, &st);
	if (rc == 0)
		rc = state_store(self, txn, &st);
	if (rc != 0)
		goto out;
	rc = txn_commit(self, txn, false, NULL, NULL);
	txn = NULL;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	return rc;
}

/* Grows the map by a step so that a purge of a full journal can proceed. */
static int grow_map(blo_journal_t *self)
{
	size_t size = current_map_size(self);
	int rc;

	rc = pthread_rwlock_wrlock(&self->map_lock);
	assert(rc == 0);
	rc = mdb_env_set_mapsize(self->env, size + map_step(size));
	if (rc == 0)
		self->entry_map_size = current_map_size(self);
	pthread_rwlock_unlock(&self->map_lock);
	return rc;
}

int blo_journal_purge(blo_journal_t *self, int64_t older_than_ms, uint64_t keep_count,
		      uint64_t *purged, blo_err_t *err)
{
	MDB_txn *txn = NULL;
	id_slot_t *gone = NULL;
	uint64_t total = 0;
	size_t removed = 0;
	size_t batch = PURGE_BATCH;
	int grows = 0;
	bool done = false;
	int rc = 0;

	assert(self != NULL);
	if (older_than_ms == 0 && keep_count == 0)
		goto out;
	reap_dead_readers(self, true);
	gone = malloc(PURGE_BATCH * sizeof(*gone));
	if (gone == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "journal %s: purge: out of memory", self->dir);
		goto out;
	}
	while (!done) {
		lock_shared(self);
		rc = mdb_txn_begin(self->env, NULL, 0, &txn);
		if (rc == 0)
			rc = purge_some(self, txn, older_than_ms, keep_count, batch, gone,
					&removed, &done);
		if (rc == 0 && removed > 0) {
			rc = txn_commit(self, txn, false, NULL, NULL);
			txn = NULL;
			if (rc == 0) {
				index_lock_exclusive(self);
				for (size_t i = 0; i < removed; i++)
					index_remove(&self->index, gone[i].fp, gone[i].seq);
				index_unlock(self);
			}
		}
		if (txn != NULL) {
			mdb_txn_abort(txn);
			txn = NULL;
		}
		unlock(self);
		if (rc == MDB_MAP_FULL) {
			/* Deleting copies pages too. Free what fewer deletes can;
			 * when not even one fits, give the map a little room. */
			done = false;
			if (batch > 1) {
				batch /= 2;
				continue;
			}
			if (grows == PURGE_MAX_GROWS)
				break;
			grows++;
			rc = grow_map(self);
			if (rc != 0)
				break;
			continue;
		}
		if (rc != 0)
			break;
		total += removed;
		if (batch < PURGE_BATCH)
			batch *= 2;
	}
	/* Best effort: the purge itself has succeeded either way. */
	if (rc == 0 && total > 0) {
		touch_state(self);
		close_reserve(self);
	}
	if (rc != 0)
		rc = lmdb_fail(self, rc, err, "purge");
out:
	free(gone);
	if (purged != NULL)
		*purged = total;
	return rc;
}

void blo_journal_commit_times(blo_journal_t *self, blo_hist_snap_t *out)
{
	assert(self != NULL && out != NULL);
	blo_hist_read(&self->commit_times, out);
}

int blo_journal_stats(blo_journal_t *self, blo_journal_stats_t *out)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_stat stat;
	MDB_val key, val;
	journal_state_t st;
	size_t pages = 2; /* the two meta pages */
	int rc;

	assert(self != NULL && out != NULL);
	/* LMDB's own free-page and main databases (handles 0 and 1), then ours. */
	const MDB_dbi dbis[] = {0, 1, self->records, self->idlog, self->cursors,
				self->audit, self->meta};

	memset(out, 0, sizeof(*out));
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		goto out;
	rc = state_load(self, txn, &st);
	if (rc != 0)
		goto out;
	out->last_seq = st.last_seq;
	rc = mdb_cursor_open(txn, self->records, &cur);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	if (rc == 0 && key.mv_size != 8)
		rc = BLO_ECORRUPT;
	if (rc == 0)
		out->first_seq = get_be64(key.mv_data);
	else if (rc != MDB_NOTFOUND)
		goto out;
	for (size_t i = 0; i < sizeof(dbis) / sizeof(dbis[0]); i++) {
		rc = mdb_stat(txn, dbis[i], &stat);
		if (rc != 0)
			goto out;
		if (dbis[i] == self->records)
			out->count = stat.ms_entries;
		pages += stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
	}
	out->used_bytes = pages * stat.ms_psize;
	out->map_size = current_map_size(self);
	out->wal_replayed = self->replayed;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc > 0)
		rc = -rc;
	return rc;
}

/* ---- reading the audit log ---- */

/* Says why the chain breaks at aseq: BLO_ECORRUPT. */
static int chain_broken(const blo_journal_t *self, uint64_t aseq, uint64_t *bad_aseq,
			blo_err_t *err, const char *why)
{
	if (bad_aseq != NULL)
		*bad_aseq = aseq;
	return blo_err_set(err, BLO_ECORRUPT, "journal %s: audit record %llu: %s", self->dir,
			   (unsigned long long)aseq, why);
}

int blo_journal_audit_verify(blo_journal_t *self, uint64_t *records, uint64_t *bad_aseq,
			     blo_err_t *err)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	uint8_t hash[BLO_AUDIT_HASH_BYTES] = {0};
	uint8_t head_hash[BLO_AUDIT_HASH_BYTES];
	uint64_t head_aseq = 0, anchor_aseq = 0;
	uint64_t aseq = 1; /* the one expected next */
	int rc;

	assert(self != NULL);
	if (bad_aseq != NULL)
		*bad_aseq = 0;
	lock_shared(self);
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, self->audit, &cur)) != 0) {
		rc = lmdb_fail(self, rc, err, "verify audit log");
		goto out;
	}
	rc = head_load(self, txn, &head_aseq, head_hash);
	if (rc == BLO_ECORRUPT) {
		rc = blo_err_set(err, rc, "journal %s: the audit head is missing or malformed",
				 self->dir);
		goto out;
	} else if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "verify audit log");
		goto out;
	}
	/* Records up to the anchor were trimmed: the chain goes on from it. */
	rc = anchor_load(self, txn, &anchor_aseq, hash);
	if (rc == BLO_ECORRUPT) {
		rc = blo_err_set(err, rc, "journal %s: the audit anchor is malformed", self->dir);
		goto out;
	} else if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "verify audit log");
		goto out;
	}
	if (anchor_aseq > head_aseq) {
		rc = chain_broken(self, head_aseq + 1, bad_aseq, err,
				  "the audit anchor is beyond the head");
		goto out;
	}
	aseq = anchor_aseq + 1;
	while ((rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0) {
		char prefix[40];
		size_t prefix_len, len;

		if (key.mv_size != 8 || get_be64(key.mv_data) < aseq) {
			rc = chain_broken(self, aseq, bad_aseq, err, "malformed key");
			goto out;
		}
		if (get_be64(key.mv_data) > aseq) {
			rc = chain_broken(self, aseq, bad_aseq, err, "missing");
			goto out;
		}
		prefix_len = (size_t)(put_u64(PUT_LITERAL(prefix, "{\"aseq\":"), aseq) - prefix);
		prefix[prefix_len++] = ',';
		if (val.mv_size < BLO_AUDIT_HASH_BYTES + prefix_len ||
		    memcmp(val.mv_data, prefix, prefix_len) != 0) {
			rc = chain_broken(self, aseq, bad_aseq, err,
					  "text is not this record's (altered or moved)");
			goto out;
		}
		len = val.mv_size - BLO_AUDIT_HASH_BYTES;
		blo_journal_audit_hash(hash, hash, val.mv_data, len);
		if (memcmp(hash, (const uint8_t *)val.mv_data + len, BLO_AUDIT_HASH_BYTES) != 0) {
			rc = chain_broken(self, aseq, bad_aseq, err,
					  "hash does not match its text and the previous hash "
					  "(altered)");
			goto out;
		}
		aseq++;
	}
	if (rc != MDB_NOTFOUND) {
		rc = lmdb_fail(self, rc, err, "verify audit log");
		goto out;
	}
	rc = 0;
	/* The chain is whole as far as it goes: it must reach the head. */
	if (aseq - 1 < head_aseq)
		rc = chain_broken(self, aseq, bad_aseq, err, "missing (the head is further)");
	else if (aseq - 1 > head_aseq)
		rc = chain_broken(self, head_aseq + 1, bad_aseq, err, "beyond the audit head");
	else if (memcmp(hash, head_hash, BLO_AUDIT_HASH_BYTES) != 0)
		rc = chain_broken(self, head_aseq > 0 ? head_aseq : 1, bad_aseq, err,
				  "the audit head holds another hash");
out:
	if (records != NULL) {
		uint64_t end = aseq - 1; /* the last intact one */

		if (rc == BLO_ECORRUPT && bad_aseq != NULL && *bad_aseq > 0 && *bad_aseq <= end)
			end = *bad_aseq - 1;
		*records = end > anchor_aseq ? end - anchor_aseq : 0;
	}
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	return rc;
}

/* A mark (head or anchor) in a read transaction of its own. */
static int mark_read(blo_journal_t *self, const char *name, bool missing_ok, uint64_t *aseq,
		     uint8_t *hash)
{
	MDB_txn *txn = NULL;
	uint8_t mark_hash[BLO_AUDIT_HASH_BYTES];
	int rc;

	assert(self != NULL && aseq != NULL);
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mark_load(self, txn, name, missing_ok, aseq, mark_hash);
	if (rc == 0 && hash != NULL)
		memcpy(hash, mark_hash, BLO_AUDIT_HASH_BYTES);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc > 0)
		rc = -rc;
	return rc;
}

int blo_journal_audit_head(blo_journal_t *self, uint64_t *aseq, uint8_t *hash)
{
	return mark_read(self, META_AUDIT_HEAD, false, aseq, hash);
}

int blo_journal_audit_anchor(blo_journal_t *self, uint64_t *aseq, uint8_t *hash)
{
	return mark_read(self, META_AUDIT_ANCHOR, true, aseq, hash);
}

/* Deletes audit records anchor+1 .. upto in txn, after checking that each
 * of them holds the hash of its text and the previous hash, from the
 * anchor's, and that the last holds hash: what leaves the journal was
 * intact, and is what the caller copied (whose chain ends in hash). */
static int trim_some(blo_journal_t *self, MDB_txn *txn, uint64_t upto, const uint8_t *hash,
		     blo_err_t *err)
{
	uint8_t chain[BLO_AUDIT_HASH_BYTES], head_hash[BLO_AUDIT_HASH_BYTES];
	uint64_t anchor, head, aseq;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	int rc;

	if ((rc = anchor_load(self, txn, &anchor, chain)) != 0 ||
	    (rc = head_load(self, txn, &head, head_hash)) != 0)
		return rc == BLO_ECORRUPT
			       ? blo_err_set(err, rc, "journal %s: the audit head or anchor is "
						      "malformed", self->dir)
			       : lmdb_fail(self, rc, err, "trim audit log");
	if (upto <= anchor || upto > head)
		return blo_err_set(err, BLO_EINVAL,
				   "journal %s: trim audit log up to %llu: the journal holds "
				   "records %llu to %llu",
				   self->dir, (unsigned long long)upto,
				   (unsigned long long)anchor + 1, (unsigned long long)head);
	rc = mdb_cursor_open(txn, self->audit, &cur);
	if (rc != 0)
		return lmdb_fail(self, rc, err, "trim audit log");
	for (aseq = anchor + 1; aseq <= upto; aseq++) {
		const char *why = NULL;
		size_t len;

		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		if (rc == MDB_NOTFOUND || key.mv_size != 8 || get_be64(key.mv_data) != aseq ||
		    val.mv_size < BLO_AUDIT_HASH_BYTES) {
			why = "missing or out of place";
		} else {
			len = val.mv_size - BLO_AUDIT_HASH_BYTES;
			blo_journal_audit_hash(chain, chain, val.mv_data, len);
			if (memcmp(chain, (const uint8_t *)val.mv_data + len, BLO_AUDIT_HASH_BYTES) != 0)
				why = "hash does not match its text and the previous hash (altered)";
			else if (aseq == upto && memcmp(chain, hash, BLO_AUDIT_HASH_BYTES) != 0)
				why = "its hash is not the one archived";
		}
		if (why != NULL) {
			mdb_cursor_close(cur);
			return blo_err_set(err, BLO_ECORRUPT,
					   "journal %s: audit record %llu: %s; nothing trimmed "
					   "(verify it)",
					   self->dir, (unsigned long long)aseq, why);
		}
		rc = mdb_cursor_del(cur, 0);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == 0)
		rc = mark_store(self, txn, META_AUDIT_ANCHOR, upto, hash);
	if (rc == 0) {
		uint8_t version[4] = {0, 0, 0, FORMAT_TRIMMED};

		key = val_of(META_VERSION, sizeof(META_VERSION) - 1);
		val = val_of(version, sizeof(version));
		rc = mdb_put(txn, self->meta, &key, &val, 0);
	}
	return rc == 0 ? 0 : lmdb_fail(self, rc, err, "trim audit log");
}

int blo_journal_audit_trim(blo_journal_t *self, uint64_t upto_aseq, const uint8_t *hash,
			   blo_err_t *err)
{
	MDB_txn *txn = NULL;
	int rc, grows = 0;

	assert(self != NULL && hash != NULL);
	for (;;) {
		lock_shared(self);
		rc = mdb_txn_begin(self->env, NULL, 0, &txn);
		if (rc != 0) {
			rc = lmdb_fail(self, rc, err, "trim audit log");
		} else if ((rc = trim_some(self, txn, upto_aseq, hash, err)) == 0) {
			rc = txn_commit(self, txn, false, NULL, NULL);
			txn = NULL;
			if (rc != 0)
				rc = lmdb_fail(self, rc, err, "trim audit log");
		}
		if (txn != NULL) {
			mdb_txn_abort(txn);
			txn = NULL;
		}
		unlock(self);
		/* Deleting copies pages too: a full map gets a little room. */
		if (rc != BLO_EFULL || grows == PURGE_MAX_GROWS || grow_map(self) != 0)
			break;
		grows++;
	}
	if (rc == 0) {
		touch_state(self);
		close_reserve(self);
	}
	return rc;
}

int blo_journal_audit_scan(blo_journal_t *self, uint64_t from_aseq, size_t max,
			   blo_journal_audit_fn fn, void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	uint8_t aseq_be[8];
	MDB_val key = val_of(aseq_be, sizeof(aseq_be));
	MDB_val val;
	size_t visited = 0;
	int rc;

	assert(self != NULL && fn != NULL);
	put_be64(aseq_be, from_aseq);
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_open(txn, self->audit, &cur);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && (max == 0 || visited < max)) {
		if (key.mv_size != 8 || val.mv_size < BLO_AUDIT_HASH_BYTES) {
			rc = BLO_ECORRUPT;
			goto out;
		}
		rc = fn(get_be64(key.mv_data), val.mv_data, val.mv_size - BLO_AUDIT_HASH_BYTES,
			arg);
		if (rc != 0)
			goto out;
		visited++;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc > 0)
		rc = -rc;
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	return rc;
}

/* ---- opening read-only, and named values ---- */

/* A program's named values live in "meta" under this prefix, apart from the
 * journal's own entries ("version", "state", "audit_head", "audit_anchor"),
 * so no name can reach those. */
#define META_USER_PREFIX "user/"
#define META_USER_KEY_MAX (sizeof(META_USER_PREFIX) - 1 + BLO_JOURNAL_META_NAME_MAX)

/* Opens the databases of an existing journal in a read transaction (none is
 * created) and checks its format version and audit head. */
static int journal_attach(blo_journal_t *self, blo_err_t *err)
{
	MDB_txn *txn = NULL;
	MDB_val key = val_of(META_VERSION, sizeof(META_VERSION) - 1);
	MDB_val val;
	uint8_t hash[BLO_AUDIT_HASH_BYTES];
	uint64_t aseq;
	int rc;

	rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "begin");
		goto out;
	}
	if ((rc = mdb_dbi_open(txn, "records", 0, &self->records)) != 0 ||
	    (rc = mdb_dbi_open(txn, "idlog", 0, &self->idlog)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cursors", 0, &self->cursors)) != 0 ||
	    (rc = mdb_dbi_open(txn, "audit", 0, &self->audit)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", 0, &self->meta)) != 0) {
		if (rc == MDB_NOTFOUND)
			rc = blo_err_set(err, BLO_ECORRUPT,
					 "journal %s: a database is missing (not a journal, or "
					 "one never opened by a broker of this build)",
					 self->dir);
		else
			rc = lmdb_fail(self, rc, err, "open databases");
		goto out;
	}
	rc = mdb_get(txn, self->meta, &key, &val);
	if (rc == MDB_NOTFOUND)
		val.mv_size = 0;
	else if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "read format version");
		goto out;
	}
	if ((rc = version_check(self, &val, err)) != 0)
		goto out;
	rc = head_load(self, txn, &aseq, hash);
	if (rc == BLO_ECORRUPT) {
		rc = blo_err_set(err, rc, "journal %s: no audit head", self->dir);
	} else if (rc != 0) {
		rc = lmdb_fail(self, rc, err, "audit head");
	} else {
		/* Committed, not aborted: an abort would close the handles. */
		rc = mdb_txn_commit(txn);
		txn = NULL;
		if (rc != 0)
			rc = lmdb_fail(self, rc, err, "open databases");
	}
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return rc;
}

static bool path_exists(const char *dir, const char *file)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

int blo_journal_open_readonly(blo_journal_t **out, const char *dir, blo_err_t *err)
{
	blo_journal_t *self = NULL;
	unsigned flags = MDB_NOTLS | MDB_RDONLY;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return blo_err_set(err, BLO_EINVAL, "journal: no folder given");
	/* LMDB would create the lock file before it finds no data file: look
	 * first, so that a wrong folder gains nothing. */
	if (!path_exists(dir, "data.mdb"))
		return blo_err_set(err, BLO_ENOTFOUND, "no journal at %s: is the data_dir right?",
				   dir);
	/* No lock file: no broker has the journal open (a broker makes one and
	 * keeps it), so it is read without locks rather than given one that
	 * may belong to the wrong user. */
	if (!path_exists(dir, "lock.mdb"))
		flags |= MDB_NOLOCK;
	/* Map size 0: the journal's own, as its writer last set it. */
	rc = journal_new(&self, dir, 0, flags, err);
	if (rc != 0)
		return rc;
	self->entry_map_size = current_map_size(self);
	rc = journal_attach(self, err);
	if (rc == 0)
		rc = index_build(self, err);
	if (rc != 0)
		journal_free(self, 2);
	else
		*out = self;
	return rc;
}

static int meta_user_key(const char *name, char *buf, MDB_val *key)
{
	size_t n = name != NULL ? strlen(name) : 0;
	size_t prefix = sizeof(META_USER_PREFIX) - 1;

	if (n == 0 || n >= BLO_JOURNAL_META_NAME_MAX)
		return BLO_EINVAL;
	memcpy(buf, META_USER_PREFIX, prefix);
	memcpy(buf + prefix, name, n);
	*key = val_of(buf, prefix + n);
	return 0;
}

int blo_journal_meta_get(blo_journal_t *self, const char *name, uint64_t *value)
{
	char buf[META_USER_KEY_MAX];
	MDB_val key;
	int rc;

	assert(self != NULL && value != NULL);
	rc = meta_user_key(name, buf, &key);
	return rc != 0 ? rc : get_u64(self, self->meta, &key, value);
}

int blo_journal_meta_put(blo_journal_t *self, const char *name, uint64_t value, blo_err_t *err)
{
	char buf[META_USER_KEY_MAX];
	uint8_t be[8];
	MDB_txn *txn = NULL;
	MDB_val key, val = val_of(be, sizeof(be));
	int rc;

	assert(self != NULL);
	rc = meta_user_key(name, buf, &key);
	if (rc != 0)
		return blo_err_set(err, rc, "journal %s: meta name must be 1 to %d bytes",
				   self->dir, BLO_JOURNAL_META_NAME_MAX - 1);
	put_be64(be, value);
	lock_shared(self);
	rc = mdb_txn_begin(self->env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_put(txn, self->meta, &key, &val, 0);
	if (rc == 0) {
		rc = txn_commit(self, txn, false, NULL, NULL);
		txn = NULL;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	unlock(self);
	if (rc != 0)
		rc = lmdb_fail(self, rc, err, "write meta value");
	return rc;
}
