/*
 * Tests of blo_codec: bounded parse/serialize, the generic JSON codec, the
 * golden vectors in tests/golden, validation rules and ids.
 *
 * BLO_GOLDEN_REGEN=1 rewrites the golden .pb files (and the .json files in
 * canonical form) from the .json files instead of checking them: run it only
 * when the schema changes on purpose, and review the diff.
 */
#include "blo_test.h"

#include <sys/stat.h>

static const char *const golden_names[] = {
	"alert_full", "alert", "update", "cancel", "ack", "rfi", "response", "bulletin",
};

static Blonet__Alert *alert_from_golden(const char *name)
{
	char *path = blo_test_golden_path(name, "json");
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};
	size_t len;
	char *text = blo_test_read_text(path, &len);

	if (blo_json_to_alert(&a, text, len, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	free(text);
	free(path);
	return a;
}

/* Sets a to the compact JSON of the golden alert name with one top-level
 * edit applied by the caller's cJSON callback. */
static int decode_edited(const char *name, void (*edit)(cJSON *root), Blonet__Alert **out,
			 blo_err_t *err)
{
	char *path = blo_test_golden_path(name, "json");
	size_t len;
	char *text = blo_test_read_text(path, &len);
	cJSON *root = cJSON_Parse(text);
	char *edited;
	int rc;

	assert_non_null(root);
	edit(root);
	edited = cJSON_PrintUnformatted(root);
	rc = blo_json_to_alert(out, edited, strlen(edited), err);
	cJSON_free(edited);
	cJSON_Delete(root);
	free(text);
	free(path);
	return rc;
}

static void regenerate_golden(void)
{
	for (size_t i = 0; i < sizeof(golden_names) / sizeof(golden_names[0]); i++) {
		Blonet__Alert *a = alert_from_golden(golden_names[i]);
		char *jpath = blo_test_golden_path(golden_names[i], "json");
		char *bpath = blo_test_golden_path(golden_names[i], "pb");
		char *json = blo_alert_to_json(a, true);
		blo_err_t err = {0};
		uint8_t *bytes;
		size_t len;

		E(blo_alert_validate(a, &err));
		E(blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES, &bytes, &len, &err));
		E(blo_write_file_atomic(bpath, bytes, len, 0644));
		E(blo_write_file_atomic(jpath, json, strlen(json), 0644));
		printf("regenerated %s (%zu bytes)\n", golden_names[i], len);
		free(bytes);
		cJSON_free(json);
		free(jpath);
		free(bpath);
		blo_alert_free(&a);
	}
}

/* ---------------------------------------------------------------- golden */

static void test_golden_json_encodes_to_checked_in_bytes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(golden_names) / sizeof(golden_names[0]); i++) {
		Blonet__Alert *a = alert_from_golden(golden_names[i]);
		char *bpath = blo_test_golden_path(golden_names[i], "pb");
		size_t want_len, len;
		char *want = blo_test_read_text(bpath, &want_len);
		blo_err_t err = {0};
		uint8_t *bytes;

		E(blo_alert_validate(a, &err));
		E(blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES, &bytes, &len, &err));
		if (len != want_len || memcmp(bytes, want, len) != 0)
			fail_msg("%s: encodes to %zu bytes that differ from the %zu checked in",
				 golden_names[i], len, want_len);
		free(bytes);
		free(want);
		free(bpath);
		blo_alert_free(&a);
	}
}

static void test_golden_bytes_decode_to_exact_json(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(golden_names) / sizeof(golden_names[0]); i++) {
		char *bpath = blo_test_golden_path(golden_names[i], "pb");
		char *jpath = blo_test_golden_path(golden_names[i], "json");
		size_t blen, jlen;
		char *bytes = blo_test_read_text(bpath, &blen);
		char *want = blo_test_read_text(jpath, &jlen);
		Blonet__Alert *a = NULL;
		blo_err_t err = {0};
		char *json;

		E(blo_alert_parse(&a, (const uint8_t *)bytes, blen, &err));
		json = blo_alert_to_json(a, true);
		assert_non_null(json);
		if (strcmp(json, want) != 0)
			fail_msg("%s: bytes -> JSON differs from the checked-in JSON:\n%s", golden_names[i],
				 json);
		cJSON_free(json);
		blo_alert_free(&a);
		free(bytes);
		free(want);
		free(bpath);
		free(jpath);
	}
}

