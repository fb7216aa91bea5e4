/*
 * Unit tests for blo_config: a broker-like schema read from text and from
 * files, every error kind checked for the file, key path and expectation it
 * names. Run under ASan, the free tests also prove nothing leaks.
 */
#include "blo_test.h"

#include <errno.h>
#include <stdbool.h>

typedef struct {
	int64_t days;
	int64_t max_alerts;
} retention_cfg_t;

typedef struct {
	int64_t map_size;
	retention_cfg_t retention;
} journal_cfg_t;

typedef struct {
	char *id;
	char *endpoint;
	bool trusted;
} peer_cfg_t;

typedef struct {
	char *identity;
	char *registry;
	char *authority_key;
	blo_strlist_t listen;
	char *data_dir;
	journal_cfg_t journal;
	int log_level;
	blo_objlist_t peers;
	bool require_signatures;
	double heartbeat_s;
	int64_t max_peers;
	char *banner;
} broker_cfg_t;

static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };

static const blo_cfg_field_t retention_fields[] = {
	{ .key = "days", .type = BLO_CFG_INT, .offset = offsetof(retention_cfg_t, days),
	  .min = 1, .max = 3650 },
	{ .key = "max_alerts", .type = BLO_CFG_INT,
	  .offset = offsetof(retention_cfg_t, max_alerts), .min = 1, .max = 100000000 },
	{ .key = NULL }
};

static const blo_cfg_field_t journal_fields[] = {
	{ .key = "map_size", .type = BLO_CFG_INT, .offset = offsetof(journal_cfg_t, map_size),
	  .min = 1048576, .max = 1099511627776 },
	{ .key = "retention", .type = BLO_CFG_OBJECT,
	  .offset = offsetof(journal_cfg_t, retention), .fields = retention_fields },
	{ .key = NULL }
};

static const blo_cfg_field_t peer_fields[] = {
	{ .key = "id", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(peer_cfg_t, id), .expect = "the peer's principal id" },
	{ .key = "endpoint", .type = BLO_CFG_STRING, .required = true,
	  .offset = offsetof(peer_cfg_t, endpoint) },
	{ .key = "trusted", .type = BLO_CFG_BOOL, .offset = offsetof(peer_cfg_t, trusted) },
	{ .key = NULL }
};

static const blo_cfg_field_t broker_schema[] = {
	{ .key = "identity", .type = BLO_CFG_PATH, .required = true,
	  .offset = offsetof(broker_cfg_t, identity),
	  .expect = "path of the identity secret file" },
	{ .key = "registry", .type = BLO_CFG_PATH, .offset = offsetof(broker_cfg_t, registry) },
	{ .key = "authority_key", .type = BLO_CFG_STRING,
	  .offset = offsetof(broker_cfg_t, authority_key) },
	{ .key = "listen", .type = BLO_CFG_STRINGS, .offset = offsetof(broker_cfg_t, listen) },
	{ .key = "data_dir", .type = BLO_CFG_PATH, .offset = offsetof(broker_cfg_t, data_dir) },
	{ .key = "journal", .type = BLO_CFG_OBJECT, .offset = offsetof(broker_cfg_t, journal),
	  .fields = journal_fields },
	{ .key = "log_level", .type = BLO_CFG_ENUM, .offset = offsetof(broker_cfg_t, log_level),
	  .choices = log_levels },
	{ .key = "peers", .type = BLO_CFG_OBJECTS, .offset = offsetof(broker_cfg_t, peers),
	  .fields = peer_fields, .elem_size = sizeof(peer_cfg_t) },
	{ .key = "require_signatures", .type = BLO_CFG_BOOL,
	  .offset = offsetof(broker_cfg_t, require_signatures) },
	{ .key = "heartbeat_s", .type = BLO_CFG_DOUBLE,
	  .offset = offsetof(broker_cfg_t, heartbeat_s), .dmin = 0.1, .dmax = 3600 },
	{ .key = "max_peers", .type = BLO_CFG_INT, .offset = offsetof(broker_cfg_t, max_peers) },
	{ .key = "banner", .type = BLO_CFG_STRING, .offset = offsetof(broker_cfg_t, banner) },
	{ .key = NULL }
};

