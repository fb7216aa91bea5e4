/*
 * Unit tests of blo_committee_report: exact quantities, CSV quoting and the
 * formula guard, HTML that escapes what came from the network and needs no
 * network itself, report.json with every table, and the files written.
 */
#include "blo_test.h"

#include "blo_committee.h"
#include "blo_committee_report.h"

#include <sys/stat.h>

static const blo_committee_report_info_t info = {
	.committee = "th-committee", .country = "TH", .generated_ms = 1795860000000LL};

static char *s_(const char *s)
{
	char *c = strdup(s);

	assert_non_null(c);
	return c;
}

static void add_row(blo_committee_table_t *t, const char *p1, const char *p2, const char *p3,
		    int64_t count, int64_t qty, int64_t extra)
{
	blo_committee_row_t *r;

	t->rows = realloc(t->rows, (t->n + 1) * sizeof(*t->rows));
	assert_non_null(t->rows);
	r = &t->rows[t->n++];
	r->parts[0] = s_(p1);
	r->parts[1] = s_(p2 != NULL ? p2 : "");
	r->parts[2] = s_(p3 != NULL ? p3 : "");
	r->count = count;
	r->quantity_milli = qty;
	r->extra = extra;
}

/* A snapshot as the store would give it, with hostile text in it. */
static void sample(blo_committee_snapshot_t *s)
{
	memset(s, 0, sizeof(*s));
	s->week_offset_min = 420;
	s->messages = 12;
	s->alerts = 9;
	s->seizures = 5;
	s->cancelled = 1;
	add_row(&s->types, "ALERT", NULL, NULL, 10, 0, 0);
	add_row(&s->categories, "DRUGS", NULL, NULL, 6, 0, 4);
	add_row(&s->categories, "WILDLIFE", NULL, NULL, 3, 0, 1);
	add_row(&s->crossings, "TH-MAESAI", NULL, NULL, 7, 0, 4);
	add_row(&s->crossings, "TH-CHIANGKHONG", NULL, NULL, 2, 0, 1);
	add_row(&s->routes, "MM", "TH", NULL, 5, 0, 0);
	add_row(&s->agencies, "TH", "CUSTOMS", NULL, 9, 0, 0);
	add_row(&s->weeks, "2026-W48", NULL, NULL, 4, 0, 0);
	add_row(&s->weeks, "2026-W49", NULL, NULL, 5, 0, 0);
	add_row(&s->week_categories, "2026-W48", "DRUGS", NULL, 4, 0, 0);
	add_row(&s->week_categories, "2026-W49", "DRUGS", NULL, 2, 0, 0);
	add_row(&s->week_categories, "2026-W49", "WILDLIFE", NULL, 3, 0, 0);
	add_row(&s->commodities, "DRUG", "yaba, \"WY\" brand", "TABLET", 4, 200000500, 0);
	add_row(&s->commodities, "WILDLIFE_PRODUCT", "=HYPERLINK(\"http://x\")", "KILOGRAM", 1, 12500, 0);
	add_row(&s->commodities, "WILDLIFE_PRODUCT", "<script>alert(1)</script>", "PIECE", 1, 3000, 0);
	add_row(&s->category_units, "DRUGS", "TABLET", NULL, 4, 200000500, 0);
	s->replies = calloc(1, sizeof(*s->replies));
	s->replies[0].kind = s_("ACK");
	s->replies[0].from_site = s_("TH-MAESAI");
	s->replies[0].to_site = s_("TH-CHIANGKHONG");
	s->replies[0].n = 10;
	s->replies[0].median_ms = 300000;
	s->replies[0].p90_ms = 540000;
	s->replies[0].min_ms = 60000;
	s->replies[0].max_ms = 600000;
	s->n_replies = 1;
	s->mo = calloc(1, sizeof(*s->mo));
	s->mo[0].modus_operandi = s_("tablets in a false fuel tank & spare tyre");
	s->mo[0].headline = s_("<b>bold</b>");
	s->mo[0].category = s_("DRUGS");
	s->mo[0].country = s_("TH");
	s->mo[0].site = s_("TH-MAESAI");
	s->mo[0].principal = s_("th-console-maesai");
	s->mo[0].first_ms = 1795860000000LL;
	s->mo[0].last_ms = 1795860000000LL;
	s->mo[0].count = 2;
	s->n_mo = 1;
}

static void test_quantities_print_exactly(void **state)
{
	char b[32];

	(void)state;
	blo_committee_report_quantity(12500, b, sizeof(b));
	assert_string_equal(b, "12.5");
	blo_committee_report_quantity(1, b, sizeof(b));
	assert_string_equal(b, "0.001");
	blo_committee_report_quantity(200000000, b, sizeof(b));
	assert_string_equal(b, "200000");
	blo_committee_report_quantity(-3000, b, sizeof(b));
	assert_string_equal(b, "-3");
	blo_committee_report_quantity(0, b, sizeof(b));
	assert_string_equal(b, "0");
}

