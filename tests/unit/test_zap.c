/*
 * Tests of blo_zap: a real ROUTER CURVE server on tcp://127.0.0.1 (ephemeral
 * port), DEALER clients with generated identities and a real signed registry.
 * Refusals are proved by the server's monitor events and the ZAP counters,
 * and by a registered client's message arriving first afterwards; waits are
 * bounded (WAIT_MS) but nothing asserts a duration.
 */
#include "blo_test.h"
#include "blo_zap.h"

#include <errno.h>
#include <zmq.h>

/* A draft name in 4.3's zmq.h, though libzmq 4.3.4 implements it. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* Upper bound on any wait for an event or a message; a pass never waits
 * this long. */
#define WAIT_MS 10000
#define MAX_BYTES 4096

/* ---------------------------------------------------------------- fixture */

typedef struct {
	const char *id, *role, *country, *agency, *site;
	bool revoked;
	bool registered; /* false: has keys, but no entry in the registry */
} fixture_principal_t;

enum {
	TH_BROKER,
	LA_BROKER,
	TH_CONSOLE,
	TH_CUSTOMS,
	TH_COMMITTEE,
	LA_ADMIN,
	LA_REVOKED,
	STRANGER,
	N_PRINCIPALS
};

static const fixture_principal_t principals[N_PRINCIPALS] = {
	[TH_BROKER] = {"th-broker", "broker", "TH", "COORDINATION", "", false, true},
	[LA_BROKER] = {"la-broker", "broker", "LA", "COORDINATION", "", false, true},
	[TH_CONSOLE] = {"th-console-maesai", "console", "TH", "COORDINATION", "TH-MAESAI", false,
			true},
	[TH_CUSTOMS] = {"th-customs-maesai", "agent", "TH", "CUSTOMS", "TH-MAESAI", false, true},
	[TH_COMMITTEE] = {"th-committee", "committee", "TH", "COORDINATION", "", false, true},
	[LA_ADMIN] = {"la-admin", "admin", "LA", "COORDINATION", "", false, true},
	[LA_REVOKED] = {"la-console-revoked", "console", "LA", "COORDINATION", "LA-TONPHEUNG", true,
			true},
	[STRANGER] = {"xx-stranger", "console", "TH", "COORDINATION", "TH-MAESAI", false, false},
};

static blo_identity_t *ids[N_PRINCIPALS];
static blo_identity_t *authority;
static blo_registry_t *registry; /* version 1, shared by the tests that do not reload */

/* Builds and parses a signed registry of the registered fixture principals;
 * also_revoke (or NULL) names one more principal to mark revoked. */
static blo_registry_t *build_registry(int version, const char *also_revoke)
{
	cJSON *reg = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(reg, "principals");
	blo_registry_t *out = NULL;
	blo_err_t err = {0};
	char *text = NULL;

	cJSON_AddStringToObject(reg, "name", "zap-test");
	cJSON_AddNumberToObject(reg, "version", version);
	for (size_t i = 0; i < N_PRINCIPALS; i++) {
		const fixture_principal_t *fp = &principals[i];
		const blo_public_identity_t *pub = blo_identity_public(ids[i]);
		cJSON *p;
		char hex[2 * BLO_SIGN_PUBLIC_BYTES + 1], z85[BLO_Z85_KEY_CHARS + 1];

		if (!fp->registered)
			continue;
		p = cJSON_CreateObject();
		E(blo_hex_encode(hex, sizeof(hex), pub->sign_public, BLO_SIGN_PUBLIC_BYTES));
		E(blo_z85_encode_key(z85, pub->curve_public));
		cJSON_AddStringToObject(p, "id", fp->id);
		cJSON_AddStringToObject(p, "role", fp->role);
		cJSON_AddStringToObject(p, "country", fp->country);
		cJSON_AddStringToObject(p, "agency", fp->agency);
		cJSON_AddStringToObject(p, "site", fp->site);
		cJSON_AddStringToObject(p, "sign_public", hex);
		cJSON_AddStringToObject(p, "curve_public", z85);
		if (fp->revoked || (also_revoke != NULL && strcmp(also_revoke, fp->id) == 0))
			cJSON_AddTrueToObject(p, "revoked");
		cJSON_AddItemToArray(list, p);
	}
	if (blo_registry_sign(reg, authority, &text, &err) != 0)
		fail_msg("sign: %s", err.msg);
	if (blo_registry_parse(&out, text, strlen(text),
			       blo_identity_public(authority)->sign_public, &err) != 0)
		fail_msg("parse: %s", err.msg);
	free(text);
	cJSON_Delete(reg);
	return out;
}

static int setup_fixture(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_PRINCIPALS; i++)
		E(blo_identity_generate(&ids[i], principals[i].id));
	E(blo_identity_generate(&authority, "authority"));
	registry = build_registry(1, NULL);
	return 0;
}

static int teardown_fixture(void **state)
{
	(void)state;
	blo_registry_destroy(&registry);
	for (size_t i = 0; i < N_PRINCIPALS; i++)
		blo_identity_destroy(&ids[i]);
	blo_identity_destroy(&authority);
	return 0;
}

static const uint8_t *curve_public(int who)
{
	return blo_identity_public(ids[who])->curve_public;
}

/* ---------------------------------------------------------------- the rig */

#define HANDSHAKE_EVENTS                                                                 \
	(ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |          \
	 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

/* One context with (or without) a ZAP handler, a ROUTER CURVE server of
 * th-broker and a monitor on it. */
typedef struct {
	void *ctx;
	blo_zap_t *zap;
	void *server;
	void *monitor;
	char endpoint[256];
	void *clients[8];
	size_t n_clients;
} rig_t;

static void rig_monitor_and_bind(rig_t *rig)
{
	size_t len = sizeof(rig->endpoint);
	char monitor_endpoint[64];
	static int monitor_seq;

	snprintf(monitor_endpoint, sizeof(monitor_endpoint), "inproc://zap-test-monitor-%d",
		 ++monitor_seq);
	assert_int_equal(zmq_socket_monitor(rig->server, monitor_endpoint,
					    HANDSHAKE_EVENTS | ZMQ_EVENT_DISCONNECTED),
			 0);
	rig->monitor = zmq_socket(rig->ctx, ZMQ_PAIR);
	assert_non_null(rig->monitor);
	assert_int_equal(zmq_connect(rig->monitor, monitor_endpoint), 0);
	assert_int_equal(zmq_bind(rig->server, "tcp://127.0.0.1:*"), 0);
	assert_int_equal(zmq_getsockopt(rig->server, ZMQ_LAST_ENDPOINT, rig->endpoint, &len), 0);
}

/* The broker's configuration: "blonet" for every role, "blonet-mesh" for
 * brokers only. */
static void allow_broker_domains(blo_zap_t *zap)
{
	E(blo_zap_allow_domain(zap, "blonet", BLO_ZAP_ROLES_ALL));
	E(blo_zap_allow_domain(zap, "blonet-mesh", BLO_ZAP_ROLE(BLO_ROLE_BROKER)));
}

static void rig_start(rig_t *rig, const char *domain, bool with_zap)
{
	blo_err_t err = {0};

	memset(rig, 0, sizeof(*rig));
	rig->ctx = zmq_ctx_new();
	assert_non_null(rig->ctx);
	if (with_zap) {
		if (blo_zap_start(&rig->zap, rig->ctx, registry, &err) != 0)
			fail_msg("blo_zap_start: %s", err.msg);
		allow_broker_domains(rig->zap);
	}
	rig->server = zmq_socket(rig->ctx, ZMQ_ROUTER);
	assert_non_null(rig->server);
	if (blo_curve_server_setup(rig->server, ids[TH_BROKER], domain, MAX_BYTES, &err) != 0)
		fail_msg("blo_curve_server_setup: %s", err.msg);
	rig_monitor_and_bind(rig);
}

static void close_now(void *socket)
{
	int zero = 0;

	zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_close(socket), 0);
}

