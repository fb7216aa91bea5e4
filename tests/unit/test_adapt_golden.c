/*
 * Golden tests for the agency adapters: the fixed records of
 * tests/golden/adapters/AGENCY.records.* map, under the fixed rules.json
 * beside them, to exactly the alerts (and rejections) of
 * AGENCY.alerts.jsonl, one line per record. And every sample export of
 * agents/formats/samples/ normalizes under agents/formats/rules-th.json.
 *
 * BLO_GOLDEN_REGEN=1 rewrites the .alerts.jsonl files; review the diff.
 */
#include "blo_test.h"

#include "blo_adapt.h"

#include <errno.h>

static const char *src_dir(void)
{
	const char *src = getenv("BLO_SRCDIR");

	return src != NULL && src[0] != '\0' ? src : ".";
}

static char *path_of(const char *rel)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", src_dir(), rel) < 0)
		fail_msg("asprintf failed");
	return path;
}

static blo_adapt_rules_t *load_rules(const char *rel)
{
	blo_adapt_rules_t *rules = NULL;
	blo_err_t err = { 0 };
	char *path = path_of(rel);

	if (blo_adapt_rules_load(&rules, path, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	free(path);
	return rules;
}

/* One expected line: the alert's JSON, or {"reject":{...}}. */
static char *line_of(const blo_adapt_item_t *item)
{
	cJSON *o, *r;
	char *text;

	if (item->alert != NULL)
		return blo_alert_to_json(item->alert, false);
	o = cJSON_CreateObject();
	r = cJSON_AddObjectToObject(o, "reject");
	cJSON_AddNumberToObject(r, "record", (double)item->number);
	cJSON_AddNumberToObject(r, "line", (double)item->line);
	if (item->why.source_ref[0] != '\0')
		cJSON_AddStringToObject(r, "source_ref", item->why.source_ref);
	if (item->why.field[0] != '\0')
		cJSON_AddStringToObject(r, "field", item->why.field);
	cJSON_AddStringToObject(r, "reason", item->why.err.msg);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

static void check_agency(blo_adapt_agency_t agency, const char *records_rel,
			 const char *expected_rel, size_t want_alerts, size_t want_rejects)
{
	blo_adapt_rules_t *rules = load_rules("tests/golden/adapters/rules.json");
	char *records = path_of(records_rel), *expected = path_of(expected_rel);
	bool regen = getenv("BLO_GOLDEN_REGEN") != NULL;
	FILE *in = fopen(records, "r"), *want = NULL, *out = NULL;
	blo_adapt_source_t *src = NULL;
	blo_adapt_item_t item;
	blo_err_t err = { 0 };
	size_t alerts = 0, rejects = 0, n = 0, cap = 0;
	char *buf = NULL;
	int rc;

	if (in == NULL)
		fail_msg("%s: %s", records, strerror(errno));
	if (regen)
		out = fopen(expected, "w");
	else
		want = fopen(expected, "r");
	if (out == NULL && want == NULL)
		fail_msg("%s: %s", expected, strerror(errno));
	E(blo_adapt_source_open(&src, agency, rules, in, &err));
	while ((rc = blo_adapt_source_next(src, &item, &err)) > 0) {
		char *got = line_of(&item);

		n++;
		assert_non_null(got);
		if (item.alert != NULL) {
			Blonet__Alert *again = NULL;
			char *json2;

			alerts++;
			/* The golden line is itself a valid alert's JSON form. */
			E(blo_json_to_alert(&again, got, strlen(got), &err));
			json2 = blo_alert_to_json(again, false);
			assert_string_equal(json2, got);
			free(json2);
			blo_alert_free(&again);
		} else {
			rejects++;
			/* Every rejection names the record and its line. */
			assert_non_null(strstr(item.why.err.msg, "record"));
			assert_non_null(strstr(item.why.err.msg, "(line"));
		}
		if (regen) {
			fprintf(out, "%s\n", got);
		} else {
			ssize_t len = getline(&buf, &cap, want);

			if (len < 0)
				fail_msg("%s: no expected line for record %zu", expected, n);
			if (len > 0 && buf[len - 1] == '\n')
				buf[--len] = '\0';
			if (strcmp(buf, got) != 0)
				fail_msg("%s record %zu differs:\n  want %s\n  got  %s", records_rel, n,
					 buf, got);
		}
		free(got);
		blo_alert_free(&item.alert);
	}
	assert_int_equal(rc, 0);
	if (!regen)
		assert_true(getline(&buf, &cap, want) < 0); /* no expected line left over */
	assert_int_equal(alerts, want_alerts);
	assert_int_equal(rejects, want_rejects);
	free(buf);
	blo_adapt_source_close(&src);
	blo_adapt_rules_free(&rules);
	fclose(in);
	if (want != NULL)
		fclose(want);
	if (out != NULL)
		fclose(out);
	free(records);
	free(expected);
}

static void test_customs_records_map_to_golden_alerts(void **state)
{
	(void)state;
	check_agency(BLO_ADAPT_CUSTOMS, "tests/golden/adapters/customs.records.jsonl",
		     "tests/golden/adapters/customs.alerts.jsonl", 16, 18);
}

static void test_immigration_records_map_to_golden_alerts(void **state)
{
	(void)state;
	check_agency(BLO_ADAPT_IMMIGRATION, "tests/golden/adapters/immigration.records.csv",
		     "tests/golden/adapters/immigration.alerts.jsonl", 11, 12);
}

static void test_narcotics_records_map_to_golden_alerts(void **state)
{
	(void)state;
	check_agency(BLO_ADAPT_NARCOTICS, "tests/golden/adapters/narcotics.records.jsonl",
		     "tests/golden/adapters/narcotics.alerts.jsonl", 9, 11);
}

/* The narcotics "release" marking: NATIONAL keeps a case inside the
 * country, CROSSING (the default) shares it as the crossing does. */
static void test_narcotics_release_marking_maps_to_golden_alerts(void **state)
{
	(void)state;
	check_agency(BLO_ADAPT_NARCOTICS, "tests/golden/adapters/narcotics-release.records.jsonl",
		     "tests/golden/adapters/narcotics-release.alerts.jsonl", 3, 4);
}

/* Every sample record normalizes, at least 200 per agency, and distinct
 * records get distinct ids. */
static void check_samples(blo_adapt_agency_t agency, const char *rel)
{
	blo_adapt_rules_t *rules = load_rules("agents/formats/rules-th.json");
	char *path = path_of(rel);
	FILE *in = fopen(path, "r");
	blo_adapt_source_t *src = NULL;
	blo_adapt_item_t item;
	blo_err_t err = { 0 };
	uint8_t (*ids)[BLO_ID_BYTES] = NULL;
	size_t n = 0;
	int rc;

	if (in == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	E(blo_adapt_source_open(&src, agency, rules, in, &err));
	while ((rc = blo_adapt_source_next(src, &item, &err)) > 0) {
		if (item.alert == NULL)
			fail_msg("%s: %s", rel, item.why.err.msg);
		ids = realloc(ids, (n + 1) * sizeof(*ids));
		assert_non_null(ids);
		memcpy(ids[n], item.alert->id.data, BLO_ID_BYTES);
		for (size_t k = 0; k < n; k++)
			if (memcmp(ids[k], ids[n], BLO_ID_BYTES) == 0)
				fail_msg("%s: records %zu and %zu have the same id", rel, k + 1, n + 1);
		n++;
		blo_alert_free(&item.alert);
	}
	assert_int_equal(rc, 0);
	assert_true(n >= 200);
	free(ids);
	blo_adapt_source_close(&src);
	blo_adapt_rules_free(&rules);
	fclose(in);
	free(path);
}

static void test_every_sample_record_normalizes(void **state)
{
	(void)state;
	check_samples(BLO_ADAPT_CUSTOMS, "agents/formats/samples/customs-th.jsonl");
	check_samples(BLO_ADAPT_IMMIGRATION, "agents/formats/samples/immigration-th.csv");
	check_samples(BLO_ADAPT_NARCOTICS, "agents/formats/samples/narcotics-th.jsonl");
}

/* The example rules of every country load. */
static void test_example_rules_load(void **state)
{
	static const char *const files[] = { "agents/formats/rules-th.json",
					     "agents/formats/rules-la.json",
					     "agents/formats/rules-mm.json" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		blo_adapt_rules_t *r = load_rules(files[i]);

		for (int a = 0; a < BLO_ADAPT_AGENCIES; a++)
			assert_true(blo_adapt_rules_has(r, (blo_adapt_agency_t)a));
		blo_adapt_rules_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_customs_records_map_to_golden_alerts),
		cmocka_unit_test(test_immigration_records_map_to_golden_alerts),
		cmocka_unit_test(test_narcotics_records_map_to_golden_alerts),
		cmocka_unit_test(test_narcotics_release_marking_maps_to_golden_alerts),
		cmocka_unit_test(test_every_sample_record_normalizes),
		cmocka_unit_test(test_example_rules_load),
	};

	return cmocka_run_group_tests_name("adapt_golden", tests, NULL, NULL);
}
