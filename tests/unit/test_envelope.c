/*
 * Unit tests of blo_envelope: sealing and verifying alerts against a signed
 * registry, refusal of any altered bit, of foreign or revoked signers and of
 * forged origins, and the chained hop trace of brokers.
 */
#include "blo_test.h"

enum {
	TH_AGENT,
	TH_BROKER,
	MM_BROKER,
	LA_BROKER,
	TH_CONSOLE,
	REVOKED_AGENT,
	REVOKED_BROKER,
	N_IDS
};

static const struct {
	const char *id, *role, *country, *agency, *site;
	bool revoked;
} people[N_IDS] = {
	[TH_AGENT] = {"th-customs-maesai", "agent", "TH", "CUSTOMS", "TH-MAESAI", false},
	[TH_BROKER] = {"th-broker-1", "broker", "TH", "COORDINATION", "", false},
	[MM_BROKER] = {"mm-broker-1", "broker", "MM", "COORDINATION", "", false},
	[LA_BROKER] = {"la-broker-1", "broker", "LA", "COORDINATION", "", false},
	[TH_CONSOLE] = {"th-console-maesai", "console", "TH", "COORDINATION", "TH-MAESAI", false},
	[REVOKED_AGENT] = {"th-customs-old", "agent", "TH", "CUSTOMS", "TH-MAESAI", true},
	[REVOKED_BROKER] = {"mm-broker-old", "broker", "MM", "COORDINATION", "", true},
};

typedef struct {
	blo_identity_t *ids[N_IDS];
	blo_identity_t *stranger; /* not in the registry */
	blo_registry_t *reg;
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	blo_identity_t *authority = NULL;
	cJSON *registry = cJSON_CreateObject();
	cJSON *principals;
	char *text = NULL;
	blo_err_t err = {0};

	E(blo_identity_generate(&authority, "authority"));
	E(blo_identity_generate(&f->stranger, "th-customs-stranger"));
	cJSON_AddStringToObject(registry, "name", "envelope-test");
	cJSON_AddNumberToObject(registry, "version", 1);
	principals = cJSON_AddArrayToObject(registry, "principals");
	for (int i = 0; i < N_IDS; i++) {
		cJSON *p = cJSON_CreateObject();
		char hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
		char z85[BLO_Z85_KEY_CHARS + 1];

		E(blo_identity_generate(&f->ids[i], people[i].id));
		E(blo_hex_encode(hex, sizeof(hex), blo_identity_public(f->ids[i])->sign_public,
				 BLO_SIGN_PUBLIC_BYTES));
		E(blo_z85_encode_key(z85, blo_identity_public(f->ids[i])->curve_public));
		cJSON_AddStringToObject(p, "id", people[i].id);
		cJSON_AddStringToObject(p, "role", people[i].role);
		cJSON_AddStringToObject(p, "country", people[i].country);
		cJSON_AddStringToObject(p, "agency", people[i].agency);
		cJSON_AddStringToObject(p, "site", people[i].site);
		cJSON_AddStringToObject(p, "sign_public", hex);
		cJSON_AddStringToObject(p, "curve_public", z85);
		cJSON_AddBoolToObject(p, "revoked", people[i].revoked);
		cJSON_AddItemToArray(principals, p);
	}
	if (blo_registry_sign(registry, authority, &text, &err) != 0)
		fail_msg("sign: %s", err.msg);
	if (blo_registry_parse(&f->reg, text, strlen(text),
			       blo_identity_public(authority)->sign_public, &err) != 0)
		fail_msg("parse: %s", err.msg);
	free(text);
	cJSON_Delete(registry);
	blo_identity_destroy(&authority);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	for (int i = 0; i < N_IDS; i++)
		blo_identity_destroy(&f->ids[i]);
	blo_identity_destroy(&f->stranger);
	blo_registry_destroy(&f->reg);
	free(f);
	return 0;
}

/* The serialized bytes of a valid ALERT from principal as country, for the
 * agency record source_ref. */