static void rig_stop(rig_t *rig)
{
	for (size_t i = 0; i < rig->n_clients; i++)
		close_now(rig->clients[i]);
	close_now(rig->server);
	close_now(rig->monitor);
	blo_zap_stop(&rig->zap);
	assert_null(rig->zap);
	assert_int_equal(zmq_ctx_term(rig->ctx), 0);
}

/* A DEALER that does not reconnect (so each refusal happens once), closed by
 * rig_stop. */
static void *rig_dealer(rig_t *rig)
{
	void *dealer = zmq_socket(rig->ctx, ZMQ_DEALER);
	int no_reconnect = -1;

	assert_non_null(dealer);
	assert_true(rig->n_clients < sizeof(rig->clients) / sizeof(rig->clients[0]));
	rig->clients[rig->n_clients++] = dealer;
	assert_int_equal(
		zmq_setsockopt(dealer, ZMQ_RECONNECT_IVL, &no_reconnect, sizeof(no_reconnect)), 0);
	return dealer;
}

/*
 * Connects and sends text. The message is queued on the pipe zmq_connect
 * makes, and leaves only once the handshake succeeds. A client the server
 * refuses may already have lost that pipe by the time it sends (a refusal
 * ends the session, and these clients never reconnect): then the send finds
 * nowhere to go (EAGAIN), which is also a message that never reaches the
 * server. An admitted client's send must always be queued.
 */
static void connect_and_send(void *dealer, const char *endpoint, const char *text, bool admitted)
{
	int rc;

	assert_int_equal(zmq_connect(dealer, endpoint), 0);
	rc = zmq_send(dealer, text, strlen(text), ZMQ_DONTWAIT);
	if (admitted || rc != -1 || errno != EAGAIN)
		assert_int_equal(rc, (int)strlen(text));
}

/* A CURVE client of principal `who` that trusts server_key, sending text;
 * admitted says whether the server is expected to let it in. */
static void *rig_curve_client(rig_t *rig, int who, const uint8_t *server_key, const char *text,
			      bool admitted)
{
	void *dealer = rig_dealer(rig);
	blo_err_t err = {0};

	if (blo_curve_client_setup(dealer, ids[who], server_key, MAX_BYTES, &err) != 0)
		fail_msg("blo_curve_client_setup: %s", err.msg);
	connect_and_send(dealer, rig->endpoint, text, admitted);
	return dealer;
}

/* Waits (bounded) for the next monitor event in mask; returns it and its
 * value. */
static int wait_event(rig_t *rig, int mask, uint32_t *value)
{
	for (;;) {
		zmq_pollitem_t item = {.socket = rig->monitor, .events = ZMQ_POLLIN};
		zmq_msg_t first, second;
		uint16_t event;

		if (zmq_poll(&item, 1, WAIT_MS) != 1)
			fail_msg("no monitor event in mask 0x%x within %d ms", mask, WAIT_MS);
		zmq_msg_init(&first);
		zmq_msg_init(&second);
		assert_int_equal(zmq_msg_recv(&first, rig->monitor, 0), 6);
		assert_true(zmq_msg_more(&first));
		assert_true(zmq_msg_recv(&second, rig->monitor, 0) >= 0);
		memcpy(&event, zmq_msg_data(&first), sizeof(event));
		memcpy(value, (uint8_t *)zmq_msg_data(&first) + 2, sizeof(*value));
		zmq_msg_close(&first);
		zmq_msg_close(&second);
		if (event & mask)
			return event;
	}
}

static void expect_event(rig_t *rig, int want, uint32_t want_value)
{
	uint32_t value = 0;
	int event = wait_event(rig, HANDSHAKE_EVENTS, &value);

	if (event != want || value != want_value)
		fail_msg("monitor: event 0x%x value %u, wanted 0x%x value %u", event, value, want,
			 want_value);
}

/* Receives [routing id, payload] on the server (bounded wait); checks the
 * payload and returns the User-Id libzmq attached (copied into user_id). */
static void server_receive(rig_t *rig, const char *want_text, char *user_id, size_t user_id_size)
{
	zmq_pollitem_t item = {.socket = rig->server, .events = ZMQ_POLLIN};
	zmq_msg_t routing, payload;
	const char *uid;

	if (zmq_poll(&item, 1, WAIT_MS) != 1)
		fail_msg("no message reached the server within %d ms", WAIT_MS);
	zmq_msg_init(&routing);
	zmq_msg_init(&payload);
	assert_true(zmq_msg_recv(&routing, rig->server, 0) >= 0);
	assert_true(zmq_msg_more(&routing));
	assert_true(zmq_msg_recv(&payload, rig->server, 0) >= 0);
	assert_false(zmq_msg_more(&payload));
	if (zmq_msg_size(&payload) != strlen(want_text) ||
	    memcmp(zmq_msg_data(&payload), want_text, strlen(want_text)) != 0)
		fail_msg("server received %.*s, wanted %s", (int)zmq_msg_size(&payload),
			 (const char *)zmq_msg_data(&payload), want_text);
	uid = blo_zap_user_id(&payload);
	snprintf(user_id, user_id_size, "%s", uid == NULL ? "(none)" : uid);
	/* The routing id frame is made by the ROUTER itself, not received
	 * from the peer: it carries no metadata. */
	assert_null(blo_zap_user_id(&routing));
	zmq_msg_close(&routing);
	zmq_msg_close(&payload);
}

