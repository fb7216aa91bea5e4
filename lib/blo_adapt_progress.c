/*
 * blo_adapt_progress: two named LMDB databases, "done" (alert id -> seq,
 * time acknowledged, duplicate flag, source ref) and "rejected" (rejection
 * key -> time written), in a folder of the adapter's data_dir, guarded by
 * an flock so that one adapter at a time uses it.
 */
#include "blo_adapt_progress.h"

#include "blo_util.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define INITIAL_MAP_SIZE ((size_t)16 << 20)
#define MAX_MAP_SIZE ((size_t)1 << 34)

struct blo_adapt_progress {
	MDB_env *env;
	MDB_dbi done;
	MDB_dbi rejected;
	int lock_fd;
	size_t map_size;
};

static int mdb_fail(blo_err_t *err, int rc, const char *what)
{
	return blo_err_set(err, rc > 0 ? -rc : rc, "progress store: %s: %s", what,
			   mdb_strerror(rc));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

int blo_adapt_progress_open(blo_adapt_progress_t **out, const char *dir, blo_err_t *err)
{
	blo_adapt_progress_t *self;
	char *lock_path = NULL;
	MDB_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return blo_err_set(err, -errno, "progress store %s: %s", dir, strerror(errno));
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->lock_fd = -1;
	self->map_size = INITIAL_MAP_SIZE;
	if (asprintf(&lock_path, "%s/adapter.lock", dir) < 0) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	self->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (self->lock_fd < 0) {
		rc = blo_err_set(err, -errno, "progress store %s: %s", lock_path, strerror(errno));
		goto out;
	}
	if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = blo_err_set(err, -EBUSY, "progress store %s is in use by another adapter", dir);
		goto out;
	}
	if ((rc = mdb_env_create(&self->env)) != 0 || (rc = mdb_env_set_maxdbs(self->env, 2)) != 0) {
		rc = mdb_fail(err, rc, dir);
		goto out;
	}
	/* A store grown earlier reports its own size at open. */
	if ((rc = mdb_env_set_mapsize(self->env, self->map_size)) != 0 ||
	    (rc = mdb_env_open(self->env, dir, 0, 0600)) != 0) {
		rc = mdb_fail(err, rc, dir);
		goto out;
	}
	{
		MDB_envinfo info;

		if (mdb_env_info(self->env, &info) == 0 && info.me_mapsize > self->map_size)
			self->map_size = info.me_mapsize;
	}
	if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0) {
		rc = mdb_fail(err, rc, dir);
		goto out;
	}
	if ((rc = mdb_dbi_open(txn, "done", MDB_CREATE, &self->done)) != 0 ||
	    (rc = mdb_dbi_open(txn, "rejected", MDB_CREATE, &self->rejected)) != 0) {
		mdb_txn_abort(txn);
		rc = mdb_fail(err, rc, dir);
		goto out;
	}
	/* Commit frees the transaction, whatever it returns. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		rc = mdb_fail(err, rc, dir);
		goto out;
	}
out:
	free(lock_path);
	if (rc != 0) {
		blo_adapt_progress_close(&self);
		return rc;
	}
	*out = self;
	return 0;
}

void blo_adapt_progress_close(blo_adapt_progress_t **self_p)
{
	blo_adapt_progress_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	if (self->env != NULL)
		mdb_env_close(self->env);
	if (self->lock_fd >= 0)
		close(self->lock_fd); /* releases the flock */
	free(self);
	*self_p = NULL;
}

static int lookup(blo_adapt_progress_t *self, MDB_dbi dbi, const uint8_t key[BLO_ID_BYTES],
		  bool *found, blo_err_t *err)
{
	MDB_txn *txn;
	MDB_val k = { .mv_size = BLO_ID_BYTES, .mv_data = (void *)key }, v;
	int rc;

	*found = false;
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_fail(err, rc, "read");
	rc = mdb_get(txn, dbi, &k, &v);
	mdb_txn_abort(txn);
	if (rc == 0)
		*found = true;
	else if (rc != MDB_NOTFOUND)
		return mdb_fail(err, rc, "read");
	return 0;
}

int blo_adapt_progress_is_done(blo_adapt_progress_t *self, const uint8_t id[BLO_ID_BYTES],
			       bool *done, blo_err_t *err)
{
	return lookup(self, self->done, id, done, err);
}

