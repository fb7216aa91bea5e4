/*
 * Unit tests for blo_adapt_rules: the adapters' rules file read from text,
 * its defaults, every check beyond the schema refused with the file and key
 * named, and the lookups and severity levels the mappers use.
 */
#include "blo_test.h"

#include "blo_adapt.h"

#include <errno.h>

/* A small valid rules file; tests splice their own pieces into it. */
#define CROSSINGS                                                                        \
	"\"crossings\": ["                                                               \
	"{\"site\": \"TH-MAESAI\", \"name\": \"Mae Sai - Tachileik\","                   \
	" \"counterpart\": \"MM-TACHILEIK\", \"counterpart_country\": \"MM\","           \
	" \"tlp\": \"TLP_AMBER\", \"position\": {\"latitude\": 20.4457, \"longitude\": 99.8836}},"\
	"{\"site\": \"TH-CHIANGKHONG\", \"name\": \"Chiang Khong - Houay Xai\","         \
	" \"counterpart\": \"LA-HOUAYXAI\", \"counterpart_country\": \"LA\","            \
	" \"tlp\": \"TLP_GREEN\", \"releasable_to\": [\"TH\", \"LA\", \"VN\"],"          \
	" \"addressed_to\": [\"th-console-chiangkhong\"]}]"
#define COMMODITIES                                                                      \
	"\"commodities\": ["                                                             \
	"{\"id\": \"tablets\", \"name\": \"methamphetamine tablets\", \"category\": \"DRUGS\"," \
	" \"kind\": \"DRUG\", \"hs_codes\": [\"2939.71\"], \"drug_codes\": [\"YABA\"],"  \
	" \"levels\": [{\"unit\": \"TABLET\", \"moderate\": 10000, \"severe\": 100000, \"extreme\": 1000000}]}," \
	"{\"id\": \"crystal\", \"name\": \"crystal methamphetamine\", \"category\": \"DRUGS\"," \
	" \"kind\": \"DRUG\", \"hs_codes\": [\"293971\"], \"drug_codes\": [\"ICE\"],"    \
	" \"levels\": [{\"unit\": \"KILOGRAM\", \"moderate\": 1, \"severe\": 10, \"extreme\": 100}]}," \
	"{\"id\": \"alkaloids\", \"name\": \"alkaloids\", \"category\": \"PRECURSORS\"," \
	" \"kind\": \"PRECURSOR\", \"hs_codes\": [\"29.39\"], \"other_severity\": \"MINOR\"}," \
	"{\"id\": \"fakes\", \"name\": \"counterfeit goods\", \"category\": \"COUNTERFEIT\"," \
	" \"kind\": \"COUNTERFEIT_GOODS\", \"offences\": [\"IPR\"],"                     \
	" \"levels\": [{\"unit\": \"GRAM\", \"moderate\": 1000, \"severe\": 10000, \"extreme\": 100000}]}]"
#define CUSTOMS                                                                          \
	"\"customs\": {\"agency_name\": \"Thai Customs Department\", \"offices\": ["     \
	"{\"code\": \"2301\", \"name\": \"Mae Sai Customs House\", \"crossing\": \"TH-MAESAI\"}]}"

static const char good_rules[] = "{\"country\": \"TH\", \"utc_offset_minutes\": 420, " CROSSINGS
				 ", " COMMODITIES ", " CUSTOMS ","
				 "\"narcotics\": {\"agency_name\": \"NSB\", \"tlp\": \"TLP_RED\","
				 " \"operation\": \"OP-GOLDEN-TRIANGLE\","
				 " \"units\": [{\"code\": \"MAESAI-PS\", \"crossing\": \"TH-MAESAI\"}],"
				 " \"districts\": [{\"code\": \"Chiang Khong\", \"crossing\": \"TH-CHIANGKHONG\"}]}}";

static blo_adapt_rules_t *parse_ok(const char *text)
{
	blo_adapt_rules_t *r = NULL;
	blo_err_t err = { 0 };
	int rc = blo_adapt_rules_parse(&r, "rules.json", text, strlen(text), &err);

	if (rc != 0)
		fail_msg("rules did not parse: %s", err.msg);
	return r;
}

