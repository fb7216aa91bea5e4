/*
 * Unit tests of blo_committee: aggregates kept as messages are taken in
 * (categories, crossings, routes, agencies, ISO weeks, exact quantities),
 * each id counted once, updates and cancels by the originator, reply times
 * per pair of BLOs with nearest-rank median and p90, modus operandi from
 * bulletins, unverified messages, everything surviving a reopen, and
 * retention: the per-message index forgotten after keep_days while the
 * aggregates stay, and a size limit that refuses with BLO_EFULL.
 */
#include "blo_test.h"

#include "blo_committee.h"

#include <lmdb.h>
#include <time.h>

#define T0 1795860000000LL /* Saturday 2026-11-28 10:00 UTC */
#define DAY 86400000LL

typedef struct {
	char *dir;
	blo_committee_t *c;
	blo_committee_snapshot_t s;
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = blo_test_mkdtemp();
	E(blo_committee_open(&f->c, f->dir, NULL, NULL));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	blo_committee_snapshot_free(&f->s);
	blo_committee_close(&f->c);
	blo_test_rmdir(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* An alert from JSON; "id" is n repeated, references[0] is ref if ref > 0. */
static Blonet__Alert *msg(int n, int ref, const char *json)
{
	char *text = NULL;
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};
	char id[33], rid[33];

	for (int i = 0; i < 16; i++) {
		snprintf(id + 2 * i, 3, "%02x", n & 0xff);
		snprintf(rid + 2 * i, 3, "%02x", ref & 0xff);
	}
	if (ref > 0)
		assert_true(asprintf(&text, "{\"id\":\"%s\",\"references\":[\"%s\"],%s", id, rid, json + 1) > 0);
	else
		assert_true(asprintf(&text, "{\"id\":\"%s\",%s", id, json + 1) > 0);
	if (blo_json_to_alert(&a, text, strlen(text), &err) != 0)
		fail_msg("%s: %s", text, err.msg);
	free(text);
	return a;
}

static void take(fixture_t *f, Blonet__Alert **a, size_t n, bool verified)
{
	blo_committee_input_t in[16];

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		in[i] = (blo_committee_input_t){.alert = a[i], .verified = verified};
	E(blo_committee_ingest(f->c, in, n, NULL));
	for (size_t i = 0; i < n; i++)
		blo_alert_free(&a[i]);
}

static void take1(fixture_t *f, Blonet__Alert *a)
{
	take(f, &a, 1, true);
}

static void snap(fixture_t *f)
{
	blo_committee_snapshot_free(&f->s);
	E(blo_committee_snapshot(f->c, &f->s, NULL));
}

/* The row of table t with key parts p1 (p2, p3: NULL to ignore). */
static const blo_committee_row_t *row(const blo_committee_table_t *t, const char *p1, const char *p2,
				      const char *p3)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].parts[0], p1) == 0 && (p2 == NULL || strcmp(t->rows[i].parts[1], p2) == 0) &&
		    (p3 == NULL || strcmp(t->rows[i].parts[2], p3) == 0))
			return &t->rows[i];
	return NULL;
}

static int64_t count_of(const blo_committee_table_t *t, const char *p1, const char *p2)
{
	const blo_committee_row_t *r = row(t, p1, p2, NULL);

	return r != NULL ? r->count : 0;
}

#define ORIGIN(p, agency, site) \
	"\"origin\":{\"principal\":\"" p "\",\"agency\":\"" agency "\",\"country\":\"TH\",\"site\":\"" site "\"}"
#define CUSTOMS ORIGIN("th-customs-maesai", "CUSTOMS", "TH-MAESAI")
#define IMMIG ORIGIN("th-immigration-chiangkhong", "IMMIGRATION", "TH-CHIANGKHONG")
#define CONSOLE_CK ORIGIN("th-console-chiangkhong", "COORDINATION", "TH-CHIANGKHONG")
#define CONSOLE_MS ORIGIN("th-console-maesai", "COORDINATION", "TH-MAESAI")