static void make_alert_ref(const char *principal, const char *country, const char *source_ref,
			   uint8_t **bytes, size_t *len)
{
	Blonet__Alert alert = BLONET__ALERT__INIT;
	Blonet__Origin origin = BLONET__ORIGIN__INIT;
	Blonet__Assessment assessment = BLONET__ASSESSMENT__INIT;
	Blonet__Handling handling = BLONET__HANDLING__INIT;
	uint8_t id[BLO_ID_BYTES];
	blo_err_t err = {0};

	blo_alert_derive_id(id, country, BLONET__AGENCY_KIND__CUSTOMS, source_ref);
	alert.source_ref = (char *)source_ref;
	alert.id.data = id;
	alert.id.len = sizeof(id);
	alert.type = BLONET__MESSAGE_TYPE__ALERT;
	alert.status = BLONET__STATUS__ACTUAL;
	alert.observed_ms = 1732780000000;
	alert.sent_ms = 1732780800000;
	origin.principal = (char *)principal;
	origin.agency = BLONET__AGENCY_KIND__CUSTOMS;
	origin.country = (char *)country;
	origin.site = "TH-MAESAI";
	alert.origin = &origin;
	assessment.category = BLONET__CATEGORY__DRUGS;
	assessment.severity = BLONET__SEVERITY__SEVERE;
	alert.assessment = &assessment;
	handling.tlp = BLONET__TLP__TLP_AMBER;
	alert.handling = &handling;
	alert.headline = "400,000 methamphetamine tablets in a pickup at Mae Sai";
	if (blo_alert_validate(&alert, &err) != 0)
		fail_msg("test alert does not validate: %s", err.msg);
	E(blo_message_serialize(&alert.base, BLO_ALERT_MAX_BYTES, bytes, len, &err));
}

static void make_alert(const char *principal, const char *country, uint8_t **bytes, size_t *len)
{
	make_alert_ref(principal, country, "TH-2024-000117", bytes, len);
}

/* An envelope sealed by signer of an alert claiming principal and country. */
static void make_envelope_ref(const blo_identity_t *signer, const char *principal,
			      const char *country, const char *source_ref, uint8_t **bytes,
			      size_t *len)
{
	uint8_t *alert = NULL;
	size_t alert_len = 0;

	make_alert_ref(principal, country, source_ref, &alert, &alert_len);
	E(blo_envelope_seal(signer, alert, alert_len, bytes, len, NULL));
	free(alert);
}

static void make_envelope(const blo_identity_t *signer, const char *principal, const char *country,
			  uint8_t **bytes, size_t *len)
{
	make_envelope_ref(signer, principal, country, "TH-2024-000117", bytes, len);
}

static Blonet__Envelope *parsed(const uint8_t *bytes, size_t len)
{
	Blonet__Envelope *env = NULL;
	blo_err_t err = {0};

	if (blo_envelope_parse(&env, bytes, len, &err) != 0)
		fail_msg("parse: %s", err.msg);
	return env;
}

static uint8_t *serialized(const Blonet__Envelope *env, size_t *len)
{
	uint8_t *out = NULL;

	E(blo_message_serialize(&env->base, BLO_ENVELOPE_MAX_BYTES, &out, len, NULL));
	return out;
}

static int verify(const fixture_t *f, const Blonet__Envelope *env, blo_err_t *err)
{
	Blonet__Alert *alert = (Blonet__Alert *)1;
	const blo_principal_t *origin = (const blo_principal_t *)1;
	int rc = blo_envelope_verify(env, f->reg, &alert, &origin, err);

	if (rc == 0) {
		assert_non_null(alert);
		assert_non_null(origin);
	} else {
		assert_null(alert);
		assert_null(origin);
	}
	blo_alert_free(&alert);
	return rc;
}

/* Parse, then verify: 0 or the first failure. */
static int parse_and_verify(const fixture_t *f, const uint8_t *bytes, size_t len, blo_err_t *err)
{
	Blonet__Envelope *env = NULL;
	int rc = blo_envelope_parse(&env, bytes, len, err);

	if (rc != 0) {
		assert_null(env);
		return rc;
	}
	rc = verify(f, env, err);
	blo_envelope_free(&env);
	assert_null(env);
	return rc;
}

static void expect(int rc, int want, const blo_err_t *err, const char *what)
{
	if (rc != want)
		fail_msg("%s: got %d (%s), want %d (%s); message: %s", what, rc, blo_strerror(rc),
			 want, blo_strerror(want), err != NULL ? err->msg : "");
}

