/*
 * blo_registry: parsing, verification, validation and signing of the signed
 * registry of principals and operations, and the lookups the broker and the
 * delivery policy make on it (by id and by CURVE key: sorted indexes and
 * binary search, since the broker looks a key up on every ZAP request).
 */
#include "blo_registry.h"

#include "blo_codec.h"
#include "blo_util.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest integer a JSON number carries exactly (2^53). */
#define JSON_INT_MAX 9007199254740992.0

typedef struct {
	char code[BLO_OPERATION_MAX];
	const blo_principal_t **members; /* into principals */
	size_t n_members;
} blo_operation_t;

struct blo_registry {
	char *name;
	uint64_t version;
	int64_t issued_ms;
	blo_principal_t *principals; /* file order */
	size_t count;
	/* The same principals sorted for binary search. */
	const blo_principal_t **by_id;
	const blo_principal_t **by_curve;
	const blo_principal_t **by_site; /* by site, then country */
	blo_operation_t *operations;     /* file order */
	size_t n_operations;
};

/* ---- roles ---- */

static const char *const role_names[] = {
	[BLO_ROLE_BROKER] = "broker",   [BLO_ROLE_AGENT] = "agent", [BLO_ROLE_CONSOLE] = "console",
	[BLO_ROLE_COMMITTEE] = "committee", [BLO_ROLE_ADMIN] = "admin",
};

const char *blo_role_name(blo_role_t role)
{
	if (role <= BLO_ROLE_NONE || role > BLO_ROLE_ADMIN)
		return NULL;
	return role_names[role];
}

blo_role_t blo_role_parse(const char *name)
{
	if (name == NULL)
		return BLO_ROLE_NONE;
	for (int r = BLO_ROLE_BROKER; r <= BLO_ROLE_ADMIN; r++) {
		if (strcmp(name, role_names[r]) == 0)
			return (blo_role_t)r;
	}
	return BLO_ROLE_NONE;
}

/* ---- life cycle ---- */

void blo_registry_destroy(blo_registry_t **self_p)
{
	blo_registry_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	for (size_t i = 0; i < self->n_operations; i++)
		free(self->operations[i].members);
	free(self->operations);
	free(self->by_id);
	free(self->by_curve);
	free(self->by_site);
	free(self->principals);
	free(self->name);
	free(self);
	*self_p = NULL;
}

/* ---- sorting ---- */

static int cmp_by_id(const void *a, const void *b)
{
	const blo_principal_t *pa = *(const blo_principal_t *const *)a;
	const blo_principal_t *pb = *(const blo_principal_t *const *)b;

	return strcmp(pa->id, pb->id);
}

static int cmp_by_curve(const void *a, const void *b)
{
	const blo_principal_t *pa = *(const blo_principal_t *const *)a;
	const blo_principal_t *pb = *(const blo_principal_t *const *)b;

	return memcmp(pa->curve_public, pb->curve_public, BLO_CURVE_KEY_BYTES);
}

static int cmp_by_sign(const void *a, const void *b)
{
	const blo_principal_t *pa = *(const blo_principal_t *const *)a;
	const blo_principal_t *pb = *(const blo_principal_t *const *)b;

	return memcmp(pa->sign_public, pb->sign_public, BLO_SIGN_PUBLIC_BYTES);
}

static int cmp_by_site(const void *a, const void *b)
{
	const blo_principal_t *pa = *(const blo_principal_t *const *)a;
	const blo_principal_t *pb = *(const blo_principal_t *const *)b;
	int c = strcmp(pa->site, pb->site);

	return c != 0 ? c : strcmp(pa->country, pb->country);
}

/* ---- validation ---- */

/* Checks that obj's members are all named in fields (a NULL-terminated
 * list), none twice. what names obj in messages ("registry: principal 3"). */
static int check_members(const cJSON *obj, const char *const *fields, const char *what,
			 blo_err_t *err)
{
	const cJSON *a, *b;

	cJSON_ArrayForEach(a, obj)
	{
		size_t i;

		if (a->string == NULL)
			return blo_err_set(err, BLO_EVALIDATE, "%s: member without a name", what);
		for (i = 0; fields[i] != NULL; i++) {
			if (strcmp(a->string, fields[i]) == 0)
				break;
		}
		if (fields[i] == NULL)
			return blo_err_set(err, BLO_EVALIDATE, "%s: unknown field \"%.64s\"", what,
					   a->string);
		for (b = obj->child; b != a; b = b->next) {
			if (strcmp(a->string, b->string) == 0)
				return blo_err_set(err, BLO_EVALIDATE,
						   "%s: field \"%s\" appears twice", what, fields[i]);
		}
	}
	return 0;
}

