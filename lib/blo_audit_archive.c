/*
 * blo_audit_archive: moving the oldest audit records from the journal to
 * archive files, and checking the archive and the journal as one chain.
 */
#include "blo_audit_archive.h"

#include "blo_err.h"
#include "blo_journal.h"
#include "blo_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define HASH_HEX (2 * BLO_AUDIT_HASH_BYTES)
#define NAME_PREFIX "audit-"
#define NAME_SUFFIX ".jsonl"
#define NAME_DIGITS 20
#define NAME_LEN (sizeof(NAME_PREFIX) - 1 + NAME_DIGITS + sizeof(NAME_SUFFIX) - 1)
/* A file's bytes, at most (a record's text may reach tens of KiB): what a
 * move holds in memory. */
#define FILE_BYTES_MAX ((size_t)64 << 20)
/* A file's first line: "prev", a tab, the hash before its first record. */
#define PREV_LABEL "prev\t"
#define PREV_LINE_LEN (sizeof(PREV_LABEL) - 1 + HASH_HEX + 1)

/* The number after "key": at the start of text (e.g. {"aseq":12,...) or
 * anywhere in it; false if absent or malformed. */
static bool number_after(const char *text, size_t len, const char *key, bool at_start,
			 int64_t *out)
{
	size_t klen = strlen(key);
	const char *p = NULL;
	int64_t v = 0;
	bool neg = false;
	size_t i;

	if (at_start) {
		if (len >= klen && memcmp(text, key, klen) == 0)
			p = text;
	} else {
		for (i = 0; i + klen <= len && p == NULL; i++)
			if (memcmp(text + i, key, klen) == 0)
				p = text + i;
	}
	if (p == NULL)
		return false;
	i = (size_t)(p - text) + klen;
	if (i < len && text[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= len || text[i] < '0' || text[i] > '9')
		return false;
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (text[i] - '0');
	}
	*out = neg ? -v : v;
	return i < len && (text[i] == ',' || text[i] == '}');
}

static void to_hex(char *out, const uint8_t *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
}

static bool from_hex(uint8_t *out, const char *s, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 == 0 ? v << 4 : out[i / 2] | v);
	}
	return true;
}

/* --------------------------------------------------------------- copying */

typedef struct {
	const blo_audit_archive_opts_t *opts;
	uint64_t next;       /* the aseq expected next */
	uint64_t move_upto;  /* records up to this go whatever their age */
	uint8_t hash[BLO_AUDIT_HASH_BYTES];
	char *buf;           /* the file's lines */
	size_t len, cap;
	uint64_t taken;
	bool corrupt;
	bool file_full;      /* stopped at FILE_BYTES_MAX: more may follow */
} collect_t;

static int collect(uint64_t aseq, const char *text, size_t len, void *arg)
{
	collect_t *c = arg;
	int64_t t;

	if (aseq != c->next) {
		c->corrupt = true;
		return 1;
	}
	if (aseq > c->move_upto &&
	    !(c->opts->older_than_ms != 0 && number_after(text, len, ",\"time_ms\":", false, &t) &&
	      t < c->opts->older_than_ms))
		return 1; /* the first record kept */
	if (c->taken > 0 && c->len + len + HASH_HEX + 2 > FILE_BYTES_MAX) {
		c->file_full = true;
		return 1;
	}
	if (c->len + len + 1 + HASH_HEX + 1 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1 << 20;
		char *b;

		while (cap < c->len + len + HASH_HEX + 2)
			cap *= 2;
		if ((b = realloc(c->buf, cap)) == NULL)
			return BLO_ENOMEM;
		c->buf = b;
		c->cap = cap;
	}
	blo_journal_audit_hash(c->hash, c->hash, text, len);
	memcpy(c->buf + c->len, text, len);
	c->len += len;
	c->buf[c->len++] = '\t';
	to_hex(c->buf + c->len, c->hash, BLO_AUDIT_HASH_BYTES);
	c->len += HASH_HEX;
	c->buf[c->len++] = '\n';
	c->next++;
	c->taken++;
	return 0;
}

