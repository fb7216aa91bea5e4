/*
 * Unit tests of blo_console, blo_console_view and blo_console_cmd on a
 * provisioned deployment, offline: a console store filled with signed
 * messages (an alert in Thai and Burmese, a wildlife alert, an ACK and an
 * RFI), then the model (order, reply links, filters, lookups, read marks),
 * the rows and the detail as an officer sees them, the JSON of events, and
 * the commands, and retention (whole conversations pruned by age, their ids
 * remembered so that a redelivery is never shown twice, unanswered
 * messages of ours kept). Publishing through a broker is tested by the integration
 * tests (tests/integration/test_console*.sh).
 */
#include "blo_test.h"

#include "blo_console.h"
#include "blo_console_cmd.h"
#include "blo_console_text.h"
#include "blo_console_view.h"

#include <locale.h>

static const char topology[] =
	"{\"name\": \"unit-console\",\n"
	" \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", \"listen\": [\"tcp://127.0.0.1:7999\"]}],\n"
	" \"links\": [],\n"
	" \"principals\": [\n"
	"  {\"id\": \"th-customs-maesai\", \"role\": \"agent\", \"country\": \"TH\", \"agency\": \"CUSTOMS\", \"site\": \"TH-MAESAI\", \"broker\": \"th-broker\"},\n"
	"  {\"id\": \"th-console-maesai\", \"role\": \"console\", \"country\": \"TH\", \"agency\": \"COORDINATION\", \"site\": \"TH-MAESAI\", \"broker\": \"th-broker\"},\n"
	"  {\"id\": \"th-console-chiangkhong\", \"role\": \"console\", \"country\": \"TH\", \"agency\": \"COORDINATION\", \"site\": \"TH-CHIANGKHONG\", \"broker\": \"th-broker\"},\n"
	"  {\"id\": \"th-committee\", \"role\": \"committee\", \"country\": \"TH\", \"agency\": \"COORDINATION\", \"site\": \"\", \"broker\": \"th-broker\"}\n"
	" ],\n"
	" \"operations\": []}\n";

#define T0 1795860000000LL /* 2026-11-28 */

/* Thai headline, Burmese driver's name, an escape sequence in the place. */
#define ALERT_JSON                                                                                 \
	"{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"C-1\",\"sent_ms\":1795860000000," \
	"\"assessment\":{\"category\":\"DRUGS\",\"severity\":\"SEVERE\"},"                             \
	"\"handling\":{\"tlp\":\"TLP_AMBER\"},"                                                        \
	"\"location\":{\"site\":\"TH-MAESAI\",\"place_name\":\"gate\\u001b[2J 2\"},"                    \
	"\"headline\":\"\\u0e22\\u0e32\\u0e1a\\u0e49\\u0e32 200,000 tablets\","                        \
	"\"subjects\":[{\"kind\":\"PERSON\",\"name\":\"\\u1021\\u1031\\u102c\\u1004\\u103a\","         \
	"\"nationality\":\"MM\",\"identifiers\":[{\"scheme\":\"passport\",\"value\":\"MA123456\"}]}],"  \
	"\"commodities\":[{\"kind\":\"DRUG\",\"name\":\"methamphetamine tablets\",\"quantity\":200000," \
	"\"unit\":\"TABLET\",\"concealment\":\"fuel tank\"}]}"

#define WILDLIFE_JSON                                                                              \
	"{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"C-2\",\"sent_ms\":1795860060000," \
	"\"assessment\":{\"category\":\"WILDLIFE\",\"severity\":\"MODERATE\"},"                         \
	"\"handling\":{\"tlp\":\"TLP_GREEN\"},\"location\":{\"site\":\"TH-CHIANGKHONG\"},"              \
	"\"headline\":\"Pangolin scales \\u7a7f\\u5c71\\u7532\"}"

#define RFI_JSON                                                                                   \
	"{\"type\":\"RFI\",\"status\":\"EXERCISE\",\"sent_ms\":1795860300000,"                         \
	"\"assessment\":{\"category\":\"DRUGS\"},\"handling\":{\"tlp\":\"TLP_AMBER_STRICT\","          \
	"\"addressed_to\":[\"TH-MAESAI\"]},\"headline\":\"Who owns the pickup?\"}"

typedef struct {
	char *dir;
	char *config; /* th-console-maesai's */
	blo_identity_t *customs, *chiangkhong;
	blo_console_t *console;
	uint8_t alert_id[BLO_ID_BYTES];
} fixture_t;