/* Every field of every message type reachable from Alert appears somewhere
 * in j (for repeated messages: in at least one element). ack_status belongs
 * to ACKs only, so the full vector (an UPDATE) cannot carry it: the ack
 * vector does. */
static void assert_every_field_set(const ProtobufCMessageDescriptor *desc, const cJSON *j,
				   const char *path)
{
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, f->name);

		if (desc == &blonet__alert__descriptor && strcmp(f->name, "ack_status") == 0)
			continue;
		if (v == NULL)
			fail_msg("alert_full: field %s.%s is not set", path, f->name);
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (cJSON_IsArray(v)) {
			/* Each sub-field must appear in some element: merge them. */
			cJSON *merged = cJSON_CreateObject();
			const cJSON *e, *kv;

			cJSON_ArrayForEach(e, v) {
				cJSON_ArrayForEach(kv, e) {
					if (!cJSON_HasObjectItem(merged, kv->string))
						cJSON_AddItemToObject(merged, kv->string,
								      cJSON_Duplicate(kv, true));
				}
			}
			assert_every_field_set(f->descriptor, merged, f->name);
			cJSON_Delete(merged);
		} else {
			assert_every_field_set(f->descriptor, v, f->name);
		}
	}
}

static void test_golden_full_alert_sets_every_field(void **state)
{
	char *path = blo_test_golden_path("alert_full", "json");
	size_t len;
	char *text = blo_test_read_text(path, &len);
	cJSON *j = cJSON_Parse(text);
	Blonet__Alert *a;

	(void)state;
	assert_non_null(j);
	assert_every_field_set(&blonet__alert__descriptor, j, "alert");
	cJSON_Delete(j);
	free(text);
	free(path);
	a = alert_from_golden("ack");
	assert_int_equal(a->ack_status, BLONET__ACK_STATUS__ACTING);
	blo_alert_free(&a);
}

static void test_golden_vectors_cover_every_message_type(void **state)
{
	const ProtobufCEnumDescriptor *d = &blonet__message_type__descriptor;

	(void)state;
	for (unsigned v = 0; v < d->n_values; v++) {
		bool found = false;

		if (d->values[v].value == 0)
			continue;
		for (size_t i = 0; i < sizeof(golden_names) / sizeof(golden_names[0]) && !found; i++) {
			Blonet__Alert *a = alert_from_golden(golden_names[i]);

			found = (int)a->type == d->values[v].value;
			blo_alert_free(&a);
		}
		if (!found)
			fail_msg("no golden vector of type %s", d->values[v].name);
	}
}

/* ---------------------------------------------------------------- bytes */

static void test_parse_refuses_more_than_the_bound(void **state)
{
	uint8_t *big = calloc(1, BLO_ALERT_MAX_BYTES + 1);
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_alert_parse(&a, big, BLO_ALERT_MAX_BYTES + 1, &err), BLO_ETOOBIG);
	assert_null(a);
	assert_non_null(strstr(err.msg, "exceed"));
	free(big);
}

static void test_parse_refuses_garbage(void **state)
{
	static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(blo_alert_parse(&a, garbage, sizeof(garbage), &err), BLO_EPARSE);
	assert_null(a);
}

static void test_parse_refuses_unknown_fields(void **state)
{
	Blonet__Alert *a = alert_from_golden("alert");
	blo_err_t err = {0};
	uint8_t *bytes, *longer;
	size_t len;

	(void)state;
	E(blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES, &bytes, &len, &err));
	blo_alert_free(&a);
	/* Field 99, varint 1: valid protobuf, but not in this schema. */
	longer = malloc(len + 3);
	memcpy(longer, bytes, len);
	longer[len] = 0x98;
	longer[len + 1] = 0x06;
	longer[len + 2] = 0x01;
	assert_int_equal(blo_alert_parse(&a, longer, len + 3, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "unknown"));
	E(blo_alert_parse(&a, longer, len, &err));
	blo_alert_free(&a);
	free(bytes);
	free(longer);
}

static void test_serialize_refuses_more_than_the_bound(void **state)
{
	Blonet__Alert *a = alert_from_golden("alert");
	blo_err_t err = {0};
	uint8_t *bytes = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(blo_message_serialize(&a->base, 10, &bytes, &len, &err), BLO_ETOOBIG);
	assert_null(bytes);
	blo_alert_free(&a);
}

/* ---------------------------------------------------------------- JSON */