/* Parses text expecting failure; the message must contain want. */
static void parse_fails(const char *text, const char *want)
{
	blo_adapt_rules_t *r = NULL;
	blo_err_t err = { 0 };
	int rc = blo_adapt_rules_parse(&r, "rules.json", text, strlen(text), &err);

	assert_int_equal(rc, BLO_ECONFIG);
	assert_null(r);
	if (strncmp(err.msg, "rules.json: ", 12) != 0 || strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
}

static void test_good_rules_load_with_defaults(void **state)
{
	blo_adapt_rules_t *r = parse_ok(good_rules);
	const blo_adapt_crossing_t *ms, *ck;

	(void)state;
	assert_string_equal(r->country, "TH");
	assert_int_equal(r->status, BLONET__STATUS__ACTUAL);
	assert_string_equal(r->language, "en");
	assert_int_equal(r->utc_offset_minutes, 420);
	ms = blo_adapt_rules_crossing(r, "TH-MAESAI");
	ck = blo_adapt_rules_crossing(r, "TH-CHIANGKHONG");
	assert_non_null(ms);
	assert_non_null(ck);
	assert_null(blo_adapt_rules_crossing(r, "TH-MAESOT"));
	/* Defaults: released to both countries, addressed to both BLOs. */
	assert_int_equal(ms->tlp, BLONET__TLP__TLP_AMBER);
	assert_int_equal(ms->releasable_to.n, 2);
	assert_string_equal(ms->releasable_to.v[0], "TH");
	assert_string_equal(ms->releasable_to.v[1], "MM");
	assert_int_equal(ms->addressed_to.n, 2);
	assert_string_equal(ms->addressed_to.v[0], "TH-MAESAI");
	assert_string_equal(ms->addressed_to.v[1], "MM-TACHILEIK");
	assert_true(ms->position.latitude > 20.4 && ms->position.longitude > 99.8);
	/* Given values stay. */
	assert_int_equal(ck->tlp, BLONET__TLP__TLP_GREEN);
	assert_int_equal(ck->releasable_to.n, 3);
	assert_int_equal(ck->addressed_to.n, 1);
	assert_true(ck->position.latitude == 0 && ck->position.longitude == 0);
	/* Sections. */
	assert_true(blo_adapt_rules_has(r, BLO_ADAPT_CUSTOMS));
	assert_false(blo_adapt_rules_has(r, BLO_ADAPT_IMMIGRATION));
	assert_true(blo_adapt_rules_has(r, BLO_ADAPT_NARCOTICS));
	assert_int_equal(r->agency[BLO_ADAPT_CUSTOMS].tlp, 0);
	assert_int_equal(r->agency[BLO_ADAPT_NARCOTICS].tlp, BLONET__TLP__TLP_RED);
	assert_string_equal(r->agency[BLO_ADAPT_NARCOTICS].operation, "OP-GOLDEN-TRIANGLE");
	assert_null(r->agency[BLO_ADAPT_CUSTOMS].operation);
	/* A place without a name is called by its code. */
	assert_string_equal(blo_adapt_rules_place(r, BLO_ADAPT_NARCOTICS, "MAESAI-PS")->name,
			    "MAESAI-PS");
	blo_adapt_rules_free(&r);
	assert_null(r);
	blo_adapt_rules_free(&r); /* NULL: nothing */
}

static void test_agency_names_parse_and_map_to_kinds(void **state)
{
	blo_adapt_agency_t a;

	(void)state;
	E(blo_adapt_agency_parse("customs", &a));
	assert_int_equal(a, BLO_ADAPT_CUSTOMS);
	E(blo_adapt_agency_parse("narcotics", &a));
	assert_int_equal(blo_adapt_agency_kind(a), BLONET__AGENCY_KIND__NARCOTICS_POLICE);
	assert_int_equal(blo_adapt_agency_kind(BLO_ADAPT_IMMIGRATION), BLONET__AGENCY_KIND__IMMIGRATION);
	assert_int_equal(blo_adapt_agency_parse("police", &a), BLO_EINVAL);
	assert_int_equal(blo_adapt_agency_parse(NULL, &a), BLO_EINVAL);
	assert_string_equal(blo_adapt_agency_name(BLO_ADAPT_IMMIGRATION), "immigration");
}

static void test_hs_lookup_takes_longest_prefix_then_unit(void **state)
{
	blo_adapt_rules_t *r = parse_ok(good_rules);
	const blo_adapt_class_t *c;

	(void)state;
	/* 2939.71 has two classes of equal prefix: the unit decides. */
	c = blo_adapt_rules_class_by_hs(r, "2939.71", BLONET__UNIT__TABLET);
	assert_string_equal(c->id, "tablets");
	c = blo_adapt_rules_class_by_hs(r, "293971", BLONET__UNIT__KILOGRAM);
	assert_string_equal(c->id, "crystal");
	c = blo_adapt_rules_class_by_hs(r, "2939.71.00", BLONET__UNIT__GRAM);
	assert_string_equal(c->id, "crystal"); /* grams rate by the kilogram level */
	/* No class has a level for litres: the first of the longest. */
	c = blo_adapt_rules_class_by_hs(r, "2939.71", BLONET__UNIT__LITRE);
	assert_string_equal(c->id, "tablets");
	/* A shorter prefix for the rest of the heading. */
	c = blo_adapt_rules_class_by_hs(r, "2939.42", BLONET__UNIT__KILOGRAM);
	assert_string_equal(c->id, "alkaloids");
	assert_null(blo_adapt_rules_class_by_hs(r, "0810.90", BLONET__UNIT__KILOGRAM));
	assert_null(blo_adapt_rules_class_by_hs(r, "29", BLONET__UNIT__KILOGRAM));
	assert_string_equal(blo_adapt_rules_class_by_offence(r, "IPR")->id, "fakes");
	assert_null(blo_adapt_rules_class_by_offence(r, "CITES"));
	assert_string_equal(blo_adapt_rules_class_by_drug(r, "ICE")->id, "crystal");
	assert_null(blo_adapt_rules_class_by_drug(r, "ice"));
	blo_adapt_rules_free(&r);
}

static void test_places_and_districts_are_found_by_code(void **state)
{
	blo_adapt_rules_t *r = parse_ok(good_rules);

	(void)state;
	assert_string_equal(blo_adapt_rules_place(r, BLO_ADAPT_CUSTOMS, "2301")->crossing, "TH-MAESAI");
	assert_null(blo_adapt_rules_place(r, BLO_ADAPT_CUSTOMS, "2302"));
	assert_null(blo_adapt_rules_place(r, BLO_ADAPT_IMMIGRATION, "2301"));
	assert_null(blo_adapt_rules_place(r, BLO_ADAPT_CUSTOMS, NULL));
	assert_string_equal(blo_adapt_rules_district(r, "chiang khong")->crossing, "TH-CHIANGKHONG");
	assert_null(blo_adapt_rules_district(r, "Mae Sai"));
	assert_null(blo_adapt_rules_district(r, NULL));
	blo_adapt_rules_free(&r);
}

static void test_rate_follows_levels_and_converts_grams(void **state)
{
	blo_adapt_rules_t *r = parse_ok(good_rules);
	const blo_adapt_class_t *tabs = blo_adapt_rules_class_by_drug(r, "YABA");
	const blo_adapt_class_t *ice = blo_adapt_rules_class_by_drug(r, "ICE");
	const blo_adapt_class_t *fakes = blo_adapt_rules_class_by_offence(r, "IPR");
	const blo_adapt_class_t *alk = blo_adapt_rules_class_by_hs(r, "2939.42", 0);

	(void)state;
	assert_int_equal(blo_adapt_rules_rate(tabs, 9999, BLONET__UNIT__TABLET), BLONET__SEVERITY__MINOR);
	assert_int_equal(blo_adapt_rules_rate(tabs, 10000, BLONET__UNIT__TABLET), BLONET__SEVERITY__MODERATE);
	assert_int_equal(blo_adapt_rules_rate(tabs, 100000, BLONET__UNIT__TABLET), BLONET__SEVERITY__SEVERE);
	assert_int_equal(blo_adapt_rules_rate(tabs, 1e6, BLONET__UNIT__TABLET), BLONET__SEVERITY__EXTREME);
	/* No level for the unit: the class's other severity (MODERATE by default). */
	assert_int_equal(blo_adapt_rules_rate(tabs, 5, BLONET__UNIT__KILOGRAM), BLONET__SEVERITY__MODERATE);
	assert_int_equal(blo_adapt_rules_rate(alk, 5000, BLONET__UNIT__KILOGRAM), BLONET__SEVERITY__MINOR);
	/* Grams by a kilogram level, kilograms by a gram level. */
	assert_int_equal(blo_adapt_rules_rate(ice, 999, BLONET__UNIT__GRAM), BLONET__SEVERITY__MINOR);
	assert_int_equal(blo_adapt_rules_rate(ice, 10000, BLONET__UNIT__GRAM), BLONET__SEVERITY__SEVERE);
	assert_int_equal(blo_adapt_rules_rate(fakes, 100, BLONET__UNIT__KILOGRAM), BLONET__SEVERITY__EXTREME);
	assert_int_equal(blo_adapt_rules_rate(fakes, 0.5, BLONET__UNIT__KILOGRAM), BLONET__SEVERITY__MINOR);
	/* Nothing to rate. */
	assert_int_equal(blo_adapt_rules_rate(ice, 0, BLONET__UNIT__KILOGRAM), BLONET__SEVERITY__MODERATE);
	blo_adapt_rules_free(&r);
}

static void test_schema_errors_name_file_and_key(void **state)
{
	(void)state;
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"colour\": 1}",
		    "unknown key \"colour\"");
	parse_fails("{" CROSSINGS ", " CUSTOMS "}", "missing required key \"country\"");
	parse_fails("{\"country\": \"TH\", \"status\": \"LIVE\", " CROSSINGS ", " CUSTOMS "}",
		    "key \"status\"");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", \"customs\": {\"agency_name\": \"x\"}}",
		    "missing required key \"customs.offices\"");
	parse_fails("{\"country\": \"TH\", \"utc_offset_minutes\": 2000, " CROSSINGS ", " CUSTOMS "}",
		    "key \"utc_offset_minutes\"");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS, "line");
}

