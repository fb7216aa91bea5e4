/*
 * blo_adapt_narcotics: narcotics police case reports (agents/formats/
 * narcotics.md), one JSON object per line, to alerts. Each seized drug is a
 * commodity of the class its drug code names; the seizure that rates most
 * severe leads; the crossing is the district's, else the reporting unit's.
 * A case marked "release": "NATIONAL" stays inside the country: releasable
 * to it alone and addressed to its own BLO, whatever the crossing shares.
 */
#include "blo_adapt_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEIZURES 50
#define MAX_ARRESTS 100
#define MAX_VEHICLES 20
#define MAX_PHONES 20

static const char *const record_keys[] = { "case_no",   "unit",         "province",
					   "district",  "place",        "latitude",
					   "longitude", "occurred_at",  "reported_at",
					   "seizures",  "arrests",      "suspects_at_large",
					   "vehicles",  "phones",       "route",
					   "modus_operandi", "summary", "operation_name",
					   "release", NULL };
static const char *const seizure_keys[] = { "drug", "quantity", "unit", "packaging", "marking",
					    "concealment", NULL };
static const char *const arrest_keys[] = { "name",    "name_local", "nationality", "birth_date",
					   "id_type", "id_no",      "role",        NULL };
static const char *const vehicle_keys[] = { "type", "plate", "country", NULL };

static const char *const units[] = { "tablets", "kg", "g", "l", "pieces", NULL };
static const int unit_values[] = { BLONET__UNIT__TABLET, BLONET__UNIT__KILOGRAM,
				   BLONET__UNIT__GRAM, BLONET__UNIT__LITRE, BLONET__UNIT__PIECE };
static const char *const roles[] = { "COURIER", "DRIVER", "ORGANISER", "FINANCIER", "LOOKOUT",
				     "BUYER",   "SELLER", "OTHER",     NULL };
static const char *const role_words[] = { "courier", "driver", "organiser", "financier",
					  "lookout", "buyer",  "seller",    "suspect" };
static const char *const id_types[] = { "PASSPORT", "ID_CARD", "BORDER_PASS", "NONE", NULL };
static const char *const id_schemes[] = { "passport", "national_id", "border_pass" };
/* Who may see the case beyond the reporting unit: the crossing's partners
 * (the default) or the own country only. */
static const char *const releases[] = { "CROSSING", "NATIONAL", NULL };
enum { RELEASE_CROSSING = 0, RELEASE_NATIONAL = 1 };

typedef struct {
	const blo_adapt_class_t *cls;
	const char *packaging, *marking, *concealment;
	double quantity;
	int unit;
	int severity;
} seizure_t;

