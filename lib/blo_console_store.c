/*
 * blo_console_store: the console's messages in LMDB. Four databases:
 *   msg   id (16 bytes) -> record (fixed header, note, envelope)
 *   seq   local sequence (8 bytes, big-endian) -> id
 *   gone  id of a pruned message -> its received_ms (8 bytes, big-endian)
 *   meta  "format", "last_seq" (the highest local sequence ever given, once
 *         something was pruned) and the front ends' cursors
 *         ("cursor.NAME" -> 8 bytes)
 * Every write transaction is synced before it returns. The map grows by
 * doubling up to the store's limit; past it a new message is BLO_EFULL.
 * Bookkeeping of what is held (flags, the broker's answers, cursors) and
 * pruning may use a reserve past the limit, so that a full store still
 * records what it has shown and can be emptied.
 */
#include "blo_console_store.h"

#include "blo_store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define FORMAT "blonet-console-store 1"
#define RECORD_VERSION 1
#define HEADER_BYTES 32
#define INITIAL_MAP ((uint64_t)256 * 1024 * 1024)
/* The store's databases: a file with any other is not a console store. */
static const char *const DBS[] = {"msg", "seq", "gone", "meta"};
#define MB ((uint64_t)1024 * 1024)
#define GROW_TRIES 8

struct blo_console_store {
	MDB_env *env;
	MDB_dbi msg, seq, gone, meta;
	char *dir;
	int lock_fd;
	uint64_t limit; /* bytes the map may reach */
};