static void test_checks_beyond_the_schema(void **state)
{
	(void)state;
	parse_fails("{\"country\": \"XX\", " CROSSINGS ", " CUSTOMS "}",
		    "key \"country\": \"XX\" is not an ISO 3166");
	parse_fails("{\"country\": \"TH\", " CROSSINGS "}", "no agency section");
	parse_fails("{\"country\": \"TH\", \"crossings\": [], " CUSTOMS "}",
		    "key \"crossings\": expected at least one crossing");
	parse_fails("{\"country\": \"TH\", \"crossings\": ["
		    "{\"site\": \"TH-MAESAI\", \"name\": \"a\", \"counterpart\": \"MM-TACHILEIK\","
		    " \"counterpart_country\": \"MM\", \"tlp\": \"TLP_AMBER\"},"
		    "{\"site\": \"TH-MAESAI\", \"name\": \"b\", \"counterpart\": \"MM-TACHILEIK\","
		    " \"counterpart_country\": \"MM\", \"tlp\": \"TLP_AMBER\"}], " CUSTOMS "}",
		    "key \"crossings[1].site\": site \"TH-MAESAI\" is listed twice");
	parse_fails("{\"country\": \"TH\", \"crossings\": ["
		    "{\"site\": \"TH-MAESAI\", \"name\": \"a\", \"counterpart\": \"MM-TACHILEIK\","
		    " \"counterpart_country\": \"BU\", \"tlp\": \"TLP_AMBER\"}], " CUSTOMS "}",
		    "key \"crossings[0].counterpart_country\"");
	parse_fails("{\"country\": \"TH\", \"crossings\": ["
		    "{\"site\": \"TH-MAESAI\", \"name\": \"a\", \"counterpart\": \"MM-TACHILEIK\","
		    " \"counterpart_country\": \"MM\", \"tlp\": \"TLP_AMBER\", \"releasable_to\": [\"TH\", \"mm\"]}], "
		    CUSTOMS "}",
		    "key \"crossings[0].releasable_to[1]\"");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", \"customs\": {\"agency_name\": \"x\","
		    " \"offices\": [{\"code\": \"2301\", \"crossing\": \"TH-MAESOT\"}]}}",
		    "key \"customs.offices[0].crossing\": no crossing \"TH-MAESOT\"");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", \"customs\": {\"agency_name\": \"x\","
		    " \"offices\": []}}",
		    "expected at least one entry in \"offices\"");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", \"customs\": {\"agency_name\": \"x\","
		    " \"offices\": [{\"code\": \"2301\", \"crossing\": \"TH-MAESAI\"},"
		    " {\"code\": \"2301\", \"crossing\": \"TH-MAESAI\"}]}}",
		    "key \"customs.offices[1].code\": code \"2301\" is listed twice");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"DRUGS\", \"kind\": \"DRUG\","
		    " \"hs_codes\": [\"29A9\"]}]}",
		    "key \"commodities[0].hs_codes[0]\": \"29A9\" is not an HS code prefix");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"DRUGS\", \"kind\": \"DRUG\","
		    " \"offences\": [\"BRIBERY\"]}]}",
		    "key \"commodities[0].offences[0]\"");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"DRUGS\", \"kind\": \"DRUG\","
		    " \"drug_codes\": [\"YABA\"]},"
		    "{\"id\": \"b\", \"name\": \"b\", \"category\": \"DRUGS\", \"kind\": \"DRUG\","
		    " \"drug_codes\": [\"ICE\", \"YABA\"]}]}",
		    "key \"commodities[1].drug_codes[1]\": drug code \"YABA\" is also in class \"a\"");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"DRUGS\", \"kind\": \"DRUG\","
		    " \"levels\": [{\"unit\": \"KILOGRAM\", \"moderate\": 10, \"severe\": 1, \"extreme\": 100}]}]}",
		    "key \"commodities[0].levels[0]\": expected 0 < moderate <= severe <= extreme");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"DRUGS\", \"kind\": \"DRUG\","
		    " \"levels\": [{\"unit\": \"KILOGRAM\", \"moderate\": 1, \"severe\": 2, \"extreme\": 3},"
		    " {\"unit\": \"KILOGRAM\", \"moderate\": 1, \"severe\": 2, \"extreme\": 3}]}]}",
		    "a second level for unit KILOGRAM");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"DRUGS\", \"kind\": \"DRUG\"},"
		    "{\"id\": \"a\", \"name\": \"b\", \"category\": \"DRUGS\", \"kind\": \"DRUG\"}]}",
		    "class \"a\" is listed twice");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", \"immigration\": {\"agency_name\": \"x\","
		    " \"checkpoints\": [{\"code\": \"MSI\", \"crossing\": \"TH-MAESAI\"}],"
		    " \"group_moderate\": 20, \"group_severe\": 10}}",
		    "expected group_moderate <= group_severe <= group_extreme");
}