static char *path_in(const char *dir, const char *rel)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

/* Signs the alert built from json as identity, with references[0] = ref
 * when given, and returns the record to store. */
static void make_record(blo_identity_t *who, const char *country, const char *site,
			Blonet__AgencyKind agency, const char *json, const uint8_t *ref,
			Blonet__AckStatus ack, blo_console_record_t *rec, uint8_t id_out[BLO_ID_BYTES])
{
	Blonet__Alert *a = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	blo_err_t err = {0};

	if (blo_json_to_alert(&a, json, strlen(json), &err) != 0)
		fail_msg("%s", err.msg);
	a->origin = malloc(sizeof(*a->origin));
	blonet__origin__init(a->origin);
	a->origin->principal = strdup(blo_identity_id(who));
	a->origin->country = strdup(country);
	a->origin->site = strdup(site);
	a->origin->agency = agency;
	a->id.data = malloc(BLO_ID_BYTES);
	a->id.len = BLO_ID_BYTES;
	blo_alert_random_id(a->id.data);
	if (ref != NULL) {
		a->references = malloc(sizeof(*a->references));
		a->references[0].data = malloc(BLO_ID_BYTES);
		memcpy(a->references[0].data, ref, BLO_ID_BYTES);
		a->references[0].len = BLO_ID_BYTES;
		a->n_references = 1;
	}
	a->ack_status = ack;
	if (blo_alert_validate(a, &err) != 0)
		fail_msg("%s", err.msg);
	E(blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES, &bytes, &len, NULL));
	memset(rec, 0, sizeof(*rec));
	E(blo_envelope_seal(who, bytes, len, &rec->envelope, &rec->envelope_len, NULL));
	memcpy(rec->id, a->id.data, BLO_ID_BYTES);
	if (id_out != NULL)
		memcpy(id_out, a->id.data, BLO_ID_BYTES);
	rec->received_ms = a->sent_ms + 1000;
	rec->broker_seq = 1;
	rec->flags = BLO_CONSOLE_VERIFIED;
	free(bytes);
	blo_alert_free(&a);
}

