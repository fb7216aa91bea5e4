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
#include <unistd.h>

#define HASH_HEX (2 * BLO_AUDIT_HASH_BYTES)
#define NAME_PREFIX "audit-"
#define NAME_SUFFIX ".jsonl"
#define NAME_DIGITS 20
#define NAME_LEN (sizeof(NAME_PREFIX) - 1 + NAME_DIGITS + sizeof(NAME_SUFFIX) - 1)
#define DEFAULT_MAX_RECORDS (4 * (uint64_t)BLO_AUDIT_ARCHIVE_FILE_RECORDS)

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

/* ---------------------------------------------------------------- moving */

typedef struct {
	const blo_audit_archive_opts_t *opts;
	uint64_t next;       /* the aseq expected next */
	uint64_t move_upto;  /* records up to this go whatever their age */
	uint8_t hash[BLO_AUDIT_HASH_BYTES];
	char *buf;           /* the file's lines */
	size_t len, cap;
	uint64_t taken;
	bool corrupt;
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

/* Writes len bytes to dir/name through a synced temporary file, renamed
 * into place, and syncs the folder. */
static int write_file(const char *dir, const char *name, const char *data, size_t len,
		      blo_err_t *err)
{
	char path[4096], tmp[4096 + 8];
	int fd, dfd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return blo_err_set(err, -ENAMETOOLONG, "audit archive %s: path too long", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return blo_err_set(err, -errno, "audit archive %s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = blo_err_set(err, -errno, "audit archive %s: write: %s", tmp,
					 strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = blo_err_set(err, -errno, "audit archive %s: fsync: %s", tmp, strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = blo_err_set(err, -errno, "audit archive %s: rename: %s", path, strerror(errno));
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
		rc = blo_err_set(err, -errno, "audit archive %s: sync the folder: %s", dir,
				 strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return rc;
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
	uint64_t max = opts->max_records ? opts->max_records : DEFAULT_MAX_RECORDS;
	uint64_t total = 0;
	collect_t c = {.opts = opts};
	int rc = 0;

	while (total < max) {
		uint64_t anchor, head, excess = 0;
		size_t want;
		char name[NAME_LEN + 1];

		if ((rc = blo_journal_audit_anchor(journal, &anchor, c.hash)) != 0 ||
		    (rc = blo_journal_audit_head(journal, &head, NULL)) != 0) {
			rc = blo_err_set(err, rc, "audit archive: the journal's audit anchor or head "
						  "cannot be read");
			break;
		}
		if (opts->keep_records != 0 && head - anchor > opts->keep_records)
			excess = head - anchor - opts->keep_records;
		if (anchor == head || (excess == 0 && opts->older_than_ms == 0))
			break;
		c.next = anchor + 1;
		c.move_upto = anchor + excess;
		c.len = 0;
		c.taken = 0;
		c.corrupt = false;
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
		if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
			rc = blo_err_set(err, -errno, "audit archive %s: %s", dir, strerror(errno));
			break;
		}
		snprintf(name, sizeof(name), NAME_PREFIX "%020" PRIu64 NAME_SUFFIX, anchor + 1);
		if ((rc = write_file(dir, name, c.buf, c.len, err)) != 0)
			break;
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
		if (c.taken < want)
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

/* The archive files of dir, sorted (their names sort by first aseq).
 * *names is the caller's (free each, then it). A missing dir: none. */
static int list_files(const char *dir, char ***names, size_t *n, blo_err_t *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;
	uint64_t first;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return errno == ENOENT ? 0
				       : blo_err_set(err, -errno, "audit archive %s: %s", dir,
						     strerror(errno));
	while ((e = readdir(d)) != NULL) {
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
	qsort(*names, *n, sizeof(**names), name_cmp);
	return 0;
nomem:
	closedir(d);
	return blo_err_set(err, BLO_ENOMEM, "audit archive %s: out of memory", dir);
}

typedef struct {
	uint64_t next;  /* the aseq expected next; 0: the first line sets it */
	uint8_t hash[BLO_AUDIT_HASH_BYTES];
	uint64_t want;  /* the aseq whose hash to keep: the journal's anchor */
	uint8_t want_hash[BLO_AUDIT_HASH_BYTES];
	bool have_want;
	blo_audit_archive_info_t *info;
} walk_t;

static int broken(uint64_t *bad_aseq, uint64_t aseq, blo_err_t *err, const char *path,
		  const char *why)
{
	if (bad_aseq != NULL)
		*bad_aseq = aseq;
	return blo_err_set(err, BLO_ECORRUPT, "audit archive %s: record %" PRIu64 ": %s", path,
			   aseq, why);
}

static int walk_file(walk_t *w, const char *path, uint64_t first, uint64_t *bad_aseq,
		     blo_err_t *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (f == NULL)
		return blo_err_set(err, -errno, "audit archive %s: %s", path, strerror(errno));
	if (w->next == 0) {
		/* The oldest file present: from the chain's start, or taken as
		 * given when older files are elsewhere. */
		w->next = first;
		w->info->first_aseq = first;
		w->info->from_start = first == 1;
	} else if (first != w->next) {
		rc = broken(bad_aseq, w->next, err, path,
			    first > w->next ? "missing (no file holds it)"
					    : "held by two files");
		goto out;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		uint8_t stored[BLO_AUDIT_HASH_BYTES];
		size_t tlen;
		int64_t aseq;

		if (line[len - 1] != '\n' || (size_t)len < HASH_HEX + 3 ||
		    line[len - 2 - HASH_HEX] != '\t') {
			rc = broken(bad_aseq, w->next, err, path, "malformed line (cut short?)");
			goto out;
		}
		tlen = (size_t)len - 2 - HASH_HEX;
		if (!number_after(line, tlen, "{\"aseq\":", true, &aseq) || (uint64_t)aseq != w->next) {
			rc = broken(bad_aseq, w->next, err, path,
				    "text is not this record's (altered or moved)");
			goto out;
		}
		if (!from_hex(stored, line + tlen + 1, BLO_AUDIT_HASH_BYTES)) {
			rc = broken(bad_aseq, w->next, err, path, "malformed hash");
			goto out;
		}
		if (w->next == first && w->info->files == 0 && !w->info->from_start) {
			memcpy(w->hash, stored, BLO_AUDIT_HASH_BYTES);
		} else {
			blo_journal_audit_hash(w->hash, w->hash, line, tlen);
			if (memcmp(w->hash, stored, BLO_AUDIT_HASH_BYTES) != 0) {
				rc = broken(bad_aseq, w->next, err, path,
					    "hash does not match its text and the previous hash "
					    "(altered)");
				goto out;
			}
		}
		if (w->next == w->want) {
			memcpy(w->want_hash, w->hash, BLO_AUDIT_HASH_BYTES);
			w->have_want = true;
		}
		w->info->records++;
		w->info->last_aseq = w->next;
		w->next++;
	}
	if (ferror(f))
		rc = blo_err_set(err, -EIO, "audit archive %s: read error", path);
	else if (w->next == first)
		rc = broken(bad_aseq, first, err, path, "the file is empty");
out:
	free(line);
	fclose(f);
	return rc;
}

int blo_audit_archive_verify(blo_journal_t *journal, const char *dir,
			     blo_audit_archive_info_t *info, uint64_t *bad_aseq, blo_err_t *err)
{
	blo_audit_archive_info_t local;
	uint8_t anchor_hash[BLO_AUDIT_HASH_BYTES];
	uint64_t anchor = 0, first;
	char **names = NULL;
	size_t n = 0;
	walk_t w;
	int rc;

	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	memset(&w, 0, sizeof(w));
	w.info = info;
	if (bad_aseq != NULL)
		*bad_aseq = 0;
	if ((rc = blo_journal_audit_anchor(journal, &anchor, anchor_hash)) != 0)
		return blo_err_set(err, rc, "audit: the journal's anchor cannot be read");
	info->anchor_aseq = anchor;
	w.want = anchor;
	if ((rc = list_files(dir, &names, &n, err)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char path[4096];

		is_archive_name(names[i], &first);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((rc = walk_file(&w, path, first, bad_aseq, err)) != 0)
			goto out;
		info->files++;
	}
	/* The two must meet at the anchor. */
	if (anchor > 0 && n == 0) {
		rc = blo_err_set(err, BLO_ECORRUPT,
				 "audit archive %s: no archive file, but the journal moved records "
				 "up to %" PRIu64 " out: put the newest archive file back",
				 dir, anchor);
		goto out;
	}
	if (anchor > 0 && info->last_aseq < anchor) {
		rc = broken(bad_aseq, info->last_aseq + 1, err, dir,
			    "missing: the archive ends before the journal's anchor (its newest "
			    "file is gone?)");
		goto out;
	}
	if (anchor > 0 && info->first_aseq > anchor) {
		rc = broken(bad_aseq, anchor, err, dir,
			    "missing: the journal's anchor is older than every archive file");
		goto out;
	}
	if (anchor > 0 && (!w.have_want || memcmp(w.want_hash, anchor_hash, BLO_AUDIT_HASH_BYTES) != 0)) {
		rc = broken(bad_aseq, anchor, err, dir,
			    "the archive's hash is not the journal's anchor (one of the two was "
			    "altered)");
		goto out;
	}
	rc = blo_journal_audit_verify(journal, &info->journal_records, bad_aseq, err);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