static void assert_server_has_nothing(rig_t *rig)
{
	char buf[16];

	assert_int_equal(zmq_recv(rig->server, buf, sizeof(buf), ZMQ_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* After a refusal: nothing is queued, and a registered client connecting
 * now is the first (and only) message the server sees. */
static void assert_refused_then_control_passes(rig_t *rig)
{
	char user_id[BLO_PRINCIPAL_ID_MAX];

	assert_server_has_nothing(rig);
	rig_curve_client(rig, TH_CUSTOMS, curve_public(TH_BROKER), "control", true);
	expect_event(rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(rig, "control", user_id, sizeof(user_id));
	assert_string_equal(user_id, "th-customs-maesai");
	assert_server_has_nothing(rig);
}

static blo_zap_stats_t stats_of(rig_t *rig)
{
	blo_zap_stats_t s;

	blo_zap_stats(rig->zap, &s);
	return s;
}

/* ---------------------------------------------------------------- admitted */

static void test_registered_client_message_carries_its_principal_id(void **state)
{
	rig_t rig;
	char user_id[BLO_PRINCIPAL_ID_MAX];
	blo_zap_stats_t s;

	(void)state;
	rig_start(&rig, "blonet", true);
	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "hello from mae sai", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "hello from mae sai", user_id, sizeof(user_id));
	assert_string_equal(user_id, "th-console-maesai");

	s = stats_of(&rig);
	assert_int_equal(s.allowed, 1);
	assert_int_equal(s.denied_unknown_key + s.denied_revoked + s.denied_role + s.denied_domain +
				 s.denied_mechanism + s.malformed,
			 0);
	rig_stop(&rig);
}

static void test_every_role_is_admitted_on_the_blonet_domain(void **state)
{
	static const int who[] = {TH_CONSOLE, TH_CUSTOMS, TH_COMMITTEE, LA_ADMIN, LA_BROKER};
	rig_t rig;

	(void)state;
	rig_start(&rig, "blonet", true);
	for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		char user_id[BLO_PRINCIPAL_ID_MAX];

		rig_curve_client(&rig, who[i], curve_public(TH_BROKER), principals[who[i]].role,
				 true);
		expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
		server_receive(&rig, principals[who[i]].role, user_id, sizeof(user_id));
		assert_string_equal(user_id, principals[who[i]].id);
	}
	assert_int_equal(stats_of(&rig).allowed, 5);
	rig_stop(&rig);
}

/* ---------------------------------------------------------------- refused by ZAP */

static void test_unknown_key_is_refused(void **state)
{
	rig_t rig;

	(void)state;
	rig_start(&rig, "blonet", true);
	rig_curve_client(&rig, STRANGER, curve_public(TH_BROKER), "let me in", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_unknown_key, 1);
	assert_int_equal(stats_of(&rig).allowed, 0);
	assert_refused_then_control_passes(&rig);
	{
		/* Kept for the audit log: no principal, the key, the address. */
		blo_zap_refusal_t r[4];
		char key[2 * BLO_CURVE_KEY_BYTES + 1];
		uint64_t dropped = 7;

		assert_int_equal(blo_zap_take_refusals(rig.zap, r, 4, &dropped), 1);
		assert_int_equal(dropped, 0);
		assert_string_equal(r[0].reason, "unknown key");
		assert_string_equal(r[0].principal, "");
		assert_int_equal(blo_hex_encode(key, sizeof(key), curve_public(STRANGER),
						BLO_CURVE_KEY_BYTES), 0);
		assert_string_equal(r[0].key, key);
		assert_string_equal(r[0].address, "127.0.0.1");
		/* Taken once. */
		assert_int_equal(blo_zap_take_refusals(rig.zap, r, 4, NULL), 0);
	}
	rig_stop(&rig);
}

/* The handler kept exactly one refusal since the last take: this one. */
static void assert_one_refusal(rig_t *rig, const char *reason, const char *principal)
{
	blo_zap_refusal_t r[4];

	assert_int_equal(blo_zap_take_refusals(rig->zap, r, 4, NULL), 1);
	assert_string_equal(r[0].reason, reason);
	assert_string_equal(r[0].principal, principal);
}

static void test_revoked_key_is_refused(void **state)
{
	rig_t rig;

	(void)state;
	rig_start(&rig, "blonet", true);
	rig_curve_client(&rig, LA_REVOKED, curve_public(TH_BROKER), "still here", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_revoked, 1);
	assert_int_equal(stats_of(&rig).allowed, 0);
	assert_refused_then_control_passes(&rig);
	/* A registered key's refusal names its principal. */
	assert_one_refusal(&rig, "revoked", "la-console-revoked");
	rig_stop(&rig);
}

/* A broker serves its own country's agents, consoles, committees and
 * administrators; brokers of any country may come. */
static void test_home_country_refuses_other_countries_but_brokers(void **state)
{
	rig_t rig;
	char user_id[BLO_PRINCIPAL_ID_MAX];
	const unsigned served = BLO_ZAP_ROLE(BLO_ROLE_AGENT) | BLO_ZAP_ROLE(BLO_ROLE_CONSOLE) |
				BLO_ZAP_ROLE(BLO_ROLE_COMMITTEE) | BLO_ZAP_ROLE(BLO_ROLE_ADMIN);

	(void)state;
	rig_start(&rig, "blonet", true);
	assert_int_equal(blo_zap_home_country(rig.zap, "THA", served), BLO_EINVAL);
	assert_int_equal(blo_zap_home_country(rig.zap, "TH", 1u << 30), BLO_EINVAL);
	E(blo_zap_home_country(rig.zap, "TH", served));
	rig_curve_client(&rig, LA_ADMIN, curve_public(TH_BROKER), "foreign admin", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_country, 1);
	assert_server_has_nothing(&rig);
	assert_one_refusal(&rig, "principal of another country", "la-admin");
	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "home console", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "home console", user_id, sizeof(user_id));
	assert_string_equal(user_id, "th-console-maesai");
	rig_curve_client(&rig, LA_BROKER, curve_public(TH_BROKER), "peer broker", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "peer broker", user_id, sizeof(user_id));
	assert_string_equal(user_id, "la-broker");
	assert_int_equal(stats_of(&rig).allowed, 2);
	rig_stop(&rig);
}

static void test_mesh_domain_refuses_console_and_admits_broker(void **state)
{
	rig_t rig;
	char user_id[BLO_PRINCIPAL_ID_MAX];

	(void)state;
	rig_start(&rig, "blonet-mesh", true);
	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "console on the mesh", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_role, 1);
	assert_server_has_nothing(&rig);

	rig_curve_client(&rig, LA_BROKER, curve_public(TH_BROKER), "peer broker", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "peer broker", user_id, sizeof(user_id));
	assert_string_equal(user_id, "la-broker");
	assert_int_equal(stats_of(&rig).allowed, 1);
	rig_stop(&rig);
}

static void test_domain_never_allowed_is_refused(void **state)
{
	rig_t rig;

	(void)state;
	rig_start(&rig, "blonet-other", true);
	rig_curve_client(&rig, LA_BROKER, curve_public(TH_BROKER), "wrong door", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_domain, 1);
	assert_int_equal(stats_of(&rig).allowed, 0);
	assert_server_has_nothing(&rig);
	rig_stop(&rig);
}

static void test_handler_with_no_domain_allowed_refuses_everyone(void **state)
{
	rig_t rig;
	blo_err_t err = {0};

	(void)state;
	memset(&rig, 0, sizeof(rig));
	rig.ctx = zmq_ctx_new();
	if (blo_zap_start(&rig.zap, rig.ctx, registry, &err) != 0)
		fail_msg("blo_zap_start: %s", err.msg);
	rig.server = zmq_socket(rig.ctx, ZMQ_ROUTER);
	E(blo_curve_server_setup(rig.server, ids[TH_BROKER], "blonet", MAX_BYTES, &err));
	rig_monitor_and_bind(&rig);
	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "anyone?", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_domain, 1);
	assert_server_has_nothing(&rig);
	rig_stop(&rig);
}