static void open_console(fixture_t *f)
{
	blo_console_opts_t o = {.config = f->config, .offline = true};
	blo_err_t err = {0};

	if (blo_console_open(&f->console, &o, &err) != 0)
		fail_msg("%s", err.msg);
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	char *topo, *out, *p, *store_dir;
	blo_console_store_t *store = NULL;
	blo_console_record_t recs[5];
	blo_err_t err = {0};
	FILE *fp;

	setlocale(LC_ALL, "C.UTF-8");
	assert_non_null(f);
	f->dir = blo_test_mkdtemp();
	topo = path_in(f->dir, "topology.json");
	out = path_in(f->dir, "d");
	fp = fopen(topo, "w");
	assert_non_null(fp);
	fputs(topology, fp);
	fclose(fp);
	if (blo_provision_run(topo, out, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	f->config = path_in(out, "th-console-maesai/config.json");
	p = path_in(out, "th-customs-maesai/identity.secret.json");
	E(blo_identity_load(&f->customs, p, NULL));
	free(p);
	p = path_in(out, "th-console-chiangkhong/identity.secret.json");
	E(blo_identity_load(&f->chiangkhong, p, NULL));
	free(p);

	/* What the console received: the alert, a wildlife alert, an ACK of
	 * the first from Chiang Khong 3 min 20 s later, an RFI, and the
	 * wildlife alert again (a redelivery). */
	make_record(f->customs, "TH", "TH-MAESAI", BLONET__AGENCY_KIND__CUSTOMS, ALERT_JSON, NULL, 0,
		    &recs[0], f->alert_id);
	make_record(f->customs, "TH", "TH-MAESAI", BLONET__AGENCY_KIND__CUSTOMS, WILDLIFE_JSON, NULL, 0,
		    &recs[1], NULL);
	make_record(f->chiangkhong, "TH", "TH-CHIANGKHONG", BLONET__AGENCY_KIND__COORDINATION,
		    "{\"type\":\"ACK\",\"status\":\"EXERCISE\",\"sent_ms\":1795860200000,"
		    "\"handling\":{\"tlp\":\"TLP_AMBER\"},\"description\":\"on our way\"}",
		    f->alert_id, BLONET__ACK_STATUS__ACTING, &recs[2], NULL);
	make_record(f->chiangkhong, "TH", "TH-CHIANGKHONG", BLONET__AGENCY_KIND__COORDINATION, RFI_JSON,
		    NULL, 0, &recs[3], NULL);
	recs[3].flags = 0; /* as if its signature had not verified */
	snprintf(recs[3].note, sizeof(recs[3].note), "signature not verified: test");
	recs[4] = recs[1];
	recs[4].envelope = malloc(recs[1].envelope_len);
	memcpy(recs[4].envelope, recs[1].envelope, recs[1].envelope_len);
	store_dir = path_in(out, "th-console-maesai/data/console");
	E(blo_console_store_open(&store, store_dir, NULL));
	E(blo_console_store_put(store, recs, 5, NULL, NULL));
	blo_console_store_close(&store);
	for (int i = 0; i < 5; i++)
		free(recs[i].envelope);
	free(store_dir);
	free(topo);
	free(out);
	open_console(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	blo_console_close(&f->console);
	blo_identity_destroy(&f->customs);
	blo_identity_destroy(&f->chiangkhong);
	blo_test_rmdir(f->dir);
	free(f->dir);
	free(f->config);
	free(f);
	return 0;
}

static void test_stored_messages_load_once_in_arrival_order(void **state)
{
	fixture_t *f = *state;
	const blo_console_item_t *it;

	assert_int_equal(blo_console_count(f->console), 4);
	it = blo_console_item(f->console, 0);
	assert_int_equal(it->local_seq, 1);
	assert_int_equal(it->type, BLONET__MESSAGE_TYPE__ALERT);
	assert_int_equal(it->category, BLONET__CATEGORY__DRUGS);
	assert_string_equal(it->crossing, "TH-MAESAI");
	assert_string_equal(it->principal, "th-customs-maesai");
	assert_true(it->ours); /* an agency of this console's site sent it */
	assert_non_null(strstr(it->headline, "200,000 tablets"));
	assert_memory_equal(it->id, f->alert_id, BLO_ID_BYTES);
	it = blo_console_item(f->console, 1);
	assert_string_equal(it->crossing, "TH-CHIANGKHONG");
	assert_int_equal(blo_console_item(f->console, 2)->type, BLONET__MESSAGE_TYPE__ACK);
	assert_int_equal(blo_console_item(f->console, 3)->type, BLONET__MESSAGE_TYPE__RFI);
	assert_false(blo_console_item(f->console, 3)->ours);
}

static void test_an_ack_is_linked_to_its_alert_with_the_time_taken(void **state)
{
	fixture_t *f = *state;
	const blo_console_item_t *ack = blo_console_item(f->console, 2);
	blo_console_state_t st;

	assert_int_equal(ack->original, 0);
	blo_console_state(f->console, 0, &st);
	assert_int_equal(st.acks, 1);
	assert_int_equal(st.last_ack, BLONET__ACK_STATUS__ACTING);
	assert_int_equal(st.first_reply_ms, 200000);
	assert_int_equal(st.my_ack, 0);
	assert_false(st.cancelled);
}

static void test_views_are_newest_first_and_leave_acks_out(void **state)
{
	fixture_t *f = *state;
	size_t *v = NULL, n = 0;

	E(blo_console_view(f->console, NULL, &v, &n));
	assert_int_equal(n, 3);
	assert_int_equal(v[0], 3);
	assert_int_equal(v[1], 1);
	assert_int_equal(v[2], 0);
	free(v);
}

static void test_filters_narrow_by_category_severity_crossing_and_unread(void **state)
{
	fixture_t *f = *state;
	blo_console_filter_t flt = {.category = BLONET__CATEGORY__WILDLIFE};
	size_t *v = NULL, n = 0;

	E(blo_console_view(f->console, &flt, &v, &n));
	assert_int_equal(n, 1);
	assert_int_equal(v[0], 1);
	free(v);
	memset(&flt, 0, sizeof(flt));
	flt.min_severity = BLONET__SEVERITY__SEVERE;
	E(blo_console_view(f->console, &flt, &v, &n));
	assert_int_equal(n, 1);
	assert_int_equal(v[0], 0);
	free(v);
	memset(&flt, 0, sizeof(flt));
	snprintf(flt.crossing, sizeof(flt.crossing), "TH-CHIANGKHONG");
	E(blo_console_view(f->console, &flt, &v, &n));
	assert_int_equal(n, 2); /* the wildlife alert and the RFI sent from there */
	free(v);
	memset(&flt, 0, sizeof(flt));
	flt.with_acks = true;
	E(blo_console_view(f->console, &flt, &v, &n));
	assert_int_equal(n, 4);
	free(v);
	E(blo_console_mark_read(f->console, 1, NULL));
	memset(&flt, 0, sizeof(flt));
	flt.unread_only = true;
	E(blo_console_view(f->console, &flt, &v, &n));
	assert_int_equal(n, 2);
	free(v);
}

static void test_read_marks_persist_across_a_restart(void **state)
{
	fixture_t *f = *state;

	assert_int_equal(blo_console_unread(f->console), 3);
	E(blo_console_mark_read(f->console, 0, NULL));
	assert_int_equal(blo_console_unread(f->console), 2);
	blo_console_close(&f->console);
	open_console(f);
	assert_int_equal(blo_console_unread(f->console), 2);
	assert_true(blo_console_item(f->console, 0)->flags & BLO_CONSOLE_READ);
	E(blo_console_mark_unread(f->console, 0, NULL));
	assert_int_equal(blo_console_unread(f->console), 3);
}

static void test_find_by_number_and_by_id_prefix(void **state)
{
	fixture_t *f = *state;
	char prefix[9];
	size_t item = 99;
	blo_err_t err = {0};

	E(blo_console_find(f->console, "#2", &item, NULL));
	assert_int_equal(item, 1);
	memcpy(prefix, blo_console_item(f->console, 0)->id_hex, 8);
	prefix[8] = '\0';
	E(blo_console_find(f->console, prefix, &item, NULL));
	assert_int_equal(item, 0);
	E(blo_console_find(f->console, blo_console_item(f->console, 3)->id_hex, &item, NULL));
	assert_int_equal(item, 3);
	assert_int_equal(blo_console_find(f->console, "#9", &item, &err), BLO_ENOTFOUND);
	assert_int_equal(blo_console_find(f->console, "abc", &item, &err), BLO_EINVAL);
	assert_int_equal(blo_console_find(f->console, "zz12345", &item, &err), BLO_EINVAL);
	assert_int_equal(blo_console_find(f->console, "", &item, &err), BLO_EINVAL);
}

static void test_rows_fill_exactly_the_width_in_any_script(void **state)
{
	fixture_t *f = *state;
	char buf[1024];

	for (int w = 60; w <= 200; w += 35) {
		blo_console_view_row_header(w, buf, sizeof(buf));
		assert_int_equal(blo_console_text_width(buf), w);
		for (size_t i = 0; i < blo_console_count(f->console); i++) {
			blo_console_view_row(f->console, i, w, buf, sizeof(buf));
			assert_int_equal(blo_console_text_width(buf), w);
		}
	}
	blo_console_view_row(f->console, 0, 120, buf, sizeof(buf));
	assert_int_equal(buf[0], '*');   /* unread */
	assert_non_null(strstr(buf, "SEVR"));
	assert_non_null(strstr(buf, "AMBER"));
	assert_non_null(strstr(buf, "DRUGS"));
	assert_non_null(strstr(buf, "TH-MAESAI"));
	assert_non_null(strstr(buf, "ACK ACTING 3m 20s"));
	/* The TLP cell is where front ends colour it. */
	assert_memory_equal(buf + BLO_CONSOLE_VIEW_TLP_COL, "AMBER", BLO_CONSOLE_VIEW_TLP_CELLS);
	blo_console_view_row(f->console, 3, 120, buf, sizeof(buf));
	assert_int_equal(buf[1], '!');   /* not verified */
	assert_non_null(strstr(buf, "RFI: Who owns the pickup?"));
}

static bool lines_have(char **lines, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(lines[i], what) != NULL)
			return true;
	return false;
}

static void test_detail_shows_marking_origin_subjects_commodities_and_replies(void **state)
{
	fixture_t *f = *state;
	char **lines = NULL;
	size_t n = 0;

	E(blo_console_view_detail(f->console, 0, 80, &lines, &n, NULL));
	assert_true(lines_have(lines, n, "TLP:AMBER: share on a need-to-know basis"));
	assert_true(lines_have(lines, n, "Releasable to: TH only"));
	assert_true(lines_have(lines, n, "From: th-customs-maesai, CUSTOMS"));
	assert_true(lines_have(lines, n, "\xe0\xb8\xa2\xe0\xb8\xb2\xe0\xb8\x9a\xe0\xb9\x89\xe0\xb8\xb2"));
	assert_true(lines_have(lines, n, "PERSON: \xe1\x80\xa1\xe1\x80\xb1\xe1\x80\xac\xe1\x80\x84\xe1\x80\xba"));
	assert_true(lines_have(lines, n, "passport MA123456"));
	assert_true(lines_have(lines, n, "DRUG: methamphetamine tablets, 200000 TABLET"));
	assert_true(lines_have(lines, n, "Signature: verified, signed by th-customs-maesai"));
	assert_true(lines_have(lines, n, "ACK ACTING from th-console-chiangkhong (TH-CHIANGKHONG)"));
	assert_true(lines_have(lines, n, "after 3m 20s"));
	assert_true(lines_have(lines, n, "on our way"));
	for (size_t i = 0; i < n; i++) {
		assert_null(strchr(lines[i], '\x1b'));
		assert_true(blo_console_text_width(lines[i]) <= 80);
	}
	blo_console_text_lines_free(&lines, n);
	E(blo_console_view_detail(f->console, 3, 80, &lines, &n, NULL));
	assert_true(lines_have(lines, n, "Signature: NOT VERIFIED (signature not verified: test)"));
	assert_true(lines_have(lines, n, "TLP:AMBER+STRICT"));
	assert_true(lines_have(lines, n, "Addressed to: TH-MAESAI"));
	blo_console_text_lines_free(&lines, n);
}

static void test_received_event_json_names_the_alert_it_answers(void **state)
{
	fixture_t *f = *state;
	blo_console_event_t ev = {.kind = BLO_CONSOLE_EV_RECEIVED, .item = 2};
	char *text = blo_console_view_event(f->console, &ev, true);
	cJSON *o = cJSON_Parse(text), *r;
	char hex[2 * BLO_ID_BYTES + 1];

	assert_non_null(o);
	assert_string_equal(cJSON_GetObjectItem(o, "event")->valuestring, "received");
	assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "ACK");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "verified")));
	r = cJSON_GetObjectItem(o, "in_reply_to");
	assert_non_null(r);
	blo_hex_encode(hex, sizeof(hex), f->alert_id, BLO_ID_BYTES);
	assert_string_equal(cJSON_GetObjectItem(r, "id")->valuestring, hex);
	assert_int_equal((int64_t)cJSON_GetObjectItem(r, "took_ms")->valuedouble, 200000);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "alert"), "ack_status")->valuestring,
			    "ACTING");
	cJSON_Delete(o);
	free(text);
	ev.item = 0;
	text = blo_console_view_event(f->console, &ev, false);
	assert_non_null(strstr(text, "#1 NEW ALERT SEVERE DRUGS TLP:AMBER TH-MAESAI"));
	assert_non_null(strstr(text, " | PERSON \xe1\x80\xa1"));
	assert_non_null(strstr(text, " | 200000 TABLET methamphetamine tablets"));
	assert_null(strchr(text, '\n'));
	free(text);
}

