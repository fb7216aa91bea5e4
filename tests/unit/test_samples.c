/*
 * Unit tests for blo_samples: for every crossing of every example and GMS
 * rules file, the generated exports map (through the real adapters'
 * sources) to exactly count - broken alerts at that site, exactly `broken`
 * rejections and exactly `national` cases kept inside the country; the same
 * seed gives the same bytes, and ids never collide between BLOs or seeds.
 * With BLO_BIN set (make check), blonet-adapter --dry-run agrees. And the
 * GMS topology provisions, and its BLOs are exactly the crossings of its
 * rules, in pairs facing each other across linked borders.
 */
#include "blo_test.h"

#include "blo_adapt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>

#define COUNT 30
#define BROKEN 12 /* one of each mistake of every agency */
#define NATIONAL 5
#define SPAN_DAYS 30

static const char *const rules_files[] = {
	"agents/formats/rules-th.json",          "agents/formats/rules-la.json",
	"agents/formats/rules-mm.json",          "deploy/topologies/gms-rules/rules-kh.json",
	"deploy/topologies/gms-rules/rules-cn.json", "deploy/topologies/gms-rules/rules-la.json",
	"deploy/topologies/gms-rules/rules-mm.json", "deploy/topologies/gms-rules/rules-th.json",
	"deploy/topologies/gms-rules/rules-vn.json",
};
static const char *const files[] = { "customs.jsonl", "immigration.csv", "narcotics.jsonl" };

static char *path_of(const char *rel)
{
	const char *src = getenv("BLO_SRCDIR");
	char *path = NULL;

	if (asprintf(&path, "%s/%s", src != NULL && src[0] != '\0' ? src : ".", rel) < 0)
		fail_msg("asprintf failed");
	return path;
}

