/*
 * Unit tests for blo_provision: the example topology provisioned into a
 * temporary folder (files, modes, configs the programs load, the registry,
 * ports picked for port 0), re-runs that keep keys, rotation, revocation,
 * every validation error naming the file, entry and field, and one run of
 * the real bin/blonet-provision.
 */
#include "blo_test.h"

#include "blo_provision.h"
#include "blo_settings.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- fixture */

static char *tmp;       /* the test's folder */
static char *out;       /* tmp/out: where provisioning writes */
static char *example;   /* deploy/topologies/mekong-mini.json */

static char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *strf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fail_msg("vasprintf failed");
	va_end(ap);
	return s;
}

static int setup(void **state)
{
	const char *src = getenv("BLO_SRCDIR");

	(void)state;
	tmp = blo_test_mkdtemp();
	out = strf("%s/out", tmp);
	example = strf("%s/deploy/topologies/mekong-mini.json",
		       src != NULL && src[0] != '\0' ? src : ".");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	blo_test_rmdir(tmp);
	free(tmp);
	free(out);
	free(example);
	tmp = out = example = NULL;
	return 0;
}

static void provision(const char *topology, const blo_provision_opts_t *opts,
		      blo_provision_report_t *report)
{
	blo_err_t err = {0};
	int rc = blo_provision_run(topology, out, opts, report, &err);

	if (rc != 0)
		fail_msg("provision %s: %s (%s)", topology, err.msg, blo_strerror(rc));
}

/* The topology's brokers and principals as the test reads them itself. */
typedef struct {
	char id[64], role[16], country[3], agency[32], site[64], broker[64];
} entry_t;

typedef struct {
	entry_t v[128];
	size_t n, n_brokers;
} entries_t;

static void copy_field(char *dst, size_t n, const cJSON *obj, const char *key, const char *dflt)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	snprintf(dst, n, "%s", cJSON_IsString(item) ? item->valuestring : dflt);
}

static void read_entries(const char *topology, entries_t *e)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *root;
	const cJSON *item;

	E(blo_read_file(topology, 1 << 22, &text, &len));
	root = cJSON_Parse(text);
	assert_non_null(root);
	memset(e, 0, sizeof(*e));
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "brokers"))
	{
		entry_t *x = &e->v[e->n++];

		copy_field(x->id, sizeof(x->id), item, "id", "");
		snprintf(x->role, sizeof(x->role), "broker");
		copy_field(x->country, sizeof(x->country), item, "country", "");
		copy_field(x->agency, sizeof(x->agency), item, "agency", "COORDINATION");
		e->n_brokers++;
	}
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "principals"))
	{
		entry_t *x = &e->v[e->n++];

		copy_field(x->id, sizeof(x->id), item, "id", "");
		copy_field(x->role, sizeof(x->role), item, "role", "");
		copy_field(x->country, sizeof(x->country), item, "country", "");
		copy_field(x->agency, sizeof(x->agency), item, "agency", "COORDINATION");
		copy_field(x->site, sizeof(x->site), item, "site", "");
		copy_field(x->broker, sizeof(x->broker), item, "broker", "");
	}
	cJSON_Delete(root);
	free(text);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static void assert_mode(const char *dir, const char *name, mode_t want)
{
	char *path = name != NULL ? strf("%s/%s", dir, name) : strf("%s", dir);
	mode_t got = mode_of(path);

	if (got != want)
		fail_msg("%s: mode %04o, expected %04o", path, (unsigned)got, (unsigned)want);
	free(path);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc = blo_read_file(path, 1 << 24, &text, &len);

	if (rc != 0)
		fail_msg("%s: %s", path, blo_strerror(rc));
	return text;
}

static char *node_file(const char *id, const char *name)
{
	return strf("%s/%s/%s", out, id, name);
}

static void authority_key(uint8_t key[BLO_SIGN_PUBLIC_BYTES])
{
	blo_public_identity_t pub;
	blo_err_t err = {0};
	char *path = strf("%s/authority/authority.public.json", out);

	if (blo_identity_load_public(&pub, path, &err) != 0)
		fail_msg("%s", err.msg);
	memcpy(key, pub.sign_public, BLO_SIGN_PUBLIC_BYTES);
	free(path);
}

static blo_registry_t *load_registry(void)
{
	uint8_t key[BLO_SIGN_PUBLIC_BYTES];
	blo_registry_t *reg = NULL;
	blo_err_t err = {0};
	char *path = strf("%s/registry.json", out);

	authority_key(key);
	if (blo_registry_load(&reg, path, key, &err) != 0)
		fail_msg("%s", err.msg);
	free(path);
	return reg;
}

static void load_broker(const char *id, blo_broker_settings_t *s)
{
	blo_err_t err = {0};
	char *path = node_file(id, "config.json");

	if (blo_broker_settings_load(s, path, &err) != 0)
		fail_msg("%s", err.msg);
	free(path);
}

static void load_client(const char *id, blo_client_settings_t *s)
{
	blo_err_t err = {0};
	char *path = node_file(id, "config.json");

	if (blo_client_settings_load(s, path, &err) != 0)
		fail_msg("%s", err.msg);
	free(path);
}

/* Port of a tcp://HOST:PORT endpoint. */
static int port_of(const char *endpoint)
{
	const char *colon = strrchr(endpoint, ':');

	assert_non_null(colon);
	return atoi(colon + 1);
}

/* ---------------------------------------------------------------- the example */