/* The caller's defaults, as a broker would set them before loading. */
static broker_cfg_t broker_defaults(void)
{
	broker_cfg_t cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.journal.map_size = 1 << 30;
	cfg.journal.retention.days = 30;
	cfg.log_level = 1;
	cfg.heartbeat_s = 5.0;
	cfg.max_peers = 64;
	return cfg;
}

static int parse_text(const char *json, broker_cfg_t *cfg, blo_err_t *err)
{
	return blo_config_parse("broker.json", "/etc/blonet", json, strlen(json), broker_schema,
				cfg, err);
}

/* Parses json expecting BLO_ECONFIG and a message that starts with the file
 * name and contains each of the NULL-terminated needles. */
static void expect_error_(const char *file, int line, const char *json, ...)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;
	const char *needle;
	va_list ap;
	int rc;

	rc = parse_text(json, &cfg, &err);
	blo_config_free(broker_schema, &cfg);
	if (rc != BLO_ECONFIG)
		fail_msg("%s:%d: rc %d (%s), message: %s", file, line, rc, blo_strerror(rc),
			 rc != 0 ? err.msg : "");
	if (err.code != BLO_ECONFIG || strncmp(err.msg, "broker.json: ", 13) != 0)
		fail_msg("%s:%d: message does not name the file: %s", file, line, err.msg);
	va_start(ap, json);
	while ((needle = va_arg(ap, const char *)) != NULL) {
		if (strstr(err.msg, needle) == NULL) {
			va_end(ap);
			fail_msg("%s:%d: message lacks [%s]: %s", file, line, needle, err.msg);
		}
	}
	va_end(ap);
}

#define expect_error(json, ...) expect_error_(__FILE__, __LINE__, json, __VA_ARGS__, NULL)