/* A JSON number that is an integer in lo..2^53. */
static bool json_integer(const cJSON *item, double lo, double *out)
{
	double d;

	if (!cJSON_IsNumber(item))
		return false;
	d = item->valuedouble;
	if (!isfinite(d) || d < lo || d > JSON_INT_MAX || d != floor(d))
		return false;
	*out = d;
	return true;
}

/* Sites and operation codes follow the principal id rule: 1-63 characters
 * of [A-Za-z0-9._-], starting with a letter or digit ("TH-MAESAI"). */
static bool code_is_valid(const char *code)
{
	return blo_principal_id_is_valid(code);
}

static const char *const principal_fields[] = {"id",	      "role",	      "country",
					       "agency",      "site",	      "sign_public",
					       "curve_public", "revoked",     NULL};

/* Reads principal number i from obj into p. */
static int parse_principal(blo_principal_t *p, const cJSON *obj, size_t i, blo_err_t *err)
{
	char what[128];
	const cJSON *item;
	const ProtobufCEnumValue *agency;
	int rc;

	snprintf(what, sizeof(what), "registry: principal %zu", i);
	if (!cJSON_IsObject(obj))
		return blo_err_set(err, BLO_EVALIDATE, "%s: not an object", what);
	item = cJSON_GetObjectItemCaseSensitive(obj, "id");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"id\" is missing", what);
	if (!cJSON_IsString(item) || !blo_principal_id_is_valid(item->valuestring))
		return blo_err_set(err, BLO_EVALIDATE,
				   "%s: field \"id\": not a principal id (1-63 of A-Z a-z 0-9 . _ -, "
				   "starting with a letter or digit)",
				   what);
	memcpy(p->id, item->valuestring, strlen(item->valuestring) + 1);
	snprintf(what, sizeof(what), "registry: principal %zu (\"%s\")", i, p->id);
	if ((rc = check_members(obj, principal_fields, what, err)) != 0)
		return rc;

	item = cJSON_GetObjectItemCaseSensitive(obj, "role");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"role\" is missing", what);
	p->role = cJSON_IsString(item) ? blo_role_parse(item->valuestring) : BLO_ROLE_NONE;
	if (p->role == BLO_ROLE_NONE)
		return blo_err_set(err, BLO_EVALIDATE,
				   "%s: field \"role\": not one of broker, agent, console, "
				   "committee, admin",
				   what);

	item = cJSON_GetObjectItemCaseSensitive(obj, "country");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"country\" is missing", what);
	if (!cJSON_IsString(item) || strlen(item->valuestring) != 2 ||
	    !blo_country_is_valid(item->valuestring))
		return blo_err_set(err, BLO_EVALIDATE,
				   "%s: field \"country\": not an ISO 3166 alpha-2 code", what);
	memcpy(p->country, item->valuestring, 3);

	item = cJSON_GetObjectItemCaseSensitive(obj, "agency");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"agency\" is missing", what);
	agency = cJSON_IsString(item) ? protobuf_c_enum_descriptor_get_value_by_name(
						&blonet__agency_kind__descriptor, item->valuestring)
				      : NULL;
	if (agency == NULL || agency->value == BLONET__AGENCY_KIND__AGENCY_UNSPECIFIED)
		return blo_err_set(err, BLO_EVALIDATE,
				   "%s: field \"agency\": not an AgencyKind name (CUSTOMS, "
				   "IMMIGRATION, ...)",
				   what);
	p->agency = (Blonet__AgencyKind)agency->value;

	item = cJSON_GetObjectItemCaseSensitive(obj, "site");
	p->site[0] = '\0';
	if (item != NULL) {
		if (!cJSON_IsString(item) ||
		    (item->valuestring[0] != '\0' && !code_is_valid(item->valuestring)))
			return blo_err_set(err, BLO_EVALIDATE,
					   "%s: field \"site\": not a site id (empty, or 1-63 of "
					   "A-Z a-z 0-9 . _ -)",
					   what);
		memcpy(p->site, item->valuestring, strlen(item->valuestring) + 1);
	}

	item = cJSON_GetObjectItemCaseSensitive(obj, "sign_public");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"sign_public\" is missing", what);
	if (!cJSON_IsString(item) ||
	    blo_hex_decode(p->sign_public, BLO_SIGN_PUBLIC_BYTES, item->valuestring) != 0)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"sign_public\": not %d hex digits",
				   what, 2 * BLO_SIGN_PUBLIC_BYTES);

	item = cJSON_GetObjectItemCaseSensitive(obj, "curve_public");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"curve_public\" is missing",
				   what);
	if (!cJSON_IsString(item) || blo_z85_decode_key(p->curve_public, item->valuestring) != 0)
		return blo_err_set(err, BLO_EVALIDATE,
				   "%s: field \"curve_public\": not a %d-character Z85 key", what,
				   BLO_Z85_KEY_CHARS);

	item = cJSON_GetObjectItemCaseSensitive(obj, "revoked");
	p->revoked = false;
	if (item != NULL) {
		if (!cJSON_IsBool(item))
			return blo_err_set(err, BLO_EVALIDATE,
					   "%s: field \"revoked\": not true or false", what);
		p->revoked = cJSON_IsTrue(item);
	}
	return 0;
}

