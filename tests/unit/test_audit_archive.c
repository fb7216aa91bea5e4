/*
 * Unit tests of audit retention: blo_audit_archive_move (by count, by age,
 * per call, split into files), blo_audit_archive_verify (whole, oldest
 * files taken away, newest missing, tampered lines, a move cut short) and
 * the journal's side of it (blo_journal_audit_anchor, _trim, _hash).
 */
#include "blo_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH BLO_AUDIT_HASH_BYTES
#define HEX (2 * HASH)

/* A journal folder and its archive folder (not created) inside it. */
typedef struct {
	char *dir;
	char *archive;
	blo_journal_t *j;
	blo_journal_t *ro; /* a second, read-only handle, when a test opens one */
} fixture_t;

static blo_journal_t *open_at(const char *dir)
{
	blo_journal_t *j = NULL;
	blo_err_t err = {0};

	if (blo_journal_open(&j, dir, NULL, &err) != 0)
		fail_msg("open %s: %s", dir, err.msg);
	return j;
}

/* Each test gets a fresh journal; teardown runs after a failure too. */
static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = blo_test_mkdtemp();
	if (asprintf(&f->archive, "%s/archive", f->dir) < 0)
		fail_msg("asprintf failed");
	f->j = open_at(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	blo_journal_close(&f->ro);
	blo_journal_close(&f->j);
	blo_test_rmdir(f->dir);
	free(f->archive);
	free(f->dir);
	free(f);
	return 0;
}

/* A record about no entry of its batch. */
static blo_audit_record_t rec(blo_audit_event_t event, int64_t time_ms, const char *principal,
			      const char *detail)
{
	return (blo_audit_record_t){.event = event,
				    .time_ms = time_ms,
				    .principal = principal,
				    .detail = detail,
				    .entry_index = BLO_AUDIT_NO_ENTRY};
}

/* Commits audit records alone; they must be stored. */
static void commit_audit(blo_journal_t *j, const blo_audit_record_t *audit, size_t n)
{
	blo_journal_batch_t batch = {.audit = audit, .n_audit = n};
	blo_err_t err = {0};

	if (blo_journal_commit(j, &batch, &err) != 0)
		fail_msg("commit: %s", err.msg);
}

/* Commits `count` audit-only records numbered first.., in batches of 50;
 * record n has time_ms n and detail "record n". */
static void commit_numbered(blo_journal_t *j, uint64_t first, size_t count)
{
	blo_audit_record_t audit[50];
	char details[50][32];

	while (count > 0) {
		size_t n = count < 50 ? count : 50;

		for (size_t i = 0; i < n; i++) {
			snprintf(details[i], sizeof(details[i]), "record %llu",
				 (unsigned long long)(first + i));
			audit[i] = rec(BLO_AUDIT_DELIVER, (int64_t)(first + i), "la-console-1",
				       details[i]);
		}
		commit_audit(j, audit, n);
		first += n;
		count -= n;
	}
}

/* The text blo_journal_commit gives a record of commit_numbered. */
static void numbered_text(char *buf, size_t size, uint64_t n)
{
	snprintf(buf, size,
		 "{\"aseq\":%llu,\"time_ms\":%llu,\"event\":\"deliver\","
		 "\"principal\":\"la-console-1\",\"detail\":\"record %llu\"}",
		 (unsigned long long)n, (unsigned long long)n, (unsigned long long)n);
}

static int move(fixture_t *f, int64_t older_than_ms, uint64_t keep, uint64_t max,
		uint64_t *moved)
{
	blo_audit_archive_opts_t opts = {
		.older_than_ms = older_than_ms, .keep_records = keep, .max_records = max};
	blo_err_t err = {0};

	*moved = 12345;
	return blo_audit_archive_move(f->j, f->archive, &opts, moved, &err);
}

/* The move must succeed and move exactly want records. */
static void assert_moves(fixture_t *f, int64_t older_than_ms, uint64_t keep, uint64_t max,
			 uint64_t want)
{
	blo_audit_archive_opts_t opts = {
		.older_than_ms = older_than_ms, .keep_records = keep, .max_records = max};
	blo_err_t err = {0};
	uint64_t moved = 12345;
	int rc = blo_audit_archive_move(f->j, f->archive, &opts, &moved, &err);

	if (rc != 0)
		fail_msg("move: %s (%d)", err.msg, rc);
	assert_int_equal(moved, want);
}

static uint64_t anchor_of(blo_journal_t *j, uint8_t hash[HASH])
{
	uint8_t ignored[HASH];
	uint64_t aseq = 99999;

	E(blo_journal_audit_anchor(j, &aseq, hash != NULL ? hash : ignored));
	return aseq;
}

/* The journal's own chain must verify with exactly `want` records. */
static void assert_journal_intact(blo_journal_t *j, uint64_t want)
{
	uint64_t records = 99999, bad = 99999;
	blo_err_t err = {0};
	int rc = blo_journal_audit_verify(j, &records, &bad, &err);

	if (rc != 0)
		fail_msg("journal verify: %s (%d)", err.msg, rc);
	assert_int_equal(records, want);
	assert_int_equal(bad, 0);
}