static int read_seizures(blo_adapt_ctx_t *c, const cJSON *list, seizure_t *out, size_t *n_out)
{
	size_t n = 0;
	int rc;

	for (const cJSON *s = list->child; s != NULL; s = s->next, n++) {
		seizure_t *z = &out[n];
		char path[32], field[64];
		const char *drug, *unit;
		int u;

		memset(z, 0, sizeof(*z));
		snprintf(path, sizeof(path), "seizures[%zu]", n);
		if (!cJSON_IsObject(s))
			return blo_adapt_fail(c, path, "expected an object");
		if ((rc = blo_adapt_json_keys(c, s, path, seizure_keys)) != 0 ||
		    (rc = blo_adapt_json_string(c, s, path, "drug", BLO_ADAPT_REQUIRED, 32, &drug)) != 0 ||
		    (rc = blo_adapt_json_number(c, s, path, "quantity", true, 0, 1e12, false,
						&z->quantity, NULL)) != 0 ||
		    (rc = blo_adapt_json_string(c, s, path, "unit", BLO_ADAPT_REQUIRED, 8, &unit)) != 0 ||
		    (rc = blo_adapt_json_string(c, s, path, "packaging", 0, 256, &z->packaging)) != 0 ||
		    (rc = blo_adapt_json_string(c, s, path, "marking", 0, 64, &z->marking)) != 0 ||
		    (rc = blo_adapt_json_string(c, s, path, "concealment", 0, 256,
						&z->concealment)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "drug");
		z->cls = blo_adapt_rules_class_by_drug(c->rules, drug);
		if (z->cls == NULL)
			return blo_adapt_fail(c, field, "\"%.32s\" is not a drug code of the rules", drug);
		blo_adapt_path(field, sizeof(field), path, "quantity");
		if (!(z->quantity > 0))
			return blo_adapt_fail(c, field, "must be more than 0");
		blo_adapt_path(field, sizeof(field), path, "unit");
		if ((rc = blo_adapt_enum(c, field, unit, units, &u)) != 0)
			return rc;
		z->unit = unit_values[u];
		z->severity = blo_adapt_rules_rate(z->cls, z->quantity, z->unit);
	}
	*n_out = n;
	return 0;
}

static int read_arrests(blo_adapt_ctx_t *c, cJSON *alert, const cJSON *list, int64_t observed)
{
	size_t n = 0;
	int rc;

	for (const cJSON *p = list->child; p != NULL; p = p->next, n++) {
		const char *name, *local, *nat, *birth, *id_type, *id_no, *role;
		char path[32], field[64], nat2[3] = "", desc[300] = "";
		int r = 7, t = 3;
		cJSON *subject;

		snprintf(path, sizeof(path), "arrests[%zu]", n);
		if (!cJSON_IsObject(p))
			return blo_adapt_fail(c, path, "expected an object");
		if ((rc = blo_adapt_json_keys(c, p, path, arrest_keys)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "name", BLO_ADAPT_REQUIRED, 128, &name)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "name_local", 0, 256, &local)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "nationality", 0, 8, &nat)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "birth_date", 0, 16, &birth)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "id_type", 0, 16, &id_type)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "id_no", 0, 32, &id_no)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "role", 0, 16, &role)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "nationality");
		if (nat != NULL && (rc = blo_adapt_country(c, field, nat, true, nat2)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "birth_date");
		if (birth != NULL && (rc = blo_adapt_date(c, field, birth, observed)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "role");
		if (role != NULL && (rc = blo_adapt_enum(c, field, role, roles, &r)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "id_type");
		if (id_type != NULL && (rc = blo_adapt_enum(c, field, id_type, id_types, &t)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "id_no");
		if ((t != 3) != (id_no != NULL))
			return blo_adapt_fail(c, field, id_no == NULL ? "missing: id_type is given"
								      : "given without an id_type");
		if (local != NULL)
			snprintf(desc, sizeof(desc), "local name: %s", local);
		subject = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__PERSON, name, role_words[r],
					    nat2, birth, desc);
		if (t != 3)
			blo_adapt_identifier(c, subject, id_schemes[t], id_no, nat2);
	}
	return 0;
}

static int read_vehicles(blo_adapt_ctx_t *c, cJSON *alert, const cJSON *list)
{
	size_t n = 0;
	int rc;

	for (const cJSON *v = list->child; v != NULL; v = v->next, n++) {
		const char *type, *plate, *country;
		char path[32], field[64], cc[3] = "";
		cJSON *subject;

		snprintf(path, sizeof(path), "vehicles[%zu]", n);
		if (!cJSON_IsObject(v))
			return blo_adapt_fail(c, path, "expected an object");
		if ((rc = blo_adapt_json_keys(c, v, path, vehicle_keys)) != 0 ||
		    (rc = blo_adapt_json_string(c, v, path, "type", 0, 64, &type)) != 0 ||
		    (rc = blo_adapt_json_string(c, v, path, "plate", BLO_ADAPT_REQUIRED, 64, &plate)) != 0 ||
		    (rc = blo_adapt_json_string(c, v, path, "country", 0, 8, &country)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "country");
		if (country != NULL && (rc = blo_adapt_country(c, field, country, true, cc)) != 0)
			return rc;
		subject = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__VEHICLE, type, "conveyance",
					    NULL, NULL, NULL);
		blo_adapt_identifier(c, subject, "plate", plate, cc);
	}
	return 0;
}

static int map(blo_adapt_ctx_t *c, const cJSON *rec, Blonet__Alert **out)
{
	const char *case_no, *unit_code, *province, *district, *place_s, *occurred, *reported;
	const char *mo, *summary, *operation, *release_s;
	const cJSON *seizures, *arrests, *vehicles, *phones, *route;
	const blo_adapt_place_t *unit, *dplace;
	const blo_adapt_crossing_t *crossing;
	seizure_t items[MAX_SEIZURES];
	size_t n_items = 0, lead = 0, n_arrests = 0, i;
	double lat = 0, lon = 0, at_large = 0;
	bool has_lat = false, has_lon = false;
	int64_t observed, reported_ms;
	int rc, severity, direction, release = RELEASE_CROSSING;
	char from[3] = "", to[3] = "", qty[64];
	cJSON *alert = NULL, *location;
	blo_adapt_buf_t text = { 0 };

	if ((rc = blo_adapt_json_keys(c, rec, "", record_keys)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "case_no", BLO_ADAPT_REQUIRED, 64, &case_no)) != 0)
		return rc;
	snprintf(c->why->source_ref, sizeof(c->why->source_ref), "%s", case_no);
	if ((rc = blo_adapt_json_string(c, rec, "", "unit", BLO_ADAPT_REQUIRED, 32, &unit_code)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "province", BLO_ADAPT_REQUIRED, 64, &province)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "district", 0, 64, &district)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "place", 0, 256, &place_s)) != 0 ||
	    (rc = blo_adapt_json_number(c, rec, "", "latitude", false, -90, 90, false, &lat,
					&has_lat)) != 0 ||
	    (rc = blo_adapt_json_number(c, rec, "", "longitude", false, -180, 180, false, &lon,
					&has_lon)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "occurred_at", BLO_ADAPT_REQUIRED, 40,
					&occurred)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "reported_at", 0, 40, &reported)) != 0 ||
	    (rc = blo_adapt_json_array(c, rec, "", "seizures", true, MAX_SEIZURES, &seizures)) != 0 ||
	    (rc = blo_adapt_json_array(c, rec, "", "arrests", false, MAX_ARRESTS, &arrests)) != 0 ||
	    (rc = blo_adapt_json_number(c, rec, "", "suspects_at_large", false, 0, 1000, true,
					&at_large, NULL)) != 0 ||
	    (rc = blo_adapt_json_array(c, rec, "", "vehicles", false, MAX_VEHICLES, &vehicles)) != 0 ||
	    (rc = blo_adapt_json_array(c, rec, "", "phones", false, MAX_PHONES, &phones)) != 0 ||
	    (rc = blo_adapt_json_object(c, rec, "", "route", false, &route)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "modus_operandi", BLO_ADAPT_MULTILINE, 2000,
					&mo)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "summary", BLO_ADAPT_MULTILINE, 4000,
					&summary)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "operation_name", 0, 64, &operation)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "release", 0, 16, &release_s)) != 0)
		return rc;
	if (release_s != NULL && (rc = blo_adapt_enum(c, "release", release_s, releases,
						      &release)) != 0)
		return rc;
	if (has_lat != has_lon)
		return blo_adapt_fail(c, has_lat ? "longitude" : "latitude",
				      "missing: latitude and longitude go together");
	unit = blo_adapt_rules_place(c->rules, BLO_ADAPT_NARCOTICS, unit_code);
	if (unit == NULL)
		return blo_adapt_fail(c, "unit", "\"%.32s\" is not a unit of the rules", unit_code);
	dplace = blo_adapt_rules_district(c->rules, district);
	crossing = blo_adapt_rules_crossing(c->rules, dplace != NULL ? dplace->crossing
								     : unit->crossing);
	if ((rc = blo_adapt_time(c, "occurred_at", occurred, &observed)) != 0 ||
	    (reported != NULL && (rc = blo_adapt_time(c, "reported_at", reported, &reported_ms)) != 0))
		return rc;
	if (reported != NULL && reported_ms < observed)
		return blo_adapt_fail(c, "reported_at", "before occurred_at");
	if ((rc = read_seizures(c, seizures, items, &n_items)) != 0)
		return rc;
	for (i = 1; i < n_items; i++)
		if (items[i].severity > items[lead].severity)
			lead = i;
	severity = items[lead].severity;

	alert = blo_adapt_alert_begin(c, case_no, observed);
	blo_adapt_assess(c, alert, items[lead].cls->category, severity,
			 blo_adapt_seizure_urgency(severity, at_large > 0),
			 BLONET__CERTAINTY__OBSERVED, BLONET__SOURCE_RELIABILITY__SOURCE_A,
			 BLONET__INFORMATION_GRADE__INFO_1);
	if (release == RELEASE_NATIONAL) {
		/* The crossing as if it shared nothing: the own country, the own BLO. */
		char *country = c->rules->country, *site = crossing->site;
		blo_adapt_crossing_t national = *crossing;

		national.releasable_to = (blo_strlist_t){ .v = &country, .n = 1 };
		national.addressed_to = (blo_strlist_t){ .v = &site, .n = 1 };
		blo_adapt_handle(c, alert, &national);
	} else {
		blo_adapt_handle(c, alert, crossing);
	}
	if (place_s != NULL)
		blo_adapt_buf_printf(&text, "%s, ", place_s);
	if (district != NULL)
		blo_adapt_buf_printf(&text, "%s district, ", district);
	blo_adapt_buf_printf(&text, "%s province", province);
	location = blo_adapt_locate(c, alert, crossing, text.s, has_lat ? &lat : NULL,
				    has_lon ? &lon : NULL, 0);
	blo_adapt_buf_free(&text);
	if (route != NULL && (rc = blo_adapt_route(c, location, route, true, from, to)) != 0)
		goto out;
	/* Across the border, seen from this country. */
	if (from[0] != '\0' && strcmp(from, c->rules->country) != 0 &&
	    (to[0] == '\0' || strcmp(to, c->rules->country) == 0))
		direction = BLONET__DIRECTION__INBOUND;
	else if (from[0] != '\0' && strcmp(from, c->rules->country) == 0 && to[0] != '\0' &&
		 strcmp(to, c->rules->country) != 0)
		direction = BLONET__DIRECTION__OUTBOUND;
	else
		direction = BLONET__DIRECTION__IN_COUNTRY;
	blo_adapt_put_enum(c, location, "direction", &blonet__direction__descriptor, direction);

	if (arrests != NULL) {
		n_arrests = (size_t)cJSON_GetArraySize(arrests);
		if ((rc = read_arrests(c, alert, arrests, observed)) != 0)
			goto out;
	}
	if (vehicles != NULL && (rc = read_vehicles(c, alert, vehicles)) != 0)
		goto out;
	i = 0;
	for (const cJSON *p = phones != NULL ? phones->child : NULL; p != NULL; p = p->next, i++) {
		char field[32];
		cJSON *subject;

		snprintf(field, sizeof(field), "phones[%zu]", i);
		if (!cJSON_IsString(p)) {
			rc = blo_adapt_fail(c, field, "expected a phone number (a string)");
			goto out;
		}
		if ((rc = blo_adapt_phone(c, field, p->valuestring)) != 0)
			goto out;
		subject = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__PHONE, NULL, "seized phone",
					    NULL, NULL, NULL);
		blo_adapt_identifier(c, subject, "e164", p->valuestring, NULL);
	}

	for (i = 0; i < n_items; i++) {
		const seizure_t *z = &items[i];
		char key[40];

		blo_adapt_commodity(c, alert, z->cls, z->cls->name, NULL, NULL, z->quantity, z->unit,
				    z->concealment);
		snprintf(key, sizeof(key), "seizures[%zu].marking", i);
		blo_adapt_attr(c, alert, key, z->marking);
		snprintf(key, sizeof(key), "seizures[%zu].packaging", i);
		blo_adapt_attr(c, alert, key, z->packaging);
		blo_adapt_qty_text(qty, sizeof(qty), z->quantity, z->unit);
		blo_adapt_buf_printf(&text, "%s%zu) %s, %s%s%s%s%s", i > 0 ? "; " : "Seized: ", i + 1,
				     z->cls->name, qty, z->packaging != NULL ? ", " : "",
				     z->packaging != NULL ? z->packaging : "",
				     z->marking != NULL ? ", marked " : "",
				     z->marking != NULL ? z->marking : "");
	}
	blo_adapt_buf_printf(&text, ".");
	if (summary != NULL)
		blo_adapt_buf_printf(&text, "\n%s", summary);
	blo_adapt_put_str(c, alert, "description", text.s);
	blo_adapt_buf_free(&text);
	blo_adapt_put_str(c, alert, "modus_operandi", mo);

	blo_adapt_qty_text(qty, sizeof(qty), items[lead].quantity, items[lead].unit);
	blo_adapt_buf_printf(&text, "Narcotics case %s (%s): %s (%s)", case_no, unit->name,
			     items[lead].cls->name, qty);
	if (n_items > 1)
		blo_adapt_buf_printf(&text, " and %zu other seizure%s", n_items - 1,
				     n_items > 2 ? "s" : "");
	blo_adapt_buf_printf(&text, ", %zu arrested", n_arrests);
	if (at_large > 0)
		blo_adapt_buf_printf(&text, ", %.0f at large", at_large);
	blo_adapt_put_str(c, alert, "headline", text.s);
	blo_adapt_buf_free(&text);

	blo_adapt_attr(c, alert, "unit", unit->code);
	blo_adapt_attr(c, alert, "province", province);
	blo_adapt_attr(c, alert, "district", district);
	blo_adapt_attr_int(c, alert, "arrests", (long long)n_arrests);
	if (at_large > 0)
		blo_adapt_attr_int(c, alert, "suspects_at_large", (long long)at_large);
	blo_adapt_attr(c, alert, "operation_name", operation);
	blo_adapt_attr(c, alert, "reported_at", reported);
	if (release == RELEASE_NATIONAL)
		blo_adapt_attr(c, alert, "release", "NATIONAL");
	rc = blo_adapt_alert_end(c, alert, out);
	alert = NULL;
out:
	cJSON_Delete(alert);
	blo_adapt_buf_free(&text);
	return rc;
}

int blo_adapt_map_narcotics(const blo_adapt_rules_t *rules, const blo_adapt_record_t *rec,
			    Blonet__Alert **out, blo_adapt_reject_t *why)
{
	return blo_adapt_map_json_record(rules, BLO_ADAPT_NARCOTICS, rec, map, out, why);
}