/* Refuses two principals sharing a value: the sorted index makes them
 * neighbours. */
static int check_unique(const blo_registry_t *self, const blo_principal_t **sorted,
			int (*cmp)(const void *, const void *), const char *field, blo_err_t *err)
{
	for (size_t i = 1; i < self->count; i++) {
		if (cmp(&sorted[i - 1], &sorted[i]) == 0) {
			const blo_principal_t *a = sorted[i - 1] < sorted[i] ? sorted[i - 1] : sorted[i];
			const blo_principal_t *b = sorted[i - 1] < sorted[i] ? sorted[i] : sorted[i - 1];

			return blo_err_set(err, BLO_EVALIDATE,
					   "registry: principal %zu (\"%s\"): field \"%s\": same as "
					   "principal %zu (\"%s\")",
					   (size_t)(b - self->principals), b->id, field,
					   (size_t)(a - self->principals), a->id);
		}
	}
	return 0;
}

static const char *const operation_fields[] = {"code", "members", NULL};

/* marks[k] == i + 1 once principal k is listed in operation i: finds a
 * member listed twice without comparing every pair. */
static int parse_operation(blo_registry_t *self, blo_operation_t *op, const cJSON *obj, size_t i,
			   size_t *marks, blo_err_t *err)
{
	char what[128];
	const cJSON *item, *member;
	size_t n = 0;
	int rc;

	snprintf(what, sizeof(what), "registry: operation %zu", i);
	if (!cJSON_IsObject(obj))
		return blo_err_set(err, BLO_EVALIDATE, "%s: not an object", what);
	item = cJSON_GetObjectItemCaseSensitive(obj, "code");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"code\" is missing", what);
	if (!cJSON_IsString(item) || !code_is_valid(item->valuestring))
		return blo_err_set(err, BLO_EVALIDATE,
				   "%s: field \"code\": not an operation code (1-63 of A-Z a-z 0-9 "
				   ". _ -)",
				   what);
	memcpy(op->code, item->valuestring, strlen(item->valuestring) + 1);
	snprintf(what, sizeof(what), "registry: operation %zu (\"%s\")", i, op->code);
	if ((rc = check_members(obj, operation_fields, what, err)) != 0)
		return rc;
	for (size_t j = 0; j < i; j++) {
		if (strcmp(self->operations[j].code, op->code) == 0)
			return blo_err_set(err, BLO_EVALIDATE,
					   "%s: field \"code\": same as operation %zu", what, j);
	}

	item = cJSON_GetObjectItemCaseSensitive(obj, "members");
	if (item == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"members\" is missing", what);
	if (!cJSON_IsArray(item))
		return blo_err_set(err, BLO_EVALIDATE, "%s: field \"members\": not an array", what);
	op->members = calloc((size_t)cJSON_GetArraySize(item) + 1, sizeof(*op->members));
	if (op->members == NULL)
		return blo_err_set(err, BLO_ENOMEM, "registry: out of memory");
	cJSON_ArrayForEach(member, item)
	{
		const blo_principal_t *p;

		if (!cJSON_IsString(member))
			return blo_err_set(err, BLO_EVALIDATE,
					   "%s: field \"members\": member %zu is not a string", what, n);
		p = blo_registry_find(self, member->valuestring);
		if (p == NULL)
			return blo_err_set(err, BLO_EVALIDATE,
					   "%s: field \"members\": member %zu (\"%.64s\") is not a "
					   "principal of the registry",
					   what, n, member->valuestring);
		if (marks[p - self->principals] == i + 1)
			return blo_err_set(err, BLO_EVALIDATE,
					   "%s: field \"members\": \"%s\" is listed twice", what,
					   p->id);
		marks[p - self->principals] = i + 1;
		op->members[n++] = p;
	}
	op->n_members = n;
	return 0;
}