/* blo_audit_archive_verify must pass; returns what it found. */
static blo_audit_archive_info_t archive_intact(fixture_t *f)
{
	blo_audit_archive_info_t info;
	uint64_t bad = 99999;
	blo_err_t err = {0};
	int rc;

	memset(&info, 0xa5, sizeof(info));
	rc = blo_audit_archive_verify(f->j, f->archive, &info, &bad, &err);
	if (rc != 0)
		fail_msg("archive verify: %s (%d), bad_aseq %llu", err.msg, rc,
			 (unsigned long long)bad);
	assert_int_equal(bad, 0);
	return info;
}

/* blo_audit_archive_verify must fail with BLO_ECORRUPT; returns bad_aseq. */
static uint64_t archive_broken(fixture_t *f)
{
	blo_audit_archive_info_t info;
	uint64_t bad = 99999;
	blo_err_t err = {0};

	assert_int_equal(blo_audit_archive_verify(f->j, f->archive, &info, &bad, &err),
			 BLO_ECORRUPT);
	assert_true(err.msg[0] != '\0');
	return bad;
}

static char *file_path(const char *archive, uint64_t first_aseq)
{
	char *path = NULL;

	if (asprintf(&path, "%s/audit-%020llu.jsonl", archive, (unsigned long long)first_aseq) < 0)
		fail_msg("asprintf failed");
	return path;
}

/* The whole of path, NUL-terminated; caller frees. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long size;

	if (fp == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size >= 0);
	rewind(fp);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
	buf[size] = '\0';
	fclose(fp);
	*len = (size_t)size;
	return buf;
}

/* Names in dir besides . and ..; -1 when dir does not exist. */
static int entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL) {
		assert_int_equal(errno, ENOENT);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Offset of the start of line `index` (0-based) in buf. */
static size_t line_start(const char *buf, size_t len, size_t index)
{
	size_t off = 0;

	for (size_t i = 0; i < index; i++) {
		const char *nl = memchr(buf + off, '\n', len - off);

		assert_non_null(nl);
		off = (size_t)(nl - buf) + 1;
	}
	return off;
}

/* Checks the archive file whose first record is first: exactly n lines,
 * line k being `record text TAB 64 lowercase hex NL` with text starting
 * {"aseq":first+k, and the hash the chain's step from *hash (in: the hash
 * before first; out: the hash of the last line). numbered: the texts are
 * commit_numbered's. */
static void assert_file_holds(const char *archive, uint64_t first, size_t n, uint8_t hash[HASH],
			      bool numbered)
{
	char *path = file_path(archive, first);
	size_t len, off = 0;
	char *buf = slurp(path, &len);

	for (size_t k = 0; k < n; k++) {
		const char *line = buf + off;
		const char *nl = memchr(line, '\n', len - off);
		const char *tab;
		char prefix[40], want[256];
		uint8_t stored[HASH];
		size_t tlen;

		if (nl == NULL)
			fail_msg("%s: line %zu of %zu missing or without newline", path, k + 1, n);
		tab = memchr(line, '\t', (size_t)(nl - line));
		assert_non_null(tab);
		tlen = (size_t)(tab - line);
		assert_int_equal((size_t)(nl - tab - 1), HEX);
		for (size_t i = 1; i <= HEX; i++)
			assert_true((tab[i] >= '0' && tab[i] <= '9') || (tab[i] >= 'a' && tab[i] <= 'f'));
		assert_int_equal(sodium_hex2bin(stored, HASH, tab + 1, HEX, NULL, NULL, NULL), 0);
		snprintf(prefix, sizeof(prefix), "{\"aseq\":%llu,", (unsigned long long)(first + k));
		if (tlen < strlen(prefix) || memcmp(line, prefix, strlen(prefix)) != 0)
			fail_msg("%s line %zu: \"%.*s\" is not record %llu", path, k + 1, (int)tlen,
				 line, (unsigned long long)(first + k));
		if (numbered) {
			numbered_text(want, sizeof(want), first + k);
			if (tlen != strlen(want) || memcmp(line, want, tlen) != 0)
				fail_msg("%s line %zu:\n  got  %.*s\n  want %s", path, k + 1, (int)tlen,
					 line, want);
		}
		blo_journal_audit_hash(hash, hash, line, tlen);
		assert_memory_equal(hash, stored, HASH);
		off = (size_t)(nl - buf) + 1;
	}
	if (off != len)
		fail_msg("%s: more than %zu lines", path, n);
	free(buf);
	free(path);
}

/* The journal's chain hash at aseq, recomputed from the anchor over the
 * texts the journal holds. */
typedef struct {
	uint64_t upto;
	uint8_t hash[HASH];
} chain_t;

static int chain_step(uint64_t aseq, const char *text, size_t len, void *arg)
{
	chain_t *c = arg;

	if (aseq > c->upto)
		return 1;
	blo_journal_audit_hash(c->hash, c->hash, text, len);
	return 0;
}

static void journal_hash_at(blo_journal_t *j, uint64_t aseq, uint8_t out[HASH])
{
	chain_t c = {.upto = aseq};
	uint64_t anchor = anchor_of(j, c.hash);

	assert_true(aseq > anchor);
	assert_true(blo_journal_audit_scan(j, anchor + 1, 0, chain_step, &c) >= 0);
	memcpy(out, c.hash, HASH);
}

/* Which aseqs the journal holds: seen[aseq]++. */
typedef struct {
	unsigned *seen;
	uint64_t n;
	uint64_t first, count;
} seen_t;

static int mark_seen(uint64_t aseq, const char *text, size_t len, void *arg)
{
	seen_t *s = arg;

	(void)text;
	(void)len;
	assert_true(aseq >= 1 && aseq <= s->n);
	s->seen[aseq]++;
	if (s->count++ == 0)
		s->first = aseq;
	return 0;
}

/* The first aseq the journal holds (0: none) and how many. */
static uint64_t journal_first(blo_journal_t *j, uint64_t *count)
{
	unsigned seen[4096] = {0};
	seen_t s = {.seen = seen, .n = 4095};

	E(blo_journal_audit_scan(j, 0, 0, mark_seen, &s));
	*count = s.count;
	return s.first;
}

/* Flips one byte of path at off to c (which must differ from it). */
static void poke(const char *path, size_t off, char c)
{
	int fd = open(path, O_RDWR);
	char old;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &old, 1, (off_t)off), 1);
	assert_true(old != c);
	assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
	close(fd);
}

