/*
 * blo_adapt_rules: the mapping rules of the agency adapters, read from a
 * rules file with blo_config. One file serves the adapters of a country: the
 * crossings (BLO site, counterpart, releasability, TLP, position), the
 * commodity classes (category, kind, severity levels by quantity) and, per
 * agency, its own codes (customs offices, immigration checkpoints, police
 * units and districts) tied to crossings. The file format is documented in
 * agents/formats/README.md; agents/formats/rules-th.json is an example.
 */
#ifndef BLO_ADAPT_RULES_H
#define BLO_ADAPT_RULES_H

#include "blo_config.h"
#include "blo_err.h"
#include "blonet.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The agencies that have an adapter, in this order everywhere. */
typedef enum {
	BLO_ADAPT_CUSTOMS = 0,
	BLO_ADAPT_IMMIGRATION = 1,
	BLO_ADAPT_NARCOTICS = 2,
	BLO_ADAPT_AGENCIES = 3
} blo_adapt_agency_t;

/* "customs", "immigration", "narcotics". */
const char *blo_adapt_agency_name(blo_adapt_agency_t agency);
/* Parses one of those names into *out. Returns 0 or BLO_EINVAL. */
int blo_adapt_agency_parse(const char *name, blo_adapt_agency_t *out);
/* CUSTOMS, IMMIGRATION, NARCOTICS_POLICE. */
Blonet__AgencyKind blo_adapt_agency_kind(blo_adapt_agency_t agency);

/* A border crossing as seen from this country's side. */
typedef struct {
	char *site;                /* this side's BLO id, e.g. "TH-MAESAI" */
	char *name;                /* "Mae Sai - Tachileik" */
	char *counterpart;         /* the BLO across, e.g. "MM-TACHILEIK" */
	char *counterpart_country; /* ISO 3166 alpha-2 of the other side */
	int tlp;                   /* Blonet__Tlp (after loading) */
	blo_strlist_t releasable_to; /* default: [country, counterpart_country] */
	blo_strlist_t addressed_to;  /* default: [site, counterpart] */
	struct {
		double latitude, longitude; /* both 0: no position */
	} position;
} blo_adapt_crossing_t;

/* An agency code tied to a crossing: a customs office, an immigration
 * checkpoint, a police unit or a district. */
typedef struct {
	char *code;
	char *name;
	char *crossing; /* a crossings[].site */
} blo_adapt_place_t;

/* Severity thresholds for quantities in one unit: a quantity of at least
 * `extreme` rates EXTREME, at least `severe` SEVERE, at least `moderate`
 * MODERATE, anything less MINOR. */
typedef struct {
	int unit; /* Blonet__Unit (after loading) */
	double moderate, severe, extreme;
} blo_adapt_level_t;

/* A commodity class: what a customs HS code, a customs offence or a police
 * drug code means for the alert. */
typedef struct {
	char *id;       /* "methamphetamine-tablets" */
	char *name;     /* commodity name in alerts: "methamphetamine tablets" */
	int category;   /* Blonet__Category (after loading) */
	int kind;       /* Blonet__CommodityKind (after loading) */
	char *species;  /* scientific name for wildlife and timber, or NULL */
	blo_strlist_t hs_codes;   /* HS code prefixes, dots ignored: "2939.71" */
	blo_strlist_t drug_codes; /* narcotics report drug codes: "YABA" */
	blo_strlist_t offences;   /* customs offence codes: "IPR" */
	blo_strlist_t genera;     /* genera of species: "Manis", "Dalbergia" */
	blo_objlist_t levels;     /* blo_adapt_level_t */
	int other_severity;       /* Blonet__Severity for a unit with no level */
} blo_adapt_class_t;

