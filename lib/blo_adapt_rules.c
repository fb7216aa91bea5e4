/*
 * blo_adapt_rules: the rules file of the agency adapters, read with the
 * schema tables below and checked beyond them (references between sections,
 * codes, ascending levels), and the lookups the mappers use.
 */
#include "blo_adapt_rules.h"

#include "blo_codec.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- agencies */

static const char *const agency_names[BLO_ADAPT_AGENCIES] = { "customs", "immigration",
							       "narcotics" };

const char *blo_adapt_agency_name(blo_adapt_agency_t agency)
{
	assert(agency >= 0 && agency < BLO_ADAPT_AGENCIES);
	return agency_names[agency];
}

int blo_adapt_agency_parse(const char *name, blo_adapt_agency_t *out)
{
	for (int i = 0; i < BLO_ADAPT_AGENCIES; i++) {
		if (name != NULL && strcmp(name, agency_names[i]) == 0) {
			*out = (blo_adapt_agency_t)i;
			return 0;
		}
	}
	return BLO_EINVAL;
}

Blonet__AgencyKind blo_adapt_agency_kind(blo_adapt_agency_t agency)
{
	switch (agency) {
	case BLO_ADAPT_CUSTOMS:
		return BLONET__AGENCY_KIND__CUSTOMS;
	case BLO_ADAPT_IMMIGRATION:
		return BLONET__AGENCY_KIND__IMMIGRATION;
	case BLO_ADAPT_NARCOTICS:
		return BLONET__AGENCY_KIND__NARCOTICS_POLICE;
	default:
		return BLONET__AGENCY_KIND__AGENCY_UNSPECIFIED;
	}
}

/* ---------------------------------------------------------------- schema */

/* Enum choices are the .proto value names; blo_config stores the index,
 * which load() turns into the enum value by name. */
static const char *const tlp_choices[] = { "TLP_CLEAR", "TLP_GREEN", "TLP_AMBER",
					   "TLP_AMBER_STRICT", "TLP_RED", NULL };
static const char *const status_choices[] = { "ACTUAL", "EXERCISE", "TEST", NULL };
static const char *const category_choices[] = {
	"DRUGS",    "PRECURSORS",  "TRAFFICKING_IN_PERSONS", "MIGRANT_SMUGGLING",
	"WILDLIFE", "TIMBER",      "COUNTERFEIT",            "WEAPONS",
	"CURRENCY", "CATEGORY_OTHER", NULL
};
static const char *const kind_choices[] = { "DRUG",           "PRECURSOR",         "WILDLIFE_PRODUCT",
					    "TIMBER_PRODUCT", "COUNTERFEIT_GOODS", "WEAPON",
					    "CASH",           "COMMODITY_OTHER",   NULL };
static const char *const unit_choices[] = { "KILOGRAM", "GRAM",        "LITRE", "TABLET",
					    "PIECE",    "CUBIC_METRE", "HEAD",  "PACKAGE",
					    "US_DOLLAR", NULL };
/* MODERATE first: a class element starts zeroed, so it is the default. */
static const char *const severity_choices[] = { "MODERATE", "MINOR", "SEVERE", "EXTREME", NULL };

/* Customs offence codes a class may list (agents/formats/customs.md). */
static const char *const offence_codes[] = { "SMUGGLING", "PROHIBITED", "CITES", "IPR",
					     "MISDECLARATION", "CURRENCY", NULL };

static const blo_cfg_field_t position_fields[] = {
	{ .key = "latitude", .type = BLO_CFG_DOUBLE, .required = true,
	  .offset = offsetof(blo_adapt_crossing_t, position.latitude) -
		    offsetof(blo_adapt_crossing_t, position),
	  .dmin = -90, .dmax = 90, .expect = "WGS 84 degrees from -90 to 90" },
	{ .key = "longitude", .type = BLO_CFG_DOUBLE, .required = true,
	  .offset = offsetof(blo_adapt_crossing_t, position.longitude) -
		    offsetof(blo_adapt_crossing_t, position),
	  .dmin = -180, .dmax = 180, .expect = "WGS 84 degrees from -180 to 180" },
	{ .key = NULL }
};