static char byte_at(const char *path, size_t off)
{
	int fd = open(path, O_RDONLY);
	char c = 0;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
	close(fd);
	return c;
}

/* ---------------------------------------------------------------- hash */

static void test_journal_audit_hash_is_blake2b_256_of_prev_and_text(void **state)
{
	fixture_t *f = *state;
	const char text[] = "{\"aseq\":1,\"time_ms\":0,\"event\":\"admin\"}";
	uint8_t prev[HASH], out[HASH], want[HASH], zero[HASH] = {0}, head_hash[HASH];
	blo_audit_record_t r = rec(BLO_AUDIT_ADMIN, 0, NULL, NULL);
	crypto_generichash_state st;
	uint64_t head = 0;

	for (int i = 0; i < HASH; i++)
		prev[i] = (uint8_t)(i * 7);
	crypto_generichash_init(&st, NULL, 0, HASH);
	crypto_generichash_update(&st, prev, HASH);
	crypto_generichash_update(&st, (const uint8_t *)text, strlen(text));
	crypto_generichash_final(&st, want, HASH);
	blo_journal_audit_hash(out, prev, text, strlen(text));
	assert_memory_equal(out, want, HASH);
	/* out may be prev. */
	blo_journal_audit_hash(prev, prev, text, strlen(text));
	assert_memory_equal(prev, want, HASH);
	/* It is the journal's chain: the head of one record, from zeros. */
	commit_audit(f->j, &r, 1);
	E(blo_journal_audit_head(f->j, &head, head_hash));
	assert_int_equal(head, 1);
	blo_journal_audit_hash(out, zero, text, strlen(text));
	assert_memory_equal(out, head_hash, HASH);
}

/* ---------------------------------------------------------------- moving */

static void test_move_by_count_writes_one_file_and_keeps_the_newest(void **state)
{
	fixture_t *f = *state;
	uint8_t hash[HASH] = {0}, anchor_hash[HASH], zero[HASH] = {0};
	blo_audit_archive_info_t info;
	uint64_t count = 0;
	struct stat st;
	mode_t mask;
	char *path;

	assert_int_equal(anchor_of(f->j, anchor_hash), 0);
	assert_memory_equal(anchor_hash, zero, HASH);
	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 0, 700);

	/* One file, named by its first aseq, mode 0750 folder. */
	assert_int_equal(entries_in(f->archive), 1);
	assert_int_equal(stat(f->archive, &st), 0);
	mask = umask(0);
	umask(mask);
	assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
	path = file_path(f->archive, 1);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	free(path);
	assert_file_holds(f->archive, 1, 700, hash, true);

	/* The anchor is the last record moved, with the file's last hash. */
	assert_int_equal(anchor_of(f->j, anchor_hash), 700);
	assert_memory_equal(anchor_hash, hash, HASH);
	assert_journal_intact(f->j, 300);
	assert_int_equal(journal_first(f->j, &count), 701);
	assert_int_equal(count, 300);

	info = archive_intact(f);
	assert_int_equal(info.files, 1);
	assert_int_equal(info.records, 700);
	assert_int_equal(info.first_aseq, 1);
	assert_int_equal(info.last_aseq, 700);
	assert_true(info.from_start);
	assert_int_equal(info.journal_records, 300);
	assert_int_equal(info.anchor_aseq, 700);
	/* Nothing more to move at the same limit. */
	assert_moves(f, 0, 300, 0, 0);
	assert_int_equal(entries_in(f->archive), 1);
}