/* ---------------------------------------------------------------- refused before ZAP */

static void test_client_without_curve_is_refused(void **state)
{
	rig_t rig;
	blo_zap_stats_t s;

	(void)state;
	rig_start(&rig, "blonet", true);
	connect_and_send(rig_dealer(&rig), rig.endpoint, "no security at all", false);
	/* The greeting names mechanism NULL: libzmq stops there, ZAP is never
	 * asked. */
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
		     ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
	s = stats_of(&rig);
	assert_int_equal(s.allowed + s.denied_mechanism + s.malformed, 0);
	assert_refused_then_control_passes(&rig);
	rig_stop(&rig);
}

static void test_plain_client_is_refused(void **state)
{
	rig_t rig;
	void *dealer;
	blo_zap_stats_t s;

	(void)state;
	rig_start(&rig, "blonet", true);
	dealer = rig_dealer(&rig);
	assert_int_equal(zmq_setsockopt(dealer, ZMQ_PLAIN_USERNAME, "th-console-maesai", 17), 0);
	assert_int_equal(zmq_setsockopt(dealer, ZMQ_PLAIN_PASSWORD, "password", 8), 0);
	connect_and_send(dealer, rig.endpoint, "plain text password", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
		     ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
	s = stats_of(&rig);
	assert_int_equal(s.allowed + s.denied_mechanism + s.malformed, 0);
	assert_refused_then_control_passes(&rig);
	rig_stop(&rig);
}

static void test_client_with_wrong_server_key_is_refused(void **state)
{
	rig_t rig;
	blo_zap_stats_t s;

	(void)state;
	rig_start(&rig, "blonet", true);
	/* A registered client that believes the server is la-broker: the
	 * server cannot open its HELLO. */
	rig_curve_client(&rig, TH_CONSOLE, curve_public(LA_BROKER), "to the wrong broker", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
		     ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
	s = stats_of(&rig);
	assert_int_equal(s.allowed, 0);
	assert_refused_then_control_passes(&rig);
	rig_stop(&rig);
}

/* A server socket misconfigured without CURVE but with a ZAP domain: libzmq
 * asks ZAP with mechanism NULL, which the handler refuses. */
static void test_server_without_curve_refuses_through_zap(void **state)
{
	rig_t rig;
	blo_err_t err = {0};
	int one = 1;

	(void)state;
	memset(&rig, 0, sizeof(rig));
	rig.ctx = zmq_ctx_new();
	if (blo_zap_start(&rig.zap, rig.ctx, registry, &err) != 0)
		fail_msg("blo_zap_start: %s", err.msg);
	allow_broker_domains(rig.zap);
	rig.server = zmq_socket(rig.ctx, ZMQ_ROUTER);
	assert_int_equal(zmq_setsockopt(rig.server, ZMQ_ZAP_DOMAIN, "blonet", 6), 0);
	assert_int_equal(zmq_setsockopt(rig.server, ZMQ_ZAP_ENFORCE_DOMAIN, &one,
					sizeof(one)),
			 0);
	rig_monitor_and_bind(&rig);
	connect_and_send(rig_dealer(&rig), rig.endpoint, "null to null", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_mechanism, 1);
	assert_server_has_nothing(&rig);
	rig_stop(&rig);
}

/* ---------------------------------------------------------------- reload */

static void test_reload_with_revocation_refuses_that_principal_only(void **state)
{
	rig_t rig;
	blo_registry_t *v1 = build_registry(1, NULL);
	blo_registry_t *v2 = build_registry(2, "th-console-maesai");
	char user_id[BLO_PRINCIPAL_ID_MAX];
	blo_err_t err = {0};

	(void)state;
	memset(&rig, 0, sizeof(rig));
	rig.ctx = zmq_ctx_new();
	if (blo_zap_start(&rig.zap, rig.ctx, v1, &err) != 0)
		fail_msg("blo_zap_start: %s", err.msg);
	allow_broker_domains(rig.zap);
	rig.server = zmq_socket(rig.ctx, ZMQ_ROUTER);
	E(blo_curve_server_setup(rig.server, ids[TH_BROKER], "blonet", MAX_BYTES, &err));
	rig_monitor_and_bind(&rig);

	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "before", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "before", user_id, sizeof(user_id));
	assert_string_equal(user_id, "th-console-maesai");

	/* The old registry is destroyed at once: under ASan any later use of
	 * it by the handler would be reported. */
	blo_zap_set_registry(rig.zap, v2);
	blo_registry_destroy(&v1);

	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "after", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400);
	assert_int_equal(stats_of(&rig).denied_revoked, 1);
	assert_refused_then_control_passes(&rig);
	assert_int_equal(stats_of(&rig).allowed, 2);

	rig_stop(&rig);
	blo_registry_destroy(&v2);
}

/* ---------------------------------------------------------------- handler life */

static void test_second_start_on_same_context_fails_cleanly(void **state)
{
	rig_t rig;
	blo_zap_t *second = (blo_zap_t *)&second; /* must be reset to NULL */
	blo_err_t err = {0};
	char user_id[BLO_PRINCIPAL_ID_MAX];

	(void)state;
	rig_start(&rig, "blonet", true);
	assert_int_equal(blo_zap_start(&second, rig.ctx, registry, &err), -EADDRINUSE);
	assert_null(second);
	assert_int_equal(err.code, -EADDRINUSE);
	assert_non_null(strstr(err.msg, "already"));

	/* The first handler is untouched. */
	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "first still serves", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "first still serves", user_id, sizeof(user_id));
	assert_string_equal(user_id, "th-console-maesai");
	rig_stop(&rig);
}

static void test_start_refuses_null_registry_and_stop_accepts_null(void **state)
{
	void *ctx = zmq_ctx_new();
	blo_zap_t *zap = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_zap_start(&zap, ctx, NULL, &err), BLO_EINVAL);
	assert_null(zap);
	blo_zap_stop(&zap);
	blo_zap_stop(NULL);
	/* Nothing stayed bound: a handler can start now. */
	E(blo_zap_start(&zap, ctx, registry, &err));
	blo_zap_stop(&zap);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

/*
 * What libzmq does when no handler answers. With ZMQ_ZAP_ENFORCE_DOMAIN (as
 * blo_curve_server_setup sets it) every client is refused with
 * HANDSHAKE_FAILED_NO_DETAIL (EFAULT); the same after blo_zap_stop. Without
 * it, libzmq 4.3.4 admits any key at all, unauthenticated (no User-Id):
 * that is why the helper refuses to serve without the option.
 */
static void test_server_without_zap_handler_refuses_with_enforce_domain(void **state)
{
	rig_t rig;

	(void)state;
	rig_start(&rig, "blonet", false);
	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "registered, no handler",
			 false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT);
	rig_curve_client(&rig, STRANGER, curve_public(TH_BROKER), "stranger, no handler", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT);
	assert_server_has_nothing(&rig);
	rig_stop(&rig);
}

