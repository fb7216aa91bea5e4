/*
 * Unit tests for blo_adapt_map beyond the golden files: ids derived from
 * the record reference, mapping that is pure, the agency's TLP and operation
 * from the rules, local times and offsets, immigration headers in any order
 * and refused when wrong, sources that cannot start, and alerts that pass
 * validation once the publisher completes them.
 */
#include "blo_test.h"

#include "blo_adapt.h"

static blo_adapt_rules_t *rules;

static int setup(void **state)
{
	char *path = NULL;
	const char *src = getenv("BLO_SRCDIR");
	blo_err_t err = { 0 };

	(void)state;
	if (asprintf(&path, "%s/tests/golden/adapters/rules.json", src ? src : ".") < 0)
		return -1;
	if (blo_adapt_rules_load(&rules, path, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	blo_adapt_rules_free(&rules);
	return 0;
}

/* Maps the one record of text (for immigration: a header and one row) with
 * the given rules; returns the alert or NULL with *why filled. */
static Blonet__Alert *map_with(const blo_adapt_rules_t *r, blo_adapt_agency_t agency,
			       const char *text, blo_adapt_reject_t *why)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	blo_adapt_source_t *src = NULL;
	blo_adapt_item_t item;
	blo_err_t err = { 0 };

	assert_non_null(f);
	E(blo_adapt_source_open(&src, agency, r, f, &err));
	assert_int_equal(blo_adapt_source_next(src, &item, &err), 1);
	if (why != NULL)
		*why = item.why;
	blo_adapt_source_close(&src);
	fclose(f);
	return item.alert;
}

static Blonet__Alert *map_ok(blo_adapt_agency_t agency, const char *text)
{
	blo_adapt_reject_t why;
	Blonet__Alert *a = map_with(rules, agency, text, &why);

	if (a == NULL)
		fail_msg("rejected: %s", why.err.msg);
	return a;
}

static void map_fails(blo_adapt_agency_t agency, const char *text, const char *field,
		      const char *want)
{
	blo_adapt_reject_t why;
	Blonet__Alert *a = map_with(rules, agency, text, &why);

	assert_null(a);
	assert_int_equal(why.err.code, BLO_EINVAL);
	assert_string_equal(why.field, field);
	if (strstr(why.err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", why.err.msg, want);
}

#define CUSTOMS_RECORD(ref, time)                                                             \
	"{\"seizure_ref\":\"" ref "\",\"office_code\":\"2301\",\"seized_at\":\"" time "\","    \
	"\"offence\":\"PROHIBITED\",\"direction\":\"IMPORT\",\"goods\":[{\"hs_code\":\"2939.71\"," \
	"\"description\":\"yaba\",\"quantity\":20000,\"unit\":\"U2\"}]}\n"

static void test_id_derives_from_country_agency_and_reference(void **state)
{
	Blonet__Alert *a = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("SZ-1", "2025-01-02T03:04:05Z"));
	Blonet__Alert *b = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("SZ-2", "2025-01-02T03:04:05Z"));
	uint8_t id[BLO_ID_BYTES];

	(void)state;
	blo_alert_derive_id(id, "TH", BLONET__AGENCY_KIND__CUSTOMS, "SZ-1");
	assert_int_equal(a->id.len, BLO_ID_BYTES);
	assert_memory_equal(a->id.data, id, BLO_ID_BYTES);
	assert_memory_not_equal(a->id.data, b->id.data, BLO_ID_BYTES);
	assert_string_equal(a->source_ref, "SZ-1");
	assert_int_equal(a->type, BLONET__MESSAGE_TYPE__ALERT);
	assert_int_equal(a->status, BLONET__STATUS__ACTUAL);
	assert_int_equal(a->origin->agency, BLONET__AGENCY_KIND__CUSTOMS);
	assert_string_equal(a->origin->country, "TH");
	assert_string_equal(a->origin->agency_name, "Thai Customs Department");
	assert_string_equal(a->origin->principal, ""); /* the publisher's */
	assert_int_equal(a->sent_ms, 0);
	blo_alert_free(&a);
	blo_alert_free(&b);
}

static void test_mapping_is_pure(void **state)
{
	static const char rec[] = CUSTOMS_RECORD("SZ-9", "2025-05-05 05:05");
	Blonet__Alert *a = map_ok(BLO_ADAPT_CUSTOMS, rec), *b = map_ok(BLO_ADAPT_CUSTOMS, rec);
	uint8_t *ba = NULL, *bb = NULL;
	size_t la = 0, lb = 0;
	blo_err_t err = { 0 };

	(void)state;
	E(blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES, &ba, &la, &err));
	E(blo_message_serialize(&b->base, BLO_ALERT_MAX_BYTES, &bb, &lb, &err));
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);
	blo_alert_free(&a);
	blo_alert_free(&b);
}