static void test_move_by_age_stops_at_the_first_record_kept(void **state)
{
	/* Record 6 is old but comes after 5, which is kept. */
	static const int64_t times[] = {10, 20, 30, 40, 500, 5, 600, 700, 800, 900};
	fixture_t *f = *state;
	blo_audit_record_t audit[10];
	uint8_t hash[HASH] = {0}, anchor_hash[HASH];
	blo_audit_archive_info_t info;
	uint64_t count = 0;

	for (int i = 0; i < 10; i++)
		audit[i] = rec(BLO_AUDIT_SESSION, times[i], "p", NULL);
	commit_audit(f->j, audit, 5);
	commit_audit(f->j, audit + 5, 5);
	assert_moves(f, 100, 0, 0, 4);
	assert_int_equal(entries_in(f->archive), 1);
	assert_file_holds(f->archive, 1, 4, hash, false);
	assert_int_equal(anchor_of(f->j, anchor_hash), 4);
	assert_memory_equal(anchor_hash, hash, HASH);
	assert_int_equal(journal_first(f->j, &count), 5);
	assert_int_equal(count, 6);
	info = archive_intact(f);
	assert_int_equal(info.records, 4);
	assert_int_equal(info.journal_records, 6);
	assert_int_equal(info.anchor_aseq, 4);
	/* The same cut again: 5 still blocks 6. */
	assert_moves(f, 100, 0, 0, 0);
	assert_int_equal(anchor_of(f->j, NULL), 4);
	/* A cut at 501 takes 5 and 6, and stops at 7. */
	assert_moves(f, 501, 0, 0, 2);
	assert_file_holds(f->archive, 5, 2, hash, false);
	/* A cut after everything empties the journal. */
	assert_moves(f, 1000, 0, 0, 4);
	assert_file_holds(f->archive, 7, 4, hash, false);
	assert_int_equal(anchor_of(f->j, anchor_hash), 10);
	assert_memory_equal(anchor_hash, hash, HASH);
	assert_int_equal(entries_in(f->archive), 3);
	assert_journal_intact(f->j, 0);
	info = archive_intact(f);
	assert_int_equal(info.files, 3);
	assert_int_equal(info.records, 10);
	assert_int_equal(info.journal_records, 0);
	assert_int_equal(info.anchor_aseq, 10);
	/* The chain goes on after the journal was emptied. */
	commit_audit(f->j, audit, 2);
	assert_journal_intact(f->j, 2);
	info = archive_intact(f);
	assert_int_equal(info.journal_records, 2);
}

static void test_move_takes_at_most_max_records_per_call(void **state)
{
	fixture_t *f = *state;
	uint8_t hash[HASH] = {0}, anchor_hash[HASH];
	blo_audit_archive_info_t info;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 100, 100);
	assert_int_equal(entries_in(f->archive), 1);
	assert_file_holds(f->archive, 1, 100, hash, true);
	assert_int_equal(anchor_of(f->j, NULL), 100);
	assert_moves(f, 0, 300, 100, 100);
	assert_int_equal(entries_in(f->archive), 2);
	assert_file_holds(f->archive, 101, 100, hash, true);
	assert_int_equal(anchor_of(f->j, anchor_hash), 200);
	assert_memory_equal(anchor_hash, hash, HASH);
	info = archive_intact(f);
	assert_int_equal(info.files, 2);
	assert_int_equal(info.records, 200);
	assert_int_equal(info.journal_records, 800);
	/* A max beyond what is eligible moves only what is. */
	assert_moves(f, 0, 300, 10000, 500);
	assert_file_holds(f->archive, 201, 500, hash, true);
	assert_int_equal(anchor_of(f->j, NULL), 700);
	info = archive_intact(f);
	assert_int_equal(info.files, 3);
	assert_int_equal(info.records, 700);
	assert_int_equal(info.journal_records, 300);
}

static void test_move_splits_files_at_file_records(void **state)
{
	const size_t total = BLO_AUDIT_ARCHIVE_FILE_RECORDS + 10;
	blo_audit_record_t *audit = calloc(1000, sizeof(*audit));
	uint8_t hash[HASH] = {0}, anchor_hash[HASH];
	blo_audit_archive_info_t info;
	fixture_t *f = *state;

	assert_non_null(audit);
	for (size_t i = 0; i < 1000; i++)
		audit[i] = rec(BLO_AUDIT_SESSION, 1, "p", NULL);
	for (size_t done = 0; done < total;) {
		size_t n = total - done < 1000 ? total - done : 1000;

		commit_audit(f->j, audit, n);
		done += n;
	}
	assert_moves(f, 0, 4, 0, total - 4);
	assert_int_equal(entries_in(f->archive), 2);
	assert_file_holds(f->archive, 1, BLO_AUDIT_ARCHIVE_FILE_RECORDS, hash, false);
	assert_file_holds(f->archive, BLO_AUDIT_ARCHIVE_FILE_RECORDS + 1, 6, hash, false);
	assert_int_equal(anchor_of(f->j, anchor_hash), total - 4);
	assert_memory_equal(anchor_hash, hash, HASH);
	info = archive_intact(f);
	assert_int_equal(info.files, 2);
	assert_int_equal(info.records, total - 4);
	assert_int_equal(info.last_aseq, total - 4);
	assert_int_equal(info.journal_records, 4);
	free(audit);
}