static void test_handler_stopped_while_serving_refuses_new_clients(void **state)
{
	rig_t rig;
	char user_id[BLO_PRINCIPAL_ID_MAX];
	blo_err_t err = {0};

	(void)state;
	rig_start(&rig, "blonet", true);
	rig_curve_client(&rig, TH_CONSOLE, curve_public(TH_BROKER), "while running", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "while running", user_id, sizeof(user_id));

	blo_zap_stop(&rig.zap);
	rig_curve_client(&rig, TH_CUSTOMS, curve_public(TH_BROKER), "after stop", false);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, EFAULT);
	assert_server_has_nothing(&rig);

	/* The endpoint is free again at once: a new handler serves. */
	E(blo_zap_start(&rig.zap, rig.ctx, registry, &err));
	allow_broker_domains(rig.zap);
	rig_curve_client(&rig, TH_CUSTOMS, curve_public(TH_BROKER), "restarted", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "restarted", user_id, sizeof(user_id));
	assert_string_equal(user_id, "th-customs-maesai");
	rig_stop(&rig);
}

static void test_without_enforce_domain_libzmq_admits_any_key(void **state)
{
	rig_t rig;
	blo_err_t err = {0};
	int zero = 0;
	char user_id[BLO_PRINCIPAL_ID_MAX];

	(void)state;
	memset(&rig, 0, sizeof(rig));
	rig.ctx = zmq_ctx_new();
	rig.server = zmq_socket(rig.ctx, ZMQ_ROUTER);
	E(blo_curve_server_setup(rig.server, ids[TH_BROKER], "blonet", MAX_BYTES, &err));
	/* Undo the one setting that matters: this is what blonet never does. */
	assert_int_equal(zmq_setsockopt(rig.server, ZMQ_ZAP_ENFORCE_DOMAIN, &zero,
					sizeof(zero)),
			 0);
	rig_monitor_and_bind(&rig);
	rig_curve_client(&rig, STRANGER, curve_public(TH_BROKER), "stonehouse", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "stonehouse", user_id, sizeof(user_id));
	assert_string_equal(user_id, "(none)");
	rig_stop(&rig);
}

/* Why blo_curve_server_setup requires a domain: a CURVE server whose
 * ZMQ_ZAP_DOMAIN was never set (libzmq refuses to set it to "") skips ZAP
 * entirely, even with ZMQ_ZAP_ENFORCE_DOMAIN on and a handler running. */
static void test_server_without_domain_skips_zap_even_with_enforce(void **state)
{
	rig_t rig;
	blo_err_t err = {0};
	blo_zap_stats_t s;
	char user_id[BLO_PRINCIPAL_ID_MAX];
	int one = 1;

	(void)state;
	memset(&rig, 0, sizeof(rig));
	rig.ctx = zmq_ctx_new();
	if (blo_zap_start(&rig.zap, rig.ctx, registry, &err) != 0)
		fail_msg("blo_zap_start: %s", err.msg);
	allow_broker_domains(rig.zap);
	rig.server = zmq_socket(rig.ctx, ZMQ_ROUTER);
	assert_int_equal(zmq_setsockopt(rig.server, ZMQ_ZAP_DOMAIN, "", 0), -1);
	assert_int_equal(zmq_setsockopt(rig.server, ZMQ_CURVE_SERVER, &one, sizeof(one)), 0);
	assert_int_equal(zmq_setsockopt(rig.server, ZMQ_CURVE_SECRETKEY,
					blo_identity_curve_secret(ids[TH_BROKER]),
					BLO_CURVE_KEY_BYTES),
			 0);
	assert_int_equal(zmq_setsockopt(rig.server, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)),
			 0);
	rig_monitor_and_bind(&rig);
	rig_curve_client(&rig, STRANGER, curve_public(TH_BROKER), "no domain, no check", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	server_receive(&rig, "no domain, no check", user_id, sizeof(user_id));
	assert_string_equal(user_id, "(none)");
	blo_zap_stats(rig.zap, &s);
	assert_int_equal(s.allowed + s.denied_unknown_key + s.denied_domain + s.malformed, 0);
	rig_stop(&rig);
}

/* ---------------------------------------------------------------- malformed requests */

/* Sends a request of n frames on sock and reads the 6-frame reply into
 * *out (each field NUL-terminated). */
typedef struct {
	char request_id[256], status[4], text[256], user_id[256];
} zap_reply_t;

static void zap_ask(void *sock, const char *const *frames, const size_t *lens, size_t n,
		    zap_reply_t *out)
{
	zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
	char reply[6][256];
	int len[6];

	for (size_t i = 0; i < n; i++)
		assert_int_equal(zmq_send(sock, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0),
				 (int)lens[i]);
	if (zmq_poll(&item, 1, WAIT_MS) != 1)
		fail_msg("the ZAP handler did not answer within %d ms", WAIT_MS);
	for (int i = 0; i < 6; i++) {
		int more = 0;
		size_t more_len = sizeof(more);

		len[i] = zmq_recv(sock, reply[i], sizeof(reply[i]) - 1, 0);
		assert_true(len[i] >= 0);
		reply[i][len[i]] = '\0';
		assert_int_equal(zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_len), 0);
		assert_int_equal(more, i < 5);
	}
	assert_string_equal(reply[0], "1.0");
	assert_int_equal(len[2], 3);
	assert_int_equal(len[5], 0); /* no metadata */
	memcpy(out->request_id, reply[1], sizeof(out->request_id));
	memcpy(out->status, reply[2], sizeof(out->status));
	memcpy(out->text, reply[3], sizeof(out->text));
	memcpy(out->user_id, reply[4], sizeof(out->user_id));
}

