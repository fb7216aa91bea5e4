/*
 * blo_adapt_immigration: immigration checkpoint hits (agents/formats/
 * immigration.md), CSV with a header row, to alerts. Category from the hit
 * type (a watch-list match from the list's reason), severity from the hit
 * type and the size of the group, urgency and certainty from the hit type.
 */
#include "blo_adapt_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	COL_HIT_REF, COL_CHECKPOINT, COL_TIME, COL_HIT_TYPE, COL_WATCHLIST_REF,
	COL_WATCHLIST_REASON, COL_DIRECTION, COL_DOCUMENT_TYPE, COL_DOCUMENT_NO,
	COL_DOCUMENT_COUNTRY, COL_NATIONALITY, COL_NAME, COL_NAME_LOCAL, COL_SEX,
	COL_BIRTH_DATE, COL_GROUP_SIZE, COL_MINORS, COL_VEHICLE_PLATE, COL_TRAVEL_FROM,
	COL_TRAVEL_TO, COL_OFFICER, COL_NOTES, N_COLUMNS
};

static const char *const column_names[N_COLUMNS] = {
	"hit_ref",     "checkpoint",   "time",        "hit_type",      "watchlist_ref",
	"watchlist_reason", "direction", "document_type", "document_no", "document_country",
	"nationality", "name",         "name_local",  "sex",           "birth_date",
	"group_size",  "minors",       "vehicle_plate", "travel_from", "travel_to",
	"officer",     "notes"
};
static const bool column_required[N_COLUMNS] = {
	[COL_HIT_REF] = true,   [COL_CHECKPOINT] = true,  [COL_TIME] = true,
	[COL_HIT_TYPE] = true,  [COL_DIRECTION] = true,   [COL_NATIONALITY] = true,
	[COL_NAME] = true,
};
/* Bytes a field may hold. */
static const size_t column_max[N_COLUMNS] = {
	[COL_HIT_REF] = 64,       [COL_CHECKPOINT] = 32,   [COL_TIME] = 40,
	[COL_HIT_TYPE] = 32,      [COL_WATCHLIST_REF] = 64, [COL_WATCHLIST_REASON] = 32,
	[COL_DIRECTION] = 16,     [COL_DOCUMENT_TYPE] = 32, [COL_DOCUMENT_NO] = 32,
	[COL_DOCUMENT_COUNTRY] = 8, [COL_NATIONALITY] = 8, [COL_NAME] = 128,
	[COL_NAME_LOCAL] = 256,   [COL_SEX] = 4,           [COL_BIRTH_DATE] = 16,
	[COL_GROUP_SIZE] = 8,     [COL_MINORS] = 8,        [COL_VEHICLE_PLATE] = 64,
	[COL_TRAVEL_FROM] = 128,  [COL_TRAVEL_TO] = 128,   [COL_OFFICER] = 32,
	[COL_NOTES] = 2000,
};

struct blo_adapt_csv_header {
	int column[N_COLUMNS]; /* index in a row, or -1 */
	size_t n_fields;
};

static const char *const hit_types[] = { "WATCHLIST_MATCH", "FORGED_DOCUMENT", "IMPOSTOR",
					 "TIP_INDICATORS", "SMUGGLED_GROUP", NULL };
static const char *const hit_words[] = { "Watch-list match", "Forged document", "Impostor",
					 "Trafficking-in-persons indicators", "Smuggled group" };
static const int hit_category[] = { 0, BLONET__CATEGORY__MIGRANT_SMUGGLING,
				    BLONET__CATEGORY__MIGRANT_SMUGGLING,
				    BLONET__CATEGORY__TRAFFICKING_IN_PERSONS,
				    BLONET__CATEGORY__MIGRANT_SMUGGLING };
static const int hit_severity[] = { BLONET__SEVERITY__SEVERE, BLONET__SEVERITY__MODERATE,
				    BLONET__SEVERITY__MODERATE, BLONET__SEVERITY__SEVERE,
				    BLONET__SEVERITY__MINOR };