static int json_decode(const char *text, Blonet__Alert **a, blo_err_t *err)
{
	return blo_json_to_alert(a, text, strlen(text), err);
}

static void test_json_rejects_unknown_field_naming_it(void **state)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(json_decode("{\"origin\": {\"principl\": \"x\"}}", &a, &err), BLO_EPARSE);
	assert_null(a);
	assert_non_null(strstr(err.msg, "\"origin.principl\""));
	assert_non_null(strstr(err.msg, "unknown field"));
}

static void test_json_rejects_bad_enum_name(void **state)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(json_decode("{\"handling\": {\"tlp\": \"TLP_PURPLE\"}}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "\"handling.tlp\""));
	assert_non_null(strstr(err.msg, "TLP_PURPLE"));
	assert_int_equal(json_decode("{\"type\": 1}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "\"type\""));
}

static void test_json_rejects_wrong_types_naming_the_path(void **state)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(json_decode("{\"sent_ms\": \"soon\"}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "\"sent_ms\""));
	assert_int_equal(json_decode("{\"subjects\": [{\"kind\": \"PERSON\"}, {\"identifiers\": [{\"value\": 7}]}]}",
				     &a, &err),
			 BLO_EPARSE);
	assert_non_null(strstr(err.msg, "\"subjects[1].identifiers[0].value\""));
	assert_non_null(strstr(err.msg, "expected a string"));
	assert_int_equal(json_decode("{\"references\": \"00\"}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "expected an array"));
	assert_int_equal(json_decode("{\"location\": [1]}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "expected an object"));
	assert_int_equal(json_decode("{\"sent_ms\": 1.5}", &a, &err), BLO_EPARSE);
	assert_int_equal(json_decode("[]", &a, &err), BLO_EPARSE);
	assert_null(a);
}

static void test_json_rejects_bad_hex_and_duplicates(void **state)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(json_decode("{\"id\": \"0g\"}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "\"id\""));
	assert_int_equal(json_decode("{\"id\": \"abc\"}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "odd length"));
	assert_int_equal(json_decode("{\"headline\": \"a\", \"headline\": \"b\"}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "given twice"));
	assert_null(a);
}

static void test_json_rejects_invalid_text_and_trailing_garbage(void **state)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	assert_int_equal(json_decode("{\"headline\": ", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "not valid JSON"));
	assert_int_equal(json_decode("{} {}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "trailing"));
	assert_null(a);
}

static void test_json_64bit_integers_beyond_2_53_travel_as_strings(void **state)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};
	char *json;

	(void)state;
	E(json_decode("{\"sent_ms\": \"9007199254740993\"}", &a, &err));
	assert_true(a->sent_ms == 9007199254740993LL);
	json = blo_alert_to_json(a, false);
	assert_string_equal(json, "{\"sent_ms\":\"9007199254740993\"}");
	cJSON_free(json);
	blo_alert_free(&a);
	/* As a JSON number it would silently lose its last digit: refused. */
	assert_int_equal(json_decode("{\"sent_ms\": 9007199254740993}", &a, &err), BLO_EPARSE);
	assert_non_null(strstr(err.msg, "2^53"));
	E(json_decode("{\"sent_ms\": -5}", &a, &err));
	assert_true(a->sent_ms == -5);
	blo_alert_free(&a);
}

static void test_json_doubles_round_trip_exactly(void **state)
{
	static const double values[] = {20.4467, 0.1 + 0.2, -179.99999999999997, 1e-300, 12.5, 3.0};
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		Blonet__Commodity c = BLONET__COMMODITY__INIT;
		Blonet__Commodity *cs[1] = {&c};
		Blonet__Alert in = BLONET__ALERT__INIT;
		char *json;

		c.quantity = values[i];
		in.n_commodities = 1;
		in.commodities = cs;
		json = blo_alert_to_json(&in, false);
		E(json_decode(json, &a, &err));
		if (a->commodities[0]->quantity != values[i])
			fail_msg("%.17g came back as %.17g via %s", values[i], a->commodities[0]->quantity,
				 json);
		cJSON_free(json);
		blo_alert_free(&a);
	}
}

static void test_json_omits_zero_values_and_keeps_field_order(void **state)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};
	char *json;

	(void)state;
	E(json_decode("{\"headline\": \"h\", \"type\": \"ALERT\", \"expires_ms\": 0, \"subjects\": [], "
		      "\"handling\": null}",
		      &a, &err));
	json = blo_alert_to_json(a, false);
	assert_string_equal(json, "{\"type\":\"ALERT\",\"headline\":\"h\"}");
	cJSON_free(json);
	blo_alert_free(&a);
}

static void test_json_codec_is_generic_over_descriptors(void **state)
{
	ProtobufCMessage *m = NULL;
	blo_err_t err = {0};
	char *json;
	static const char text[] =
		"{\"categories\":[\"DRUGS\",\"WILDLIFE\"],\"min_severity\":\"SEVERE\",\"sites\":[\"TH-MAESAI\"]}";

	(void)state;
	E(blo_json_text_to_message(&blonet__filter__descriptor, text, strlen(text), &m, &err));
	assert_int_equal(((Blonet__Filter *)m)->n_categories, 2);
	json = blo_message_to_json_text(m, false);
	assert_string_equal(json, text);
	cJSON_free(json);
	blo_message_free(&m);
	assert_null(m);
}

/* ---------------------------------------------------------------- validation */

static void expect_invalid(const char *golden, void (*edit)(cJSON *root), const char *field)
{
	Blonet__Alert *a = NULL;
	blo_err_t err = {0};
	char quoted[128];

	E(decode_edited(golden, edit, &a, &err));
	assert_int_equal(blo_alert_validate(a, &err), BLO_EVALIDATE);
	snprintf(quoted, sizeof(quoted), "\"%s\"", field);
	if (strstr(err.msg, quoted) == NULL)
		fail_msg("expected an error naming %s, got: %s", quoted, err.msg);
	blo_alert_free(&a);
}

static void drop_id(cJSON *r) { cJSON_DeleteItemFromObject(r, "id"); }
static void short_id(cJSON *r) { cJSON_ReplaceItemInObject(r, "id", cJSON_CreateString("00ff")); }
static void drop_origin(cJSON *r) { cJSON_DeleteItemFromObject(r, "origin"); }
static void drop_principal(cJSON *r)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(r, "origin"), "principal");
}
static void bad_country(cJSON *r)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "origin"), "country", cJSON_CreateString("XX"));
}
static void lower_country(cJSON *r)
{
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "origin"), "country", cJSON_CreateString("th"));
}
static void bad_releasable(cJSON *r)
{
	cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "handling"), "releasable_to"),
			     cJSON_CreateString("LAO"));
}
static void bad_latitude(cJSON *r)
{
	cJSON *pos = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "location"), "position");

	cJSON_ReplaceItemInObject(pos, "latitude", cJSON_CreateNumber(91.5));
}
static void bad_longitude(cJSON *r)
{
	cJSON *pos = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "location"), "position");

	cJSON_ReplaceItemInObject(pos, "longitude", cJSON_CreateNumber(-180.01));
}
static void expires_before_observed(cJSON *r)
{
	cJSON_ReplaceItemInObject(r, "expires_ms",
				  cJSON_CreateNumber(cJSON_GetObjectItem(r, "observed_ms")->valuedouble - 1));
}
static void drop_references(cJSON *r) { cJSON_DeleteItemFromObject(r, "references"); }
static void red_unaddressed(cJSON *r)
{
	cJSON *h = cJSON_GetObjectItem(r, "handling");

	cJSON_ReplaceItemInObject(h, "tlp", cJSON_CreateString("TLP_RED"));
	cJSON_DeleteItemFromObject(h, "addressed_to");
}
static void strict_unaddressed(cJSON *r)
{
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(r, "handling"), "addressed_to");
}
static void drop_tlp(cJSON *r) { cJSON_DeleteItemFromObject(cJSON_GetObjectItem(r, "handling"), "tlp"); }
static void bad_hs_code(cJSON *r)
{
	cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "commodities"), 0);

	cJSON_ReplaceItemInObject(c, "hs_code", cJSON_CreateString("29X9"));
}
static void bad_nationality(cJSON *r)
{
	cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "subjects"), 0);

	cJSON_ReplaceItemInObject(s, "nationality", cJSON_CreateString("Burma"));
}
static void drop_headline(cJSON *r) { cJSON_DeleteItemFromObject(r, "headline"); }
static void drop_ack_status(cJSON *r) { cJSON_DeleteItemFromObject(r, "ack_status"); }
static void drop_category(cJSON *r) { cJSON_DeleteItemFromObject(r, "assessment"); }
static void negative_quantity(cJSON *r)
{
	cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "commodities"), 1);

	cJSON_ReplaceItemInObject(c, "quantity", cJSON_CreateNumber(-2));
}
static void no_edit(cJSON *r) { (void)r; }