static void test_times_take_offsets_or_the_rules_local_time(void **state)
{
	/* 2025-01-02 03:04:05 UTC. */
	const int64_t utc = 1735787045000LL;
	Blonet__Alert *z = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T1", "2025-01-02T03:04:05Z"));
	Blonet__Alert *off = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T2", "2025-01-02T10:04:05+07:00"));
	Blonet__Alert *compact = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T3", "2025-01-02T10:04:05+0700"));
	Blonet__Alert *local = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T4", "2025-01-02 10:04:05"));
	Blonet__Alert *frac = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T5", "2025-01-02T03:04:05.25Z"));
	Blonet__Alert *west = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T6", "2025-01-01T22:04:05-05:00"));
	Blonet__Alert *leap = map_ok(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T7", "2024-02-29T00:00Z"));

	(void)state;
	assert_int_equal(z->observed_ms, utc);
	assert_int_equal(off->observed_ms, utc);
	assert_int_equal(compact->observed_ms, utc);
	assert_int_equal(local->observed_ms, utc); /* rules: +07:00 */
	assert_int_equal(frac->observed_ms, utc + 250);
	assert_int_equal(west->observed_ms, utc);
	assert_int_equal(leap->observed_ms, 1709164800000LL);
	blo_alert_free(&z);
	blo_alert_free(&off);
	blo_alert_free(&compact);
	blo_alert_free(&local);
	blo_alert_free(&frac);
	blo_alert_free(&west);
	blo_alert_free(&leap);
	map_fails(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T8", "2025-02-29T00:00Z"), "seized_at",
		  "is not a time");
	map_fails(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T9", "2025-01-02T24:00Z"), "seized_at",
		  "is not a time");
	map_fails(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T10", "2025-01-02T10:04:05+07"), "seized_at",
		  "is not a time");
	map_fails(BLO_ADAPT_CUSTOMS, CUSTOMS_RECORD("T11", "1969-12-31T23:59Z"), "seized_at",
		  "year 1969 is out of range");
}

static void test_agency_tlp_and_operation_come_from_the_rules(void **state)
{
	static const char text[] =
		"{\"country\":\"TH\",\"crossings\":[{\"site\":\"TH-MAESAI\",\"name\":\"Mae Sai\","
		"\"counterpart\":\"MM-TACHILEIK\",\"counterpart_country\":\"MM\",\"tlp\":\"TLP_GREEN\"}],"
		"\"commodities\":[{\"id\":\"y\",\"name\":\"methamphetamine tablets\",\"category\":\"DRUGS\","
		"\"kind\":\"DRUG\",\"drug_codes\":[\"YABA\"]}],"
		"\"narcotics\":{\"agency_name\":\"NSB\",\"tlp\":\"TLP_AMBER_STRICT\","
		"\"operation\":\"OP-GOLDEN-TRIANGLE\","
		"\"units\":[{\"code\":\"U1\",\"crossing\":\"TH-MAESAI\"}]}}";
	static const char rec[] =
		"{\"case_no\":\"C-1\",\"unit\":\"U1\",\"province\":\"Chiang Rai\","
		"\"occurred_at\":\"2025-01-01T00:00:00+07:00\","
		"\"seizures\":[{\"drug\":\"YABA\",\"quantity\":10,\"unit\":\"tablets\"}]}\n";
	blo_adapt_rules_t *r = NULL;
	blo_err_t err = { 0 };
	Blonet__Alert *a;

	(void)state;
	E(blo_adapt_rules_parse(&r, "rules.json", text, sizeof(text) - 1, &err));
	a = map_with(r, BLO_ADAPT_NARCOTICS, rec, NULL);
	assert_non_null(a);
	assert_int_equal(a->handling->tlp, BLONET__TLP__TLP_AMBER_STRICT);
	assert_string_equal(a->handling->operation, "OP-GOLDEN-TRIANGLE");
	assert_int_equal(a->handling->n_addressed_to, 2);
	assert_string_equal(a->handling->addressed_to[1], "MM-TACHILEIK");
	/* No level at all: the class's other severity. */
	assert_int_equal(a->assessment->severity, BLONET__SEVERITY__MODERATE);
	/* No position anywhere: none in the alert. */
	assert_null(a->location->position);
	assert_string_equal(a->location->place_name, "Chiang Rai province");
	blo_alert_free(&a);
	blo_adapt_rules_free(&r);
}

static void test_immigration_columns_in_any_order(void **state)
{
	static const char standard[] =
		"hit_ref,checkpoint,time,hit_type,watchlist_ref,watchlist_reason,direction,document_type,"
		"document_no,document_country,nationality,name,name_local,sex,birth_date,group_size,minors,"
		"vehicle_plate,travel_from,travel_to,officer,notes\n"
		"MSI-1,MSI,2025-03-14 08:15,WATCHLIST_MATCH,WL-1,DRUGS,DEPARTURE,PASSPORT,MC1,MMR,MMR,"
		"KYAW ZIN,,M,1988-07-21,1,,,,,,\n";
	static const char shuffled[] =
		" name , hit_ref,nationality,checkpoint,direction,time,hit_type,watchlist_reason,"
		"document_no,document_type,birth_date,sex,watchlist_ref\n"
		"KYAW ZIN,MSI-1,MMR,MSI,DEPARTURE,2025-03-14 08:15,WATCHLIST_MATCH,DRUGS,MC1,PASSPORT,"
		"1988-07-21,M,WL-1\n";
	Blonet__Alert *a = map_ok(BLO_ADAPT_IMMIGRATION, standard);
	Blonet__Alert *b = map_ok(BLO_ADAPT_IMMIGRATION, shuffled);
	char *ja = blo_alert_to_json(a, false), *jb = blo_alert_to_json(b, false);

	(void)state;
	assert_string_equal(ja, jb);
	assert_string_equal(a->subjects[0]->nationality, "MM");
	assert_string_equal(a->subjects[0]->identifiers[0]->issuer, "MM");
	free(ja);
	free(jb);
	blo_alert_free(&a);
	blo_alert_free(&b);
}

static void source_fails(blo_adapt_agency_t agency, const blo_adapt_rules_t *r, const char *text,
			 int want_rc, const char *want)
{
	FILE *f = fmemopen((void *)text, strlen(text) > 0 ? strlen(text) : 1, "r");
	blo_adapt_source_t *src = NULL;
	blo_err_t err = { 0 };

	assert_non_null(f);
	if (text[0] == '\0')
		fgetc(f); /* an empty stream */
	assert_int_equal(blo_adapt_source_open(&src, agency, r, f, &err), want_rc);
	assert_null(src);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	fclose(f);
}

static void test_a_wrong_header_fails_the_whole_input(void **state)
{
	(void)state;
	source_fails(BLO_ADAPT_IMMIGRATION, rules, "", BLO_EPARSE, "no header row");
	source_fails(BLO_ADAPT_IMMIGRATION, rules, "hit_ref,checkpoint,time,colour\n", BLO_EPARSE,
		     "header (line 1): column 4: unknown column \"colour\"");
	source_fails(BLO_ADAPT_IMMIGRATION, rules,
		     "hit_ref,checkpoint,time,hit_type,direction,nationality,name,time\n", BLO_EPARSE,
		     "column \"time\" is given twice");
	source_fails(BLO_ADAPT_IMMIGRATION, rules,
		     "\n\nhit_ref,checkpoint,time,hit_type,direction,nationality\n", BLO_EPARSE,
		     "header (line 3): the required column \"name\" is missing");
	source_fails(BLO_ADAPT_IMMIGRATION, rules, "hit_ref,\"checkpoint\n", BLO_EPARSE,
		     "header (line 1): a quoted field is not closed");
}

static void test_a_source_needs_the_agency_section(void **state)
{
	static const char text[] =
		"{\"country\":\"TH\",\"crossings\":[{\"site\":\"TH-MAESAI\",\"name\":\"Mae Sai\","
		"\"counterpart\":\"MM-TACHILEIK\",\"counterpart_country\":\"MM\",\"tlp\":\"TLP_GREEN\"}],"
		"\"customs\":{\"agency_name\":\"x\",\"offices\":[{\"code\":\"1\",\"crossing\":\"TH-MAESAI\"}]}}";
	blo_adapt_rules_t *r = NULL;
	blo_err_t err = { 0 };

	(void)state;
	E(blo_adapt_rules_parse(&r, "rules.json", text, sizeof(text) - 1, &err));
	source_fails(BLO_ADAPT_NARCOTICS, r, "{}\n", BLO_ECONFIG, "no \"narcotics\" section");
	blo_adapt_rules_free(&r);
}

static void test_completed_alerts_validate(void **state)
{
	static const char rec[] =
		"{\"seizure_ref\":\"SZ-V\",\"office_code\":\"2303\",\"seized_at\":\"2025-04-20T05:15:00+07:00\","
		"\"offence\":\"CITES\",\"direction\":\"EXPORT\",\"goods\":[{\"hs_code\":\"0507.90\","
		"\"description\":\"pangolin scales\",\"quantity\":120,\"unit\":\"KGM\"}],"
		"\"persons\":[{\"name\":\"THEIN WIN\",\"role\":\"CARRIER\",\"nationality\":\"MM\","
		"\"document_type\":\"PASSPORT\",\"document_no\":\"AA123\",\"document_country\":\"TH\"}]}\n";
	Blonet__Alert *a = map_ok(BLO_ADAPT_CUSTOMS, rec);
	blo_err_t err = { 0 };

	(void)state;
	/* What blo_client_complete_alert adds. */
	if (a->origin->principal != protobuf_c_empty_string)
		free(a->origin->principal);
	a->origin->principal = strdup("th-customs-chiangkhong");
	a->sent_ms = blo_now_ms();
	E(blo_alert_validate(a, &err));
	assert_string_equal(a->location->site, "TH-CHIANGKHONG");
	assert_string_equal(a->handling->releasable_to[1], "LA");
	assert_string_equal(a->commodities[0]->species, "Manis javanica");
	/* The document's issuer, not the holder's nationality. */
	assert_string_equal(a->subjects[0]->identifiers[0]->issuer, "TH");
	assert_string_equal(a->subjects[0]->nationality, "MM");
	blo_alert_free(&a);
}

static void test_text_fields_refuse_control_characters(void **state)
{
	(void)state;
	map_fails(BLO_ADAPT_CUSTOMS,
		  "{\"seizure_ref\":\"SZ\\u0007\",\"office_code\":\"2301\"}\n", "seizure_ref",
		  "control character 0x07");
	map_fails(BLO_ADAPT_CUSTOMS,
		  "{\"seizure_ref\":\"SZ-1\",\"office_code\":2301}\n", "office_code",
		  "expected a string, got a number");
	map_fails(BLO_ADAPT_CUSTOMS, "{\"seizure_ref\":\"SZ-1\"} {}\n", "",
		  "text after the JSON object");
}

static void test_rejections_keep_the_reference_when_known(void **state)
{
	blo_adapt_reject_t why;

	(void)state;
	assert_null(map_with(rules, BLO_ADAPT_CUSTOMS,
			     "{\"seizure_ref\":\"SZ-77\",\"office_code\":\"0000\","
			     "\"seized_at\":\"2025-01-01 00:00\",\"offence\":\"CITES\","
			     "\"direction\":\"IMPORT\",\"goods\":[{}]}\n",
			     &why));
	assert_string_equal(why.source_ref, "SZ-77");
	assert_string_equal(why.field, "office_code");
	assert_string_equal(why.err.msg,
			    "customs record 1 (line 1): field \"office_code\": \"0000\" is not an "
			    "office of the rules");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_derives_from_country_agency_and_reference),
		cmocka_unit_test(test_mapping_is_pure),
		cmocka_unit_test(test_times_take_offsets_or_the_rules_local_time),
		cmocka_unit_test(test_agency_tlp_and_operation_come_from_the_rules),
		cmocka_unit_test(test_immigration_columns_in_any_order),
		cmocka_unit_test(test_a_wrong_header_fails_the_whole_input),
		cmocka_unit_test(test_a_source_needs_the_agency_section),
		cmocka_unit_test(test_completed_alerts_validate),
		cmocka_unit_test(test_text_fields_refuse_control_characters),
		cmocka_unit_test(test_rejections_keep_the_reference_when_known),
	};

	return cmocka_run_group_tests_name("adapt_map", tests, setup, teardown);
}