static void test_seal_then_verify_returns_alert_and_origin(void **state)
{
	fixture_t *f = *state;
	uint8_t *alert_bytes = NULL, *bytes = NULL;
	size_t alert_len = 0, len = 0;
	Blonet__Envelope *env;
	Blonet__Alert *alert = NULL;
	const blo_principal_t *origin = NULL;
	blo_err_t err = {0};

	make_alert("th-customs-maesai", "TH", &alert_bytes, &alert_len);
	E(blo_envelope_seal(f->ids[TH_AGENT], alert_bytes, alert_len, &bytes, &len, &err));
	env = parsed(bytes, len);
	/* The alert bytes travel untouched. */
	assert_int_equal(env->alert.len, alert_len);
	assert_memory_equal(env->alert.data, alert_bytes, alert_len);
	assert_int_equal(env->signature.len, BLO_SIGNATURE_BYTES);
	assert_int_equal(env->n_trace, 0);

	E(blo_envelope_verify(env, f->reg, &alert, &origin, &err));
	assert_non_null(alert);
	assert_string_equal(alert->origin->principal, "th-customs-maesai");
	assert_string_equal(alert->headline,
			    "400,000 methamphetamine tablets in a pickup at Mae Sai");
	assert_int_equal(alert->assessment->category, BLONET__CATEGORY__DRUGS);
	assert_ptr_equal(origin, blo_registry_find(f->reg, "th-customs-maesai"));
	blo_alert_free(&alert);
	assert_null(alert);

	/* Both outputs are optional. */
	E(blo_envelope_verify(env, f->reg, NULL, NULL, &err));
	E(blo_envelope_verify(env, f->reg, NULL, &origin, &err));
	assert_ptr_equal(origin, blo_registry_find(f->reg, "th-customs-maesai"));
	blo_envelope_free(&env);
	assert_null(env);
	blo_envelope_free(&env);
	blo_envelope_free(NULL);
	free(bytes);
	free(alert_bytes);
}

/* Flips every bit of bytes in turn: each copy must fail to parse or to
 * verify. */