static const int hit_urgency[] = { BLONET__URGENCY__IMMEDIATE, BLONET__URGENCY__EXPECTED,
				   BLONET__URGENCY__EXPECTED, BLONET__URGENCY__IMMEDIATE,
				   BLONET__URGENCY__EXPECTED };
static const int hit_certainty[] = { BLONET__CERTAINTY__LIKELY, BLONET__CERTAINTY__OBSERVED,
				     BLONET__CERTAINTY__OBSERVED, BLONET__CERTAINTY__POSSIBLE,
				     BLONET__CERTAINTY__OBSERVED };
static const int hit_grade[] = { BLONET__INFORMATION_GRADE__INFO_3,
				 BLONET__INFORMATION_GRADE__INFO_1,
				 BLONET__INFORMATION_GRADE__INFO_1,
				 BLONET__INFORMATION_GRADE__INFO_2,
				 BLONET__INFORMATION_GRADE__INFO_1 };
static const char *const hit_role[] = { "suspect", "suspect", "suspect", "traveller",
					"traveller" };

static const char *const reasons[] = { "DRUGS",    "PRECURSORS", "TRAFFICKING", "SMUGGLING",
				       "WILDLIFE", "TIMBER",     "WEAPONS",     "CURRENCY",
				       "COUNTERFEIT", "WANTED",  NULL };
static const int reason_category[] = {
	BLONET__CATEGORY__DRUGS,    BLONET__CATEGORY__PRECURSORS,
	BLONET__CATEGORY__TRAFFICKING_IN_PERSONS, BLONET__CATEGORY__MIGRANT_SMUGGLING,
	BLONET__CATEGORY__WILDLIFE, BLONET__CATEGORY__TIMBER,
	BLONET__CATEGORY__WEAPONS,  BLONET__CATEGORY__CURRENCY,
	BLONET__CATEGORY__COUNTERFEIT, BLONET__CATEGORY__CATEGORY_OTHER
};
static const char *const reason_words[] = { "drugs",    "precursors", "trafficking in persons",
					    "migrant smuggling", "wildlife", "timber",
					    "weapons",  "currency",   "counterfeit goods",
					    "wanted" };
static const char *const directions[] = { "ARRIVAL", "DEPARTURE", NULL };
static const char *const document_types[] = { "PASSPORT", "BORDER_PASS", "ID_CARD",
					       "TRAVEL_DOCUMENT", "NONE", NULL };
static const char *const document_schemes[] = { "passport", "border_pass", "national_id",
						"travel_document" };
static const char *const sexes[] = { "M", "F", "X", NULL };

/* A field with its surrounding spaces dropped, in buf (size bytes; longer
 * text is cut, which the caller notices by length). */
static const char *trimmed(const char *s, char *buf, size_t size)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

int blo_adapt_immigration_header(blo_adapt_csv_header_t **out, const blo_adapt_record_t *header,
				 blo_adapt_reject_t *why)
{
	blo_adapt_csv_header_t *h;
	char name[64];

	*out = NULL;
	memset(why, 0, sizeof(*why));
	if (header->problem != NULL && header->problem_column > 0)
		return blo_err_set(&why->err, BLO_EINVAL, "header (line %zu): column %zu: %s",
				   header->line, header->problem_column, header->problem);
	if (header->problem != NULL)
		return blo_err_set(&why->err, BLO_EINVAL, "header (line %zu): %s", header->line,
				   header->problem);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return blo_err_set(&why->err, BLO_ENOMEM, "out of memory");
	for (int k = 0; k < N_COLUMNS; k++)
		h->column[k] = -1;
	h->n_fields = header->n_fields;
	for (size_t i = 0; i < header->n_fields; i++) {
		int k;

		trimmed(header->fields[i], name, sizeof(name));
		for (k = 0; k < N_COLUMNS && strcmp(column_names[k], name) != 0; k++)
			;
		snprintf(why->field, sizeof(why->field), "%.100s", name);
		if (k == N_COLUMNS) {
			free(h);
			return blo_err_set(&why->err, BLO_EINVAL,
					   "header (line %zu): column %zu: unknown column \"%.64s\" "
					   "(see agents/formats/immigration.md)",
					   header->line, i + 1, name);
		}
		if (h->column[k] >= 0) {
			free(h);
			return blo_err_set(&why->err, BLO_EINVAL,
					   "header (line %zu): column \"%s\" is given twice",
					   header->line, name);
		}
		h->column[k] = (int)i;
	}
	for (int k = 0; k < N_COLUMNS; k++) {
		if (column_required[k] && h->column[k] < 0) {
			snprintf(why->field, sizeof(why->field), "%s", column_names[k]);
			free(h);
			return blo_err_set(&why->err, BLO_EINVAL,
					   "header (line %zu): the required column \"%s\" is missing",
					   header->line, column_names[k]);
		}
	}
	why->field[0] = '\0';
	*out = h;
	return 0;
}