static void test_malformed_requests_are_answered_and_counted(void **state)
{
	void *ctx = zmq_ctx_new();
	blo_zap_t *zap = NULL;
	blo_err_t err = {0};
	void *req = zmq_socket(ctx, ZMQ_REQ);
	void *dealer = zmq_socket(ctx, ZMQ_DEALER);
	const char *key = (const char *)curve_public(TH_CONSOLE);
	zap_reply_t r;
	blo_zap_stats_t s;

	(void)state;
	E(blo_zap_start(&zap, ctx, registry, &err));
	allow_broker_domains(zap);
	assert_int_equal(zmq_connect(req, BLO_ZAP_ENDPOINT), 0);
	assert_int_equal(zmq_connect(dealer, BLO_ZAP_ENDPOINT), 0);

	{ /* one frame */
		const char *f[] = {"garbage"};
		const size_t l[] = {7};

		zap_ask(req, f, l, 1, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* an empty frame only */
		const char *f[] = {""};
		const size_t l[] = {0};

		zap_ask(req, f, l, 1, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* wrong version */
		const char *f[] = {"2.0", "7", "blonet", "127.0.0.1", "", "CURVE", key};
		const size_t l[] = {3, 1, 6, 9, 0, 5, 32};

		zap_ask(req, f, l, 7, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* CURVE with a short key */
		const char *f[] = {"1.0", "7", "blonet", "127.0.0.1", "", "CURVE", key};
		const size_t l[] = {3, 1, 6, 9, 0, 5, 31};

		zap_ask(req, f, l, 7, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* CURVE with no credentials */
		const char *f[] = {"1.0", "7", "blonet", "127.0.0.1", "", "CURVE"};
		const size_t l[] = {3, 1, 6, 9, 0, 5};

		zap_ask(req, f, l, 6, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* CURVE with two credentials */
		const char *f[] = {"1.0", "7", "blonet", "127.0.0.1", "", "CURVE", key, key};
		const size_t l[] = {3, 1, 6, 9, 0, 5, 32, 32};

		zap_ask(req, f, l, 8, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* far too many frames */
		const char *f[40];
		size_t l[40];

		for (size_t i = 0; i < 40; i++) {
			f[i] = "1.0";
			l[i] = 3;
		}
		zap_ask(req, f, l, 40, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* no envelope delimiter: still answered, routed by the DEALER's id */
		const char *f[] = {"1.0", "7", "blonet", "127.0.0.1", "", "CURVE", key};
		const size_t l[] = {3, 1, 6, 9, 0, 5, 32};

		zap_ask(dealer, f, l, 7, &r);
		assert_string_equal(r.status, "500");
	}
	{ /* PLAIN: a mechanism, not a malformed request */
		const char *f[] = {"1.0", "7", "blonet", "127.0.0.1", "", "PLAIN", "u", "p"};
		const size_t l[] = {3, 1, 6, 9, 0, 5, 1, 1};

		zap_ask(req, f, l, 8, &r);
		assert_string_equal(r.status, "400");
	}
	{ /* and after all that, a well-formed request is still served */
		const char *f[] = {"1.0", "7", "blonet", "127.0.0.1", "", "CURVE", key};
		const size_t l[] = {3, 1, 6, 9, 0, 5, 32};

		zap_ask(req, f, l, 7, &r);
		assert_string_equal(r.status, "200");
		assert_string_equal(r.user_id, "th-console-maesai");
	}

	blo_zap_stats(zap, &s);
	assert_int_equal(s.malformed, 8);
	assert_int_equal(s.denied_mechanism, 1);
	assert_int_equal(s.allowed, 1);
	assert_int_equal(s.denied_unknown_key + s.denied_revoked + s.denied_role + s.denied_domain,
			 0);

	close_now(req);
	close_now(dealer);
	blo_zap_stop(&zap);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* The replies libzmq never shows an application: status text, request id
 * echoed, User-Id only on 200. */
static void test_direct_requests_get_rfc27_replies(void **state)
{
	void *ctx = zmq_ctx_new();
	blo_zap_t *zap = NULL;
	blo_err_t err = {0};
	void *req = zmq_socket(ctx, ZMQ_REQ);
	static const struct {
		int who;
		const char *domain, *status, *text, *user_id;
	} cases[] = {
		{TH_CONSOLE, "blonet", "200", "OK", "th-console-maesai"},
		{LA_BROKER, "blonet-mesh", "200", "OK", "la-broker"},
		{LA_REVOKED, "blonet", "400", "revoked", ""},
		{STRANGER, "blonet", "400", "unknown key", ""},
		{TH_CONSOLE, "blonet-mesh", "400", "role not allowed on this domain", ""},
		{TH_CONSOLE, "Blonet", "400", "domain not allowed", ""},
	};
	blo_zap_stats_t s;

	(void)state;
	E(blo_zap_start(&zap, ctx, registry, &err));
	allow_broker_domains(zap);
	assert_int_equal(zmq_connect(req, BLO_ZAP_ENDPOINT), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char request_id[16];
		const char *f[] = {"1.0", request_id, cases[i].domain, "192.0.2.7", "",
				   "CURVE", (const char *)curve_public(cases[i].who)};
		size_t l[] = {3, 0, strlen(cases[i].domain), 9, 0, 5, 32};
		zap_reply_t r;

		snprintf(request_id, sizeof(request_id), "req-%zu", i);
		l[1] = strlen(request_id);
		zap_ask(req, f, l, 7, &r);
		assert_string_equal(r.request_id, request_id);
		assert_string_equal(r.status, cases[i].status);
		assert_string_equal(r.text, cases[i].text);
		assert_string_equal(r.user_id, cases[i].user_id);
	}
	blo_zap_stats(zap, &s);
	assert_int_equal(s.allowed, 2);
	assert_int_equal(s.denied_revoked, 1);
	assert_int_equal(s.denied_unknown_key, 1);
	assert_int_equal(s.denied_role, 1);
	assert_int_equal(s.denied_domain, 1);
	assert_int_equal(s.denied_mechanism + s.malformed, 0);

	close_now(req);
	blo_zap_stop(&zap);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* Refused handshakes are kept for the audit log, at most 256 between two
 * takes: the oldest are kept, the rest counted as dropped, and the ring
 * goes on in order once taken. */
static void refuse_stranger(void *req, unsigned i)
{
	char request_id[16], address[32];
	const char *f[] = {"1.0", request_id, "blonet", address, "", "CURVE",
			   (const char *)curve_public(STRANGER)};
	size_t l[] = {3, 0, 6, 0, 0, 5, 32};
	zap_reply_t r;

	snprintf(request_id, sizeof(request_id), "req-%u", i);
	snprintf(address, sizeof(address), "192.0.2.%u:%u", i % 256, 40000 + i);
	l[1] = strlen(request_id);
	l[3] = strlen(address);
	zap_ask(req, f, l, 7, &r);
	assert_string_equal(r.status, "400");
}

static void assert_stranger_refusal(const blo_zap_refusal_t *r, unsigned i)
{
	char address[32], key[2 * BLO_CURVE_KEY_BYTES + 1];

	snprintf(address, sizeof(address), "192.0.2.%u:%u", i % 256, 40000 + i);
	blo_hex_encode(key, sizeof(key), curve_public(STRANGER), BLO_CURVE_KEY_BYTES);
	assert_string_equal(r->address, address);
	assert_string_equal(r->key, key);
	assert_string_equal(r->principal, "");
	assert_string_equal(r->reason, "unknown key");
}

static void test_refusals_beyond_the_queue_are_counted_and_order_kept(void **state)
{
	enum { QUEUE = 256, SENT = QUEUE + 44 };
	void *ctx = zmq_ctx_new();
	blo_zap_t *zap = NULL;
	blo_err_t err = {0};
	void *req = zmq_socket(ctx, ZMQ_REQ);
	blo_zap_refusal_t *got = calloc(2 * QUEUE, sizeof(*got));
	uint64_t dropped = 99;
	size_t n;
	blo_zap_stats_t s;

	(void)state;
	assert_non_null(got);
	E(blo_zap_start(&zap, ctx, registry, &err));
	allow_broker_domains(zap);
	assert_int_equal(zmq_connect(req, BLO_ZAP_ENDPOINT), 0);
	for (unsigned i = 0; i < SENT; i++)
		refuse_stranger(req, i);
	blo_zap_stats(zap, &s);
	assert_int_equal(s.denied_unknown_key, SENT);

	/* A first take of 100: the oldest, in order; the overflow is said
	 * with the first take and only once. */
	n = blo_zap_take_refusals(zap, got, 100, &dropped);
	assert_int_equal(n, 100);
	assert_int_equal(dropped, SENT - QUEUE);
	for (unsigned i = 0; i < n; i++)
		assert_stranger_refusal(&got[i], i);
	n = blo_zap_take_refusals(zap, got, 2 * QUEUE, &dropped);
	assert_int_equal(n, QUEUE - 100);
	assert_int_equal(dropped, 0);
	for (unsigned i = 0; i < n; i++)
		assert_stranger_refusal(&got[i], 100 + i);
	n = blo_zap_take_refusals(zap, got, 2 * QUEUE, &dropped);
	assert_int_equal(n, 0);
	assert_int_equal(dropped, 0);

	/* The ring starts again where it stopped: a full queue once more
	 * (wrapping past its end), then one refusal more, dropped. */
	for (unsigned i = 0; i < QUEUE + 1; i++)
		refuse_stranger(req, 1000 + i);
	n = blo_zap_take_refusals(zap, got, 2 * QUEUE, NULL);
	assert_int_equal(n, QUEUE);
	for (unsigned i = 0; i < n; i++)
		assert_stranger_refusal(&got[i], 1000 + i);
	/* A take that did not ask for the count leaves it to the next. */
	n = blo_zap_take_refusals(zap, got, 2 * QUEUE, &dropped);
	assert_int_equal(n, 0);
	assert_int_equal(dropped, 1);

	/* A registered key's refusal names its principal. */
	{
		const char *f[] = {"1.0", "r", "blonet", "192.0.2.9:5", "", "CURVE",
				   (const char *)curve_public(LA_REVOKED)};
		const size_t l[] = {3, 1, 6, 11, 0, 5, 32};
		zap_reply_t r;

		zap_ask(req, f, l, 7, &r);
		assert_string_equal(r.status, "400");
		n = blo_zap_take_refusals(zap, got, 2 * QUEUE, &dropped);
		assert_int_equal(n, 1);
		assert_string_equal(got[0].principal, "la-console-revoked");
		assert_string_equal(got[0].reason, "revoked");
		assert_string_equal(got[0].address, "192.0.2.9:5");
	}

	free(got);
	close_now(req);
	blo_zap_stop(&zap);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* ---------------------------------------------------------------- configuration */

static void test_allow_domain_refuses_bad_arguments(void **state)
{
	void *ctx = zmq_ctx_new();
	blo_zap_t *zap = NULL;
	blo_err_t err = {0};
	char long_domain[BLO_ZAP_DOMAIN_MAX + 2];

	(void)state;
	E(blo_zap_start(&zap, ctx, registry, &err));
	memset(long_domain, 'd', sizeof(long_domain) - 1);
	long_domain[sizeof(long_domain) - 1] = '\0';
	assert_int_equal(blo_zap_allow_domain(zap, "", BLO_ZAP_ROLES_ALL), BLO_EINVAL);
	assert_int_equal(blo_zap_allow_domain(zap, long_domain, BLO_ZAP_ROLES_ALL), BLO_EINVAL);
	long_domain[BLO_ZAP_DOMAIN_MAX] = '\0';
	E(blo_zap_allow_domain(zap, long_domain, BLO_ZAP_ROLES_ALL));
	assert_int_equal(blo_zap_allow_domain(zap, "blonet", 0), BLO_EINVAL);
	assert_int_equal(blo_zap_allow_domain(zap, "blonet", BLO_ZAP_ROLE(BLO_ROLE_NONE)),
			 BLO_EINVAL);
	assert_int_equal(blo_zap_allow_domain(zap, "blonet", 1u << 20), BLO_EINVAL);
	for (int i = 1; i < BLO_ZAP_MAX_DOMAINS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "domain-%d", i);
		E(blo_zap_allow_domain(zap, name, BLO_ZAP_ROLE(BLO_ROLE_BROKER)));
	}
	assert_int_equal(blo_zap_allow_domain(zap, "one-too-many", BLO_ZAP_ROLES_ALL), BLO_ETOOBIG);
	/* Replacing an existing domain's mask needs no new slot. */
	E(blo_zap_allow_domain(zap, "domain-1", BLO_ZAP_ROLES_ALL));
	blo_zap_stop(&zap);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void test_server_setup_sets_enforce_and_refuses_unsafe_arguments(void **state)
{
	void *ctx = zmq_ctx_new();
	void *server = zmq_socket(ctx, ZMQ_ROUTER);
	blo_err_t err = {0};
	int value = 0;
	int64_t max = 0;
	size_t len = sizeof(value);
	char domain[64];

	(void)state;
	assert_int_equal(blo_curve_server_setup(server, ids[TH_BROKER], "", MAX_BYTES, &err),
			 BLO_EINVAL);
	assert_non_null(strstr(err.msg, "ZAP domain"));
	assert_int_equal(blo_curve_server_setup(server, ids[TH_BROKER], NULL, MAX_BYTES, &err),
			 BLO_EINVAL);
	assert_int_equal(blo_curve_server_setup(server, ids[TH_BROKER], "blonet", -1, &err),
			 BLO_EINVAL);
	assert_int_equal(blo_curve_server_setup(server, ids[TH_BROKER], "blonet",
						BLO_CURVE_MIN_MESSAGE_BYTES - 1, &err),
			 BLO_EINVAL);
	assert_int_equal(blo_curve_server_setup(server, ids[TH_BROKER], "blonet", INT64_MAX, &err),
			 BLO_EINVAL);
	/* Refused arguments left the socket untouched. */
	assert_int_equal(zmq_getsockopt(server, ZMQ_CURVE_SERVER, &value, &len), 0);
	assert_int_equal(value, 0);

	/* 0 is a bound too: the default. */
	E(blo_curve_server_setup(server, ids[TH_BROKER], "blonet", 0, &err));
	len = sizeof(max);
	assert_int_equal(zmq_getsockopt(server, ZMQ_MAXMSGSIZE, &max, &len), 0);
	assert_int_equal(max, BLO_CURVE_DEFAULT_MAX_MESSAGE_BYTES + BLO_CURVE_FRAME_OVERHEAD);

	E(blo_curve_server_setup(server, ids[TH_BROKER], "blonet", MAX_BYTES, &err));
	len = sizeof(value);
	assert_int_equal(zmq_getsockopt(server, ZMQ_CURVE_SERVER, &value, &len), 0);
	assert_int_equal(value, 1);
	len = sizeof(value);
	assert_int_equal(zmq_getsockopt(server, ZMQ_ZAP_ENFORCE_DOMAIN, &value, &len), 0);
	assert_int_equal(value, 1);
	len = sizeof(value);
	assert_int_equal(zmq_getsockopt(server, ZMQ_LINGER, &value, &len), 0);
	assert_int_equal(value, BLO_CURVE_LINGER_MS);
	len = sizeof(value);
	assert_int_equal(zmq_getsockopt(server, ZMQ_HANDSHAKE_IVL, &value, &len), 0);
	assert_int_equal(value, BLO_CURVE_HANDSHAKE_IVL_MS);
	len = sizeof(max);
	assert_int_equal(zmq_getsockopt(server, ZMQ_MAXMSGSIZE, &max, &len), 0);
	assert_int_equal(max, MAX_BYTES + BLO_CURVE_FRAME_OVERHEAD);
	len = sizeof(domain);
	assert_int_equal(zmq_getsockopt(server, ZMQ_ZAP_DOMAIN, domain, &len), 0);
	assert_string_equal(domain, "blonet");

	close_now(server);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void test_client_setup_sets_server_key_and_bounds(void **state)
{
	void *ctx = zmq_ctx_new();
	void *client = zmq_socket(ctx, ZMQ_DEALER);
	blo_err_t err = {0};
	uint8_t key[BLO_CURVE_KEY_BYTES];
	int value = 1;
	int64_t max = 0;
	size_t len = sizeof(max);

	(void)state;
	assert_int_equal(blo_curve_client_setup(client, ids[TH_CONSOLE], curve_public(TH_BROKER),
						100, &err),
			 BLO_EINVAL);
	assert_non_null(strstr(err.msg, "max_message_bytes"));
	E(blo_curve_client_setup(client, ids[TH_CONSOLE], curve_public(TH_BROKER), 0, &err));
	assert_int_equal(zmq_getsockopt(client, ZMQ_MAXMSGSIZE, &max, &len), 0);
	assert_int_equal(max, BLO_CURVE_DEFAULT_MAX_MESSAGE_BYTES + BLO_CURVE_FRAME_OVERHEAD);
	len = sizeof(key);
	assert_int_equal(zmq_getsockopt(client, ZMQ_CURVE_SERVERKEY, key, &len), 0);
	assert_memory_equal(key, curve_public(TH_BROKER), BLO_CURVE_KEY_BYTES);
	len = sizeof(key);
	assert_int_equal(zmq_getsockopt(client, ZMQ_CURVE_PUBLICKEY, key, &len), 0);
	assert_memory_equal(key, curve_public(TH_CONSOLE), BLO_CURVE_KEY_BYTES);
	len = sizeof(value);
	assert_int_equal(zmq_getsockopt(client, ZMQ_CURVE_SERVER, &value, &len), 0);
	assert_int_equal(value, 0);
	len = sizeof(value);
	assert_int_equal(zmq_getsockopt(client, ZMQ_MECHANISM, &value, &len), 0);
	assert_int_equal(value, ZMQ_CURVE);
	len = sizeof(value);
	assert_int_equal(zmq_getsockopt(client, ZMQ_CONNECT_TIMEOUT, &value, &len), 0);
	assert_int_equal(value, BLO_CURVE_CONNECT_TIMEOUT_MS);
	close_now(client);
	assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* max_message_bytes bounds the application frame exactly: a frame of that
 * size arrives, one byte more and libzmq drops the connection. */
static void test_max_message_bytes_bounds_the_frame_exactly(void **state)
{
	rig_t rig;
	void *dealer;
	char *big = malloc(MAX_BYTES + 1);
	zmq_pollitem_t item;
	zmq_msg_t routing, payload;
	uint32_t value = 0;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', MAX_BYTES + 1);
	rig_start(&rig, "blonet", true);
	dealer = rig_curve_client(&rig, TH_CUSTOMS, curve_public(TH_BROKER), "small first", true);
	expect_event(&rig, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0);
	assert_int_equal(zmq_send(dealer, big, MAX_BYTES, 0), MAX_BYTES);
	assert_int_equal(zmq_send(dealer, big, MAX_BYTES + 1, 0), MAX_BYTES + 1);

	{
		char user_id[BLO_PRINCIPAL_ID_MAX];

		server_receive(&rig, "small first", user_id, sizeof(user_id));
	}
	item = (zmq_pollitem_t){.socket = rig.server, .events = ZMQ_POLLIN};
	assert_int_equal(zmq_poll(&item, 1, WAIT_MS), 1);
	zmq_msg_init(&routing);
	zmq_msg_init(&payload);
	assert_true(zmq_msg_recv(&routing, rig.server, 0) >= 0);
	assert_int_equal(zmq_msg_recv(&payload, rig.server, 0), MAX_BYTES);
	assert_string_equal(blo_zap_user_id(&payload), "th-customs-maesai");
	zmq_msg_close(&routing);
	zmq_msg_close(&payload);

	assert_int_equal(wait_event(&rig, ZMQ_EVENT_DISCONNECTED, &value), ZMQ_EVENT_DISCONNECTED);
	assert_server_has_nothing(&rig);
	free(big);
	rig_stop(&rig);
}

static void test_user_id_is_null_for_a_message_not_from_a_peer(void **state)
{
	zmq_msg_t msg;

	(void)state;
	assert_int_equal(zmq_msg_init_size(&msg, 4), 0);
	assert_null(blo_zap_user_id(&msg));
	zmq_msg_close(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered_client_message_carries_its_principal_id),
		cmocka_unit_test(test_every_role_is_admitted_on_the_blonet_domain),
		cmocka_unit_test(test_unknown_key_is_refused),
		cmocka_unit_test(test_revoked_key_is_refused),
		cmocka_unit_test(test_home_country_refuses_other_countries_but_brokers),
		cmocka_unit_test(test_mesh_domain_refuses_console_and_admits_broker),
		cmocka_unit_test(test_domain_never_allowed_is_refused),
		cmocka_unit_test(test_handler_with_no_domain_allowed_refuses_everyone),
		cmocka_unit_test(test_client_without_curve_is_refused),
		cmocka_unit_test(test_plain_client_is_refused),
		cmocka_unit_test(test_client_with_wrong_server_key_is_refused),
		cmocka_unit_test(test_server_without_curve_refuses_through_zap),
		cmocka_unit_test(test_reload_with_revocation_refuses_that_principal_only),
		cmocka_unit_test(test_second_start_on_same_context_fails_cleanly),
		cmocka_unit_test(test_start_refuses_null_registry_and_stop_accepts_null),
		cmocka_unit_test(test_server_without_zap_handler_refuses_with_enforce_domain),
		cmocka_unit_test(test_handler_stopped_while_serving_refuses_new_clients),
		cmocka_unit_test(test_without_enforce_domain_libzmq_admits_any_key),
		cmocka_unit_test(test_server_without_domain_skips_zap_even_with_enforce),
		cmocka_unit_test(test_malformed_requests_are_answered_and_counted),
		cmocka_unit_test(test_direct_requests_get_rfc27_replies),
		cmocka_unit_test(test_refusals_beyond_the_queue_are_counted_and_order_kept),
		cmocka_unit_test(test_allow_domain_refuses_bad_arguments),
		cmocka_unit_test(test_server_setup_sets_enforce_and_refuses_unsafe_arguments),
		cmocka_unit_test(test_client_setup_sets_server_key_and_bounds),
		cmocka_unit_test(test_max_message_bytes_bounds_the_frame_exactly),
		cmocka_unit_test(test_user_id_is_null_for_a_message_not_from_a_peer),
	};

	return cmocka_run_group_tests_name("zap", tests, setup_fixture, teardown_fixture);
}