static void test_example_produces_every_file_with_its_mode(void **state)
{
	blo_provision_report_t report;
	entries_t e;

	(void)state;
	read_entries(example, &e);
	provision(example, NULL, &report);
	assert_string_equal(report.name, "mekong-mini");
	assert_int_equal(report.n_brokers, e.n_brokers);
	assert_int_equal(report.n_principals, e.n - e.n_brokers);
	assert_int_equal(report.n_generated, e.n);
	assert_int_equal(report.n_rotated, 0);
	assert_int_equal(report.n_revoked, 0);
	assert_int_equal(report.n_ports_picked, e.n_brokers);
	assert_true(report.authority_generated);
	assert_true(report.registry_changed);
	assert_int_equal(report.registry_version, 1);

	assert_mode(out, "registry.json", 0644);
	assert_mode(out, "authority", 0700);
	assert_mode(out, "authority/authority.secret.json", 0600);
	assert_mode(out, "authority/authority.public.json", 0644);
	for (size_t i = 0; i < e.n; i++) {
		char *dir = strf("%s/%s", out, e.v[i].id);

		assert_mode(dir, NULL, 0700);
		assert_mode(dir, "identity.secret.json", 0600);
		assert_mode(dir, "identity.public.json", 0644);
		assert_mode(dir, "config.json", 0644);
		free(dir);
	}
}

static void test_every_config_loads_with_the_programs_loaders(void **state)
{
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES], from_config[BLO_SIGN_PUBLIC_BYTES];
	entries_t e;

	(void)state;
	read_entries(example, &e);
	provision(example, NULL, NULL);
	authority_key(authority);
	for (size_t i = 0; i < e.n; i++) {
		blo_identity_t *identity = NULL;
		blo_err_t err = {0};
		const char *identity_path, *authority_hex;
		blo_broker_settings_t b;
		blo_client_settings_t c;
		bool broker = i < e.n_brokers;

		if (broker) {
			load_broker(e.v[i].id, &b);
			assert_string_equal(b.id, e.v[i].id);
			identity_path = b.identity;
			authority_hex = b.authority;
		} else {
			load_client(e.v[i].id, &c);
			assert_string_equal(c.id, e.v[i].id);
			assert_string_equal(c.broker.id, e.v[i].broker);
			identity_path = c.identity;
			authority_hex = c.authority;
		}
		E(blo_settings_authority(authority_hex, from_config, &err));
		assert_memory_equal(from_config, authority, BLO_SIGN_PUBLIC_BYTES);
		if (blo_identity_load(&identity, identity_path, &err) != 0)
			fail_msg("%s", err.msg);
		assert_string_equal(blo_identity_id(identity), e.v[i].id);
		blo_identity_destroy(&identity);
		if (broker)
			blo_broker_settings_free(&b);
		else
			blo_client_settings_free(&c);
	}
}

static void test_registry_holds_every_principal_with_role_country_site(void **state)
{
	blo_broker_settings_t b;
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	blo_registry_t *reg = NULL;
	blo_err_t err = {0};
	entries_t e;

	(void)state;
	read_entries(example, &e);
	provision(example, NULL, NULL);
	/* Loaded as a broker would: the path and the trust anchor from its config. */
	load_broker(e.v[0].id, &b);
	E(blo_settings_authority(b.authority, authority, &err));
	if (blo_registry_load(&reg, b.registry, authority, &err) != 0)
		fail_msg("%s", err.msg);
	blo_broker_settings_free(&b);
	assert_string_equal(blo_registry_name(reg), "mekong-mini");
	assert_int_equal(blo_registry_version(reg), 1);
	assert_int_equal(blo_registry_count(reg), e.n);
	for (size_t i = 0; i < e.n; i++) {
		const blo_principal_t *p = blo_registry_find(reg, e.v[i].id);
		blo_public_identity_t pub;
		char *path = node_file(e.v[i].id, "identity.public.json");
		const ProtobufCEnumValue *agency = protobuf_c_enum_descriptor_get_value_by_name(
			&blonet__agency_kind__descriptor, e.v[i].agency);

		if (p == NULL)
			fail_msg("%s is not in the registry", e.v[i].id);
		assert_string_equal(blo_role_name(p->role), e.v[i].role);
		assert_string_equal(p->country, e.v[i].country);
		assert_string_equal(p->site, e.v[i].site);
		assert_non_null(agency);
		assert_int_equal(p->agency, agency->value);
		assert_false(p->revoked);
		E(blo_identity_load_public(&pub, path, &err));
		assert_memory_equal(p->sign_public, pub.sign_public, BLO_SIGN_PUBLIC_BYTES);
		assert_memory_equal(p->curve_public, pub.curve_public, BLO_CURVE_KEY_BYTES);
		free(path);
	}
	assert_true(blo_registry_is_member(reg, "OP-GOLDEN-TRIANGLE", "th-narcotics-maesai"));
	assert_false(blo_registry_is_member(reg, "OP-GOLDEN-TRIANGLE", "th-customs-maesai"));
	blo_registry_destroy(&reg);
}