/* ------------------------------------------------- reading archive files */

/* What a file holds, read by read_file: fn is called for each record in
 * order with its aseq and chain hash, after the file's own checks (its
 * first line is "prev" and the hash before its first record; each record's
 * aseq follows the previous one, from the name's; each hash is that of
 * the text and the previous hash). */
typedef int (*record_fn)(uint64_t aseq, const uint8_t *hash, void *arg);

static int broken(uint64_t *bad_aseq, uint64_t aseq, blo_err_t *err, const char *path,
		  const char *why)
{
	if (bad_aseq != NULL)
		*bad_aseq = aseq;
	return blo_err_set(err, BLO_ECORRUPT, "audit archive %s: record %" PRIu64 ": %s", path,
			   aseq, why);
}

/* Reads path, whose first record is first; prev receives the hash its
 * first line gives, *last the last aseq and last_hash its chain hash. */
static int read_file(const char *path, uint64_t first, uint8_t *prev, uint64_t *last,
		     uint8_t *last_hash, record_fn fn, void *arg, uint64_t *bad_aseq,
		     blo_err_t *err)
{
	uint8_t chain[BLO_AUDIT_HASH_BYTES], stored[BLO_AUDIT_HASH_BYTES];
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	uint64_t next = first;
	ssize_t len;
	int rc = 0;

	*last = first - 1;
	if (f == NULL)
		return blo_err_set(err, -errno, "audit archive %s: %s", path, strerror(errno));
	len = getline(&line, &cap, f);
	if (len != (ssize_t)PREV_LINE_LEN || memcmp(line, PREV_LABEL, sizeof(PREV_LABEL) - 1) != 0 ||
	    line[len - 1] != '\n' || !from_hex(prev, line + sizeof(PREV_LABEL) - 1, BLO_AUDIT_HASH_BYTES)) {
		rc = broken(bad_aseq, first, err, path, "the file does not start with its prev line");
		goto out;
	}
	memcpy(chain, prev, BLO_AUDIT_HASH_BYTES);
	while ((len = getline(&line, &cap, f)) > 0) {
		size_t tlen;
		int64_t aseq;

		if (line[len - 1] != '\n' || (size_t)len < HASH_HEX + 3 ||
		    line[len - 2 - HASH_HEX] != '\t') {
			rc = broken(bad_aseq, next, err, path, "malformed line (cut short?)");
			goto out;
		}
		tlen = (size_t)len - 2 - HASH_HEX;
		if (!number_after(line, tlen, "{\"aseq\":", true, &aseq) || (uint64_t)aseq != next) {
			rc = broken(bad_aseq, next, err, path,
				    "text is not this record's (altered or moved)");
			goto out;
		}
		if (!from_hex(stored, line + tlen + 1, BLO_AUDIT_HASH_BYTES)) {
			rc = broken(bad_aseq, next, err, path, "malformed hash");
			goto out;
		}
		blo_journal_audit_hash(chain, chain, line, tlen);
		if (memcmp(chain, stored, BLO_AUDIT_HASH_BYTES) != 0) {
			rc = broken(bad_aseq, next, err, path,
				    "hash does not match its text and the previous hash (altered)");
			goto out;
		}
		if (fn != NULL && (rc = fn(next, chain, arg)) != 0)
			goto out;
		*last = next++;
	}
	if (ferror(f))
		rc = blo_err_set(err, -EIO, "audit archive %s: read error", path);
	else if (next == first)
		rc = broken(bad_aseq, first, err, path, "the file holds no record");
	memcpy(last_hash, chain, BLO_AUDIT_HASH_BYTES);
out:
	free(line);
	fclose(f);
	return rc;
}

/* Hashes of archive records, by aseq from first: those the journal may
 * still hold. */
typedef struct {
	uint64_t first;
	uint8_t (*v)[BLO_AUDIT_HASH_BYTES];
	size_t n, cap;
} hashes_t;

