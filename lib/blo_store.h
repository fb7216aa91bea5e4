/*
 * blo_store: what the programs' own LMDB stores share (the console's and
 * the committee's): the folder made with its parents (mode 0700), the
 * environment opened, and a first write transaction begun, in which the
 * store opens its databases, after a check that the file holds no
 * database but the store's own (a folder given by mistake to the wrong
 * program is refused, not written into).
 */
#ifndef BLO_STORE_H
#define BLO_STORE_H

#include "blo_err.h"

#include <lmdb.h>
#include <stddef.h>

/* Makes path and its missing parents, mode 0700. 0, -errno or BLO_ENOMEM. */
int blo_store_mkdir_p(const char *path);

/* Opens the store of `what` ("console", "committee": named in messages) in
 * dir: the folder made, an environment of at most maxdbs named databases
 * and a map of map_size bytes opened (MDB_NOTLS), and *txn a write
 * transaction begun. Refuses (BLO_ECORRUPT, "DIR holds another store, not
 * a WHAT's") a file with a named database not among the n_dbs of dbs.
 * *env is set as soon as it exists, also on failure (close it then);
 * *txn only on success. Returns 0, -errno, BLO_ENOMEM, BLO_ECORRUPT or an
 * MDB_* code; err says which store and what. */
int blo_store_begin(MDB_env **env, MDB_txn **txn, const char *dir, const char *what,
		    unsigned maxdbs, size_t map_size, const char *const *dbs, size_t n_dbs,
		    blo_err_t *err);

#endif