static void test_port_zero_gets_one_concrete_port_everyone_uses(void **state)
{
	char listen[8][128];
	int ports[8];
	entries_t e;

	(void)state;
	read_entries(example, &e);
	provision(example, NULL, NULL);
	assert_true(e.n_brokers <= 8);
	for (size_t i = 0; i < e.n_brokers; i++) {
		blo_broker_settings_t b;

		load_broker(e.v[i].id, &b);
		assert_int_equal(b.listen.n, 1);
		assert_int_equal(strncmp(b.listen.v[0], "tcp://127.0.0.1:", 16), 0);
		ports[i] = port_of(b.listen.v[0]);
		assert_true(ports[i] > 0 && ports[i] < 65536);
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(ports[i], ports[j]);
		snprintf(listen[i], sizeof(listen[i]), "%s", b.listen.v[0]);
		blo_broker_settings_free(&b);
	}
	/* Every peer entry names the peer's own listen endpoint. */
	for (size_t i = 0; i < e.n_brokers; i++) {
		blo_broker_settings_t b;
		const blo_peer_settings_t *peers;

		load_broker(e.v[i].id, &b);
		assert_int_equal(b.peers.n, e.n_brokers - 1); /* the example links all pairs */
		peers = b.peers.v;
		for (size_t p = 0; p < b.peers.n; p++) {
			size_t j;

			for (j = 0; j < e.n_brokers && strcmp(e.v[j].id, peers[p].id) != 0; j++)
				;
			assert_true(j < e.n_brokers && j != i);
			assert_string_equal(peers[p].endpoint, listen[j]);
		}
		blo_broker_settings_free(&b);
	}
	/* Every client connects to its broker's listen endpoint. */
	for (size_t i = e.n_brokers; i < e.n; i++) {
		blo_client_settings_t c;
		size_t j;

		load_client(e.v[i].id, &c);
		for (j = 0; j < e.n_brokers && strcmp(e.v[j].id, c.broker.id) != 0; j++)
			;
		assert_true(j < e.n_brokers);
		assert_string_equal(c.broker.endpoint, listen[j]);
		blo_client_settings_free(&c);
	}
}

/* ---------------------------------------------------------------- re-runs */

typedef struct {
	char *secret[128], *config[128], *registry, *authority;
	size_t n;
} snapshot_t;

static void snapshot(const entries_t *e, snapshot_t *s)
{
	char *path = strf("%s/registry.json", out);

	s->registry = slurp(path);
	free(path);
	path = strf("%s/authority/authority.secret.json", out);
	s->authority = slurp(path);
	free(path);
	s->n = e->n;
	for (size_t i = 0; i < e->n; i++) {
		path = node_file(e->v[i].id, "identity.secret.json");
		s->secret[i] = slurp(path);
		free(path);
		path = node_file(e->v[i].id, "config.json");
		s->config[i] = slurp(path);
		free(path);
	}
}

static void snapshot_free(snapshot_t *s)
{
	free(s->registry);
	free(s->authority);
	for (size_t i = 0; i < s->n; i++) {
		free(s->secret[i]);
		free(s->config[i]);
	}
}

static void test_rerun_keeps_keys_ports_and_registry(void **state)
{
	blo_provision_report_t report;
	snapshot_t before, after;
	entries_t e;

	(void)state;
	read_entries(example, &e);
	provision(example, NULL, NULL);
	snapshot(&e, &before);
	provision(example, NULL, &report);
	snapshot(&e, &after);
	assert_false(report.authority_generated);
	assert_false(report.registry_changed);
	assert_int_equal(report.registry_version, 1);
	assert_int_equal(report.n_generated, 0);
	assert_int_equal(report.n_ports_picked, 0);
	assert_string_equal(before.registry, after.registry);
	assert_string_equal(before.authority, after.authority);
	for (size_t i = 0; i < e.n; i++) {
		assert_string_equal(before.secret[i], after.secret[i]);
		assert_string_equal(before.config[i], after.config[i]);
	}
	snapshot_free(&before);
	snapshot_free(&after);
}

static void test_rerun_restores_a_deleted_public_file(void **state)
{
	char *path;
	blo_public_identity_t pub;
	blo_err_t err = {0};

	(void)state;
	provision(example, NULL, NULL);
	path = node_file("th-console-maesai", "identity.public.json");
	assert_int_equal(unlink(path), 0);
	provision(example, NULL, NULL);
	E(blo_identity_load_public(&pub, path, &err));
	assert_string_equal(pub.id, "th-console-maesai");
	free(path);
}

static void test_rotate_changes_only_that_principal_and_bumps_version(void **state)
{
	static const char *const rotate[] = {"th-customs-maesai"};
	blo_provision_opts_t opts = {.rotate = rotate, .n_rotate = 1};
	blo_provision_report_t report;
	blo_registry_t *before, *after;
	snapshot_t s0, s1;
	entries_t e;

	(void)state;
	read_entries(example, &e);
	provision(example, NULL, NULL);
	before = load_registry();
	snapshot(&e, &s0);
	provision(example, &opts, &report);
	after = load_registry();
	snapshot(&e, &s1);
	assert_true(report.registry_changed);
	assert_int_equal(report.n_generated, 1);
	assert_int_equal(report.n_rotated, 1);
	assert_int_equal(blo_registry_version(after), 2);
	assert_int_equal(report.registry_version, 2);
	for (size_t i = 0; i < e.n; i++) {
		const blo_principal_t *a = blo_registry_find(before, e.v[i].id);
		const blo_principal_t *b = blo_registry_find(after, e.v[i].id);
		bool rotated = strcmp(e.v[i].id, "th-customs-maesai") == 0;

		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(memcmp(a->sign_public, b->sign_public, BLO_SIGN_PUBLIC_BYTES) != 0,
				 rotated);
		assert_int_equal(memcmp(a->curve_public, b->curve_public, BLO_CURVE_KEY_BYTES) != 0,
				 rotated);
		assert_int_equal(strcmp(s0.secret[i], s1.secret[i]) != 0, rotated);
		assert_false(b->revoked);
	}
	assert_string_equal(s0.authority, s1.authority);
	/* And the next plain run keeps the new key and version 2. */
	provision(example, NULL, &report);
	assert_false(report.registry_changed);
	assert_int_equal(report.registry_version, 2);
	blo_registry_destroy(&before);
	blo_registry_destroy(&after);
	snapshot_free(&s0);
	snapshot_free(&s1);
}