static void test_valid_golden_alerts_pass_validation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(golden_names) / sizeof(golden_names[0]); i++) {
		Blonet__Alert *a = NULL;
		blo_err_t err = {0};

		E(decode_edited(golden_names[i], no_edit, &a, &err));
		if (blo_alert_validate(a, &err) != 0)
			fail_msg("%s: %s", golden_names[i], err.msg);
		blo_alert_free(&a);
	}
}

static void test_validate_names_missing_id_and_origin(void **state)
{
	(void)state;
	expect_invalid("alert_full", drop_id, "id");
	expect_invalid("alert_full", short_id, "id");
	expect_invalid("alert_full", drop_origin, "origin");
	expect_invalid("alert_full", drop_principal, "origin.principal");
}

static void test_validate_refuses_countries_not_iso_3166(void **state)
{
	(void)state;
	expect_invalid("alert_full", bad_country, "origin.country");
	expect_invalid("alert_full", lower_country, "origin.country");
	expect_invalid("alert_full", bad_releasable, "handling.releasable_to[2]");
	expect_invalid("alert_full", bad_nationality, "subjects[0].nationality");
	assert_true(blo_country_is_valid("KH") && blo_country_is_valid("CN") &&
		    blo_country_is_valid("LA") && blo_country_is_valid("MM") &&
		    blo_country_is_valid("TH") && blo_country_is_valid("VN"));
	assert_false(blo_country_is_valid("UK") || blo_country_is_valid("") ||
		     blo_country_is_valid("T") || blo_country_is_valid("THA"));
}