/* One agency's section. */
typedef struct {
	char *agency_name;       /* origin.agency_name; NULL: the section is absent */
	int tlp;                 /* Blonet__Tlp overriding the crossing's; 0: none */
	char *operation;         /* handling.operation, or NULL */
	blo_objlist_t places;    /* blo_adapt_place_t: offices, checkpoints or units */
	blo_objlist_t districts; /* narcotics: blo_adapt_place_t by district name */
	int64_t group_moderate;  /* immigration: group sizes that raise severity */
	int64_t group_severe;
	int64_t group_extreme;
} blo_adapt_agency_rules_t;

typedef struct {
	char *country;              /* ISO 3166 alpha-2 of every adapter using it */
	int status;                 /* Blonet__Status of the alerts (after loading) */
	char *language;             /* BCP 47 tag of generated text: "en" */
	int64_t utc_offset_minutes; /* for local times without an offset */
	blo_objlist_t crossings;    /* blo_adapt_crossing_t */
	blo_objlist_t commodities;  /* blo_adapt_class_t */
	blo_adapt_agency_rules_t agency[BLO_ADAPT_AGENCIES];
} blo_adapt_rules_t;

/* Reads the rules file at path into a new *out (caller frees with
 * blo_adapt_rules_free). Beyond the schema, checks that countries are ISO
 * codes, crossing sites are unique, every place names a known crossing, HS
 * prefixes are digits, drug codes are unique, levels ascend and at least one
 * agency section is present. Messages name the file and the key, e.g.
 *   rules.json: key "customs.offices[2].crossing": no crossing "TH-MAESOT"
 * Returns 0, BLO_ECONFIG, -errno, BLO_ETOOBIG or BLO_ENOMEM. */
int blo_adapt_rules_load(blo_adapt_rules_t **out, const char *path, blo_err_t *err);

/* As blo_adapt_rules_load from text[0..len) (borrowed); name is used in
 * messages. */
int blo_adapt_rules_parse(blo_adapt_rules_t **out, const char *name, const char *text, size_t len,
			  blo_err_t *err);

/* Frees rules and sets *rules_p to NULL. NULL: nothing. */
void blo_adapt_rules_free(blo_adapt_rules_t **rules_p);

/* True if the rules have a section for agency. */
bool blo_adapt_rules_has(const blo_adapt_rules_t *rules, blo_adapt_agency_t agency);

/* Lookups. Results are borrowed from rules; NULL when not found. */
const blo_adapt_crossing_t *blo_adapt_rules_crossing(const blo_adapt_rules_t *rules,
						     const char *site);
/* The agency's office, checkpoint or unit with this code (exact match). */
const blo_adapt_place_t *blo_adapt_rules_place(const blo_adapt_rules_t *rules,
					       blo_adapt_agency_t agency, const char *code);
/* The narcotics district of this name (ASCII case ignored). */
const blo_adapt_place_t *blo_adapt_rules_district(const blo_adapt_rules_t *rules,
						  const char *name);
/* The class with the longest HS prefix of hs_code (dots ignored) and, among
 * classes with that prefix, the first with a level for unit. */
const blo_adapt_class_t *blo_adapt_rules_class_by_hs(const blo_adapt_rules_t *rules,
						     const char *hs_code, int unit);
/* The class listing the genus of species ("Manis javanica": "Manis";
 * ASCII case ignored). */
const blo_adapt_class_t *blo_adapt_rules_class_by_species(const blo_adapt_rules_t *rules,
							  const char *species);
/* The class listing this customs offence or police drug code. */
const blo_adapt_class_t *blo_adapt_rules_class_by_offence(const blo_adapt_rules_t *rules,
							  const char *offence);
const blo_adapt_class_t *blo_adapt_rules_class_by_drug(const blo_adapt_rules_t *rules,
						       const char *drug_code);

/* The severity (Blonet__Severity) of quantity in unit for class: by the
 * level of that unit, or of KILOGRAM for GRAM quantities and GRAM for
 * KILOGRAM ones; the class's other_severity when it has no level for the
 * unit or the quantity is 0. */
int blo_adapt_rules_rate(const blo_adapt_class_t *cls, double quantity, int unit);

#endif
