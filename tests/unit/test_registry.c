/*
 * Unit tests of blo_registry: signing and verifying the registry (tampering,
 * unsigned files, foreign authorities), validation of its content with
 * errors that name the principal and the field, and the lookups.
 */
#include "blo_test.h"

#include <errno.h>
#include <sys/stat.h>

enum { N_IDS = 7 };

static const struct {
	const char *id, *role, *country, *agency, *site;
	bool revoked;
} people[N_IDS] = {
	{"th-broker-1", "broker", "TH", "COORDINATION", "", false},
	{"th-customs-maesai", "agent", "TH", "CUSTOMS", "TH-MAESAI", false},
	{"th-console-maesai", "console", "TH", "COORDINATION", "TH-MAESAI", false},
	{"mm-broker-1", "broker", "MM", "COORDINATION", "", false},
	{"mm-console-tachileik", "console", "MM", "BORDER_POLICE", "MM-TACHILEIK", false},
	{"la-committee", "committee", "LA", "COORDINATION", "", false},
	{"th-immigration-old", "agent", "TH", "IMMIGRATION", "TH-MAESAI", true},
};

typedef struct {
	blo_identity_t *authority;
	blo_identity_t *other_authority;
	blo_identity_t *ids[N_IDS];
	blo_identity_t *spare; /* keys registered nowhere */
	cJSON *registry;       /* a valid registry object */
	char *signed_text;     /* registry signed by authority */
} fixture_t;

static cJSON *principal_json(const blo_identity_t *id, size_t i)
{
	cJSON *p = cJSON_CreateObject();
	char hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char z85[BLO_Z85_KEY_CHARS + 1];

	E(blo_hex_encode(hex, sizeof(hex), blo_identity_public(id)->sign_public,
			 BLO_SIGN_PUBLIC_BYTES));
	E(blo_z85_encode_key(z85, blo_identity_public(id)->curve_public));
	cJSON_AddStringToObject(p, "id", people[i].id);
	cJSON_AddStringToObject(p, "role", people[i].role);
	cJSON_AddStringToObject(p, "country", people[i].country);
	cJSON_AddStringToObject(p, "agency", people[i].agency);
	if (people[i].site[0] != '\0')
		cJSON_AddStringToObject(p, "site", people[i].site);
	cJSON_AddStringToObject(p, "sign_public", hex);
	cJSON_AddStringToObject(p, "curve_public", z85);
	if (people[i].revoked)
		cJSON_AddBoolToObject(p, "revoked", true);
	return p;
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	cJSON *principals, *operations, *op, *members;
	blo_err_t err = {0};

	E(blo_identity_generate(&f->authority, "mekong-authority"));
	E(blo_identity_generate(&f->other_authority, "mekong-authority"));
	E(blo_identity_generate(&f->spare, "spare"));
	f->registry = cJSON_CreateObject();
	cJSON_AddStringToObject(f->registry, "name", "greater-mekong");
	cJSON_AddNumberToObject(f->registry, "version", 3);
	cJSON_AddNumberToObject(f->registry, "issued_ms", 1732780800000.0);
	principals = cJSON_AddArrayToObject(f->registry, "principals");
	for (size_t i = 0; i < N_IDS; i++) {
		E(blo_identity_generate(&f->ids[i], people[i].id));
		cJSON_AddItemToArray(principals, principal_json(f->ids[i], i));
	}
	operations = cJSON_AddArrayToObject(f->registry, "operations");
	op = cJSON_CreateObject();
	cJSON_AddStringToObject(op, "code", "OP-GOLDEN-TRIANGLE");
	members = cJSON_AddArrayToObject(op, "members");
	cJSON_AddItemToArray(members, cJSON_CreateString("th-customs-maesai"));
	cJSON_AddItemToArray(members, cJSON_CreateString("mm-console-tachileik"));
	cJSON_AddItemToArray(operations, op);
	op = cJSON_CreateObject();
	cJSON_AddStringToObject(op, "code", "OP-EMPTY");
	cJSON_AddArrayToObject(op, "members");
	cJSON_AddItemToArray(operations, op);
	if (blo_registry_sign(f->registry, f->authority, &f->signed_text, &err) != 0)
		fail_msg("sign: %s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	blo_identity_destroy(&f->authority);
	blo_identity_destroy(&f->other_authority);
	blo_identity_destroy(&f->spare);
	for (size_t i = 0; i < N_IDS; i++)
		blo_identity_destroy(&f->ids[i]);
	cJSON_Delete(f->registry);
	free(f->signed_text);
	free(f);
	return 0;
}

static const uint8_t *authority_key(const fixture_t *f)
{
	return blo_identity_public(f->authority)->sign_public;
}

static int parse_text(const fixture_t *f, const char *text, blo_err_t *err)
{
	blo_registry_t *reg = NULL;
	int rc = blo_registry_parse(&reg, text, strlen(text), authority_key(f), err);

	if (rc == 0)
		assert_non_null(reg);
	else
		assert_null(reg);
	blo_registry_destroy(&reg);
	return rc;
}

/* text with the first occurrence of from replaced by to (must occur). */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out = NULL;

	if (at == NULL)
		fail_msg("\"%s\" does not occur in the signed text", from);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)) > 0);
	return out;
}