static void test_revoke_keeps_the_entry_marked_and_sticks(void **state)
{
	static const char *const who[] = {"la-console-houayxai"};
	blo_provision_opts_t revoke = {.revoke = who, .n_revoke = 1};
	blo_provision_opts_t reinstate = {.reinstate = who, .n_reinstate = 1};
	blo_provision_report_t report;
	blo_registry_t *reg;
	entries_t e;

	(void)state;
	read_entries(example, &e);
	provision(example, NULL, NULL);
	provision(example, &revoke, &report);
	assert_true(report.registry_changed);
	assert_int_equal(report.registry_version, 2);
	assert_int_equal(report.n_revoked, 1);
	assert_int_equal(report.n_generated, 0);
	reg = load_registry();
	assert_int_equal(blo_registry_count(reg), e.n);
	assert_true(blo_registry_find(reg, "la-console-houayxai")->revoked);
	assert_false(blo_registry_find(reg, "la-console-tonpheung")->revoked);
	blo_registry_destroy(&reg);

	/* A later run without the flag does not lift the revocation. */
	provision(example, NULL, &report);
	assert_false(report.registry_changed);
	assert_int_equal(report.registry_version, 2);
	assert_int_equal(report.n_revoked, 1);
	reg = load_registry();
	assert_true(blo_registry_find(reg, "la-console-houayxai")->revoked);
	blo_registry_destroy(&reg);

	/* Revoking again changes nothing; reinstating does. */
	provision(example, &revoke, &report);
	assert_false(report.registry_changed);
	provision(example, &reinstate, &report);
	assert_true(report.registry_changed);
	assert_int_equal(report.registry_version, 3);
	reg = load_registry();
	assert_false(blo_registry_find(reg, "la-console-houayxai")->revoked);
	blo_registry_destroy(&reg);
}

static void test_both_revoke_and_reinstate_is_refused(void **state)
{
	static const char *const who[] = {"th-admin"};
	blo_provision_opts_t opts = {.revoke = who, .n_revoke = 1, .reinstate = who,
				     .n_reinstate = 1};
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_provision_run(example, out, &opts, NULL, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "th-admin"));
}

static void test_unknown_ids_in_opts_are_refused(void **state)
{
	static const char *const who[] = {"th-admin", "vn-ghost"};
	blo_provision_opts_t rotate = {.rotate = who, .n_rotate = 2};
	blo_provision_opts_t revoke = {.revoke = who + 1, .n_revoke = 1};
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_provision_run(example, out, &rotate, NULL, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "--rotate"));
	assert_non_null(strstr(err.msg, "\"vn-ghost\""));
	assert_int_equal(blo_provision_run(example, out, &revoke, NULL, &err), BLO_EINVAL);
	assert_non_null(strstr(err.msg, "--revoke"));
	/* Nothing was written. */
	assert_int_equal(access(out, F_OK), -1);
}

/* ---------------------------------------------------------------- small topologies */

#define TWO_BROKERS                                                                      \
	"\"brokers\": [\n"                                                               \
	"  {\"id\": \"th-broker\", \"country\": \"TH\", \"listen\": \"tcp://127.0.0.1:0\"},\n" \
	"  {\"id\": \"la-broker\", \"country\": \"LA\", \"listen\": [\"tcp://127.0.0.1:0\"]}\n" \
	"]"

#define TH_AGENT                                                                         \
	"{\"id\": \"th-customs-maesai\", \"role\": \"agent\", \"country\": \"TH\", "        \
	"\"agency\": \"CUSTOMS\", \"site\": \"TH-MAESAI\", \"broker\": \"th-broker\"}"

static char *write_topology(const char *name, const char *text)
{
	char *path = strf("%s/%s", tmp, name);

	E(blo_write_file_atomic(path, text, strlen(text), 0644));
	return path;
}

static void test_new_principal_gets_an_identity_and_the_rest_are_kept(void **state)
{
	char *v1 = write_topology("v1.json", "{\"name\": \"small\", " TWO_BROKERS ", "
					     "\"links\": [[\"th-broker\", \"la-broker\"]], "
					     "\"principals\": [" TH_AGENT "]}");
	char *v2 = write_topology(
		"v2.json", "{\"name\": \"small\", " TWO_BROKERS ", "
			   "\"links\": [[\"th-broker\", \"la-broker\"]], \"principals\": [" TH_AGENT
			   ", {\"id\": \"la-committee\", \"role\": \"committee\", \"country\": "
			   "\"LA\", \"broker\": \"la-broker\"}]}");
	blo_provision_report_t report;
	char *secret = node_file("th-customs-maesai", "identity.secret.json");
	char *before, *after;
	blo_registry_t *reg;
	const blo_principal_t *p;

	(void)state;
	provision(v1, NULL, NULL);
	before = slurp(secret);
	provision(v2, NULL, &report);
	after = slurp(secret);
	assert_string_equal(before, after);
	assert_int_equal(report.n_generated, 1);
	assert_int_equal(report.registry_version, 2);
	reg = load_registry();
	p = blo_registry_find(reg, "la-committee");
	assert_non_null(p);
	assert_int_equal(p->role, BLO_ROLE_COMMITTEE);
	assert_int_equal(p->agency, BLONET__AGENCY_KIND__COORDINATION);
	assert_string_equal(p->site, "");
	blo_registry_destroy(&reg);
	free(before);
	free(after);
	free(secret);
	free(v1);
	free(v2);
}