/* ---------------------------------------------------------------- encoding */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_be64(uint8_t p[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t p[8])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static size_t note_len(const blo_console_record_t *r)
{
	return strnlen(r->note, sizeof(r->note) - 1);
}

static size_t encoded_size(const blo_console_record_t *r)
{
	return HEADER_BYTES + note_len(r) + 4 + r->envelope_len;
}

static void encode(uint8_t *p, const blo_console_record_t *r)
{
	size_t nl = note_len(r);

	p[0] = RECORD_VERSION;
	p[1] = (uint8_t)r->pub;
	put_le(p + 2, r->flags, 4);
	put_le(p + 6, r->local_seq, 8);
	put_le(p + 14, r->broker_seq, 8);
	put_le(p + 22, (uint64_t)r->received_ms, 8);
	put_le(p + 30, nl, 2);
	memcpy(p + HEADER_BYTES, r->note, nl);
	put_le(p + HEADER_BYTES + nl, r->envelope_len, 4);
	memcpy(p + HEADER_BYTES + nl + 4, r->envelope, r->envelope_len);
}

/* Decodes v into out; out->envelope points into v. */
static int decode(const MDB_val *key, const MDB_val *v, blo_console_record_t *out)
{
	const uint8_t *p = v->mv_data;
	size_t nl, el;

	memset(out, 0, sizeof(*out));
	if (v->mv_size < HEADER_BYTES + 4 || p[0] != RECORD_VERSION || key->mv_size != BLO_ID_BYTES)
		return BLO_ECORRUPT;
	nl = (size_t)get_le(p + 30, 2);
	if (nl >= sizeof(out->note) || HEADER_BYTES + nl + 4 > v->mv_size)
		return BLO_ECORRUPT;
	el = (size_t)get_le(p + HEADER_BYTES + nl, 4);
	if (HEADER_BYTES + nl + 4 + el != v->mv_size)
		return BLO_ECORRUPT;
	memcpy(out->id, key->mv_data, BLO_ID_BYTES);
	out->pub = (blo_console_pub_t)p[1];
	out->flags = (uint32_t)get_le(p + 2, 4);
	out->local_seq = get_le(p + 6, 8);
	out->broker_seq = get_le(p + 14, 8);
	out->received_ms = (int64_t)get_le(p + 22, 8);
	memcpy(out->note, p + HEADER_BYTES, nl);
	out->note[nl] = '\0';
	out->envelope = (uint8_t *)(p + HEADER_BYTES + nl + 4);
	out->envelope_len = el;
	return 0;
}

/* ---------------------------------------------------------------- open */

int blo_console_store_open(blo_console_store_t **out, const char *dir, blo_err_t *err)
{
	blo_console_store_t *self;
	MDB_txn *txn = NULL;
	MDB_val k = {.mv_size = 6, .mv_data = "format"}, v;
	int rc;

	*out = NULL;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->lock_fd = -1;
	self->limit = (uint64_t)BLO_CONSOLE_STORE_DEFAULT_MB * MB;
	self->dir = strdup(dir);
	if (self->dir == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = blo_store_begin(&self->env, &txn, dir, "console", 5, (size_t)INITIAL_MAP, DBS,
				  sizeof(DBS) / sizeof(DBS[0]), err)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "msg", MDB_CREATE, &self->msg)) != 0 ||
	    (rc = mdb_dbi_open(txn, "seq", MDB_CREATE, &self->seq)) != 0 ||
	    (rc = mdb_dbi_open(txn, "gone", MDB_CREATE, &self->gone)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta)) != 0) {
		blo_err_set(err, rc, "console store %s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	rc = mdb_get(txn, self->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		v.mv_size = strlen(FORMAT);
		v.mv_data = FORMAT;
		rc = mdb_put(txn, self->meta, &k, &v, 0);
	} else if (rc == 0 && (v.mv_size != strlen(FORMAT) || memcmp(v.mv_data, FORMAT, v.mv_size) != 0)) {
		rc = blo_err_set(err, BLO_ECORRUPT, "console store %s: not a store of this format (%.*s)",
				 dir, (int)(v.mv_size < 64 ? v.mv_size : 64), (const char *)v.mv_data);
		goto fail;
	}
	if (rc != 0) {
		blo_err_set(err, rc, "console store %s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		blo_err_set(err, rc, "console store %s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	*out = self;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	blo_console_store_close(&self);
	return rc;
}

void blo_console_store_close(blo_console_store_t **self_p)
{
	blo_console_store_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	if (self->env != NULL)
		mdb_env_close(self->env);
	if (self->lock_fd >= 0)
		close(self->lock_fd);
	free(self->dir);
	free(self);
	*self_p = NULL;
}

int blo_console_store_lock(blo_console_store_t *self, blo_err_t *err)
{
	char path[4096];

	assert(self != NULL);
	if (self->lock_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/console.lock", self->dir);
	self->lock_fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (self->lock_fd < 0)
		return blo_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(self->lock_fd);
		self->lock_fd = -1;
		if (e == EWOULDBLOCK)
			return blo_err_set(err, -EWOULDBLOCK,
					   "another blonet-console is running on %s", self->dir);
		return blo_err_set(err, -e, "%s: %s", path, strerror(e));
	}
	return 0;
}

/* ---------------------------------------------------------------- writing */

int blo_console_store_set_limit(blo_console_store_t *self, uint64_t max_mb, blo_err_t *err)
{
	MDB_envinfo info;
	int rc;

	assert(self != NULL);
	if (max_mb == 0)
		max_mb = BLO_CONSOLE_STORE_DEFAULT_MB;
	if (max_mb < BLO_CONSOLE_STORE_MIN_MB || max_mb > (uint64_t)1 << 24)
		return blo_err_set(err, BLO_EINVAL, "console store limit %llu MB: give %d MB to 16 TB",
				   (unsigned long long)max_mb, BLO_CONSOLE_STORE_MIN_MB);
	self->limit = max_mb * MB;
	if ((rc = mdb_env_info(self->env, &info)) != 0)
		return blo_err_set(err, rc, "console store %s: %s", self->dir, mdb_strerror(rc));
	/* LMDB keeps a map at least as large as what it holds. */
	if (info.me_mapsize > self->limit &&
	    (rc = mdb_env_set_mapsize(self->env, (size_t)self->limit)) != 0)
		return blo_err_set(err, rc, "console store %s: %s", self->dir, mdb_strerror(rc));
	return 0;
}

/* Grows the map after MDB_MAP_FULL (no transaction may be open): doubles
 * it up to the limit. Pruning (over_limit) may go a little past the limit,
 * since deleting needs free pages too, and a full store must be able to
 * shrink. Returns MDB_MAP_FULL when it may not grow. */
static int grow(blo_console_store_t *self, bool over_limit)
{
	MDB_envinfo info;
	uint64_t size, step;

	if (mdb_env_info(self->env, &info) != 0)
		return MDB_MAP_FULL;
	size = (uint64_t)info.me_mapsize;
	if (size < self->limit) {
		size = size * 2 < self->limit ? size * 2 : self->limit;
	} else if (over_limit && size < self->limit + self->limit / 16) {
		step = self->limit / 64 > MB ? self->limit / 64 : MB;
		size += step;
	} else {
		return MDB_MAP_FULL;
	}
	return mdb_env_set_mapsize(self->env, (size_t)size) == 0 ? 0 : MDB_MAP_FULL;
}

typedef int (*write_fn)(blo_console_store_t *self, MDB_txn *txn, void *arg);

/* Runs fn in a write transaction and commits it, growing the map and
 * trying again when it is full; a store at its limit is BLO_EFULL. */
static int with_write_ex(blo_console_store_t *self, write_fn fn, void *arg, bool over_limit,
			 blo_err_t *err)
{
	int rc = 0;

	for (int attempt = 0; attempt < GROW_TRIES; attempt++) {
		MDB_txn *txn = NULL;

		if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
			break;
		rc = fn(self, txn, arg);
		if (rc != 0) {
			mdb_txn_abort(txn);
		} else {
			rc = mdb_txn_commit(txn);
		}
		if (rc != MDB_MAP_FULL)
			break;
		if (grow(self, over_limit) != 0)
			break;
	}
	if (rc == MDB_MAP_FULL) {
		rc = BLO_EFULL;
		return blo_err_set(err, rc,
				   "console store %s is full (limit %llu MB): nothing more is stored, and "
				   "what the broker delivers stays unacknowledged there, until older "
				   "messages are pruned (--keep-days) or the limit is raised (--store-mb)",
				   self->dir, (unsigned long long)(self->limit / MB));
	}
	if (rc != 0 && err != NULL && err->code != rc)
		blo_err_set(err, rc, "console store %s: %s", self->dir, blo_strerror(rc));
	return rc;
}

static int with_write(blo_console_store_t *self, write_fn fn, void *arg, blo_err_t *err)
{
	return with_write_ex(self, fn, arg, false, err);
}

/* The highest local sequence ever given: the last in "seq", or the
 * "last_seq" pruning left in meta when it is higher (so that numbers are
 * never given twice, even when the newest messages were pruned). */
static int last_seq_in(blo_console_store_t *self, MDB_txn *txn, uint64_t *last)
{
	MDB_cursor *c = NULL;
	MDB_val k, v, mk = {.mv_size = 8, .mv_data = "last_seq"};
	int rc;

	*last = 0;
	if ((rc = mdb_cursor_open(txn, self->seq, &c)) != 0)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == 0 && k.mv_size == 8)
		*last = get_be64(k.mv_data);
	else if (rc != MDB_NOTFOUND && rc != 0)
		return rc;
	rc = mdb_get(txn, self->meta, &mk, &v);
	if (rc == 0 && v.mv_size == 8 && get_be64(v.mv_data) > *last)
		*last = get_be64(v.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	return 0;
}

typedef struct {
	blo_console_record_t *records;
	size_t n;
	bool *stored;
} put_arg_t;

static int put_record(blo_console_store_t *self, MDB_txn *txn, const blo_console_record_t *r,
		      unsigned flags)
{
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)r->id}, v;
	int rc;

	v.mv_size = encoded_size(r);
	if ((rc = mdb_put(txn, self->msg, &k, &v, flags | MDB_RESERVE)) != 0)
		return rc;
	encode(v.mv_data, r);
	return 0;
}