/* Signs obj the way blo_registry_sign does but without validating it, so
 * that the parser's own validation is what refuses it. */
static char *sign_unchecked(const cJSON *obj, const blo_identity_t *authority)
{
	char *canonical = cJSON_PrintUnformatted(obj);
	uint8_t sig[BLO_SIGNATURE_BYTES];
	char sig_hex[2 * BLO_SIGNATURE_BYTES + 1];
	char key_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char *out = NULL;

	blo_identity_sign(authority, (const uint8_t *)canonical, strlen(canonical), sig);
	E(blo_hex_encode(sig_hex, sizeof(sig_hex), sig, sizeof(sig)));
	E(blo_hex_encode(key_hex, sizeof(key_hex), blo_identity_public(authority)->sign_public,
			 BLO_SIGN_PUBLIC_BYTES));
	assert_true(asprintf(&out, "{\"registry\":%s,\"authority\":\"%s\",\"signature\":\"%s\"}",
			     canonical, key_hex, sig_hex) > 0);
	free(canonical);
	return out;
}

static void test_sign_then_parse_gives_the_registry(void **state)
{
	fixture_t *f = *state;
	blo_registry_t *reg = NULL;
	blo_err_t err = {0};

	if (blo_registry_parse(&reg, f->signed_text, strlen(f->signed_text), authority_key(f),
			       &err) != 0)
		fail_msg("parse: %s\n%s", err.msg, f->signed_text);
	assert_string_equal(blo_registry_name(reg), "greater-mekong");
	assert_int_equal(blo_registry_version(reg), 3);
	assert_int_equal(blo_registry_count(reg), N_IDS);
	for (size_t i = 0; i < N_IDS; i++) {
		const blo_principal_t *p = blo_registry_at(reg, i);
		const blo_public_identity_t *pub = blo_identity_public(f->ids[i]);

		assert_non_null(p);
		assert_string_equal(p->id, people[i].id);
		assert_string_equal(blo_role_name(p->role), people[i].role);
		assert_string_equal(p->country, people[i].country);
		assert_string_equal(blo_enum_name(&blonet__agency_kind__descriptor, (int)p->agency),
				    people[i].agency);
		assert_string_equal(p->site, people[i].site);
		assert_memory_equal(p->sign_public, pub->sign_public, BLO_SIGN_PUBLIC_BYTES);
		assert_memory_equal(p->curve_public, pub->curve_public, BLO_CURVE_KEY_BYTES);
		assert_int_equal(p->revoked, people[i].revoked);
	}
	assert_null(blo_registry_at(reg, N_IDS));
	blo_registry_destroy(&reg);
	assert_null(reg);
	blo_registry_destroy(&reg);
	blo_registry_destroy(NULL);
}