static void test_validate_refuses_positions_out_of_range(void **state)
{
	(void)state;
	expect_invalid("alert_full", bad_latitude, "location.position.latitude");
	expect_invalid("alert_full", bad_longitude, "location.position.longitude");
}

static void test_validate_refuses_expiry_before_observation(void **state)
{
	(void)state;
	expect_invalid("alert_full", expires_before_observed, "expires_ms");
}

static void test_validate_requires_references_for_update_cancel_ack_response(void **state)
{
	(void)state;
	expect_invalid("update", drop_references, "references");
	expect_invalid("cancel", drop_references, "references");
	expect_invalid("ack", drop_references, "references");
	expect_invalid("response", drop_references, "references");
}

static void test_validate_requires_addressees_for_red_and_amber_strict(void **state)
{
	(void)state;
	expect_invalid("alert_full", red_unaddressed, "handling.addressed_to");
	expect_invalid("alert", strict_unaddressed, "handling.addressed_to");
	expect_invalid("alert", drop_tlp, "handling.tlp");
}

static void test_validate_checks_content_fields(void **state)
{
	(void)state;
	expect_invalid("alert_full", bad_hs_code, "commodities[0].hs_code");
	expect_invalid("alert_full", negative_quantity, "commodities[1].quantity");
	expect_invalid("alert", drop_headline, "headline");
	expect_invalid("rfi", drop_headline, "headline");
	expect_invalid("ack", drop_ack_status, "ack_status");
	expect_invalid("alert", drop_category, "assessment.category");
}

static void test_validate_refuses_unknown_enum_values_from_bytes(void **state)
{
	Blonet__Alert *a = alert_from_golden("alert_full");
	blo_err_t err = {0};

	(void)state;
	a->assessment->severity = (Blonet__Severity)42;
	assert_int_equal(blo_alert_validate(a, &err), BLO_EVALIDATE);
	assert_non_null(strstr(err.msg, "\"assessment.severity\""));
	blo_alert_free(&a);
}

static void test_validate_refuses_invalid_utf8(void **state)
{
	Blonet__Alert *a = alert_from_golden("alert_full");
	blo_err_t err = {0};
	char *old;

	(void)state;
	old = a->subjects[1]->name;
	a->subjects[1]->name = strdup("Hilux \xc0\xaf"); /* overlong '/' */
	free(old);
	assert_int_equal(blo_alert_validate(a, &err), BLO_EVALIDATE);
	assert_non_null(strstr(err.msg, "\"subjects[1].name\""));
	assert_non_null(strstr(err.msg, "UTF-8"));
	blo_alert_free(&a);
}