static int put_fn(blo_console_store_t *self, MDB_txn *txn, void *arg)
{
	put_arg_t *a = arg;
	MDB_val k, v;
	uint64_t next = 0;
	int rc;

	if ((rc = last_seq_in(self, txn, &next)) != 0)
		return rc;
	next++;
	for (size_t i = 0; i < a->n; i++) {
		blo_console_record_t *r = &a->records[i];
		MDB_val key = {.mv_size = BLO_ID_BYTES, .mv_data = r->id}, old;
		uint8_t seqkey[8];

		if (a->stored != NULL)
			a->stored[i] = false;
		rc = mdb_get(txn, self->gone, &key, &old);
		if (rc == 0) {
			/* Pruned already: shown once, long ago. */
			r->local_seq = 0;
			continue;
		}
		if (rc != MDB_NOTFOUND)
			return rc;
		rc = mdb_get(txn, self->msg, &key, &old);
		if (rc == 0) {
			blo_console_record_t held;

			if ((rc = decode(&key, &old, &held)) != 0)
				return rc;
			r->local_seq = held.local_seq;
			if ((held.flags & BLO_CONSOLE_MINE) && held.broker_seq == 0 && r->broker_seq != 0) {
				/* Our own message came back through the broker: keep
				 * the delivered envelope, which has its hop trace. */
				blo_console_record_t upd = held;

				upd.broker_seq = r->broker_seq;
				upd.envelope = r->envelope;
				upd.envelope_len = r->envelope_len;
				if ((rc = put_record(self, txn, &upd, 0)) != 0)
					return rc;
			}
			continue;
		}
		if (rc != MDB_NOTFOUND)
			return rc;
		r->local_seq = next++;
		if ((rc = put_record(self, txn, r, MDB_NOOVERWRITE)) != 0)
			return rc;
		put_be64(seqkey, r->local_seq);
		k.mv_size = 8;
		k.mv_data = seqkey;
		v.mv_size = BLO_ID_BYTES;
		v.mv_data = r->id;
		if ((rc = mdb_put(txn, self->seq, &k, &v, MDB_APPEND)) != 0)
			return rc;
		if (a->stored != NULL)
			a->stored[i] = true;
	}
	return 0;
}