static void test_lookups_by_id_and_by_curve_key(void **state)
{
	fixture_t *f = *state;
	blo_registry_t *reg = NULL;

	E(blo_registry_parse(&reg, f->signed_text, strlen(f->signed_text), authority_key(f), NULL));
	for (size_t i = 0; i < N_IDS; i++) {
		const blo_principal_t *by_id = blo_registry_find(reg, people[i].id);
		const blo_principal_t *by_curve = blo_registry_find_by_curve(
			reg, blo_identity_public(f->ids[i])->curve_public);

		assert_non_null(by_id);
		assert_ptr_equal(by_id, blo_registry_at(reg, i));
		assert_ptr_equal(by_curve, by_id);
	}
	/* Revoked principals are found too; the caller checks. */
	assert_true(blo_registry_find(reg, "th-immigration-old")->revoked);
	assert_null(blo_registry_find(reg, "nobody"));
	assert_null(blo_registry_find(reg, ""));
	assert_null(blo_registry_find(reg, NULL));
	assert_null(blo_registry_find(reg, "th-broker-1 "));
	assert_null(blo_registry_find_by_curve(reg, blo_identity_public(f->spare)->curve_public));
	/* A signing key is not a CURVE key. */
	assert_null(blo_registry_find_by_curve(reg, blo_identity_public(f->ids[0])->sign_public));
	{
		char longer[200];

		memset(longer, 'a', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		assert_null(blo_registry_find(reg, longer));
	}
	blo_registry_destroy(&reg);
}

static void test_operations_membership_and_sites(void **state)
{
	fixture_t *f = *state;
	blo_registry_t *reg = NULL;

	E(blo_registry_parse(&reg, f->signed_text, strlen(f->signed_text), authority_key(f), NULL));
	assert_true(blo_registry_is_member(reg, "OP-GOLDEN-TRIANGLE", "th-customs-maesai"));
	assert_true(blo_registry_is_member(reg, "OP-GOLDEN-TRIANGLE", "mm-console-tachileik"));
	assert_false(blo_registry_is_member(reg, "OP-GOLDEN-TRIANGLE", "th-console-maesai"));
	assert_false(blo_registry_is_member(reg, "OP-GOLDEN-TRIANGLE", "nobody"));
	assert_false(blo_registry_is_member(reg, "OP-NONE", "th-customs-maesai"));
	assert_false(blo_registry_is_member(reg, "OP-EMPTY", "th-customs-maesai"));
	assert_false(blo_registry_is_member(reg, NULL, "th-customs-maesai"));
	assert_false(blo_registry_is_member(reg, "", "th-customs-maesai"));

	assert_true(blo_registry_site_in_country(reg, "TH-MAESAI", "TH"));
	assert_true(blo_registry_site_in_country(reg, "MM-TACHILEIK", "MM"));
	assert_false(blo_registry_site_in_country(reg, "TH-MAESAI", "MM"));
	assert_false(blo_registry_site_in_country(reg, "MM-TACHILEIK", "TH"));
	assert_false(blo_registry_site_in_country(reg, "LA-BOTEN", "LA"));
	/* Principals of no site do not make "" a site. */
	assert_false(blo_registry_site_in_country(reg, "", "LA"));
	assert_false(blo_registry_site_in_country(reg, NULL, "TH"));
	assert_false(blo_registry_site_in_country(reg, "TH-MAESAI", "THA"));
	blo_registry_destroy(&reg);
}

static void test_roles_have_names(void **state)
{
	(void)state;
	assert_string_equal(blo_role_name(BLO_ROLE_BROKER), "broker");
	assert_string_equal(blo_role_name(BLO_ROLE_AGENT), "agent");
	assert_string_equal(blo_role_name(BLO_ROLE_CONSOLE), "console");
	assert_string_equal(blo_role_name(BLO_ROLE_COMMITTEE), "committee");
	assert_string_equal(blo_role_name(BLO_ROLE_ADMIN), "admin");
	assert_null(blo_role_name(BLO_ROLE_NONE));
	assert_null(blo_role_name((blo_role_t)99));
	for (int r = BLO_ROLE_BROKER; r <= BLO_ROLE_ADMIN; r++)
		assert_int_equal(blo_role_parse(blo_role_name((blo_role_t)r)), r);
	assert_int_equal(blo_role_parse("Broker"), BLO_ROLE_NONE);
	assert_int_equal(blo_role_parse(""), BLO_ROLE_NONE);
	assert_int_equal(blo_role_parse(NULL), BLO_ROLE_NONE);
}

/* Changing any one value of the signed registry breaks its signature. */
static void test_tampered_registry_fails_signature(void **state)
{
	fixture_t *f = *state;
	char sign_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char spare_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char curve_z85[BLO_Z85_KEY_CHARS + 1];
	char spare_z85[BLO_Z85_KEY_CHARS + 1];
	char *extra_line;
	blo_err_t err = {0};

	E(blo_hex_encode(sign_hex, sizeof(sign_hex), blo_identity_public(f->ids[1])->sign_public,
			 BLO_SIGN_PUBLIC_BYTES));
	E(blo_hex_encode(spare_hex, sizeof(spare_hex), blo_identity_public(f->spare)->sign_public,
			 BLO_SIGN_PUBLIC_BYTES));
	E(blo_z85_encode_key(curve_z85, blo_identity_public(f->ids[1])->curve_public));
	E(blo_z85_encode_key(spare_z85, blo_identity_public(f->spare)->curve_public));
	assert_true(asprintf(&extra_line,
			     "\"principals\": [\n      {\"id\": \"spare\", \"role\": \"broker\", "
			     "\"country\": \"TH\", \"agency\": \"COORDINATION\", \"sign_public\": "
			     "\"%s\", \"curve_public\": \"%s\"},",
			     spare_hex, spare_z85) > 0);

	const struct {
		const char *what, *from, *to;
	} edits[] = {
		{"a role", "\"role\": \"agent\"", "\"role\": \"broker\""},
		{"a country", "\"country\": \"MM\"", "\"country\": \"TH\""},
		{"an agency", "\"agency\": \"CUSTOMS\"", "\"agency\": \"IMMIGRATION\""},
		{"a site", "\"site\": \"MM-TACHILEIK\"", "\"site\": \"TH-MAESAI\""},
		{"a signing key", sign_hex, spare_hex},
		{"a CURVE key", curve_z85, spare_z85},
		{"the version", "\"version\": 3", "\"version\": 4"},
		{"the name", "\"greater-mekong\"", "\"greater-mekong2\""},
		{"the issue time", "1732780800000", "1732780800001"},
		{"a revocation lifted", "\"revoked\": true", "\"revoked\": false"},
		{"a revocation dropped", ", \"revoked\": true", ""},
		{"an id", "\"id\": \"th-broker-1\"", "\"id\": \"th-broker-2\""},
		{"an operation member added",
		 "\"members\": [\"th-customs-maesai\"", "\"members\": [\"th-console-maesai\", "
						     "\"th-customs-maesai\""},
		{"an operation member dropped", "\"th-customs-maesai\",\"mm-console-tachileik\"",
		 "\"th-customs-maesai\""},
		{"an operation code", "OP-GOLDEN-TRIANGLE", "OP-GOLDEN-TRIANGLF"},
		{"a principal added", "\"principals\": [", extra_line},
	};

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *text = replaced(f->signed_text, edits[i].from, edits[i].to);
		int rc = parse_text(f, text, &err);

		if (rc != BLO_ESIGNATURE)
			fail_msg("%s: got %d (%s) %s", edits[i].what, rc, blo_strerror(rc), err.msg);
		free(text);
	}
	free(extra_line);
}