static Blonet__Alert *drugs(int n, int64_t sent, double tablets)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"sent_ms\":%lld," CUSTOMS ","
		 "\"assessment\":{\"category\":\"DRUGS\",\"severity\":\"SEVERE\"},"
		 "\"handling\":{\"tlp\":\"TLP_AMBER\"},\"location\":{\"site\":\"TH-MAESAI\","
		 "\"route\":{\"from_country\":\"MM\",\"to_country\":\"TH\"}},\"headline\":\"yaba\","
		 "\"commodities\":[{\"kind\":\"DRUG\",\"name\":\" Methamphetamine   TABLETS\","
		 "\"quantity\":%.3f,\"unit\":\"TABLET\"}]}",
		 (long long)sent, tablets);
	return msg(n, 0, json);
}

static Blonet__Alert *tip(int n, int64_t sent)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"sent_ms\":%lld," IMMIG ","
		 "\"assessment\":{\"category\":\"TRAFFICKING_IN_PERSONS\"},"
		 "\"handling\":{\"tlp\":\"TLP_AMBER\"},\"location\":{\"site\":\"TH-CHIANGKHONG\","
		 "\"route\":{\"from_country\":\"LA\",\"to_country\":\"TH\"}},\"headline\":\"victims\"}",
		 (long long)sent);
	return msg(n, 0, json);
}

static void test_alerts_are_counted_by_category_crossing_route_agency_and_week(void **state)
{
	fixture_t *f = *state;
	Blonet__Alert *a[4] = {drugs(1, T0, 1000), drugs(2, T0 + 2 * DAY, 500), tip(3, T0 + 7 * DAY),
			       tip(4, T0)};

	take(f, a, 4, true);
	snap(f);
	assert_int_equal(f->s.messages, 4);
	assert_int_equal(f->s.alerts, 4);
	assert_int_equal(f->s.seizures, 2);
	assert_int_equal(count_of(&f->s.categories, "DRUGS", NULL), 2);
	assert_int_equal(row(&f->s.categories, "DRUGS", NULL, NULL)->extra, 2);
	assert_int_equal(count_of(&f->s.categories, "TRAFFICKING_IN_PERSONS", NULL), 2);
	assert_int_equal(row(&f->s.categories, "TRAFFICKING_IN_PERSONS", NULL, NULL)->extra, 0);
	assert_int_equal(count_of(&f->s.crossings, "TH-MAESAI", NULL), 2);
	assert_int_equal(count_of(&f->s.crossings, "TH-CHIANGKHONG", NULL), 2);
	assert_int_equal(count_of(&f->s.routes, "MM", "TH"), 2);
	assert_int_equal(count_of(&f->s.routes, "LA", "TH"), 2);
	assert_int_equal(count_of(&f->s.agencies, "TH", "CUSTOMS"), 2);
	assert_int_equal(count_of(&f->s.agencies, "TH", "IMMIGRATION"), 2);
	assert_int_equal(count_of(&f->s.severities, "SEVERE", NULL), 2);
	assert_int_equal(count_of(&f->s.severities, "SEVERITY_UNKNOWN", NULL), 2);
	/* Saturday T0 is in W48, Monday T0+2d in W49, T0+7d in W49 too. */
	assert_int_equal(count_of(&f->s.weeks, "2026-W48", NULL), 2);
	assert_int_equal(count_of(&f->s.weeks, "2026-W49", NULL), 2);
	assert_int_equal(count_of(&f->s.week_categories, "2026-W49", "DRUGS"), 1);
	assert_int_equal(count_of(&f->s.week_categories, "2026-W49", "TRAFFICKING_IN_PERSONS"), 1);
	assert_int_equal(count_of(&f->s.types, "ALERT", NULL), 4);
	/* Weeks come sorted by key; categories by count. */
	assert_string_equal(f->s.weeks.rows[0].parts[0], "2026-W48");
}

static void test_quantities_are_exact_and_names_merge_case_and_spacing(void **state)
{
	fixture_t *f = *state;
	const blo_committee_row_t *r;

	for (int i = 1; i <= 10; i++)
		take1(f, drugs(i, T0, 0.1));
	take1(f, drugs(11, T0, 123456789.125));
	snap(f);
	r = row(&f->s.commodities, "DRUG", "methamphetamine tablets", "TABLET");
	assert_non_null(r);
	assert_int_equal(r->count, 11);
	assert_int_equal(r->quantity_milli, 123456789125 + 1000);
	r = row(&f->s.category_units, "DRUGS", "TABLET", NULL);
	assert_int_equal(r->quantity_milli, 123456790125);
	assert_int_equal(f->s.commodities.n, 1);
}