static const char *const registry_fields[] = {"name", "version", "issued_ms", "principals",
					      "operations", NULL};

/* Validates a registry object and builds the registry it describes. The one
 * validator behind both blo_registry_parse and blo_registry_sign. */
static int registry_build(blo_registry_t **out, const cJSON *obj, blo_err_t *err)
{
	blo_registry_t *self = NULL;
	const cJSON *item, *principals, *operations;
	size_t *marks = NULL;
	double number;
	size_t n;
	int rc;

	*out = NULL;
	if (!cJSON_IsObject(obj))
		return blo_err_set(err, BLO_EPARSE, "registry: \"registry\" is not an object");
	if ((rc = check_members(obj, registry_fields, "registry", err)) != 0)
		return rc;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "registry: out of memory");

	item = cJSON_GetObjectItemCaseSensitive(obj, "name");
	if (item == NULL || !cJSON_IsString(item) || item->valuestring[0] == '\0') {
		rc = blo_err_set(err, BLO_EVALIDATE,
				 "registry: field \"name\": missing or not a non-empty string");
		goto out;
	}
	self->name = strdup(item->valuestring);
	if (self->name == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "registry: out of memory");
		goto out;
	}

	item = cJSON_GetObjectItemCaseSensitive(obj, "version");
	if (item == NULL || !json_integer(item, 1, &number)) {
		rc = blo_err_set(err, BLO_EVALIDATE,
				 "registry: field \"version\": missing or not a positive integer");
		goto out;
	}
	self->version = (uint64_t)number;

	item = cJSON_GetObjectItemCaseSensitive(obj, "issued_ms");
	if (item != NULL) {
		if (!json_integer(item, 0, &number)) {
			rc = blo_err_set(err, BLO_EVALIDATE,
					 "registry: field \"issued_ms\": not a non-negative integer");
			goto out;
		}
		self->issued_ms = (int64_t)number;
	}

	principals = cJSON_GetObjectItemCaseSensitive(obj, "principals");
	if (principals == NULL || !cJSON_IsArray(principals) || principals->child == NULL) {
		rc = blo_err_set(err, BLO_EVALIDATE,
				 "registry: field \"principals\": missing or not a non-empty array");
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(principals);
	self->principals = calloc(n, sizeof(*self->principals));
	self->by_id = calloc(n, sizeof(*self->by_id));
	self->by_curve = calloc(n, sizeof(*self->by_curve));
	self->by_site = calloc(n, sizeof(*self->by_site));
	if (self->principals == NULL || self->by_id == NULL || self->by_curve == NULL ||
	    self->by_site == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "registry: out of memory");
		goto out;
	}
	cJSON_ArrayForEach(item, principals)
	{
		blo_principal_t *p = &self->principals[self->count];

		if ((rc = parse_principal(p, item, self->count, err)) != 0)
			goto out;
		self->by_id[self->count] = p;
		self->by_curve[self->count] = p;
		self->by_site[self->count] = p;
		self->count++;
	}
	qsort(self->by_id, n, sizeof(*self->by_id), cmp_by_id);
	qsort(self->by_curve, n, sizeof(*self->by_curve), cmp_by_curve);
	qsort(self->by_site, n, sizeof(*self->by_site), cmp_by_site);
	if ((rc = check_unique(self, self->by_id, cmp_by_id, "id", err)) != 0 ||
	    (rc = check_unique(self, self->by_curve, cmp_by_curve, "curve_public", err)) != 0)
		goto out;
	/* One signing key per principal: a shared key would let one sign as the
	 * other. by_site is reused as scratch and sorted back afterwards. */
	qsort(self->by_site, n, sizeof(*self->by_site), cmp_by_sign);
	rc = check_unique(self, self->by_site, cmp_by_sign, "sign_public", err);
	qsort(self->by_site, n, sizeof(*self->by_site), cmp_by_site);
	if (rc != 0)
		goto out;

	operations = cJSON_GetObjectItemCaseSensitive(obj, "operations");
	if (operations != NULL) {
		if (!cJSON_IsArray(operations)) {
			rc = blo_err_set(err, BLO_EVALIDATE,
					 "registry: field \"operations\": not an array");
			goto out;
		}
		n = (size_t)cJSON_GetArraySize(operations);
		self->operations = calloc(n + 1, sizeof(*self->operations));
		marks = calloc(self->count, sizeof(*marks));
		if (self->operations == NULL || marks == NULL) {
			rc = blo_err_set(err, BLO_ENOMEM, "registry: out of memory");
			goto out;
		}
		cJSON_ArrayForEach(item, operations)
		{
			blo_operation_t *op = &self->operations[self->n_operations];

			/* Counted before parsing so that a failure frees its members. */
			self->n_operations++;
			if ((rc = parse_operation(self, op, item, self->n_operations - 1, marks,
						  err)) != 0)
				goto out;
		}
	}
	*out = self;
	self = NULL;