/* Every letter and digit of the registry object, changed, breaks the
 * signature (or, where the change breaks the JSON, the parse). */
static void test_any_changed_character_of_the_registry_is_refused(void **state)
{
	fixture_t *f = *state;
	char *text = strdup(f->signed_text);
	const char *start = strchr(strstr(text, "\"registry\""), '{');
	const char *end = strstr(text, "\"authority\"");
	size_t checked = 0;

	assert_non_null(start);
	assert_non_null(end);
	for (char *p = (char *)start; p < end; p++) {
		char was = *p;
		int rc;

		if (!((was >= '0' && was <= '9') || (was >= 'a' && was <= 'z') ||
		      (was >= 'A' && was <= 'Z')))
			continue;
		*p = was == 'z' ? 'y' : (was == 'Z' ? 'Y' : (was == '9' ? '8' : (char)(was + 1)));
		rc = parse_text(f, text, NULL);
		if (rc != BLO_ESIGNATURE && rc != BLO_EPARSE)
			fail_msg("offset %zu: '%c' -> '%c' gave %d (%s)", (size_t)(p - text), was, *p,
				 rc, blo_strerror(rc));
		*p = was;
		checked++;
	}
	assert_true(checked > 500);
	assert_int_equal(parse_text(f, text, NULL), 0);
	free(text);
}

static void test_whitespace_and_layout_changes_still_verify(void **state)
{
	fixture_t *f = *state;
	cJSON *root = cJSON_Parse(f->signed_text);
	char *compact = cJSON_PrintUnformatted(root);
	char *tabs = cJSON_Print(root);
	char *spaced = replaced(f->signed_text, "\"version\": 3", "\"version\"  :\n\t\r  3  ");
	char *crlf = NULL;
	blo_err_t err = {0};

	assert_true(asprintf(&crlf, "\r\n \t%s\r\n\r\n", f->signed_text) > 0);
	E(parse_text(f, compact, &err));
	E(parse_text(f, tabs, &err));
	E(parse_text(f, spaced, &err));
	E(parse_text(f, crlf, &err));
	/* The order of the outer fields is not signed either. */
	{
		cJSON *sig = cJSON_DetachItemFromObject(root, "signature");
		char *reordered;

		cJSON_AddItemToObject(root, "signature", sig);
		cJSON *reg = cJSON_DetachItemFromObject(root, "registry");
		cJSON_AddItemToObject(root, "registry", reg);
		reordered = cJSON_Print(root);
		E(parse_text(f, reordered, &err));
		free(reordered);
	}
	free(crlf);
	free(spaced);
	free(tabs);
	free(compact);
	cJSON_Delete(root);
}

