/*
 * blo_committee: a national committee's aggregates, kept in LMDB as alerts
 * arrive, so that a report never recomputes anything from the alerts and
 * the figures survive restarts. Each message id is taken in once: it is
 * marked seen in the same transaction that adds its contribution, and a
 * batch is committed (and synced) as a whole, so a restart in the middle of
 * a stream neither counts a message twice nor misses one, provided the
 * caller acknowledges deliveries only after blo_committee_ingest returns.
 *
 * What is kept:
 * - messages by type; alerts (type ALERT) by category, severity, crossing
 *   (location.site, else origin.site), route (from/to country), origin
 *   (country and agency kind) and ISO week (of observed_ms, else sent_ms,
 *   at the store's UTC offset), and by week and category;
 * - seizures (alerts with at least one commodity) by category and crossing;
 *   commodity lines and quantities by commodity (kind, name, unit) and by
 *   category and unit (quantities in thousandths, exact);
 * - for ACKs and RESPONSEs: the time from the referenced message's sent_ms
 *   to the reply's sent_ms, per pair of sites (the referenced message's
 *   site -> the replying site), for the earliest reply (by sent_ms,
 *   whatever the order of arrival) of each kind per message and replying
 *   site only; median and p90 are nearest-rank over every sample kept;
 * - bulletins' modus operandi texts (the same text, up to case and
 *   spacing, is one entry, counted), with when each was first and last seen.
 * An UPDATE from the alert's originator replaces the alert's contribution
 * with its own; a CANCEL from its originator removes it (counted as
 * cancelled); an UPDATE or CANCEL from anyone else changes nothing. An
 * unverified message is counted as such and contributes nothing else.
 *
 * Retention: the aggregates above are kept for good (they are small: one
 * row per key, and a 24-byte sample per reply for exact medians). What is
 * kept per message (the id seen, the version of an alert now counted, the
 * reply that stands per message and site) is kept for keep_days after the
 * message was taken in, then forgotten (blo_committee_prune), so the store
 * stays bounded. keep_days must be longer than any broker keeps a message
 * (the provisioned default is 90 days): within it a redelivery is a
 * duplicate; after it, nothing can deliver the message again. A message
 * that refers to a forgotten one is treated as if that one had never been
 * seen: a reply counts as unmatched, an UPDATE stands in for its alert (so
 * an UPDATE sent more than keep_days after its alert counts the alert a
 * second time, at the week it names), a CANCEL is counted and changes
 * nothing. The store never grows past its size limit: ingest then fails
 * with BLO_EFULL, saying so, and nothing of the batch is taken in.
 */
#ifndef BLO_COMMITTEE_H
#define BLO_COMMITTEE_H

#include "blo_err.h"
#include "blonet.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blo_committee blo_committee_t;

typedef struct {
	/* Minutes east of UTC for ISO weeks (420 for UTC+7). Fixed when the
	 * store is created: opening it with another value is BLO_ECONFIG, since
	 * weeks already counted cannot be moved. */
	int week_offset_min;
	bool week_offset_set; /* false: take the store's (0 for a new store) */
	/* The per-message index is forgotten this long after a message was
	 * taken in (by blo_committee_prune_due); 0: kept for good. */
	int keep_days;
	uint64_t store_mb; /* the store's size limit; 0: BLO_COMMITTEE_STORE_DEFAULT_MB */
} blo_committee_opts_t;

#define BLO_COMMITTEE_STORE_DEFAULT_MB 1024
#define BLO_COMMITTEE_DEFAULT_KEEP_DAYS 400

/* Opens (creating it and the folder) the committee store in dir. *out is
 * the caller's: close with blo_committee_close. */
int blo_committee_open(blo_committee_t **out, const char *dir, const blo_committee_opts_t *opts,
		       blo_err_t *err);
void blo_committee_close(blo_committee_t **self_p);

/* One message to take in. */
typedef enum {
	BLO_COMMITTEE_COUNTED = 1, /* new: its contribution is stored */
	BLO_COMMITTEE_DUPLICATE,   /* seen before: nothing changed */
	BLO_COMMITTEE_UNVERIFIED   /* new, but not verified: counted as such only */
} blo_committee_result_t;

