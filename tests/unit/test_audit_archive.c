/*
 * Unit tests of audit retention: blo_audit_archive_move (by count, by age,
 * per call, split into files by records and by bytes, never over a file
 * of another history), blo_audit_archive_verify (whole, oldest files taken
 * away, newest missing, tampered lines and prev hashes, forged files after
 * the anchor, a move cut short) and the journal's side of it
 * (blo_journal_audit_anchor, _trim, _hash).
 */
#include "audit_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH BLO_AUDIT_HASH_BYTES
#define HEX (2 * HASH)
/* An archive file's first line: "prev", a tab, the hash in hex, a newline. */
#define PREV_LINE (5 + HEX + 1)

/* A journal folder and its archive folder (not created) inside it. */
typedef struct {
	char *dir;
	char *archive;
	blo_journal_t *j;
	blo_journal_t *ro; /* a second, read-only handle, when a test opens one */
} fixture_t;

/* Each test gets a fresh journal; teardown runs after a failure too. */
static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = blo_test_mkdtemp();
	if (asprintf(&f->archive, "%s/archive", f->dir) < 0)
		fail_msg("asprintf failed");
	f->j = blo_test_journal_open(f->dir, 0);
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

/* Commits `count` audit-only records numbered first.., in batches of 50;
 * record n has time_ms n and detail "WORD n". */
static void commit_worded(blo_journal_t *j, const char *word, uint64_t first, size_t count)
{
	blo_audit_record_t audit[50];
	char details[50][32];

	while (count > 0) {
		size_t n = count < 50 ? count : 50;

		for (size_t i = 0; i < n; i++) {
			snprintf(details[i], sizeof(details[i]), "%s %llu", word,
				 (unsigned long long)(first + i));
			audit[i] = rec(BLO_AUDIT_DELIVER, (int64_t)(first + i), "la-console-1",
				       details[i]);
		}
		commit_audit(j, audit, n);
		first += n;
		count -= n;
	}
}