static void test_fixed_ports_and_a_separate_connect_endpoint(void **state)
{
	char *topo = write_topology(
		"fixed.json",
		"{\"name\": \"fixed\", \"brokers\": [\n"
		"  {\"id\": \"th-broker\", \"country\": \"TH\", \"listen\": [\"tcp://0.0.0.0:7400\", "
		"\"ipc:///tmp/th.sock\"], \"endpoint\": \"tcp://192.0.2.10:7400\",\n"
		"   \"journal\": {\"map_size_mb\": 64}, \"audit\": {\"max_records\": 1000}, "
		"\"limits\": {\"max_in_flight\": 32}, "
		"\"log_level\": \"debug\"},\n"
		"  {\"id\": \"la-broker\", \"country\": \"LA\", \"listen\": \"tcp://0.0.0.0:0\", "
		"\"endpoint\": \"tcp://192.0.2.20:0\", \"agency\": \"BORDER_POLICE\"}],\n"
		" \"links\": [[\"la-broker\", \"th-broker\"]],\n"
		" \"principals\": [" TH_AGENT "]}");
	blo_broker_settings_t th, la;
	blo_client_settings_t agent;
	const blo_peer_settings_t *peer;
	blo_provision_report_t report;
	blo_registry_t *reg;
	int la_port;

	(void)state;
	provision(topo, NULL, &report);
	assert_int_equal(report.n_ports_picked, 1);
	load_broker("th-broker", &th);
	load_broker("la-broker", &la);
	load_client("th-customs-maesai", &agent);
	assert_int_equal(th.listen.n, 2);
	assert_string_equal(th.listen.v[0], "tcp://0.0.0.0:7400");
	assert_string_equal(th.listen.v[1], "ipc:///tmp/th.sock");
	assert_int_equal(th.journal.map_size_mb, 64);
	assert_int_equal(th.journal.max_age_hours, 24 * 90);
	assert_int_equal(th.audit.max_records, 1000);
	assert_int_equal(th.audit.max_age_hours, 24 * 30);
	assert_int_equal(th.limits.max_in_flight, 32);
	assert_int_equal(th.log_level, BLO_LOG_DEBUG);
	assert_string_equal(agent.broker.endpoint, "tcp://192.0.2.10:7400");
	la_port = port_of(la.listen.v[0]);
	assert_true(la_port > 0);
	assert_int_equal(strncmp(la.listen.v[0], "tcp://0.0.0.0:", 14), 0);
	peer = th.peers.v;
	assert_int_equal(th.peers.n, 1);
	assert_string_equal(peer->id, "la-broker");
	assert_int_equal(strncmp(peer->endpoint, "tcp://192.0.2.20:", 17), 0);
	assert_int_equal(port_of(peer->endpoint), la_port);
	peer = la.peers.v;
	assert_string_equal(peer->endpoint, "tcp://192.0.2.10:7400");
	reg = load_registry();
	assert_int_equal(blo_registry_find(reg, "la-broker")->agency,
			 BLONET__AGENCY_KIND__BORDER_POLICE);
	blo_registry_destroy(&reg);
	blo_broker_settings_free(&th);
	blo_broker_settings_free(&la);
	blo_client_settings_free(&agent);
	free(topo);
}

static void test_missing_authority_key_with_a_registry_is_refused(void **state)
{
	char *path = strf("%s/authority/authority.secret.json", out);
	blo_err_t err = {0};

	(void)state;
	provision(example, NULL, NULL);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(blo_provision_run(example, out, NULL, NULL, &err), BLO_EKEY);
	assert_non_null(strstr(err.msg, "authority.secret.json"));
	/* No new authority was written in its place. */
	assert_int_equal(access(path, F_OK), -1);
	free(path);
}

static void test_tampered_registry_is_refused(void **state)
{
	char *path = strf("%s/registry.json", out);
	char *text, *at;
	blo_err_t err = {0};

	(void)state;
	provision(example, NULL, NULL);
	text = slurp(path);
	at = strstr(text, "\"TH-MAESAI\"");
	assert_non_null(at);
	memcpy(at, "\"TH-MAESAX\"", 11);
	E(blo_write_file_atomic(path, text, strlen(text), 0644));
	assert_int_equal(blo_provision_run(example, out, NULL, NULL, &err), BLO_ESIGNATURE);
	assert_non_null(strstr(err.msg, "registry.json"));
	free(text);
	free(path);
}

static void test_unsafe_secret_file_is_refused_not_replaced(void **state)
{
	char *path = node_file("th-admin", "identity.secret.json");
	char *before, *after;
	blo_err_t err = {0};

	(void)state;
	provision(example, NULL, NULL);
	before = slurp(path);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(blo_provision_run(example, out, NULL, NULL, &err), BLO_EKEY);
	assert_non_null(strstr(err.msg, path));
	after = slurp(path);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(path);
}