typedef struct {
	const Blonet__Alert *alert; /* borrowed; must have a 16-byte id */
	bool verified;              /* its signature verified against the registry */
	int64_t taken_ms;           /* when it was taken in, for retention; 0: now */
	blo_committee_result_t result; /* out */
} blo_committee_input_t;

/* Takes in[0..n) in one synced write transaction: all or nothing.
 * BLO_EFULL (err says so) when the store is at its size limit. */
int blo_committee_ingest(blo_committee_t *self, blo_committee_input_t *in, size_t n,
			 blo_err_t *err);

/* Forgets what is kept per message for messages taken in before before_ms
 * (the aggregates stay), in synced transactions of a few thousand.
 * *forgotten (optional): how many messages. */
int blo_committee_prune(blo_committee_t *self, int64_t before_ms, uint64_t *forgotten,
			blo_err_t *err);

/* blo_committee_prune of what is older than opts.keep_days, if that is set
 * and an hour has passed since the last time (or this is the first).
 * *forgotten as above. */
int blo_committee_prune_due(blo_committee_t *self, uint64_t *forgotten, blo_err_t *err);

/* How many messages the per-message index holds now. */
int blo_committee_indexed(blo_committee_t *self, uint64_t *messages);

/* ---- reading the aggregates ---- */

#define BLO_COMMITTEE_PARTS 3

/* One row of a table: up to three key parts (unused: ""), a count, a
 * quantity in thousandths of its unit, and a second count (seizures). */
typedef struct {
	char *parts[BLO_COMMITTEE_PARTS];
	int64_t count;
	int64_t quantity_milli;
	int64_t extra;
} blo_committee_row_t;

typedef struct {
	blo_committee_row_t *rows;
	size_t n;
} blo_committee_table_t;

typedef struct {
	char *kind;      /* "ACK" or "RESPONSE" */
	char *from_site; /* the site of the message replied to */
	char *to_site;   /* the site that replied */
	size_t n;
	int64_t median_ms, p90_ms, min_ms, max_ms;
} blo_committee_reply_stat_t;

typedef struct {
	char *modus_operandi, *headline, *category, *country, *site, *principal;
	int64_t first_ms, last_ms, count;
} blo_committee_mo_t;

/* The tables, each sorted: weeks and pairs by key, the rest by count
 * (largest first) then key. */
typedef struct {
	int week_offset_min;
	int64_t messages, duplicates, unverified;
	int64_t alerts;      /* ALERTs counted now (cancelled ones left out) */
	int64_t seizures;    /* of those, with a commodity */
	int64_t updated, cancelled, unmatched_replies;
	blo_committee_table_t types;         /* [type] count */
	blo_committee_table_t categories;    /* [category] count, extra = seizures */
	blo_committee_table_t severities;    /* [severity] count */
	blo_committee_table_t crossings;     /* [site] count, extra = seizures */
	blo_committee_table_t routes;        /* [from, to] count */
	blo_committee_table_t agencies;      /* [country, agency] count */
	blo_committee_table_t weeks;         /* [week] count */
	blo_committee_table_t week_categories; /* [week, category] count */
	blo_committee_table_t commodities;   /* [kind, name, unit] count = lines, quantity */
	blo_committee_table_t category_units; /* [category, unit] count = lines, quantity */
	blo_committee_reply_stat_t *replies;
	size_t n_replies;
	blo_committee_mo_t *mo; /* newest first */
	size_t n_mo;
} blo_committee_snapshot_t;

/* Reads every aggregate in one read transaction into *out (the caller's:
 * free with blo_committee_snapshot_free). */
int blo_committee_snapshot(blo_committee_t *self, blo_committee_snapshot_t *out, blo_err_t *err);
void blo_committee_snapshot_free(blo_committee_snapshot_t *s);

/* ---- helpers, public for their tests ---- */

/* The ISO 8601 week of ms (+ offset_min minutes) as "2026-W48". */
void blo_committee_iso_week(int64_t ms, int offset_min, char out[16]);

/* The nearest-rank percentile (0 < pct <= 100) of sorted[0..n), n > 0. */
int64_t blo_committee_percentile(const int64_t *sorted, size_t n, int pct);

#endif