static void test_a_message_taken_again_counts_once(void **state)
{
	fixture_t *f = *state;
	Blonet__Alert *a[2] = {drugs(1, T0, 10), drugs(1, T0, 10)};
	blo_committee_input_t in = {0};
	Blonet__Alert *again = drugs(1, T0, 10);

	take(f, a, 2, true);
	in.alert = again;
	in.verified = true;
	E(blo_committee_ingest(f->c, &in, 1, NULL));
	assert_int_equal(in.result, BLO_COMMITTEE_DUPLICATE);
	blo_alert_free(&again);
	snap(f);
	assert_int_equal(f->s.messages, 1);
	assert_int_equal(f->s.duplicates, 2);
	assert_int_equal(f->s.alerts, 1);
	assert_int_equal(row(&f->s.commodities, "DRUG", "methamphetamine tablets", "TABLET")->quantity_milli,
			 10000);
}

static void test_an_update_replaces_its_alert_contribution(void **state)
{
	fixture_t *f = *state;

	take1(f, drugs(1, T0, 1000));
	/* The originator corrects the count and the category. */
	take1(f, msg(2, 1,
		     "{\"type\":\"UPDATE\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CUSTOMS ","
		     "\"assessment\":{\"category\":\"PRECURSORS\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},"
		     "\"location\":{\"site\":\"TH-MAESAI\"},\"headline\":\"it was ephedrine\","
		     "\"commodities\":[{\"kind\":\"PRECURSOR\",\"name\":\"ephedrine\",\"quantity\":25,"
		     "\"unit\":\"KILOGRAM\"}]}"));
	snap(f);
	assert_int_equal(f->s.alerts, 1);
	assert_int_equal(f->s.updated, 1);
	assert_int_equal(count_of(&f->s.categories, "DRUGS", NULL), 0);
	assert_null(row(&f->s.categories, "DRUGS", NULL, NULL));
	assert_int_equal(count_of(&f->s.categories, "PRECURSORS", NULL), 1);
	assert_null(row(&f->s.commodities, "DRUG", "methamphetamine tablets", "TABLET"));
	assert_int_equal(row(&f->s.commodities, "PRECURSOR", "ephedrine", "KILOGRAM")->quantity_milli, 25000);
	assert_null(row(&f->s.routes, "MM", "TH", NULL)); /* the update has no route */
	assert_int_equal(count_of(&f->s.types, "UPDATE", NULL), 1);
}

static void test_a_cancel_removes_the_alert_and_its_rows(void **state)
{
	fixture_t *f = *state;

	take1(f, drugs(1, T0, 1000));
	take1(f, tip(2, T0));
	take1(f, msg(3, 1, "{\"type\":\"CANCEL\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CUSTOMS
			   ",\"handling\":{\"tlp\":\"TLP_AMBER\"}}"));
	snap(f);
	assert_int_equal(f->s.alerts, 1);
	assert_int_equal(f->s.seizures, 0);
	assert_int_equal(f->s.cancelled, 1);
	assert_null(row(&f->s.categories, "DRUGS", NULL, NULL));
	assert_null(row(&f->s.crossings, "TH-MAESAI", NULL, NULL));
	assert_int_equal(f->s.commodities.n, 0);
	/* An update after the cancel changes nothing. */
	take1(f, msg(4, 1, "{\"type\":\"UPDATE\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CUSTOMS
			   ",\"assessment\":{\"category\":\"DRUGS\"},\"handling\":{\"tlp\":\"TLP_AMBER\"}}"));
	snap(f);
	assert_int_equal(f->s.alerts, 1);
}