/* Detail "record n". */
static void commit_numbered(blo_journal_t *j, uint64_t first, size_t count)
{
	commit_worded(j, "record", first, count);
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

/* blo_audit_archive_verify must fail with BLO_ECORRUPT and say why in
 * *err; returns bad_aseq. */
static uint64_t archive_broken_err(fixture_t *f, blo_err_t *err)
{
	blo_audit_archive_info_t info;
	uint64_t bad = 99999;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = blo_audit_archive_verify(f->j, f->archive, &info, &bad, err);
	if (rc != BLO_ECORRUPT)
		fail_msg("archive verify: %d (want BLO_ECORRUPT %d): %s", rc, BLO_ECORRUPT,
			 err->msg);
	if (err->msg[0] == '\0')
		fail_msg("archive verify: BLO_ECORRUPT (bad_aseq %llu) without a message",
			 (unsigned long long)bad);
	return bad;
}

static uint64_t archive_broken(fixture_t *f)
{
	blo_err_t err;

	return archive_broken_err(f, &err);
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

/* p[0..HEX) must be lowercase hex digits. */
static void assert_lower_hex(const char *p)
{
	for (size_t i = 0; i < HEX; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			fail_msg("'%c' in \"%.*s\" is not a lowercase hex digit", p[i], HEX, p);
}

/* Checks the archive file whose first record is first: its first line
 * `prev TAB 64 lowercase hex NL` giving *hash (in: the hash before first),
 * then exactly n lines, line k being `record text TAB 64 lowercase hex NL`
 * with text starting {"aseq":first+k, and the hash the chain's step from
 * the previous (out: the hash of the last line). numbered: the texts are
 * commit_numbered's. */
static void assert_file_holds(const char *archive, uint64_t first, size_t n, uint8_t hash[HASH],
			      bool numbered)
{
	char *path = file_path(archive, first);
	size_t len, off = PREV_LINE;
	char *buf = slurp(path, &len);
	uint8_t prev[HASH];

	if (len < PREV_LINE || memcmp(buf, "prev\t", 5) != 0 || buf[PREV_LINE - 1] != '\n')
		fail_msg("%s: the first line is not \"prev\", a tab, 64 hex digits: \"%.*s\"", path,
			 (int)(len < PREV_LINE ? len : PREV_LINE), buf);
	assert_lower_hex(buf + 5);
	assert_int_equal(sodium_hex2bin(prev, HASH, buf + 5, HEX, NULL, NULL, NULL), 0);
	if (memcmp(prev, hash, HASH) != 0)
		fail_msg("%s: prev \"%.*s\" is not the hash before record %llu", path, HEX, buf + 5,
			 (unsigned long long)first);
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
		assert_lower_hex(tab + 1);
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

/* Changes the byte at off of path to c: verify fails at record bad; put
 * back, it passes again. */
static void assert_byte_breaks_at(fixture_t *f, const char *path, size_t off, char c,
				  uint64_t bad)
{
	char old = byte_at(path, off);

	poke(path, off, c);
	assert_int_equal(archive_broken(f), bad);
	poke(path, off, old);
	(void)archive_intact(f);
}

/* Replaces the content of path with len bytes of data. */
static void rewrite(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Copies file src to dst (created or truncated). */
static void copy_file(const char *src, const char *dst)
{
	size_t len;
	char *buf = slurp(src, &len);

	rewrite(dst, buf, len);
	free(buf);
}

/* path's bytes must be exactly want's (len bytes). */
static void assert_file_is(const char *path, const char *want, size_t len)
{
	size_t got_len;
	char *got = slurp(path, &got_len);

	if (got_len != len || memcmp(got, want, len) != 0)
		fail_msg("%s was changed (%zu bytes, was %zu)", path, got_len, len);
	free(got);
}

/* Writes the archive file audit-<first> as a forger with the format in
 * hand would: records first.. (count of them) with commit_numbered's
 * texts, but detail "forged N" from aseq forged_from on (0: none), each
 * hash chained from *hash (in: the file's prev; out: its last hash). Any
 * file of that name is replaced. */
static void write_chained(const char *archive, uint64_t first, uint64_t count, uint8_t hash[HASH],
			  uint64_t forged_from)
{
	char *path = file_path(archive, first);
	FILE *fp = fopen(path, "wb");
	char hex[HEX + 1], text[256];

	if (fp == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	sodium_bin2hex(hex, sizeof(hex), hash, HASH);
	fprintf(fp, "prev\t%s\n", hex);
	for (uint64_t a = first; a < first + count; a++) {
		numbered_text(text, sizeof(text), a);
		if (forged_from != 0 && a >= forged_from)
			snprintf(text, sizeof(text),
				 "{\"aseq\":%llu,\"time_ms\":%llu,\"event\":\"deliver\","
				 "\"principal\":\"la-console-1\",\"detail\":\"forged %llu\"}",
				 (unsigned long long)a, (unsigned long long)a,
				 (unsigned long long)a);
		blo_journal_audit_hash(hash, hash, text, strlen(text));
		sodium_bin2hex(hex, sizeof(hex), hash, HASH);
		fprintf(fp, "%s\t%s\n", text, hex);
	}
	assert_int_equal(fclose(fp), 0);
	free(path);
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

static void test_move_splits_files_at_64_mib(void **state)
{
	/* 4000-byte details: lines of about 4160 bytes, so that 65536 of them
	 * would make about 270 MB; about 16100 fit in 64 MiB. */
	enum { TOTAL = 20000, KEEP = 10, BATCH = 250, DETAIL = 4000 };
	const size_t cap = (size_t)64 << 20;
	blo_audit_record_t *audit = calloc(BATCH, sizeof(*audit));
	char *details = malloc((size_t)BATCH * (DETAIL + 1));
	uint8_t hash[HASH] = {0}, anchor_hash[HASH];
	blo_audit_archive_info_t info;
	fixture_t *f = *state;
	size_t max_line = 0, min_line = SIZE_MAX;
	uint64_t first = 1, files = 0;

	assert_non_null(audit);
	assert_non_null(details);
	for (uint64_t done = 0; done < TOTAL; done += BATCH) {
		for (size_t i = 0; i < BATCH; i++) {
			char *d = details + i * (DETAIL + 1);
			int n = snprintf(d, DETAIL + 1, "record %llu ",
					 (unsigned long long)(done + i + 1));

			memset(d + n, 'x', DETAIL - (size_t)n);
			d[DETAIL] = '\0';
			audit[i] = rec(BLO_AUDIT_DELIVER, (int64_t)(done + i + 1), "p", d);
		}
		commit_audit(f->j, audit, BATCH);
	}
	assert_moves(f, 0, KEEP, 0, TOTAL - KEEP);

	/* Each file holds whole records, contiguous, chained on from the one
	 * before; none beyond 64 MiB and a record; each but the last full. */
	while (first <= TOTAL - KEEP) {
		char *path = file_path(f->archive, first);
		size_t len, lines = 0, off = 0;
		char *buf = slurp(path, &len);

		while (off < len) {
			char *nl = memchr(buf + off, '\n', len - off);
			size_t line;

			assert_non_null(nl);
			line = (size_t)(nl - buf) + 1 - off;
			if (lines++ > 0) {
				max_line = line > max_line ? line : max_line;
				min_line = line < min_line ? line : min_line;
			}
			off += line;
		}
		free(buf);
		assert_true(lines >= 2);
		assert_file_holds(f->archive, first, lines - 1, hash, false);
		assert_true(lines - 1 < BLO_AUDIT_ARCHIVE_FILE_RECORDS);
		if (len > cap + max_line)
			fail_msg("%s: %zu bytes, more than 64 MiB and a record", path, len);
		if (first + (lines - 1) <= TOTAL - KEEP && len - PREV_LINE + max_line <= cap)
			fail_msg("%s: %zu bytes, room for another record", path, len);
		first += lines - 1;
		files++;
		free(path);
	}
	assert_int_equal(first, TOTAL - KEEP + 1);
	assert_true(min_line * (size_t)BLO_AUDIT_ARCHIVE_FILE_RECORDS > cap);
	assert_true(files >= 2);
	assert_int_equal(entries_in(f->archive), (int)files);
	assert_int_equal(anchor_of(f->j, anchor_hash), TOTAL - KEEP);
	assert_memory_equal(anchor_hash, hash, HASH);
	assert_journal_intact(f->j, KEEP);
	info = archive_intact(f);
	assert_int_equal(info.files, files);
	assert_int_equal(info.records, TOTAL - KEEP);
	assert_int_equal(info.last_aseq, TOTAL - KEEP);
	assert_int_equal(info.journal_records, KEEP);
	free(details);
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
	assert_int_equal(archive_broken(f), 901);
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

	/* One byte of the JSON text of record 350 (line 0 is the prev line):
	 * "record 350" -> "record 351". */
	off = line_start(buf, len, 350);
	assert_memory_equal(buf + off, "{\"aseq\":350,", 12);
	tab = (size_t)((char *)memchr(buf + off, '\t', len - off) - buf);
	assert_memory_equal(buf + tab - 5, "350\"}", 5);
	assert_byte_breaks_at(f, path, tab - 3, '1', 350);

	/* One byte of the aseq of record 350: no longer that record. */
	assert_byte_breaks_at(f, path, off + 10, '1', 350);

	/* One hex digit of record 350's hash. */
	c = byte_at(path, tab + 20);
	assert_byte_breaks_at(f, path, tab + 20, c == '0' ? '1' : '0', 350);
	/* Not hex at all. */
	assert_byte_breaks_at(f, path, tab + 20, 'G', 350);

	/* The tab replaced. */
	assert_byte_breaks_at(f, path, tab, ' ', 350);

	/* The last line without its newline. */
	assert_int_equal(buf[len - 1], '\n');
	assert_int_equal(truncate(path, (off_t)len - 1), 0);
	assert_int_equal(archive_broken(f), 700);
	/* ... and the last line cut in its hash. */
	assert_int_equal(truncate(path, (off_t)len - 11), 0);
	assert_int_equal(archive_broken(f), 700);
	/* ... and without the last line at all: the anchor's record is gone. */
	assert_int_equal(truncate(path, (off_t)line_start(buf, len, 700)), 0);
	assert_int_equal(archive_broken(f), 700);
	/* ... and with the prev line alone: no record at all. */
	assert_int_equal(truncate(path, PREV_LINE), 0);
	assert_int_equal(archive_broken(f), 1);
	rewrite(path, buf, len);
	(void)archive_intact(f);

	/* The prev line: one hex digit (the first file's must be zeros, and
	 * record 1's hash no longer follows from it either). */
	assert_memory_equal(buf, "prev\t", 5);
	assert_byte_breaks_at(f, path, 5 + 17, '1', 1);
	/* Its label. */
	assert_byte_breaks_at(f, path, 2, 'x', 1);
	/* Cut in its hash. */
	assert_byte_breaks_at(f, path, PREV_LINE - 2, '\n', 1);
	/* A file without the prev line (the format before it). */
	rewrite(path, buf + PREV_LINE, len - PREV_LINE);
	assert_int_equal(archive_broken(f), 1);
	rewrite(path, buf, len);
	(void)archive_intact(f);

	free(buf);
	free(path);
}

static void test_verify_checks_every_record_of_the_oldest_file_present(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_info_t info;
	uint8_t hash[HASH] = {0}, prev[HASH];
	char *oldest, *aside, *path, *buf;
	size_t len, off, tab;
	char c;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 0, 700);
	assert_moves(f, 0, 100, 0, 200);
	assert_file_holds(f->archive, 1, 700, hash, true);
	memcpy(prev, hash, HASH);
	oldest = file_path(f->archive, 1);
	assert_true(asprintf(&aside, "%s/oldest.jsonl", f->dir) > 0);
	assert_int_equal(rename(oldest, aside), 0);
	info = archive_intact(f);
	assert_int_equal(info.first_aseq, 701);
	assert_false(info.from_start);
	assert_int_equal(info.records, 200);

	path = file_path(f->archive, 701);
	buf = slurp(path, &len);
	off = line_start(buf, len, 1);
	assert_memory_equal(buf + off, "{\"aseq\":701,", 12);
	tab = (size_t)((char *)memchr(buf + off, '\t', len - off) - buf);

	/* The text of its first record: "record 701" -> "record 702". */
	assert_memory_equal(buf + tab - 5, "701\"}", 5);
	assert_byte_breaks_at(f, path, tab - 3, '2', 701);
	/* Its hash. */
	c = byte_at(path, tab + 1);
	assert_byte_breaks_at(f, path, tab + 1, c == '0' ? '1' : '0', 701);
	/* The prev line, taken as given: record 701 no longer follows from it. */
	c = byte_at(path, 5);
	assert_byte_breaks_at(f, path, 5, c == '0' ? '1' : '0', 701);
	/* The whole file rewritten, its records altered and every hash chained
	 * on from the right prev: its end is no longer the anchor's hash. */
	memcpy(hash, prev, HASH);
	write_chained(f->archive, 701, 200, hash, 701);
	assert_int_equal(archive_broken(f), 900);
	rewrite(path, buf, len);
	(void)archive_intact(f);
	/* The oldest file back: the chain from the start holds. */
	assert_int_equal(rename(aside, oldest), 0);
	info = archive_intact(f);
	assert_true(info.from_start);
	assert_int_equal(info.records, 900);

	free(buf);
	free(path);
	free(aside);
	free(oldest);
}

static void test_verify_checks_each_files_prev_against_the_previous_file(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_info_t info;
	uint8_t hash[HASH] = {0}, other[HASH];
	blo_err_t err;
	char *path, *buf, *first_path, *first_buf;
	size_t len, first_len;
	char c;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 700, 0, 300);
	assert_moves(f, 0, 400, 0, 300);
	assert_moves(f, 0, 100, 0, 300);
	assert_file_holds(f->archive, 1, 300, hash, true);
	memcpy(other, hash, HASH);
	other[0] ^= 0x80;
	assert_file_holds(f->archive, 301, 300, hash, true);
	assert_file_holds(f->archive, 601, 300, hash, true);
	info = archive_intact(f);
	assert_int_equal(info.files, 3);
	assert_int_equal(info.records, 900);
	path = file_path(f->archive, 301);
	buf = slurp(path, &len);

	/* One hex digit of the middle file's prev. */
	c = byte_at(path, 5 + 40);
	assert_byte_breaks_at(f, path, 5 + 40, c == '0' ? '1' : '0', 301);
	/* The middle file rewritten from another prev, its own records and
	 * hashes consistent with it: the prev is not the first file's last. */
	memcpy(hash, other, HASH);
	write_chained(f->archive, 301, 300, hash, 0);
	assert_int_equal(archive_broken_err(f, &err), 301);
	if (strstr(err.msg, "prev") == NULL)
		fail_msg("the message does not name the prev hash: %s", err.msg);
	rewrite(path, buf, len);
	(void)archive_intact(f);
	/* The same with the oldest files taken away: the middle file is then
	 * the oldest present, its prev taken as given; the newest file's prev
	 * is not its last. */
	first_path = file_path(f->archive, 1);
	first_buf = slurp(first_path, &first_len);
	assert_int_equal(unlink(first_path), 0);
	(void)archive_intact(f);
	memcpy(hash, other, HASH);
	write_chained(f->archive, 301, 300, hash, 0);
	assert_int_equal(archive_broken(f), 601);
	rewrite(path, buf, len);
	(void)archive_intact(f);
	rewrite(first_path, first_buf, first_len);
	/* The first file rewritten from a prev other than zeros. */
	memcpy(hash, other, HASH);
	write_chained(f->archive, 1, 300, hash, 0);
	assert_int_equal(archive_broken(f), 1);
	rewrite(first_path, first_buf, first_len);
	info = archive_intact(f);
	assert_int_equal(info.files, 3);
	assert_true(info.from_start);

	free(first_buf);
	free(first_path);
	free(buf);
	free(path);
}

static void test_verify_refuses_a_forged_file_after_the_anchor(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_opts_t opts = {.keep_records = 100};
	blo_audit_archive_info_t info;
	uint8_t anchor_hash[HASH], hash[HASH];
	blo_err_t err = {0};
	uint64_t moved = 12345, count = 0;
	char *path, *buf;
	size_t len;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 0, 700);
	assert_int_equal(anchor_of(f->j, anchor_hash), 700);
	path = file_path(f->archive, 701);

	/* What a move cut short leaves, the journal's own records chained from
	 * the anchor's hash: intact. */
	memcpy(hash, anchor_hash, HASH);
	write_chained(f->archive, 701, 200, hash, 0);
	info = archive_intact(f);
	assert_int_equal(info.files, 2);
	assert_int_equal(info.records, 900);
	assert_int_equal(info.last_aseq, 900);
	assert_int_equal(info.anchor_aseq, 700);
	assert_int_equal(info.journal_records, 300);
	/* Records differing from the journal's from 751, chained from the
	 * anchor's hash. */
	memcpy(hash, anchor_hash, HASH);
	write_chained(f->archive, 701, 200, hash, 751);
	assert_int_equal(archive_broken(f), 751);
	/* ... from the first one after the anchor. */
	memcpy(hash, anchor_hash, HASH);
	write_chained(f->archive, 701, 200, hash, 701);
	assert_int_equal(archive_broken(f), 701);
	/* The journal's own, then records beyond its head (1000). */
	memcpy(hash, anchor_hash, HASH);
	write_chained(f->archive, 701, 305, hash, 0);
	assert_int_equal(archive_broken(f), 1001);

	/* A move does not replace that file, and the journal keeps it all. */
	buf = slurp(path, &len);
	assert_int_equal(blo_audit_archive_move(f->j, f->archive, &opts, &moved, &err), -EEXIST);
	assert_int_equal(moved, 0);
	if (strstr(err.msg, "audit-00000000000000000701.jsonl") == NULL ||
	    strstr(err.msg, "other records than the journal") == NULL)
		fail_msg("the message names neither the file nor its other history: %s", err.msg);
	assert_file_is(path, buf, len);
	assert_int_equal(entries_in(f->archive), 2);
	assert_int_equal(anchor_of(f->j, NULL), 700);
	assert_journal_intact(f->j, 300);
	assert_int_equal(journal_first(f->j, &count), 701);
	assert_int_equal(count, 300);
	assert_int_equal(archive_broken(f), 1001);

	/* Taken away, the next move goes on. */
	assert_int_equal(unlink(path), 0);
	assert_moves(f, 0, 100, 0, 200);
	memcpy(hash, anchor_hash, HASH);
	assert_file_holds(f->archive, 701, 200, hash, true);
	info = archive_intact(f);
	assert_int_equal(info.records, 900);
	assert_int_equal(info.anchor_aseq, 900);
	free(buf);
	free(path);
}

static void test_verify_refuses_a_forged_first_file_while_nothing_moved(void **state)
{
	fixture_t *f = *state;
	blo_audit_archive_opts_t opts = {.keep_records = 10};
	blo_audit_archive_info_t info;
	uint8_t hash[HASH], zero[HASH] = {0};
	blo_err_t err = {0};
	uint64_t moved = 12345;
	char *path, *buf;
	size_t len;

	commit_numbered(f->j, 1, 50);
	assert_int_equal(mkdir(f->archive, 0750), 0);
	path = file_path(f->archive, 1);

	/* A first move cut short: the journal's own records, from zeros. */
	memset(hash, 0, HASH);
	write_chained(f->archive, 1, 50, hash, 0);
	info = archive_intact(f);
	assert_int_equal(info.files, 1);
	assert_int_equal(info.records, 50);
	assert_true(info.from_start);
	assert_int_equal(info.anchor_aseq, 0);
	assert_int_equal(info.journal_records, 50);
	/* Differing from record 20 on. */
	memset(hash, 0, HASH);
	write_chained(f->archive, 1, 50, hash, 20);
	assert_int_equal(archive_broken(f), 20);
	/* Every record differing. */
	memset(hash, 0, HASH);
	write_chained(f->archive, 1, 50, hash, 1);
	assert_int_equal(archive_broken(f), 1);
	/* Beyond the journal's head. */
	memset(hash, 0, HASH);
	write_chained(f->archive, 1, 51, hash, 0);
	assert_int_equal(archive_broken(f), 51);
	/* The journal's own, from a prev other than zeros. */
	memset(hash, 0x11, HASH);
	write_chained(f->archive, 1, 50, hash, 0);
	assert_int_equal(archive_broken(f), 1);

	/* A move does not replace a forged file. */
	memset(hash, 0, HASH);
	write_chained(f->archive, 1, 50, hash, 20);
	buf = slurp(path, &len);
	assert_int_equal(blo_audit_archive_move(f->j, f->archive, &opts, &moved, &err), -EEXIST);
	assert_int_equal(moved, 0);
	assert_true(strstr(err.msg, "other records than the journal") != NULL);
	assert_file_is(path, buf, len);
	assert_int_equal(entries_in(f->archive), 1);
	assert_int_equal(anchor_of(f->j, hash), 0);
	assert_memory_equal(hash, zero, HASH);
	assert_journal_intact(f->j, 50);
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
	off = line_start(buf, len, 1); /* after the prev line */
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

/* Commits audit-only records first.. (count), as commit_numbered does but
 * with detail "restored N": another history than commit_numbered's. */
static void commit_restored(blo_journal_t *j, uint64_t first, size_t count)
{
	commit_worded(j, "restored", first, count);
}

/* The journal at anchor 700 (head 1000) copied aside; the live one then
 * moves on to newer archive files (701..1050 and, with two, 1051..1150;
 * cold: 1..700 and 701..1050 then taken to cold storage, as the newer
 * journal's anchor 1150 allows); the old copy, reopened beside that
 * archive with records of its own past 1000, must not move a record: the
 * archive is another history. */
static void assert_archive_of_another_history(fixture_t *f, bool cold)
{
	/* The archive holds records beyond the journal's head (1001); with
	 * only 1051.. left, no file meets the anchor. */
	assert_int_equal(archive_broken(f), cold ? 1051 : 1001);
}

static void move_beside_a_newer_archive(fixture_t *f, int newer_files, bool cold)
{
	blo_audit_archive_opts_t opts = {.keep_records = 100};
	blo_audit_archive_info_t info;
	uint8_t anchor_hash[HASH], hash[HASH];
	blo_err_t err = {0};
	uint64_t moved = 12345, count = 0;
	char *old_dir, *src, *dst, *paths[3], *bufs[3];
	size_t lens[3];
	const uint64_t firsts[3] = {1, 701, 1051};
	const int files = 1 + newer_files;

	commit_numbered(f->j, 1, 1000);
	assert_moves(f, 0, 300, 0, 700);
	assert_int_equal(anchor_of(f->j, anchor_hash), 700);
	blo_journal_close(&f->j);
	assert_true(asprintf(&old_dir, "%s/old", f->dir) > 0);
	assert_true(asprintf(&src, "%s/data.mdb", f->dir) > 0);
	assert_true(asprintf(&dst, "%s/data.mdb", old_dir) > 0);
	assert_int_equal(mkdir(old_dir, 0700), 0);
	copy_file(src, dst);
	f->j = blo_test_journal_open(f->dir, 0);
	commit_numbered(f->j, 1001, 200);
	assert_moves(f, 0, 150, 0, 350);
	if (newer_files == 2)
		assert_moves(f, 0, 50, 0, 100);
	info = archive_intact(f);
	assert_int_equal(info.files, files);
	assert_int_equal(info.last_aseq, newer_files == 2 ? 1150 : 1050);
	for (int i = 0; i < files; i++) {
		paths[i] = file_path(f->archive, firsts[i]);
		bufs[i] = slurp(paths[i], &lens[i]);
	}
	if (cold) {
		assert_int_equal(unlink(paths[0]), 0);
		assert_int_equal(unlink(paths[1]), 0);
		info = archive_intact(f);
		assert_int_equal(info.first_aseq, 1051);
	}

	/* The old copy beside the newer archive. */
	blo_journal_close(&f->j);
	f->j = blo_test_journal_open(old_dir, 0);
	assert_int_equal(anchor_of(f->j, hash), 700);
	assert_memory_equal(hash, anchor_hash, HASH);
	assert_journal_intact(f->j, 300);
	assert_archive_of_another_history(f, cold);
	/* Refused even while the journal's 701..1000 are the archive's. */
	assert_int_equal(blo_audit_archive_move(f->j, f->archive, &opts, &moved, &err), -EEXIST);
	assert_int_equal(moved, 0);
	/* New records past the old head, other than the archive's. */
	commit_restored(f->j, 1001, 100);
	assert_journal_intact(f->j, 400);
	memset(&err, 0, sizeof(err));
	moved = 12345;
	assert_int_equal(blo_audit_archive_move(f->j, f->archive, &opts, &moved, &err), -EEXIST);
	assert_int_equal(moved, 0);
	if (strstr(err.msg, "another history") == NULL ||
	    strstr(err.msg, "restored from an older copy") == NULL)
		fail_msg("the message does not say the archive is of another history: %s", err.msg);
	/* Not one archive file changed or added, no temporary left. */
	for (int i = cold ? 2 : 0; i < files; i++)
		assert_file_is(paths[i], bufs[i], lens[i]);
	assert_int_equal(entries_in(f->archive), cold ? 1 : files);
	/* The journal keeps its records. */
	assert_int_equal(anchor_of(f->j, hash), 700);
	assert_memory_equal(hash, anchor_hash, HASH);
	assert_journal_intact(f->j, 400);
	assert_int_equal(journal_first(f->j, &count), 701);
	assert_int_equal(count, 400);
	assert_archive_of_another_history(f, cold);

	for (int i = 0; i < files; i++) {
		free(paths[i]);
		free(bufs[i]);
	}
	free(dst);
	free(src);
	free(old_dir);
}

/* The newer archive's only newer file is the one the move would write. */
static void test_move_keeps_the_next_file_of_a_newer_archive_after_a_restore(void **state)
{
	move_beside_a_newer_archive(*state, 1, false);
}

static void test_move_keeps_newer_files_of_a_newer_archive_after_a_restore(void **state)
{
	move_beside_a_newer_archive(*state, 2, false);
}

/* The file the move would write is gone; a newer one of the other history
 * is there, and the move must not add to that archive. */
static void test_move_adds_nothing_to_a_newer_archive_after_a_restore(void **state)
{
	move_beside_a_newer_archive(*state, 2, true);
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
	f->j = blo_test_journal_open(f->dir, 0);
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
	f->j = blo_test_journal_open(f->dir, 0);
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
	f->j = blo_test_journal_open(f->dir, 0);
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
	f->j = blo_test_journal_open(f->dir, 0);
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
		cmocka_unit_test_setup_teardown(test_move_splits_files_at_64_mib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_move_creates_no_folder_and_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_joins_files_and_allows_the_oldest_taken_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_finds_a_tampered_line_hash_or_cut_short_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_checks_every_record_of_the_oldest_file_present, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_checks_each_files_prev_against_the_previous_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_refuses_a_forged_file_after_the_anchor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_refuses_a_forged_first_file_while_nothing_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_cut_short_before_the_trim_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_cut_short_after_an_earlier_move_verifies_and_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_keeps_the_next_file_of_a_newer_archive_after_a_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_keeps_newer_files_of_a_newer_archive_after_a_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_adds_nothing_to_a_newer_archive_after_a_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_checks_hash_and_range_and_the_chain_goes_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_refuses_a_journal_whose_text_was_altered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_refuses_a_journal_whose_stored_hash_was_altered, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