static void test_species_find_their_class_by_genus(void **state)
{
	static const char text[] =
		"{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		"{\"id\": \"pangolin\", \"name\": \"pangolin scales\", \"category\": \"WILDLIFE\","
		" \"kind\": \"WILDLIFE_PRODUCT\", \"genera\": [\"Manis\", \"Phataginus\"]},"
		"{\"id\": \"rosewood\", \"name\": \"rosewood\", \"category\": \"TIMBER\","
		" \"kind\": \"TIMBER_PRODUCT\", \"genera\": [\"Dalbergia\"]}]}";
	blo_adapt_rules_t *r = parse_ok(text);

	(void)state;
	assert_string_equal(blo_adapt_rules_class_by_species(r, "Manis javanica")->id, "pangolin");
	assert_string_equal(blo_adapt_rules_class_by_species(r, "phataginus tricuspis")->id, "pangolin");
	assert_string_equal(blo_adapt_rules_class_by_species(r, "Dalbergia")->id, "rosewood");
	assert_null(blo_adapt_rules_class_by_species(r, "Man javanica"));
	assert_null(blo_adapt_rules_class_by_species(r, "Manisx javanica"));
	assert_null(blo_adapt_rules_class_by_species(r, NULL));
	blo_adapt_rules_free(&r);
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"WILDLIFE\","
		    " \"kind\": \"WILDLIFE_PRODUCT\", \"genera\": [\"Manis javanica\"]}]}",
		    "key \"commodities[0].genera[0]\": \"Manis javanica\" is not a genus");
	parse_fails("{\"country\": \"TH\", " CROSSINGS ", " CUSTOMS ", \"commodities\": ["
		    "{\"id\": \"a\", \"name\": \"a\", \"category\": \"WILDLIFE\","
		    " \"kind\": \"WILDLIFE_PRODUCT\", \"genera\": [\"Manis\"]},"
		    "{\"id\": \"b\", \"name\": \"b\", \"category\": \"WILDLIFE\","
		    " \"kind\": \"WILDLIFE_PRODUCT\", \"genera\": [\"manis\"]}]}",
		    "genus \"manis\" is also in class \"a\"");
}