static int hashes_add(hashes_t *h, uint64_t aseq, const uint8_t *hash)
{
	if (aseq < h->first)
		return 0;
	if (aseq != h->first + h->n)
		return BLO_ECORRUPT; /* read_file keeps them contiguous */
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 1024;
		void *v = realloc(h->v, cap * sizeof(*h->v));

		if (v == NULL)
			return BLO_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	memcpy(h->v[h->n++], hash, BLO_AUDIT_HASH_BYTES);
	return 0;
}

static int collect_hash(uint64_t aseq, const uint8_t *hash, void *arg)
{
	return hashes_add(arg, aseq, hash);
}

typedef struct {
	const hashes_t *want;
	uint8_t chain[BLO_AUDIT_HASH_BYTES];
	uint64_t next;
	uint64_t bad;
} match_t;

static int match_step(uint64_t aseq, const char *text, size_t len, void *arg)
{
	match_t *m = arg;

	if (aseq != m->next) {
		m->bad = m->next;
		return 1;
	}
	blo_journal_audit_hash(m->chain, m->chain, text, len);
	if (memcmp(m->chain, m->want->v[aseq - m->want->first], BLO_AUDIT_HASH_BYTES) != 0) {
		m->bad = aseq;
		return 1;
	}
	m->next++;
	return 0;
}

/* 0 if the journal, whose anchor is want->first - 1 with anchor_hash, holds
 * every record of want with the same hash; BLO_ECORRUPT and *bad the first
 * that it lacks or holds otherwise. */
static int journal_holds(blo_journal_t *journal, const hashes_t *want, const uint8_t *anchor_hash,
			 uint64_t *bad)
{
	match_t m = {.want = want, .next = want->first};
	int rc;

	*bad = 0;
	if (want->n == 0)
		return 0;
	memcpy(m.chain, anchor_hash, BLO_AUDIT_HASH_BYTES);
	rc = blo_journal_audit_scan(journal, want->first, want->n, match_step, &m);
	if (rc != 0 && rc != 1)
		return rc;
	if (m.bad == 0 && m.next != want->first + want->n)
		m.bad = m.next; /* the journal ends before the archive does */
	*bad = m.bad;
	return m.bad != 0 ? BLO_ECORRUPT : 0;
}

/* ---------------------------------------------------------------- moving */

static int list_files(const char *dir, char ***names, size_t *n, blo_err_t *err);
static bool is_archive_name(const char *name, uint64_t *first);
static void free_names(char **names, size_t n);

/* 0 unless dir holds a file that starts after anchor + 1: only a file of
 * another history can (a move cut short leaves the anchor + 1 one alone),
 * and the move must not add to that archive. */
static int newer_file(const char *dir, uint64_t anchor, blo_err_t *err)
{
	char **names = NULL;
	size_t n = 0;
	uint64_t first = 0;
	int rc;

	if ((rc = list_files(dir, &names, &n, err)) != 0) {
		free_names(names, n);
		return rc;
	}
	if (n > 0 && is_archive_name(names[n - 1], &first) && first > anchor + 1)
		rc = blo_err_set(err, -EEXIST,
				 "audit archive %s holds %s, after the journal's anchor %" PRIu64
				 ": a file of another history (a journal restored from an older "
				 "copy?). Nothing moves and the journal keeps its records: move the "
				 "archive folder aside (or restore it from the same copy)",
				 dir, names[n - 1], anchor);
	free_names(names, n);
	return rc;
}