static void test_nothing_to_move_creates_no_folder_and_verifies(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_info_t info;
	uint64_t moved = 0;

	/* An empty journal, then one with fewer records than kept. */
	assert_int_equal(move(f, 0, 10, 0, &moved), 0);
	assert_int_equal(moved, 0);
	commit_numbered(f->j, 1, 50);
	assert_int_equal(move(f, 0, 51, 0, &moved), 0);
	assert_int_equal(moved, 0);
	assert_int_equal(move(f, 0, 50, 0, &moved), 0);
	assert_int_equal(moved, 0);
	/* No limit at all selects nothing. */
	assert_int_equal(move(f, 0, 0, 0, &moved), 0);
	assert_int_equal(moved, 0);
	/* An age limit that no record is older than. */
	assert_int_equal(move(f, 1, 0, 0, &moved), 0);
	assert_int_equal(moved, 0);
	assert_int_equal(entries_in(f->archive), -1);
	assert_int_equal(anchor_of(f->j, NULL), 0);
	assert_journal_intact(f->j, 50);

	info = archive_intact(f);
	assert_int_equal(info.files, 0);
	assert_int_equal(info.records, 0);
	assert_int_equal(info.first_aseq, 0);
	assert_false(info.from_start);
	assert_int_equal(info.journal_records, 50);
	assert_int_equal(info.anchor_aseq, 0);
	assert_int_equal(blo_audit_archive_verify(f->j, f->archive, NULL, NULL, NULL), 0);
	/* An empty folder too. */
	assert_int_equal(mkdir(f->archive, 0750), 0);
	info = archive_intact(f);
	assert_int_equal(info.files, 0);
	assert_int_equal(info.journal_records, 50);
}

/* ---------------------------------------------------------------- verifying */

static void test_verify_joins_files_and_allows_the_oldest_taken_away(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_info_t info;
	char *oldest, *newest, *aside_oldest, *aside_newest;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 0, 700);
	assert_moves(f, 0, 100, 0, 200);
	assert_int_equal(entries_in(f->archive), 2);
	info = archive_intact(f);
	assert_int_equal(info.files, 2);
	assert_int_equal(info.records, 900);
	assert_int_equal(info.first_aseq, 1);
	assert_int_equal(info.last_aseq, 900);
	assert_true(info.from_start);
	assert_int_equal(info.journal_records, 100);
	assert_int_equal(info.anchor_aseq, 900);

	oldest = file_path(f->archive, 1);
	newest = file_path(f->archive, 701);
	assert_true(asprintf(&aside_oldest, "%s/oldest.jsonl", f->dir) > 0);
	assert_true(asprintf(&aside_newest, "%s/newest.jsonl", f->dir) > 0);

	/* The oldest file taken to cold storage. */
	assert_int_equal(rename(oldest, aside_oldest), 0);
	info = archive_intact(f);
	assert_int_equal(info.files, 1);
	assert_int_equal(info.records, 200);
	assert_int_equal(info.first_aseq, 701);
	assert_int_equal(info.last_aseq, 900);
	assert_false(info.from_start);
	assert_int_equal(info.journal_records, 100);
	assert_int_equal(info.anchor_aseq, 900);
	/* Moves go on from there. */
	commit_numbered(f->j, 1001, 10);
	assert_moves(f, 0, 100, 0, 10);
	info = archive_intact(f);
	assert_int_equal(info.files, 2);
	assert_int_equal(info.first_aseq, 701);
	assert_int_equal(info.last_aseq, 910);
	assert_int_equal(info.anchor_aseq, 910);
	assert_int_equal(rename(aside_oldest, oldest), 0);
	info = archive_intact(f);
	assert_int_equal(info.files, 3);
	assert_true(info.from_start);

	/* The newest file missing: the archive does not reach the anchor. */
	free(newest);
	newest = file_path(f->archive, 901);
	assert_int_equal(rename(newest, aside_newest), 0);
	(void)archive_broken(f);
	assert_int_equal(rename(aside_newest, newest), 0);
	(void)archive_intact(f);

	/* A middle file missing: a gap. */
	free(newest);
	newest = file_path(f->archive, 701);
	assert_int_equal(rename(newest, aside_newest), 0);
	assert_int_equal(archive_broken(f), 701);
	assert_int_equal(rename(aside_newest, newest), 0);
	(void)archive_intact(f);

	/* The whole folder missing while the journal has moved records out:
	 * the fault is no one record's. */
	free(aside_newest);
	assert_true(asprintf(&aside_newest, "%s/archive-aside", f->dir) > 0);
	assert_int_equal(rename(f->archive, aside_newest), 0);
	assert_int_equal(archive_broken(f), 0);

	free(oldest);
	free(newest);
	free(aside_oldest);
	free(aside_newest);
}