static char *run(fixture_t *f, const char *line, bool json)
{
	bool quit = false;
	char *out = blo_console_cmd_run(f->console, line, json, 100, &quit);

	assert_non_null(out);
	return out;
}

static void test_commands_list_and_show_in_json_and_text(void **state)
{
	fixture_t *f = *state;
	char *out;
	cJSON *o;

	out = run(f, "list category=drugs", true);
	o = cJSON_Parse(out);
	assert_non_null(o);
	assert_int_equal(cJSON_GetObjectItem(o, "count")->valueint, 2); /* the alert and the RFI */
	cJSON_Delete(o);
	free(out);
	out = run(f, "{\"cmd\":\"list\",\"unread\":true,\"severity\":\"severe\"}", true);
	o = cJSON_Parse(out);
	assert_int_equal(cJSON_GetObjectItem(o, "count")->valueint, 1);
	cJSON_Delete(o);
	free(out);
	out = run(f, "show #1", false);
	assert_non_null(strstr(out, "Commodities (1):"));
	free(out);
	assert_true(blo_console_item(f->console, 0)->flags & BLO_CONSOLE_READ);
	out = run(f, "{\"cmd\":\"show\",\"id\":\"#2\"}", true);
	o = cJSON_Parse(out);
	assert_string_equal(cJSON_GetObjectItem(o, "event")->valuestring, "show");
	assert_non_null(cJSON_GetObjectItem(o, "alert"));
	cJSON_Delete(o);
	free(out);
	out = run(f, "list", false);
	assert_non_null(strstr(out, "#4 "));
	assert_non_null(strstr(out, "3 shown"));
	free(out);
}