static char *write_text(const char *dir, const char *name, const char *text)
{
	char *path = NULL;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		fail_msg("asprintf failed");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char full_config[] =
	"{\n"
	"  \"identity\": \"keys/broker.sec\",\n"
	"  \"registry\": \"/var/lib/blonet/registry.bin\",\n"
	"  \"authority_key\": \"9f86d081884c7d659a2feaa0c55ad015\",\n"
	"  \"listen\": [\"tcp://*:5555\", \"ipc:///run/blonet.sock\"],\n"
	"  \"data_dir\": \"data\",\n"
	"  \"journal\": {\"map_size\": 2147483648, \"retention\": {\"days\": 90, \"max_alerts\": 5000}},\n"
	"  \"log_level\": \"warn\",\n"
	"  \"peers\": [\n"
	"    {\"id\": \"office-a\", \"endpoint\": \"tcp://10.0.0.1:5555\", \"trusted\": true},\n"
	"    {\"id\": \"office-b\", \"endpoint\": \"tcp://10.0.0.2:5555\"}\n"
	"  ],\n"
	"  \"require_signatures\": true,\n"
	"  \"heartbeat_s\": 2.5,\n"
	"  \"max_peers\": -7,\n"
	"  \"banner\": \"Grenzverbindungsbüro\"\n"
	"}\n";

static void test_full_valid_config_fills_every_type(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;
	peer_cfg_t *peers;

	(void)state;
	E(parse_text(full_config, &cfg, &err));
	assert_int_equal(err.code, 0);
	assert_string_equal(cfg.identity, "/etc/blonet/keys/broker.sec");
	assert_string_equal(cfg.registry, "/var/lib/blonet/registry.bin");
	assert_string_equal(cfg.authority_key, "9f86d081884c7d659a2feaa0c55ad015");
	assert_int_equal(cfg.listen.n, 2);
	assert_string_equal(cfg.listen.v[0], "tcp://*:5555");
	assert_string_equal(cfg.listen.v[1], "ipc:///run/blonet.sock");
	assert_string_equal(cfg.data_dir, "/etc/blonet/data");
	assert_int_equal(cfg.journal.map_size, 2147483648);
	assert_int_equal(cfg.journal.retention.days, 90);
	assert_int_equal(cfg.journal.retention.max_alerts, 5000);
	assert_int_equal(cfg.log_level, 2);
	assert_int_equal(cfg.peers.n, 2);
	peers = cfg.peers.v;
	assert_string_equal(peers[0].id, "office-a");
	assert_string_equal(peers[0].endpoint, "tcp://10.0.0.1:5555");
	assert_true(peers[0].trusted);
	assert_string_equal(peers[1].id, "office-b");
	assert_false(peers[1].trusted);
	assert_true(cfg.require_signatures);
	assert_true(cfg.heartbeat_s == 2.5);
	assert_int_equal(cfg.max_peers, -7);
	assert_string_equal(cfg.banner, "Grenzverbindungsbüro");
	blo_config_free(broker_schema, &cfg);
}

static void test_absent_keys_keep_caller_defaults(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	E(parse_text("{\"identity\": \"id.sec\", \"journal\": {\"retention\": {\"max_alerts\": 9}}}",
		     &cfg, &err));
	assert_int_equal(cfg.journal.map_size, 1 << 30);
	assert_int_equal(cfg.journal.retention.days, 30);
	assert_int_equal(cfg.journal.retention.max_alerts, 9);
	assert_int_equal(cfg.log_level, 1);
	assert_true(cfg.heartbeat_s == 5.0);
	assert_int_equal(cfg.max_peers, 64);
	assert_null(cfg.registry);
	assert_int_equal(cfg.listen.n, 0);
	assert_int_equal(cfg.peers.n, 0);
	blo_config_free(broker_schema, &cfg);
}

static void test_present_values_replace_and_free_malloced_defaults(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	cfg.identity = strdup("default.sec");
	cfg.authority_key = strdup("default-key");
	cfg.listen.v = calloc(1, sizeof(char *));
	assert_non_null(cfg.listen.v);
	cfg.listen.v[0] = strdup("tcp://*:1");
	cfg.listen.n = 1;
	E(parse_text("{\"identity\": \"/k/id.sec\", \"authority_key\": \"new\","
		     " \"listen\": [\"tcp://*:2\", \"tcp://*:3\"]}",
		     &cfg, &err));
	assert_string_equal(cfg.identity, "/k/id.sec");
	assert_string_equal(cfg.authority_key, "new");
	assert_int_equal(cfg.listen.n, 2);
	assert_string_equal(cfg.listen.v[1], "tcp://*:3");
	/* ASan's leak checker proves the defaults were freed. */
	blo_config_free(broker_schema, &cfg);
}

static void test_invalid_json_names_file_and_line(void **state)
{
	(void)state;
	expect_error("{\n  \"identity\": \"id.sec\",\n  \"listen\" [\"tcp://*:5555\"]\n}\n",
		     "broker.json: line 3: invalid JSON near ");
}

static void test_truncated_json_says_unexpected_end_of_file(void **state)
{
	(void)state;
	expect_error("{\n  \"identity\": \"id.sec\",\n", "line 3: invalid JSON",
		     "unexpected end of file");
}

static void test_text_after_the_object_is_an_error(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"id.sec\"}\n}\n", "line 2: text after the JSON value near \"}\"");
}

static void test_empty_text_is_an_error(void **state)
{
	(void)state;
	expect_error(" \n\t\n", "broker.json: empty: expected a JSON object");
	expect_error("", "broker.json: empty");
}

static void test_top_level_must_be_an_object(void **state)
{
	(void)state;
	expect_error("[{\"identity\": \"id.sec\"}]",
		     "expected a JSON object at the top level, got a list");
	expect_error("\"identity\"", "expected a JSON object at the top level, got \"identity\"");
	expect_error("42", "at the top level, got 42");
}

static void test_unknown_top_level_key_lists_known_keys(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"id.sec\", \"lisen\": [\"tcp://*:5555\"]}",
		     "broker.json: unknown key \"lisen\" (known: identity, registry, "
		     "authority_key, listen, data_dir, journal, log_level, peers, "
		     "require_signatures, heartbeat_s, max_peers, banner)");
}