static const blo_cfg_field_t crossing_fields[] = {
	{ .key = "site", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_crossing_t, site), .expect = "this side's BLO id" },
	{ .key = "name", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_crossing_t, name) },
	{ .key = "counterpart", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_crossing_t, counterpart),
	  .expect = "the BLO id across the border" },
	{ .key = "counterpart_country", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_crossing_t, counterpart_country),
	  .expect = "an ISO 3166 alpha-2 code" },
	{ .key = "tlp", .type = BLO_CFG_ENUM, .required = true,
	  .offset = offsetof(blo_adapt_crossing_t, tlp), .choices = tlp_choices },
	{ .key = "releasable_to", .type = BLO_CFG_STRINGS,
	  .offset = offsetof(blo_adapt_crossing_t, releasable_to) },
	{ .key = "addressed_to", .type = BLO_CFG_STRINGS,
	  .offset = offsetof(blo_adapt_crossing_t, addressed_to) },
	{ .key = "position", .type = BLO_CFG_OBJECT,
	  .offset = offsetof(blo_adapt_crossing_t, position), .fields = position_fields },
	{ .key = NULL }
};

static const blo_cfg_field_t level_fields[] = {
	{ .key = "unit", .type = BLO_CFG_ENUM, .required = true,
	  .offset = offsetof(blo_adapt_level_t, unit), .choices = unit_choices },
	{ .key = "moderate", .type = BLO_CFG_DOUBLE, .required = true,
	  .offset = offsetof(blo_adapt_level_t, moderate), .dmin = 0, .dmax = 1e15 },
	{ .key = "severe", .type = BLO_CFG_DOUBLE, .required = true,
	  .offset = offsetof(blo_adapt_level_t, severe), .dmin = 0, .dmax = 1e15 },
	{ .key = "extreme", .type = BLO_CFG_DOUBLE, .required = true,
	  .offset = offsetof(blo_adapt_level_t, extreme), .dmin = 0, .dmax = 1e15 },
	{ .key = NULL }
};

static const blo_cfg_field_t class_fields[] = {
	{ .key = "id", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_class_t, id) },
	{ .key = "name", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_class_t, name) },
	{ .key = "category", .type = BLO_CFG_ENUM, .required = true,
	  .offset = offsetof(blo_adapt_class_t, category), .choices = category_choices },
	{ .key = "kind", .type = BLO_CFG_ENUM, .required = true,
	  .offset = offsetof(blo_adapt_class_t, kind), .choices = kind_choices },
	{ .key = "species", .type = BLO_CFG_STRING, .offset = offsetof(blo_adapt_class_t, species) },
	{ .key = "hs_codes", .type = BLO_CFG_STRINGS,
	  .offset = offsetof(blo_adapt_class_t, hs_codes) },
	{ .key = "drug_codes", .type = BLO_CFG_STRINGS,
	  .offset = offsetof(blo_adapt_class_t, drug_codes) },
	{ .key = "offences", .type = BLO_CFG_STRINGS,
	  .offset = offsetof(blo_adapt_class_t, offences) },
	{ .key = "genera", .type = BLO_CFG_STRINGS, .offset = offsetof(blo_adapt_class_t, genera) },
	{ .key = "levels", .type = BLO_CFG_OBJECTS, .offset = offsetof(blo_adapt_class_t, levels),
	  .fields = level_fields, .elem_size = sizeof(blo_adapt_level_t) },
	{ .key = "other_severity", .type = BLO_CFG_ENUM,
	  .offset = offsetof(blo_adapt_class_t, other_severity), .choices = severity_choices },
	{ .key = NULL }
};

static const blo_cfg_field_t place_fields[] = {
	{ .key = "code", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_place_t, code) },
	{ .key = "name", .type = BLO_CFG_STRING, .offset = offsetof(blo_adapt_place_t, name) },
	{ .key = "crossing", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_place_t, crossing), .expect = "a crossings[].site" },
	{ .key = NULL }
};

#define AGENCY_COMMON                                                                          \
	{ .key = "agency_name", .type = BLO_CFG_STRING, .required = true,                      \
	  .offset = offsetof(blo_adapt_agency_rules_t, agency_name) },                         \
	{ .key = "tlp", .type = BLO_CFG_ENUM, .offset = offsetof(blo_adapt_agency_rules_t, tlp), \
	  .choices = tlp_choices },                                                            \
	{ .key = "operation", .type = BLO_CFG_STRING,                                          \
	  .offset = offsetof(blo_adapt_agency_rules_t, operation) }