static char *join(const char *dir, const char *name)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		fail_msg("asprintf failed");
	return path;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static blo_adapt_rules_t *load_rules(const char *path)
{
	blo_adapt_rules_t *rules = NULL;
	blo_err_t err = { 0 };

	if (blo_adapt_rules_load(&rules, path, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	return rules;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	for (;;) {
		if (n + 4096 > cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Every id seen so far, to prove none repeats. */
typedef struct {
	uint8_t (*v)[BLO_ID_BYTES];
	size_t n, cap;
} ids_t;

static void ids_add(ids_t *ids, const uint8_t *id, const char *where)
{
	for (size_t k = 0; k < ids->n; k++)
		if (memcmp(ids->v[k], id, BLO_ID_BYTES) == 0)
			fail_msg("%s: an alert id seen before", where);
	if (ids->n == ids->cap) {
		ids->cap = ids->cap == 0 ? 1024 : ids->cap * 2;
		ids->v = realloc(ids->v, ids->cap * sizeof(*ids->v));
		assert_non_null(ids->v);
	}
	memcpy(ids->v[ids->n++], id, BLO_ID_BYTES);
}

typedef struct {
	size_t alerts, rejects, national;
} counts_t;

/* Maps DIR/FILE of agency with rules; checks each alert's site, country,
 * time and validity; adds ids. */
static counts_t map_file(const blo_adapt_rules_t *rules, blo_adapt_agency_t agency,
			 const char *dir, const char *site, int64_t now, ids_t *ids)
{
	char *path = join(dir, files[agency]);
	FILE *in = fopen(path, "r");
	blo_adapt_source_t *src = NULL;
	blo_adapt_item_t item;
	blo_err_t err = { 0 };
	counts_t c = { 0 };
	int rc;

	if (in == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	E(blo_adapt_source_open(&src, agency, rules, in, &err));
	while ((rc = blo_adapt_source_next(src, &item, &err)) > 0) {
		Blonet__Alert *a = item.alert;

		if (a == NULL) {
			c.rejects++;
			/* A reason that names the record and its line. */
			assert_non_null(strstr(item.why.err.msg, "record"));
			assert_non_null(strstr(item.why.err.msg, "(line"));
			continue;
		}
		c.alerts++;
		assert_non_null(a->location);
		if (strcmp(a->location->site, site) != 0)
			fail_msg("%s record %zu: site %s, not %s", path, item.number, a->location->site,
				 site);
		assert_string_equal(a->origin->country, rules->country);
		assert_true(a->observed_ms <= now);
		assert_true(a->observed_ms >= now - (int64_t)SPAN_DAYS * 86400000 - 86400000);
		/* What the publisher adds (blo_client_complete_alert), and the
		 * alert is valid. */
		if (a->origin->principal != protobuf_c_empty_string)
			free(a->origin->principal);
		a->origin->principal = strdup("xx-agent-sample");
		a->sent_ms = now;
		if (blo_alert_validate(a, &err) != 0)
			fail_msg("%s record %zu: %s", path, item.number, err.msg);
		assert_non_null(a->handling);
		if (a->handling->n_releasable_to == 1) {
			assert_int_equal(agency, BLO_ADAPT_NARCOTICS);
			assert_string_equal(a->handling->releasable_to[0], rules->country);
			assert_int_equal(a->handling->n_addressed_to, 1);
			assert_string_equal(a->handling->addressed_to[0], site);
			c.national++;
		} else {
			assert_int_equal(a->handling->n_releasable_to, 2);
		}
		ids_add(ids, a->id.data, path);
		blo_alert_free(&item.alert);
	}
	assert_int_equal(rc, 0);
	blo_adapt_source_close(&src);
	fclose(in);
	free(path);
	return c;
}

/* With the real program: blonet-adapter AGENCY --rules R --dry-run FILE
 * reports count - broken normalized and broken rejected, exit 1. */
static void check_with_program(const char *rules_path, const char *dir)
{
	const char *bin = getenv("BLO_BIN");
	static const char *const agencies[] = { "customs", "immigration", "narcotics" };

	if (bin == NULL || bin[0] == '\0')
		return;
	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
		char *cmd = NULL, want[64], line[1024] = "";
		FILE *p;
		int status;

		if (asprintf(&cmd, "'%s/blonet-adapter' %s --rules '%s' --dry-run '%s/%s' 2>&1 >/dev/null",
			     bin, agencies[a], rules_path, dir, files[a]) < 0)
			fail_msg("asprintf failed");
		p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(line, sizeof(line), p) != NULL && strstr(line, ": read ") == NULL)
			;
		status = pclose(p);
		snprintf(want, sizeof(want), "read %d, normalized %d, rejected %d", COUNT,
			 COUNT - BROKEN, BROKEN);
		if (strstr(line, want) == NULL)
			fail_msg("%s: summary \"%s\", want \"%s\"", cmd, line, want);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
		free(cmd);
	}
}

static void test_every_crossing_maps_as_asked(void **state)
{
	int64_t now = now_ms();
	ids_t ids = { 0 };
	size_t crossings = 0;

	(void)state;
	for (size_t f = 0; f < sizeof(rules_files) / sizeof(rules_files[0]); f++) {
		char *rules_path = path_of(rules_files[f]);
		blo_adapt_rules_t *rules = load_rules(rules_path);
		const blo_adapt_crossing_t *x = rules->crossings.v;

		for (size_t i = 0; i < rules->crossings.n; i++) {
			char *dir = blo_test_mkdtemp();
			blo_err_t err = { 0 };
			/* The example and the GMS rules share sites: one seed each. */
			uint64_t seed = 20261128 + f / 3;

			if (blo_samples_write(rules_path, x[i].site, COUNT, BROKEN, NATIONAL, seed, now,
					      SPAN_DAYS, dir, &err) != 0)
				fail_msg("%s %s: %s", rules_files[f], x[i].site, err.msg);
			for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
				counts_t c = map_file(rules, (blo_adapt_agency_t)a, dir, x[i].site, now,
						      &ids);

				if (c.alerts != COUNT - BROKEN || c.rejects != BROKEN)
					fail_msg("%s %s %s: %zu alerts, %zu rejects", rules_files[f],
						 x[i].site, files[a], c.alerts, c.rejects);
				assert_int_equal(c.national, a == BLO_ADAPT_NARCOTICS ? NATIONAL : 0);
			}
			check_with_program(rules_path, dir);
			blo_test_rmdir(dir);
			free(dir);
			crossings++;
		}
		blo_adapt_rules_free(&rules);
		free(rules_path);
	}
	/* 3 + 2 + 1 example crossings, 52 GMS BLOs. */
	assert_true(crossings >= 58);
	free(ids.v);
}

static void write_or_fail(const char *rules_rel, const char *site, uint64_t seed, int64_t now,
			  const char *dir)
{
	char *rules_path = path_of(rules_rel);
	blo_err_t err = { 0 };

	if (blo_samples_write(rules_path, site, COUNT, BROKEN, NATIONAL, seed, now, SPAN_DAYS, dir,
			      &err) != 0)
		fail_msg("%s: %s", site, err.msg);
	free(rules_path);
}

static void test_same_seed_same_bytes_other_seed_other_refs(void **state)
{
	char *d1 = blo_test_mkdtemp(), *d2 = blo_test_mkdtemp(), *d3 = blo_test_mkdtemp();
	const int64_t now = 1795000000000LL;

	(void)state;
	write_or_fail("deploy/topologies/gms-rules/rules-mm.json", "MM-MUSE", 7, now, d1);
	write_or_fail("deploy/topologies/gms-rules/rules-mm.json", "MM-MUSE", 7, now, d2);
	write_or_fail("deploy/topologies/gms-rules/rules-mm.json", "MM-MUSE", 8, now, d3);
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		char *p1 = join(d1, files[k]), *p2 = join(d2, files[k]), *p3 = join(d3, files[k]);
		size_t l1, l2, l3;
		char *b1 = slurp(p1, &l1), *b2 = slurp(p2, &l2), *b3 = slurp(p3, &l3);

		assert_true(l1 > 0);
		assert_int_equal(l1, l2);
		assert_memory_equal(b1, b2, l1);
		assert_true(l1 != l3 || memcmp(b1, b3, l1) != 0);
		free(b1);
		free(b2);
		free(b3);
		free(p1);
		free(p2);
		free(p3);
	}
	blo_test_rmdir(d1);
	blo_test_rmdir(d2);
	blo_test_rmdir(d3);
	free(d1);
	free(d2);
	free(d3);
}

/* Alert ids of two seeds at one BLO, and of two BLOs of one country with
 * one seed, never meet. */
static void test_ids_differ_between_seeds_and_sites(void **state)
{
	static const struct {
		const char *site;
		uint64_t seed;
	} runs[] = { { "TH-MAESAI", 1 }, { "TH-MAESAI", 2 }, { "TH-MAESOT", 1 }, { "TH-HATLEK", 1 } };
	char *rules_path = path_of("deploy/topologies/gms-rules/rules-th.json");
	blo_adapt_rules_t *rules = load_rules(rules_path);
	int64_t now = now_ms();
	ids_t ids = { 0 };

	(void)state;
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		char *dir = blo_test_mkdtemp();

		write_or_fail("deploy/topologies/gms-rules/rules-th.json", runs[r].site, runs[r].seed,
			      now, dir);
		for (int a = 0; a < BLO_ADAPT_AGENCIES; a++)
			(void)map_file(rules, (blo_adapt_agency_t)a, dir, runs[r].site, now, &ids);
		blo_test_rmdir(dir);
		free(dir);
	}
	assert_int_equal(ids.n, 4 * 3 * (COUNT - BROKEN));
	free(ids.v);
	blo_adapt_rules_free(&rules);
	free(rules_path);
}

static void test_refusals_name_the_problem(void **state)
{
	char *rules_path = path_of("agents/formats/rules-th.json");
	char *dir = blo_test_mkdtemp(), *missing = join(dir, "no/such/folder");
	blo_err_t err = { 0 };
	int64_t now = now_ms();

	(void)state;
	assert_int_equal(blo_samples_write(rules_path, "TH-NOWHERE", 10, 1, 1, 1, now, 30, dir, &err),
			 BLO_ENOTFOUND);
	assert_non_null(strstr(err.msg, "TH-NOWHERE"));
	/* A site of another country is not a crossing of these rules either. */
	assert_int_equal(blo_samples_write(rules_path, "MM-TACHILEIK", 10, 1, 1, 1, now, 30, dir,
					   &err),
			 BLO_ENOTFOUND);
	assert_true(blo_samples_write("/nonexistent/rules.json", "TH-MAESAI", 10, 1, 1, 1, now, 30,
				      dir, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/rules.json"));
	assert_true(blo_samples_write(rules_path, "TH-MAESAI", 10, 1, 1, 1, now, 30, missing,
				      &err) < 0);
	assert_non_null(strstr(err.msg, "no/such/folder"));
	assert_int_equal(blo_samples_write(rules_path, "TH-MAESAI", 10, 11, 0, 1, now, 30, dir, &err),
			 BLO_EINVAL);
	assert_int_equal(blo_samples_write(rules_path, "TH-MAESAI", 10, 5, 6, 1, now, 30, dir, &err),
			 BLO_EINVAL);
	assert_int_equal(blo_samples_write(rules_path, "TH-MAESAI", 10, 0, 0, 1, now, 0, dir, &err),
			 BLO_EINVAL);
	/* Nothing half-written was left behind. */
	{
		char *cmd = NULL;

		if (asprintf(&cmd, "test -z \"$(ls -A '%s' | grep -v '^no$')\"", dir) < 0)
			fail_msg("asprintf failed");
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	blo_test_rmdir(dir);
	free(dir);
	free(missing);
	free(rules_path);
}

/* More broken records than there are kinds of mistake repeat them; zero
 * records give an immigration file with its header only. */
static void test_many_broken_and_none_at_all(void **state)
{
	char *rules_path = path_of("agents/formats/rules-la.json");
	blo_adapt_rules_t *rules = load_rules(rules_path);
	char *dir = blo_test_mkdtemp();
	blo_err_t err = { 0 };
	int64_t now = now_ms();
	ids_t ids = { 0 };

	(void)state;
	E(blo_samples_write(rules_path, "LA-HOUAYXAI", 40, 40, 0, 3, now, 7, dir, &err));
	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
		counts_t c = map_file(rules, (blo_adapt_agency_t)a, dir, "LA-HOUAYXAI", now, &ids);

		assert_int_equal(c.alerts, 0);
		assert_int_equal(c.rejects, 40);
	}
	E(blo_samples_write(rules_path, "LA-HOUAYXAI", 0, 0, 0, 3, now, 7, dir, &err));
	for (int a = 0; a < BLO_ADAPT_AGENCIES; a++) {
		counts_t c = map_file(rules, (blo_adapt_agency_t)a, dir, "LA-HOUAYXAI", now, &ids);

		assert_int_equal(c.alerts + c.rejects, 0);
	}
	E(blo_samples_write(rules_path, "LA-TONPHEUNG", 20, 0, 20, 3, now, 7, dir, &err));
	assert_int_equal(map_file(rules, BLO_ADAPT_NARCOTICS, dir, "LA-TONPHEUNG", now, &ids).national,
			 20);
	free(ids.v);
	blo_test_rmdir(dir);
	free(dir);
	blo_adapt_rules_free(&rules);
	free(rules_path);
}

/* Does the topology link the brokers of countries a and b? */
static bool linked(const cJSON *topo, const char *a, const char *b)
{
	char ba[16], bb[16];
	const cJSON *l;

	snprintf(ba, sizeof(ba), "%c%c-broker", a[0] + 32, a[1] + 32);
	snprintf(bb, sizeof(bb), "%c%c-broker", b[0] + 32, b[1] + 32);
	cJSON_ArrayForEach(l, cJSON_GetObjectItem(topo, "links"))
	{
		const char *x = cJSON_GetArrayItem(l, 0)->valuestring;
		const char *y = cJSON_GetArrayItem(l, 1)->valuestring;

		if ((strcmp(x, ba) == 0 && strcmp(y, bb) == 0) ||
		    (strcmp(x, bb) == 0 && strcmp(y, ba) == 0))
			return true;
	}
	return false;
}

static void test_gms_topology_provisions_and_matches_its_rules(void **state)
{
	static const char *const countries[] = { "kh", "cn", "la", "mm", "th", "vn" };
	static const char *const roles[] = { "customs", "immigration", "narcotics", "console" };
	char *topo_path = path_of("deploy/topologies/gms.json");
	char *dir = blo_test_mkdtemp();
	blo_provision_report_t report;
	blo_err_t err = { 0 };
	size_t len, n_sites = 0;
	char *text;
	cJSON *topo;

	(void)state;
	if (blo_provision_run(topo_path, dir, NULL, &report, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(report.n_brokers, 6);
	text = slurp(topo_path, &len);
	topo = cJSON_ParseWithLength(text, len);
	assert_non_null(topo);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(topo, "links")), 10);
	for (size_t c = 0; c < sizeof(countries) / sizeof(countries[0]); c++) {
		char rel[64], *rules_path;
		blo_adapt_rules_t *rules;
		const blo_adapt_crossing_t *x;

		snprintf(rel, sizeof(rel), "deploy/topologies/gms-rules/rules-%s.json", countries[c]);
		rules_path = path_of(rel);
		rules = load_rules(rules_path);
		x = rules->crossings.v;
		assert_int_equal(rules->status, BLONET__STATUS__EXERCISE);
		for (size_t i = 0; i < rules->crossings.n; i++, n_sites++) {
			/* The counterpart's rules face back. */
			char orel[64], *other_path, word[64];
			blo_adapt_rules_t *other;
			const blo_adapt_crossing_t *back;
			const char *dash = strchr(x[i].site, '-');

			snprintf(orel, sizeof(orel), "deploy/topologies/gms-rules/rules-%c%c.json",
				 x[i].counterpart_country[0] + 32, x[i].counterpart_country[1] + 32);
			other_path = path_of(orel);
			other = load_rules(other_path);
			back = blo_adapt_rules_crossing(other, x[i].counterpart);
			if (back == NULL || strcmp(back->counterpart, x[i].site) != 0)
				fail_msg("%s: %s faces %s, which does not face back", rel, x[i].site,
					 x[i].counterpart);
			if (!linked(topo, rules->country, x[i].counterpart_country))
				fail_msg("%s: no link %s-%s", x[i].site, rules->country,
					 x[i].counterpart_country);
			blo_adapt_rules_free(&other);
			free(other_path);
			/* Its four principals are in the topology, at this site. */
			assert_non_null(dash);
			snprintf(word, sizeof(word), "%s", dash + 1);
			for (char *w = word; *w != '\0'; w++)
				*w = (char)(*w >= 'A' && *w <= 'Z' ? *w + 32 : *w);
			for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++) {
				char id[128];
				const cJSON *p;
				bool found = false;

				snprintf(id, sizeof(id), "%s-%s-%s", countries[c], roles[r], word);
				cJSON_ArrayForEach(p, cJSON_GetObjectItem(topo, "principals"))
				{
					if (strcmp(cJSON_GetObjectItem(p, "id")->valuestring, id) == 0) {
						assert_string_equal(cJSON_GetObjectItem(p, "site")->valuestring,
								    x[i].site);
						found = true;
					}
				}
				if (!found)
					fail_msg("%s: no principal %s", x[i].site, id);
			}
		}
		blo_adapt_rules_free(&rules);
		free(rules_path);
	}
	/* Every BLO of the topology is a crossing of its country's rules:
	 * 4 principals per BLO, 6 committees, 1 admin. */
	assert_int_equal(report.n_principals, n_sites * 4 + 6 + 1);
	assert_true(n_sites >= 40);
	cJSON_Delete(topo);
	free(text);
	free(topo_path);
	blo_test_rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_crossing_maps_as_asked),
		cmocka_unit_test(test_same_seed_same_bytes_other_seed_other_refs),
		cmocka_unit_test(test_ids_differ_between_seeds_and_sites),
		cmocka_unit_test(test_refusals_name_the_problem),
		cmocka_unit_test(test_many_broken_and_none_at_all),
		cmocka_unit_test(test_gms_topology_provisions_and_matches_its_rules),
	};

	return cmocka_run_group_tests_name("samples", tests, NULL, NULL);
}