static void test_unsigned_registry_is_refused(void **state)
{
	fixture_t *f = *state;
	cJSON *root = cJSON_Parse(f->signed_text);
	char *text;
	blo_err_t err = {0};

	cJSON_DeleteItemFromObject(root, "signature");
	text = cJSON_Print(root);
	assert_int_equal(parse_text(f, text, &err), BLO_EUNSIGNED);
	assert_non_null(strstr(err.msg, "not signed"));
	free(text);
	/* Neither signature nor authority. */
	cJSON_DeleteItemFromObject(root, "authority");
	text = cJSON_Print(root);
	assert_int_equal(parse_text(f, text, &err), BLO_EUNSIGNED);
	free(text);
	cJSON_Delete(root);

	/* A bare registry object is not a signed file. */
	text = cJSON_Print(f->registry);
	assert_int_not_equal(parse_text(f, text, &err), 0);
	free(text);
}

static void test_registry_of_another_authority_is_refused(void **state)
{
	fixture_t *f = *state;
	char *other = NULL;
	char *forged;
	char mine[2 * BLO_SIGN_PUBLIC_BYTES + 1], theirs[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	blo_err_t err = {0};

	E(blo_registry_sign(f->registry, f->other_authority, &other, &err));
	/* Honest about its authority: not the trusted one. */
	assert_int_equal(parse_text(f, other, &err), BLO_ESIGNATURE);
	assert_non_null(strstr(err.msg, "authority"));
	/* Claims the trusted authority, but another key signed it. */
	E(blo_hex_encode(mine, sizeof(mine), authority_key(f), BLO_SIGN_PUBLIC_BYTES));
	E(blo_hex_encode(theirs, sizeof(theirs),
			 blo_identity_public(f->other_authority)->sign_public,
			 BLO_SIGN_PUBLIC_BYTES));
	forged = replaced(other, theirs, mine);
	assert_int_equal(parse_text(f, forged, &err), BLO_ESIGNATURE);
	assert_non_null(strstr(err.msg, "does not verify"));
	free(forged);
	/* The right signature with a damaged or missing authority field. */
	forged = replaced(f->signed_text, mine, "00");
	assert_int_equal(parse_text(f, forged, &err), BLO_ESIGNATURE);
	free(forged);
	{
		cJSON *root = cJSON_Parse(f->signed_text);
		char *text;

		cJSON_DeleteItemFromObject(root, "authority");
		text = cJSON_Print(root);
		assert_int_equal(parse_text(f, text, &err), BLO_ESIGNATURE);
		free(text);
		cJSON_ReplaceItemInObject(root, "signature", cJSON_CreateString("abc"));
		text = cJSON_Print(root);
		assert_int_equal(parse_text(f, text, &err), BLO_ESIGNATURE);
		free(text);
		cJSON_Delete(root);
	}
	free(other);
}

typedef void (*mutator_t)(cJSON *registry);

static cJSON *principal_at(cJSON *registry, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(registry, "principals"), i);
}

static void set_field(cJSON *obj, const char *field, cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, field) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(obj, field, value);
	else
		cJSON_AddItemToObject(obj, field, value);
}