static const blo_cfg_field_t customs_fields[] = {
	AGENCY_COMMON,
	{ .key = "offices", .type = BLO_CFG_OBJECTS, .required = true,
	  .offset = offsetof(blo_adapt_agency_rules_t, places), .fields = place_fields,
	  .elem_size = sizeof(blo_adapt_place_t) },
	{ .key = NULL }
};

static const blo_cfg_field_t immigration_fields[] = {
	AGENCY_COMMON,
	{ .key = "checkpoints", .type = BLO_CFG_OBJECTS, .required = true,
	  .offset = offsetof(blo_adapt_agency_rules_t, places), .fields = place_fields,
	  .elem_size = sizeof(blo_adapt_place_t) },
	{ .key = "group_moderate", .type = BLO_CFG_INT,
	  .offset = offsetof(blo_adapt_agency_rules_t, group_moderate), .min = 1, .max = 100000 },
	{ .key = "group_severe", .type = BLO_CFG_INT,
	  .offset = offsetof(blo_adapt_agency_rules_t, group_severe), .min = 1, .max = 100000 },
	{ .key = "group_extreme", .type = BLO_CFG_INT,
	  .offset = offsetof(blo_adapt_agency_rules_t, group_extreme), .min = 1, .max = 100000 },
	{ .key = NULL }
};

static const blo_cfg_field_t narcotics_fields[] = {
	AGENCY_COMMON,
	{ .key = "units", .type = BLO_CFG_OBJECTS, .required = true,
	  .offset = offsetof(blo_adapt_agency_rules_t, places), .fields = place_fields,
	  .elem_size = sizeof(blo_adapt_place_t) },
	{ .key = "districts", .type = BLO_CFG_OBJECTS,
	  .offset = offsetof(blo_adapt_agency_rules_t, districts), .fields = place_fields,
	  .elem_size = sizeof(blo_adapt_place_t) },
	{ .key = NULL }
};

static const blo_cfg_field_t rules_fields[] = {
	{ .key = "country", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(blo_adapt_rules_t, country), .expect = "an ISO 3166 alpha-2 code" },
	{ .key = "status", .type = BLO_CFG_ENUM, .offset = offsetof(blo_adapt_rules_t, status),
	  .choices = status_choices },
	{ .key = "language", .type = BLO_CFG_STRING, .offset = offsetof(blo_adapt_rules_t, language) },
	{ .key = "utc_offset_minutes", .type = BLO_CFG_INT,
	  .offset = offsetof(blo_adapt_rules_t, utc_offset_minutes), .min = -720, .max = 840 },
	{ .key = "crossings", .type = BLO_CFG_OBJECTS, .required = true,
	  .offset = offsetof(blo_adapt_rules_t, crossings), .fields = crossing_fields,
	  .elem_size = sizeof(blo_adapt_crossing_t) },
	{ .key = "commodities", .type = BLO_CFG_OBJECTS,
	  .offset = offsetof(blo_adapt_rules_t, commodities), .fields = class_fields,
	  .elem_size = sizeof(blo_adapt_class_t) },
	{ .key = "customs", .type = BLO_CFG_OBJECT,
	  .offset = offsetof(blo_adapt_rules_t, agency[BLO_ADAPT_CUSTOMS]), .fields = customs_fields },
	{ .key = "immigration", .type = BLO_CFG_OBJECT,
	  .offset = offsetof(blo_adapt_rules_t, agency[BLO_ADAPT_IMMIGRATION]),
	  .fields = immigration_fields },
	{ .key = "narcotics", .type = BLO_CFG_OBJECT,
	  .offset = offsetof(blo_adapt_rules_t, agency[BLO_ADAPT_NARCOTICS]),
	  .fields = narcotics_fields },
	{ .key = NULL }
};

/* ---------------------------------------------------------------- checks */

static int enum_value(const ProtobufCEnumDescriptor *desc, const char *const *choices, int index)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(desc,
										   choices[index]);

	assert(v != NULL); /* the choice tables hold .proto names */
	return v->value;
}

static int bad(blo_err_t *err, const char *name, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad(blo_err_t *err, const char *name, const char *key, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return blo_err_set(err, BLO_ECONFIG, "%s: key \"%s\": %s", name, key, what);
}

static bool is_site_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* HS prefix: 2 to 10 digits, dots allowed between. */
static bool hs_prefix_is_valid(const char *s)
{
	size_t digits = 0;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s != '.')
			return false;
	}
	return digits >= 2 && digits <= 10;
}