static void test_unknown_nested_key_names_its_path(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"journal\": {\"retention\": {\"dayz\": 3}}}",
		     "unknown key \"journal.retention.dayz\" (known: days, max_alerts)");
	expect_error("{\"identity\": \"i\", \"peers\": [{\"id\": \"a\", \"endpoint\": \"e\"},"
		     " {\"id\": \"b\", \"endpont\": \"e\"}]}",
		     "unknown key \"peers[1].endpont\" (known: id, endpoint, trusted)");
}

static void test_duplicate_key_is_an_error(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"a\", \"log_level\": \"info\", \"identity\": \"b\"}",
		     "broker.json: duplicate key \"identity\"");
	expect_error("{\"identity\": \"a\", \"journal\": {\"map_size\": 1048576,"
		     " \"map_size\": 2097152}}",
		     "duplicate key \"journal.map_size\"");
}

static void test_missing_required_key_names_it_and_what_it_is(void **state)
{
	(void)state;
	expect_error("{\"log_level\": \"info\"}",
		     "broker.json: missing required key \"identity\" "
		     "(path of the identity secret file)");
}

static void test_missing_required_key_in_list_element_names_its_index(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"peers\": [{\"id\": \"a\", \"endpoint\": \"e\"},"
		     " {\"id\": \"b\"}]}",
		     "missing required key \"peers[1].endpoint\" (a string)");
}

static void test_string_in_list_element_rejects_a_number(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"peers\": [{\"id\": \"a\", \"endpoint\": \"e\"},"
		     " {\"id\": \"b\", \"endpoint\": \"e\"}, {\"id\": \"c\", \"endpoint\": 5555}]}",
		     "broker.json: key \"peers[2].endpoint\": expected a string, got a number");
}

static void test_string_rejects_non_string(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"authority_key\": [\"ab\"]}",
		     "key \"authority_key\": expected a string, got a list");
}

static void test_path_rejects_non_string_with_expect_text(void **state)
{
	(void)state;
	expect_error("{\"identity\": true}",
		     "key \"identity\": expected path of the identity secret file, got true");
}

static void test_path_rejects_empty_string(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"data_dir\": \"\"}",
		     "key \"data_dir\": expected a path, got \"\"");
}

static void test_empty_string_is_allowed(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	E(parse_text("{\"identity\": \"i\", \"banner\": \"\"}", &cfg, &err));
	assert_string_equal(cfg.banner, "");
	blo_config_free(broker_schema, &cfg);
}

static void test_int_rejects_string_naming_range(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"journal\": {\"map_size\": \"big\"}}",
		     "broker.json: key \"journal.map_size\": expected an integer from 1048576 "
		     "to 1099511627776, got \"big\"");
}

static void test_int_rejects_fraction(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"journal\": {\"map_size\": 1048576.5}}",
		     "key \"journal.map_size\": expected an integer", "got 1048576.5");
}

static void test_int_accepts_integral_exponent(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	E(parse_text("{\"identity\": \"i\", \"journal\": {\"map_size\": 2e6}}", &cfg, &err));
	assert_int_equal(cfg.journal.map_size, 2000000);
	blo_config_free(broker_schema, &cfg);
}

static void test_int_out_of_range_is_rejected(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"journal\": {\"map_size\": 1024}}",
		     "key \"journal.map_size\": expected an integer from 1048576 to "
		     "1099511627776, got 1024");
	expect_error("{\"identity\": \"i\", \"journal\": {\"map_size\": 1099511627777}}",
		     "got 1099511627777");
	expect_error("{\"identity\": \"i\", \"journal\": {\"retention\": {\"days\": 0}}}",
		     "key \"journal.retention.days\": expected an integer from 1 to 3650, got 0");
}