static void assert_every_bit_matters(const fixture_t *f, const uint8_t *bytes, size_t len)
{
	uint8_t *copy = malloc(len);
	size_t parse_failures = 0, verify_failures = 0;

	memcpy(copy, bytes, len);
	assert_int_equal(parse_and_verify(f, copy, len, NULL), 0);
	for (size_t bit = 0; bit < 8 * len; bit++) {
		Blonet__Envelope *env = NULL;
		int rc;

		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = blo_envelope_parse(&env, copy, len, NULL);
		if (rc != 0) {
			parse_failures++;
		} else {
			rc = verify(f, env, NULL);
			if (rc == 0)
				fail_msg("byte %zu bit %zu flipped: envelope still verifies",
					 bit / 8, bit % 8);
			verify_failures++;
		}
		blo_envelope_free(&env);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_memory_equal(copy, bytes, len);
	assert_int_equal(parse_failures + verify_failures, 8 * len);
	print_message("%zu bits: %zu refused by parse, %zu by verify\n", 8 * len, parse_failures,
		      verify_failures);
	free(copy);
}

static void test_every_flipped_bit_of_the_envelope_is_refused(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL, *traced;
	size_t len = 0, traced_len = 0;
	Blonet__Envelope *env;

	make_envelope(f->ids[TH_AGENT], "th-customs-maesai", "TH", &bytes, &len);
	assert_every_bit_matters(f, bytes, len);

	/* The same with a hop trace of two brokers. */
	env = parsed(bytes, len);
	E(blo_envelope_add_hop(env, f->ids[TH_BROKER], 1732780800100, NULL));
	E(blo_envelope_add_hop(env, f->ids[MM_BROKER], 1732780800250, NULL));
	traced = serialized(env, &traced_len);
	assert_every_bit_matters(f, traced, traced_len);
	blo_envelope_free(&env);
	free(traced);
	free(bytes);
}

static void test_signature_by_another_key_fails(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL;
	size_t len = 0;
	blo_err_t err = {0};

	/* Another registered principal signs an alert in the agent's name. */
	make_envelope(f->ids[TH_CONSOLE], "th-customs-maesai", "TH", &bytes, &len);
	expect(parse_and_verify(f, bytes, len, &err), BLO_ESIGNATURE, &err, "console's key");
	assert_non_null(strstr(err.msg, "th-customs-maesai"));
	free(bytes);
	/* A key the registry does not know. */
	make_envelope(f->stranger, "th-customs-maesai", "TH", &bytes, &len);
	expect(parse_and_verify(f, bytes, len, &err), BLO_ESIGNATURE, &err, "stranger's key");
	free(bytes);
}

static void test_unknown_origin_principal_fails(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL;
	size_t len = 0;
	blo_err_t err = {0};

	make_envelope(f->stranger, "th-customs-stranger", "TH", &bytes, &len);
	expect(parse_and_verify(f, bytes, len, &err), BLO_ENOTFOUND, &err, "unknown origin");
	assert_non_null(strstr(err.msg, "th-customs-stranger"));
	free(bytes);
}

static void test_revoked_origin_principal_fails(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL;
	size_t len = 0;
	blo_err_t err = {0};

	make_envelope(f->ids[REVOKED_AGENT], "th-customs-old", "TH", &bytes, &len);
	expect(parse_and_verify(f, bytes, len, &err), BLO_EREVOKED, &err, "revoked origin");
	assert_non_null(strstr(err.msg, "revoked"));
	free(bytes);
}

static void test_origin_country_other_than_the_registry_fails(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL;
	size_t len = 0;
	blo_err_t err = {0};

	/* Correctly signed by the principal, but it claims to speak for MM. */
	make_envelope(f->ids[TH_AGENT], "th-customs-maesai", "MM", &bytes, &len);
	expect(parse_and_verify(f, bytes, len, &err), BLO_EVALIDATE, &err, "foreign country");
	assert_non_null(strstr(err.msg, "origin.country"));
	free(bytes);
}

static void test_alert_bytes_that_do_not_parse_or_validate_fail(void **state)
{
	fixture_t *f = *state;
	Blonet__Alert alert = BLONET__ALERT__INIT;
	Blonet__Origin origin = BLONET__ORIGIN__INIT;
	const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
	uint8_t *alert_bytes = NULL, *bytes = NULL;
	size_t alert_len = 0, len = 0;
	blo_err_t err = {0};

	E(blo_envelope_seal(f->ids[TH_AGENT], garbage, sizeof(garbage), &bytes, &len, &err));
	expect(parse_and_verify(f, bytes, len, &err), BLO_EPARSE, &err, "garbage alert");
	free(bytes);

	/* Decodes, signed by its origin, but breaks the schema (no id). */
	alert.type = BLONET__MESSAGE_TYPE__ALERT;
	origin.principal = "th-customs-maesai";
	origin.country = "TH";
	alert.origin = &origin;
	E(blo_message_serialize(&alert.base, BLO_ALERT_MAX_BYTES, &alert_bytes, &alert_len, &err));
	E(blo_envelope_seal(f->ids[TH_AGENT], alert_bytes, alert_len, &bytes, &len, &err));
	expect(parse_and_verify(f, bytes, len, &err), BLO_EVALIDATE, &err, "invalid alert");
	free(bytes);
	free(alert_bytes);
}

static void test_seal_refuses_oversized_or_empty_alerts(void **state)
{
	fixture_t *f = *state;
	uint8_t *big = calloc(1, BLO_ALERT_MAX_BYTES + 1);
	uint8_t *bytes = (uint8_t *)1;
	size_t len = 1;

	assert_int_equal(blo_envelope_seal(f->ids[TH_AGENT], big, BLO_ALERT_MAX_BYTES + 1, &bytes,
					   &len, NULL),
			 BLO_ETOOBIG);
	assert_null(bytes);
	assert_int_equal(len, 0);
	assert_int_equal(blo_envelope_seal(f->ids[TH_AGENT], big, 0, &bytes, &len, NULL), BLO_EINVAL);
	/* The largest alert seals into an envelope that parses. */
	E(blo_envelope_seal(f->ids[TH_AGENT], big, BLO_ALERT_MAX_BYTES, &bytes, &len, NULL));
	{
		Blonet__Envelope *env = parsed(bytes, len);

		blo_envelope_free(&env);
	}
	free(bytes);
	free(big);
}

static void test_parse_refuses_malformed_envelopes(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL, *more;
	size_t len = 0;
	Blonet__Envelope *env = (Blonet__Envelope *)1;
	blo_err_t err = {0};

	make_envelope(f->ids[TH_AGENT], "th-customs-maesai", "TH", &bytes, &len);

	/* Too large, before any decoding. */
	assert_int_equal(blo_envelope_parse(&env, bytes, BLO_ENVELOPE_MAX_BYTES + 1, &err),
			 BLO_ETOOBIG);
	assert_null(env);
	/* Truncated. */
	assert_int_equal(blo_envelope_parse(&env, bytes, len - 1, &err), BLO_EPARSE);
	/* Empty: no alert, no signature. */
	assert_int_equal(blo_envelope_parse(&env, bytes, 0, &err), BLO_EPARSE);

	/* An unknown field (number 9, varint 1) appended. */
	more = malloc(len + 2);
	memcpy(more, bytes, len);
	more[len] = 9 << 3;
	more[len + 1] = 1;
	assert_int_equal(blo_envelope_parse(&env, more, len + 2, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "unknown"));
	free(more);

	/* A signature of the wrong length. */
	{
		Blonet__Envelope e = BLONET__ENVELOPE__INIT;
		uint8_t sig[63] = {0}, alert[4] = {1, 2, 3, 4};
		uint8_t *out;
		size_t out_len;

		e.alert.data = alert;
		e.alert.len = sizeof(alert);
		e.signature.data = sig;
		e.signature.len = sizeof(sig);
		out = serialized(&e, &out_len);
		assert_int_equal(blo_envelope_parse(&env, out, out_len, &err), BLO_EPARSE);
		assert_non_null(strstr(err.msg, "signature"));
		free(out);
	}

	/* A hop with an unknown field, and one with a short signature. */
	{
		Blonet__Envelope *e = parsed(bytes, len);
		uint8_t *out;
		size_t out_len;

		E(blo_envelope_add_hop(e, f->ids[TH_BROKER], 5, NULL));
		out = serialized(e, &out_len);
		/* The hop is the last field: its length prefix is out[len + 1]. */
		more = malloc(out_len + 2);
		memcpy(more, out, out_len);
		assert_int_equal(more[len], (3 << 3) | 2);
		more[len + 1] += 2;
		more[out_len] = 9 << 3;
		more[out_len + 1] = 1;
		assert_int_equal(blo_envelope_parse(&env, more, out_len + 2, &err), BLO_EPARSE);
		assert_non_null(strstr(err.msg, "hop 0"));
		free(more);
		free(out);

		e->trace[0]->signature.len = 10;
		out = serialized(e, &out_len);
		assert_int_equal(blo_envelope_parse(&env, out, out_len, &err), BLO_EPARSE);
		assert_non_null(strstr(err.msg, "hop 0"));
		free(out);
		blo_envelope_free(&e);
	}
	free(bytes);
}

static void test_two_hops_by_two_brokers_verify(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL, *traced;
	size_t len = 0, traced_len = 0;
	Blonet__Envelope *env, *again;
	blo_err_t err = {0};

	make_envelope(f->ids[TH_AGENT], "th-customs-maesai", "TH", &bytes, &len);
	env = parsed(bytes, len);
	assert_false(blo_envelope_has_hop(env, "th-broker-1"));
	E(blo_envelope_add_hop(env, f->ids[TH_BROKER], 1732780800100, &err));
	E(verify(f, env, &err));
	assert_true(blo_envelope_has_hop(env, "th-broker-1"));
	assert_false(blo_envelope_has_hop(env, "mm-broker-1"));
	E(blo_envelope_add_hop(env, f->ids[MM_BROKER], 1732780800250, &err));
	E(verify(f, env, &err));
	assert_true(blo_envelope_has_hop(env, "th-broker-1"));
	assert_true(blo_envelope_has_hop(env, "mm-broker-1"));
	assert_false(blo_envelope_has_hop(env, "la-broker-1"));
	assert_false(blo_envelope_has_hop(env, "th-broker"));
	assert_false(blo_envelope_has_hop(env, NULL));
	assert_int_equal(env->n_trace, 2);
	assert_string_equal(env->trace[0]->broker, "th-broker-1");
	assert_int_equal(env->trace[0]->at_ms, 1732780800100);

	/* Across the wire, as a broker forwards it: still verifies, and the next
	 * broker can extend it. */
	traced = serialized(env, &traced_len);
	again = parsed(traced, traced_len);
	E(verify(f, again, &err));
	E(blo_envelope_add_hop(again, f->ids[LA_BROKER], 1732780800400, &err));
	E(verify(f, again, &err));
	/* The alert bytes were never re-serialized. */
	assert_memory_equal(again->alert.data, env->alert.data, env->alert.len);
	blo_envelope_free(&again);
	free(traced);
	blo_envelope_free(&env);
	free(bytes);
}

/* A parsed copy of bytes with two hops, TH then MM. */
static Blonet__Envelope *two_hop_envelope(const fixture_t *f, const uint8_t *bytes, size_t len)
{
	Blonet__Envelope *env = parsed(bytes, len);

	E(blo_envelope_add_hop(env, f->ids[TH_BROKER], 1000, NULL));
	E(blo_envelope_add_hop(env, f->ids[MM_BROKER], 2000, NULL));
	E(verify(f, env, NULL));
	return env;
}

static void test_altered_reordered_or_dropped_hops_fail(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL;
	size_t len = 0;
	Blonet__Envelope *env;
	Blonet__Hop *hop;
	blo_err_t err = {0};

	make_envelope(f->ids[TH_AGENT], "th-customs-maesai", "TH", &bytes, &len);

	/* A flipped bit in each hop's signature. */
	for (size_t i = 0; i < 2; i++) {
		env = two_hop_envelope(f, bytes, len);
		env->trace[i]->signature.data[17] ^= 0x04;
		expect(verify(f, env, &err), BLO_ESIGNATURE, &err, "hop signature bit");
		blo_envelope_free(&env);
	}
	/* A changed time. */
	env = two_hop_envelope(f, bytes, len);
	env->trace[0]->at_ms += 1;
	expect(verify(f, env, &err), BLO_ESIGNATURE, &err, "hop time");
	blo_envelope_free(&env);
	/* A hop credited to another broker. */
	env = two_hop_envelope(f, bytes, len);
	free(env->trace[0]->broker);
	env->trace[0]->broker = strdup("la-broker-1");
	expect(verify(f, env, &err), BLO_ESIGNATURE, &err, "hop broker renamed");
	blo_envelope_free(&env);
	/* Reordered. */
	env = two_hop_envelope(f, bytes, len);
	hop = env->trace[0];
	env->trace[0] = env->trace[1];
	env->trace[1] = hop;
	expect(verify(f, env, &err), BLO_ESIGNATURE, &err, "hops reordered");
	blo_envelope_free(&env);
	/* The first hop dropped. */
	env = two_hop_envelope(f, bytes, len);
	blonet__hop__free_unpacked(env->trace[0], NULL);
	env->trace[0] = env->trace[1];
	env->n_trace = 1;
	expect(verify(f, env, &err), BLO_ESIGNATURE, &err, "first hop dropped");
	assert_non_null(strstr(err.msg, "hop 0"));
	blo_envelope_free(&env);
	/* The trace of one envelope moved onto another alert of the same origin:
	 * each hop is bound to the signature it follows. */
	{
		uint8_t *other = NULL;
		size_t other_len = 0;
		Blonet__Envelope *second;

		make_envelope_ref(f->ids[TH_AGENT], "th-customs-maesai", "TH", "TH-2024-000118",
				  &other, &other_len);
		second = parsed(other, other_len);
		E(verify(f, second, &err));
		env = two_hop_envelope(f, bytes, len);
		second->trace = env->trace;
		second->n_trace = env->n_trace;
		env->trace = NULL;
		env->n_trace = 0;
		expect(verify(f, second, &err), BLO_ESIGNATURE, &err, "trace moved");
		blo_envelope_free(&second);
		blo_envelope_free(&env);
		free(other);
	}
	/* A hop whose signature was computed over another origin signature. */
	env = two_hop_envelope(f, bytes, len);
	env->signature.data[0] ^= 1;
	expect(verify(f, env, &err), BLO_ESIGNATURE, &err, "origin signature");
	blo_envelope_free(&env);
	free(bytes);
}

static void test_hop_by_non_broker_unknown_or_revoked_fails(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL;
	size_t len = 0;
	Blonet__Envelope *env;
	blo_err_t err = {0};

	make_envelope(f->ids[TH_AGENT], "th-customs-maesai", "TH", &bytes, &len);

	env = parsed(bytes, len);
	E(blo_envelope_add_hop(env, f->ids[TH_BROKER], 1000, NULL));
	E(blo_envelope_add_hop(env, f->ids[TH_CONSOLE], 2000, NULL));
	expect(verify(f, env, &err), BLO_EPERM, &err, "hop by a console");
	assert_non_null(strstr(err.msg, "not a broker"));
	blo_envelope_free(&env);

	env = parsed(bytes, len);
	E(blo_envelope_add_hop(env, f->ids[TH_AGENT], 1000, NULL));
	expect(verify(f, env, &err), BLO_EPERM, &err, "hop by the agent");
	blo_envelope_free(&env);

	env = parsed(bytes, len);
	E(blo_envelope_add_hop(env, f->stranger, 1000, NULL));
	expect(verify(f, env, &err), BLO_ENOTFOUND, &err, "hop by a stranger");
	blo_envelope_free(&env);

	env = parsed(bytes, len);
	E(blo_envelope_add_hop(env, f->ids[TH_BROKER], 1000, NULL));
	E(blo_envelope_add_hop(env, f->ids[REVOKED_BROKER], 2000, NULL));
	expect(verify(f, env, &err), BLO_EREVOKED, &err, "hop by a revoked broker");
	blo_envelope_free(&env);
	free(bytes);
}

static void test_hop_trace_is_bounded(void **state)
{
	fixture_t *f = *state;
	uint8_t *bytes = NULL, *full;
	size_t len = 0, full_len = 0;
	Blonet__Envelope *env, *again;
	blo_err_t err = {0};

	make_envelope(f->ids[TH_AGENT], "th-customs-maesai", "TH", &bytes, &len);
	env = parsed(bytes, len);
	for (int i = 0; i < BLO_MAX_HOPS; i++)
		E(blo_envelope_add_hop(env, f->ids[i % 2 ? TH_BROKER : MM_BROKER], 1000 + i, &err));
	E(verify(f, env, &err));
	assert_int_equal(blo_envelope_add_hop(env, f->ids[LA_BROKER], 9999, &err), BLO_ETOOBIG);
	assert_int_equal(env->n_trace, BLO_MAX_HOPS);
	full = serialized(env, &full_len);
	again = parsed(full, full_len);
	blo_envelope_free(&again);
	free(full);

	/* One hop more than the bound, forced: parse refuses it. */
	{
		Blonet__Hop *extra = env->trace[0];
		Blonet__Hop **trace = malloc((BLO_MAX_HOPS + 1) * sizeof(*trace));
		Blonet__Hop **saved = env->trace;

		memcpy(trace, env->trace, BLO_MAX_HOPS * sizeof(*trace));
		trace[BLO_MAX_HOPS] = extra;
		env->trace = trace;
		env->n_trace = BLO_MAX_HOPS + 1;
		full = serialized(env, &full_len);
		assert_int_equal(blo_envelope_parse(&again, full, full_len, &err), BLO_EPARSE);
		assert_null(again);
		assert_non_null(strstr(err.msg, "hops"));
		env->trace = saved;
		env->n_trace = BLO_MAX_HOPS;
		free(trace);
		free(full);
	}
	blo_envelope_free(&env);
	free(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seal_then_verify_returns_alert_and_origin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_every_flipped_bit_of_the_envelope_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_by_another_key_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_origin_principal_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_origin_principal_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_origin_country_other_than_the_registry_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_bytes_that_do_not_parse_or_validate_fail,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_refuses_oversized_or_empty_alerts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_parse_refuses_malformed_envelopes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_hops_by_two_brokers_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_altered_reordered_or_dropped_hops_fail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hop_by_non_broker_unknown_or_revoked_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hop_trace_is_bounded, setup, teardown),
	};

	return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
