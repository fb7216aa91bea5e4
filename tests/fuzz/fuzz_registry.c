/*
 * libFuzzer target for blo_registry_parse. The first byte picks the path:
 *   odd:  the rest is a registry file, parsed against a fixed authority key
 *         (so the file structure and signature checks are fuzzed);
 *   even: the rest, if it is a JSON object, is taken as the "registry"
 *         object and signed with the authority, both by blo_registry_sign
 *         and directly (without validation), so that the parser's
 *         validation runs past the signature check.
 * Besides crashes and leaks it aborts when a result breaks the contract: a
 * correctly signed file refused as unsigned or wrongly signed, the signer
 * and the parser disagreeing about validity, text from blo_registry_sign
 * that does not parse, or lookups that do not find what the registry holds.
 * Seeds in tests/fuzz/corpus/registry start with ' ' (even) or '{' (odd).
 */
#include "blo_identity.h"
#include "blo_registry.h"
#include "blo_util.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static blo_identity_t *authority;

static const uint8_t *authority_key(void)
{
	if (authority == NULL && blo_identity_generate(&authority, "fuzz-authority") != 0)
		abort();
	return blo_identity_public(authority)->sign_public;
}

/* Every principal is found by its id and its CURVE key, and the membership
 * queries agree with the principals' own fields. */
static void check_lookups(const blo_registry_t *reg)
{
	size_t n = blo_registry_count(reg);

	if (n == 0 || blo_registry_version(reg) == 0 || blo_registry_name(reg) == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const blo_principal_t *p = blo_registry_at(reg, i);

		if (p == NULL || blo_registry_find(reg, p->id) != p ||
		    blo_registry_find_by_curve(reg, p->curve_public) != p ||
		    blo_role_name(p->role) == NULL)
			abort();
		if (p->site[0] != '\0' && !blo_registry_site_in_country(reg, p->site, p->country))
			abort();
		(void)blo_registry_is_member(reg, p->site, p->id);
	}
	if (blo_registry_at(reg, n) != NULL)
		abort();
}

/* The signed file text for obj, signed without validating it. */
static char *sign_unchecked(const cJSON *obj)
{
	char sig_hex[2 * BLO_SIGNATURE_BYTES + 1];
	char key_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	uint8_t sig[BLO_SIGNATURE_BYTES];
	char *canonical = cJSON_PrintUnformatted(obj);
	char *text = NULL;

	if (canonical == NULL)
		return NULL;
	blo_identity_sign(authority, (const uint8_t *)canonical, strlen(canonical), sig);
	blo_hex_encode(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
	blo_hex_encode(key_hex, sizeof(key_hex), authority_key(), BLO_SIGN_PUBLIC_BYTES);
	if (asprintf(&text, "{\"registry\":%s,\"authority\":\"%s\",\"signature\":\"%s\"}", canonical,
		     key_hex, sig_hex) < 0)
		text = NULL;
	free(canonical);
	return text;
}

static void fuzz_signed_object(const char *text, size_t len)
{
	cJSON *obj = cJSON_ParseWithLength(text, len);
	blo_registry_t *reg = NULL;
	blo_err_t err = {0};
	char *signed_text = NULL, *unchecked = NULL;
	int rc_sign, rc_parse;

	if (obj == NULL)
		return;
	if (!cJSON_IsObject(obj))
		goto out;
	rc_sign = blo_registry_sign(obj, authority, &signed_text, &err);
	if (rc_sign == 0) {
		if (blo_registry_parse(&reg, signed_text, strlen(signed_text), authority_key(),
				       &err) != 0) {
			fprintf(stderr, "signed text does not parse: %s\n%s\n", err.msg, signed_text);
			abort();
		}
		check_lookups(reg);
		blo_registry_destroy(&reg);
	} else if (signed_text != NULL || err.msg[0] == '\0') {
		abort();
	}

	unchecked = sign_unchecked(obj);
	if (unchecked == NULL)
		goto out;
	rc_parse = blo_registry_parse(&reg, unchecked, strlen(unchecked), authority_key(), &err);
	if (rc_parse == BLO_ESIGNATURE || rc_parse == BLO_EUNSIGNED) {
		fprintf(stderr, "good signature refused: %s\n", err.msg);
		abort();
	}
	if ((rc_parse == 0) != (rc_sign == 0) || (rc_parse == 0) != (reg != NULL)) {
		fprintf(stderr, "sign says %d, parse says %d (%s)\n", rc_sign, rc_parse, err.msg);
		abort();
	}
	if (reg != NULL)
		check_lookups(reg);
	blo_registry_destroy(&reg);
out:
	free(unchecked);
	free(signed_text);
	cJSON_Delete(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	authority_key();
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		fuzz_signed_object(text, len);
	} else {
		blo_registry_t *reg = NULL;
		blo_err_t err = {0};
		int rc = blo_registry_parse(&reg, text, len, authority_key(), &err);

		if ((rc == 0) != (reg != NULL) || (rc != 0 && err.msg[0] == '\0'))
			abort();
		if (reg != NULL)
			check_lookups(reg);
		blo_registry_destroy(&reg);
	}
	return 0;
}