int blo_console_store_put(blo_console_store_t *self, blo_console_record_t *records, size_t n,
			  bool *stored, blo_err_t *err)
{
	put_arg_t a = {.records = records, .n = n, .stored = stored};

	assert(self != NULL);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (records[i].envelope_len > BLO_ENVELOPE_MAX_BYTES)
			return blo_err_set(err, BLO_ETOOBIG, "envelope of %zu bytes is too large",
					   records[i].envelope_len);
	return with_write(self, put_fn, &a, err);
}

typedef struct {
	const uint8_t *id;
	uint32_t set, clear;
	bool set_pub;
	blo_console_pub_t pub;
	const char *note;
} update_arg_t;

static int update_fn(blo_console_store_t *self, MDB_txn *txn, void *arg)
{
	update_arg_t *a = arg;
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)a->id}, v;
	blo_console_record_t r;
	uint8_t *copy;
	int rc;

	if ((rc = mdb_get(txn, self->msg, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? BLO_ENOTFOUND : rc;
	if ((rc = decode(&k, &v, &r)) != 0)
		return rc;
	/* The envelope points into the page we are about to replace. */
	copy = malloc(r.envelope_len > 0 ? r.envelope_len : 1);
	if (copy == NULL)
		return BLO_ENOMEM;
	memcpy(copy, r.envelope, r.envelope_len);
	r.envelope = copy;
	r.flags = (r.flags | a->set) & ~a->clear;
	if (a->set_pub) {
		r.pub = a->pub;
		r.note[0] = '\0';
		if (a->note != NULL)
			snprintf(r.note, sizeof(r.note), "%s", a->note);
	}
	rc = put_record(self, txn, &r, 0);
	free(copy);
	return rc;
}

int blo_console_store_set_flags(blo_console_store_t *self, const uint8_t id[BLO_ID_BYTES],
				uint32_t set, uint32_t clear, blo_err_t *err)
{
	update_arg_t a = {.id = id, .set = set, .clear = clear};

	assert(self != NULL);
	return with_write_ex(self, update_fn, &a, true, err);
}

int blo_console_store_set_pub(blo_console_store_t *self, const uint8_t id[BLO_ID_BYTES],
			      blo_console_pub_t pub, const char *note, blo_err_t *err)
{
	update_arg_t a = {.id = id, .set_pub = true, .pub = pub, .note = note};

	assert(self != NULL);
	return with_write_ex(self, update_fn, &a, true, err);
}

/* ---------------------------------------------------------------- pruning */

typedef struct {
	const uint8_t (*ids)[BLO_ID_BYTES];
	size_t n;
	size_t removed;
} prune_arg_t;

static int prune_fn(blo_console_store_t *self, MDB_txn *txn, void *arg)
{
	prune_arg_t *a = arg;
	MDB_val mk = {.mv_size = 8, .mv_data = "last_seq"}, v;
	uint8_t last_be[8];
	uint64_t last;
	int rc;

	a->removed = 0;
	/* Numbers are never given again, even if the newest go. */
	if ((rc = last_seq_in(self, txn, &last)) != 0)
		return rc;
	put_be64(last_be, last);
	v.mv_size = 8;
	v.mv_data = last_be;
	if ((rc = mdb_put(txn, self->meta, &mk, &v, 0)) != 0)
		return rc;
	for (size_t i = 0; i < a->n; i++) {
		MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)a->ids[i]}, mv, sk, gv;
		blo_console_record_t r;
		uint8_t seqkey[8], when[8];

		rc = mdb_get(txn, self->msg, &k, &mv);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0 || (rc = decode(&k, &mv, &r)) != 0)
			return rc;
		put_be64(seqkey, r.local_seq);
		sk.mv_size = 8;
		sk.mv_data = seqkey;
		if ((rc = mdb_del(txn, self->seq, &sk, NULL)) != 0 && rc != MDB_NOTFOUND)
			return rc;
		put_be64(when, (uint64_t)r.received_ms);
		gv.mv_size = 8;
		gv.mv_data = when;
		if ((rc = mdb_del(txn, self->msg, &k, NULL)) != 0 ||
		    (rc = mdb_put(txn, self->gone, &k, &gv, 0)) != 0)
			return rc;
		a->removed++;
	}
	return 0;
}

