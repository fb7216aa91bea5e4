/*
 * Unit tests of blo_identity: key generation, the public and secret key
 * files (round trip, modes, refusal of unsafe and malformed files), ids,
 * signatures and Z85 key text.
 */
#include "blo_test.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
	char *dir;
	char pub_path[512];
	char sec_path[512];
	char tmp_path[512];
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));

	f->dir = blo_test_mkdtemp();
	snprintf(f->pub_path, sizeof(f->pub_path), "%s/id.pub", f->dir);
	snprintf(f->sec_path, sizeof(f->sec_path), "%s/id.key", f->dir);
	snprintf(f->tmp_path, sizeof(f->tmp_path), "%s/edited.key", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	blo_test_rmdir(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	E(blo_write_file_atomic(path, text, strlen(text), mode));
}

static char *read_text(const char *path)
{
	char *text = NULL;
	size_t len = 0;

	E(blo_read_file(path, 1 << 20, &text, &len));
	return text;
}

/* The key file at path with field set to value (NULL: removed), as text. */
static char *edited_key_file(const char *path, const char *field, const char *value)
{
	char *text = read_text(path);
	cJSON *root = cJSON_Parse(text);
	char *out;

	assert_non_null(root);
	if (value == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(root, field);
	else
		cJSON_ReplaceItemInObjectCaseSensitive(root, field, cJSON_CreateString(value));
	out = cJSON_Print(root);
	cJSON_Delete(root);
	free(text);
	return out;
}

/* Loading the secret file at path fails with code and a message naming
 * needle. */
static void assert_load_fails(const char *path, int code, const char *needle)
{
	blo_identity_t *id = NULL;
	blo_err_t err = {0};
	int rc = blo_identity_load(&id, path, &err);

	if (rc != code)
		fail_msg("load %s: got %d (%s), want %d; message: %s", path, rc, blo_strerror(rc),
			 code, err.msg);
	assert_null(id);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("message \"%s\" does not name \"%s\"", err.msg, needle);
}

static void test_generate_save_load_round_trip_keeps_keys_and_signs(void **state)
{
	fixture_t *f = *state;
	blo_identity_t *a = NULL, *b = NULL;
	blo_err_t err = {0};
	const uint8_t msg[] = "seizure at Mae Sai";
	uint8_t sig[BLO_SIGNATURE_BYTES];

	E(blo_identity_generate(&a, "th-customs-maesai"));
	assert_string_equal(blo_identity_id(a), "th-customs-maesai");
	E(blo_identity_save(a, f->pub_path, f->sec_path, &err));
	E(blo_identity_load(&b, f->sec_path, &err));

	assert_string_equal(blo_identity_id(b), "th-customs-maesai");
	assert_memory_equal(blo_identity_public(a), blo_identity_public(b),
			    sizeof(blo_public_identity_t));
	assert_memory_equal(blo_identity_curve_secret(a), blo_identity_curve_secret(b),
			    BLO_CURVE_KEY_BYTES);

	/* The loaded key signs what the generated public key verifies, and the
	 * other way round. */
	blo_identity_sign(b, msg, sizeof(msg), sig);
	assert_true(blo_signature_verify(blo_identity_public(a)->sign_public, msg, sizeof(msg), sig));
	blo_identity_sign(a, msg, sizeof(msg), sig);
	assert_true(blo_signature_verify(blo_identity_public(b)->sign_public, msg, sizeof(msg), sig));

	blo_identity_destroy(&a);
	blo_identity_destroy(&b);
	assert_null(a);
	assert_null(b);
	blo_identity_destroy(&a); /* NULL: nothing */
	blo_identity_destroy(NULL);
}

static void test_curve_key_pair_is_x25519_and_separate_from_signing_key(void **state)
{
	blo_identity_t *a = NULL;
	char pub_z85[BLO_Z85_KEY_CHARS + 1], sec_z85[BLO_Z85_KEY_CHARS + 1];
	char derived[BLO_Z85_KEY_CHARS + 1];

	(void)state;
	E(blo_identity_generate(&a, "th-broker-1"));
	/* libzmq derives the same CURVE public key from the secret key. */
	E(blo_z85_encode_key(pub_z85, blo_identity_public(a)->curve_public));
	E(blo_z85_encode_key(sec_z85, blo_identity_curve_secret(a)));
	assert_int_equal(zmq_curve_public(derived, sec_z85), 0);
	assert_string_equal(derived, pub_z85);
	assert_memory_not_equal(blo_identity_public(a)->curve_public,
				blo_identity_public(a)->sign_public, BLO_CURVE_KEY_BYTES);
	blo_identity_destroy(&a);
}

static void test_two_generated_identities_differ(void **state)
{
	blo_identity_t *a = NULL, *b = NULL;

	(void)state;
	E(blo_identity_generate(&a, "x1"));
	E(blo_identity_generate(&b, "x1"));
	assert_memory_not_equal(blo_identity_public(a)->sign_public,
				blo_identity_public(b)->sign_public, BLO_SIGN_PUBLIC_BYTES);
	assert_memory_not_equal(blo_identity_public(a)->curve_public,
				blo_identity_public(b)->curve_public, BLO_CURVE_KEY_BYTES);
	blo_identity_destroy(&a);
	blo_identity_destroy(&b);
}

static void test_secret_file_mode_is_0600_and_public_0644(void **state)
{
	fixture_t *f = *state;
	blo_identity_t *a = NULL;
	struct stat st;

	/* Whatever the umask, the modes are the ones promised. */
	mode_t old = umask(0);
	E(blo_identity_generate(&a, "la-broker-1"));
	E(blo_identity_save(a, f->pub_path, f->sec_path, NULL));
	umask(old);
	assert_int_equal(stat(f->sec_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->pub_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	blo_identity_destroy(&a);
}

static void test_save_with_null_path_skips_that_file(void **state)
{
	fixture_t *f = *state;
	blo_identity_t *a = NULL;

	E(blo_identity_generate(&a, "la-broker-1"));
	E(blo_identity_save(a, f->pub_path, NULL, NULL));
	assert_int_equal(access(f->pub_path, F_OK), 0);
	assert_int_not_equal(access(f->sec_path, F_OK), 0);
	E(blo_identity_save(a, NULL, f->sec_path, NULL));
	assert_int_equal(access(f->sec_path, F_OK), 0);
	blo_identity_destroy(&a);
}

static void test_secret_file_readable_by_group_or_others_is_refused(void **state)
{
	fixture_t *f = *state;
	blo_identity_t *a = NULL;
	const mode_t unsafe[] = {0644, 0640, 0604, 0620, 0602, 0610};

	E(blo_identity_generate(&a, "kh-broker-1"));
	E(blo_identity_save(a, NULL, f->sec_path, NULL));
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		char mode_text[16];

		assert_int_equal(chmod(f->sec_path, unsafe[i]), 0);
		snprintf(mode_text, sizeof(mode_text), "%04o", (unsigned)unsafe[i]);
		assert_load_fails(f->sec_path, BLO_EKEY, f->sec_path);
		assert_load_fails(f->sec_path, BLO_EKEY, mode_text);
	}
	/* Owner-only modes stricter than 0600 load. */
	assert_int_equal(chmod(f->sec_path, 0400), 0);
	{
		blo_identity_t *b = NULL;

		E(blo_identity_load(&b, f->sec_path, NULL));
		blo_identity_destroy(&b);
	}
	blo_identity_destroy(&a);
}

static void test_secret_key_not_matching_public_key_is_refused(void **state)
{
	fixture_t *f = *state;
	blo_identity_t *a = NULL, *other = NULL;
	char hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char z85[BLO_Z85_KEY_CHARS + 1];
	char *text;

	E(blo_identity_generate(&a, "mm-broker-1"));
	E(blo_identity_generate(&other, "mm-broker-1"));
	E(blo_identity_save(a, NULL, f->sec_path, NULL));

	/* Another identity's Ed25519 public key beside a's secret key. */
	E(blo_hex_encode(hex, sizeof(hex), blo_identity_public(other)->sign_public,
			 BLO_SIGN_PUBLIC_BYTES));
	text = edited_key_file(f->sec_path, "sign_public", hex);
	write_text(f->tmp_path, text, 0600);
	free(text);
	assert_load_fails(f->tmp_path, BLO_EKEY, "sign_secret\" does not match");

	/* Another identity's CURVE public key. */
	E(blo_z85_encode_key(z85, blo_identity_public(other)->curve_public));
	text = edited_key_file(f->sec_path, "curve_public", z85);
	write_text(f->tmp_path, text, 0600);
	free(text);
	assert_load_fails(f->tmp_path, BLO_EKEY, "curve_secret\" does not match");

	/* A secret key whose embedded public half was swapped along with the
	 * public key: the seed still gives the original key away. */
	{
		char *sec = read_text(f->sec_path);
		cJSON *root = cJSON_Parse(sec);
		char sk[2 * BLO_SIGN_SECRET_BYTES + 1];
		char *out;

		snprintf(sk, sizeof(sk), "%.64s%s",
			 cJSON_GetObjectItem(root, "sign_secret")->valuestring, hex);
		cJSON_ReplaceItemInObject(root, "sign_secret", cJSON_CreateString(sk));
		cJSON_ReplaceItemInObject(root, "sign_public", cJSON_CreateString(hex));
		out = cJSON_Print(root);
		write_text(f->tmp_path, out, 0600);
		free(out);
		cJSON_Delete(root);
		free(sec);
		assert_load_fails(f->tmp_path, BLO_EKEY, "sign_secret\" does not match");
	}
	blo_identity_destroy(&a);
	blo_identity_destroy(&other);
}

static void test_malformed_secret_files_are_refused_naming_the_field(void **state)
{
	fixture_t *f = *state;
	blo_identity_t *a = NULL;
	static const struct {
		const char *field;
		const char *value; /* NULL: removed */
		const char *needle;
	} cases[] = {
		{"id", NULL, "\"id\" is missing"},
		{"sign_public", NULL, "\"sign_public\" is missing"},
		{"curve_public", NULL, "\"curve_public\" is missing"},
		{"sign_secret", NULL, "\"sign_secret\" is missing"},
		{"curve_secret", NULL, "\"curve_secret\" is missing"},
		{"id", "has space", "\"id\""},
		{"sign_public", "zz", "\"sign_public\": not 64 hex"},
		{"sign_public", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
		 "\"sign_public\": not 64 hex"},
		{"sign_secret", "00", "\"sign_secret\": not 128 hex"},
		{"curve_public", "short", "\"curve_public\": not a 40-character Z85"},
		{"curve_public", "\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
		 "\"curve_public\": not a 40-character Z85"},
		/* 40 characters of the alphabet whose groups overflow 32 bits. */
		{"curve_secret", "########################################",
		 "\"curve_secret\": not a 40-character Z85"},
		{"curve_secret", "abc", "\"curve_secret\": not a 40-character Z85"},
	};

	E(blo_identity_generate(&a, "vn-broker-1"));
	E(blo_identity_save(a, NULL, f->sec_path, NULL));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = edited_key_file(f->sec_path, cases[i].field, cases[i].value);

		write_text(f->tmp_path, text, 0600);
		free(text);
		assert_load_fails(f->tmp_path, BLO_EKEY, cases[i].needle);
	}

	/* A field that is not a string. */
	{
		char *sec = read_text(f->sec_path);
		cJSON *root = cJSON_Parse(sec);
		char *out;

		cJSON_ReplaceItemInObject(root, "sign_secret", cJSON_CreateNumber(7));
		out = cJSON_Print(root);
		write_text(f->tmp_path, out, 0600);
		assert_load_fails(f->tmp_path, BLO_EKEY, "\"sign_secret\" is not a string");
		free(out);
		cJSON_Delete(root);

		/* An unknown field. */
		root = cJSON_Parse(sec);
		cJSON_AddStringToObject(root, "comment", "x");
		out = cJSON_Print(root);
		write_text(f->tmp_path, out, 0600);
		assert_load_fails(f->tmp_path, BLO_EKEY, "unknown field \"comment\"");
		free(out);
		cJSON_Delete(root);
		free(sec);
	}

	write_text(f->tmp_path, "this is not json", 0600);
	assert_load_fails(f->tmp_path, BLO_EKEY, "not a JSON key file");
	write_text(f->tmp_path, "[1, 2]", 0600);
	assert_load_fails(f->tmp_path, BLO_EKEY, "not a JSON object");
	write_text(f->tmp_path, "", 0600);
	assert_load_fails(f->tmp_path, BLO_EKEY, "not a JSON key file");
	/* Trailing garbage after the object. */
	{
		char *sec = read_text(f->sec_path);
		char *more = NULL;

		assert_true(asprintf(&more, "%s}", sec) > 0);
		write_text(f->tmp_path, more, 0600);
		assert_load_fails(f->tmp_path, BLO_EKEY, "not a JSON key file");
		free(more);
		free(sec);
	}
	/* A duplicated field. */
	{
		char *sec = read_text(f->sec_path);
		char *more = NULL;
		char *brace = strrchr(sec, '}');

		*brace = '\0';
		assert_true(asprintf(&more, "%s, \"id\": \"other\"}", sec) > 0);
		write_text(f->tmp_path, more, 0600);
		assert_load_fails(f->tmp_path, BLO_EKEY, "\"id\" appears twice");
		free(more);
		free(sec);
	}
	/* Too large to be a key file. */
	{
		char *big = malloc(10000);

		memset(big, ' ', 9999);
		big[9999] = '\0';
		write_text(f->tmp_path, big, 0600);
		assert_load_fails(f->tmp_path, BLO_EKEY, "too large");
		free(big);
	}
	blo_identity_destroy(&a);
}

static void test_missing_secret_file_is_enoent(void **state)
{
	fixture_t *f = *state;

	assert_load_fails(f->sec_path, -ENOENT, f->sec_path);
}

static void test_load_public_reads_the_public_file(void **state)
{
	fixture_t *f = *state;
	blo_identity_t *a = NULL;
	blo_public_identity_t pub;
	blo_err_t err = {0};

	E(blo_identity_generate(&a, "cn-broker-1"));
	E(blo_identity_save(a, f->pub_path, f->sec_path, NULL));
	E(blo_identity_load_public(&pub, f->pub_path, &err));
	assert_memory_equal(&pub, blo_identity_public(a), sizeof(pub));

	/* The secret file is not a public file: refused, nothing copied. */
	assert_int_equal(blo_identity_load_public(&pub, f->sec_path, &err), BLO_EKEY);
	assert_non_null(strstr(err.msg, "secret keys"));

	/* Malformed public files name the field. */
	{
		char *text = edited_key_file(f->pub_path, "curve_public", "nope");

		write_text(f->tmp_path, text, 0644);
		free(text);
		assert_int_equal(blo_identity_load_public(&pub, f->tmp_path, &err), BLO_EKEY);
		assert_non_null(strstr(err.msg, "\"curve_public\""));
		text = edited_key_file(f->pub_path, "sign_public", NULL);
		write_text(f->tmp_path, text, 0644);
		free(text);
		assert_int_equal(blo_identity_load_public(&pub, f->tmp_path, &err), BLO_EKEY);
		assert_non_null(strstr(err.msg, "\"sign_public\" is missing"));
		write_text(f->tmp_path, "{", 0644);
		assert_int_equal(blo_identity_load_public(&pub, f->tmp_path, &err), BLO_EKEY);
		assert_non_null(strstr(err.msg, "not a JSON key file"));
	}
	assert_int_equal(blo_identity_load_public(&pub, "/nonexistent/x.pub", &err), -ENOENT);
	blo_identity_destroy(&a);
}

static void test_principal_id_rule(void **state)
{
	char longest[BLO_PRINCIPAL_ID_MAX];
	char too_long[BLO_PRINCIPAL_ID_MAX + 1];

	(void)state;
	assert_true(blo_principal_id_is_valid("th-customs-maesai"));
	assert_true(blo_principal_id_is_valid("TH-MAESAI"));
	assert_true(blo_principal_id_is_valid("a"));
	assert_true(blo_principal_id_is_valid("7"));
	assert_true(blo_principal_id_is_valid("a.b_c-d"));
	assert_false(blo_principal_id_is_valid(NULL));
	assert_false(blo_principal_id_is_valid(""));
	assert_false(blo_principal_id_is_valid("-abc"));
	assert_false(blo_principal_id_is_valid(".abc"));
	assert_false(blo_principal_id_is_valid("_abc"));
	assert_false(blo_principal_id_is_valid("a b"));
	assert_false(blo_principal_id_is_valid("a/b"));
	assert_false(blo_principal_id_is_valid("a\"b"));
	assert_false(blo_principal_id_is_valid("caf\xc3\xa9"));
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	assert_true(blo_principal_id_is_valid(longest));
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_false(blo_principal_id_is_valid(too_long));
}

static void test_generate_refuses_a_bad_id(void **state)
{
	blo_identity_t *a = (blo_identity_t *)1;

	(void)state;
	assert_int_equal(blo_identity_generate(&a, "bad id"), BLO_EINVAL);
	assert_null(a);
	assert_int_equal(blo_identity_generate(&a, ""), BLO_EINVAL);
	assert_null(a);
}

static void test_signature_fails_on_other_message_or_key(void **state)
{
	blo_identity_t *a = NULL, *b = NULL;
	uint8_t msg[32] = {1, 2, 3};
	uint8_t sig[BLO_SIGNATURE_BYTES];

	(void)state;
	E(blo_identity_generate(&a, "a"));
	E(blo_identity_generate(&b, "b"));
	blo_identity_sign(a, msg, sizeof(msg), sig);
	assert_true(blo_signature_verify(blo_identity_public(a)->sign_public, msg, sizeof(msg), sig));
	assert_false(blo_signature_verify(blo_identity_public(b)->sign_public, msg, sizeof(msg), sig));
	msg[31] ^= 1;
	assert_false(blo_signature_verify(blo_identity_public(a)->sign_public, msg, sizeof(msg), sig));
	msg[31] ^= 1;
	sig[0] ^= 0x80;
	assert_false(blo_signature_verify(blo_identity_public(a)->sign_public, msg, sizeof(msg), sig));
	/* An empty message signs too. */
	blo_identity_sign(a, msg, 0, sig);
	assert_true(blo_signature_verify(blo_identity_public(a)->sign_public, msg, 0, sig));
	blo_identity_destroy(&a);
	blo_identity_destroy(&b);
}

static void test_z85_key_text_round_trips_and_refuses_bad_text(void **state)
{
	uint8_t key[BLO_CURVE_KEY_BYTES], back[BLO_CURVE_KEY_BYTES];
	char text[BLO_Z85_KEY_CHARS + 1];

	(void)state;
	for (int i = 0; i < BLO_CURVE_KEY_BYTES; i++)
		key[i] = (uint8_t)(i * 37 + 11);
	E(blo_z85_encode_key(text, key));
	assert_int_equal(strlen(text), BLO_Z85_KEY_CHARS);
	E(blo_z85_decode_key(back, text));
	assert_memory_equal(key, back, sizeof(key));
	/* The ZeroMQ RFC 32 test vector's first group. */
	{
		const uint8_t hello[4] = {0x86, 0x4F, 0xD2, 0x6F};
		char out[6];

		zmq_z85_encode(out, hello, 4);
		assert_string_equal(out, "Hello");
	}
	assert_int_equal(blo_z85_decode_key(back, NULL), BLO_EPARSE);
	assert_int_equal(blo_z85_decode_key(back, ""), BLO_EPARSE);
	text[39] = '\0';
	assert_int_equal(blo_z85_decode_key(back, text), BLO_EPARSE);
	E(blo_z85_encode_key(text, key));
	text[5] = ' ';
	assert_int_equal(blo_z85_decode_key(back, text), BLO_EPARSE);
	text[5] = '"';
	assert_int_equal(blo_z85_decode_key(back, text), BLO_EPARSE);
	assert_int_equal(blo_z85_decode_key(back, "########################################"),
			 BLO_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generate_save_load_round_trip_keeps_keys_and_signs,
						setup, teardown),
		cmocka_unit_test(test_curve_key_pair_is_x25519_and_separate_from_signing_key),
		cmocka_unit_test(test_two_generated_identities_differ),
		cmocka_unit_test_setup_teardown(test_secret_file_mode_is_0600_and_public_0644, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_save_with_null_path_skips_that_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_secret_file_readable_by_group_or_others_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_key_not_matching_public_key_is_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_secret_files_are_refused_naming_the_field,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_secret_file_is_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_public_reads_the_public_file, setup,
						teardown),
		cmocka_unit_test(test_principal_id_rule),
		cmocka_unit_test(test_generate_refuses_a_bad_id),
		cmocka_unit_test(test_signature_fails_on_other_message_or_key),
		cmocka_unit_test(test_z85_key_text_round_trips_and_refuses_bad_text),
	};

	return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
