/*
 * Unit tests for blo_settings: the broker's and the clients' config files
 * read from real files, with their defaults, and every check beyond the
 * schema (authority key, listen endpoints, principal ids) refused with a
 * message naming the file and the key.
 */
#include "blo_test.h"

#include "blo_settings.h"

#include <errno.h>
#include <unistd.h>

#define AUTHORITY_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = blo_test_mkdtemp();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	blo_test_rmdir(dir);
	free(dir);
	dir = NULL;
	return 0;
}

/* Writes text to dir/name and returns the path (caller frees). */
static char *write_config(const char *name, const char *text)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		fail_msg("asprintf failed");
	E(blo_write_file_atomic(path, text, strlen(text), 0644));
	return path;
}

/* A broker file of the required keys, listen being the JSON text given and
 * more (may be "") further keys after a comma; returns its path. */
static char *write_broker(const char *listen, const char *more)
{
	char *text = NULL, *path;

	if (asprintf(&text,
		     "{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		     " \"authority\": \"" AUTHORITY_HEX "\", \"listen\": %s,\n"
		     " \"data_dir\": \"data\"%s%s}\n",
		     listen, more[0] ? ", " : "", more) < 0)
		fail_msg("asprintf failed");
	path = write_config("broker.json", text);
	free(text);
	return path;
}

/* The message must start with the file's path and contain each of the
 * NULL-terminated fragments. */
static void assert_message(const blo_err_t *err, const char *path, ...)
{
	va_list ap;
	const char *frag;

	if (strncmp(err->msg, path, strlen(path)) != 0)
		fail_msg("message does not start with %s: %s", path, err->msg);
	va_start(ap, path);
	while ((frag = va_arg(ap, const char *)) != NULL) {
		if (strstr(err->msg, frag) == NULL)
			fail_msg("message lacks \"%s\": %s", frag, err->msg);
	}
	va_end(ap);
}

#define BROKER_MINIMAL                                                                   \
	"{\"id\": \"th-broker\", \"identity\": \"identity.secret.json\",\n"              \
	" \"registry\": \"../registry.json\", \"authority\": \"" AUTHORITY_HEX "\",\n" \
	" \"listen\": [\"tcp://127.0.0.1:7400\"], \"data_dir\": \"data\"}\n"

#define CLIENT_MINIMAL                                                                   \
	"{\"id\": \"th-customs-maesai\", \"identity\": \"identity.secret.json\",\n"      \
	" \"registry\": \"../registry.json\", \"authority\": \"" AUTHORITY_HEX "\",\n" \
	" \"broker\": {\"id\": \"th-broker\", \"endpoint\": \"tcp://127.0.0.1:7400\"}}\n"

/* ---------------------------------------------------------------- broker */