static void dup_id(cJSON *r)
{
	set_field(principal_at(r, 2), "id", cJSON_CreateString("th-broker-1"));
}
static void unknown_role(cJSON *r)
{
	set_field(principal_at(r, 1), "role", cJSON_CreateString("smuggler"));
}
static void role_not_string(cJSON *r)
{
	set_field(principal_at(r, 1), "role", cJSON_CreateNumber(1));
}
static void bad_country(cJSON *r)
{
	set_field(principal_at(r, 1), "country", cJSON_CreateString("XX"));
}
static void lower_country(cJSON *r)
{
	set_field(principal_at(r, 1), "country", cJSON_CreateString("th"));
}
static void long_country(cJSON *r)
{
	set_field(principal_at(r, 1), "country", cJSON_CreateString("THA"));
}
static void bad_agency(cJSON *r)
{
	set_field(principal_at(r, 1), "agency", cJSON_CreateString("POLICE"));
}
static void unset_agency(cJSON *r)
{
	set_field(principal_at(r, 1), "agency", cJSON_CreateString("AGENCY_UNSPECIFIED"));
}
static void unknown_member(cJSON *r)
{
	cJSON *op = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "operations"), 0);

	cJSON_AddItemToArray(cJSON_GetObjectItem(op, "members"), cJSON_CreateString("ghost"));
}
static void twice_member(cJSON *r)
{
	cJSON *op = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "operations"), 0);

	cJSON_AddItemToArray(cJSON_GetObjectItem(op, "members"),
			     cJSON_CreateString("th-customs-maesai"));
}
static void dup_operation(cJSON *r)
{
	cJSON *op = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "operations"), 1);

	set_field(op, "code", cJSON_CreateString("OP-GOLDEN-TRIANGLE"));
}
static void empty_operation_code(cJSON *r)
{
	cJSON *op = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "operations"), 1);

	set_field(op, "code", cJSON_CreateString(""));
}
static void operation_unknown_key(cJSON *r)
{
	cJSON *op = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "operations"), 1);

	cJSON_AddStringToObject(op, "leader", "th-broker-1");
}
static void bad_sign_hex(cJSON *r)
{
	set_field(principal_at(r, 1), "sign_public", cJSON_CreateString("0123"));
}
static void bad_sign_digit(cJSON *r)
{
	char hex[65];

	memset(hex, 'a', 64);
	hex[63] = 'g';
	hex[64] = '\0';
	set_field(principal_at(r, 1), "sign_public", cJSON_CreateString(hex));
}
static void bad_curve_z85(cJSON *r)
{
	set_field(principal_at(r, 1), "curve_public",
		  cJSON_CreateString("too short for a key"));
}
static void overflow_curve_z85(cJSON *r)
{
	set_field(principal_at(r, 1), "curve_public",
		  cJSON_CreateString("########################################"));
}
static void dup_curve(cJSON *r)
{
	const char *z = cJSON_GetObjectItem(principal_at(r, 0), "curve_public")->valuestring;

	set_field(principal_at(r, 4), "curve_public", cJSON_CreateString(z));
}
static void dup_sign(cJSON *r)
{
	const char *h = cJSON_GetObjectItem(principal_at(r, 0), "sign_public")->valuestring;

	set_field(principal_at(r, 4), "sign_public", cJSON_CreateString(h));
}
static void unknown_principal_key(cJSON *r)
{
	cJSON_AddStringToObject(principal_at(r, 1), "colour", "blue");
}
static void unknown_registry_key(cJSON *r)
{
	cJSON_AddStringToObject(r, "comment", "hello");
}
static void version_zero(cJSON *r)
{
	set_field(r, "version", cJSON_CreateNumber(0));
}
static void version_fraction(cJSON *r)
{
	set_field(r, "version", cJSON_CreateNumber(1.5));
}
static void version_string(cJSON *r)
{
	set_field(r, "version", cJSON_CreateString("3"));
}
static void version_missing(cJSON *r)
{
	cJSON_DeleteItemFromObject(r, "version");
}
static void negative_issued(cJSON *r)
{
	set_field(r, "issued_ms", cJSON_CreateNumber(-5));
}
static void no_principals(cJSON *r)
{
	set_field(r, "principals", cJSON_CreateArray());
}
static void principals_object(cJSON *r)
{
	set_field(r, "principals", cJSON_CreateObject());
}
static void principal_not_object(cJSON *r)
{
	cJSON_AddItemToArray(cJSON_GetObjectItem(r, "principals"), cJSON_CreateString("x"));
}
static void revoked_string(cJSON *r)
{
	set_field(principal_at(r, 1), "revoked", cJSON_CreateString("yes"));
}
static void bad_site(cJSON *r)
{
	set_field(principal_at(r, 1), "site", cJSON_CreateString("Mae Sai"));
}
static void bad_id(cJSON *r)
{
	set_field(principal_at(r, 1), "id", cJSON_CreateString("th customs"));
}
static void missing_id(cJSON *r)
{
	cJSON_DeleteItemFromObject(principal_at(r, 1), "id");
}
static void missing_role(cJSON *r)
{
	cJSON_DeleteItemFromObject(principal_at(r, 1), "role");
}
static void missing_curve(cJSON *r)
{
	cJSON_DeleteItemFromObject(principal_at(r, 1), "curve_public");
}
static void missing_name(cJSON *r)
{
	cJSON_DeleteItemFromObject(r, "name");
}
static void twice_field(cJSON *r)
{
	/* cJSON keeps both members of an object that names a field twice. */
	cJSON_AddStringToObject(principal_at(r, 1), "role", "broker");
}