static void test_commands_report_errors_without_stopping(void **state)
{
	fixture_t *f = *state;
	bool quit = false;
	char *out;

	out = run(f, "ack #1 acting", true);
	assert_non_null(strstr(out, "\"ok\":false"));
	assert_non_null(strstr(out, "offline"));
	free(out);
	out = run(f, "frobnicate", true);
	assert_non_null(strstr(out, "unknown command"));
	free(out);
	out = run(f, "{not json", true);
	assert_non_null(strstr(out, "not a JSON object"));
	free(out);
	out = run(f, "show #77", false);
	assert_non_null(strstr(out, "no message #77"));
	free(out);
	out = run(f, "list category=nonsense", false);
	assert_non_null(strstr(out, "unknown category"));
	free(out);
	out = blo_console_cmd_run(f->console, "quit", true, 0, &quit);
	assert_true(quit);
	free(out);
}

static void test_actions_are_refused_offline(void **state)
{
	fixture_t *f = *state;
	blo_console_outgoing_t m = {.type = BLONET__MESSAGE_TYPE__RFI, .to_site = "TH-CHIANGKHONG",
				    .headline = "x"};
	blo_err_t err = {0};

	assert_int_equal(blo_console_ack(f->console, 0, BLONET__ACK_STATUS__RECEIVED, NULL, NULL, &err),
			 BLO_EPERM);
	assert_int_equal(blo_console_respond(f->console, 3, "y", NULL, &err), BLO_EPERM);
	assert_int_equal(blo_console_send(f->console, &m, NULL, &err), BLO_EPERM);
}