static void test_validate_names_a_field_two_repeated_levels_down(void **state)
{
	Blonet__Alert *a = alert_from_golden("alert_full");
	blo_err_t err = {0};
	char *old;

	(void)state;
	old = a->subjects[1]->identifiers[0]->issuer;
	a->subjects[1]->identifiers[0]->issuer = strdup("\xed\xa0\x80"); /* a surrogate */
	free(old);
	assert_int_equal(blo_alert_validate(a, &err), BLO_EVALIDATE);
	assert_string_equal(err.msg,
			    "alert: field \"subjects[1].identifiers[0].issuer\": not valid UTF-8");
	blo_alert_free(&a);
}

/* ---------------------------------------------------------------- ids */

static void test_derived_id_is_deterministic_and_distinct(void **state)
{
	uint8_t a[BLO_ID_BYTES], b[BLO_ID_BYTES], c[BLO_ID_BYTES], d[BLO_ID_BYTES];

	(void)state;
	blo_alert_derive_id(a, "TH", BLONET__AGENCY_KIND__CUSTOMS, "TH-CUS-MS-2026-004417");
	blo_alert_derive_id(b, "TH", BLONET__AGENCY_KIND__CUSTOMS, "TH-CUS-MS-2026-004417");
	blo_alert_derive_id(c, "TH", BLONET__AGENCY_KIND__IMMIGRATION, "TH-CUS-MS-2026-004417");
	blo_alert_derive_id(d, "TH", BLONET__AGENCY_KIND__CUSTOMS, "TH-CUS-MS-2026-004418");
	assert_memory_equal(a, b, BLO_ID_BYTES);
	assert_memory_not_equal(a, c, BLO_ID_BYTES);
	assert_memory_not_equal(a, d, BLO_ID_BYTES);
}

static void test_random_ids_differ(void **state)
{
	uint8_t a[BLO_ID_BYTES], b[BLO_ID_BYTES];

	(void)state;
	blo_alert_random_id(a);
	blo_alert_random_id(b);
	assert_memory_not_equal(a, b, BLO_ID_BYTES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_json_encodes_to_checked_in_bytes),
		cmocka_unit_test(test_golden_bytes_decode_to_exact_json),
		cmocka_unit_test(test_golden_full_alert_sets_every_field),
		cmocka_unit_test(test_golden_vectors_cover_every_message_type),
		cmocka_unit_test(test_parse_refuses_more_than_the_bound),
		cmocka_unit_test(test_parse_refuses_garbage),
		cmocka_unit_test(test_parse_refuses_unknown_fields),
		cmocka_unit_test(test_serialize_refuses_more_than_the_bound),
		cmocka_unit_test(test_json_rejects_unknown_field_naming_it),
		cmocka_unit_test(test_json_rejects_bad_enum_name),
		cmocka_unit_test(test_json_rejects_wrong_types_naming_the_path),
		cmocka_unit_test(test_json_rejects_bad_hex_and_duplicates),
		cmocka_unit_test(test_json_rejects_invalid_text_and_trailing_garbage),
		cmocka_unit_test(test_json_64bit_integers_beyond_2_53_travel_as_strings),
		cmocka_unit_test(test_json_doubles_round_trip_exactly),
		cmocka_unit_test(test_json_omits_zero_values_and_keeps_field_order),
		cmocka_unit_test(test_json_codec_is_generic_over_descriptors),
		cmocka_unit_test(test_valid_golden_alerts_pass_validation),
		cmocka_unit_test(test_validate_names_missing_id_and_origin),
		cmocka_unit_test(test_validate_refuses_countries_not_iso_3166),
		cmocka_unit_test(test_validate_refuses_positions_out_of_range),
		cmocka_unit_test(test_validate_refuses_expiry_before_observation),
		cmocka_unit_test(test_validate_requires_references_for_update_cancel_ack_response),
		cmocka_unit_test(test_validate_requires_addressees_for_red_and_amber_strict),
		cmocka_unit_test(test_validate_checks_content_fields),
		cmocka_unit_test(test_validate_refuses_unknown_enum_values_from_bytes),
		cmocka_unit_test(test_validate_refuses_invalid_utf8),
		cmocka_unit_test(test_validate_names_a_field_two_repeated_levels_down),
		cmocka_unit_test(test_derived_id_is_deterministic_and_distinct),
		cmocka_unit_test(test_random_ids_differ),
	};
	const char *regen = getenv("BLO_GOLDEN_REGEN");

	if (regen != NULL && strcmp(regen, "1") == 0) {
		regenerate_golden();
		return 0;
	}
	return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
