/*
 * blo_adapt_util: what the three agency mappers share, internal to the
 * adapters (lib/blo_adapt_*.c): failing with the record and the field named,
 * reading fields of a JSON record strictly, checking values (times, dates,
 * countries, HS codes, container numbers, phone numbers), and building the
 * alert's JSON form piece by piece before blo_json_to_message makes it an
 * Alert.
 */
#ifndef BLO_ADAPT_UTIL_H
#define BLO_ADAPT_UTIL_H

#include "blo_adapt_map.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* The record being mapped. */
typedef struct {
	const blo_adapt_rules_t *rules;
	blo_adapt_agency_t agency;
	const blo_adapt_record_t *rec;
	blo_adapt_reject_t *why;
	bool oom; /* a cJSON allocation failed while building */
} blo_adapt_ctx_t;

/* Rejects the record: sets why to
 *   AGENCY record N (line L): field "FIELD": MESSAGE
 * (without the field part when field is NULL or "") and returns BLO_EINVAL. */
int blo_adapt_fail(blo_adapt_ctx_t *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes "path.key" (or "key" when path is "") into buf. */
void blo_adapt_path(char *buf, size_t size, const char *path, const char *key);

/* ---- JSON records ---- */

#define BLO_ADAPT_REQUIRED 1u  /* the field must be present and not empty */
#define BLO_ADAPT_MULTILINE 2u /* free text: line breaks and tabs allowed */

/* Parses the record's text as one JSON object into *out (caller
 * cJSON_Delete()s). */
int blo_adapt_json_record(blo_adapt_ctx_t *c, cJSON **out);
/* A mapper of one agency's JSON records, and the whole mapping of one
 * record with it: *out and why cleared, the record's own problem (from
 * reading its file) or a text that is not one JSON object rejected, then
 * map. */
typedef int (*blo_adapt_json_map_fn)(blo_adapt_ctx_t *c, const cJSON *rec, Blonet__Alert **out);
int blo_adapt_map_json_record(const blo_adapt_rules_t *rules, blo_adapt_agency_t agency,
			      const blo_adapt_record_t *rec, blo_adapt_json_map_fn map,
			      Blonet__Alert **out, blo_adapt_reject_t *why);
/* Fails on a key of obj not in known (NULL-terminated) or given twice. */
int blo_adapt_json_keys(blo_adapt_ctx_t *c, const cJSON *obj, const char *path,
			const char *const *known);
/* A string field: *out borrowed from obj, NULL when absent, null or "".
 * Checks the text (at most max bytes; no control characters but, with
 * BLO_ADAPT_MULTILINE, line breaks and tabs). */
int blo_adapt_json_string(blo_adapt_ctx_t *c, const cJSON *obj, const char *path, const char *key,
			  unsigned flags, size_t max, const char **out);
/* A number in [min, max] (an integer if integral): *out keeps its value when
 * absent; *present (optional) says whether it was there. */
int blo_adapt_json_number(blo_adapt_ctx_t *c, const cJSON *obj, const char *path, const char *key,
			  bool required, double min, double max, bool integral, double *out,
			  bool *present);
/* An array of at most max elements (*out NULL when absent), or an object. */
int blo_adapt_json_array(blo_adapt_ctx_t *c, const cJSON *obj, const char *path, const char *key,
			 bool required, size_t max, const cJSON **out);
int blo_adapt_json_object(blo_adapt_ctx_t *c, const cJSON *obj, const char *path,
			  const char *key, bool required, const cJSON **out);

/* ---- values ---- */

int blo_adapt_check_text(blo_adapt_ctx_t *c, const char *field, const char *s, size_t max,
			 bool multiline);
/* *index of value in names (NULL-terminated). */
int blo_adapt_enum(blo_adapt_ctx_t *c, const char *field, const char *value,
		   const char *const *names, int *index);
/* An ISO 3166 alpha-2 code (or, with alpha3, the alpha-3 code ICAO 9303
 * documents use) into out. */
int blo_adapt_country(blo_adapt_ctx_t *c, const char *field, const char *value, bool alpha3,
		      char out[3]);
/* "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z" or "+HH:MM" (a space may stand for
 * the T); without an offset, the rules' utc_offset_minutes. At most a day
 * ahead of now. */
int blo_adapt_time(blo_adapt_ctx_t *c, const char *field, const char *s, int64_t *ms);
/* "YYYY-MM-DD", a real date from 1900 on and not after not_after_ms. */
int blo_adapt_date(blo_adapt_ctx_t *c, const char *field, const char *s, int64_t not_after_ms);
int blo_adapt_hs_code(blo_adapt_ctx_t *c, const char *field, const char *s);
/* E.164: "+" and 8 to 15 digits. */
int blo_adapt_phone(blo_adapt_ctx_t *c, const char *field, const char *s);
/* The ISO 6346 check digit (0-9) of a container number's first ten
 * characters: owner code and category letters (A-Z), serial digits. */
int blo_adapt_iso6346_check_digit(const char v[10]);

/* ISO 6346 container number, spaces and hyphens dropped, check digit
 * verified, into out ("MSKU1234565"). */
int blo_adapt_container(blo_adapt_ctx_t *c, const char *field, const char *s, char out[12]);

/* Milliseconds since the epoch of a UTC civil time (no range checks). */
int64_t blo_adapt_civil_ms(int year, int month, int day, int hour, int minute, int second);
/* The alpha-2 code of an ISO 3166 alpha-3 code into out; false if unknown. */
bool blo_adapt_alpha3_to_alpha2(const char *alpha3, char out[3]);

/* ---- text ---- */

/* A growing string; oom once an allocation failed. */
typedef struct {
	char *s;
	size_t len, cap;
	bool oom;
} blo_adapt_buf_t;

void blo_adapt_buf_printf(blo_adapt_buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void blo_adapt_buf_free(blo_adapt_buf_t *b);

/* "120000 tablets", "12.5 kg": integral quantities without decimals. */
void blo_adapt_qty_text(char *buf, size_t size, double quantity, int unit);

/* Urgency of a seizure: IMMEDIATE when someone got away, else EXPECTED from
 * SEVERE up, FUTURE for MODERATE and PAST for MINOR. */
int blo_adapt_seizure_urgency(int severity, bool at_large);

/* ---- the alert's JSON form ---- */

/* A new alert object: id, type ALERT, status, source_ref, observed_ms,
 * origin (agency, country, agency_name), language. */
cJSON *blo_adapt_alert_begin(blo_adapt_ctx_t *c, const char *source_ref, int64_t observed_ms);
void blo_adapt_put_str(blo_adapt_ctx_t *c, cJSON *obj, const char *key, const char *value);
void blo_adapt_put_num(blo_adapt_ctx_t *c, cJSON *obj, const char *key, double value);
/* Puts the enum value's name; nothing for 0. */
void blo_adapt_put_enum(blo_adapt_ctx_t *c, cJSON *obj, const char *key,
			const ProtobufCEnumDescriptor *desc, int value);
cJSON *blo_adapt_put_obj(blo_adapt_ctx_t *c, cJSON *obj, const char *key);
/* Appends an object (or a string) to obj's array key, made on first use. */
cJSON *blo_adapt_push_obj(blo_adapt_ctx_t *c, cJSON *obj, const char *key);
void blo_adapt_push_str(blo_adapt_ctx_t *c, cJSON *obj, const char *key, const char *value);
/* An attribute key = value; nothing when value is NULL or "". */
void blo_adapt_attr(blo_adapt_ctx_t *c, cJSON *alert, const char *key, const char *value);
void blo_adapt_attr_int(blo_adapt_ctx_t *c, cJSON *alert, const char *key, long long value);
void blo_adapt_assess(blo_adapt_ctx_t *c, cJSON *alert, int category, int severity, int urgency,
		      int certainty, int reliability, int grade);
/* Handling from the crossing: its TLP unless the agency's rules override it,
 * its releasable_to and addressed_to, the agency's operation. */
void blo_adapt_handle(blo_adapt_ctx_t *c, cJSON *alert, const blo_adapt_crossing_t *crossing);
/* Location: the crossing's site, place_name, the given position or else the
 * crossing's, direction. Returns the location object (to add a route). */
cJSON *blo_adapt_locate(blo_adapt_ctx_t *c, cJSON *alert, const blo_adapt_crossing_t *crossing,
			const char *place_name, const double *lat, const double *lon,
			int direction);
cJSON *blo_adapt_subject(blo_adapt_ctx_t *c, cJSON *alert, int kind, const char *name,
			 const char *role, const char *nationality, const char *birth_date,
			 const char *description);
void blo_adapt_identifier(blo_adapt_ctx_t *c, cJSON *subject, const char *scheme,
			  const char *value, const char *issuer);
void blo_adapt_commodity(blo_adapt_ctx_t *c, cJSON *alert, const blo_adapt_class_t *cls,
			 const char *name, const char *hs_code, const char *species,
			 double quantity, int unit, const char *concealment);
/* Reads an export's "route" object ({from_country, from_place, to_country,
 * to_place, via[]}) into location.route; countries are alpha-2, or with
 * alpha3 also alpha-3. from and to (each optional) get the two countries,
 * "" where not given. */
int blo_adapt_route(blo_adapt_ctx_t *c, cJSON *location, const cJSON *route, bool alpha3,
		    char from[3], char to[3]);

/* Makes the Alert from the object (and deletes it): 0, BLO_EINVAL with why
 * set if it does not decode or validate (a mapper bug), BLO_ENOMEM. */
int blo_adapt_alert_end(blo_adapt_ctx_t *c, cJSON *alert, Blonet__Alert **out);

#endif