static int sync_dir(const char *dir, blo_err_t *err)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (dfd < 0 || fsync(dfd) != 0)
		rc = blo_err_set(err, -errno, "audit archive %s: sync the folder: %s", dir,
				 strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* Creates dir if missing, durably (its parent synced). */
static int make_dir(const char *dir, blo_err_t *err)
{
	char parent[4096];
	char *slash;

	if (mkdir(dir, 0750) != 0)
		return errno == EEXIST ? 0
				       : blo_err_set(err, -errno, "audit archive %s: %s", dir,
						     strerror(errno));
	blo_strlcpy(parent, dir, sizeof(parent));
	slash = strrchr(parent, '/');
	if (slash == NULL)
		blo_strlcpy(parent, ".", sizeof(parent));
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	return sync_dir(parent, err);
}

/* Writes the file's bytes (its prev line, then data) to path.tmp, synced. */
static int write_tmp(const char *tmp, const uint8_t *prev, const char *data, size_t len,
		     blo_err_t *err)
{
	char head[PREV_LINE_LEN];
	struct iovec iov[2];
	size_t total = sizeof(head) + len, done = 0;
	int fd, rc = 0;

	memcpy(head, PREV_LABEL, sizeof(PREV_LABEL) - 1);
	to_hex(head + sizeof(PREV_LABEL) - 1, prev, BLO_AUDIT_HASH_BYTES);
	head[sizeof(head) - 1] = '\n';
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return blo_err_set(err, -errno, "audit archive %s: %s", tmp, strerror(errno));
	while (done < total) {
		ssize_t n;
		int k = 0;

		if (done < sizeof(head)) {
			iov[k].iov_base = head + done;
			iov[k++].iov_len = sizeof(head) - done;
			iov[k].iov_base = (void *)data;
			iov[k++].iov_len = len;
		} else {
			iov[k].iov_base = (void *)(data + (done - sizeof(head)));
			iov[k++].iov_len = total - done;
		}
		n = writev(fd, iov, k);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = blo_err_set(err, -errno, "audit archive %s: write: %s", tmp,
					 strerror(errno));
			break;
		}
		done += (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = blo_err_set(err, -errno, "audit archive %s: fsync: %s", tmp, strerror(errno));
	close(fd);
	return rc;
}

/* 0 if the file at path is what a move cut short left: records from
 * anchor + 1 chained from the anchor's hash, every one of them still in
 * the journal with the same hash. Anything else (a file of another
 * history: a journal restored from an older copy beside a newer archive,
 * or two brokers sharing the folder) must not be replaced. */
static int is_leftover(blo_journal_t *journal, const char *path, uint64_t anchor,
		       const uint8_t *anchor_hash, blo_err_t *err)
{
	hashes_t h = {.first = anchor + 1};
	uint8_t prev[BLO_AUDIT_HASH_BYTES], last_hash[BLO_AUDIT_HASH_BYTES];
	uint64_t last, bad = 0;
	blo_err_t why = {0};
	int rc;

	rc = read_file(path, anchor + 1, prev, &last, last_hash, collect_hash, &h, &bad, &why);
	if (rc == 0 && memcmp(prev, anchor_hash, BLO_AUDIT_HASH_BYTES) != 0)
		rc = broken(&bad, anchor + 1, &why, path, "its prev hash is not the journal's anchor");
	if (rc == 0 && (rc = journal_holds(journal, &h, anchor_hash, &bad)) == BLO_ECORRUPT)
		broken(&bad, bad, &why, path, "not the record the journal holds");
	free(h.v);
	if (rc != 0)
		return blo_err_set(err, rc == BLO_ENOMEM ? rc : -EEXIST,
				   "audit archive %s is a file of another history: it holds "
				   "other records than the journal (%s). It is kept, and so are the "
				   "journal's records. A journal restored from an older copy? Move "
				   "the archive folder aside (or restore it from the same copy)",
				   path, why.msg);
	return 0;
}

/* Puts tmp in place as dir/name: never over a file of another history. */
static int place_file(blo_journal_t *journal, const char *dir, const char *name, const char *tmp,
		      uint64_t anchor, const uint8_t *anchor_hash, blo_err_t *err)
{
	char path[4096];
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (link(tmp, path) != 0) {
		if (errno != EEXIST)
			rc = blo_err_set(err, -errno, "audit archive %s: %s", path, strerror(errno));
		else if ((rc = is_leftover(journal, path, anchor, anchor_hash, err)) == 0 &&
			 rename(tmp, path) != 0)
			rc = blo_err_set(err, -errno, "audit archive %s: rename: %s", path,
					 strerror(errno));
	}
	unlink(tmp);
	return rc != 0 ? rc : sync_dir(dir, err);
}

static void unlink_file(const char *dir, const char *name)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path))
		unlink(path);
}