static void test_registry_sites_and_crossings(void **state)
{
	fixture_t *f = *state;
	size_t n;
	const char *const *sites = blo_console_sites(f->console, &n);
	const char *const *cross;

	assert_int_equal(n, 1);
	assert_string_equal(sites[0], "TH-CHIANGKHONG");
	assert_string_equal(blo_console_site_country(f->console, "TH-CHIANGKHONG"), "TH");
	assert_null(blo_console_site_country(f->console, "XX-NOWHERE"));
	cross = blo_console_crossings(f->console, &n);
	assert_int_equal(n, 2);
	assert_string_equal(cross[0], "TH-CHIANGKHONG");
	assert_string_equal(cross[1], "TH-MAESAI");
	assert_string_equal(blo_console_me(f->console)->site, "TH-MAESAI");
}

static void test_enum_names_are_read_loosely(void **state)
{
	(void)state;
	assert_int_equal(blo_console_cmd_enum(&blonet__tlp__descriptor, "TLP_", "amber+strict"),
			 BLONET__TLP__TLP_AMBER_STRICT);
	assert_int_equal(blo_console_cmd_enum(&blonet__tlp__descriptor, "TLP_", "TLP_RED"), BLONET__TLP__TLP_RED);
	assert_int_equal(blo_console_cmd_enum(&blonet__category__descriptor, "CATEGORY_", "other"),
			 BLONET__CATEGORY__CATEGORY_OTHER);
	assert_int_equal(blo_console_cmd_enum(&blonet__category__descriptor, "CATEGORY_", "Drugs"),
			 BLONET__CATEGORY__DRUGS);
	assert_int_equal(blo_console_cmd_enum(&blonet__ack_status__descriptor, "ACK_", "acting"),
			 BLONET__ACK_STATUS__ACTING);
	assert_int_equal(blo_console_cmd_enum(&blonet__tlp__descriptor, "TLP_", "purple"), -1);
}

static void test_a_console_config_of_another_role_is_refused(void **state)
{
	fixture_t *f = *state;
	char *config = strdup(f->config), *slash, *other = NULL;
	blo_console_opts_t o = {.offline = true};
	blo_console_t *c = NULL;
	blo_err_t err = {0};

	/* .../d/th-console-maesai/config.json -> .../d/th-committee/config.json */
	slash = strstr(config, "th-console-maesai");
	assert_non_null(slash);
	*slash = '\0';
	assert_true(asprintf(&other, "%sth-committee/config.json", config) > 0);
	o.config = other;
	assert_int_equal(blo_console_open(&c, &o, &err), BLO_EPERM);
	assert_non_null(strstr(err.msg, "not a console"));
	assert_null(c);
	free(other);
	free(config);
}