static void test_another_principals_key_file_is_refused(void **state)
{
	char *from = node_file("th-admin", "identity.secret.json");
	char *to = node_file("th-committee", "identity.secret.json");
	char *text;
	blo_err_t err = {0};

	(void)state;
	provision(example, NULL, NULL);
	text = slurp(from);
	E(blo_write_file_atomic(to, text, strlen(text), 0600));
	assert_int_equal(blo_provision_run(example, out, NULL, NULL, &err), BLO_EKEY);
	assert_non_null(strstr(err.msg, "\"th-admin\""));
	free(text);
	free(from);
	free(to);
}

/* ---------------------------------------------------------------- validation */

typedef struct {
	const char *text;
	const char *expect[4]; /* fragments the message must hold */
} bad_case_t;

static const bad_case_t bad_cases[] = {
	/* the file itself */
	{"{\"name\": \"x\",\n " TWO_BROKERS ",\n \"principals\": [,]}",
	 {"line 6", "invalid JSON"}},
	{"[1, 2]", {"expected a JSON object"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"brokerz\": []}",
	 {"unknown field \"brokerz\"", "known: name, brokers"}},
	{"{\"name\": \"x\", \"name\": \"y\", " TWO_BROKERS "}", {"field \"name\"", "given twice"}},
	{"{" TWO_BROKERS "}", {"field \"name\"", "missing"}},
	{"{\"name\": \"\", " TWO_BROKERS "}", {"field \"name\"", "empty"}},
	{"{\"name\": \"x\", \"brokers\": []}", {"field \"brokers\"", "non-empty list"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": {}}", {"field \"principals\""}},

	/* brokers */
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\"}]}",
	 {"brokers[0] (\"th-broker\")", "field \"listen\"", "missing"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": []}]}",
	 {"brokers[0] (\"th-broker\")", "field \"listen\"", "empty"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": [\"tcp://127.0.0.1:0\", \"udp://127.0.0.1:9\"]}]}",
	 {"brokers[0] (\"th-broker\")", "field \"listen[1]\"", "tcp://HOST:PORT"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:70000\"}]}",
	 {"brokers[0] (\"th-broker\")", "field \"listen\"", "port"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://0.0.0.0:7400\"}]}",
	 {"brokers[0] (\"th-broker\")", "field \"endpoint\"", "binds every interface"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\", \"lisen\": 1}]}",
	 {"brokers[0] (\"th-broker\")", "unknown field \"lisen\""}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"XX\", "
	 "\"listen\": \"tcp://127.0.0.1:0\"}]}",
	 {"brokers[0] (\"th-broker\")", "field \"country\"", "\"XX\" is not an ISO 3166"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"th\", "
	 "\"listen\": \"tcp://127.0.0.1:0\"}]}",
	 {"brokers[0] (\"th-broker\")", "field \"country\""}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\"}]}",
	 {"brokers[0] (\"th broker\")", "field \"id\"", "not a principal id"}},
	{"{\"name\": \"x\", \"brokers\": [{\"country\": \"TH\", \"listen\": \"tcp://127.0.0.1:0\"}]}",
	 {"brokers[0]: field \"id\"", "missing"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"authority\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\"}]}",
	 {"brokers[0] (\"authority\")", "field \"id\"", "reserved"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:7400\"}, {\"id\": \"th-broker2\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:7400\"}]}",
	 {"brokers[1] (\"th-broker2\")", "field \"listen\"", "also where brokers[0]"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\", \"journal\": {\"map_size_mb\": 0}}]}",
	 {"brokers[0] (\"th-broker\")", "journal.map_size_mb"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\", \"audit\": {\"max_records\": -1}}]}",
	 {"brokers[0] (\"th-broker\")", "audit.max_records"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\", \"audit\": 5}]}",
	 {"brokers[0] (\"th-broker\")", "field \"audit\"", "expected an object"}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\", \"log_level\": \"loud\"}]}",
	 {"brokers[0] (\"th-broker\")", "field \"log_level\""}},
	{"{\"name\": \"x\", \"brokers\": [{\"id\": \"th-broker\", \"country\": \"TH\", "
	 "\"listen\": \"tcp://127.0.0.1:0\", \"agency\": \"ARMY\"}]}",
	 {"brokers[0] (\"th-broker\")", "field \"agency\"", "\"ARMY\" is not an agency"}},

	/* principals */
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-broker\", "
	 "\"role\": \"console\", \"country\": \"TH\", \"site\": \"TH-MAESAI\", "
	 "\"broker\": \"th-broker\"}]}",
	 {"principals[0] (\"th-broker\")", "field \"id\"", "already the id of brokers[0]"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [" TH_AGENT ", " TH_AGENT "]}",
	 {"principals[1] (\"th-customs-maesai\")", "field \"id\"",
	  "already the id of principals[0]"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-officer\", "
	 "\"role\": \"officer\", \"country\": \"TH\", \"broker\": \"th-broker\"}]}",
	 {"principals[0] (\"th-officer\")", "field \"role\"", "\"officer\" is not a role"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-broker2\", "
	 "\"role\": \"broker\", \"country\": \"TH\", \"broker\": \"th-broker\"}]}",
	 {"principals[0] (\"th-broker2\")", "field \"role\"", "listed under \"brokers\""}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-customs\", "
	 "\"role\": \"agent\", \"country\": \"TH\", \"agency\": \"POLICE\", \"site\": \"TH-X\", "
	 "\"broker\": \"th-broker\"}]}",
	 {"principals[0] (\"th-customs\")", "field \"agency\"", "\"POLICE\" is not an agency",
	  "NARCOTICS_POLICE"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-customs\", "
	 "\"role\": \"agent\", \"country\": \"TH\", \"site\": \"TH-X\", \"broker\": "
	 "\"th-broker\"}]}",
	 {"principals[0] (\"th-customs\")", "field \"agency\"", "missing"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-console\", "
	 "\"role\": \"console\", \"country\": \"TH\", \"broker\": \"th-broker\"}]}",
	 {"principals[0] (\"th-console\")", "field \"site\"", "missing"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-console\", "
	 "\"role\": \"console\", \"country\": \"TH\", \"site\": \"TH MAESAI\", \"broker\": "
	 "\"th-broker\"}]}",
	 {"principals[0] (\"th-console\")", "field \"site\"", "not a site id"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-committee\", "
	 "\"role\": \"committee\", \"country\": \"VNM\", \"broker\": \"th-broker\"}]}",
	 {"principals[0] (\"th-committee\")", "field \"country\""}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-committee\", "
	 "\"role\": \"committee\", \"country\": \"TH\", \"broker\": \"vn-broker\"}]}",
	 {"principals[0] (\"th-committee\")", "field \"broker\"",
	  "\"vn-broker\" is not a broker of the topology"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-committee\", "
	 "\"role\": \"committee\", \"country\": \"TH\", \"broker\": \"la-broker\"}]}",
	 {"principals[0] (\"th-committee\")", "field \"broker\"",
	  "\"la-broker\" is in LA, not in the principal's country TH"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [" TH_AGENT ", {\"id\": "
	 "\"th-committee\", \"role\": \"committee\", \"country\": \"TH\", \"broker\": "
	 "\"th-customs-maesai\"}]}",
	 {"principals[1] (\"th-committee\")", "field \"broker\"", "a principal, not a broker"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-committee\", "
	 "\"role\": \"committee\", \"country\": \"TH\"}]}",
	 {"principals[0] (\"th-committee\")", "field \"broker\"", "missing"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [{\"id\": \"th-committee\", "
	 "\"role\": \"committee\", \"country\": \"TH\", \"broker\": \"th-broker\", "
	 "\"email\": \"x\"}]}",
	 {"principals[0] (\"th-committee\")", "unknown field \"email\""}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [" TH_AGENT ", {\"id\": "
	 "\"la-console\", \"role\": \"console\", \"country\": \"LA\", \"site\": \"TH-MAESAI\", "
	 "\"broker\": \"la-broker\"}]}",
	 {"principals[1] (\"la-console\")", "field \"site\"", "a site in TH"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [42]}",
	 {"principals[0]: expected an object"}},

	/* links */
	{"{\"name\": \"x\", " TWO_BROKERS ", \"links\": [[\"th-broker\", \"vn-broker\"]]}",
	 {"links[0]", "\"vn-broker\" is not a broker of the topology"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"links\": [[\"th-broker\", \"th-broker\"]]}",
	 {"links[0]", "links \"th-broker\" to itself"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"links\": [[\"th-broker\", \"la-broker\"], "
	 "[\"la-broker\", \"th-broker\"]]}",
	 {"links[1]", "already linked"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"links\": [[\"th-broker\"]]}",
	 {"links[0]", "pair of broker ids"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [" TH_AGENT "], \"links\": "
	 "[[\"th-broker\", \"th-customs-maesai\"]]}",
	 {"links[0]", "a principal, not a broker"}},

	/* operations */
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [" TH_AGENT "], \"operations\": "
	 "[{\"code\": \"OP-X\", \"members\": [\"th-customs-maesai\", \"la-ghost\"]}]}",
	 {"operations[0] (\"OP-X\")", "field \"members[1]\"",
	  "\"la-ghost\" is not a broker or principal"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"principals\": [" TH_AGENT "], \"operations\": "
	 "[{\"code\": \"OP-X\", \"members\": [\"th-customs-maesai\", \"th-customs-maesai\"]}]}",
	 {"operations[0] (\"OP-X\")", "field \"members[1]\"", "listed twice"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"operations\": [{\"code\": \"OP-X\", "
	 "\"members\": [\"th-broker\"]}, {\"code\": \"OP-X\", \"members\": [\"la-broker\"]}]}",
	 {"operations[1] (\"OP-X\")", "field \"code\"", "listed twice"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"operations\": [{\"code\": \"OP X\", "
	 "\"members\": [\"th-broker\"]}]}",
	 {"operations[0] (\"OP X\")", "field \"code\"", "not an operation code"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"operations\": [{\"code\": \"OP-X\", "
	 "\"members\": []}]}",
	 {"operations[0] (\"OP-X\")", "field \"members\"", "non-empty"}},
	{"{\"name\": \"x\", " TWO_BROKERS ", \"operations\": [{\"code\": \"OP-X\", "
	 "\"members\": [\"th-broker\"], \"chief\": \"th-broker\"}]}",
	 {"operations[0] (\"OP-X\")", "unknown field \"chief\""}},
};

static void test_each_validation_error_names_file_entry_and_field(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const bad_case_t *c = &bad_cases[i];
		char *path = write_topology("bad.json", c->text);
		blo_err_t err = {0};
		int rc = blo_provision_run(path, out, NULL, NULL, &err);

		if (rc != BLO_ECONFIG)
			fail_msg("case %zu: rc %d (%s), expected BLO_ECONFIG: %s", i, rc,
				 blo_strerror(rc), err.msg);
		if (strncmp(err.msg, path, strlen(path)) != 0)
			fail_msg("case %zu: message does not start with the file: %s", i, err.msg);
		for (size_t k = 0; k < 4 && c->expect[k] != NULL; k++) {
			if (strstr(err.msg, c->expect[k]) == NULL)
				fail_msg("case %zu: message lacks \"%s\": %s", i, c->expect[k],
					 err.msg);
		}
		/* Refused before anything was written. */
		if (access(out, F_OK) == 0)
			fail_msg("case %zu: %s was made", i, out);
		free(path);
	}
}

static void test_missing_topology_file_is_enoent_naming_it(void **state)
{
	char *path = strf("%s/absent.json", tmp);
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_provision_run(path, out, NULL, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, path));
	free(path);
}

/* ---------------------------------------------------------------- the program */

/* Runs argv, returns its exit status; its stderr goes to *errtext. */
static int run_program(char *const argv[], char **errtext)
{
	char *errpath = strf("%s/stderr.txt", tmp);
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int devnull = open("/dev/null", O_WRONLY);

		if (fd < 0 || devnull < 0 || dup2(fd, 2) < 0 || dup2(devnull, 1) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*errtext = slurp(errpath);
	free(errpath);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The program under test: $BLO_PROVISION_BIN, else in $BLO_BIN (where
 * make check says this build's programs are), else bin/ of the source tree. */
static char *program_path(void)
{
	const char *given = getenv("BLO_PROVISION_BIN");
	const char *bindir = getenv("BLO_BIN");
	const char *src = getenv("BLO_SRCDIR");

	if (given != NULL && given[0] != '\0')
		return strf("%s", given);
	if (bindir != NULL && bindir[0] != '\0')
		return strf("%s/blonet-provision", bindir);
	return strf("%s/bin/blonet-provision", src != NULL && src[0] != '\0' ? src : ".");
}

static void test_the_program_provisions_and_reports_errors(void **state)
{
	char *prog = program_path();
	char *bad = write_topology("bad.json", "{\"name\": \"x\", " TWO_BROKERS
					       ", \"links\": [[\"th-broker\", \"vn-broker\"]]}");
	char *registry = strf("%s/registry.json", out);
	char *errtext = NULL;

	(void)state;
	if (access(prog, X_OK) != 0) {
		fprintf(stderr, "skipped: %s is not built (make all)\n", prog);
		free(prog);
		free(bad);
		free(registry);
		skip();
	}
	{
		char *argv[] = {prog, example, "--out", out, NULL};

		assert_int_equal(run_program(argv, &errtext), 0);
		free(errtext);
		assert_int_equal(access(registry, R_OK), 0);
	}
	{
		char *argv[] = {prog, example, "--out", out, "--rotate", "th-admin", NULL};
		blo_registry_t *reg;

		assert_int_equal(run_program(argv, &errtext), 0);
		free(errtext);
		reg = load_registry();
		assert_int_equal(blo_registry_version(reg), 2);
		blo_registry_destroy(&reg);
	}
	{
		char *argv[] = {prog, bad, "--out", out, NULL};

		assert_int_equal(run_program(argv, &errtext), 1);
		assert_non_null(strstr(errtext, bad));
		assert_non_null(strstr(errtext, "links[0]"));
		assert_non_null(strstr(errtext, "vn-broker"));
		free(errtext);
	}
	{
		char *argv[] = {prog, example, NULL};

		assert_int_equal(run_program(argv, &errtext), 1);
		assert_non_null(strstr(errtext, "--out"));
		free(errtext);
	}
	{
		char *argv[] = {prog, "--help", NULL};

		assert_int_equal(run_program(argv, &errtext), 0);
		free(errtext);
	}
	free(prog);
	free(bad);
	free(registry);
}

/* Each test gets a fresh folder. */
#define T(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_example_produces_every_file_with_its_mode),
		T(test_every_config_loads_with_the_programs_loaders),
		T(test_registry_holds_every_principal_with_role_country_site),
		T(test_port_zero_gets_one_concrete_port_everyone_uses),
		T(test_rerun_keeps_keys_ports_and_registry),
		T(test_rerun_restores_a_deleted_public_file),
		T(test_rotate_changes_only_that_principal_and_bumps_version),
		T(test_revoke_keeps_the_entry_marked_and_sticks),
		T(test_both_revoke_and_reinstate_is_refused),
		T(test_unknown_ids_in_opts_are_refused),
		T(test_new_principal_gets_an_identity_and_the_rest_are_kept),
		T(test_fixed_ports_and_a_separate_connect_endpoint),
		T(test_missing_authority_key_with_a_registry_is_refused),
		T(test_tampered_registry_is_refused),
		T(test_unsafe_secret_file_is_refused_not_replaced),
		T(test_another_principals_key_file_is_refused),
		T(test_each_validation_error_names_file_entry_and_field),
		T(test_missing_topology_file_is_enoent_naming_it),
		T(test_the_program_provisions_and_reports_errors),
	};

	return cmocka_run_group_tests_name("provision", tests, NULL, NULL);
}