static void test_updates_and_cancels_of_others_change_nothing(void **state)
{
	fixture_t *f = *state;

	take1(f, drugs(1, T0, 1000));
	take1(f, msg(2, 1, "{\"type\":\"CANCEL\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," IMMIG
			   ",\"handling\":{\"tlp\":\"TLP_AMBER\"}}"));
	take1(f, msg(3, 1, "{\"type\":\"UPDATE\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," IMMIG
			   ",\"assessment\":{\"category\":\"WEAPONS\"},\"handling\":{\"tlp\":\"TLP_AMBER\"}}"));
	snap(f);
	assert_int_equal(f->s.alerts, 1);
	assert_int_equal(f->s.cancelled, 0);
	assert_int_equal(count_of(&f->s.categories, "DRUGS", NULL), 1);
	assert_null(row(&f->s.categories, "WEAPONS", NULL, NULL));
}

static void test_a_cancel_arriving_first_keeps_its_alert_out(void **state)
{
	fixture_t *f = *state;

	take1(f, msg(3, 1, "{\"type\":\"CANCEL\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CUSTOMS
			   ",\"handling\":{\"tlp\":\"TLP_AMBER\"}}"));
	take1(f, drugs(1, T0, 1000));
	snap(f);
	assert_int_equal(f->s.alerts, 0);
	assert_int_equal(f->s.cancelled, 1);
}

static Blonet__Alert *ack(int n, int ref, int64_t sent, const char *origin)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"type\":\"ACK\",\"status\":\"EXERCISE\",\"sent_ms\":%lld,%s,\"ack_status\":\"RECEIVED\","
		 "\"handling\":{\"tlp\":\"TLP_AMBER\"}}",
		 (long long)sent, origin);
	return msg(n, ref, json);
}

static void test_ack_times_per_pair_have_nearest_rank_median_and_p90(void **state)
{
	fixture_t *f = *state;
	const blo_committee_reply_stat_t *r = NULL;

	/* Ten alerts from Mae Sai acknowledged by Chiang Khong after 1..10
	 * minutes, in shuffled order. */
	static const int minutes[10] = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6};

	for (int i = 0; i < 10; i++) {
		take1(f, drugs(10 + i, T0, 1));
		take1(f, ack(30 + i, 10 + i, T0 + minutes[i] * 60000LL, CONSOLE_CK));
	}
	/* And one the other way, after 30 s. */
	take1(f, tip(60, T0));
	take1(f, ack(61, 60, T0 + 30000, CONSOLE_MS));
	snap(f);
	assert_int_equal(f->s.n_replies, 2);
	for (size_t i = 0; i < f->s.n_replies; i++)
		if (strcmp(f->s.replies[i].from_site, "TH-MAESAI") == 0)
			r = &f->s.replies[i];
	assert_non_null(r);
	assert_string_equal(r->kind, "ACK");
	assert_string_equal(r->to_site, "TH-CHIANGKHONG");
	assert_int_equal(r->n, 10);
	assert_int_equal(r->median_ms, 5 * 60000); /* the 5th of 10 */
	assert_int_equal(r->p90_ms, 9 * 60000);    /* the 9th of 10 */
	assert_int_equal(r->min_ms, 60000);
	assert_int_equal(r->max_ms, 600000);
	assert_int_equal(f->s.unmatched_replies, 0);
}

static void test_the_earliest_reply_of_a_site_counts_whatever_the_order(void **state)
{
	fixture_t *f = *state;

	take1(f, drugs(1, T0, 1));
	take1(f, ack(2, 1, T0 + 60000, CONSOLE_CK));
	take1(f, ack(3, 1, T0 + 600000, CONSOLE_CK)); /* ACTING later: not a new sample */
	snap(f);
	assert_int_equal(f->s.n_replies, 1);
	assert_int_equal(f->s.replies[0].n, 1);
	assert_int_equal(f->s.replies[0].median_ms, 60000);
	assert_int_equal(count_of(&f->s.types, "ACK", NULL), 2);
	/* Arrivals out of order: the later reply first, then the earlier. */
	take1(f, drugs(4, T0, 1));
	take1(f, ack(5, 4, T0 + 900000, CONSOLE_CK));
	take1(f, ack(6, 4, T0 + 30000, CONSOLE_CK));
	snap(f);
	assert_int_equal(f->s.replies[0].n, 2);
	assert_int_equal(f->s.replies[0].min_ms, 30000);
	assert_int_equal(f->s.replies[0].max_ms, 60000);
}