static int strdup_into(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return BLO_ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

static int list_default(blo_strlist_t *list, const char *a, const char *b)
{
	if (list->n > 0)
		return 0;
	free(list->v);
	list->v = calloc(2, sizeof(char *));
	if (list->v == NULL)
		return BLO_ENOMEM;
	list->v[0] = strdup(a);
	list->v[1] = strdup(b);
	list->n = 2;
	if (list->v[0] == NULL || list->v[1] == NULL)
		return BLO_ENOMEM;
	return 0;
}

static int check_crossings(blo_adapt_rules_t *r, const char *name, blo_err_t *err)
{
	blo_adapt_crossing_t *cs = r->crossings.v;
	char key[96];

	if (r->crossings.n == 0)
		return bad(err, name, "crossings", "expected at least one crossing");
	for (size_t i = 0; i < r->crossings.n; i++) {
		blo_adapt_crossing_t *c = &cs[i];

		snprintf(key, sizeof(key), "crossings[%zu].site", i);
		if (!is_site_id(c->site))
			return bad(err, name, key, "\"%.64s\" is not a site id", c->site);
		for (size_t k = 0; k < i; k++)
			if (strcmp(cs[k].site, c->site) == 0)
				return bad(err, name, key, "site \"%.64s\" is listed twice", c->site);
		snprintf(key, sizeof(key), "crossings[%zu].counterpart", i);
		if (!is_site_id(c->counterpart))
			return bad(err, name, key, "\"%.64s\" is not a site id", c->counterpart);
		snprintf(key, sizeof(key), "crossings[%zu].counterpart_country", i);
		if (!blo_country_is_valid(c->counterpart_country))
			return bad(err, name, key, "\"%.16s\" is not an ISO 3166 alpha-2 code",
				   c->counterpart_country);
		c->tlp = enum_value(&blonet__tlp__descriptor, tlp_choices, c->tlp);
		for (size_t k = 0; k < c->releasable_to.n; k++) {
			snprintf(key, sizeof(key), "crossings[%zu].releasable_to[%zu]", i, k);
			if (!blo_country_is_valid(c->releasable_to.v[k]))
				return bad(err, name, key, "\"%.16s\" is not an ISO 3166 alpha-2 code",
					   c->releasable_to.v[k]);
		}
		for (size_t k = 0; k < c->addressed_to.n; k++) {
			snprintf(key, sizeof(key), "crossings[%zu].addressed_to[%zu]", i, k);
			if (c->addressed_to.v[k][0] == '\0')
				return bad(err, name, key, "empty");
		}
		if (list_default(&c->releasable_to, r->country, c->counterpart_country) != 0 ||
		    list_default(&c->addressed_to, c->site, c->counterpart) != 0)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
	}
	return 0;
}

static int check_classes(blo_adapt_rules_t *r, const char *name, blo_err_t *err)
{
	blo_adapt_class_t *cl = r->commodities.v;
	char key[96];

	for (size_t i = 0; i < r->commodities.n; i++) {
		blo_adapt_class_t *c = &cl[i];
		blo_adapt_level_t *lv = c->levels.v;

		snprintf(key, sizeof(key), "commodities[%zu].id", i);
		for (size_t k = 0; k < i; k++)
			if (strcmp(cl[k].id, c->id) == 0)
				return bad(err, name, key, "class \"%.64s\" is listed twice", c->id);
		c->category = enum_value(&blonet__category__descriptor, category_choices, c->category);
		c->kind = enum_value(&blonet__commodity_kind__descriptor, kind_choices, c->kind);
		c->other_severity = enum_value(&blonet__severity__descriptor, severity_choices,
					       c->other_severity);
		if (c->species != NULL && c->species[0] == '\0') {
			free(c->species);
			c->species = NULL;
		}
		for (size_t k = 0; k < c->hs_codes.n; k++) {
			snprintf(key, sizeof(key), "commodities[%zu].hs_codes[%zu]", i, k);
			if (!hs_prefix_is_valid(c->hs_codes.v[k]))
				return bad(err, name, key,
					   "\"%.16s\" is not an HS code prefix (2 to 10 digits)",
					   c->hs_codes.v[k]);
		}
		for (size_t k = 0; k < c->offences.n; k++) {
			bool known = false;

			for (size_t o = 0; offence_codes[o] != NULL; o++)
				known = known || strcmp(offence_codes[o], c->offences.v[k]) == 0;
			snprintf(key, sizeof(key), "commodities[%zu].offences[%zu]", i, k);
			if (!known)
				return bad(err, name, key,
					   "\"%.32s\" is not a customs offence code (SMUGGLING, "
					   "PROHIBITED, CITES, IPR, MISDECLARATION, CURRENCY)",
					   c->offences.v[k]);
		}
		for (size_t k = 0; k < c->genera.n; k++) {
			const char *g = c->genera.v[k];

			snprintf(key, sizeof(key), "commodities[%zu].genera[%zu]", i, k);
			if (g[0] == '\0' || strchr(g, ' ') != NULL)
				return bad(err, name, key, "\"%.32s\" is not a genus (one word)", g);
			for (size_t j = 0; j < i; j++)
				for (size_t m = 0; m < cl[j].genera.n; m++)
					if (strcasecmp(cl[j].genera.v[m], g) == 0)
						return bad(err, name, key,
							   "genus \"%.32s\" is also in class \"%.64s\"",
							   g, cl[j].id);
		}
		for (size_t k = 0; k < c->drug_codes.n; k++) {
			snprintf(key, sizeof(key), "commodities[%zu].drug_codes[%zu]", i, k);
			if (c->drug_codes.v[k][0] == '\0')
				return bad(err, name, key, "empty");
			for (size_t j = 0; j < i; j++)
				for (size_t m = 0; m < cl[j].drug_codes.n; m++)
					if (strcmp(cl[j].drug_codes.v[m], c->drug_codes.v[k]) == 0)
						return bad(err, name, key,
							   "drug code \"%.32s\" is also in class \"%.64s\"",
							   c->drug_codes.v[k], cl[j].id);
		}
		for (size_t k = 0; k < c->levels.n; k++) {
			snprintf(key, sizeof(key), "commodities[%zu].levels[%zu]", i, k);
			lv[k].unit = enum_value(&blonet__unit__descriptor, unit_choices, lv[k].unit);
			if (!(lv[k].moderate > 0 && lv[k].moderate <= lv[k].severe &&
			      lv[k].severe <= lv[k].extreme))
				return bad(err, name, key,
					   "expected 0 < moderate <= severe <= extreme, got %g, %g, %g",
					   lv[k].moderate, lv[k].severe, lv[k].extreme);
			for (size_t j = 0; j < k; j++)
				if (lv[j].unit == lv[k].unit)
					return bad(err, name, key, "a second level for unit %s",
						   blo_enum_name(&blonet__unit__descriptor, lv[k].unit));
		}
	}
	return 0;
}

static int check_places(blo_adapt_rules_t *r, const char *name, const char *section,
			const char *list, blo_objlist_t *places, bool need_one, blo_err_t *err)
{
	blo_adapt_place_t *p = places->v;
	char key[96];

	if (need_one && places->n == 0)
		return bad(err, name, section, "expected at least one entry in \"%s\"", list);
	for (size_t i = 0; i < places->n; i++) {
		snprintf(key, sizeof(key), "%s.%s[%zu].code", section, list, i);
		if (p[i].code[0] == '\0')
			return bad(err, name, key, "empty");
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(p[k].code, p[i].code) == 0)
				return bad(err, name, key, "code \"%.64s\" is listed twice", p[i].code);
		snprintf(key, sizeof(key), "%s.%s[%zu].crossing", section, list, i);
		if (blo_adapt_rules_crossing(r, p[i].crossing) == NULL)
			return bad(err, name, key, "no crossing \"%.64s\" in \"crossings\"",
				   p[i].crossing);
		if (p[i].name == NULL && strdup_into(&p[i].name, p[i].code) != 0)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
	}
	return 0;
}

