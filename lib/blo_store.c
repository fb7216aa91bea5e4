/*
 * blo_store: opening a program's own LMDB store.
 */
#include "blo_store.h"

#include "blo_err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int blo_store_mkdir_p(const char *path)
{
	char *copy = strdup(path);
	int rc = 0;

	if (copy == NULL)
		return BLO_ENOMEM;
	for (char *p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
		*p = '/';
	}
	if (mkdir(copy, 0700) != 0 && errno != EEXIST)
		rc = -errno;
out:
	free(copy);
	return rc;
}

/* True if the file's main database names a database not among dbs (or
 * cannot be read). */
static bool foreign_databases(MDB_txn *txn, const char *const *dbs, size_t n_dbs)
{
	MDB_dbi main_db;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	bool foreign = false;

	if (mdb_dbi_open(txn, NULL, 0, &main_db) != 0 || mdb_cursor_open(txn, main_db, &c) != 0)
		return true;
	for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !foreign;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		bool known = false;

		for (size_t i = 0; i < n_dbs && !known; i++)
			known = k.mv_size == strlen(dbs[i]) && memcmp(k.mv_data, dbs[i], k.mv_size) == 0;
		foreign = !known;
	}
	mdb_cursor_close(c);
	return foreign;
}

int blo_store_begin(MDB_env **env, MDB_txn **txn, const char *dir, const char *what,
		    unsigned maxdbs, size_t map_size, const char *const *dbs, size_t n_dbs,
		    blo_err_t *err)
{
	MDB_txn *t = NULL;
	int rc;

	*txn = NULL;
	if ((rc = blo_store_mkdir_p(dir)) != 0)
		return blo_err_set(err, rc, "%s store %s: cannot create the folder: %s", what, dir,
				   blo_strerror(rc));
	if ((rc = mdb_env_create(env)) != 0 || (rc = mdb_env_set_maxdbs(*env, maxdbs)) != 0 ||
	    (rc = mdb_env_set_mapsize(*env, map_size)) != 0 ||
	    (rc = mdb_env_open(*env, dir, MDB_NOTLS, 0600)) != 0 ||
	    (rc = mdb_txn_begin(*env, NULL, 0, &t)) != 0)
		return blo_err_set(err, rc, "%s store %s: %s", what, dir, mdb_strerror(rc));
	if (foreign_databases(t, dbs, n_dbs)) {
		mdb_txn_abort(t);
		return blo_err_set(err, BLO_ECORRUPT, "%s holds another store, not a %s's", dir, what);
	}
	*txn = t;
	return 0;
}
