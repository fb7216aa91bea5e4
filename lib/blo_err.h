/*
 * blo_err: the error codes of libblonet and the one function that explains
 * any code a libblonet function can return (BLO_E*, -errno, MDB_*).
 */
#ifndef BLO_ERR_H
#define BLO_ERR_H

#include <stddef.h>

/*
 * Every libblonet function returning int returns 0 on success and a negative
 * code on failure: one of BLO_E* below, a negated errno value (-ENOENT), or an
 * LMDB code (MDB_MAP_FULL, -30792). BLO_E* codes lie in -42000..-42099, clear
 * of errno (1..4095 negated) and of LMDB (-30800..-30780).
 */
enum {
	BLO_E_FIRST = -42000,
	BLO_EINVAL = -42001,      /* invalid input: see the message */
	BLO_ETOOBIG = -42002,     /* input exceeds its size bound */
	BLO_EPARSE = -42003,      /* bytes or text could not be decoded */
	BLO_EVALIDATE = -42004,   /* decoded, but breaks a rule of the schema */
	BLO_ESIGNATURE = -42005,  /* a signature does not verify */
	BLO_EUNSIGNED = -42006,   /* a signature is required and missing */
	BLO_ENOTFOUND = -42007,   /* no such principal, record or key */
	BLO_EDUPLICATE = -42008,  /* an alert with this id is already stored */
	BLO_ECONFIG = -42009,     /* a configuration file is wrong */
	BLO_EKEY = -42010,        /* a key file is malformed or unsafe */
	BLO_EFULL = -42011,       /* the journal is full: publish refused */
	BLO_ECORRUPT = -42012,    /* stored data is not what was written */
	BLO_ENOMEM = -42013,      /* out of memory */
	BLO_EREVOKED = -42014,    /* the principal is revoked */
	BLO_EOLDER = -42015,      /* a registry older than the one in force */
	BLO_EPERM = -42016,       /* the principal may not do this */
	BLO_ENOSPACE = -42017,    /* the journal's filesystem has no space left */
	BLO_ECONFLICT = -42018,   /* the id is stored for another alert */
	BLO_E_LAST = -42019
};

/* A human-readable message that says what went wrong and where, for callers
 * that report to an operator, e.g.
 *   alert: field "origin.country": "XX" is not an ISO 3166 alpha-2 code */
typedef struct {
	int code;
	char msg[512];
} blo_err_t;

/* Returns a static string describing rc (BLO_E*, -errno, errno, MDB_*).
 * Never NULL. */
const char *blo_strerror(int rc);

/* Records code and a printf-style message in err (NULL: ignored) and returns
 * code, so a failure path reads `return blo_err_set(err, BLO_EINVAL, ...)`. */
int blo_err_set(blo_err_t *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the message already in err with "prefix: " (NULL err: ignored).
 * Returns err->code, or 0 when err is NULL: so never `return` it as a
 * failure code; keep the code you had. */
int blo_err_prefix(blo_err_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Clears err to "no error" (NULL: ignored). */
void blo_err_clear(blo_err_t *err);

#endif