int blo_audit_archive_move(blo_journal_t *journal, const char *dir,
			   const blo_audit_archive_opts_t *opts, uint64_t *moved, blo_err_t *err)
{
	uint64_t max = opts->max_records ? opts->max_records : BLO_AUDIT_ARCHIVE_MOVE_MAX;
	uint64_t total = 0;
	collect_t c = {.opts = opts};
	int rc = 0;

	if (strlen(dir) + NAME_LEN + 8 >= 4096)
		return blo_err_set(err, -ENAMETOOLONG, "audit archive %s: path too long", dir);
	/* A deferred commit's records must be on disk before a synced archive
	 * file holds them: else a crash could leave the archive ahead of the
	 * journal. */
	if ((rc = blo_journal_sync(journal, err)) != 0)
		return rc;
	while (total < max) {
		uint8_t anchor_hash[BLO_AUDIT_HASH_BYTES];
		uint64_t anchor, head, excess = 0;
		size_t want;
		char name[NAME_LEN + 1], tmp[4096];

		if ((rc = blo_journal_audit_anchor(journal, &anchor, anchor_hash)) != 0 ||
		    (rc = blo_journal_audit_head(journal, &head, NULL)) != 0) {
			rc = blo_err_set(err, rc, "audit archive: the journal's audit anchor or head "
						  "cannot be read");
			break;
		}
		if (opts->keep_records != 0 && head - anchor > opts->keep_records)
			excess = head - anchor - opts->keep_records;
		if (anchor == head || (excess == 0 && opts->older_than_ms == 0))
			break;
		memcpy(c.hash, anchor_hash, BLO_AUDIT_HASH_BYTES);
		c.next = anchor + 1;
		c.move_upto = anchor + excess;
		c.len = 0;
		c.taken = 0;
		c.corrupt = false;
		c.file_full = false;
		want = (size_t)(max - total < BLO_AUDIT_ARCHIVE_FILE_RECORDS
					? max - total
					: BLO_AUDIT_ARCHIVE_FILE_RECORDS);
		rc = blo_journal_audit_scan(journal, anchor + 1, want, collect, &c);
		if (rc == BLO_ENOMEM) {
			rc = blo_err_set(err, rc, "audit archive: out of memory");
			break;
		}
		if (c.corrupt || (rc != 0 && rc != 1)) {
			rc = blo_err_set(err, BLO_ECORRUPT,
					 "audit archive: the journal's audit record %" PRIu64
					 " is missing or unreadable after the anchor %" PRIu64
					 ": nothing moved (run audit-verify)",
					 c.next, anchor);
			break;
		}
		rc = 0;
		if (c.taken == 0)
			break;
		if (total == 0 && (rc = newer_file(dir, anchor, err)) != 0)
			break;
		snprintf(name, sizeof(name), NAME_PREFIX "%020" PRIu64 NAME_SUFFIX, anchor + 1);
		snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
		if ((rc = make_dir(dir, err)) != 0 ||
		    (rc = write_tmp(tmp, anchor_hash, c.buf, c.len, err)) != 0 ||
		    (rc = place_file(journal, dir, name, tmp, anchor, anchor_hash, err)) != 0) {
			unlink(tmp);
			break;
		}
		if ((rc = blo_journal_audit_trim(journal, c.next - 1, c.hash, err)) != 0) {
			/* The journal still holds every record of the file. One
			 * copied from a broken chain is removed, so that no
			 * consistent-looking copy of altered records stays. */
			if (rc == BLO_ECORRUPT)
				unlink_file(dir, name);
			blo_err_prefix(err, "audit archive %s/%s %s", dir, name,
				       rc == BLO_ECORRUPT ? "removed" : "written, the records kept in the journal");
			break;
		}
		total += c.taken;
		if (c.taken < want && !c.file_full)
			break; /* it stopped at a record it keeps */
	}
	free(c.buf);
	if (moved != NULL)
		*moved = total;
	return rc;
}