static void test_int_beyond_2_pow_53_is_rejected(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	/* 2^53 + 1 reads as the double 2^53: exactness is gone, so refuse. */
	expect_error("{\"identity\": \"i\", \"max_peers\": 9007199254740993}",
		     "key \"max_peers\": expected an integer from -9007199254740991 to "
		     "9007199254740991, got 9007199254740992");
	expect_error("{\"identity\": \"i\", \"max_peers\": -1e300}", "got -1e+300");
	E(parse_text("{\"identity\": \"i\", \"max_peers\": -9007199254740991}", &cfg, &err));
	assert_int_equal(cfg.max_peers, -9007199254740991);
	blo_config_free(broker_schema, &cfg);
}

static void test_bool_rejects_string(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"require_signatures\": \"yes\"}",
		     "key \"require_signatures\": expected true or false, got \"yes\"");
	expect_error("{\"identity\": \"i\", \"require_signatures\": 1}",
		     "expected true or false, got a number");
}

static void test_double_rejects_string(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"heartbeat_s\": \"fast\"}",
		     "key \"heartbeat_s\": expected a number from 0.1 to 3600, got \"fast\"");
}

static void test_double_out_of_range_is_rejected(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"heartbeat_s\": 0.01}",
		     "key \"heartbeat_s\": expected a number from 0.1 to 3600, got 0.01");
	expect_error("{\"identity\": \"i\", \"heartbeat_s\": 1e400}",
		     "got a number beyond the range of a double");
}

static void test_enum_stores_index_of_choice(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	E(parse_text("{\"identity\": \"i\", \"log_level\": \"error\"}", &cfg, &err));
	assert_int_equal(cfg.log_level, 3);
	E(parse_text("{\"identity\": \"i\", \"log_level\": \"debug\"}", &cfg, &err));
	assert_int_equal(cfg.log_level, 0);
	blo_config_free(broker_schema, &cfg);
}

static void test_enum_bad_value_lists_choices(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"log_level\": \"verbose\"}",
		     "key \"log_level\": expected \"debug\", \"info\", \"warn\" or \"error\", "
		     "got \"verbose\"");
	expect_error("{\"identity\": \"i\", \"log_level\": \"INFO\"}", "got \"INFO\"");
	expect_error("{\"identity\": \"i\", \"log_level\": 2}",
		     "\"warn\" or \"error\", got a number");
}

static void test_strings_rejects_non_list(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"listen\": \"tcp://*:5555\"}",
		     "key \"listen\": expected a list of strings, got \"tcp://*:5555\"");
}

static void test_strings_rejects_non_string_element(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"listen\": [\"tcp://*:5555\", 5556]}",
		     "key \"listen[1]\": expected a string, got a number");
}

static void test_object_rejects_list(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"journal\": []}",
		     "key \"journal\": expected an object, got a list");
}

static void test_objects_rejects_object(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"peers\": {\"id\": \"a\"}}",
		     "key \"peers\": expected a list of objects, got an object");
}

static void test_objects_rejects_non_object_element(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"peers\": [{\"id\": \"a\", \"endpoint\": \"e\"}, \"b\"]}",
		     "key \"peers[1]\": expected an object, got \"b\"");
}

static void test_null_is_not_a_value(void **state)
{
	(void)state;
	expect_error("{\"identity\": null}", "key \"identity\": expected", "got null");
	expect_error("{\"identity\": \"i\", \"journal\": {\"map_size\": null}}",
		     "key \"journal.map_size\"", "got null");
}