static void test_csv_quotes_and_guards_against_formulas(void **state)
{
	blo_committee_snapshot_t s;
	char *csv;

	(void)state;
	sample(&s);
	csv = blo_committee_report_csv(&s, "commodities");
	assert_non_null(csv);
	assert_non_null(strstr(csv, "kind,name,unit,lines,quantity\r\n"));
	assert_non_null(strstr(csv, "DRUG,\"yaba, \"\"WY\"\" brand\",TABLET,4,200000.5\r\n"));
	assert_non_null(strstr(csv, "WILDLIFE_PRODUCT,\"'=HYPERLINK(\"\"http://x\"\")\",KILOGRAM,1,12.5\r\n"));
	free(csv);
	csv = blo_committee_report_csv(&s, "categories");
	assert_string_equal(csv, "category,alerts,seizures\r\nDRUGS,6,4\r\nWILDLIFE,3,1\r\n");
	free(csv);
	csv = blo_committee_report_csv(&s, "reply_times");
	assert_non_null(strstr(csv, "ACK,TH-MAESAI,TH-CHIANGKHONG,10,300000,540000,60000,600000\r\n"));
	free(csv);
	csv = blo_committee_report_csv(&s, "totals");
	assert_non_null(strstr(csv, "alerts,9\r\n"));
	free(csv);
	assert_null(blo_committee_report_csv(&s, "no-such-table"));
	blo_committee_snapshot_free(&s);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_html_is_self_contained_escaped_and_has_the_charts(void **state)
{
	blo_committee_snapshot_t s;
	char *html;

	(void)state;
	sample(&s);
	html = blo_committee_report_html(&s, &info);
	assert_non_null(html);
	assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
	/* Four charts, inline. */
	assert_int_equal(count(html, "<svg "), 4);
	assert_int_equal(count(html, "</svg>"), 4);
	assert_non_null(strstr(html, "Alerts per week by category"));
	assert_non_null(strstr(html, "Seizures by crossing"));
	assert_non_null(strstr(html, "Top routes"));
	assert_non_null(strstr(html, "Time to first reply"));
	/* Nothing to fetch, nothing to run. */
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "<link"));
	assert_null(strstr(html, "@import"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "&lt;b&gt;bold&lt;/b&gt;"));
	assert_non_null(strstr(html, "fuel tank &amp; spare tyre"));
	/* The figures, where a reader (or a test) looks for them. */
	assert_non_null(strstr(html, "data-key=\"DRUGS\"><td>DRUGS</td><td class=\"n\">6</td><td class=\"n\">4</td>"));
	assert_non_null(strstr(html, "data-key=\"MM|TH\"><td>MM</td><td>TH</td><td class=\"n\">5</td>"));
	assert_non_null(strstr(html, "data-total=\"alerts\">9<"));
	assert_non_null(strstr(html, "data-median-ms=\"300000\" data-p90-ms=\"540000\""));
	assert_non_null(strstr(html, "median 5m 00s, p90 9m 00s (n=10)"));
	assert_non_null(strstr(html, "UTC+420 min"));
	free(html);
	blo_committee_snapshot_free(&s);
}

static void test_html_of_an_empty_store_says_so(void **state)
{
	blo_committee_snapshot_t s;
	char *html;

	(void)state;
	memset(&s, 0, sizeof(s));
	html = blo_committee_report_html(&s, &info);
	assert_non_null(html);
	assert_int_equal(count(html, "<svg "), 4);
	assert_non_null(strstr(html, "no data yet"));
	free(html);
}

static void test_json_has_every_table(void **state)
{
	blo_committee_snapshot_t s;
	char *text;
	cJSON *o, *c, *w;

	(void)state;
	sample(&s);
	text = blo_committee_report_json(&s, &info);
	o = cJSON_Parse(text);
	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "committee")->valuestring, "th-committee");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "totals"), "alerts")->valueint, 9);
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "by_category"), 0);
	assert_string_equal(cJSON_GetObjectItem(c, "category")->valuestring, "DRUGS");
	assert_int_equal(cJSON_GetObjectItem(c, "seizures")->valueint, 4);
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "commodities"), 0);
	assert_true(cJSON_GetObjectItem(c, "quantity")->valuedouble == 200000.5);
	assert_int_equal((int64_t)cJSON_GetObjectItem(c, "quantity_milli")->valuedouble, 200000500);
	w = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "by_week"), 1);
	assert_string_equal(cJSON_GetObjectItem(w, "week")->valuestring, "2026-W49");
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "by_category"), "WILDLIFE")->valueint, 3);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "reply_times")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "modus_operandi")), 1);
	cJSON_Delete(o);
	free(text);
	blo_committee_snapshot_free(&s);
}

static void test_write_puts_every_file_in_place(void **state)
{
	blo_committee_snapshot_t s;
	char *dir = blo_test_mkdtemp(), *out = NULL, path[4096];
	struct stat st;

	(void)state;
	sample(&s);
	assert_true(asprintf(&out, "%s/reports", dir) > 0);
	E(blo_committee_report_write(&s, &info, out, NULL));
	for (size_t i = 0; blo_committee_report_tables[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s.csv", out, blo_committee_report_tables[i]);
		assert_int_equal(stat(path, &st), 0);
	}
	snprintf(path, sizeof(path), "%s/report.html", out);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 1000);
	snprintf(path, sizeof(path), "%s/report.json", out);
	assert_int_equal(stat(path, &st), 0);
	/* Again over the first: replaced, not appended. */
	E(blo_committee_report_write(&s, &info, out, NULL));
	blo_committee_snapshot_free(&s);
	blo_test_rmdir(dir);
	free(out);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantities_print_exactly),
		cmocka_unit_test(test_csv_quotes_and_guards_against_formulas),
		cmocka_unit_test(test_html_is_self_contained_escaped_and_has_the_charts),
		cmocka_unit_test(test_html_of_an_empty_store_says_so),
		cmocka_unit_test(test_json_has_every_table),
		cmocka_unit_test(test_write_puts_every_file_in_place),
	};

	return cmocka_run_group_tests_name("committee_report", tests, NULL, NULL);
}