out:
	free(marks);
	blo_registry_destroy(&self);
	return rc;
}

/* ---- signed file ---- */

/* Strict parse of a whole buffer: embedded NULs and trailing bytes other
 * than white space are refused. */
static cJSON *parse_whole(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *root;

	if (memchr(text, '\0', len) != NULL)
		return NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root == NULL)
		return NULL;
	for (; end < text + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			cJSON_Delete(root);
			return NULL;
		}
	}
	return root;
}

static const char *const file_fields[] = {"registry", "authority", "signature", NULL};

int blo_registry_parse(blo_registry_t **out, const char *text, size_t len,
		       const uint8_t authority_public[BLO_SIGN_PUBLIC_BYTES], blo_err_t *err)
{
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	uint8_t signature[BLO_SIGNATURE_BYTES];
	const cJSON *registry, *item;
	cJSON *root = NULL;
	char *canonical = NULL;
	int rc;

	assert(out != NULL && text != NULL && authority_public != NULL);
	*out = NULL;
	if (len > BLO_REGISTRY_MAX_BYTES)
		return blo_err_set(err, BLO_ETOOBIG, "registry: %zu bytes exceeds the bound of %u",
				   len, BLO_REGISTRY_MAX_BYTES);
	root = parse_whole(text, len);
	if (root == NULL)
		return blo_err_set(err, BLO_EPARSE, "registry: not a JSON document");
	if (!cJSON_IsObject(root)) {
		rc = blo_err_set(err, BLO_EPARSE, "registry: not a JSON object");
		goto out;
	}
	if ((rc = check_members(root, file_fields, "registry file", err)) != 0)
		goto out;
	registry = cJSON_GetObjectItemCaseSensitive(root, "registry");
	if (registry == NULL || !cJSON_IsObject(registry)) {
		rc = blo_err_set(err, BLO_EPARSE,
				 "registry: field \"registry\": missing or not an object");
		goto out;
	}

	item = cJSON_GetObjectItemCaseSensitive(root, "signature");
	if (item == NULL) {
		rc = blo_err_set(err, BLO_EUNSIGNED, "registry: not signed (no \"signature\")");
		goto out;
	}
	if (!cJSON_IsString(item) ||
	    blo_hex_decode(signature, sizeof(signature), item->valuestring) != 0) {
		rc = blo_err_set(err, BLO_ESIGNATURE, "registry: field \"signature\": not %d hex digits",
				 2 * BLO_SIGNATURE_BYTES);
		goto out;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "authority");
	if (item == NULL || !cJSON_IsString(item) ||
	    blo_hex_decode(authority, sizeof(authority), item->valuestring) != 0) {
		rc = blo_err_set(err, BLO_ESIGNATURE,
				 "registry: field \"authority\": missing or not %d hex digits",
				 2 * BLO_SIGN_PUBLIC_BYTES);
		goto out;
	}
	if (memcmp(authority, authority_public, sizeof(authority)) != 0) {
		rc = blo_err_set(err, BLO_ESIGNATURE,
				 "registry: signed by authority %.16s..., not the trusted authority",
				 item->valuestring);
		goto out;
	}
	canonical = cJSON_PrintUnformatted(registry);
	if (canonical == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "registry: out of memory");
		goto out;
	}
	if (!blo_signature_verify(authority_public, (const uint8_t *)canonical, strlen(canonical),
				  signature)) {
		rc = blo_err_set(err, BLO_ESIGNATURE,
				 "registry: signature does not verify: the registry was altered or "
				 "signed by another key");
		goto out;
	}
	rc = registry_build(out, registry, err);