static void test_malformed_registries_are_refused_with_clear_errors(void **state)
{
	fixture_t *f = *state;
	static const struct {
		const char *what;
		mutator_t mutate;
		int code;
		const char *needle;
	} cases[] = {
		{"duplicate id", dup_id, BLO_EVALIDATE,
		 "principal 2 (\"th-broker-1\"): field \"id\": same as principal 0"},
		{"unknown role", unknown_role, BLO_EVALIDATE,
		 "principal 1 (\"th-customs-maesai\"): field \"role\""},
		{"role not a string", role_not_string, BLO_EVALIDATE, "field \"role\""},
		{"bad country", bad_country, BLO_EVALIDATE,
		 "principal 1 (\"th-customs-maesai\"): field \"country\": not an ISO 3166"},
		{"lower-case country", lower_country, BLO_EVALIDATE, "field \"country\""},
		{"three-letter country", long_country, BLO_EVALIDATE, "field \"country\""},
		{"unknown agency", bad_agency, BLO_EVALIDATE, "field \"agency\""},
		{"unset agency", unset_agency, BLO_EVALIDATE, "field \"agency\""},
		{"unknown operation member", unknown_member, BLO_EVALIDATE,
		 "operation 0 (\"OP-GOLDEN-TRIANGLE\"): field \"members\": member 2 (\"ghost\") is "
		 "not a principal"},
		{"member listed twice", twice_member, BLO_EVALIDATE, "listed twice"},
		{"duplicate operation", dup_operation, BLO_EVALIDATE,
		 "field \"code\": same as operation 0"},
		{"empty operation code", empty_operation_code, BLO_EVALIDATE,
		 "operation 1: field \"code\""},
		{"unknown operation key", operation_unknown_key, BLO_EVALIDATE,
		 "unknown field \"leader\""},
		{"short sign key", bad_sign_hex, BLO_EVALIDATE,
		 "principal 1 (\"th-customs-maesai\"): field \"sign_public\": not 64 hex"},
		{"bad hex digit", bad_sign_digit, BLO_EVALIDATE, "field \"sign_public\""},
		{"bad CURVE key text", bad_curve_z85, BLO_EVALIDATE,
		 "field \"curve_public\": not a 40-character Z85"},
		{"overflowing Z85", overflow_curve_z85, BLO_EVALIDATE, "field \"curve_public\""},
		{"duplicate CURVE key", dup_curve, BLO_EVALIDATE,
		 "principal 4 (\"mm-console-tachileik\"): field \"curve_public\": same as principal 0"},
		{"duplicate signing key", dup_sign, BLO_EVALIDATE,
		 "field \"sign_public\": same as principal 0"},
		{"unknown principal key", unknown_principal_key, BLO_EVALIDATE,
		 "principal 1 (\"th-customs-maesai\"): unknown field \"colour\""},
		{"unknown registry key", unknown_registry_key, BLO_EVALIDATE,
		 "registry: unknown field \"comment\""},
		{"version 0", version_zero, BLO_EVALIDATE, "field \"version\""},
		{"version 1.5", version_fraction, BLO_EVALIDATE, "field \"version\""},
		{"version as text", version_string, BLO_EVALIDATE, "field \"version\""},
		{"no version", version_missing, BLO_EVALIDATE, "field \"version\""},
		{"negative issue time", negative_issued, BLO_EVALIDATE, "field \"issued_ms\""},
		{"no principals", no_principals, BLO_EVALIDATE, "field \"principals\""},
		{"principals not an array", principals_object, BLO_EVALIDATE, "field \"principals\""},
		{"principal not an object", principal_not_object, BLO_EVALIDATE,
		 "principal 7: not an object"},
		{"revoked as text", revoked_string, BLO_EVALIDATE, "field \"revoked\""},
		{"site with a space", bad_site, BLO_EVALIDATE, "field \"site\""},
		{"bad id", bad_id, BLO_EVALIDATE, "principal 1: field \"id\""},
		{"missing id", missing_id, BLO_EVALIDATE, "principal 1: field \"id\" is missing"},
		{"missing role", missing_role, BLO_EVALIDATE, "field \"role\" is missing"},
		{"missing CURVE key", missing_curve, BLO_EVALIDATE, "field \"curve_public\" is missing"},
		{"missing name", missing_name, BLO_EVALIDATE, "field \"name\""},
		{"field twice", twice_field, BLO_EVALIDATE, "field \"role\" appears twice"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *reg = cJSON_Duplicate(f->registry, true);
		char *text, *out = NULL;
		blo_err_t err = {0};
		int rc;

		cases[i].mutate(reg);
		/* The signer refuses it... */
		rc = blo_registry_sign(reg, f->authority, &out, &err);
		if (rc != cases[i].code || strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("sign, %s: got %d (%s) \"%s\", want \"%s\"", cases[i].what, rc,
				 blo_strerror(rc), err.msg, cases[i].needle);
		assert_null(out);
		/* ...and so does the parser, past a good signature. */
		text = sign_unchecked(reg, f->authority);
		rc = parse_text(f, text, &err);
		if (rc != cases[i].code || strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("parse, %s: got %d (%s) \"%s\", want \"%s\"", cases[i].what, rc,
				 blo_strerror(rc), err.msg, cases[i].needle);
		free(text);
		cJSON_Delete(reg);
	}
}

static void test_text_that_is_not_a_signed_registry_is_refused(void **state)
{
	fixture_t *f = *state;
	blo_err_t err = {0};
	blo_registry_t *reg = NULL;
	static const char *const texts[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"registry\": 5, \"signature\": \"00\"}",
		"{\"registry\": {}, \"authority\": \"00\", \"signature\": \"00\", \"x\": 1}",
	};
	char *trailing = NULL;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		int rc = parse_text(f, texts[i], &err);

		if (rc != BLO_EPARSE && rc != BLO_EVALIDATE)
			fail_msg("\"%s\": got %d (%s)", texts[i], rc, blo_strerror(rc));
	}
	assert_true(asprintf(&trailing, "%s{}", f->signed_text) > 0);
	assert_int_equal(parse_text(f, trailing, &err), BLO_EPARSE);
	free(trailing);
	/* An embedded NUL cuts nothing short: refused. */
	{
		size_t len = strlen(f->signed_text);
		char *nul = malloc(len + 2);

		memcpy(nul, f->signed_text, len);
		nul[len] = '\0';
		nul[len + 1] = ' ';
		assert_int_equal(blo_registry_parse(&reg, nul, len + 2, authority_key(f), &err),
				 BLO_EPARSE);
		assert_null(reg);
		free(nul);
	}
	assert_int_equal(blo_registry_parse(&reg, f->signed_text, BLO_REGISTRY_MAX_BYTES + 1u,
					    authority_key(f), &err),
			 BLO_ETOOBIG);
}

static void test_load_reads_a_file_and_names_it_in_errors(void **state)
{
	fixture_t *f = *state;
	char *dir = blo_test_mkdtemp();
	char path[512];
	blo_registry_t *reg = NULL;
	blo_err_t err = {0};

	snprintf(path, sizeof(path), "%s/registry.json", dir);
	E(blo_write_file_atomic(path, f->signed_text, strlen(f->signed_text), 0644));
	E(blo_registry_load(&reg, path, authority_key(f), &err));
	assert_int_equal(blo_registry_count(reg), N_IDS);
	blo_registry_destroy(&reg);

	assert_int_equal(blo_registry_load(&reg, path,
					   blo_identity_public(f->other_authority)->sign_public,
					   &err),
			 BLO_ESIGNATURE);
	assert_null(reg);
	assert_non_null(strstr(err.msg, path));

	assert_int_equal(blo_registry_load(&reg, "/nonexistent/registry.json", authority_key(f),
					   &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/registry.json"));
	blo_test_rmdir(dir);
	free(dir);
}

static void test_signed_text_is_readable_one_principal_per_line(void **state)
{
	fixture_t *f = *state;
	size_t lines = 0;

	for (const char *p = f->signed_text; *p; p++)
		lines += *p == '\n';
	/* Outer braces, name/version/issued, principals, operations, keys. */
	assert_true(lines >= N_IDS + 10);
	assert_non_null(strstr(f->signed_text, "\n      {\"id\": \"th-broker-1\", \"role\": \"broker\""));
	assert_non_null(strstr(f->signed_text, "\"signature\": \""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sign_then_parse_gives_the_registry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lookups_by_id_and_by_curve_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operations_membership_and_sites, setup, teardown),
		cmocka_unit_test(test_roles_have_names),
		cmocka_unit_test_setup_teardown(test_tampered_registry_fails_signature, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_any_changed_character_of_the_registry_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_whitespace_and_layout_changes_still_verify, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsigned_registry_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_of_another_authority_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_registries_are_refused_with_clear_errors,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_that_is_not_a_signed_registry_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_reads_a_file_and_names_it_in_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_signed_text_is_readable_one_principal_per_line,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