static int check(blo_adapt_rules_t *r, const char *name, blo_err_t *err)
{
	static const char *const lists[BLO_ADAPT_AGENCIES] = { "offices", "checkpoints", "units" };
	bool any = false;
	int rc;

	if (!blo_country_is_valid(r->country))
		return bad(err, name, "country", "\"%.16s\" is not an ISO 3166 alpha-2 code",
			   r->country);
	r->status = enum_value(&blonet__status__descriptor, status_choices, r->status);
	if ((rc = check_crossings(r, name, err)) != 0)
		return rc;
	if ((rc = check_classes(r, name, err)) != 0)
		return rc;
	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
		blo_adapt_agency_rules_t *ar = &r->agency[a];

		ar->tlp = ar->tlp < 0 ? 0 : enum_value(&blonet__tlp__descriptor, tlp_choices, ar->tlp);
		if (ar->agency_name == NULL)
			continue;
		any = true;
		if ((rc = check_places(r, name, agency_names[a], lists[a], &ar->places, true, err)) != 0)
			return rc;
		if ((rc = check_places(r, name, agency_names[a], "districts", &ar->districts, false,
				       err)) != 0)
			return rc;
		if (ar->operation != NULL && ar->operation[0] == '\0') {
			free(ar->operation);
			ar->operation = NULL;
		}
		if (!(ar->group_moderate <= ar->group_severe && ar->group_severe <= ar->group_extreme))
			return bad(err, name, agency_names[a],
				   "expected group_moderate <= group_severe <= group_extreme");
	}
	if (!any)
		return blo_err_set(err, BLO_ECONFIG,
				   "%s: no agency section: expected \"customs\", \"immigration\" or "
				   "\"narcotics\"",
				   name);
	return 0;
}