static void test_verify_finds_a_tampered_line_hash_or_cut_short_line(void **state)
{
	fixture_t *f = *state;
	char *path;
	size_t len, off, tab;
	char *buf;
	char c;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 0, 700);
	(void)archive_intact(f);
	path = file_path(f->archive, 1);
	buf = slurp(path, &len);

	/* One byte of the JSON text of record 350: "record 350" -> "record 351". */
	off = line_start(buf, len, 349);
	assert_memory_equal(buf + off, "{\"aseq\":350,", 12);
	tab = (size_t)((char *)memchr(buf + off, '\t', len - off) - buf);
	assert_memory_equal(buf + tab - 5, "350\"}", 5);
	poke(path, tab - 3, '1');
	assert_int_equal(archive_broken(f), 350);
	poke(path, tab - 3, '0');
	(void)archive_intact(f);

	/* One byte of the aseq of record 350: no longer that record. */
	poke(path, off + 10, '1');
	assert_int_equal(archive_broken(f), 350);
	poke(path, off + 10, '0');
	(void)archive_intact(f);

	/* One hex digit of record 350's hash. */
	c = byte_at(path, tab + 20);
	poke(path, tab + 20, c == '0' ? '1' : '0');
	assert_int_equal(archive_broken(f), 350);
	/* Not hex at all. */
	poke(path, tab + 20, 'G');
	assert_int_equal(archive_broken(f), 350);
	poke(path, tab + 20, c);
	(void)archive_intact(f);

	/* The tab replaced. */
	poke(path, tab, ' ');
	assert_int_equal(archive_broken(f), 350);
	poke(path, tab, '\t');
	(void)archive_intact(f);

	/* The last line without its newline. */
	assert_int_equal(buf[len - 1], '\n');
	assert_int_equal(truncate(path, (off_t)len - 1), 0);
	assert_int_equal(archive_broken(f), 700);
	/* ... and the last line cut in its hash. */
	assert_int_equal(truncate(path, (off_t)len - 11), 0);
	assert_int_equal(archive_broken(f), 700);
	/* ... and without the last line at all: the anchor's record is gone. */
	assert_int_equal(truncate(path, (off_t)line_start(buf, len, 699)), 0);
	assert_int_equal(archive_broken(f), 700);

	free(buf);
	free(path);
}

/* ---------------------------------------------------------------- cut short */

static void test_move_cut_short_before_the_trim_loses_nothing(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_opts_t opts = {.keep_records = 300};
	blo_audit_archive_info_t info;
	uint8_t hash[HASH] = {0}, anchor_hash[HASH];
	blo_err_t err = {0};
	uint64_t moved = 12345, count = 0;
	unsigned seen[1101] = {0};
	seen_t s = {.seen = seen, .n = 1100};
	char *path, *buf;
	size_t len, off;
	int rc;

	commit_numbered(f->j, 1, 1000);
	E(blo_journal_open_readonly(&f->ro, f->dir, NULL));
	rc = blo_audit_archive_move(f->ro, f->archive, &opts, &moved, &err);
	assert_int_equal(rc, -EACCES);
	assert_int_equal(moved, 0);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(anchor_of(f->ro, NULL), 0);
	blo_journal_close(&f->ro);
	/* The file is in place (no temporary left); the journal has it all. */
	assert_int_equal(entries_in(f->archive), 1);
	assert_file_holds(f->archive, 1, 700, hash, true);
	assert_int_equal(anchor_of(f->j, NULL), 0);
	assert_journal_intact(f->j, 1000);
	assert_int_equal(journal_first(f->j, &count), 1);
	assert_int_equal(count, 1000);
	info = archive_intact(f);
	assert_int_equal(info.files, 1);
	assert_int_equal(info.records, 700);
	assert_int_equal(info.first_aseq, 1);
	assert_true(info.from_start);
	assert_int_equal(info.journal_records, 1000);
	assert_int_equal(info.anchor_aseq, 0);

	/* The next move writes the same file again, whole, and trims. */
	commit_numbered(f->j, 1001, 100);
	assert_moves(f, 0, 300, 0, 800);
	assert_int_equal(entries_in(f->archive), 1);
	memset(hash, 0, HASH);
	assert_file_holds(f->archive, 1, 800, hash, true);
	assert_int_equal(anchor_of(f->j, anchor_hash), 800);
	assert_memory_equal(anchor_hash, hash, HASH);
	info = archive_intact(f);
	assert_int_equal(info.files, 1);
	assert_int_equal(info.records, 800);
	assert_int_equal(info.journal_records, 300);
	assert_int_equal(info.anchor_aseq, 800);

	/* Every record exactly once: archive lines up to the anchor, then the
	 * journal. */
	path = file_path(f->archive, 1);
	buf = slurp(path, &len);
	off = 0;
	while (off < len) {
		unsigned long long aseq = 0;
		char *nl = memchr(buf + off, '\n', len - off);

		assert_non_null(nl);
		assert_int_equal(sscanf(buf + off, "{\"aseq\":%llu,", &aseq), 1);
		assert_true(aseq >= 1 && aseq <= 1100);
		if (aseq <= 800)
			seen[aseq]++;
		off = (size_t)(nl - buf) + 1;
	}
	E(blo_journal_audit_scan(f->j, 0, 0, mark_seen, &s));
	for (uint64_t a = 1; a <= 1100; a++)
		if (seen[a] != 1)
			fail_msg("audit record %llu seen %u times", (unsigned long long)a, seen[a]);
	free(buf);
	free(path);
}