static int touch_fn(blo_console_store_t *self, MDB_txn *txn, void *arg)
{
	MDB_val k = {.mv_size = 6, .mv_data = "format"}, v = {.mv_size = strlen(FORMAT), .mv_data = FORMAT};

	(void)arg;
	return mdb_put(txn, self->meta, &k, &v, 0);
}

/* LMDB hands the pages a transaction freed to writers only from the second
 * commit after it: one small commit now, so that the room pruning made is
 * there for the very next delivery. */
static int settle(blo_console_store_t *self, blo_err_t *err)
{
	return with_write_ex(self, touch_fn, NULL, true, err);
}

int blo_console_store_prune(blo_console_store_t *self, const uint8_t (*ids)[BLO_ID_BYTES], size_t n,
			    size_t *removed, blo_err_t *err)
{
	prune_arg_t a = {.ids = ids, .n = n};
	int rc;

	assert(self != NULL);
	if (removed != NULL)
		*removed = 0;
	if (n == 0)
		return 0;
	rc = with_write_ex(self, prune_fn, &a, true, err);
	if (rc == 0 && a.removed > 0)
		rc = settle(self, err);
	if (rc == 0 && removed != NULL)
		*removed = a.removed;
	return rc;
}

typedef struct {
	int64_t before_ms;
	size_t forgotten;
} forget_arg_t;

static int forget_fn(blo_console_store_t *self, MDB_txn *txn, void *arg)
{
	forget_arg_t *a = arg;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc;

	a->forgotten = 0;
	if ((rc = mdb_cursor_open(txn, self->gone, &c)) != 0)
		return rc;
	/* After mdb_cursor_del, MDB_NEXT yields the entry that followed. */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (v.mv_size != 8 || (int64_t)get_be64(v.mv_data) >= a->before_ms)
			continue;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		a->forgotten++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int blo_console_store_forget(blo_console_store_t *self, int64_t before_ms, size_t *forgotten,
			     blo_err_t *err)
{
	forget_arg_t a = {.before_ms = before_ms};
	int rc;

	assert(self != NULL);
	if (forgotten != NULL)
		*forgotten = 0;
	rc = with_write_ex(self, forget_fn, &a, true, err);
	if (rc == 0 && a.forgotten > 0)
		rc = settle(self, err);
	if (rc == 0 && forgotten != NULL)
		*forgotten = a.forgotten;
	return rc;
}

int blo_console_store_counts(blo_console_store_t *self, uint64_t *messages, uint64_t *remembered)
{
	MDB_txn *txn = NULL;
	MDB_stat st;
	int rc;

	assert(self != NULL);
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if (messages != NULL && (rc = mdb_stat(txn, self->msg, &st)) == 0)
		*messages = st.ms_entries;
	if (rc == 0 && remembered != NULL && (rc = mdb_stat(txn, self->gone, &st)) == 0)
		*remembered = st.ms_entries;
	mdb_txn_abort(txn);
	return rc;
}

/* ---------------------------------------------------------------- reading */

int blo_console_store_get(blo_console_store_t *self, const uint8_t id[BLO_ID_BYTES],
			  blo_console_record_t *out, blo_err_t *err)
{
	MDB_txn *txn = NULL;
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)id}, v;
	int rc;

	assert(self != NULL);
	memset(out, 0, sizeof(*out));
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return blo_err_set(err, rc, "console store %s: %s", self->dir, mdb_strerror(rc));
	rc = mdb_get(txn, self->msg, &k, &v);
	if (rc == MDB_NOTFOUND) {
		rc = blo_err_set(err, BLO_ENOTFOUND, "no such message in the console store");
		goto out;
	}
	if (rc == 0 && (rc = decode(&k, &v, out)) == 0) {
		uint8_t *copy = malloc(out->envelope_len > 0 ? out->envelope_len : 1);

		if (copy == NULL) {
			rc = BLO_ENOMEM;
		} else {
			memcpy(copy, out->envelope, out->envelope_len);
			out->envelope = copy;
		}
	}
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
		blo_err_set(err, rc, "console store %s: %s", self->dir, blo_strerror(rc));
	}
