/*
 * blo_committee: the committee's aggregates in LMDB (see blo_committee.h).
 * Databases:
 *   seen      id -> type, sent_ms, site, principal of every message taken in
 *   current   alert id -> state and the version of the alert now counted
 *   counters  "dim\x1fpart\x1fpart" -> count, quantity (thousandths), extra
 *   replies   "KIND\x1fFROM\x1fTO" -> sorted samples: latency (8 bytes,
 *             big-endian) + reply id (16)
 *   replied   referenced id + kind + replying site -> the sample that stands
 *             (the earliest reply by sent_ms)
 *   mo        BLAKE2b-128 of the normalized text -> JSON record
 *   taken     when taken in (8 bytes, big-endian) + id -> the id an UPDATE
 *             or CANCEL refers to (16 bytes; empty for other types): the
 *             per-message entries in the order retention forgets them
 *   meta      "format", "week_offset"
 * The aggregates (counters, replies, mo) are kept for good; seen, current,
 * replied and taken are per message and forgotten after keep_days.
 */
#include "blo_committee.h"

#include "blo_codec.h"
#include "blo_store.h"
#include "blo_util.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FORMAT "blonet-committee-store 1"
#define INITIAL_MAP ((uint64_t)256 * 1024 * 1024)
/* The store's databases: a file with any other is not a committee store. */
static const char *const DBS[] = {"seen", "current", "counters", "replies",
				  "replied", "mo", "meta", "taken"};
#define MB ((uint64_t)1024 * 1024)
#define GROW_TRIES 8
#define DAY_MS (86400LL * 1000)
#define PRUNE_EVERY_MS (3600LL * 1000)
#define PRUNE_BATCH 5000 /* messages forgotten per transaction */
#define TAKEN_KEY (8 + BLO_ID_BYTES)
#define SEP '\x1f'
#define PART_MAX 120 /* bytes of one key part: LMDB keys are at most 511 */
#define STATE_ACTIVE 1
#define STATE_CANCELLED 2
#define SAMPLE_BYTES (8 + BLO_ID_BYTES)

struct blo_committee {
	MDB_env *env;
	MDB_dbi seen, current, counters, replies, replied, mo, meta, taken;
	char *dir;
	int week_offset_min;
	int keep_days;
	uint64_t limit; /* bytes the map may reach */
	int64_t next_prune_ms; /* blo_mono_ms; 0: now */
};

/* ---------------------------------------------------------------- helpers */