static void test_move_cut_short_after_an_earlier_move_verifies_and_retries(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_opts_t opts = {.keep_records = 100};
	blo_audit_archive_info_t info;
	uint8_t hash[HASH] = {0}, anchor_hash[HASH];
	uint64_t moved = 12345;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 0, 700);
	E(blo_journal_open_readonly(&f->ro, f->dir, NULL));
	assert_int_equal(blo_audit_archive_move(f->ro, f->archive, &opts, &moved, NULL), -EACCES);
	assert_int_equal(moved, 0);
	blo_journal_close(&f->ro);
	assert_int_equal(entries_in(f->archive), 2);
	assert_file_holds(f->archive, 1, 700, hash, true);
	assert_file_holds(f->archive, 701, 200, hash, true);
	info = archive_intact(f);
	assert_int_equal(info.files, 2);
	assert_int_equal(info.records, 900);
	assert_int_equal(info.last_aseq, 900);
	assert_int_equal(info.journal_records, 300);
	assert_int_equal(info.anchor_aseq, 700);
	/* A smaller move rewrites the cut-short file with fewer lines. */
	assert_moves(f, 0, 200, 0, 100);
	assert_int_equal(entries_in(f->archive), 2);
	memset(hash, 0, HASH);
	assert_file_holds(f->archive, 1, 700, hash, true);
	assert_file_holds(f->archive, 701, 100, hash, true);
	assert_int_equal(anchor_of(f->j, anchor_hash), 800);
	assert_memory_equal(anchor_hash, hash, HASH);
	info = archive_intact(f);
	assert_int_equal(info.records, 800);
	assert_int_equal(info.journal_records, 200);
}

/* ---------------------------------------------------------------- trim */