/* The console store of the fixture, while the console is closed. */
static char *store_dir_of(const fixture_t *f)
{
	char *config = strdup(f->config), *slash, *dir = NULL;

	slash = strrchr(config, '/');
	assert_non_null(slash);
	*slash = '\0';
	assert_true(asprintf(&dir, "%s/data/console", config) > 0);
	free(config);
	return dir;
}

typedef struct {
	int pruned_events;
	size_t pruned;
	int64_t before_ms;
} listener_t;

static void on_event(blo_console_t *c, const blo_console_event_t *ev, void *arg)
{
	listener_t *l = arg;

	(void)c;
	if (ev->kind == BLO_CONSOLE_EV_PRUNED) {
		l->pruned_events++;
		l->pruned = ev->pruned;
		l->before_ms = ev->before_ms;
	}
}

static void test_pruning_keeps_a_conversation_while_its_newest_message_is_young(void **state)
{
	fixture_t *f = *state;
	listener_t l = {0};
	uint8_t wildlife[BLO_ID_BYTES];
	blo_console_state_t st;
	size_t pruned = 99;
	long alert;

	memcpy(wildlife, blo_console_item(f->console, 1)->id, BLO_ID_BYTES);
	blo_console_set_listener(f->console, on_event, &l);
	/* Received at +1 s (alert), +61 s (wildlife), +201 s (its ACK), +301 s
	 * (RFI): at +100 s only the wildlife alert is old; the alert's
	 * conversation has a young ACK. */
	E(blo_console_prune(f->console, T0 + 100000, 0, &pruned, NULL));
	assert_int_equal(pruned, 1);
	assert_int_equal(l.pruned_events, 1);
	assert_int_equal(l.pruned, 1);
	assert_int_equal(l.before_ms, T0 + 100000);
	assert_int_equal(blo_console_count(f->console), 3);
	assert_int_equal(blo_console_find_id(f->console, wildlife), -1);
	alert = blo_console_find_id(f->console, f->alert_id);
	assert_true(alert >= 0);
	blo_console_state(f->console, (size_t)alert, &st);
	assert_int_equal(st.acks, 1);
	assert_int_equal(blo_console_item(f->console, 2)->local_seq, 4); /* numbers stay */
	/* At +250 s the alert and its ACK go together. */
	E(blo_console_prune(f->console, T0 + 250000, 0, &pruned, NULL));
	assert_int_equal(pruned, 2);
	assert_int_equal(blo_console_count(f->console), 1);
	assert_int_equal(blo_console_item(f->console, 0)->type, BLONET__MESSAGE_TYPE__RFI);
	/* Nothing old enough: nothing happens, no event. */
	E(blo_console_prune(f->console, T0 + 250000, 0, &pruned, NULL));
	assert_int_equal(pruned, 0);
	assert_int_equal(l.pruned_events, 2);
	blo_console_set_listener(f->console, NULL, NULL);
}

static void test_a_pruned_message_delivered_again_is_not_shown_again(void **state)
{
	fixture_t *f = *state;
	char *dir = store_dir_of(f);
	blo_console_store_t *store = NULL;
	blo_console_record_t rec;
	uint8_t wildlife[BLO_ID_BYTES];
	uint64_t cursor = 0;
	bool stored = true;

	memcpy(wildlife, blo_console_item(f->console, 1)->id, BLO_ID_BYTES);
	/* A front end has shown everything: its cursor is at #4. */
	E(blo_console_cursor_set(f->console, "json", 4, NULL));
	blo_console_close(&f->console);
	E(blo_console_store_open(&store, dir, NULL));
	E(blo_console_store_get(store, wildlife, &rec, NULL));
	blo_console_store_close(&store);
	open_console(f);
	E(blo_console_prune(f->console, T0 + 100000, 0, NULL, NULL));
	blo_console_close(&f->console);

	/* The broker delivers it again (a replay, a second mesh path). */
	E(blo_console_store_open(&store, dir, NULL));
	rec.broker_seq = 77;
	rec.received_ms = T0 + 900000;
	E(blo_console_store_put(store, &rec, 1, &stored, NULL));
	assert_false(stored);
	blo_console_store_close(&store);
	blo_console_record_clear(&rec);

	open_console(f);
	assert_int_equal(blo_console_count(f->console), 3);
	assert_int_equal(blo_console_find_id(f->console, wildlife), -1);
	/* Nothing past the front end's cursor: nothing to show again. */
	E(blo_console_cursor_get(f->console, "json", &cursor));
	for (size_t i = 0; i < blo_console_count(f->console); i++)
		assert_true(blo_console_item(f->console, i)->local_seq <= cursor);
	free(dir);
}

