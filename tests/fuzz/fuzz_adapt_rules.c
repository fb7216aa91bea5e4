/*
 * libFuzzer target for the adapters' rules file (blo_adapt_rules_parse):
 * arbitrary bytes as a rules file. Besides crashes and leaks it aborts when
 * a result breaks the contract: a failure without the file name in its
 * message or with another code than the loader's; a success holding a value
 * the checks should have refused (a TLP, category, kind or unit out of its
 * enum, levels that do not ascend, a place whose crossing is unknown, an
 * empty releasability), or lookups and ratings that disagree with it.
 */
#include "blo_adapt.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_enum(const ProtobufCEnumDescriptor *desc, int v)
{
	return v != 0 && blo_enum_name(desc, v) != NULL;
}

static void check_rules(const blo_adapt_rules_t *r)
{
	const blo_adapt_crossing_t *cs = r->crossings.v;
	const blo_adapt_class_t *cl = r->commodities.v;
	bool any = false;

	if (!blo_country_is_valid(r->country) || !in_enum(&blonet__status__descriptor, r->status) ||
	    r->crossings.n == 0)
		abort();
	for (size_t i = 0; i < r->crossings.n; i++) {
		if (!in_enum(&blonet__tlp__descriptor, cs[i].tlp) || cs[i].releasable_to.n == 0 ||
		    cs[i].addressed_to.n == 0 || blo_adapt_rules_crossing(r, cs[i].site) != &cs[i])
			abort();
		for (size_t k = 0; k < cs[i].releasable_to.n; k++)
			if (!blo_country_is_valid(cs[i].releasable_to.v[k]))
				abort();
	}
	for (size_t i = 0; i < r->commodities.n; i++) {
		const blo_adapt_level_t *lv = cl[i].levels.v;

		if (!in_enum(&blonet__category__descriptor, cl[i].category) ||
		    !in_enum(&blonet__commodity_kind__descriptor, cl[i].kind) ||
		    !in_enum(&blonet__severity__descriptor, cl[i].other_severity))
			abort();
		for (size_t k = 0; k < cl[i].levels.n; k++) {
			if (!in_enum(&blonet__unit__descriptor, lv[k].unit) ||
			    !(lv[k].moderate > 0 && lv[k].moderate <= lv[k].severe &&
			      lv[k].severe <= lv[k].extreme))
				abort();
			/* The thresholds rate as they say. */
			if (blo_adapt_rules_rate(&cl[i], lv[k].extreme, lv[k].unit) != BLONET__SEVERITY__EXTREME ||
			    blo_adapt_rules_rate(&cl[i], lv[k].moderate / 2, lv[k].unit) != BLONET__SEVERITY__MINOR)
				abort();
		}
		for (size_t k = 0; k < cl[i].hs_codes.n; k++) {
			/* The class found for its own prefix has a prefix at least as long. */
			if (strlen(cl[i].hs_codes.v[k]) <= 16 &&
			    blo_adapt_rules_class_by_hs(r, cl[i].hs_codes.v[k], 0) == NULL)
				abort();
		}
		for (size_t k = 0; k < cl[i].drug_codes.n; k++)
			if (blo_adapt_rules_class_by_drug(r, cl[i].drug_codes.v[k]) != &cl[i])
				abort();
	}
	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
		const blo_adapt_agency_rules_t *ar = &r->agency[a];
		const blo_adapt_place_t *p = ar->places.v;

		if (!blo_adapt_rules_has(r, (blo_adapt_agency_t)a))
			continue;
		any = true;
		if (ar->places.n == 0 || (ar->tlp != 0 && !in_enum(&blonet__tlp__descriptor, ar->tlp)))
			abort();
		for (size_t i = 0; i < ar->places.n; i++)
			if (blo_adapt_rules_crossing(r, p[i].crossing) == NULL || p[i].name == NULL)
				abort();
	}
	if (!any)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	blo_adapt_rules_t *r = NULL;
	blo_err_t err = { 0 };
	int rc = blo_adapt_rules_parse(&r, "fuzz.json", (const char *)data, size, &err);

	if (rc == 0) {
		check_rules(r);
	} else {
		if (r != NULL || (rc != BLO_ECONFIG && rc != BLO_ENOMEM && rc != BLO_ETOOBIG))
			abort();
		if (err.code != rc || strncmp(err.msg, "fuzz.json: ", 11) != 0 ||
		    memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();
	}
	blo_adapt_rules_free(&r);
	return 0;
}