static void test_trim_checks_hash_and_range_and_the_chain_goes_on(void **state)
{
	fixture_t *f = *state;
	uint8_t h40[HASH], h50[HASH], h49[HASH], wrong[HASH], anchor_hash[HASH], head_hash[HASH];
	uint8_t want[HASH];
	blo_err_t err = {0};
	uint64_t count = 0, head = 0;
	char text[256];

	commit_numbered(f->j, 1, 100);
	journal_hash_at(f->j, 40, h40);

	/* A wrong hash: nothing removed. */
	memcpy(wrong, h40, HASH);
	wrong[HASH - 1] ^= 1;
	assert_int_equal(blo_journal_audit_trim(f->j, 40, wrong, &err), BLO_ECORRUPT);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(anchor_of(f->j, NULL), 0);
	assert_int_equal(journal_first(f->j, &count), 1);
	assert_int_equal(count, 100);
	assert_journal_intact(f->j, 100);
	/* Past the head; 0 (at the anchor before any trim). */
	assert_int_equal(blo_journal_audit_trim(f->j, 101, h40, NULL), BLO_EINVAL);
	assert_int_equal(blo_journal_audit_trim(f->j, 0, h40, NULL), BLO_EINVAL);

	E(blo_journal_audit_trim(f->j, 40, h40, &err));
	assert_int_equal(anchor_of(f->j, anchor_hash), 40);
	assert_memory_equal(anchor_hash, h40, HASH);
	assert_int_equal(journal_first(f->j, &count), 41);
	assert_int_equal(count, 60);
	assert_journal_intact(f->j, 60);

	/* At or before the anchor, or past the head. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(blo_journal_audit_trim(f->j, 40, h40, &err), BLO_EINVAL);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(blo_journal_audit_trim(f->j, 39, h40, NULL), BLO_EINVAL);
	assert_int_equal(blo_journal_audit_trim(f->j, 1, h40, NULL), BLO_EINVAL);
	journal_hash_at(f->j, 50, h50);
	journal_hash_at(f->j, 49, h49);
	assert_int_equal(blo_journal_audit_trim(f->j, 101, h50, NULL), BLO_EINVAL);
	/* Another record's hash. */
	assert_int_equal(blo_journal_audit_trim(f->j, 50, h49, NULL), BLO_ECORRUPT);
	assert_int_equal(anchor_of(f->j, NULL), 40);
	assert_journal_intact(f->j, 60);

	/* New records chain on from the head; the anchor stays across reopen. */
	commit_numbered(f->j, 101, 10);
	assert_journal_intact(f->j, 70);
	E(blo_journal_audit_head(f->j, &head, head_hash));
	assert_int_equal(head, 110);
	journal_hash_at(f->j, 110, want);
	assert_memory_equal(want, head_hash, HASH);
	blo_journal_close(&f->j);
	f->j = open_at(f->dir);
	assert_int_equal(anchor_of(f->j, anchor_hash), 40);
	assert_memory_equal(anchor_hash, h40, HASH);
	assert_journal_intact(f->j, 70);
	numbered_text(text, sizeof(text), 101);
	{
		chain_t c = {.upto = 101};

		/* The chain from the anchor through 101 is the head's route. */
		memcpy(c.hash, h40, HASH);
		assert_int_equal(blo_journal_audit_scan(f->j, 41, 0, chain_step, &c), 1);
		memcpy(want, h40, HASH);
		for (uint64_t a = 41; a <= 100; a++) {
			char t[256];

			numbered_text(t, sizeof(t), a);
			blo_journal_audit_hash(want, want, t, strlen(t));
		}
		blo_journal_audit_hash(want, want, text, strlen(text));
		assert_memory_equal(c.hash, want, HASH);
	}

	/* Trim everything: the journal holds none, and goes on. */
	E(blo_journal_audit_trim(f->j, 110, head_hash, NULL));
	assert_int_equal(anchor_of(f->j, NULL), 110);
	assert_journal_intact(f->j, 0);
	assert_int_equal(journal_first(f->j, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(blo_journal_audit_trim(f->j, 110, head_hash, NULL), BLO_EINVAL);
	commit_numbered(f->j, 111, 3);
	assert_journal_intact(f->j, 3);
	journal_hash_at(f->j, 113, want);
	E(blo_journal_audit_head(f->j, &head, head_hash));
	assert_int_equal(head, 113);
	assert_memory_equal(want, head_hash, HASH);
	blo_journal_close(&f->j);
	f->j = open_at(f->dir);
	assert_journal_intact(f->j, 3);
}

/* ---------------------------------------------------------------- broken journal */

/* Replaces the stored value of audit record aseq with edit() applied to a
 * copy of it (the journal must be closed). */
static void raw_edit(const char *dir, uint64_t aseq, void (*edit)(uint8_t *val, size_t len))
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi audit;
	uint8_t kbuf[8];
	MDB_val key = {.mv_size = 8, .mv_data = kbuf}, val;
	uint8_t *copy;

	for (int i = 7; i >= 0; i--) {
		kbuf[i] = (uint8_t)aseq;
		aseq >>= 8;
	}
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "audit", 0, &audit), 0);
	assert_int_equal(mdb_get(txn, audit, &key, &val), 0);
	copy = malloc(val.mv_size);
	assert_non_null(copy);
	memcpy(copy, val.mv_data, val.mv_size);
	edit(copy, val.mv_size);
	val.mv_data = copy;
	assert_int_equal(mdb_put(txn, audit, &key, &val, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(copy);
}

static void flip_last_hash_byte(uint8_t *val, size_t len)
{
	val[len - 1] ^= 0x01;
}

/* "record 5" -> "record 6" in the detail (the text's last digit). */
static void change_detail_digit(uint8_t *val, size_t len)
{
	size_t text = len - HASH;

	assert_memory_equal(val + text - 3, "5\"}", 3);
	val[text - 3] = '6';
}

static void test_move_refuses_a_journal_whose_text_was_altered(void **state)
{
	fixture_t *f = *state;
	uint64_t moved = 12345, bad = 0;
	blo_err_t err = {0};
	blo_audit_archive_opts_t opts = {.keep_records = 5};

	commit_numbered(f->j, 1, 20);
	blo_journal_close(&f->j);
	raw_edit(f->dir, 5, change_detail_digit);
	f->j = open_at(f->dir);
	assert_int_equal(blo_journal_audit_verify(f->j, NULL, &bad, NULL), BLO_ECORRUPT);
	assert_int_equal(bad, 5);
	assert_int_equal(blo_audit_archive_move(f->j, f->archive, &opts, &moved, &err),
			 BLO_ECORRUPT);
	assert_int_equal(moved, 0);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(anchor_of(f->j, NULL), 0);
	assert_int_equal(blo_journal_audit_verify(f->j, NULL, &bad, NULL), BLO_ECORRUPT);
	assert_int_equal(bad, 5);
	assert_int_equal(archive_broken(f), 5);
	/* No consistent-looking copy of the altered records is left. */
	assert_int_equal(entries_in(f->archive), 0);
}

static void test_move_refuses_a_journal_whose_stored_hash_was_altered(void **state)
{
	fixture_t *f = *state;
	uint64_t moved = 12345, bad = 0;
	int rc;
	blo_err_t err = {0};
	blo_audit_archive_opts_t opts = {.keep_records = 5};

	commit_numbered(f->j, 1, 20);
	blo_journal_close(&f->j);
	raw_edit(f->dir, 5, flip_last_hash_byte);
	f->j = open_at(f->dir);
	assert_int_equal(blo_journal_audit_verify(f->j, NULL, &bad, NULL), BLO_ECORRUPT);
	assert_int_equal(bad, 5);
	/* A stored hash altered before the last record moved must not leave
	 * the journal unnoticed: the evidence would go with it. */
	rc = blo_audit_archive_move(f->j, f->archive, &opts, &moved, &err);
	if (rc != BLO_ECORRUPT || moved != 0 || anchor_of(f->j, NULL) != 0)
		fail_msg("move of a journal whose chain breaks at 5: rc %d (want %d), moved %llu, "
			 "anchor %llu; journal verify now %d, archive verify now %d",
			 rc, BLO_ECORRUPT, (unsigned long long)moved,
			 (unsigned long long)anchor_of(f->j, NULL),
			 blo_journal_audit_verify(f->j, NULL, NULL, NULL),
			 blo_audit_archive_verify(f->j, f->archive, NULL, NULL, NULL));
	assert_int_equal(blo_journal_audit_verify(f->j, NULL, &bad, NULL), BLO_ECORRUPT);
	assert_int_equal(bad, 5);
	assert_int_equal(entries_in(f->archive), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_audit_hash_is_blake2b_256_of_prev_and_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_by_count_writes_one_file_and_keeps_the_newest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_by_age_stops_at_the_first_record_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_takes_at_most_max_records_per_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_splits_files_at_file_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_move_creates_no_folder_and_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_joins_files_and_allows_the_oldest_taken_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_finds_a_tampered_line_hash_or_cut_short_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_cut_short_before_the_trim_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_cut_short_after_an_earlier_move_verifies_and_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_checks_hash_and_range_and_the_chain_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_refuses_a_journal_whose_text_was_altered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_refuses_a_journal_whose_stored_hash_was_altered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