static void put_be64(uint8_t p[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const char *s = blo_enum_name(d, v);

	return s != NULL ? s : "UNKNOWN";
}

static bool blank(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* Bytes of the UTF-8 sequence that starts with lead (1 for a stray byte). */
static size_t seq_len(unsigned char lead)
{
	return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
}

/* Copies s into out as a key part: control characters (the separator
 * among them) become '?'; cut at PART_MAX bytes, never inside a character;
 * lower_ascii also lower-cases ASCII letters, trims and collapses spaces.
 * An empty result is replaced by empty. */
static void key_part(char out[PART_MAX + 1], const char *s, bool lower_ascii, const char *empty)
{
	size_t o = 0, len;
	bool space = false;

	if (s == NULL)
		s = "";
	len = strlen(s);
	for (size_t i = 0; i < len;) {
		unsigned char ch = (unsigned char)s[i];
		size_t n = seq_len(ch);

		if (lower_ascii && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')) {
			space = o > 0;
			i++;
			continue;
		}
		if (i + n > len)
			n = len - i;
		if (o + (space ? 1 : 0) + n > PART_MAX)
			break;
		if (space)
			out[o++] = ' ';
		space = false;
		if (n == 1)
			out[o++] = ch < 0x20 || ch == 0x7F ? '?' : lower_ascii ? (char)tolower(ch) : (char)ch;
		else
			for (size_t k = 0; k < n; k++)
				out[o++] = s[i + k];
		i += n;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, PART_MAX + 1, "%s", empty);
}

void blo_committee_iso_week(int64_t ms, int offset_min, char out[16])
{
	int64_t t = ms / 1000 + (int64_t)offset_min * 60;
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t wd = ((days + 3) % 7 + 7) % 7; /* Monday 0; 1970-01-01 was a Thursday */
	time_t thursday = (time_t)((days - wd + 3) * 86400);
	struct tm tm;

	if (gmtime_r(&thursday, &tm) == NULL) {
		snprintf(out, 16, "?");
		return;
	}
	snprintf(out, 16, "%04d-W%02d", tm.tm_year + 1900, tm.tm_yday / 7 + 1);
}

int64_t blo_committee_percentile(const int64_t *sorted, size_t n, int pct)
{
	size_t rank;

	assert(n > 0 && pct > 0 && pct <= 100);
	rank = ((size_t)pct * n + 99) / 100; /* ceil(pct/100 * n) */
	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

/* ---------------------------------------------------------------- open */

static int open_meta(blo_committee_t *self, MDB_txn *txn, const blo_committee_opts_t *opts,
		     blo_err_t *err)
{
	MDB_val k = {.mv_size = 6, .mv_data = "format"}, v;
	uint8_t off[8];
	int rc = mdb_get(txn, self->meta, &k, &v);

	if (rc == MDB_NOTFOUND) {
		v.mv_size = strlen(FORMAT);
		v.mv_data = FORMAT;
		if ((rc = mdb_put(txn, self->meta, &k, &v, 0)) != 0)
			return rc;
	} else if (rc != 0) {
		return rc;
	} else if (v.mv_size != strlen(FORMAT) || memcmp(v.mv_data, FORMAT, v.mv_size) != 0) {
		return blo_err_set(err, BLO_ECORRUPT, "committee store %s: not a store of this format",
				   self->dir);
	}
	k.mv_size = 11;
	k.mv_data = "week_offset";
	rc = mdb_get(txn, self->meta, &k, &v);
	if (rc == 0 && v.mv_size == 8) {
		int stored = (int)(int64_t)get_be64(v.mv_data);

		if (opts != NULL && opts->week_offset_set && opts->week_offset_min != stored)
			return blo_err_set(err, BLO_ECONFIG,
					   "committee store %s counts weeks at UTC%+d min, not %+d: "
					   "weeks already counted cannot move",
					   self->dir, stored, opts->week_offset_min);
		self->week_offset_min = stored;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc == 0 ? BLO_ECORRUPT : rc;
	self->week_offset_min = opts != NULL && opts->week_offset_set ? opts->week_offset_min : 0;
	put_be64(off, (uint64_t)(int64_t)self->week_offset_min);
	v.mv_size = 8;
	v.mv_data = off;
	return mdb_put(txn, self->meta, &k, &v, 0);
}

static void taken_key(uint8_t key[TAKEN_KEY], int64_t taken_ms, const uint8_t *id)
{
	put_be64(key, (uint64_t)taken_ms);
	memcpy(key + 8, id, BLO_ID_BYTES);
}

/* A store written before retention has ids in "seen" but no "taken": they
 * are taken as of now, so that they are forgotten keep_days from now. */
static int index_older_store(blo_committee_t *self, MDB_txn *txn)
{
	MDB_stat st_seen, st_taken;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int64_t now = (int64_t)time(NULL) * 1000;
	int rc;

	if ((rc = mdb_stat(txn, self->seen, &st_seen)) != 0 ||
	    (rc = mdb_stat(txn, self->taken, &st_taken)) != 0)
		return rc;
	if (st_seen.ms_entries == 0 || st_taken.ms_entries != 0)
		return 0;
	if ((rc = mdb_cursor_open(txn, self->seen, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint8_t key[TAKEN_KEY];
		MDB_val tk = {.mv_size = sizeof(key), .mv_data = key}, tv = {.mv_size = 0, .mv_data = ""};

		if (k.mv_size != BLO_ID_BYTES)
			continue;
		taken_key(key, now, k.mv_data);
		if ((rc = mdb_put(txn, self->taken, &tk, &tv, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int blo_committee_open(blo_committee_t **out, const char *dir, const blo_committee_opts_t *opts,
		       blo_err_t *err)
{
	blo_committee_t *self;
	MDB_txn *txn = NULL;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return blo_err_set(err, BLO_EKEY, "libsodium cannot start");
	if (opts != NULL && opts->week_offset_set &&
	    (opts->week_offset_min < -14 * 60 || opts->week_offset_min > 14 * 60))
		return blo_err_set(err, BLO_EINVAL, "week offset %d min is not a UTC offset",
				   opts->week_offset_min);
	if (opts != NULL && opts->keep_days < 0)
		return blo_err_set(err, BLO_EINVAL, "committee store: keep_days %d: give 0 or more",
				   opts->keep_days);
	self = calloc(1, sizeof(*self));
	if (self == NULL || (self->dir = strdup(dir)) == NULL) {
		free(self);
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	}
	self->keep_days = opts != NULL ? opts->keep_days : 0;
	self->limit = (opts != NULL && opts->store_mb != 0 ? opts->store_mb
							   : (uint64_t)BLO_COMMITTEE_STORE_DEFAULT_MB) * MB;
	if ((rc = blo_store_begin(&self->env, &txn, dir, "committee", 10,
				  (size_t)(INITIAL_MAP < self->limit ? INITIAL_MAP : self->limit), DBS,
				  sizeof(DBS) / sizeof(DBS[0]), err)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "seen", MDB_CREATE, &self->seen)) != 0 ||
	    (rc = mdb_dbi_open(txn, "current", MDB_CREATE, &self->current)) != 0 ||
	    (rc = mdb_dbi_open(txn, "counters", MDB_CREATE, &self->counters)) != 0 ||
	    (rc = mdb_dbi_open(txn, "replies", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &self->replies)) != 0 ||
	    (rc = mdb_dbi_open(txn, "replied", MDB_CREATE, &self->replied)) != 0 ||
	    (rc = mdb_dbi_open(txn, "mo", MDB_CREATE, &self->mo)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "taken", MDB_CREATE, &self->taken)) != 0 ||
	    (rc = index_older_store(self, txn)) != 0) {
		blo_err_set(err, rc, "committee store %s: %s", dir, blo_strerror(rc));
		goto fail;
	}
	if ((rc = open_meta(self, txn, opts, err)) != 0) {
		if (err != NULL && err->code != rc)
			blo_err_set(err, rc, "committee store %s: %s", dir, blo_strerror(rc));
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		blo_err_set(err, rc, "committee store %s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	*out = self;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	blo_committee_close(&self);
	return rc;
}

void blo_committee_close(blo_committee_t **self_p)
{
	blo_committee_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	if (self->env != NULL)
		mdb_env_close(self->env);
	free(self->dir);
	free(self);
	*self_p = NULL;
}

/* ---------------------------------------------------------------- counters */

static int counter_add(blo_committee_t *self, MDB_txn *txn, const char *dim, const char *p1,
		       const char *p2, const char *p3, int64_t dc, int64_t dq, int64_t de)
{
	char key[8 + 3 * (PART_MAX + 1) + 4];
	int n;
	MDB_val k, v;
	int64_t val[3] = {0, 0, 0};
	uint8_t buf[24];
	int rc;

	if (p2 == NULL)
		n = snprintf(key, sizeof(key), "%s%c%s", dim, SEP, p1);
	else if (p3 == NULL)
		n = snprintf(key, sizeof(key), "%s%c%s%c%s", dim, SEP, p1, SEP, p2);
	else
		n = snprintf(key, sizeof(key), "%s%c%s%c%s%c%s", dim, SEP, p1, SEP, p2, SEP, p3);
	if (n < 0 || (size_t)n >= sizeof(key))
		return BLO_ETOOBIG;
	k.mv_size = (size_t)n;
	k.mv_data = key;
	rc = mdb_get(txn, self->counters, &k, &v);
	if (rc == 0 && v.mv_size == 24) {
		for (int i = 0; i < 3; i++)
			val[i] = (int64_t)get_be64((const uint8_t *)v.mv_data + 8 * i);
	} else if (rc == 0) {
		return BLO_ECORRUPT;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	val[0] += dc;
	val[1] += dq;
	val[2] += de;
	if (val[0] == 0 && val[1] == 0 && val[2] == 0) {
		/* A row back to nothing (a cancelled alert) leaves no trace. */
		rc = mdb_del(txn, self->counters, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	for (int i = 0; i < 3; i++)
		put_be64(buf + 8 * i, (uint64_t)val[i]);
	v.mv_size = 24;
	v.mv_data = buf;
	return mdb_put(txn, self->counters, &k, &v, 0);
}

static int total(blo_committee_t *self, MDB_txn *txn, const char *what, int64_t d, int64_t extra)
{
	return counter_add(self, txn, "total", what, NULL, NULL, d, 0, extra);
}

static int64_t milli(double q)
{
	if (!(q > 0) || q > 9.0e15)
		return 0; /* no quantity, or nothing sensible */
	return (int64_t)llround(q * 1000.0);
}

/* Adds (sign +1) or removes (-1) an alert's contribution. */
static int apply(blo_committee_t *self, MDB_txn *txn, const Blonet__Alert *a, int sign)
{
	const char *cat = enum_name(&blonet__category__descriptor,
				    a->assessment != NULL ? (int)a->assessment->category : 0);
	const char *sev = enum_name(&blonet__severity__descriptor,
				    a->assessment != NULL ? (int)a->assessment->severity : 0);
	const Blonet__Location *l = a->location;
	const Blonet__Route *r = l != NULL ? l->route : NULL;
	int64_t seiz = a->n_commodities > 0 ? sign : 0;
	char site[PART_MAX + 1], week[16];
	int64_t when = a->observed_ms > 0 ? a->observed_ms : a->sent_ms;
	int rc;

	key_part(site, l != NULL && !blank(l->site) ? l->site : a->origin != NULL ? a->origin->site : "",
		 false, "(none)");
	blo_committee_iso_week(when, self->week_offset_min, week);
	if ((rc = total(self, txn, "alerts", sign, seiz)) != 0 ||
	    (rc = counter_add(self, txn, "category", cat, NULL, NULL, sign, 0, seiz)) != 0 ||
	    (rc = counter_add(self, txn, "severity", sev, NULL, NULL, sign, 0, 0)) != 0 ||
	    (rc = counter_add(self, txn, "crossing", site, NULL, NULL, sign, 0, seiz)) != 0 ||
	    (rc = counter_add(self, txn, "week", week, NULL, NULL, sign, 0, 0)) != 0 ||
	    (rc = counter_add(self, txn, "week_category", week, cat, NULL, sign, 0, 0)) != 0)
		return rc;
	if (a->origin != NULL &&
	    (rc = counter_add(self, txn, "agency", blank(a->origin->country) ? "?" : a->origin->country,
			      enum_name(&blonet__agency_kind__descriptor, (int)a->origin->agency), NULL,
			      sign, 0, 0)) != 0)
		return rc;
	if (r != NULL && (!blank(r->from_country) || !blank(r->to_country)) &&
	    (rc = counter_add(self, txn, "route", blank(r->from_country) ? "?" : r->from_country,
			      blank(r->to_country) ? "?" : r->to_country, NULL, sign, 0, 0)) != 0)
		return rc;
	for (size_t i = 0; i < a->n_commodities; i++) {
		const Blonet__Commodity *c = a->commodities[i];
		const char *unit = enum_name(&blonet__unit__descriptor, (int)c->unit);
		char name[PART_MAX + 1];
		int64_t q = sign * milli(c->quantity);

		key_part(name, c->name, true, "(unnamed)");
		if ((rc = counter_add(self, txn, "commodity",
				      enum_name(&blonet__commodity_kind__descriptor, (int)c->kind), name,
				      unit, sign, q, 0)) != 0 ||
		    (rc = counter_add(self, txn, "category_unit", cat, unit, NULL, sign, q, 0)) != 0)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- ingest */

typedef struct {
	int type;
	int64_t sent_ms;
	char site[PART_MAX + 1];
	char principal[PART_MAX + 1];
} info_t;

static const char *site_of(const Blonet__Alert *a)
{
	if (a->origin != NULL && !blank(a->origin->site))
		return a->origin->site;
	if (a->location != NULL && !blank(a->location->site))
		return a->location->site;
	return "";
}

static const uint8_t *first_ref(const Blonet__Alert *a);

/* Notes a newly seen message in "taken", for retention. */
static int taken_put(blo_committee_t *self, MDB_txn *txn, const Blonet__Alert *a, int64_t taken_ms)
{
	uint8_t key[TAKEN_KEY];
	const uint8_t *ref = a->type == BLONET__MESSAGE_TYPE__UPDATE || a->type == BLONET__MESSAGE_TYPE__CANCEL
				     ? first_ref(a)
				     : NULL;
	MDB_val k = {.mv_size = sizeof(key), .mv_data = key};
	MDB_val v = {.mv_size = ref != NULL ? BLO_ID_BYTES : 0, .mv_data = (void *)(ref != NULL ? ref : key)};

	taken_key(key, taken_ms, a->id.data);
	return mdb_put(txn, self->taken, &k, &v, 0);
}

static int seen_put(blo_committee_t *self, MDB_txn *txn, const Blonet__Alert *a, int64_t taken_ms)
{
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = a->id.data}, v;
	char site[PART_MAX + 1], principal[PART_MAX + 1];
	size_t sl, pl;
	uint8_t *p;
	int rc;

	key_part(site, site_of(a), false, "");
	key_part(principal, a->origin != NULL ? a->origin->principal : "", false, "");
	sl = strlen(site);
	pl = strlen(principal);
	v.mv_size = 1 + 8 + 1 + sl + 1 + pl;
	if ((rc = mdb_put(txn, self->seen, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE)) != 0)
		return rc;
	p = v.mv_data;
	p[0] = (uint8_t)a->type;
	put_be64(p + 1, (uint64_t)a->sent_ms);
	p[9] = (uint8_t)sl;
	memcpy(p + 10, site, sl);
	p[10 + sl] = (uint8_t)pl;
	memcpy(p + 11 + sl, principal, pl);
	return taken_put(self, txn, a, taken_ms);
}

static int seen_get(blo_committee_t *self, MDB_txn *txn, const uint8_t *id, info_t *out)
{
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)id}, v;
	const uint8_t *p;
	size_t sl, pl;
	int rc = mdb_get(txn, self->seen, &k, &v);

	if (rc != 0)
		return rc;
	p = v.mv_data;
	if (v.mv_size < 11)
		return BLO_ECORRUPT;
	sl = p[9];
	if (10 + sl + 1 > v.mv_size)
		return BLO_ECORRUPT;
	pl = p[10 + sl];
	if (11 + sl + pl != v.mv_size || sl > PART_MAX || pl > PART_MAX)
		return BLO_ECORRUPT;
	out->type = p[0];
	out->sent_ms = (int64_t)get_be64(p + 1);
	memcpy(out->site, p + 10, sl);
	out->site[sl] = '\0';
	memcpy(out->principal, p + 11 + sl, pl);
	out->principal[pl] = '\0';
	return 0;
}

/* The version of alert id now counted: *state (0: none) and, if active or
 * cancelled with a known version, the parsed alert in *out (caller frees). */
static int current_get(blo_committee_t *self, MDB_txn *txn, const uint8_t *id, int *state,
		       Blonet__Alert **out)
{
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)id}, v;
	int rc = mdb_get(txn, self->current, &k, &v);

	*state = 0;
	*out = NULL;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size < 1)
		return BLO_ECORRUPT;
	*state = ((const uint8_t *)v.mv_data)[0];
	if (v.mv_size > 1 &&
	    blo_alert_parse(out, (const uint8_t *)v.mv_data + 1, v.mv_size - 1, NULL) != 0)
		return BLO_ECORRUPT;
	return 0;
}

static int current_put(blo_committee_t *self, MDB_txn *txn, const uint8_t *id, int state,
		       const Blonet__Alert *a)
{
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)id}, v;
	uint8_t *bytes = NULL;
	size_t len = 0;
	int rc;

	if (a != NULL && (rc = blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES, &bytes, &len, NULL)) != 0)
		return rc;
	v.mv_size = 1 + len;
	rc = mdb_put(txn, self->current, &k, &v, MDB_RESERVE);
	if (rc == 0) {
		((uint8_t *)v.mv_data)[0] = (uint8_t)state;
		if (len > 0)
			memcpy((uint8_t *)v.mv_data + 1, bytes, len);
	}
	free(bytes);
	return rc;
}

static bool same_principal(const Blonet__Alert *a, const Blonet__Alert *b)
{
	return a->origin != NULL && b->origin != NULL && a->origin->principal != NULL &&
	       b->origin->principal != NULL && strcmp(a->origin->principal, b->origin->principal) == 0;
}

static const uint8_t *first_ref(const Blonet__Alert *a)
{
	return a->n_references > 0 && a->references[0].len == BLO_ID_BYTES ? a->references[0].data : NULL;
}

static int take_alert(blo_committee_t *self, MDB_txn *txn, const Blonet__Alert *a)
{
	Blonet__Alert *cur = NULL;
	int state, rc;

	if ((rc = current_get(self, txn, a->id.data, &state, &cur)) != 0)
		return rc;
	blo_alert_free(&cur);
	if (state != 0)
		return 0; /* an update or cancel came first and decided */
	if ((rc = apply(self, txn, a, +1)) != 0)
		return rc;
	return current_put(self, txn, a->id.data, STATE_ACTIVE, a);
}

static int take_update(blo_committee_t *self, MDB_txn *txn, const Blonet__Alert *a, bool cancel)
{
	const uint8_t *ref = first_ref(a);
	Blonet__Alert *cur = NULL;
	int state, rc;

	if (ref == NULL)
		return 0;
	if ((rc = current_get(self, txn, ref, &state, &cur)) != 0)
		return rc;
	if (state == STATE_CANCELLED || (state == STATE_ACTIVE && cur != NULL && !same_principal(cur, a)))
		goto out; /* too late, or not the originator's to change */
	if (state == STATE_ACTIVE && cur != NULL && (rc = apply(self, txn, cur, -1)) != 0)
		goto out;
	if (cancel) {
		if ((rc = current_put(self, txn, ref, STATE_CANCELLED, cur)) == 0)
			rc = total(self, txn, "cancelled", 1, 0);
	} else {
		/* The update stands for the alert it amends. */
		if ((rc = apply(self, txn, a, +1)) == 0 &&
		    (rc = current_put(self, txn, ref, STATE_ACTIVE, a)) == 0)
			rc = total(self, txn, "updated", 1, 0);
	}
out:
	blo_alert_free(&cur);
	return rc;
}

/* A reply's delay after the message it answers, and the reply time of a
 * pair of sites: the earliest reply of each kind from each site to each
 * message. Deliveries may come in any order (publishers' lines are
 * verified in parallel, links drop), so the earliest by sent_ms counts, not
 * the first to arrive: "replied" keeps the sample that stands, and a later
 * arrival that was sent earlier replaces it. */
static int take_reply(blo_committee_t *self, MDB_txn *txn, const Blonet__Alert *a)
{
	const uint8_t *ref = first_ref(a);
	const char *kind = a->type == BLONET__MESSAGE_TYPE__ACK ? "ACK" : "RESPONSE";
	char to_site[PART_MAX + 1], rkey[BLO_ID_BYTES + 1 + PART_MAX + 1], key[16 + 2 * (PART_MAX + 1)];
	uint8_t sample[SAMPLE_BYTES], old[SAMPLE_BYTES];
	bool have_old = false;
	info_t info;
	MDB_val k, v;
	size_t rl;
	int rc, n;

	key_part(to_site, site_of(a), false, "");
	if (ref == NULL || to_site[0] == '\0' || (rc = seen_get(self, txn, ref, &info)) == MDB_NOTFOUND ||
	    (rc == 0 && info.site[0] == '\0'))
		return total(self, txn, "unmatched_replies", 1, 0);
	if (rc != 0)
		return rc;
	put_be64(sample, (uint64_t)(a->sent_ms > info.sent_ms ? a->sent_ms - info.sent_ms : 0));
	memcpy(sample + 8, a->id.data, BLO_ID_BYTES);
	memcpy(rkey, ref, BLO_ID_BYTES);
	rkey[BLO_ID_BYTES] = kind[0];
	rl = strlen(to_site);
	memcpy(rkey + BLO_ID_BYTES + 1, to_site, rl);
	k.mv_size = BLO_ID_BYTES + 1 + rl;
	k.mv_data = rkey;
	rc = mdb_get(txn, self->replied, &k, &v);
	if (rc == 0 && v.mv_size == SAMPLE_BYTES) {
		if (memcmp(v.mv_data, sample, 8) <= 0)
			return 0; /* the sample that stands was sent no later */
		memcpy(old, v.mv_data, SAMPLE_BYTES);
		have_old = true;
	} else if (rc != MDB_NOTFOUND) {
		return rc == 0 ? BLO_ECORRUPT : rc;
	}
	v.mv_size = SAMPLE_BYTES;
	v.mv_data = sample;
	if ((rc = mdb_put(txn, self->replied, &k, &v, 0)) != 0)
		return rc;
	n = snprintf(key, sizeof(key), "%s%c%s%c%s", kind, SEP, info.site, SEP, to_site);
	if (n < 0 || (size_t)n >= sizeof(key))
		return BLO_ETOOBIG;
	k.mv_size = (size_t)n;
	k.mv_data = key;
	if (have_old) {
		v.mv_size = SAMPLE_BYTES;
		v.mv_data = old;
		rc = mdb_del(txn, self->replies, &k, &v);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	v.mv_size = SAMPLE_BYTES;
	v.mv_data = sample;
	rc = mdb_put(txn, self->replies, &k, &v, MDB_NODUPDATA);
	return rc == MDB_KEYEXIST ? 0 : rc;
}

static int take_bulletin(blo_committee_t *self, MDB_txn *txn, const Blonet__Alert *a)
{
	char norm[4096];
	uint8_t hash[16];
	MDB_val k = {.mv_size = sizeof(hash), .mv_data = hash}, v;
	cJSON *rec = NULL;
	char *text = NULL;
	size_t o = 0;
	bool space = false;
	int rc;

	if (blank(a->modus_operandi))
		return 0;
	/* Case (ASCII) and spacing do not make a new modus operandi. */
	for (const char *s = a->modus_operandi; *s != '\0' && o + 2 < sizeof(norm); s++) {
		unsigned char ch = (unsigned char)*s;

		if (isspace(ch)) {
			space = o > 0;
			continue;
		}
		if (space)
			norm[o++] = ' ';
		space = false;
		norm[o++] = (char)tolower(ch);
	}
	crypto_generichash(hash, sizeof(hash), (const uint8_t *)norm, o, NULL, 0);
	rc = mdb_get(txn, self->mo, &k, &v);
	if (rc == 0) {
		cJSON *c, *l;

		rec = cJSON_ParseWithLength(v.mv_data, v.mv_size);
		if (rec == NULL)
			return BLO_ECORRUPT;
		c = cJSON_GetObjectItemCaseSensitive(rec, "count");
		l = cJSON_GetObjectItemCaseSensitive(rec, "last_ms");
		if (!cJSON_IsNumber(c) || !cJSON_IsNumber(l)) {
			cJSON_Delete(rec);
			return BLO_ECORRUPT;
		}
		cJSON_SetNumberValue(c, c->valuedouble + 1);
		if ((double)a->sent_ms > l->valuedouble)
			cJSON_SetNumberValue(l, (double)a->sent_ms);
	} else if (rc == MDB_NOTFOUND) {
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "modus_operandi", a->modus_operandi);
		cJSON_AddStringToObject(rec, "headline", a->headline != NULL ? a->headline : "");
		cJSON_AddStringToObject(rec, "category",
					enum_name(&blonet__category__descriptor,
						  a->assessment != NULL ? (int)a->assessment->category : 0));
		cJSON_AddStringToObject(rec, "country", a->origin != NULL ? a->origin->country : "");
		cJSON_AddStringToObject(rec, "site", site_of(a));
		cJSON_AddStringToObject(rec, "principal", a->origin != NULL ? a->origin->principal : "");
		cJSON_AddNumberToObject(rec, "first_ms", (double)a->sent_ms);
		cJSON_AddNumberToObject(rec, "last_ms", (double)a->sent_ms);
		cJSON_AddNumberToObject(rec, "count", 1);
	} else {
		return rc;
	}
	text = cJSON_PrintUnformatted(rec);
	cJSON_Delete(rec);
	if (text == NULL)
		return BLO_ENOMEM;
	v.mv_size = strlen(text);
	v.mv_data = text;
	rc = mdb_put(txn, self->mo, &k, &v, 0);
	free(text);
	return rc;
}

static int take(blo_committee_t *self, MDB_txn *txn, blo_committee_input_t *in, int64_t now)
{
	const Blonet__Alert *a = in->alert;
	int rc = seen_put(self, txn, a, in->taken_ms != 0 ? in->taken_ms : now);

	if (rc == MDB_KEYEXIST) {
		in->result = BLO_COMMITTEE_DUPLICATE;
		return total(self, txn, "duplicates", 1, 0);
	}
	if (rc != 0 || (rc = total(self, txn, "messages", 1, 0)) != 0)
		return rc;
	if (!in->verified) {
		in->result = BLO_COMMITTEE_UNVERIFIED;
		return total(self, txn, "unverified", 1, 0);
	}
	in->result = BLO_COMMITTEE_COUNTED;
	if ((rc = counter_add(self, txn, "type", enum_name(&blonet__message_type__descriptor, (int)a->type),
			      NULL, NULL, 1, 0, 0)) != 0)
		return rc;
	switch (a->type) {
	case BLONET__MESSAGE_TYPE__ALERT:
		return take_alert(self, txn, a);
	case BLONET__MESSAGE_TYPE__UPDATE:
		return take_update(self, txn, a, false);
	case BLONET__MESSAGE_TYPE__CANCEL:
		return take_update(self, txn, a, true);
	case BLONET__MESSAGE_TYPE__ACK:
	case BLONET__MESSAGE_TYPE__RESPONSE:
		return take_reply(self, txn, a);
	case BLONET__MESSAGE_TYPE__BULLETIN:
		return take_bulletin(self, txn, a);
	default:
		return 0;
	}
}

/* Grows the map after MDB_MAP_FULL (no transaction open): doubles it up
 * to the limit; forgetting (over_limit) may go 1/16 past it, since deleting
 * needs free pages too. MDB_MAP_FULL when it may not grow. */
static int grow(blo_committee_t *self, bool over_limit)
{
	MDB_envinfo info;
	uint64_t size;

	if (mdb_env_info(self->env, &info) != 0)
		return MDB_MAP_FULL;
	size = (uint64_t)info.me_mapsize;
	if (size < self->limit)
		size = size * 2 < self->limit ? size * 2 : self->limit;
	else if (over_limit && size < self->limit + self->limit / 16)
		size += self->limit / 64 > MB ? self->limit / 64 : MB;
	else
		return MDB_MAP_FULL;
	return mdb_env_set_mapsize(self->env, (size_t)size) == 0 ? 0 : MDB_MAP_FULL;
}

typedef int (*write_fn)(blo_committee_t *self, MDB_txn *txn, void *arg);

/* Runs fn in a write transaction and commits it (synced), growing the map
 * and trying again when full; at the limit: BLO_EFULL, with err saying so. */
static int with_write(blo_committee_t *self, write_fn fn, void *arg, bool over_limit, blo_err_t *err)
{
	int rc = 0;

	for (int attempt = 0; attempt < GROW_TRIES; attempt++) {
		MDB_txn *txn = NULL;

		if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
			break;
		if ((rc = fn(self, txn, arg)) != 0)
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
		if (rc != MDB_MAP_FULL || grow(self, over_limit) != 0)
			break;
	}
	if (rc == MDB_MAP_FULL)
		return blo_err_set(err, BLO_EFULL,
				   "committee store %s is full (limit %llu MB): nothing more is taken in, "
				   "and the broker keeps delivering it, until the limit is raised "
				   "(--store-mb) or old per-message entries are forgotten (--keep-days)",
				   self->dir, (unsigned long long)(self->limit / MB));
	if (rc != 0)
		return blo_err_set(err, rc, "committee store %s: %s", self->dir, blo_strerror(rc));
	return 0;
}

typedef struct {
	blo_committee_input_t *in;
	size_t n;
	int64_t now;
} ingest_arg_t;

static int ingest_fn(blo_committee_t *self, MDB_txn *txn, void *arg)
{
	ingest_arg_t *a = arg;
	int rc = 0;

	for (size_t i = 0; i < a->n && rc == 0; i++)
		rc = take(self, txn, &a->in[i], a->now);
	return rc;
}

int blo_committee_ingest(blo_committee_t *self, blo_committee_input_t *in, size_t n, blo_err_t *err)
{
	ingest_arg_t a = {.in = in, .n = n, .now = (int64_t)time(NULL) * 1000};

	assert(self != NULL);
	for (size_t i = 0; i < n; i++)
		if (in[i].alert == NULL || in[i].alert->id.len != BLO_ID_BYTES)
			return blo_err_set(err, BLO_EINVAL, "message %zu has no 16-byte id", i);
	if (n == 0)
		return 0;
	return with_write(self, ingest_fn, &a, false, err);
}

/* ---------------------------------------------------------------- retention */

static int delete_key(MDB_txn *txn, MDB_dbi dbi, const uint8_t *key, size_t len)
{
	MDB_val k = {.mv_size = len, .mv_data = (void *)key};
	int rc = mdb_del(txn, dbi, &k, NULL);

	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The "replied" entries of id: their keys start with it. */
static int forget_replied(blo_committee_t *self, MDB_txn *txn, const uint8_t *id)
{
	MDB_cursor *c = NULL;
	MDB_val k = {.mv_size = BLO_ID_BYTES, .mv_data = (void *)id}, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, self->replied, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < BLO_ID_BYTES || memcmp(k.mv_data, id, BLO_ID_BYTES) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* Everything kept for one message. ref: what an UPDATE or CANCEL referred
 * to, whose "current" entry it made when its alert was never seen. */
static int forget_message(blo_committee_t *self, MDB_txn *txn, const uint8_t *id, const uint8_t *ref)
{
	MDB_val k, v;
	int rc;

	if ((rc = delete_key(txn, self->seen, id, BLO_ID_BYTES)) != 0 ||
	    (rc = delete_key(txn, self->current, id, BLO_ID_BYTES)) != 0 ||
	    (rc = forget_replied(self, txn, id)) != 0)
		return rc;
	if (ref == NULL)
		return 0;
	k.mv_size = BLO_ID_BYTES;
	k.mv_data = (void *)ref;
	rc = mdb_get(txn, self->seen, &k, &v);
	if (rc == 0)
		return 0; /* its alert is indexed: forgotten with it */
	if (rc != MDB_NOTFOUND)
		return rc;
	return delete_key(txn, self->current, ref, BLO_ID_BYTES);
}

typedef struct {
	int64_t before_ms;
	uint64_t forgotten; /* in this transaction */
	bool done;
} prune_arg_t;

static int prune_fn(blo_committee_t *self, MDB_txn *txn, void *arg)
{
	prune_arg_t *a = arg;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc;

	a->forgotten = 0;
	a->done = true;
	if ((rc = mdb_cursor_open(txn, self->taken, &c)) != 0)
		return rc;
	/* After mdb_cursor_del, MDB_NEXT yields the entry that followed. */
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint8_t id[BLO_ID_BYTES], ref[BLO_ID_BYTES];
		bool has_ref = v.mv_size == BLO_ID_BYTES;

		if (k.mv_size != TAKEN_KEY) {
			rc = BLO_ECORRUPT;
			break;
		}
		if ((int64_t)get_be64(k.mv_data) >= a->before_ms)
			break;
		if (a->forgotten == PRUNE_BATCH) {
			a->done = false;
			break;
		}
		memcpy(id, (const uint8_t *)k.mv_data + 8, BLO_ID_BYTES);
		if (has_ref)
			memcpy(ref, v.mv_data, BLO_ID_BYTES);
		if ((rc = mdb_cursor_del(c, 0)) != 0 ||
		    (rc = forget_message(self, txn, id, has_ref ? ref : NULL)) != 0)
			break;
		a->forgotten++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int touch_fn(blo_committee_t *self, MDB_txn *txn, void *arg)
{
	MDB_val k = {.mv_size = 6, .mv_data = "format"}, v = {.mv_size = strlen(FORMAT), .mv_data = FORMAT};

	(void)arg;
	return mdb_put(txn, self->meta, &k, &v, 0);
}

int blo_committee_prune(blo_committee_t *self, int64_t before_ms, uint64_t *forgotten, blo_err_t *err)
{
	prune_arg_t a = {.before_ms = before_ms};
	uint64_t total = 0;
	int rc;

	assert(self != NULL);
	do {
		rc = with_write(self, prune_fn, &a, true, err);
		if (rc == 0)
			total += a.forgotten;
	} while (rc == 0 && !a.done);
	/* LMDB gives writers the pages a transaction freed only from the second
	 * commit after it: one small commit, so the room is there at once. */
	if (rc == 0 && total > 0)
		rc = with_write(self, touch_fn, NULL, true, err);
	if (forgotten != NULL)
		*forgotten = total;
	return rc;
}

int blo_committee_prune_due(blo_committee_t *self, uint64_t *forgotten, blo_err_t *err)
{
	int64_t now = (int64_t)time(NULL) * 1000, tick = blo_mono_ms();

	assert(self != NULL);
	if (forgotten != NULL)
		*forgotten = 0;
	/* When it runs goes by the monotonic clock, what it forgets by the
	 * wall clock (the messages' times). */
	if (self->keep_days <= 0 || tick < self->next_prune_ms)
		return 0;
	self->next_prune_ms = tick + PRUNE_EVERY_MS;
	return blo_committee_prune(self, now - (int64_t)self->keep_days * DAY_MS, forgotten, err);
}

int blo_committee_indexed(blo_committee_t *self, uint64_t *messages)
{
	MDB_txn *txn = NULL;
	MDB_stat st;
	int rc;

	assert(self != NULL);
	*messages = 0;
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_stat(txn, self->seen, &st)) == 0)
		*messages = st.ms_entries;
	mdb_txn_abort(txn);
	return rc;
}

/* ---------------------------------------------------------------- snapshot */

static int table_add(blo_committee_table_t *t, char **parts, size_t n_parts, const int64_t val[3])
{
	blo_committee_row_t *grown = realloc(t->rows, (t->n + 1) * sizeof(*grown)), *r;

	if (grown == NULL)
		return BLO_ENOMEM;
	t->rows = grown;
	r = &t->rows[t->n];
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < BLO_COMMITTEE_PARTS; i++) {
		r->parts[i] = strdup(i < n_parts ? parts[i] : "");
		if (r->parts[i] == NULL) {
			for (size_t k = 0; k < i; k++)
				free(r->parts[k]);
			return BLO_ENOMEM;
		}
	}
	r->count = val[0];
	r->quantity_milli = val[1];
	r->extra = val[2];
	t->n++;
	return 0;
}

static int cmp_key(const blo_committee_row_t *a, const blo_committee_row_t *b)
{
	for (int i = 0; i < BLO_COMMITTEE_PARTS; i++) {
		int c = strcmp(a->parts[i], b->parts[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

static int cmp_by_key(const void *x, const void *y)
{
	return cmp_key(x, y);
}

static int cmp_by_count(const void *x, const void *y)
{
	const blo_committee_row_t *a = x, *b = y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return cmp_key(a, b);
}

static void table_free(blo_committee_table_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		for (int k = 0; k < BLO_COMMITTEE_PARTS; k++)
			free(t->rows[i].parts[k]);
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}

static blo_committee_table_t *table_of(blo_committee_snapshot_t *s, const char *dim)
{
	static const struct {
		const char *dim;
		size_t offset;
	} map[] = {
		{"type", offsetof(blo_committee_snapshot_t, types)},
		{"category", offsetof(blo_committee_snapshot_t, categories)},
		{"severity", offsetof(blo_committee_snapshot_t, severities)},
		{"crossing", offsetof(blo_committee_snapshot_t, crossings)},
		{"route", offsetof(blo_committee_snapshot_t, routes)},
		{"agency", offsetof(blo_committee_snapshot_t, agencies)},
		{"week", offsetof(blo_committee_snapshot_t, weeks)},
		{"week_category", offsetof(blo_committee_snapshot_t, week_categories)},
		{"commodity", offsetof(blo_committee_snapshot_t, commodities)},
		{"category_unit", offsetof(blo_committee_snapshot_t, category_units)},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].dim, dim) == 0)
			return (blo_committee_table_t *)((char *)s + map[i].offset);
	return NULL;
}

static void set_total(blo_committee_snapshot_t *s, const char *what, const int64_t val[3])
{
	if (strcmp(what, "messages") == 0)
		s->messages = val[0];
	else if (strcmp(what, "duplicates") == 0)
		s->duplicates = val[0];
	else if (strcmp(what, "unverified") == 0)
		s->unverified = val[0];
	else if (strcmp(what, "alerts") == 0) {
		s->alerts = val[0];
		s->seizures = val[2];
	} else if (strcmp(what, "updated") == 0)
		s->updated = val[0];
	else if (strcmp(what, "cancelled") == 0)
		s->cancelled = val[0];
	else if (strcmp(what, "unmatched_replies") == 0)
		s->unmatched_replies = val[0];
}

static int read_counters(blo_committee_t *self, MDB_txn *txn, blo_committee_snapshot_t *s)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, self->counters, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char key[8 + 3 * (PART_MAX + 1) + 4], *parts[1 + BLO_COMMITTEE_PARTS];
		size_t np = 0;
		int64_t val[3];
		blo_committee_table_t *t;

		if (k.mv_size >= sizeof(key) || v.mv_size != 24) {
			rc = BLO_ECORRUPT;
			break;
		}
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		parts[np++] = key;
		for (char *p = key; *p != '\0' && np < 1 + BLO_COMMITTEE_PARTS; p++) {
			if (*p == SEP) {
				*p = '\0';
				parts[np++] = p + 1;
			}
		}
		for (int i = 0; i < 3; i++)
			val[i] = (int64_t)get_be64((const uint8_t *)v.mv_data + 8 * i);
		if (strcmp(parts[0], "total") == 0) {
			if (np > 1)
				set_total(s, parts[1], val);
			continue;
		}
		if ((t = table_of(s, parts[0])) == NULL)
			continue; /* a dimension of a later format */
		if ((rc = table_add(t, parts + 1, np - 1, val)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int read_replies(blo_committee_t *self, MDB_txn *txn, blo_committee_snapshot_t *s)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int64_t *samples = NULL;
	size_t cap = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, self->replies, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP)) {
		char key[16 + 2 * (PART_MAX + 1)], *from, *to;
		blo_committee_reply_stat_t *st, *grown;
		size_t n = 0;
		MDB_val dk, dv;

		if (k.mv_size >= sizeof(key)) {
			rc = BLO_ECORRUPT;
			break;
		}
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		from = strchr(key, SEP);
		to = from != NULL ? strchr(from + 1, SEP) : NULL;
		if (to == NULL) {
			rc = BLO_ECORRUPT;
			break;
		}
		*from++ = '\0';
		*to++ = '\0';
		/* Samples are sorted: latency is their big-endian prefix. */
		for (int r = mdb_cursor_get(c, &dk, &dv, MDB_FIRST_DUP); r == 0;
		     r = mdb_cursor_get(c, &dk, &dv, MDB_NEXT_DUP)) {
			if (dv.mv_size != SAMPLE_BYTES)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				int64_t *g = realloc(samples, nc * sizeof(*g));

				if (g == NULL) {
					rc = BLO_ENOMEM;
					goto out;
				}
				samples = g;
				cap = nc;
			}
			samples[n++] = (int64_t)get_be64(dv.mv_data);
		}
		if (n == 0)
			continue;
		grown = realloc(s->replies, (s->n_replies + 1) * sizeof(*grown));
		if (grown == NULL) {
			rc = BLO_ENOMEM;
			break;
		}
		s->replies = grown;
		st = &s->replies[s->n_replies];
		memset(st, 0, sizeof(*st));
		st->kind = strdup(key);
		st->from_site = strdup(from);
		st->to_site = strdup(to);
		s->n_replies++;
		if (st->kind == NULL || st->from_site == NULL || st->to_site == NULL) {
			rc = BLO_ENOMEM;
			break;
		}
		st->n = n;
		st->median_ms = blo_committee_percentile(samples, n, 50);
		st->p90_ms = blo_committee_percentile(samples, n, 90);
		st->min_ms = samples[0];
		st->max_ms = samples[n - 1];
	}
out:
	free(samples);
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return strdup(cJSON_IsString(v) ? v->valuestring : "");
}

static int64_t json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int cmp_mo(const void *x, const void *y)
{
	const blo_committee_mo_t *a = x, *b = y;

	if (a->first_ms != b->first_ms)
		return a->first_ms > b->first_ms ? -1 : 1;
	return strcmp(a->modus_operandi, b->modus_operandi);
}

static int read_mo(blo_committee_t *self, MDB_txn *txn, blo_committee_snapshot_t *s)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, self->mo, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		cJSON *rec = cJSON_ParseWithLength(v.mv_data, v.mv_size);
		blo_committee_mo_t *grown, *m;

		if (rec == NULL) {
			rc = BLO_ECORRUPT;
			break;
		}
		grown = realloc(s->mo, (s->n_mo + 1) * sizeof(*grown));
		if (grown == NULL) {
			cJSON_Delete(rec);
			rc = BLO_ENOMEM;
			break;
		}
		s->mo = grown;
		m = &s->mo[s->n_mo++];
		m->modus_operandi = json_str(rec, "modus_operandi");
		m->headline = json_str(rec, "headline");
		m->category = json_str(rec, "category");
		m->country = json_str(rec, "country");
		m->site = json_str(rec, "site");
		m->principal = json_str(rec, "principal");
		m->first_ms = json_num(rec, "first_ms");
		m->last_ms = json_num(rec, "last_ms");
		m->count = json_num(rec, "count");
		cJSON_Delete(rec);
		if (m->modus_operandi == NULL || m->headline == NULL || m->category == NULL ||
		    m->country == NULL || m->site == NULL || m->principal == NULL) {
			rc = BLO_ENOMEM;
			break;
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* qsort, but not of an empty table (its rows may be NULL). */
static void sort_rows(blo_committee_table_t *t, int (*cmp)(const void *, const void *))
{
	if (t->n > 1)
		qsort(t->rows, t->n, sizeof(blo_committee_row_t), cmp);
}

int blo_committee_snapshot(blo_committee_t *self, blo_committee_snapshot_t *out, blo_err_t *err)
{
	MDB_txn *txn = NULL;
	int rc;

	assert(self != NULL);
	memset(out, 0, sizeof(*out));
	out->week_offset_min = self->week_offset_min;
	if ((rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn)) != 0)
		return blo_err_set(err, rc, "committee store %s: %s", self->dir, mdb_strerror(rc));
	if ((rc = read_counters(self, txn, out)) == 0 && (rc = read_replies(self, txn, out)) == 0)
		rc = read_mo(self, txn, out);
	mdb_txn_abort(txn);
	if (rc != 0) {
		blo_committee_snapshot_free(out);
		return blo_err_set(err, rc, "committee store %s: %s", self->dir, blo_strerror(rc));
	}
	sort_rows(&out->types, cmp_by_count);
	sort_rows(&out->categories, cmp_by_count);
	sort_rows(&out->severities, cmp_by_count);
	sort_rows(&out->crossings, cmp_by_count);
	sort_rows(&out->routes, cmp_by_count);
	sort_rows(&out->agencies, cmp_by_count);
	sort_rows(&out->weeks, cmp_by_key);
	sort_rows(&out->week_categories, cmp_by_key);
	sort_rows(&out->commodities, cmp_by_count);
	sort_rows(&out->category_units, cmp_by_key);
	if (out->n_mo > 1)
		qsort(out->mo, out->n_mo, sizeof(blo_committee_mo_t), cmp_mo);
	return 0;
}

void blo_committee_snapshot_free(blo_committee_snapshot_t *s)
{
	if (s == NULL)
		return;
	table_free(&s->types);
	table_free(&s->categories);
	table_free(&s->severities);
	table_free(&s->crossings);
	table_free(&s->routes);
	table_free(&s->agencies);
	table_free(&s->weeks);
	table_free(&s->week_categories);
	table_free(&s->commodities);
	table_free(&s->category_units);
	for (size_t i = 0; i < s->n_replies; i++) {
		free(s->replies[i].kind);
		free(s->replies[i].from_site);
		free(s->replies[i].to_site);
	}
	free(s->replies);
	for (size_t i = 0; i < s->n_mo; i++) {
		free(s->mo[i].modus_operandi);
		free(s->mo[i].headline);
		free(s->mo[i].category);
		free(s->mo[i].country);
		free(s->mo[i].site);
		free(s->mo[i].principal);
	}
	free(s->mo);
	memset(s, 0, sizeof(*s));
}