/* ---------------------------------------------------------------- load */

static blo_adapt_rules_t *rules_new(void)
{
	blo_adapt_rules_t *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->status = 0; /* ACTUAL */
	r->language = strdup("en");
	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
		r->agency[a].tlp = -1;
		r->agency[a].group_moderate = 5;
		r->agency[a].group_severe = 10;
		r->agency[a].group_extreme = 30;
	}
	if (r->language == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static int finish(blo_adapt_rules_t **out, blo_adapt_rules_t *r, const char *name, int rc,
		  blo_err_t *err)
{
	if (rc == 0)
		rc = check(r, name, err);
	if (rc != 0) {
		blo_adapt_rules_free(&r);
		return rc;
	}
	*out = r;
	return 0;
}

int blo_adapt_rules_load(blo_adapt_rules_t **out, const char *path, blo_err_t *err)
{
	blo_adapt_rules_t *r = rules_new();

	*out = NULL;
	if (r == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	return finish(out, r, path, blo_config_load(path, rules_fields, r, err), err);
}

int blo_adapt_rules_parse(blo_adapt_rules_t **out, const char *name, const char *text, size_t len,
			  blo_err_t *err)
{
	blo_adapt_rules_t *r = rules_new();

	*out = NULL;
	if (r == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	return finish(out, r, name,
		      blo_config_parse(name, NULL, text, len, rules_fields, r, err), err);
}

void blo_adapt_rules_free(blo_adapt_rules_t **rules_p)
{
	if (rules_p == NULL || *rules_p == NULL)
		return;
	blo_config_free(rules_fields, *rules_p);
	free(*rules_p);
	*rules_p = NULL;
}

/* ---------------------------------------------------------------- lookups */

bool blo_adapt_rules_has(const blo_adapt_rules_t *rules, blo_adapt_agency_t agency)
{
	return rules->agency[agency].agency_name != NULL;
}

const blo_adapt_crossing_t *blo_adapt_rules_crossing(const blo_adapt_rules_t *rules,
						     const char *site)
{
	const blo_adapt_crossing_t *c = rules->crossings.v;

	for (size_t i = 0; site != NULL && i < rules->crossings.n; i++)
		if (strcmp(c[i].site, site) == 0)
			return &c[i];
	return NULL;
}

const blo_adapt_place_t *blo_adapt_rules_place(const blo_adapt_rules_t *rules,
					       blo_adapt_agency_t agency, const char *code)
{
	const blo_objlist_t *list = &rules->agency[agency].places;
	const blo_adapt_place_t *p = list->v;

	for (size_t i = 0; code != NULL && i < list->n; i++)
		if (strcmp(p[i].code, code) == 0)
			return &p[i];
	return NULL;
}

const blo_adapt_place_t *blo_adapt_rules_district(const blo_adapt_rules_t *rules,
						  const char *name)
{
	const blo_objlist_t *list = &rules->agency[BLO_ADAPT_NARCOTICS].districts;
	const blo_adapt_place_t *p = list->v;

	for (size_t i = 0; name != NULL && i < list->n; i++)
		if (strcasecmp(p[i].code, name) == 0)
			return &p[i];
	return NULL;
}

static bool has_level(const blo_adapt_class_t *c, int unit)
{
	const blo_adapt_level_t *lv = c->levels.v;

	for (size_t i = 0; i < c->levels.n; i++)
		if (lv[i].unit == unit ||
		    (unit == BLONET__UNIT__GRAM && lv[i].unit == BLONET__UNIT__KILOGRAM) ||
		    (unit == BLONET__UNIT__KILOGRAM && lv[i].unit == BLONET__UNIT__GRAM))
			return true;
	return false;
}

/* Length of prefix (dots ignored) if it is a prefix of hs (dots ignored),
 * else 0. */
static size_t hs_match(const char *prefix, const char *hs)
{
	size_t n = 0;

	for (;;) {
		while (*prefix == '.')
			prefix++;
		while (*hs == '.')
			hs++;
		if (*prefix == '\0')
			return n;
		if (*hs != *prefix)
			return 0;
		prefix++;
		hs++;
		n++;
	}
}

const blo_adapt_class_t *blo_adapt_rules_class_by_hs(const blo_adapt_rules_t *rules,
						     const char *hs_code, int unit)
{
	const blo_adapt_class_t *cl = rules->commodities.v, *best = NULL;
	size_t best_len = 0;
	bool best_unit = false;

	for (size_t i = 0; hs_code != NULL && i < rules->commodities.n; i++) {
		for (size_t k = 0; k < cl[i].hs_codes.n; k++) {
			size_t len = hs_match(cl[i].hs_codes.v[k], hs_code);
			bool unit_ok = has_level(&cl[i], unit);

			if (len == 0)
				continue;
			if (len > best_len || (len == best_len && unit_ok && !best_unit)) {
				best = &cl[i];
				best_len = len;
				best_unit = unit_ok;
			}
		}
	}
	return best;
}

static const blo_adapt_class_t *class_listing(const blo_adapt_rules_t *rules, size_t offset,
					      const char *code)
{
	const blo_adapt_class_t *cl = rules->commodities.v;

	for (size_t i = 0; code != NULL && i < rules->commodities.n; i++) {
		const blo_strlist_t *list = (const blo_strlist_t *)((const char *)&cl[i] + offset);

		for (size_t k = 0; k < list->n; k++)
			if (strcmp(list->v[k], code) == 0)
				return &cl[i];
	}
	return NULL;
}

const blo_adapt_class_t *blo_adapt_rules_class_by_species(const blo_adapt_rules_t *rules,
							  const char *species)
{
	const blo_adapt_class_t *cl = rules->commodities.v;
	size_t len;

	if (species == NULL)
		return NULL;
	len = strcspn(species, " ");
	for (size_t i = 0; i < rules->commodities.n; i++)
		for (size_t k = 0; k < cl[i].genera.n; k++)
			if (strlen(cl[i].genera.v[k]) == len &&
			    strncasecmp(cl[i].genera.v[k], species, len) == 0)
				return &cl[i];
	return NULL;
}

const blo_adapt_class_t *blo_adapt_rules_class_by_offence(const blo_adapt_rules_t *rules,
							  const char *offence)
{
	return class_listing(rules, offsetof(blo_adapt_class_t, offences), offence);
}

const blo_adapt_class_t *blo_adapt_rules_class_by_drug(const blo_adapt_rules_t *rules,
						       const char *drug_code)
{
	return class_listing(rules, offsetof(blo_adapt_class_t, drug_codes), drug_code);
}

int blo_adapt_rules_rate(const blo_adapt_class_t *cls, double quantity, int unit)
{
	const blo_adapt_level_t *lv = cls->levels.v, *level = NULL;
	double q = quantity;

	for (size_t i = 0; i < cls->levels.n && level == NULL; i++)
		if (lv[i].unit == unit)
			level = &lv[i];
	for (size_t i = 0; i < cls->levels.n && level == NULL; i++) {
		if (unit == BLONET__UNIT__GRAM && lv[i].unit == BLONET__UNIT__KILOGRAM) {
			level = &lv[i];
			q = quantity / 1000.0;
		} else if (unit == BLONET__UNIT__KILOGRAM && lv[i].unit == BLONET__UNIT__GRAM) {
			level = &lv[i];
			q = quantity * 1000.0;
		}
	}
	if (level == NULL || !(quantity > 0))
		return cls->other_severity;
	if (q >= level->extreme)
		return BLONET__SEVERITY__EXTREME;
	if (q >= level->severe)
		return BLONET__SEVERITY__SEVERE;
	if (q >= level->moderate)
		return BLONET__SEVERITY__MODERATE;
	return BLONET__SEVERITY__MINOR;
}