/* A row's values by column, trimmed; "" for a column the header lacks. */
typedef struct {
	char *v[N_COLUMNS];
	char *buf;
} row_t;

/* The row's value of column k, or NULL when absent or empty. */
static const char *get(const row_t *row, int k)
{
	return row->v[k][0] != '\0' ? row->v[k] : NULL;
}

static int read_count(blo_adapt_ctx_t *c, const char *field, const char *s, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL)
		return 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || s[0] < '0' || s[0] > '9' || v > max)
		return blo_adapt_fail(c, field, "\"%.16s\" is not a whole number from 0 to %ld", s, max);
	*out = v;
	return 0;
}

static int map(blo_adapt_ctx_t *c, const blo_adapt_csv_header_t *h, Blonet__Alert **out)
{
	const blo_adapt_agency_rules_t *ar = &c->rules->agency[BLO_ADAPT_IMMIGRATION];
	row_t *row = calloc(1, sizeof(*row));
	size_t room = c->rec->len + N_COLUMNS + 1, used = 0;
	const blo_adapt_place_t *place;
	const blo_adapt_crossing_t *crossing;
	int hit, dir, reason = -1, doc = 4, sex = -1, category, severity, rc = 0;
	char nat[3], issuer[3] = "", desc[512], qty[32];
	long group = 1, minors = 0;
	int64_t observed;
	cJSON *alert = NULL, *location, *route, *subject;
	blo_adapt_buf_t text = { 0 };
	const char *name_local, *notes;

	if (row == NULL || (row->buf = malloc(room)) == NULL) {
		free(row);
		return blo_err_set(&c->why->err, BLO_ENOMEM, "out of memory");
	}
	for (int k = 0; k < N_COLUMNS; k++)
		row->v[k] = (char *)"";
	if (c->rec->n_fields != h->n_fields) {
		rc = blo_adapt_fail(c, NULL, "%zu fields where the header has %zu", c->rec->n_fields,
				    h->n_fields);
		goto out;
	}
	for (int k = 0; k < N_COLUMNS; k++) {
		if (h->column[k] < 0)
			continue;
		/* Fields are parts of the record: together they fit in room. */
		row->v[k] = row->buf + used;
		trimmed(c->rec->fields[h->column[k]], row->v[k], room - used);
		used += strlen(row->v[k]) + 1;
		if ((rc = blo_adapt_check_text(c, column_names[k], row->v[k], column_max[k],
					       k == COL_NOTES)) != 0)
			goto out;
		if (k == COL_HIT_REF && row->v[k][0] != '\0')
			snprintf(c->why->source_ref, sizeof(c->why->source_ref), "%s", row->v[k]);
		if (column_required[k] && row->v[k][0] == '\0') {
			rc = blo_adapt_fail(c, column_names[k], "missing");
			goto out;
		}
	}
	place = blo_adapt_rules_place(c->rules, BLO_ADAPT_IMMIGRATION, get(row, COL_CHECKPOINT));
	if (place == NULL) {
		rc = blo_adapt_fail(c, "checkpoint", "\"%.32s\" is not a checkpoint of the rules",
				    get(row, COL_CHECKPOINT));
		goto out;
	}
	crossing = blo_adapt_rules_crossing(c->rules, place->crossing);
	if ((rc = blo_adapt_time(c, "time", get(row, COL_TIME), &observed)) != 0 ||
	    (rc = blo_adapt_enum(c, "hit_type", get(row, COL_HIT_TYPE), hit_types, &hit)) != 0 ||
	    (rc = blo_adapt_enum(c, "direction", get(row, COL_DIRECTION), directions, &dir)) != 0 ||
	    (rc = blo_adapt_country(c, "nationality", get(row, COL_NATIONALITY), true, nat)) != 0)
		goto out;
	if (get(row, COL_WATCHLIST_REASON) != NULL) {
		if (hit != 0) {
			rc = blo_adapt_fail(c, "watchlist_reason", "given for a %s hit: only a "
					    "WATCHLIST_MATCH has a list reason", hit_types[hit]);
			goto out;
		}
		if ((rc = blo_adapt_enum(c, "watchlist_reason", get(row, COL_WATCHLIST_REASON),
					 reasons, &reason)) != 0)
			goto out;
	} else if (hit == 0) {
		rc = blo_adapt_fail(c, "watchlist_reason", "missing: a WATCHLIST_MATCH says why the "
				    "person is listed");
		goto out;
	}
	if (get(row, COL_DOCUMENT_TYPE) != NULL &&
	    (rc = blo_adapt_enum(c, "document_type", get(row, COL_DOCUMENT_TYPE), document_types,
				 &doc)) != 0)
		goto out;
	if ((doc != 4) != (get(row, COL_DOCUMENT_NO) != NULL)) {
		rc = blo_adapt_fail(c, "document_no", doc != 4 ? "missing: document_type is %s"
							       : "given without a document_type",
				    document_types[doc]);
		goto out;
	}
	if (get(row, COL_DOCUMENT_COUNTRY) != NULL) {
		if ((rc = blo_adapt_country(c, "document_country", get(row, COL_DOCUMENT_COUNTRY), true,
					    issuer)) != 0)
			goto out;
	} else {
		memcpy(issuer, nat, sizeof(issuer));
	}
	if (get(row, COL_SEX) != NULL &&
	    (rc = blo_adapt_enum(c, "sex", get(row, COL_SEX), sexes, &sex)) != 0)
		goto out;
	if (get(row, COL_BIRTH_DATE) != NULL &&
	    (rc = blo_adapt_date(c, "birth_date", get(row, COL_BIRTH_DATE), observed)) != 0)
		goto out;
	if ((rc = read_count(c, "group_size", get(row, COL_GROUP_SIZE), 10000, &group)) != 0 ||
	    (rc = read_count(c, "minors", get(row, COL_MINORS), 10000, &minors)) != 0)
		goto out;
	if (group < 1) {
		rc = blo_adapt_fail(c, "group_size", "must be at least 1");
		goto out;
	}
	if (minors > group) {
		rc = blo_adapt_fail(c, "minors", "%ld minors in a group of %ld", minors, group);
		goto out;
	}

	/* Assessment. */
	category = hit == 0 ? reason_category[reason] : hit_category[hit];
	severity = hit_severity[hit];
	if (group >= ar->group_extreme)
		severity = BLONET__SEVERITY__EXTREME;
	else if (group >= ar->group_severe && severity < BLONET__SEVERITY__SEVERE)
		severity = BLONET__SEVERITY__SEVERE;
	else if (group >= ar->group_moderate && severity < BLONET__SEVERITY__MODERATE)
		severity = BLONET__SEVERITY__MODERATE;
	if (hit == 3 && minors > 0)
		severity = BLONET__SEVERITY__EXTREME;

	alert = blo_adapt_alert_begin(c, get(row, COL_HIT_REF), observed);
	blo_adapt_assess(c, alert, category, severity, hit_urgency[hit], hit_certainty[hit],
			 BLONET__SOURCE_RELIABILITY__SOURCE_A, hit_grade[hit]);
	blo_adapt_handle(c, alert, crossing);
	location = blo_adapt_locate(c, alert, crossing, place->name, NULL, NULL,
				    dir == 0 ? BLONET__DIRECTION__INBOUND : BLONET__DIRECTION__OUTBOUND);
	route = blo_adapt_put_obj(c, location, "route");
	blo_adapt_put_str(c, route, "from_country",
			  dir == 0 ? crossing->counterpart_country : c->rules->country);
	blo_adapt_put_str(c, route, "to_country",
			  dir == 0 ? c->rules->country : crossing->counterpart_country);
	blo_adapt_put_str(c, route, "from_place", get(row, COL_TRAVEL_FROM));
	blo_adapt_put_str(c, route, "to_place", get(row, COL_TRAVEL_TO));

	/* Headline: what, where, who, how many. */
	blo_adapt_buf_printf(&text, "%s", hit_words[hit]);
	if (hit == 0)
		blo_adapt_buf_printf(&text, " (%s)", reason_words[reason]);
	blo_adapt_buf_printf(&text, " at %s: %s national %s", place->name, nat,
			     dir == 0 ? "arriving" : "departing");
	if (group > 1)
		blo_adapt_buf_printf(&text, ", group of %ld", group);
	if (minors > 0)
		blo_adapt_buf_printf(&text, ", %ld minor%s", minors, minors > 1 ? "s" : "");
	blo_adapt_put_str(c, alert, "headline", text.s);
	blo_adapt_buf_free(&text);
	notes = get(row, COL_NOTES);
	blo_adapt_put_str(c, alert, "description", notes);

	/* Who. */
	name_local = get(row, COL_NAME_LOCAL);
	snprintf(desc, sizeof(desc), "%s%s%s%s%s", sex >= 0 ? "sex: " : "", sex >= 0 ? sexes[sex] : "",
		 sex >= 0 && name_local != NULL ? "; " : "", name_local != NULL ? "local name: " : "",
		 name_local != NULL ? name_local : "");
	subject = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__PERSON, get(row, COL_NAME),
				    hit_role[hit], nat, get(row, COL_BIRTH_DATE), desc);
	if (doc != 4)
		blo_adapt_identifier(c, subject, document_schemes[doc], get(row, COL_DOCUMENT_NO),
				     issuer);
	if (get(row, COL_VEHICLE_PLATE) != NULL) {
		cJSON *v = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__VEHICLE, NULL,
					     "conveyance", NULL, NULL, NULL);

		blo_adapt_identifier(c, v, "plate", get(row, COL_VEHICLE_PLATE), NULL);
	}

	/* Agency extras. */
	blo_adapt_attr(c, alert, "checkpoint", place->code);
	blo_adapt_attr(c, alert, "hit_type", hit_types[hit]);
	blo_adapt_attr(c, alert, "watchlist_ref", get(row, COL_WATCHLIST_REF));
	if (reason >= 0)
		blo_adapt_attr(c, alert, "watchlist_reason", reasons[reason]);
	snprintf(qty, sizeof(qty), "%ld", group);
	blo_adapt_attr(c, alert, "group_size", qty);
	if (minors > 0)
		blo_adapt_attr_int(c, alert, "minors", minors);
	blo_adapt_attr(c, alert, "officer", get(row, COL_OFFICER));
	rc = blo_adapt_alert_end(c, alert, out);
	alert = NULL;
out:
	cJSON_Delete(alert);
	blo_adapt_buf_free(&text);
	free(row->buf);
	free(row);
	return rc;
}

int blo_adapt_map_immigration(const blo_adapt_rules_t *rules, const blo_adapt_csv_header_t *header,
			      const blo_adapt_record_t *rec, Blonet__Alert **out,
			      blo_adapt_reject_t *why)
{
	blo_adapt_ctx_t c = { .rules = rules, .agency = BLO_ADAPT_IMMIGRATION, .rec = rec,
			      .why = why };

	*out = NULL;
	memset(why, 0, sizeof(*why));
	if (rec->problem != NULL) {
		/* Name the column when the problem is in one. */
		for (int k = 0; rec->problem_column > 0 && k < N_COLUMNS; k++)
			if (header->column[k] == (int)rec->problem_column - 1)
				return blo_adapt_fail(&c, column_names[k], "%s (column %zu)",
						      rec->problem, rec->problem_column);
		if (rec->problem_column > 0)
			return blo_adapt_fail(&c, NULL, "column %zu: %s", rec->problem_column,
					      rec->problem);
		return blo_adapt_fail(&c, NULL, "%s", rec->problem);
	}
	return map(&c, header, out);
}
