/*
 * blo_err: error codes and their explanations. blo_strerror covers libblonet's
 * own codes and falls through to LMDB's mdb_strerror and libc's strerror.
 */
#include "blo_err.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const blo_messages[] = {
	[-(BLO_EINVAL - BLO_E_FIRST)] = "invalid input",
	[-(BLO_ETOOBIG - BLO_E_FIRST)] = "input exceeds its size bound",
	[-(BLO_EPARSE - BLO_E_FIRST)] = "cannot decode input",
	[-(BLO_EVALIDATE - BLO_E_FIRST)] = "input breaks a schema rule",
	[-(BLO_ESIGNATURE - BLO_E_FIRST)] = "signature does not verify",
	[-(BLO_EUNSIGNED - BLO_E_FIRST)] = "signature missing",
	[-(BLO_ENOTFOUND - BLO_E_FIRST)] = "not found",
	[-(BLO_EDUPLICATE - BLO_E_FIRST)] = "duplicate alert id",
	[-(BLO_ECONFIG - BLO_E_FIRST)] = "bad configuration",
	[-(BLO_EKEY - BLO_E_FIRST)] = "bad or unsafe key file",
	[-(BLO_EFULL - BLO_E_FIRST)] = "journal full: publish refused until space is freed",
	[-(BLO_ECORRUPT - BLO_E_FIRST)] = "stored data is corrupt",
	[-(BLO_ENOMEM - BLO_E_FIRST)] = "out of memory",
	[-(BLO_EREVOKED - BLO_E_FIRST)] = "principal revoked",
	[-(BLO_EOLDER - BLO_E_FIRST)] = "registry is older than the one in force",
	[-(BLO_EPERM - BLO_E_FIRST)] = "not permitted",
	[-(BLO_ENOSPACE - BLO_E_FIRST)] = "the journal's filesystem has no space left",
	[-(BLO_ECONFLICT - BLO_E_FIRST)] = "the alert id is stored for another alert",
};

const char *blo_strerror(int rc)
{
	if (rc == 0)
		return "success";
	if (rc < BLO_E_FIRST && rc > BLO_E_LAST)
		return blo_messages[-(rc - BLO_E_FIRST)];
	if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
		return mdb_strerror(rc);
	if (rc < 0 && rc > -4096)
		return strerror(-rc);
	if (rc > 0 && rc < 4096)
		return strerror(rc);
	return "unknown error code";
}

int blo_err_set(blo_err_t *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int blo_err_prefix(blo_err_t *err, const char *fmt, ...)
{
	char prefix[256];
	char old[sizeof(err->msg)];
	va_list ap;

	if (err == NULL)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return err->code;
}

void blo_err_clear(blo_err_t *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