static void test_rules_load_from_a_file(void **state)
{
	char *dir = blo_test_mkdtemp(), *path = NULL;
	blo_adapt_rules_t *r = NULL;
	blo_err_t err = { 0 };
	FILE *f;

	(void)state;
	assert_true(asprintf(&path, "%s/rules.json", dir) > 0);
	assert_int_equal(blo_adapt_rules_load(&r, path, &err), -ENOENT);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(good_rules, f);
	fclose(f);
	E(blo_adapt_rules_load(&r, path, &err));
	assert_true(blo_adapt_rules_has(r, BLO_ADAPT_CUSTOMS));
	blo_adapt_rules_free(&r);
	blo_test_rmdir(dir);
	free(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_rules_load_with_defaults),
		cmocka_unit_test(test_agency_names_parse_and_map_to_kinds),
		cmocka_unit_test(test_hs_lookup_takes_longest_prefix_then_unit),
		cmocka_unit_test(test_places_and_districts_are_found_by_code),
		cmocka_unit_test(test_rate_follows_levels_and_converts_grams),
		cmocka_unit_test(test_schema_errors_name_file_and_key),
		cmocka_unit_test(test_checks_beyond_the_schema),
		cmocka_unit_test(test_species_find_their_class_by_genus),
		cmocka_unit_test(test_rules_load_from_a_file),
	};

	return cmocka_run_group_tests_name("adapt_rules", tests, NULL, NULL);
}
