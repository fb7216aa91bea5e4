/*
 * Unit tests of blo_journal's named values (blo_journal_meta_get/put, where
 * a broker keeps the highest registry version it has accepted) and of
 * opening a journal read-only (blo_journal_open_readonly, as blonetctl
 * does). Each test works in its own temporary folder.
 */
#include "blo_test.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

/* How many entries dir holds besides . and .. */
static int entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static bool file_in(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Appends n entries with ids first..first+n-1 and one audit record each. */
static void append_some(blo_journal_t *j, uint8_t first, size_t n)
{
	uint8_t ids[16][BLO_JOURNAL_ID_BYTES];
	blo_journal_entry_t entries[16];
	blo_audit_record_t audit[16];
	blo_journal_batch_t b = {.entries = entries, .n_entries = n, .audit = audit, .n_audit = n};
	const char data[] = "envelope bytes";

	assert_true(n <= 16);
	memset(entries, 0, sizeof(entries));
	memset(audit, 0, sizeof(audit));
	for (size_t i = 0; i < n; i++) {
		memset(ids[i], (int)(first + i), sizeof(ids[i]));
		entries[i] = (blo_journal_entry_t){.id = ids[i], .data = (const uint8_t *)data,
						   .len = sizeof(data), .time_ms = 1000 + (int64_t)i};
		audit[i] = (blo_audit_record_t){.event = BLO_AUDIT_ACCEPT, .time_ms = 1000,
						.principal = "th-customs-maesai",
						.entry_index = (int)i};
	}
	E(blo_journal_commit(j, &b, NULL));
}

static int count_record(const blo_journal_record_t *rec, void *arg)
{
	(void)rec;
	(*(int *)arg)++;
	return 0;
}

static void test_meta_get_of_a_name_never_put_is_not_found(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = NULL;
	uint64_t v = 7;

	(void)state;
	E(blo_journal_open(&j, dir, NULL, NULL));
	assert_int_equal(blo_journal_meta_get(j, "registry_version", &v), BLO_ENOTFOUND);
	assert_int_equal(v, 7);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_meta_put_is_durable_across_reopen_and_replaces(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = NULL;
	uint64_t v = 0;

	(void)state;
	E(blo_journal_open(&j, dir, NULL, NULL));
	E(blo_journal_meta_put(j, "registry_version", 6, NULL));
	E(blo_journal_meta_get(j, "registry_version", &v));
	assert_int_equal(v, 6);
	blo_journal_close(&j);
	E(blo_journal_open(&j, dir, NULL, NULL));
	E(blo_journal_meta_get(j, "registry_version", &v));
	assert_int_equal(v, 6);
	E(blo_journal_meta_put(j, "registry_version", UINT64_MAX - 1, NULL));
	E(blo_journal_meta_put(j, "other", 3, NULL));
	E(blo_journal_meta_get(j, "registry_version", &v));
	assert_true(v == UINT64_MAX - 1);
	E(blo_journal_meta_get(j, "other", &v));
	assert_int_equal(v, 3);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

/* "state", "version" and "audit_head" are the journal's own entries of the
 * same database: a program's values of those names must not replace them. */
static void test_meta_names_never_reach_the_journals_own_entries(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *j = NULL;
	blo_journal_stats_t st;
	uint64_t v = 0, records = 0;

	(void)state;
	E(blo_journal_open(&j, dir, NULL, NULL));
	append_some(j, 1, 3);
	E(blo_journal_meta_put(j, "state", 0, NULL));
	E(blo_journal_meta_put(j, "version", 99, NULL));
	E(blo_journal_meta_put(j, "audit_head", 1, NULL));
	blo_journal_close(&j);
	E(blo_journal_open(&j, dir, NULL, NULL));
	E(blo_journal_stats(j, &st));
	assert_int_equal(st.last_seq, 3);
	assert_int_equal(st.count, 3);
	E(blo_journal_audit_verify(j, &records, NULL, NULL));
	assert_int_equal(records, 3);
	E(blo_journal_meta_get(j, "version", &v));
	assert_int_equal(v, 99);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_meta_bad_names_are_refused(void **state)
{
	char *dir = blo_test_mkdtemp();
	char longname[BLO_JOURNAL_META_NAME_MAX + 1];
	blo_journal_t *j = NULL;
	blo_err_t err = {0};
	uint64_t v;

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	E(blo_journal_open(&j, dir, NULL, NULL));
	assert_int_equal(blo_journal_meta_put(j, "", 1, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "meta name"));
	assert_int_equal(blo_journal_meta_put(j, NULL, 1, NULL), BLO_EINVAL);
	assert_int_equal(blo_journal_meta_put(j, longname, 1, NULL), BLO_EINVAL);
	assert_int_equal(blo_journal_meta_get(j, longname, &v), BLO_EINVAL);
	longname[BLO_JOURNAL_META_NAME_MAX - 1] = '\0'; /* the longest allowed */
	E(blo_journal_meta_put(j, longname, 5, NULL));
	E(blo_journal_meta_get(j, longname, &v));
	assert_int_equal(v, 5);
	blo_journal_close(&j);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_open_readonly_of_no_journal_is_a_clear_error_and_creates_nothing(void **state)
{
	char *dir = blo_test_mkdtemp();
	char missing[4096];
	blo_journal_t *j = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_journal_open_readonly(&j, dir, &err), BLO_ENOTFOUND);
	assert_null(j);
	assert_non_null(strstr(err.msg, "no journal at"));
	assert_non_null(strstr(err.msg, "is the data_dir right?"));
	assert_int_equal(entries_in(dir), 0);
	snprintf(missing, sizeof(missing), "%s/nowhere", dir);
	assert_int_equal(blo_journal_open_readonly(&j, missing, &err), BLO_ENOTFOUND);
	assert_int_equal(access(missing, F_OK), -1);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_open_readonly_reads_what_a_writer_still_open_commits(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *w = NULL, *r = NULL;
	blo_journal_stats_t st;
	uint64_t v = 0, records = 0, seq = 0;
	uint8_t id[BLO_JOURNAL_ID_BYTES];
	int n = 0;

	(void)state;
	E(blo_journal_open(&w, dir, NULL, NULL));
	append_some(w, 1, 4);
	E(blo_journal_meta_put(w, "registry_version", 5, NULL));
	E(blo_journal_open_readonly(&r, dir, NULL));
	E(blo_journal_stats(r, &st));
	assert_int_equal(st.last_seq, 4);
	E(blo_journal_scan(r, 1, 0, count_record, &n));
	assert_int_equal(n, 4);
	E(blo_journal_audit_verify(r, &records, NULL, NULL));
	assert_int_equal(records, 4);
	E(blo_journal_meta_get(r, "registry_version", &v));
	assert_int_equal(v, 5);
	memset(id, 2, sizeof(id));
	E(blo_journal_find_id(r, id, &seq));
	assert_int_equal(seq, 2);
	/* The writer goes on; a new read sees it. */
	append_some(w, 10, 2);
	E(blo_journal_meta_put(w, "registry_version", 6, NULL));
	E(blo_journal_stats(r, &st));
	assert_int_equal(st.last_seq, 6);
	E(blo_journal_meta_get(r, "registry_version", &v));
	assert_int_equal(v, 6);
	blo_journal_close(&r);
	blo_journal_close(&w);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_open_readonly_refuses_every_write(void **state)
{
	char *dir = blo_test_mkdtemp();
	blo_journal_t *w = NULL, *r = NULL;
	const char *name = "sub/x";
	uint64_t seq = 1, v = 0;
	blo_journal_stats_t st;

	(void)state;
	E(blo_journal_open(&w, dir, NULL, NULL));
	append_some(w, 1, 2);
	E(blo_journal_meta_put(w, "registry_version", 3, NULL));
	blo_journal_close(&w);
	E(blo_journal_open_readonly(&r, dir, NULL));
	assert_int_equal(blo_journal_meta_put(r, "registry_version", 9, NULL), -EACCES);
	assert_int_equal(blo_journal_cursor_set(r, &name, &seq, 1, NULL), -EACCES);
	assert_true(blo_journal_purge(r, 0, 1, NULL, NULL) != 0);
	E(blo_journal_meta_get(r, "registry_version", &v));
	assert_int_equal(v, 3);
	E(blo_journal_stats(r, &st));
	assert_int_equal(st.count, 2);
	blo_journal_close(&r);
	blo_test_rmdir(dir);
	free(dir);
}

/* With no lock file no broker has the journal open: reading it must not
 * leave one behind (owned by whoever ran the tool). */
static void test_open_readonly_without_a_lock_file_leaves_none(void **state)
{
	char *dir = blo_test_mkdtemp();
	char lock[4096];
	blo_journal_t *w = NULL, *r = NULL;
	uint64_t records = 0;

	(void)state;
	E(blo_journal_open(&w, dir, NULL, NULL));
	append_some(w, 1, 3);
	blo_journal_close(&w);
	snprintf(lock, sizeof(lock), "%s/lock.mdb", dir);
	assert_int_equal(unlink(lock), 0);
	E(blo_journal_open_readonly(&r, dir, NULL));
	E(blo_journal_audit_verify(r, &records, NULL, NULL));
	assert_int_equal(records, 3);
	blo_journal_close(&r);
	assert_false(file_in(dir, "lock.mdb"));
	assert_int_equal(entries_in(dir), 1);
	blo_test_rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_get_of_a_name_never_put_is_not_found),
		cmocka_unit_test(test_meta_put_is_durable_across_reopen_and_replaces),
		cmocka_unit_test(test_meta_names_never_reach_the_journals_own_entries),
		cmocka_unit_test(test_meta_bad_names_are_refused),
		cmocka_unit_test(test_open_readonly_of_no_journal_is_a_clear_error_and_creates_nothing),
		cmocka_unit_test(test_open_readonly_reads_what_a_writer_still_open_commits),
		cmocka_unit_test(test_open_readonly_refuses_every_write),
		cmocka_unit_test(test_open_readonly_without_a_lock_file_leaves_none),
	};

	return cmocka_run_group_tests_name("journal_meta", tests, NULL, NULL);
}