static void test_pruning_keeps_what_the_broker_has_not_answered(void **state)
{
	fixture_t *f = *state;
	char *dir = store_dir_of(f);
	blo_console_store_t *store = NULL;
	blo_console_record_t rec;
	uint8_t mine[BLO_ID_BYTES];
	size_t pruned = 0;

	blo_console_close(&f->console);
	make_record(f->chiangkhong, "TH", "TH-MAESAI", BLONET__AGENCY_KIND__COORDINATION, RFI_JSON, NULL,
		    0, &rec, mine);
	rec.flags = BLO_CONSOLE_MINE | BLO_CONSOLE_READ | BLO_CONSOLE_VERIFIED;
	rec.pub = BLO_CONSOLE_PUB_PENDING;
	rec.broker_seq = 0;
	E(blo_console_store_open(&store, dir, NULL));
	E(blo_console_store_put(store, &rec, 1, NULL, NULL));
	blo_console_store_close(&store);
	free(rec.envelope);
	open_console(f);
	E(blo_console_prune(f->console, T0 + 10 * 86400000LL, 0, &pruned, NULL));
	assert_int_equal(pruned, 4);
	assert_int_equal(blo_console_count(f->console), 1);
	assert_memory_equal(blo_console_item(f->console, 0)->id, mine, BLO_ID_BYTES);
	free(dir);
}

static void test_forgotten_ids_can_be_stored_again(void **state)
{
	fixture_t *f = *state;
	char *dir = store_dir_of(f);
	blo_console_store_t *store = NULL;
	uint64_t messages = 0, remembered = 0;

	/* Everything pruned; the memory of ids received before +100 s goes. */
	E(blo_console_prune(f->console, T0 + 10 * 86400000LL, T0 + 100000, NULL, NULL));
	assert_int_equal(blo_console_count(f->console), 0);
	blo_console_close(&f->console);
	E(blo_console_store_open(&store, dir, NULL));
	E(blo_console_store_counts(store, &messages, &remembered));
	assert_int_equal(messages, 0);
	assert_int_equal(remembered, 2); /* the ACK and the RFI, received later */
	blo_console_store_close(&store);
	open_console(f);
	free(dir);
}

static void test_the_pruned_event_in_json_and_text(void **state)
{
	fixture_t *f = *state;
	blo_console_event_t ev = {.kind = BLO_CONSOLE_EV_PRUNED, .pruned = 12, .before_ms = T0};
	char *json = blo_console_view_event(f->console, &ev, true);
	char *text = blo_console_view_event(f->console, &ev, false);

	assert_non_null(json);
	assert_string_equal(json, "{\"event\":\"pruned\",\"count\":12,\"before_ms\":1795860000000}");
	assert_non_null(text);
	assert_non_null(strstr(text, "pruned 12 old messages"));
	free(json);
	free(text);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_stored_messages_load_once_in_arrival_order),
		T(test_an_ack_is_linked_to_its_alert_with_the_time_taken),
		T(test_views_are_newest_first_and_leave_acks_out),
		T(test_filters_narrow_by_category_severity_crossing_and_unread),
		T(test_read_marks_persist_across_a_restart),
		T(test_find_by_number_and_by_id_prefix),
		T(test_rows_fill_exactly_the_width_in_any_script),
		T(test_detail_shows_marking_origin_subjects_commodities_and_replies),
		T(test_received_event_json_names_the_alert_it_answers),
		T(test_commands_list_and_show_in_json_and_text),
		T(test_commands_report_errors_without_stopping),
		T(test_actions_are_refused_offline),
		T(test_registry_sites_and_crossings),
		cmocka_unit_test(test_enum_names_are_read_loosely),
		T(test_a_console_config_of_another_role_is_refused),
		T(test_pruning_keeps_a_conversation_while_its_newest_message_is_young),
		T(test_a_pruned_message_delivered_again_is_not_shown_again),
		T(test_pruning_keeps_what_the_broker_has_not_answered),
		T(test_forgotten_ids_can_be_stored_again),
		T(test_the_pruned_event_in_json_and_text),
	};

	return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
