/*
 * Shared helpers for blonet's cmocka unit tests: a check macro that reports
 * file:line and blo_strerror of a failing call, the golden files, and
 * temporary folders.
 */
#ifndef BLO_TEST_H
#define BLO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blonet.h"

/* E(call): the call must return 0; otherwise fail with where and why. */
#define E(expr)                                                                          \
	do {                                                                             \
		int e_rc_ = (expr);                                                      \
		if (e_rc_ != 0)                                                          \
			fail_msg("%s:%d: %s: %s (%d)", __FILE__, __LINE__, #expr,        \
				 blo_strerror(e_rc_), e_rc_);                            \
	} while (0)

/* The journal in dir, opened (made if new) with map_size (0: the default);
 * any failure fails the test with its reason. */
static inline blo_journal_t *blo_test_journal_open(const char *dir, size_t map_size)
{
	blo_journal_t *j = NULL;
	blo_journal_opts_t opts = {.map_size = map_size};
	blo_err_t err = {0};

	if (blo_journal_open(&j, dir, &opts, &err) != 0)
		fail_msg("open %s: %s", dir, err.msg);
	return j;
}

/* tests/golden/NAME.EXT under $BLO_SRCDIR (or the current folder); the
 * caller frees it. */
static inline char *blo_test_golden_path(const char *name, const char *ext)
{
	const char *src = getenv("BLO_SRCDIR");
	char *path = NULL;

	if (asprintf(&path, "%s/tests/golden/%s.%s", src ? src : ".", name, ext) < 0)
		fail_msg("asprintf");
	return path;
}

/* The whole file at path (at most 1 MiB), NUL-terminated, *len bytes
 * without the NUL; the caller frees it. Fails the test if it cannot. */
static inline char *blo_test_read_text(const char *path, size_t *len)
{
	char *text = NULL;
	int rc = blo_read_file(path, 1 << 20, &text, len);

	if (rc != 0)
		fail_msg("%s: %s", path, blo_strerror(rc));
	return text;
}

/* A fresh empty folder under $TMPDIR (or /tmp); caller frees the string and
 * removes the folder with blo_test_rmdir. */
static inline char *blo_test_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *path = NULL;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (asprintf(&path, "%s/blonet-test-XXXXXX", base) < 0)
		fail_msg("asprintf failed");
	if (mkdtemp(path) == NULL)
		fail_msg("mkdtemp(%s) failed", path);
	return path;
}

/* Removes a folder made by blo_test_mkdtemp and everything in it. */
static inline void blo_test_rmdir(const char *path)
{
	char *cmd = NULL;

	if (path == NULL || strstr(path, "blonet-test-") == NULL)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", path) < 0)
		return;
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(cmd);
}

#endif