static void test_relative_path_resolved_against_file_folder(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	char *dir = blo_test_mkdtemp();
	char *path;
	char *want = NULL;
	blo_err_t err;

	(void)state;
	path = write_text(dir, "broker.json",
			  "{\"identity\": \"keys/broker.sec\", \"data_dir\": \"../data\","
			  " \"registry\": \"/var/lib/blonet/registry.bin\"}");
	E(blo_config_load(path, broker_schema, &cfg, &err));
	assert_true(asprintf(&want, "%s/keys/broker.sec", dir) > 0);
	assert_string_equal(cfg.identity, want);
	free(want);
	assert_true(asprintf(&want, "%s/../data", dir) > 0);
	assert_string_equal(cfg.data_dir, want);
	free(want);
	assert_string_equal(cfg.registry, "/var/lib/blonet/registry.bin");
	blo_config_free(broker_schema, &cfg);
	free(path);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_parse_without_base_dir_resolves_against_current_folder(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	const char *json = "{\"identity\": \"id.sec\"}";
	blo_err_t err;

	(void)state;
	E(blo_config_parse("broker.json", NULL, json, strlen(json), broker_schema, &cfg, &err));
	assert_string_equal(cfg.identity, "./id.sec");
	E(blo_config_parse("broker.json", "/etc/", json, strlen(json), broker_schema, &cfg, &err));
	assert_string_equal(cfg.identity, "/etc/id.sec");
	blo_config_free(broker_schema, &cfg);
}

static void test_object_list_elements_are_filled(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;
	peer_cfg_t *peers;

	(void)state;
	E(parse_text("{\"identity\": \"i\", \"peers\": ["
		     "{\"id\": \"a\", \"endpoint\": \"tcp://a:1\", \"trusted\": true},"
		     "{\"endpoint\": \"tcp://b:2\", \"id\": \"b\"},"
		     "{\"id\": \"c\", \"endpoint\": \"tcp://c:3\", \"trusted\": false}]}",
		     &cfg, &err));
	assert_int_equal(cfg.peers.n, 3);
	peers = cfg.peers.v;
	assert_string_equal(peers[0].id, "a");
	assert_true(peers[0].trusted);
	assert_string_equal(peers[1].id, "b");
	assert_string_equal(peers[1].endpoint, "tcp://b:2");
	assert_false(peers[1].trusted);
	assert_string_equal(peers[2].endpoint, "tcp://c:3");
	blo_config_free(broker_schema, &cfg);
	assert_null(cfg.peers.v);
	assert_int_equal(cfg.peers.n, 0);
}

static void test_empty_lists_have_no_elements(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	E(parse_text("{\"identity\": \"i\", \"listen\": [], \"peers\": []}", &cfg, &err));
	assert_int_equal(cfg.listen.n, 0);
	assert_null(cfg.listen.v);
	assert_int_equal(cfg.peers.n, 0);
	assert_null(cfg.peers.v);
	blo_config_free(broker_schema, &cfg);
}

static void test_free_after_failed_load_leaks_nothing(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	char *dir = blo_test_mkdtemp();
	char *path;
	blo_err_t err;

	(void)state;
	cfg.authority_key = strdup("default-key");
	/* Fails in the second peer, after strings, a list and a peer were read. */
	path = write_text(dir, "broker.json",
			  "{\"identity\": \"id.sec\", \"authority_key\": \"k\","
			  " \"listen\": [\"tcp://*:1\", \"tcp://*:2\"],"
			  " \"peers\": [{\"id\": \"a\", \"endpoint\": \"e\"},"
			  " {\"id\": \"b\", \"endpoint\": \"e\", \"trusted\": \"no\"}],"
			  " \"banner\": \"never read\"}");
	assert_int_equal(blo_config_load(path, broker_schema, &cfg, &err), BLO_ECONFIG);
	assert_non_null(strstr(err.msg, "key \"peers[1].trusted\": expected true or false"));
	blo_config_free(broker_schema, &cfg);
	assert_null(cfg.identity);
	assert_null(cfg.authority_key);
	assert_null(cfg.listen.v);
	assert_int_equal(cfg.listen.n, 0);
	assert_null(cfg.peers.v);
	free(path);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_free_zeroes_members_and_ignores_null(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	E(parse_text(full_config, &cfg, &err));
	blo_config_free(broker_schema, &cfg);
	assert_null(cfg.identity);
	assert_null(cfg.registry);
	assert_null(cfg.authority_key);
	assert_null(cfg.data_dir);
	assert_null(cfg.banner);
	assert_null(cfg.listen.v);
	assert_null(cfg.peers.v);
	/* Twice is harmless; so is NULL. */
	blo_config_free(broker_schema, &cfg);
	blo_config_free(broker_schema, NULL);
}

static void test_missing_file_gives_enoent_with_path(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	char *dir = blo_test_mkdtemp();
	char *path = NULL;
	blo_err_t err;

	(void)state;
	assert_true(asprintf(&path, "%s/no-such-broker.json", dir) > 0);
	assert_int_equal(blo_config_load(path, broker_schema, &cfg, &err), -ENOENT);
	assert_int_equal(err.code, -ENOENT);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file"));
	blo_config_free(broker_schema, &cfg);
	free(path);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_folder_is_not_a_config_file(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	char *dir = blo_test_mkdtemp();
	blo_err_t err;

	(void)state;
	assert_int_equal(blo_config_load(dir, broker_schema, &cfg, &err), -EINVAL);
	assert_non_null(strstr(err.msg, dir));
	assert_non_null(strstr(err.msg, "not a regular file"));
	blo_test_rmdir(dir);
	free(dir);
}

static void test_oversized_file_is_refused(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	char *dir = blo_test_mkdtemp();
	char *text = malloc(BLO_CONFIG_MAX_BYTES + 2);
	char *path;
	blo_err_t err;

	(void)state;
	assert_non_null(text);
	memset(text, ' ', BLO_CONFIG_MAX_BYTES + 1);
	text[0] = '{';
	text[BLO_CONFIG_MAX_BYTES] = '}';
	text[BLO_CONFIG_MAX_BYTES + 1] = '\0';
	path = write_text(dir, "big.json", text);
	assert_int_equal(blo_config_load(path, broker_schema, &cfg, &err), BLO_ETOOBIG);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "larger than 1048576 bytes"));
	free(text);
	free(path);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_load_names_the_file_in_content_errors(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	char *dir = blo_test_mkdtemp();
	char *path;
	char *want = NULL;
	blo_err_t err;

	(void)state;
	path = write_text(dir, "broker.json", "{\"identity\": \"i\", \"lisen\": []}");
	assert_int_equal(blo_config_load(path, broker_schema, &cfg, &err), BLO_ECONFIG);
	assert_true(asprintf(&want, "%s: unknown key \"lisen\"", path) > 0);
	assert_non_null(strstr(err.msg, want));
	assert_ptr_equal(strstr(err.msg, want), err.msg);
	blo_config_free(broker_schema, &cfg);
	free(want);
	free(path);
	blo_test_rmdir(dir);
	free(dir);
}

static void test_nul_escape_in_string_is_rejected(void **state)
{
	(void)state;
	/* Would otherwise read as "identity" and pass as the known key. */
	expect_error("{\"identity\": \"i\",\n\"identity\\u0000x\": \"j\"}",
		     "line 2: strings may not contain NUL");
	expect_error("{\"identity\": \"id\\u0000.sec\"}", "line 1: strings may not contain NUL");
}

static void test_escaped_backslash_before_u0000_is_text(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	E(parse_text("{\"identity\": \"i\", \"banner\": \"a\\\\u0000b\"}", &cfg, &err));
	assert_string_equal(cfg.banner, "a\\u0000b");
	blo_config_free(broker_schema, &cfg);
}

static void test_raw_nul_byte_is_rejected(void **state)
{
	static const char text[] = "{\"identity\": \"i\"}\n\0{\"x\": 1}";
	broker_cfg_t cfg = broker_defaults();
	blo_err_t err;

	(void)state;
	assert_int_equal(blo_config_parse("broker.json", NULL, text, sizeof(text) - 1,
					  broker_schema, &cfg, &err),
			 BLO_ECONFIG);
	assert_non_null(strstr(err.msg, "broker.json: line 2: NUL byte"));
	blo_config_free(broker_schema, &cfg);
}

static void test_messages_escape_control_characters(void **state)
{
	(void)state;
	expect_error("{\"identity\": \"i\", \"log_level\": \"\\u001b[2J\\n\\\"x\"}",
		     "got \"\\x1b[2J\\n\\\"x\"");
}

static void test_long_unknown_key_is_cut_short_in_message(void **state)
{
	broker_cfg_t cfg = broker_defaults();
	char *json = malloc(5000);
	blo_err_t err;

	(void)state;
	assert_non_null(json);
	strcpy(json, "{\"");
	memset(json + 2, 'k', 4000);
	strcpy(json + 4002, "\": 1}");
	assert_int_equal(parse_text(json, &cfg, &err), BLO_ECONFIG);
	assert_non_null(strstr(err.msg, "broker.json: unknown key \"kkkk"));
	assert_non_null(strstr(err.msg, "...\" (known: identity,"));
	assert_true(strlen(err.msg) < 400);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_valid_config_fills_every_type),
		cmocka_unit_test(test_absent_keys_keep_caller_defaults),
		cmocka_unit_test(test_present_values_replace_and_free_malloced_defaults),
		cmocka_unit_test(test_invalid_json_names_file_and_line),
		cmocka_unit_test(test_truncated_json_says_unexpected_end_of_file),
		cmocka_unit_test(test_text_after_the_object_is_an_error),
		cmocka_unit_test(test_empty_text_is_an_error),
		cmocka_unit_test(test_top_level_must_be_an_object),
		cmocka_unit_test(test_unknown_top_level_key_lists_known_keys),
		cmocka_unit_test(test_unknown_nested_key_names_its_path),
		cmocka_unit_test(test_duplicate_key_is_an_error),
		cmocka_unit_test(test_missing_required_key_names_it_and_what_it_is),
		cmocka_unit_test(test_missing_required_key_in_list_element_names_its_index),
		cmocka_unit_test(test_string_in_list_element_rejects_a_number),
		cmocka_unit_test(test_string_rejects_non_string),
		cmocka_unit_test(test_path_rejects_non_string_with_expect_text),
		cmocka_unit_test(test_path_rejects_empty_string),
		cmocka_unit_test(test_empty_string_is_allowed),
		cmocka_unit_test(test_int_rejects_string_naming_range),
		cmocka_unit_test(test_int_rejects_fraction),
		cmocka_unit_test(test_int_accepts_integral_exponent),
		cmocka_unit_test(test_int_out_of_range_is_rejected),
		cmocka_unit_test(test_int_beyond_2_pow_53_is_rejected),
		cmocka_unit_test(test_bool_rejects_string),
		cmocka_unit_test(test_double_rejects_string),
		cmocka_unit_test(test_double_out_of_range_is_rejected),
		cmocka_unit_test(test_enum_stores_index_of_choice),
		cmocka_unit_test(test_enum_bad_value_lists_choices),
		cmocka_unit_test(test_strings_rejects_non_list),
		cmocka_unit_test(test_strings_rejects_non_string_element),
		cmocka_unit_test(test_object_rejects_list),
		cmocka_unit_test(test_objects_rejects_object),
		cmocka_unit_test(test_objects_rejects_non_object_element),
		cmocka_unit_test(test_null_is_not_a_value),
		cmocka_unit_test(test_relative_path_resolved_against_file_folder),
		cmocka_unit_test(test_parse_without_base_dir_resolves_against_current_folder),
		cmocka_unit_test(test_object_list_elements_are_filled),
		cmocka_unit_test(test_empty_lists_have_no_elements),
		cmocka_unit_test(test_free_after_failed_load_leaks_nothing),
		cmocka_unit_test(test_free_zeroes_members_and_ignores_null),
		cmocka_unit_test(test_missing_file_gives_enoent_with_path),
		cmocka_unit_test(test_folder_is_not_a_config_file),
		cmocka_unit_test(test_oversized_file_is_refused),
		cmocka_unit_test(test_load_names_the_file_in_content_errors),
		cmocka_unit_test(test_nul_escape_in_string_is_rejected),
		cmocka_unit_test(test_escaped_backslash_before_u0000_is_text),
		cmocka_unit_test(test_raw_nul_byte_is_rejected),
		cmocka_unit_test(test_messages_escape_control_characters),
		cmocka_unit_test(test_long_unknown_key_is_cut_short_in_message),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