/* -------------------------------------------------------------- checking */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_archive_name(const char *name, uint64_t *first)
{
	const char *digits = name + sizeof(NAME_PREFIX) - 1;

	if (strlen(name) != NAME_LEN || strncmp(name, NAME_PREFIX, sizeof(NAME_PREFIX) - 1) != 0 ||
	    strcmp(name + NAME_LEN - (sizeof(NAME_SUFFIX) - 1), NAME_SUFFIX) != 0)
		return false;
	*first = 0;
	for (int i = 0; i < NAME_DIGITS; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return false;
		*first = *first * 10 + (uint64_t)(digits[i] - '0');
	}
	return *first > 0;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The archive files of dir, sorted (their names sort by first aseq).
 * *names is the caller's (free_names). A missing dir: none. */
static int list_files(const char *dir, char ***names, size_t *n, blo_err_t *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;
	uint64_t first;
	int rc = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return errno == ENOENT ? 0
				       : blo_err_set(err, -errno, "audit archive %s: %s", dir,
						     strerror(errno));
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno != 0)
				rc = blo_err_set(err, -errno, "audit archive %s: %s", dir,
						 strerror(errno));
			break;
		}
		if (!is_archive_name(e->d_name, &first))
			continue;
		if (*n == cap) {
			char **v = realloc(*names, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (v == NULL)
				goto nomem;
			*names = v;
		}
		if (((*names)[*n] = strdup(e->d_name)) == NULL)
			goto nomem;
		(*n)++;
	}
	closedir(d);
	if (rc == 0 && *n > 1)
		qsort(*names, *n, sizeof(**names), name_cmp);
	return rc;
nomem:
	closedir(d);
	return blo_err_set(err, BLO_ENOMEM, "audit archive %s: out of memory", dir);
}

typedef struct {
	uint64_t anchor;
	uint8_t at_anchor[BLO_AUDIT_HASH_BYTES]; /* the archive's hash at the anchor */
	bool have_anchor;
	uint8_t file_last[BLO_AUDIT_HASH_BYTES]; /* the last hash of the file before */
	hashes_t beyond; /* records after the anchor: the journal must hold them */
} walk_t;

static int walk_step(uint64_t aseq, const uint8_t *hash, void *arg)
{
	walk_t *w = arg;

	if (aseq == w->anchor) {
		memcpy(w->at_anchor, hash, BLO_AUDIT_HASH_BYTES);
		w->have_anchor = true;
	}
	/* Records after the anchor but not from its next (files starting
	 * further on) are not the journal's: verify_once says so. */
	if (aseq > w->anchor && aseq != w->beyond.first + w->beyond.n)
		return 0;
	return hashes_add(&w->beyond, aseq, hash);
}

/* One pass of blo_audit_archive_verify, against the anchor read at its
 * start. */