int blo_adapt_progress_is_rejected(blo_adapt_progress_t *self, const uint8_t key[BLO_ID_BYTES],
				   bool *seen, blo_err_t *err)
{
	return lookup(self, self->rejected, key, seen, err);
}

/* Doubles the map: only with no transaction open, which callers ensure. */
static int grow(blo_adapt_progress_t *self, blo_err_t *err)
{
	int rc;

	if (self->map_size >= MAX_MAP_SIZE)
		return blo_err_set(err, BLO_EFULL, "progress store: full at %zu bytes",
				   self->map_size);
	if ((rc = mdb_env_set_mapsize(self->env, self->map_size * 2)) != 0)
		return mdb_fail(err, rc, "grow");
	self->map_size *= 2;
	return 0;
}

static int write_done(blo_adapt_progress_t *self, const blo_adapt_done_t *done, size_t n)
{
	MDB_txn *txn;
	int64_t now = blo_now_ms();
	int rc;

	if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const char *ref = done[i].source_ref != NULL ? done[i].source_ref : "";
		size_t len = strlen(ref);
		uint8_t value[17 + 256];
		MDB_val k = { .mv_size = BLO_ID_BYTES, .mv_data = (void *)done[i].id };
		MDB_val v;

		if (len > 256)
			len = 256;
		put_be64(value, done[i].seq);
		put_be64(value + 8, (uint64_t)now);
		value[16] = done[i].duplicate ? 1 : 0;
		memcpy(value + 17, ref, len);
		v.mv_size = 17 + len;
		v.mv_data = value;
		if ((rc = mdb_put(txn, self->done, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	return mdb_txn_commit(txn);
}

int blo_adapt_progress_mark_done(blo_adapt_progress_t *self, const blo_adapt_done_t *done,
				 size_t n, blo_err_t *err)
{
	int rc;

	if (n == 0)
		return 0;
	while ((rc = write_done(self, done, n)) == MDB_MAP_FULL)
		if ((rc = grow(self, err)) != 0)
			return rc;
	return rc != 0 ? mdb_fail(err, rc, "mark done") : 0;
}

void blo_adapt_progress_reject_key(uint8_t key[BLO_ID_BYTES], blo_adapt_agency_t agency,
				   const char *input, size_t number, const char *text, size_t len)
{
	static const char label[] = "blonet adapter reject v1";
	const char *name = blo_adapt_agency_name(agency);
	crypto_generichash_state st;
	uint8_t num[8];

	put_be64(num, (uint64_t)number);
	crypto_generichash_init(&st, NULL, 0, BLO_ID_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label));
	crypto_generichash_update(&st, (const uint8_t *)name, strlen(name) + 1);
	crypto_generichash_update(&st, (const uint8_t *)input, strlen(input) + 1);
	crypto_generichash_update(&st, num, sizeof(num));
	crypto_generichash_update(&st, (const uint8_t *)text, len);
	crypto_generichash_final(&st, key, BLO_ID_BYTES);
}

static int write_rejected(blo_adapt_progress_t *self, const uint8_t key[BLO_ID_BYTES])
{
	MDB_txn *txn;
	uint8_t when[8];
	MDB_val k = { .mv_size = BLO_ID_BYTES, .mv_data = (void *)key };
	MDB_val v = { .mv_size = sizeof(when), .mv_data = when };
	int rc;

	put_be64(when, (uint64_t)blo_now_ms());
	if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_put(txn, self->rejected, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int blo_adapt_progress_mark_rejected(blo_adapt_progress_t *self,
				     const uint8_t key[BLO_ID_BYTES], blo_err_t *err)
{
	int rc;

	while ((rc = write_rejected(self, key)) == MDB_MAP_FULL)
		if ((rc = grow(self, err)) != 0)
			return rc;
	return rc != 0 ? mdb_fail(err, rc, "mark rejected") : 0;
}

int blo_adapt_progress_counts(blo_adapt_progress_t *self, size_t *done, size_t *rejected,
			      blo_err_t *err)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return mdb_fail(err, rc, "read");
	if ((rc = mdb_stat(txn, self->done, &st)) == 0) {
		*done = st.ms_entries;
		if ((rc = mdb_stat(txn, self->rejected, &st)) == 0)
			*rejected = st.ms_entries;
	}
	mdb_txn_abort(txn);
	return rc != 0 ? mdb_fail(err, rc, "stat") : 0;
}
