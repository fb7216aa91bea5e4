/*
 * blo_adapt_customs: customs seizure records (agents/formats/customs.md),
 * one JSON object per line, to alerts. Category, kind and severity come
 * from the commodity class of each item (by offence, else by HS code and
 * unit); the item that rates most severe leads the alert.
 */
#include "blo_adapt_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GOODS 50
#define MAX_PERSONS 50
#define MAX_CONTAINERS 20

static const char *const record_keys[] = { "seizure_ref", "office_code",  "seized_at", "offence",
					   "direction",   "detection",    "declaration", "goods",
					   "conveyance",  "containers",   "route",       "persons",
					   "customs_value", "remarks",    NULL };
static const char *const goods_keys[] = { "hs_code", "description", "quantity", "unit",
					  "species", "concealment", "marking",  NULL };
static const char *const declaration_keys[] = { "number", "type", "declarant", "declarant_tax_id",
						NULL };
static const char *const conveyance_keys[] = { "mode", "type", "registration", "country", NULL };
static const char *const person_keys[] = { "name",          "name_local",  "role",
					   "status",        "nationality", "birth_date",
					   "document_type", "document_no", "document_country",
					   NULL };
static const char *const value_keys[] = { "amount", "currency", NULL };

static const char *const offences[] = { "SMUGGLING", "PROHIBITED", "CITES", "IPR",
					"MISDECLARATION", "CURRENCY", NULL };
static const char *const directions[] = { "IMPORT", "EXPORT", "INLAND", NULL };
static const int direction_values[] = { BLONET__DIRECTION__INBOUND, BLONET__DIRECTION__OUTBOUND,
					BLONET__DIRECTION__IN_COUNTRY };
static const char *const detections[] = { "XRAY",         "K9",      "PHYSICAL", "RISK_PROFILE",
					  "INTELLIGENCE", "TIP_OFF", "OTHER",    NULL };
static const char *const declaration_types[] = { "IMPORT", "EXPORT", "TRANSIT", NULL };
/* UN/ECE Recommendation 20 unit codes, and USD for cash. */
static const char *const units[] = { "KGM", "GRM", "LTR", "MTQ", "H87", "NAR",
				     "U2",  "PK",  "HEA", "USD", NULL };
static const int unit_values[] = { BLONET__UNIT__KILOGRAM,    BLONET__UNIT__GRAM,
				   BLONET__UNIT__LITRE,       BLONET__UNIT__CUBIC_METRE,
				   BLONET__UNIT__PIECE,       BLONET__UNIT__PIECE,
				   BLONET__UNIT__TABLET,      BLONET__UNIT__PACKAGE,
				   BLONET__UNIT__HEAD,        BLONET__UNIT__US_DOLLAR };
static const char *const modes[] = { "ROAD", "RIVER", "RAIL", "PEDESTRIAN", NULL };
static const char *const roles[] = { "DRIVER",    "CARRIER",       "PASSENGER", "CONSIGNOR",
				     "CONSIGNEE", "BOAT_OPERATOR", "OWNER",     "OTHER",
				     NULL };
static const char *const statuses[] = { "ARRESTED", "ABSCONDED", "RELEASED", "UNKNOWN", NULL };
static const char *const status_words[] = { "arrested", "absconded", "released",
					    "status unknown" };
static const char *const document_types[] = { "PASSPORT", "ID_CARD", "BORDER_PASS", "OTHER",
					      NULL };
static const char *const document_schemes[] = { "passport", "national_id", "border_pass",
						"document" };

typedef struct {
	const char *hs_code, *description, *species, *concealment, *marking;
	double quantity;
	int unit;
	const blo_adapt_class_t *cls;
	int severity;
} item_t;

/* "BOAT_OPERATOR" -> "boat operator" */
static void lower_words(char *buf, size_t size, const char *code)
{
	size_t i = 0;

	for (; code[i] != '\0' && i + 1 < size; i++)
		buf[i] = code[i] == '_' ? ' ' : (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32 : code[i]);
	buf[i] = '\0';
}