static void test_a_reply_to_an_unknown_message_is_counted_unmatched(void **state)
{
	fixture_t *f = *state;

	take1(f, ack(2, 77, T0, CONSOLE_CK));
	snap(f);
	assert_int_equal(f->s.n_replies, 0);
	assert_int_equal(f->s.unmatched_replies, 1);
}

static void test_unverified_messages_contribute_nothing_else(void **state)
{
	fixture_t *f = *state;
	Blonet__Alert *a = drugs(1, T0, 5);
	blo_committee_input_t in = {.alert = a, .verified = false};

	E(blo_committee_ingest(f->c, &in, 1, NULL));
	assert_int_equal(in.result, BLO_COMMITTEE_UNVERIFIED);
	blo_alert_free(&a);
	snap(f);
	assert_int_equal(f->s.messages, 1);
	assert_int_equal(f->s.unverified, 1);
	assert_int_equal(f->s.alerts, 0);
	assert_int_equal(f->s.categories.n, 0);
}

static void test_bulletins_collect_modus_operandi_by_text(void **state)
{
	fixture_t *f = *state;

	take1(f, msg(1, 0, "{\"type\":\"BULLETIN\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CONSOLE_MS
			   ",\"assessment\":{\"category\":\"DRUGS\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},"
			   "\"headline\":\"fuel tanks\",\"modus_operandi\":\"Tablets in  a false fuel tank\"}"));
	take1(f, msg(2, 0, "{\"type\":\"BULLETIN\",\"status\":\"EXERCISE\",\"sent_ms\":1795860600000," CONSOLE_CK
			   ",\"assessment\":{\"category\":\"DRUGS\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},"
			   "\"headline\":\"again\",\"modus_operandi\":\"tablets in a FALSE fuel tank \"}"));
	take1(f, msg(3, 0, "{\"type\":\"BULLETIN\",\"status\":\"EXERCISE\",\"sent_ms\":1795861200000," CONSOLE_CK
			   ",\"assessment\":{\"category\":\"WILDLIFE\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},"
			   "\"headline\":\"scales\",\"modus_operandi\":\"scales under durian\"}"));
	snap(f);
	assert_int_equal(f->s.n_mo, 2);
	/* Newest first. */
	assert_string_equal(f->s.mo[0].modus_operandi, "scales under durian");
	assert_int_equal(f->s.mo[1].count, 2);
	assert_int_equal(f->s.mo[1].first_ms, 1795860000000LL);
	assert_int_equal(f->s.mo[1].last_ms, 1795860600000LL);
	assert_string_equal(f->s.mo[1].site, "TH-MAESAI");
	assert_string_equal(f->s.mo[1].headline, "fuel tanks");
	assert_int_equal(f->s.alerts, 0);
}

static void test_aggregates_survive_reopening_and_the_week_offset_is_fixed(void **state)
{
	fixture_t *f = *state;
	blo_committee_opts_t other = {.week_offset_min = 420, .week_offset_set = true};
	blo_committee_t *c = NULL;
	blo_err_t err = {0};

	take1(f, drugs(1, T0, 3));
	blo_committee_close(&f->c);
	E(blo_committee_open(&f->c, f->dir, NULL, NULL));
	take1(f, drugs(1, T0, 3)); /* seen before the restart */
	take1(f, drugs(2, T0, 4));
	snap(f);
	assert_int_equal(f->s.alerts, 2);
	assert_int_equal(f->s.duplicates, 1);
	assert_int_equal(row(&f->s.commodities, "DRUG", "methamphetamine tablets", "TABLET")->quantity_milli, 7000);
	assert_int_equal(blo_committee_open(&c, f->dir, &other, &err), BLO_ECONFIG);
	assert_null(c);
	assert_non_null(strstr(err.msg, "cannot move"));
}

static void test_weeks_follow_iso_8601_at_year_ends_and_offsets(void **state)
{
	char w[16];

	(void)state;
	blo_committee_iso_week(1767225600000LL, 0, w); /* Thu 2026-01-01 */
	assert_string_equal(w, "2026-W01");
	blo_committee_iso_week(1798761600000LL, 0, w); /* Fri 2027-01-01 */
	assert_string_equal(w, "2026-W53");
	blo_committee_iso_week(1735516800000LL, 0, w); /* Mon 2024-12-30 */
	assert_string_equal(w, "2025-W01");
	/* Sunday 2026-11-29 20:00 UTC is Monday 03:00 at UTC+7. */
	blo_committee_iso_week(1795982400000LL, 0, w);
	assert_string_equal(w, "2026-W48");
	blo_committee_iso_week(1795982400000LL, 420, w);
	assert_string_equal(w, "2026-W49");
}