static int verify_once(blo_journal_t *journal, const char *dir, blo_audit_archive_info_t *info,
		       uint64_t *bad_aseq, blo_err_t *err)
{
	uint8_t anchor_hash[BLO_AUDIT_HASH_BYTES], prev[BLO_AUDIT_HASH_BYTES];
	uint8_t last_hash[BLO_AUDIT_HASH_BYTES] = {0}, zero[BLO_AUDIT_HASH_BYTES] = {0};
	walk_t w = {0};
	uint64_t anchor = 0, first = 0, last, bad = 0;
	char **names = NULL;
	char path[4096];
	size_t n = 0;
	int rc;

	memset(info, 0, sizeof(*info));
	if ((rc = blo_journal_audit_anchor(journal, &anchor, anchor_hash)) != 0)
		return blo_err_set(err, rc, "audit: the journal's anchor cannot be read");
	info->anchor_aseq = anchor;
	w.anchor = anchor;
	w.beyond.first = anchor + 1;
	if ((rc = list_files(dir, &names, &n, err)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		is_archive_name(names[i], &first);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (i > 0 && first != info->last_aseq + 1) {
			rc = broken(bad_aseq, info->last_aseq + 1, err, path,
				    first > info->last_aseq + 1 ? "missing (no file holds it)"
								: "held by two files");
			goto out;
		}
		rc = read_file(path, first, prev, &last, last_hash, walk_step, &w, bad_aseq, err);
		if (rc == BLO_ENOMEM)
			rc = blo_err_set(err, rc, "audit archive %s: out of memory", dir);
		if (rc != 0)
			goto out;
		if (i == 0) {
			/* The oldest file present starts the chain, or starts
			 * from its prev hash, taken as given: the files before it
			 * are elsewhere. Every record in it is checked. */
			info->first_aseq = first;
			info->from_start = first == 1;
			if (first == 1 && memcmp(prev, zero, sizeof(zero)) != 0) {
				rc = broken(bad_aseq, 1, err, path,
					    "the chain's first record has a prev hash");
				goto out;
			}
		} else if (memcmp(prev, w.file_last, sizeof(prev)) != 0) {
			rc = broken(bad_aseq, first, err, path,
				    "its prev hash is not the previous file's last hash");
			goto out;
		}
		if (anchor > 0 && first == anchor + 1) {
			memcpy(w.at_anchor, prev, sizeof(prev));
			w.have_anchor = true;
		}
		memcpy(w.file_last, last_hash, sizeof(last_hash));
		info->records += last - first + 1;
		info->last_aseq = last;
		info->files++;
	}
	/* The two meet at the anchor. */
	if (anchor > 0 && n == 0) {
		rc = blo_err_set(err, BLO_ECORRUPT,
				 "audit archive %s: no archive file, but the journal moved records "
				 "up to %" PRIu64 " out: put the archive files back",
				 dir, anchor);
		goto out;
	}
	if (anchor > 0 && info->last_aseq < anchor) {
		rc = broken(bad_aseq, info->last_aseq + 1, err, dir,
			    "missing: the archive ends before the journal's anchor (its newest "
			    "files are gone?)");
		goto out;
	}
	if (n > 0 && info->first_aseq > anchor + 1) {
		rc = broken(bad_aseq, info->first_aseq, err, dir,
			    "the oldest archive file starts there, after the journal's anchor's "
			    "next record: not a file this journal wrote (another history?)");
		goto out;
	}
	if (anchor > 0 &&
	    (!w.have_anchor || memcmp(w.at_anchor, anchor_hash, sizeof(anchor_hash)) != 0)) {
		rc = broken(bad_aseq, anchor, err, dir,
			    "the archive's hash is not the journal's anchor (one of the two was "
			    "altered)");
		goto out;
	}
	/* Records after the anchor (a move cut short) are the journal's own. */
	rc = journal_holds(journal, &w.beyond, anchor_hash, &bad);
	if (rc == BLO_ECORRUPT) {
		rc = broken(bad_aseq, bad, err, dir,
			    "an archive file holds it, but the journal holds another or none (a "
			    "file of another history?)");
		goto out;
	} else if (rc != 0) {
		rc = blo_err_set(err, rc, "audit archive %s: reading the journal", dir);
		goto out;
	}
	rc = blo_journal_audit_verify(journal, &info->journal_records, bad_aseq, err);
out:
	free_names(names, n);
	free(w.beyond.v);
	return rc;
}

int blo_audit_archive_verify(blo_journal_t *journal, const char *dir,
			     blo_audit_archive_info_t *info, uint64_t *bad_aseq, blo_err_t *err)
{
	blo_audit_archive_info_t local;
	uint64_t anchor_after;
	int rc;

	if (info == NULL)
		info = &local;
	/* A move may run meanwhile (the broker's): the anchor only goes up, so
	 * one unchanged across a pass means the pass saw one state. */
	for (int pass = 0;; pass++) {
		if (bad_aseq != NULL)
			*bad_aseq = 0;
		rc = verify_once(journal, dir, info, bad_aseq, err);
		if (blo_journal_audit_anchor(journal, &anchor_after, NULL) != 0 ||
		    anchor_after == info->anchor_aseq || pass == 3)
			return rc;
	}
}