out:
	mdb_txn_abort(txn);
	return rc;
}

int blo_console_store_scan(blo_console_store_t *self, uint64_t from_seq,
			   blo_console_store_scan_fn fn, void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint8_t start[8];
	int rc;

	assert(self != NULL);
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, self->seq, &c)) != 0)
		goto out;
	put_be64(start, from_seq);
	k.mv_size = 8;
	k.mv_data = start;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		MDB_val mv;
		blo_console_record_t r;

		if (v.mv_size != BLO_ID_BYTES) {
			rc = BLO_ECORRUPT;
			break;
		}
		if ((rc = mdb_get(txn, self->msg, &v, &mv)) != 0)
			break;
		if ((rc = decode(&v, &mv, &r)) != 0)
			break;
		if ((rc = fn(&r, arg)) != 0)
			break;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	if (c != NULL)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}

uint64_t blo_console_store_last_seq(blo_console_store_t *self)
{
	MDB_txn *txn = NULL;
	uint64_t last = 0;

	if (mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	if (last_seq_in(self, txn, &last) != 0)
		last = 0;
	mdb_txn_abort(txn);
	return last;
}

/* ---------------------------------------------------------------- cursors */

static int cursor_key(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "cursor.%s", name);

	return n > 0 && (size_t)n < size ? n : -1;
}

int blo_console_store_cursor_get(blo_console_store_t *self, const char *name, uint64_t *seq)
{
	char key[128];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int n = cursor_key(key, sizeof(key), name), rc;

	*seq = 0;
	if (n < 0)
		return BLO_EINVAL;
	k.mv_size = (size_t)n;
	k.mv_data = key;
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	rc = mdb_get(txn, self->meta, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		*seq = get_be64(v.mv_data);
	else if (rc == 0)
		rc = BLO_ECORRUPT;
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

typedef struct {
	const char *key;
	size_t key_len;
	uint64_t seq;
} cursor_arg_t;

static int cursor_fn(blo_console_store_t *self, MDB_txn *txn, void *arg)
{
	cursor_arg_t *a = arg;
	uint8_t val[8];
	MDB_val k = {.mv_size = a->key_len, .mv_data = (void *)a->key};
	MDB_val v = {.mv_size = 8, .mv_data = val};

	put_be64(val, a->seq);
	return mdb_put(txn, self->meta, &k, &v, 0);
}

int blo_console_store_cursor_set(blo_console_store_t *self, const char *name, uint64_t seq,
				 blo_err_t *err)
{
	char key[128];
	int n = cursor_key(key, sizeof(key), name);
	cursor_arg_t a = {.key = key, .key_len = (size_t)n, .seq = seq};

	if (n < 0)
		return blo_err_set(err, BLO_EINVAL, "cursor name too long");
	return with_write_ex(self, cursor_fn, &a, true, err);
}

void blo_console_record_clear(blo_console_record_t *rec)
{
	if (rec == NULL)
		return;
	free(rec->envelope);
	memset(rec, 0, sizeof(*rec));
}