static void test_percentiles_are_nearest_rank(void **state)
{
	static const int64_t one[] = {42};
	static const int64_t ten[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	static const int64_t three[] = {10, 20, 30};

	(void)state;
	assert_int_equal(blo_committee_percentile(one, 1, 50), 42);
	assert_int_equal(blo_committee_percentile(one, 1, 90), 42);
	assert_int_equal(blo_committee_percentile(ten, 10, 50), 5);
	assert_int_equal(blo_committee_percentile(ten, 10, 90), 9);
	assert_int_equal(blo_committee_percentile(ten, 10, 100), 10);
	assert_int_equal(blo_committee_percentile(three, 3, 50), 20);
	assert_int_equal(blo_committee_percentile(three, 3, 90), 30);
}

static void test_long_names_are_cut_between_characters(void **state)
{
	fixture_t *f = *state;
	char json[4096], name[2048] = "";
	const blo_committee_row_t *r;

	/* 100 Thai characters (300 bytes) as a commodity name. */
	for (int i = 0; i < 100; i++)
		strcat(name, "\xe0\xb8\x81");
	snprintf(json, sizeof(json),
		 "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CUSTOMS ","
		 "\"assessment\":{\"category\":\"WILDLIFE\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},"
		 "\"headline\":\"x\",\"commodities\":[{\"kind\":\"WILDLIFE_PRODUCT\",\"name\":\"%s\","
		 "\"quantity\":1,\"unit\":\"PIECE\"}]}",
		 name);
	take1(f, msg(1, 0, json));
	snap(f);
	assert_int_equal(f->s.commodities.n, 1);
	r = &f->s.commodities.rows[0];
	assert_int_equal(strlen(r->parts[1]) % 3, 0);
	assert_true(strlen(r->parts[1]) <= 120);
	assert_memory_equal(r->parts[1], name, strlen(r->parts[1]));
}

/* Takes a in as taken in at taken_ms; returns its result. */
static blo_committee_result_t take_at(fixture_t *f, Blonet__Alert *a, int64_t taken_ms)
{
	blo_committee_input_t in = {.alert = a, .verified = true, .taken_ms = taken_ms};

	E(blo_committee_ingest(f->c, &in, 1, NULL));
	blo_alert_free(&a);
	return in.result;
}

static void test_forgetting_bounds_the_index_and_keeps_the_aggregates(void **state)
{
	fixture_t *f = *state;
	uint64_t forgotten = 0, indexed = 0;

	take_at(f, drugs(1, T0, 1000), T0);
	take_at(f, ack(2, 1, T0 + 60000, CONSOLE_CK), T0 + 60000);
	take_at(f, tip(3, T0 + 10 * DAY), T0 + 10 * DAY);
	E(blo_committee_indexed(f->c, &indexed));
	assert_int_equal(indexed, 3);
	E(blo_committee_prune(f->c, T0 + 5 * DAY, &forgotten, NULL));
	assert_int_equal(forgotten, 2);
	E(blo_committee_indexed(f->c, &indexed));
	assert_int_equal(indexed, 1);
	snap(f);
	assert_int_equal(f->s.messages, 3);
	assert_int_equal(f->s.alerts, 2);
	assert_int_equal(count_of(&f->s.categories, "DRUGS", NULL), 1);
	assert_int_equal(row(&f->s.commodities, "DRUG", "methamphetamine tablets", "TABLET")->quantity_milli,
			 1000000);
	assert_int_equal(f->s.n_replies, 1);
	assert_int_equal(f->s.replies[0].n, 1);
	assert_int_equal(f->s.replies[0].median_ms, 60000);
	/* What is still indexed is still a duplicate when delivered again. */
	assert_int_equal(take_at(f, tip(3, T0 + 10 * DAY), T0 + 11 * DAY), BLO_COMMITTEE_DUPLICATE);
	/* Nothing older is left: a second pass forgets nothing. */
	E(blo_committee_prune(f->c, T0 + 5 * DAY, &forgotten, NULL));
	assert_int_equal(forgotten, 0);
}

static void test_a_reply_to_a_forgotten_message_is_unmatched(void **state)
{
	fixture_t *f = *state;

	take_at(f, drugs(1, T0, 1000), T0);
	E(blo_committee_prune(f->c, T0 + DAY, NULL, NULL));
	take_at(f, ack(2, 1, T0 + 2 * DAY, CONSOLE_CK), T0 + 2 * DAY);
	snap(f);
	assert_int_equal(f->s.unmatched_replies, 1);
	assert_int_equal(f->s.n_replies, 0);
}

static void test_an_update_of_an_unseen_alert_is_forgotten_with_it(void **state)
{
	fixture_t *f = *state;

	/* A cancel arriving first keeps its alert out, while remembered ... */
	take_at(f, msg(3, 1, "{\"type\":\"CANCEL\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CUSTOMS
			     ",\"handling\":{\"tlp\":\"TLP_AMBER\"}}"),
		T0);
	E(blo_committee_prune(f->c, T0 + DAY, NULL, NULL));
	/* ... and leaves nothing behind once forgotten: an alert with that id,
	 * taken in after keep_days, is counted. */
	take_at(f, drugs(1, T0, 1000), T0 + 2 * DAY);
	snap(f);
	assert_int_equal(f->s.alerts, 1);
	assert_int_equal(f->s.cancelled, 1);
}

static void test_replies_and_current_versions_are_forgotten_with_their_message(void **state)
{
	fixture_t *f = *state;
	uint64_t indexed = 0;

	take_at(f, drugs(1, T0, 1000), T0);
	take_at(f, ack(2, 1, T0 + 60000, CONSOLE_CK), T0 + 60000);
	take_at(f, msg(3, 1,
		       "{\"type\":\"UPDATE\",\"status\":\"EXERCISE\",\"sent_ms\":1795860000000," CUSTOMS ","
		       "\"assessment\":{\"category\":\"PRECURSORS\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},"
		       "\"location\":{\"site\":\"TH-MAESAI\"},\"headline\":\"ephedrine\"}"),
		T0 + 120000);
	E(blo_committee_prune(f->c, T0 + DAY, NULL, NULL));
	E(blo_committee_indexed(f->c, &indexed));
	assert_int_equal(indexed, 0);
	snap(f);
	assert_int_equal(f->s.alerts, 1);
	assert_int_equal(count_of(&f->s.categories, "PRECURSORS", NULL), 1);
	assert_int_equal(f->s.updated, 1);
	/* The store has no entry left of any of them: reopening and pruning
	 * again finds nothing. */
	blo_committee_close(&f->c);
	E(blo_committee_open(&f->c, f->dir, NULL, NULL));
	E(blo_committee_indexed(f->c, &indexed));
	assert_int_equal(indexed, 0);
}

static void test_prune_due_follows_keep_days_hourly(void **state)
{
	fixture_t *f = *state;
	blo_committee_opts_t o = {.keep_days = 30};
	int64_t now = (int64_t)time(NULL) * 1000;
	uint64_t forgotten = 0;

	blo_committee_close(&f->c);
	E(blo_committee_open(&f->c, f->dir, &o, NULL));
	take_at(f, drugs(1, now - 31 * DAY, 10), now - 31 * DAY);
	take_at(f, drugs(2, now - 29 * DAY, 10), now - 29 * DAY);
	E(blo_committee_prune_due(f->c, &forgotten, NULL));
	assert_int_equal(forgotten, 1);
	take_at(f, drugs(3, now - 40 * DAY, 10), now - 40 * DAY);
	E(blo_committee_prune_due(f->c, &forgotten, NULL));
	assert_int_equal(forgotten, 0); /* not an hour later yet */
	assert_int_equal(take_at(f, drugs(2, now, 10), now), BLO_COMMITTEE_DUPLICATE);
}

static void test_a_full_store_refuses_with_a_clear_error(void **state)
{
	fixture_t *f = *state;
	blo_committee_opts_t o = {.store_mb = 1};
	blo_err_t err = {0};
	int rc = 0, n;

	blo_committee_close(&f->c);
	blo_test_rmdir(f->dir);
	free(f->dir);
	f->dir = blo_test_mkdtemp();
	E(blo_committee_open(&f->c, f->dir, &o, NULL));
	for (n = 1; n < 100000 && rc == 0; n++) {
		Blonet__Alert *a = drugs(n, T0, 1);
		blo_committee_input_t in = {.alert = a, .verified = true};
		uint8_t id[BLO_ID_BYTES];

		/* msg() repeats the low byte of n: make the ids distinct. */
		memset(id, 0, sizeof(id));
		memcpy(id, &n, sizeof(n));
		memcpy(a->id.data, id, BLO_ID_BYTES);
		rc = blo_committee_ingest(f->c, &in, 1, &err);
		blo_alert_free(&a);
	}
	assert_int_equal(rc, BLO_EFULL);
	assert_non_null(strstr(err.msg, "is full (limit 1 MB)"));
	snap(f); /* the figures so far still read */
	assert_int_equal(f->s.alerts, n - 2);
}

static void test_a_store_from_before_retention_is_indexed_when_opened(void **state)
{
	fixture_t *f = *state;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	uint64_t forgotten = 0;
	int64_t now = (int64_t)time(NULL) * 1000;

	take_at(f, drugs(1, T0, 10), T0);
	take_at(f, drugs(2, T0, 10), T0);
	blo_committee_close(&f->c);
	/* As an earlier build left it: no "taken" database. */
	E(mdb_env_create(&env));
	E(mdb_env_set_maxdbs(env, 10));
	E(mdb_env_open(env, f->dir, 0, 0600));
	E(mdb_txn_begin(env, NULL, 0, &txn));
	E(mdb_dbi_open(txn, "taken", 0, &dbi));
	E(mdb_drop(txn, dbi, 1));
	E(mdb_txn_commit(txn));
	mdb_env_close(env);
	E(blo_committee_open(&f->c, f->dir, NULL, NULL));
	/* Taken as of the upgrade: kept keep_days from then. */
	E(blo_committee_prune(f->c, now - DAY, &forgotten, NULL));
	assert_int_equal(forgotten, 0);
	E(blo_committee_prune(f->c, now + DAY, &forgotten, NULL));
	assert_int_equal(forgotten, 2);
	snap(f);
	assert_int_equal(f->s.alerts, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_alerts_are_counted_by_category_crossing_route_agency_and_week),
		T(test_quantities_are_exact_and_names_merge_case_and_spacing),
		T(test_a_message_taken_again_counts_once),
		T(test_an_update_replaces_its_alert_contribution),
		T(test_a_cancel_removes_the_alert_and_its_rows),
		T(test_updates_and_cancels_of_others_change_nothing),
		T(test_a_cancel_arriving_first_keeps_its_alert_out),
		T(test_ack_times_per_pair_have_nearest_rank_median_and_p90),
		T(test_the_earliest_reply_of_a_site_counts_whatever_the_order),
		T(test_a_reply_to_an_unknown_message_is_counted_unmatched),
		T(test_unverified_messages_contribute_nothing_else),
		T(test_bulletins_collect_modus_operandi_by_text),
		T(test_aggregates_survive_reopening_and_the_week_offset_is_fixed),
		cmocka_unit_test(test_weeks_follow_iso_8601_at_year_ends_and_offsets),
		cmocka_unit_test(test_percentiles_are_nearest_rank),
		T(test_long_names_are_cut_between_characters),
		T(test_forgetting_bounds_the_index_and_keeps_the_aggregates),
		T(test_a_reply_to_a_forgotten_message_is_unmatched),
		T(test_an_update_of_an_unseen_alert_is_forgotten_with_it),
		T(test_replies_and_current_versions_are_forgotten_with_their_message),
		T(test_prune_due_follows_keep_days_hourly),
		T(test_a_full_store_refuses_with_a_clear_error),
		T(test_a_store_from_before_retention_is_indexed_when_opened),
	};

	return cmocka_run_group_tests_name("committee", tests, NULL, NULL);
}
