/*
 * blo_registry: the signed list of every principal of a deployment and the
 * operations (closed user groups) they belong to. A registry is trusted only
 * if its signature verifies under the regional authority's key, which the
 * loader is given separately (a trust anchor, never taken from the file).
 *
 * File format (JSON):
 *   {"registry": {"name": "...", "version": N, "issued_ms": T,
 *                 "principals": [{"id", "role", "country", "agency", "site",
 *                                 "sign_public", "curve_public",
 *                                 "revoked" (optional, false)}],
 *                 "operations": [{"code", "members": [ids]}]},
 *    "authority": hex(authority Ed25519 public key),
 *    "signature": hex(Ed25519 signature)}
 * The signature covers the compact cJSON rendering of the "registry" object
 * (cJSON_PrintUnformatted of it as parsed), so layout and whitespace of the
 * file do not matter but every name and value does. "role" is one of
 * broker, agent, console, committee, admin; "agency" an AgencyKind name
 * other than AGENCY_UNSPECIFIED; keys as in blo_identity.h. "name" (non-empty)
 * and "version" (an integer >= 1) are required, "issued_ms" and "operations"
 * optional; "site" may be absent or "", else it and operation codes follow the
 * principal id rule. No two principals share an id, a CURVE key or a signing
 * key; no operation is listed twice or names a member twice. Unknown or
 * repeated fields are errors at every level.
 */
#ifndef BLO_REGISTRY_H
#define BLO_REGISTRY_H

#include "blo_err.h"
#include "blo_identity.h"
#include "blonet.pb-c.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_REGISTRY_MAX_BYTES (16u * 1024u * 1024u)
#define BLO_SITE_MAX 64 /* including the NUL */
#define BLO_OPERATION_MAX 64

typedef enum {
	BLO_ROLE_NONE = 0,
	BLO_ROLE_BROKER,
	BLO_ROLE_AGENT,
	BLO_ROLE_CONSOLE,
	BLO_ROLE_COMMITTEE,
	BLO_ROLE_ADMIN
} blo_role_t;

typedef struct {
	char id[BLO_PRINCIPAL_ID_MAX];
	blo_role_t role;
	char country[3];          /* ISO 3166 alpha-2 */
	Blonet__AgencyKind agency;
	char site[BLO_SITE_MAX];  /* "" for principals of no site */
	uint8_t sign_public[BLO_SIGN_PUBLIC_BYTES];
	uint8_t curve_public[BLO_CURVE_KEY_BYTES];
	bool revoked;
} blo_principal_t;

typedef struct blo_registry blo_registry_t;

/* "broker", ... for a role; NULL for BLO_ROLE_NONE. */
const char *blo_role_name(blo_role_t role);
/* The role named name, or BLO_ROLE_NONE. */
blo_role_t blo_role_parse(const char *name);

/* Parses and verifies a signed registry from text[0..len). The signature must
 * verify under authority_public; the "authority" field must equal it.
 * Refuses unsigned (BLO_EUNSIGNED), tampered or wrongly signed
 * (BLO_ESIGNATURE) and malformed (BLO_EPARSE, BLO_EVALIDATE: duplicate ids
 * or CURVE keys, unknown roles, bad countries, operations naming unknown
 * principals) registries, naming the problem in err. *out is the caller's:
 * free with blo_registry_destroy. */
int blo_registry_parse(blo_registry_t **out, const char *text, size_t len,
		       const uint8_t authority_public[BLO_SIGN_PUBLIC_BYTES], blo_err_t *err);

/* blo_registry_parse of the file at path (errors name the file). */
int blo_registry_load(blo_registry_t **out, const char *path,
		      const uint8_t authority_public[BLO_SIGN_PUBLIC_BYTES], blo_err_t *err);

/* Signs a registry object (the value of "registry" above) with the authority
 * identity and returns the whole signed file text in *out (malloc()ed,
 * caller frees). The object is validated as blo_registry_parse would. */
int blo_registry_sign(const cJSON *registry, const blo_identity_t *authority, char **out,
		      blo_err_t *err);

/* Frees the registry and sets *self_p to NULL. NULL: nothing. */
void blo_registry_destroy(blo_registry_t **self_p);

uint64_t blo_registry_version(const blo_registry_t *self);
const char *blo_registry_name(const blo_registry_t *self);

/* Lookups. Revoked principals are returned too (check ->revoked). Borrowed:
 * valid until blo_registry_destroy. NULL when absent. */
const blo_principal_t *blo_registry_find(const blo_registry_t *self, const char *id);
const blo_principal_t *blo_registry_find_by_curve(const blo_registry_t *self,
						  const uint8_t curve_public[BLO_CURVE_KEY_BYTES]);

/* Iteration over all principals, in file order. */
size_t blo_registry_count(const blo_registry_t *self);
const blo_principal_t *blo_registry_at(const blo_registry_t *self, size_t i);

/* True if operation code exists and names principal_id as a member. */
bool blo_registry_is_member(const blo_registry_t *self, const char *code, const char *principal_id);
/* True if some principal of the registry sits at site in country. */
bool blo_registry_site_in_country(const blo_registry_t *self, const char *site, const char *country);

#endif