static int read_goods(blo_adapt_ctx_t *c, const cJSON *goods, int offence, item_t *items,
		      size_t *n_items)
{
	const blo_adapt_class_t *offence_class =
		blo_adapt_rules_class_by_offence(c->rules, offences[offence]);
	size_t n = 0;
	int rc;

	for (const cJSON *g = goods->child; g != NULL; g = g->next, n++) {
		item_t *it = &items[n];
		char path[32], field[64];
		const char *unit = NULL;
		int u;

		memset(it, 0, sizeof(*it));
		snprintf(path, sizeof(path), "goods[%zu]", n);
		if (!cJSON_IsObject(g))
			return blo_adapt_fail(c, path, "expected an object");
		if ((rc = blo_adapt_json_keys(c, g, path, goods_keys)) != 0 ||
		    (rc = blo_adapt_json_string(c, g, path, "hs_code", BLO_ADAPT_REQUIRED, 16,
						&it->hs_code)) != 0 ||
		    (rc = blo_adapt_json_string(c, g, path, "description", BLO_ADAPT_REQUIRED, 512,
						&it->description)) != 0 ||
		    (rc = blo_adapt_json_number(c, g, path, "quantity", true, 0, 1e12, false,
						&it->quantity, NULL)) != 0 ||
		    (rc = blo_adapt_json_string(c, g, path, "unit", BLO_ADAPT_REQUIRED, 8, &unit)) != 0 ||
		    (rc = blo_adapt_json_string(c, g, path, "species", 0, 128, &it->species)) != 0 ||
		    (rc = blo_adapt_json_string(c, g, path, "concealment", 0, 256,
						&it->concealment)) != 0 ||
		    (rc = blo_adapt_json_string(c, g, path, "marking", 0, 64, &it->marking)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "hs_code");
		if ((rc = blo_adapt_hs_code(c, field, it->hs_code)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "quantity");
		if (!(it->quantity > 0))
			return blo_adapt_fail(c, field, "must be more than 0");
		blo_adapt_path(field, sizeof(field), path, "unit");
		if ((rc = blo_adapt_enum(c, field, unit, units, &u)) != 0)
			return rc;
		it->unit = unit_values[u];
		/* The offence's class, else the HS code's, else the species'. */
		it->cls = offence_class;
		if (it->cls == NULL)
			it->cls = blo_adapt_rules_class_by_hs(c->rules, it->hs_code, it->unit);
		if (it->cls == NULL)
			it->cls = blo_adapt_rules_class_by_species(c->rules, it->species);
		it->severity = it->cls != NULL ? blo_adapt_rules_rate(it->cls, it->quantity, it->unit)
					       : BLONET__SEVERITY__MINOR;
	}
	*n_items = n;
	return 0;
}

static int read_persons(blo_adapt_ctx_t *c, cJSON *alert, const cJSON *persons,
			int64_t observed_ms, bool *at_large)
{
	size_t n = 0;
	int rc;

	for (const cJSON *p = persons->child; p != NULL; p = p->next, n++) {
		const char *name, *local, *role, *status, *nat, *birth, *dtype, *dno, *dcountry;
		char path[32], field[64], nat2[3] = "", issuer[3] = "", role_words[32], desc[400];
		int r, s = 3, d = 0;
		cJSON *subject;

		snprintf(path, sizeof(path), "persons[%zu]", n);
		if (!cJSON_IsObject(p))
			return blo_adapt_fail(c, path, "expected an object");
		if ((rc = blo_adapt_json_keys(c, p, path, person_keys)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "name", BLO_ADAPT_REQUIRED, 128, &name)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "name_local", 0, 256, &local)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "role", BLO_ADAPT_REQUIRED, 32, &role)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "status", 0, 32, &status)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "nationality", 0, 8, &nat)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "birth_date", 0, 16, &birth)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "document_type", 0, 16, &dtype)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "document_no", 0, 32, &dno)) != 0 ||
		    (rc = blo_adapt_json_string(c, p, path, "document_country", 0, 8, &dcountry)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "role");
		if ((rc = blo_adapt_enum(c, field, role, roles, &r)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "status");
		if (status != NULL && (rc = blo_adapt_enum(c, field, status, statuses, &s)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "nationality");
		if (nat != NULL && (rc = blo_adapt_country(c, field, nat, false, nat2)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "birth_date");
		if (birth != NULL && (rc = blo_adapt_date(c, field, birth, observed_ms)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "document_type");
		if (dtype != NULL && (rc = blo_adapt_enum(c, field, dtype, document_types, &d)) != 0)
			return rc;
		blo_adapt_path(field, sizeof(field), path, "document_no");
		if ((dtype != NULL) != (dno != NULL))
			return blo_adapt_fail(c, field, dno == NULL ? "missing: document_type is given"
								    : "given without document_type");
		blo_adapt_path(field, sizeof(field), path, "document_country");
		if (dcountry != NULL && (rc = blo_adapt_country(c, field, dcountry, false, issuer)) != 0)
			return rc;
		if (dcountry == NULL)
			memcpy(issuer, nat2, sizeof(issuer));
		if (s == 1)
			*at_large = true;
		lower_words(role_words, sizeof(role_words), roles[r]);
		if (local != NULL)
			snprintf(desc, sizeof(desc), "%s; local name: %s", status_words[s], local);
		else
			snprintf(desc, sizeof(desc), "%s", status_words[s]);
		subject = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__PERSON, name, role_words,
					    nat2, birth, desc);
		if (dno != NULL)
			blo_adapt_identifier(c, subject, document_schemes[d], dno, issuer);
	}
	return 0;
}

static int read_conveyance(blo_adapt_ctx_t *c, cJSON *alert, const cJSON *conv, const char **mode_out)
{
	const char *mode, *type, *reg, *country;
	char cc[3] = "";
	int m, rc;
	cJSON *s;

	*mode_out = NULL;
	if ((rc = blo_adapt_json_keys(c, conv, "conveyance", conveyance_keys)) != 0 ||
	    (rc = blo_adapt_json_string(c, conv, "conveyance", "mode", BLO_ADAPT_REQUIRED, 16,
					&mode)) != 0 ||
	    (rc = blo_adapt_json_string(c, conv, "conveyance", "type", 0, 64, &type)) != 0 ||
	    (rc = blo_adapt_json_string(c, conv, "conveyance", "registration", 0, 64, &reg)) != 0 ||
	    (rc = blo_adapt_json_string(c, conv, "conveyance", "country", 0, 8, &country)) != 0)
		return rc;
	if ((rc = blo_adapt_enum(c, "conveyance.mode", mode, modes, &m)) != 0)
		return rc;
	if (country != NULL && (rc = blo_adapt_country(c, "conveyance.country", country, false, cc)) != 0)
		return rc;
	*mode_out = modes[m];
	if (m == 3) /* on foot: nothing to name */
		return 0;
	s = blo_adapt_subject(c, alert, m == 1 ? BLONET__SUBJECT_KIND__VESSEL : BLONET__SUBJECT_KIND__VEHICLE,
			      type, "conveyance", NULL, NULL, NULL);
	blo_adapt_identifier(c, s, m == 1 ? "registration" : m == 2 ? "wagon" : "plate", reg, cc);
	return 0;
}

static int map(blo_adapt_ctx_t *c, const cJSON *rec, Blonet__Alert **out)
{
	const char *ref, *office, *seized, *offence_s, *dir_s, *detect_s, *remarks;
	const cJSON *decl, *goods, *conv, *containers, *route, *persons, *value;
	const blo_adapt_place_t *place;
	const blo_adapt_crossing_t *crossing;
	item_t items[MAX_GOODS];
	size_t n_items = 0, lead = 0, n_containers = 0;
	int offence, dir, detect = -1, rc, category, severity;
	int64_t observed;
	bool at_large = false;
	const char *conv_mode = NULL;
	cJSON *alert = NULL, *location;
	blo_adapt_buf_t text = { 0 };
	char qty[64];

	if ((rc = blo_adapt_json_keys(c, rec, "", record_keys)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "seizure_ref", BLO_ADAPT_REQUIRED, 64, &ref)) != 0)
		return rc;
	snprintf(c->why->source_ref, sizeof(c->why->source_ref), "%s", ref);
	if ((rc = blo_adapt_json_string(c, rec, "", "office_code", BLO_ADAPT_REQUIRED, 32, &office)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "seized_at", BLO_ADAPT_REQUIRED, 40, &seized)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "offence", BLO_ADAPT_REQUIRED, 32, &offence_s)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "direction", BLO_ADAPT_REQUIRED, 16, &dir_s)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "detection", 0, 32, &detect_s)) != 0 ||
	    (rc = blo_adapt_json_string(c, rec, "", "remarks", BLO_ADAPT_MULTILINE, 2000, &remarks)) != 0 ||
	    (rc = blo_adapt_json_object(c, rec, "", "declaration", false, &decl)) != 0 ||
	    (rc = blo_adapt_json_array(c, rec, "", "goods", true, MAX_GOODS, &goods)) != 0 ||
	    (rc = blo_adapt_json_object(c, rec, "", "conveyance", false, &conv)) != 0 ||
	    (rc = blo_adapt_json_array(c, rec, "", "containers", false, MAX_CONTAINERS, &containers)) != 0 ||
	    (rc = blo_adapt_json_object(c, rec, "", "route", false, &route)) != 0 ||
	    (rc = blo_adapt_json_array(c, rec, "", "persons", false, MAX_PERSONS, &persons)) != 0 ||
	    (rc = blo_adapt_json_object(c, rec, "", "customs_value", false, &value)) != 0)
		return rc;
	place = blo_adapt_rules_place(c->rules, BLO_ADAPT_CUSTOMS, office);
	if (place == NULL)
		return blo_adapt_fail(c, "office_code", "\"%.32s\" is not an office of the rules",
				      office);
	crossing = blo_adapt_rules_crossing(c->rules, place->crossing);
	if ((rc = blo_adapt_time(c, "seized_at", seized, &observed)) != 0 ||
	    (rc = blo_adapt_enum(c, "offence", offence_s, offences, &offence)) != 0 ||
	    (rc = blo_adapt_enum(c, "direction", dir_s, directions, &dir)) != 0 ||
	    (detect_s != NULL && (rc = blo_adapt_enum(c, "detection", detect_s, detections, &detect)) != 0))
		return rc;
	if ((rc = read_goods(c, goods, offence, items, &n_items)) != 0)
		return rc;
	for (size_t i = 1; i < n_items; i++)
		if (items[i].severity > items[lead].severity)
			lead = i;
	severity = items[lead].severity;
	if (items[lead].cls != NULL)
		category = items[lead].cls->category;
	else if (offence == 2)
		category = BLONET__CATEGORY__WILDLIFE;
	else if (offence == 3)
		category = BLONET__CATEGORY__COUNTERFEIT;
	else if (offence == 5)
		category = BLONET__CATEGORY__CURRENCY;
	else
		category = BLONET__CATEGORY__CATEGORY_OTHER;

	alert = blo_adapt_alert_begin(c, ref, observed);
	if (persons != NULL && (rc = read_persons(c, alert, persons, observed, &at_large)) != 0)
		goto out;
	if (conv != NULL && (rc = read_conveyance(c, alert, conv, &conv_mode)) != 0)
		goto out;
	for (const cJSON *k = containers != NULL ? containers->child : NULL; k != NULL; k = k->next) {
		char field[32], number[12];
		cJSON *s;

		snprintf(field, sizeof(field), "containers[%zu]", n_containers++);
		if (!cJSON_IsString(k)) {
			rc = blo_adapt_fail(c, field, "expected a container number (a string)");
			goto out;
		}
		if ((rc = blo_adapt_container(c, field, k->valuestring, number)) != 0)
			goto out;
		s = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__CONTAINER, NULL, "container",
				      NULL, NULL, NULL);
		blo_adapt_identifier(c, s, "iso6346", number, NULL);
	}
	if (decl != NULL) {
		const char *number, *type, *declarant, *tax;
		int t;

		if ((rc = blo_adapt_json_keys(c, decl, "declaration", declaration_keys)) != 0 ||
		    (rc = blo_adapt_json_string(c, decl, "declaration", "number", BLO_ADAPT_REQUIRED,
						35, &number)) != 0 ||
		    (rc = blo_adapt_json_string(c, decl, "declaration", "type", BLO_ADAPT_REQUIRED, 16,
						&type)) != 0 ||
		    (rc = blo_adapt_json_string(c, decl, "declaration", "declarant", 0, 256,
						&declarant)) != 0 ||
		    (rc = blo_adapt_json_string(c, decl, "declaration", "declarant_tax_id", 0, 32,
						&tax)) != 0 ||
		    (rc = blo_adapt_enum(c, "declaration.type", type, declaration_types, &t)) != 0)
			goto out;
		if (declarant != NULL) {
			cJSON *s = blo_adapt_subject(c, alert, BLONET__SUBJECT_KIND__ORGANISATION,
						     declarant, "declarant", NULL, NULL, NULL);

			blo_adapt_identifier(c, s, "tax_id", tax, c->rules->country);
		} else if (tax != NULL) {
			rc = blo_adapt_fail(c, "declaration.declarant_tax_id",
					    "given without declaration.declarant");
			goto out;
		}
		blo_adapt_attr(c, alert, "declaration_number", number);
		blo_adapt_attr(c, alert, "declaration_type", declaration_types[t]);
	}
	if (value != NULL) {
		const char *currency;
		double amount = 0;
		char v[64];

		if ((rc = blo_adapt_json_keys(c, value, "customs_value", value_keys)) != 0 ||
		    (rc = blo_adapt_json_number(c, value, "customs_value", "amount", true, 0, 1e15,
						false, &amount, NULL)) != 0 ||
		    (rc = blo_adapt_json_string(c, value, "customs_value", "currency",
						BLO_ADAPT_REQUIRED, 3, &currency)) != 0)
			goto out;
		if (strlen(currency) != 3 || currency[0] < 'A' || currency[0] > 'Z' ||
		    currency[1] < 'A' || currency[1] > 'Z' || currency[2] < 'A' || currency[2] > 'Z') {
			rc = blo_adapt_fail(c, "customs_value.currency",
					    "\"%s\" is not an ISO 4217 currency code", currency);
			goto out;
		}
		snprintf(v, sizeof(v), "%.2f %s", amount, currency);
		blo_adapt_attr(c, alert, "customs_value", v);
	}

	/* What: one commodity per item; the lead item names the alert. */
	for (size_t i = 0; i < n_items; i++) {
		const item_t *it = &items[i];

		blo_adapt_commodity(c, alert, it->cls, it->cls != NULL ? it->cls->name : it->description,
				    it->hs_code, it->species, it->quantity, it->unit, it->concealment);
		if (it->marking != NULL) {
			char key[32];

			snprintf(key, sizeof(key), "goods[%zu].marking", i);
			blo_adapt_attr(c, alert, key, it->marking);
		}
		blo_adapt_qty_text(qty, sizeof(qty), it->quantity, it->unit);
		blo_adapt_buf_printf(&text, "%s%zu) %s, HS %s, %s%s%s", i > 0 ? "; " : "Seized: ", i + 1,
				     it->description, it->hs_code, qty,
				     it->concealment != NULL ? ", concealed: " : "",
				     it->concealment != NULL ? it->concealment : "");
	}
	if (remarks != NULL)
		blo_adapt_buf_printf(&text, ".\n%s", remarks);
	else
		blo_adapt_buf_printf(&text, ".");
	blo_adapt_put_str(c, alert, "description", text.s);
	blo_adapt_buf_free(&text);
	blo_adapt_put_str(c, alert, "modus_operandi", items[lead].concealment);
	blo_adapt_qty_text(qty, sizeof(qty), items[lead].quantity, items[lead].unit);
	blo_adapt_buf_printf(&text, "Customs seizure at %s: %s (%s)", place->name,
			     items[lead].cls != NULL ? items[lead].cls->name : items[lead].description,
			     qty);
	if (n_items > 1)
		blo_adapt_buf_printf(&text, " and %zu other item%s", n_items - 1, n_items > 2 ? "s" : "");
	blo_adapt_put_str(c, alert, "headline", text.s);
	blo_adapt_buf_free(&text);

	blo_adapt_assess(c, alert, category, severity, blo_adapt_seizure_urgency(severity, at_large),
			 BLONET__CERTAINTY__OBSERVED, BLONET__SOURCE_RELIABILITY__SOURCE_A,
			 BLONET__INFORMATION_GRADE__INFO_1);
	blo_adapt_handle(c, alert, crossing);
	location = blo_adapt_locate(c, alert, crossing, place->name, NULL, NULL,
				    direction_values[dir]);
	if (route != NULL) {
		if ((rc = blo_adapt_route(c, location, route, false, NULL, NULL)) != 0)
			goto out;
	} else if (dir != 2) {
		/* Across this crossing: from the other side in, or out to it. */
		cJSON *r = blo_adapt_put_obj(c, location, "route");

		blo_adapt_put_str(c, r, "from_country", dir == 0 ? crossing->counterpart_country
								 : c->rules->country);
		blo_adapt_put_str(c, r, "to_country", dir == 0 ? c->rules->country
							       : crossing->counterpart_country);
	}
	blo_adapt_attr(c, alert, "office_code", place->code);
	blo_adapt_attr(c, alert, "offence", offences[offence]);
	if (detect >= 0)
		blo_adapt_attr(c, alert, "detection", detections[detect]);
	blo_adapt_attr(c, alert, "conveyance_mode", conv_mode);
	rc = blo_adapt_alert_end(c, alert, out);
	alert = NULL;
out:
	blo_adapt_buf_free(&text);
	cJSON_Delete(alert);
	return rc;
}

int blo_adapt_map_customs(const blo_adapt_rules_t *rules, const blo_adapt_record_t *rec,
			  Blonet__Alert **out, blo_adapt_reject_t *why)
{
	return blo_adapt_map_json_record(rules, BLO_ADAPT_CUSTOMS, rec, map, out, why);
}