out:
	free(canonical);
	cJSON_Delete(root);
	return rc;
}

int blo_registry_load(blo_registry_t **out, const char *path,
		      const uint8_t authority_public[BLO_SIGN_PUBLIC_BYTES], blo_err_t *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = blo_read_file(path, BLO_REGISTRY_MAX_BYTES, &text, &len);
	if (rc != 0)
		return blo_err_set(err, rc, "%s: cannot read: %s", path, blo_strerror(rc));
	rc = blo_registry_parse(out, text, len, authority_public, err);
	if (rc != 0)
		blo_err_prefix(err, "%s", path);
	free(text);
	return rc;
}

/* ---- writing ---- */

typedef struct {
	char *data;
	size_t len, cap;
	bool failed;
} text_buf_t;

static void buf_add(text_buf_t *b, const char *s)
{
	size_t n = strlen(s);

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *data;

		while (cap < b->len + n + 1)
			cap *= 2;
		data = realloc(b->data, cap);
		if (data == NULL) {
			b->failed = true;
			return;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

/* Appends the compact text of item. */
static void buf_add_json(text_buf_t *b, const cJSON *item)
{
	char *s = cJSON_PrintUnformatted(item);

	if (s == NULL) {
		b->failed = true;
		return;
	}
	buf_add(b, s);
	free(s);
}

/* {"key": value, ...} on one line. Keys are validated field names. */
static void buf_add_flat_object(text_buf_t *b, const cJSON *obj)
{
	const cJSON *item;

	buf_add(b, "{");
	cJSON_ArrayForEach(item, obj)
	{
		buf_add(b, "\"");
		buf_add(b, item->string);
		buf_add(b, "\": ");
		buf_add_json(b, item);
		if (item->next != NULL)
			buf_add(b, ", ");
	}
	buf_add(b, "}");
}

/* The registry object with one principal or operation per line: readable and
 * friendly to diff. Keys are validated field names, safe to print raw. */
static void buf_add_registry(text_buf_t *b, const cJSON *registry)
{
	const cJSON *item, *elem;

	buf_add(b, "{\n");
	cJSON_ArrayForEach(item, registry)
	{
		buf_add(b, "    \"");
		buf_add(b, item->string);
		buf_add(b, "\": ");
		if (cJSON_IsArray(item) && item->child != NULL) {
			buf_add(b, "[\n");
			cJSON_ArrayForEach(elem, item)
			{
				buf_add(b, "      ");
				buf_add_flat_object(b, elem);
				buf_add(b, elem->next != NULL ? ",\n" : "\n");
			}
			buf_add(b, "    ]");
		} else {
			buf_add_json(b, item);
		}
		buf_add(b, item->next != NULL ? ",\n" : "\n");
	}
	buf_add(b, "  }");
}

int blo_registry_sign(const cJSON *registry, const blo_identity_t *authority, char **out,
		      blo_err_t *err)
{
	const blo_public_identity_t *pub = blo_identity_public(authority);
	char authority_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char signature_hex[2 * BLO_SIGNATURE_BYTES + 1];
	uint8_t signature[BLO_SIGNATURE_BYTES];
	blo_registry_t *check = NULL;
	text_buf_t b = {0};
	char *canonical = NULL;
	int rc;

	assert(registry != NULL && authority != NULL && out != NULL);
	*out = NULL;
	if ((rc = registry_build(&check, registry, err)) != 0)
		return rc;
	blo_registry_destroy(&check);
	canonical = cJSON_PrintUnformatted(registry);
	if (canonical == NULL)
		return blo_err_set(err, BLO_ENOMEM, "registry: out of memory");
	blo_identity_sign(authority, (const uint8_t *)canonical, strlen(canonical), signature);
	free(canonical);
	blo_hex_encode(authority_hex, sizeof(authority_hex), pub->sign_public,
		       BLO_SIGN_PUBLIC_BYTES);
	blo_hex_encode(signature_hex, sizeof(signature_hex), signature, sizeof(signature));

	buf_add(&b, "{\n  \"registry\": ");
	buf_add_registry(&b, registry);
	buf_add(&b, ",\n  \"authority\": \"");
	buf_add(&b, authority_hex);
	buf_add(&b, "\",\n  \"signature\": \"");
	buf_add(&b, signature_hex);
	buf_add(&b, "\"\n}\n");
	if (b.failed) {
		free(b.data);
		return blo_err_set(err, BLO_ENOMEM, "registry: out of memory");
	}
	/* What we hand out must load: read it back as a broker would. */
	rc = blo_registry_parse(&check, b.data, b.len, pub->sign_public, err);
	blo_registry_destroy(&check);
	if (rc != 0) {
		blo_err_prefix(err, "registry: signed text does not read back");
		free(b.data);
		return rc;
	}
	*out = b.data;
	return 0;
}

/* ---- queries ---- */

uint64_t blo_registry_version(const blo_registry_t *self)
{
	return self->version;
}

const char *blo_registry_name(const blo_registry_t *self)
{
	return self->name;
}

const blo_principal_t *blo_registry_find(const blo_registry_t *self, const char *id)
{
	blo_principal_t key;
	const blo_principal_t *keyp = &key;
	const blo_principal_t **found;

	if (id == NULL || blo_strlcpy(key.id, id, sizeof(key.id)) != 0)
		return NULL;
	found = bsearch(&keyp, self->by_id, self->count, sizeof(*self->by_id), cmp_by_id);
	return found != NULL ? *found : NULL;
}

const blo_principal_t *blo_registry_find_by_curve(const blo_registry_t *self,
						  const uint8_t curve_public[BLO_CURVE_KEY_BYTES])
{
	blo_principal_t key;
	const blo_principal_t *keyp = &key;
	const blo_principal_t **found;

	memcpy(key.curve_public, curve_public, BLO_CURVE_KEY_BYTES);
	found = bsearch(&keyp, self->by_curve, self->count, sizeof(*self->by_curve), cmp_by_curve);
	return found != NULL ? *found : NULL;
}

size_t blo_registry_count(const blo_registry_t *self)
{
	return self->count;
}

const blo_principal_t *blo_registry_at(const blo_registry_t *self, size_t i)
{
	return i < self->count ? &self->principals[i] : NULL;
}

static const blo_operation_t *find_operation(const blo_registry_t *self, const char *code)
{
	if (code == NULL)
		return NULL;
	for (size_t i = 0; i < self->n_operations; i++) {
		if (strcmp(self->operations[i].code, code) == 0)
			return &self->operations[i];
	}
	return NULL;
}

bool blo_registry_is_member(const blo_registry_t *self, const char *code, const char *principal_id)
{
	const blo_operation_t *op = find_operation(self, code);

	if (op == NULL || principal_id == NULL)
		return false;
	for (size_t i = 0; i < op->n_members; i++) {
		if (strcmp(op->members[i]->id, principal_id) == 0)
			return true;
	}
	return false;
}

bool blo_registry_site_in_country(const blo_registry_t *self, const char *site, const char *country)
{
	blo_principal_t key;
	const blo_principal_t *keyp = &key;

	if (site == NULL || site[0] == '\0' || country == NULL ||
	    blo_strlcpy(key.site, site, sizeof(key.site)) != 0 ||
	    blo_strlcpy(key.country, country, sizeof(key.country)) != 0)
		return false;
	return bsearch(&keyp, self->by_site, self->count, sizeof(*self->by_site), cmp_by_site) !=
	       NULL;
}