static void test_broker_minimal_file_gets_every_default(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config("broker.json", BROKER_MINIMAL);
	char *want = NULL;

	(void)state;
	if (blo_broker_settings_load(&s, path, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(s.id, "th-broker");
	assert_int_equal(asprintf(&want, "%s/identity.secret.json", dir) > 0, 1);
	assert_string_equal(s.identity, want);
	free(want);
	assert_int_equal(asprintf(&want, "%s/../registry.json", dir) > 0, 1);
	assert_string_equal(s.registry, want);
	free(want);
	assert_int_equal(asprintf(&want, "%s/data", dir) > 0, 1);
	assert_string_equal(s.data_dir, want);
	free(want);
	assert_string_equal(s.authority, AUTHORITY_HEX);
	assert_int_equal(s.listen.n, 1);
	assert_string_equal(s.listen.v[0], "tcp://127.0.0.1:7400");
	assert_int_equal(s.journal.map_size_mb, 1024);
	assert_int_equal(s.journal.max_age_hours, 24 * 90);
	assert_int_equal(s.journal.max_count, 0);
	assert_int_equal(s.audit.max_age_hours, 24 * 30);
	assert_int_equal(s.audit.max_records, 0);
	assert_int_equal(asprintf(&want, "%s/data/audit-archive", dir) > 0, 1);
	assert_string_equal(s.audit.archive_dir, want);
	free(want);
	assert_int_equal(s.limits.max_message_bytes, 128 * 1024);
	assert_int_equal(s.limits.max_in_flight, 256);
	assert_int_equal(s.limits.max_batch, 1000);
	assert_int_equal(s.limits.commit_hold_us, 4000);
	assert_int_equal(s.limits.verify_threads, 0);
	assert_int_equal(s.limits.heartbeat_ms, 1000);
	assert_int_equal(s.limits.memory_mb, 2048);
	assert_int_equal(s.peers.n, 0);
	assert_int_equal(s.log_level, BLO_LOG_INFO);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_full_file_reads_every_key(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	const blo_peer_settings_t *peers;
	char *path = write_config(
		"broker.json",
		"{\"id\": \"la-broker\", \"identity\": \"/etc/blonet/la.secret.json\",\n"
		" \"registry\": \"/etc/blonet/registry.json\", \"authority\": \"" AUTHORITY_HEX "\",\n"
		" \"listen\": [\"tcp://0.0.0.0:7400\", \"ipc:///run/blonet/la.sock\"],\n"
		" \"data_dir\": \"/var/lib/blonet\",\n"
		" \"journal\": {\"map_size_mb\": 4096, \"max_age_hours\": 720, \"max_count\": 1000000},\n"
		" \"audit\": {\"max_age_hours\": 48, \"max_records\": 500000,\n"
		"           \"archive_dir\": \"/srv/blonet/audit\"},\n"
		" \"limits\": {\"max_message_bytes\": 65536, \"max_in_flight\": 64, \"max_batch\": 500,\n"
		"            \"commit_hold_us\": 0, \"verify_threads\": 2, \"heartbeat_ms\": 250,\n"
		"            \"memory_mb\": 512},\n"
		" \"peers\": [{\"id\": \"th-broker\", \"endpoint\": \"tcp://192.0.2.1:7400\"},\n"
		"           {\"id\": \"mm-broker\", \"endpoint\": \"tcp://192.0.2.2:7400\"}],\n"
		" \"log_level\": \"debug\"}\n");

	(void)state;
	if (blo_broker_settings_load(&s, path, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(s.identity, "/etc/blonet/la.secret.json");
	assert_string_equal(s.registry, "/etc/blonet/registry.json");
	assert_string_equal(s.data_dir, "/var/lib/blonet");
	assert_int_equal(s.listen.n, 2);
	assert_string_equal(s.listen.v[1], "ipc:///run/blonet/la.sock");
	assert_int_equal(s.journal.map_size_mb, 4096);
	assert_int_equal(s.journal.max_age_hours, 720);
	assert_int_equal(s.journal.max_count, 1000000);
	assert_int_equal(s.audit.max_age_hours, 48);
	assert_int_equal(s.audit.max_records, 500000);
	assert_string_equal(s.audit.archive_dir, "/srv/blonet/audit");
	assert_int_equal(s.limits.max_message_bytes, 65536);
	assert_int_equal(s.limits.max_in_flight, 64);
	assert_int_equal(s.limits.max_batch, 500);
	assert_int_equal(s.limits.commit_hold_us, 0);
	assert_int_equal(s.limits.verify_threads, 2);
	assert_int_equal(s.limits.heartbeat_ms, 250);
	assert_int_equal(s.limits.memory_mb, 512);
	assert_int_equal(s.log_level, BLO_LOG_DEBUG);
	assert_int_equal(s.peers.n, 2);
	peers = s.peers.v;
	assert_string_equal(peers[0].id, "th-broker");
	assert_string_equal(peers[0].endpoint, "tcp://192.0.2.1:7400");
	assert_string_equal(peers[1].id, "mm-broker");
	assert_string_equal(peers[1].endpoint, "tcp://192.0.2.2:7400");
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_partial_journal_keeps_other_defaults(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\", \"journal\": {\"max_count\": 5},\n"
		" \"limits\": {\"max_batch\": 10}}\n");

	(void)state;
	if (blo_broker_settings_load(&s, path, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.journal.max_count, 5);
	assert_int_equal(s.journal.map_size_mb, 1024);
	assert_int_equal(s.limits.max_batch, 10);
	assert_int_equal(s.limits.max_in_flight, 256);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_unknown_key_is_refused_naming_file_and_key(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"lisen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\"}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "unknown key", "\"lisen\"", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_unknown_nested_key_names_its_path(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\", \"journal\": {\"map_size\": 5}}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "journal.map_size", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_missing_required_key_is_named(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\"}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "missing required key", "identity", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void check_broker_authority_refused(const char *authority)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *text = NULL, *path;

	assert_true(asprintf(&text,
			     "{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": "
			     "\"r.json\", \"authority\": \"%s\", \"listen\": [\"tcp://127.0.0.1:1\"], "
			     "\"data_dir\": \"data\"}",
			     authority) > 0);
	path = write_config("broker.json", text);
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "\"authority\"", "64 hex digits", NULL);
	blo_broker_settings_free(&s);
	free(path);
	free(text);
}

static void test_broker_bad_authority_is_refused(void **state)
{
	(void)state;
	check_broker_authority_refused("");
	check_broker_authority_refused("0011");
	check_broker_authority_refused(AUTHORITY_HEX "00");
	check_broker_authority_refused("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
}

static void test_broker_authority_of_wrong_type_is_refused(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": 17, \"listen\": [\"tcp://127.0.0.1:1\"], \"data_dir\": \"data\"}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "\"authority\"", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_empty_listen_is_refused(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [], \"data_dir\": \"data\"}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "\"listen\"", "at least one endpoint", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_listen_that_is_not_a_list_of_strings_is_refused(void **state)
{
	static const char *const bad[] = {"\"tcp://127.0.0.1:1\"", "[7400]", "{}"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		blo_broker_settings_t s;
		blo_err_t err = {0};
		char *path = write_broker(bad[i], "");

		assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
		assert_message(&err, path, "listen", NULL);
		blo_broker_settings_free(&s);
		free(path);
	}
}

static void test_broker_bad_id_is_refused(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"-th broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\"}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "key \"id\"", "not a principal id", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_bad_peer_id_names_its_index(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\", \"peers\": [{\"id\": \"la-broker\", \"endpoint\": \"tcp://x:1\"},\n"
		" {\"id\": \"mm/broker\", \"endpoint\": \"tcp://y:1\"}]}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "peers[1].id", "not a principal id", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_peer_without_endpoint_is_refused(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\", \"peers\": [{\"id\": \"la-broker\"}]}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "missing required key", "endpoint", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_journal_out_of_range_is_refused(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\", \"journal\": {\"map_size_mb\": 0}}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "journal.map_size_mb", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_bad_log_level_is_refused(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"broker.json",
		"{\"id\": \"th-broker\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\", \"listen\": [\"tcp://127.0.0.1:1\"],\n"
		" \"data_dir\": \"data\", \"log_level\": \"loud\"}\n");

	(void)state;
	assert_int_equal(blo_broker_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "log_level", NULL);
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_missing_file_is_enoent(void **state)
{
	blo_broker_settings_t s;
	blo_err_t err = {0};
	char *path = NULL;

	(void)state;
	assert_true(asprintf(&path, "%s/absent.json", dir) > 0);
	assert_int_equal(blo_broker_settings_load(&s, path, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "absent.json"));
	blo_broker_settings_free(&s);
	free(path);
}

static void test_broker_free_of_null_does_nothing(void **state)
{
	(void)state;
	blo_broker_settings_free(NULL);
	blo_client_settings_free(NULL);
}

/* ---------------------------------------------------------------- client */

static void test_client_minimal_file_gets_defaults(void **state)
{
	blo_client_settings_t s;
	blo_err_t err = {0};
	char *path = write_config("client.json", CLIENT_MINIMAL);
	char *want = NULL;

	(void)state;
	if (blo_client_settings_load(&s, path, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(s.id, "th-customs-maesai");
	assert_int_equal(asprintf(&want, "%s/identity.secret.json", dir) > 0, 1);
	assert_string_equal(s.identity, want);
	free(want);
	assert_string_equal(s.broker.id, "th-broker");
	assert_string_equal(s.broker.endpoint, "tcp://127.0.0.1:7400");
	assert_null(s.data_dir);
	assert_int_equal(s.log_level, BLO_LOG_INFO);
	blo_client_settings_free(&s);
	free(path);
}

static void test_client_full_file_reads_every_key(void **state)
{
	blo_client_settings_t s;
	blo_err_t err = {0};
	char *want = NULL;
	char *path = write_config(
		"client.json",
		"{\"id\": \"la-console-tonpheung\", \"identity\": \"identity.secret.json\",\n"
		" \"registry\": \"../registry.json\", \"authority\": \"" AUTHORITY_HEX "\",\n"
		" \"broker\": {\"id\": \"la-broker\", \"endpoint\": \"tcp://192.0.2.9:7400\"},\n"
		" \"data_dir\": \"store\", \"log_level\": \"warn\"}\n");

	(void)state;
	if (blo_client_settings_load(&s, path, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(s.broker.endpoint, "tcp://192.0.2.9:7400");
	assert_int_equal(asprintf(&want, "%s/store", dir) > 0, 1);
	assert_string_equal(s.data_dir, want);
	free(want);
	assert_int_equal(s.log_level, BLO_LOG_WARN);
	blo_client_settings_free(&s);
	free(path);
}

static void test_client_unknown_key_is_refused_naming_file_and_key(void **state)
{
	blo_client_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"client.json",
		"{\"id\": \"th-customs-maesai\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\",\n"
		" \"broker\": {\"id\": \"th-broker\", \"endpoint\": \"tcp://127.0.0.1:1\", \"port\": 1}}\n");

	(void)state;
	assert_int_equal(blo_client_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "unknown key", "broker.port", NULL);
	blo_client_settings_free(&s);
	free(path);
}

static void test_client_without_broker_is_refused(void **state)
{
	blo_client_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"client.json",
		"{\"id\": \"th-customs-maesai\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"" AUTHORITY_HEX "\"}\n");

	(void)state;
	assert_int_equal(blo_client_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "missing required key", "broker", NULL);
	blo_client_settings_free(&s);
	free(path);
}

static void test_client_bad_ids_are_refused(void **state)
{
	static const struct {
		const char *id, *broker, *key;
	} cases[] = {
		{"th customs", "th-broker", "key \"id\""},
		{"th-customs-maesai", ".th-broker", "key \"broker.id\""},
		{"", "th-broker", "key \"id\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		blo_client_settings_t s;
		blo_err_t err = {0};
		char *text = NULL, *path;

		assert_true(asprintf(&text,
				     "{\"id\": \"%s\", \"identity\": \"i.json\", \"registry\": "
				     "\"r.json\", \"authority\": \"" AUTHORITY_HEX "\", \"broker\": "
				     "{\"id\": \"%s\", \"endpoint\": \"tcp://127.0.0.1:1\"}}",
				     cases[i].id, cases[i].broker) > 0);
		path = write_config("client.json", text);
		assert_int_equal(blo_client_settings_load(&s, path, &err), BLO_ECONFIG);
		assert_message(&err, path, cases[i].key, "not a principal id", NULL);
		blo_client_settings_free(&s);
		free(path);
		free(text);
	}
}

static void test_client_bad_authority_is_refused(void **state)
{
	blo_client_settings_t s;
	blo_err_t err = {0};
	char *path = write_config(
		"client.json",
		"{\"id\": \"th-customs-maesai\", \"identity\": \"i.json\", \"registry\": \"r.json\",\n"
		" \"authority\": \"not-hex\",\n"
		" \"broker\": {\"id\": \"th-broker\", \"endpoint\": \"tcp://127.0.0.1:1\"}}\n");

	(void)state;
	assert_int_equal(blo_client_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "\"authority\"", "64 hex digits", NULL);
	blo_client_settings_free(&s);
	free(path);
}

static void test_client_invalid_json_names_the_line(void **state)
{
	blo_client_settings_t s;
	blo_err_t err = {0};
	char *path = write_config("client.json", "{\"id\": \"x\",\n \"identity\" \"i.json\"}\n");

	(void)state;
	assert_int_equal(blo_client_settings_load(&s, path, &err), BLO_ECONFIG);
	assert_message(&err, path, "line 2", NULL);
	blo_client_settings_free(&s);
	free(path);
}

/* ---------------------------------------------------------------- authority */

static void test_authority_hex_decodes_to_the_key(void **state)
{
	uint8_t key[BLO_SIGN_PUBLIC_BYTES];
	blo_err_t err = {0};

	(void)state;
	E(blo_settings_authority(AUTHORITY_HEX, key, &err));
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[1], 0x11);
	assert_int_equal(key[31], 0xff);
	assert_int_equal(blo_settings_authority("00", key, &err), BLO_ECONFIG);
	assert_non_null(strstr(err.msg, "authority"));
	assert_int_equal(blo_settings_authority(NULL, key, &err), BLO_ECONFIG);
}

static void test_log_level_names_follow_the_enum(void **state)
{
	(void)state;
	assert_string_equal(blo_log_level_names[BLO_LOG_DEBUG], "debug");
	assert_string_equal(blo_log_level_names[BLO_LOG_INFO], "info");
	assert_string_equal(blo_log_level_names[BLO_LOG_WARN], "warn");
	assert_string_equal(blo_log_level_names[BLO_LOG_ERROR], "error");
	assert_null(blo_log_level_names[BLO_LOG_ERROR + 1]);
}

/* The memory limit: 0 turns it off, 256 MB is the least it may be. */
static void test_broker_memory_limit_below_256_is_refused(void **state)
{
	static const struct {
		const char *value;
		int rc;
		int64_t want;
	} cases[] = {{"0", 0, 0}, {"256", 0, 256}, {"255", BLO_ECONFIG, 0}, {"1", BLO_ECONFIG, 0}};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		blo_broker_settings_t s;
		blo_err_t err = {0};
		char limits[64], *path;

		snprintf(limits, sizeof(limits), "\"limits\": {\"memory_mb\": %s}", cases[i].value);
		path = write_broker("[\"tcp://127.0.0.1:1\"]", limits);
		assert_int_equal(blo_broker_settings_load(&s, path, &err), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(s.limits.memory_mb, cases[i].want);
		else
			assert_message(&err, path, "limits.memory_mb", "below 256", "0 turns", NULL);
		blo_broker_settings_free(&s);
		free(path);
	}
}

/* Each test gets a fresh folder. */
#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_broker_minimal_file_gets_every_default),
		T(test_broker_full_file_reads_every_key),
		T(test_broker_partial_journal_keeps_other_defaults),
		T(test_broker_unknown_key_is_refused_naming_file_and_key),
		T(test_broker_unknown_nested_key_names_its_path),
		T(test_broker_missing_required_key_is_named),
		T(test_broker_bad_authority_is_refused),
		T(test_broker_authority_of_wrong_type_is_refused),
		T(test_broker_empty_listen_is_refused),
		T(test_broker_listen_that_is_not_a_list_of_strings_is_refused),
		T(test_broker_bad_id_is_refused),
		T(test_broker_bad_peer_id_names_its_index),
		T(test_broker_peer_without_endpoint_is_refused),
		T(test_broker_journal_out_of_range_is_refused),
		T(test_broker_memory_limit_below_256_is_refused),
		T(test_broker_bad_log_level_is_refused),
		T(test_broker_missing_file_is_enoent),
		cmocka_unit_test(test_broker_free_of_null_does_nothing),
		T(test_client_minimal_file_gets_defaults),
		T(test_client_full_file_reads_every_key),
		T(test_client_unknown_key_is_refused_naming_file_and_key),
		T(test_client_without_broker_is_refused),
		T(test_client_bad_ids_are_refused),
		T(test_client_bad_authority_is_refused),
		T(test_client_invalid_json_names_the_line),
		cmocka_unit_test(test_authority_hex_decodes_to_the_key),
		cmocka_unit_test(test_log_level_names_follow_the_enum),
	};

	return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
