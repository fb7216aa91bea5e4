/*
 * blo_identity: generation, files and use of a principal's two key pairs
 * (Ed25519 for signatures, X25519 for CurveZMQ). Secret halves live only in
 * sodium_malloc() memory, read-only while held, and are wiped on every path.
 */
#include "blo_identity.h"

#include "blo_util.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* A key file holds a few hundred bytes; anything much larger is not one. */
#define KEY_FILE_MAX 4096

/* Both secret halves in one guarded allocation. */
struct blo_secrets {
	uint8_t sign[BLO_SIGN_SECRET_BYTES];
	uint8_t curve[BLO_CURVE_KEY_BYTES];
};

struct blo_identity {
	blo_public_identity_t pub;
	struct blo_secrets *secrets; /* sodium_malloc, read-only while held */
};

/* ---- libsodium start-up ----
 *
 * sodium_init() is idempotent but takes a lock on every call; pthread_once
 * keeps the verify path (many threads, every alert) lock-free. */
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status = -1;

static void sodium_start(void)
{
	sodium_status = sodium_init() < 0 ? -1 : 0;
}

static int sodium_ready(void)
{
	pthread_once(&sodium_once, sodium_start);
	return sodium_status;
}

/* ---- ids and key text ---- */

bool blo_principal_id_is_valid(const char *id)
{
	size_t n;

	if (id == NULL || id[0] == '\0')
		return false;
	n = strlen(id);
	if (n >= BLO_PRINCIPAL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (alnum)
			continue;
		if (i == 0 || (c != '.' && c != '_' && c != '-'))
			return false;
	}
	return true;
}

static const char z85_alphabet[] =
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int blo_z85_encode_key(char out[BLO_Z85_KEY_CHARS + 1], const uint8_t key[BLO_CURVE_KEY_BYTES])
{
	if (zmq_z85_encode(out, key, BLO_CURVE_KEY_BYTES) == NULL)
		return BLO_EPARSE;
	return 0;
}

/* Accepts exactly the canonical Z85 text of a 32-byte key: 40 characters of
 * the alphabet whose 5-character groups do not overflow 32 bits (checked by
 * encoding the result again). */
int blo_z85_decode_key(uint8_t key[BLO_CURVE_KEY_BYTES], const char *text)
{
	char again[BLO_Z85_KEY_CHARS + 1];
	int rc = 0;

	if (text == NULL || strlen(text) != BLO_Z85_KEY_CHARS)
		return BLO_EPARSE;
	for (size_t i = 0; i < BLO_Z85_KEY_CHARS; i++) {
		if (strchr(z85_alphabet, text[i]) == NULL)
			return BLO_EPARSE;
	}
	if (zmq_z85_decode(key, text) == NULL) {
		rc = BLO_EPARSE;
		goto out;
	}
	if (zmq_z85_encode(again, key, BLO_CURVE_KEY_BYTES) == NULL ||
	    memcmp(again, text, BLO_Z85_KEY_CHARS) != 0)
		rc = BLO_EPARSE;
out:
	/* text may be a secret key: leave no copy of it behind. */
	sodium_memzero(again, sizeof(again));
	if (rc != 0)
		sodium_memzero(key, BLO_CURVE_KEY_BYTES);
	return rc;
}

/* ---- life cycle ---- */

static int identity_alloc(blo_identity_t **out, const char *id)
{
	blo_identity_t *self;

	*out = NULL;
	if (!blo_principal_id_is_valid(id))
		return BLO_EINVAL;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return BLO_ENOMEM;
	self->secrets = sodium_malloc(sizeof(*self->secrets));
	if (self->secrets == NULL) {
		free(self);
		return BLO_ENOMEM;
	}
	sodium_memzero(self->secrets, sizeof(*self->secrets));
	memcpy(self->pub.id, id, strlen(id) + 1);
	*out = self;
	return 0;
}

void blo_identity_destroy(blo_identity_t **self_p)
{
	blo_identity_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	if (self->secrets != NULL) {
		sodium_mprotect_readwrite(self->secrets);
		sodium_memzero(self->secrets, sizeof(*self->secrets));
		sodium_free(self->secrets);
	}
	sodium_memzero(self, sizeof(*self));
	free(self);
	*self_p = NULL;
}

int blo_identity_generate(blo_identity_t **out, const char *id)
{
	blo_identity_t *self = NULL;
	int rc;

	*out = NULL;
	if (sodium_ready() != 0)
		return BLO_EKEY;
	rc = identity_alloc(&self, id);
	if (rc != 0)
		return rc;
	if (crypto_sign_keypair(self->pub.sign_public, self->secrets->sign) != 0 ||
	    crypto_box_keypair(self->pub.curve_public, self->secrets->curve) != 0) {
		blo_identity_destroy(&self);
		return BLO_EKEY;
	}
	sodium_mprotect_readonly(self->secrets);
	*out = self;
	return 0;
}

const char *blo_identity_id(const blo_identity_t *self)
{
	return self->pub.id;
}

const blo_public_identity_t *blo_identity_public(const blo_identity_t *self)
{
	return &self->pub;
}

const uint8_t *blo_identity_curve_secret(const blo_identity_t *self)
{
	return self->secrets->curve;
}

/* ---- signatures ---- */

void blo_identity_sign(const blo_identity_t *self, const uint8_t *msg, size_t len,
		       uint8_t sig[BLO_SIGNATURE_BYTES])
{
	assert(self != NULL && sig != NULL && (msg != NULL || len == 0));
	sodium_ready();
	crypto_sign_detached(sig, NULL, msg, len, self->secrets->sign);
}

bool blo_signature_verify(const uint8_t sign_public[BLO_SIGN_PUBLIC_BYTES], const uint8_t *msg,
			  size_t len, const uint8_t sig[BLO_SIGNATURE_BYTES])
{
	if (sodium_ready() != 0)
		return false;
	return crypto_sign_verify_detached(sig, msg, len, sign_public) == 0;
}

/* ---- files ---- */

static int save_public(const blo_identity_t *self, const char *path, blo_err_t *err)
{
	char sign_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char curve_z85[BLO_Z85_KEY_CHARS + 1];
	char *text = NULL;
	int n, rc;

	blo_hex_encode(sign_hex, sizeof(sign_hex), self->pub.sign_public, BLO_SIGN_PUBLIC_BYTES);
	blo_z85_encode_key(curve_z85, self->pub.curve_public);
	n = asprintf(&text,
		     "{\n  \"id\": \"%s\",\n  \"sign_public\": \"%s\",\n  \"curve_public\": \"%s\"\n}\n",
		     self->pub.id, sign_hex, curve_z85);
	if (n < 0)
		return blo_err_set(err, BLO_ENOMEM, "%s: out of memory", path);
	rc = blo_write_file_atomic(path, text, (size_t)n, 0644);
	free(text);
	if (rc != 0)
		return blo_err_set(err, rc, "%s: cannot write: %s", path, blo_strerror(rc));
	return 0;
}

/* The secret file text is built in guarded memory, never in a cJSON tree
 * (whose strings would be freed without being wiped). The id is safe to
 * print unescaped: blo_principal_id_is_valid allows no quotes. */
static int save_secret(const blo_identity_t *self, const char *path, blo_err_t *err)
{
	struct secret_text {
		char sign_hex[2 * BLO_SIGN_SECRET_BYTES + 1];
		char curve_z85[BLO_Z85_KEY_CHARS + 1];
		char file[1024];
	} *buf;
	char sign_pub_hex[2 * BLO_SIGN_PUBLIC_BYTES + 1];
	char curve_pub_z85[BLO_Z85_KEY_CHARS + 1];
	int n, rc = 0;

	buf = sodium_malloc(sizeof(*buf));
	if (buf == NULL)
		return blo_err_set(err, BLO_ENOMEM, "%s: out of memory", path);
	blo_hex_encode(sign_pub_hex, sizeof(sign_pub_hex), self->pub.sign_public,
		       BLO_SIGN_PUBLIC_BYTES);
	blo_z85_encode_key(curve_pub_z85, self->pub.curve_public);
	blo_hex_encode(buf->sign_hex, sizeof(buf->sign_hex), self->secrets->sign,
		       BLO_SIGN_SECRET_BYTES);
	blo_z85_encode_key(buf->curve_z85, self->secrets->curve);
	n = snprintf(buf->file, sizeof(buf->file),
		     "{\n  \"id\": \"%s\",\n  \"sign_public\": \"%s\",\n  \"curve_public\": \"%s\",\n"
		     "  \"sign_secret\": \"%s\",\n  \"curve_secret\": \"%s\"\n}\n",
		     self->pub.id, sign_pub_hex, curve_pub_z85, buf->sign_hex, buf->curve_z85);
	if (n < 0 || (size_t)n >= sizeof(buf->file)) {
		rc = blo_err_set(err, BLO_EINVAL, "%s: secret file text does not fit", path);
		goto out;
	}
	rc = blo_write_file_atomic(path, buf->file, (size_t)n, 0600);
	if (rc != 0)
		blo_err_set(err, rc, "%s: cannot write: %s", path, blo_strerror(rc));
out:
	sodium_memzero(buf, sizeof(*buf));
	sodium_free(buf);
	return rc;
}

int blo_identity_save(const blo_identity_t *self, const char *public_path, const char *secret_path,
		      blo_err_t *err)
{
	int rc;

	assert(self != NULL);
	if (public_path != NULL && (rc = save_public(self, public_path, err)) != 0)
		return rc;
	if (secret_path != NULL && (rc = save_secret(self, secret_path, err)) != 0)
		return rc;
	return 0;
}

/* Fields of the key files. The public file has the first three only. */
static const char *const key_fields[] = {"id", "sign_public", "curve_public", "sign_secret",
					 "curve_secret"};
#define PUBLIC_FIELDS 3
#define SECRET_FIELDS 5

/* Checks that root is an object whose members are among the first nfields
 * of key_fields, each a string, none twice. */
static int check_key_object(const cJSON *root, size_t nfields, const char *path, blo_err_t *err)
{
	bool seen[SECRET_FIELDS] = {false};
	const cJSON *item;

	if (!cJSON_IsObject(root))
		return blo_err_set(err, BLO_EKEY, "%s: not a JSON object", path);
	cJSON_ArrayForEach(item, root)
	{
		size_t i;

		for (i = 0; i < nfields; i++) {
			if (strcmp(item->string, key_fields[i]) == 0)
				break;
		}
		if (i == nfields) {
			if (nfields == PUBLIC_FIELDS && (strcmp(item->string, "sign_secret") == 0 ||
							 strcmp(item->string, "curve_secret") == 0))
				return blo_err_set(err, BLO_EKEY,
						   "%s: holds secret keys: give the public file",
						   path);
			return blo_err_set(err, BLO_EKEY, "%s: unknown field \"%.64s\"", path,
					   item->string);
		}
		if (seen[i])
			return blo_err_set(err, BLO_EKEY, "%s: field \"%s\" appears twice", path,
					   key_fields[i]);
		seen[i] = true;
		if (!cJSON_IsString(item) || item->valuestring == NULL)
			return blo_err_set(err, BLO_EKEY, "%s: field \"%s\" is not a string", path,
					   key_fields[i]);
	}
	for (size_t i = 0; i < nfields; i++) {
		if (!seen[i])
			return blo_err_set(err, BLO_EKEY, "%s: field \"%s\" is missing", path,
					   key_fields[i]);
	}
	return 0;
}

static const char *field_text(const cJSON *root, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(root, name)->valuestring;
}

/* Fills pub from the public fields of a checked key object. */
static int parse_public_fields(blo_public_identity_t *pub, const cJSON *root, const char *path,
			       blo_err_t *err)
{
	const char *id = field_text(root, "id");

	if (!blo_principal_id_is_valid(id))
		return blo_err_set(err, BLO_EKEY,
				   "%s: field \"id\": not a principal id (1-63 of A-Z a-z 0-9 . _ -)",
				   path);
	memcpy(pub->id, id, strlen(id) + 1);
	if (blo_hex_decode(pub->sign_public, BLO_SIGN_PUBLIC_BYTES, field_text(root, "sign_public")) !=
	    0)
		return blo_err_set(err, BLO_EKEY, "%s: field \"sign_public\": not %d hex digits", path,
				   2 * BLO_SIGN_PUBLIC_BYTES);
	if (blo_z85_decode_key(pub->curve_public, field_text(root, "curve_public")) != 0)
		return blo_err_set(err, BLO_EKEY, "%s: field \"curve_public\": not a %d-character Z85 key",
				   path, BLO_Z85_KEY_CHARS);
	return 0;
}

/* Strict parse of a whole buffer: trailing bytes other than white space and
 * embedded NULs are refused. */
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

/* Wipes every string value of a key object before it is freed: cJSON's own
 * free would leave the secret text in the heap. */
static void wipe_and_delete(cJSON *root)
{
	cJSON *item;

	if (root == NULL)
		return;
	cJSON_ArrayForEach(item, root)
	{
		if (cJSON_IsString(item) && item->valuestring != NULL)
			sodium_memzero(item->valuestring, strlen(item->valuestring));
	}
	cJSON_Delete(root);
}

/* Reads a secret key file into guarded memory (*out, *len; free with
 * sodium_free after wiping), refusing one that group or others may access.
 * The mode is checked on the open descriptor, so the file read is the one
 * checked. */
static int read_secret_file(const char *path, char **out, size_t *len, blo_err_t *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return blo_err_set(err, rc, "%s: cannot open: %s", path, blo_strerror(rc));
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		blo_err_set(err, rc, "%s: cannot stat: %s", path, blo_strerror(rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = blo_err_set(err, BLO_EKEY, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = blo_err_set(err, BLO_EKEY,
				 "secret key file %s has mode %04o: group or others may access it "
				 "(chmod 600 it)",
				 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > KEY_FILE_MAX) {
		rc = blo_err_set(err, BLO_EKEY, "%s: %lld bytes is too large for a key file", path,
				 (long long)st.st_size);
		goto out;
	}
	buf = sodium_malloc(KEY_FILE_MAX + 1);
	if (buf == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, KEY_FILE_MAX + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			blo_err_set(err, rc, "%s: cannot read: %s", path, blo_strerror(rc));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > KEY_FILE_MAX) {
			rc = blo_err_set(err, BLO_EKEY, "%s: too large for a key file", path);
			goto out;
		}
	}
	*out = buf;
	*len = got;
	buf = NULL;
out:
	if (buf != NULL) {
		sodium_memzero(buf, KEY_FILE_MAX + 1);
		sodium_free(buf);
	}
	close(fd);
	return rc;
}

/* Do the secret halves belong to the public ones? The Ed25519 secret key
 * carries a copy of its public key (crypto_sign_ed25519_sk_to_pk only reads
 * that copy), so the key pair is derived again from the seed and both halves
 * compared; the X25519 public key is recomputed from the secret scalar. */
static int check_key_pairs(const blo_identity_t *self, const char *path, blo_err_t *err)
{
	struct derived {
		uint8_t seed[crypto_sign_SEEDBYTES];
		uint8_t sign_secret[BLO_SIGN_SECRET_BYTES];
		uint8_t sign_public[BLO_SIGN_PUBLIC_BYTES];
		uint8_t curve_public[BLO_CURVE_KEY_BYTES];
	} *d;
	int rc = 0;

	d = sodium_malloc(sizeof(*d));
	if (d == NULL)
		return blo_err_set(err, BLO_ENOMEM, "%s: out of memory", path);
	crypto_sign_ed25519_sk_to_seed(d->seed, self->secrets->sign);
	if (crypto_sign_seed_keypair(d->sign_public, d->sign_secret, d->seed) != 0 ||
	    sodium_memcmp(d->sign_secret, self->secrets->sign, BLO_SIGN_SECRET_BYTES) != 0 ||
	    sodium_memcmp(d->sign_public, self->pub.sign_public, BLO_SIGN_PUBLIC_BYTES) != 0) {
		rc = blo_err_set(err, BLO_EKEY,
				 "%s: field \"sign_secret\" does not match field \"sign_public\"", path);
		goto out;
	}
	if (crypto_scalarmult_base(d->curve_public, self->secrets->curve) != 0 ||
	    sodium_memcmp(d->curve_public, self->pub.curve_public, BLO_CURVE_KEY_BYTES) != 0) {
		rc = blo_err_set(err, BLO_EKEY,
				 "%s: field \"curve_secret\" does not match field \"curve_public\"",
				 path);
		goto out;
	}
out:
	sodium_memzero(d, sizeof(*d));
	sodium_free(d);
	return rc;
}

int blo_identity_load(blo_identity_t **out, const char *secret_path, blo_err_t *err)
{
	blo_identity_t *self = NULL;
	blo_public_identity_t pub;
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	int rc;

	*out = NULL;
	memset(&pub, 0, sizeof(pub));
	if (sodium_ready() != 0)
		return blo_err_set(err, BLO_EKEY, "libsodium cannot start");
	rc = read_secret_file(secret_path, &text, &len, err);
	if (rc != 0)
		return rc;
	root = parse_whole(text, len);
	if (root == NULL) {
		rc = blo_err_set(err, BLO_EKEY, "%s: not a JSON key file", secret_path);
		goto out;
	}
	if ((rc = check_key_object(root, SECRET_FIELDS, secret_path, err)) != 0 ||
	    (rc = parse_public_fields(&pub, root, secret_path, err)) != 0)
		goto out;
	rc = identity_alloc(&self, pub.id);
	if (rc != 0) {
		blo_err_set(err, rc, "%s: %s", secret_path, blo_strerror(rc));
		goto out;
	}
	self->pub = pub;
	if (blo_hex_decode(self->secrets->sign, BLO_SIGN_SECRET_BYTES,
			   field_text(root, "sign_secret")) != 0) {
		rc = blo_err_set(err, BLO_EKEY, "%s: field \"sign_secret\": not %d hex digits",
				 secret_path, 2 * BLO_SIGN_SECRET_BYTES);
		goto out;
	}
	if (blo_z85_decode_key(self->secrets->curve, field_text(root, "curve_secret")) != 0) {
		rc = blo_err_set(err, BLO_EKEY,
				 "%s: field \"curve_secret\": not a %d-character Z85 key", secret_path,
				 BLO_Z85_KEY_CHARS);
		goto out;
	}
	if ((rc = check_key_pairs(self, secret_path, err)) != 0)
		goto out;
	sodium_mprotect_readonly(self->secrets);
	*out = self;
	self = NULL;
out:
	blo_identity_destroy(&self);
	wipe_and_delete(root);
	if (text != NULL) {
		sodium_memzero(text, KEY_FILE_MAX + 1);
		sodium_free(text);
	}
	return rc;
}

int blo_identity_load_public(blo_public_identity_t *out, const char *public_path, blo_err_t *err)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = blo_read_file(public_path, KEY_FILE_MAX, &text, &len);
	if (rc == BLO_ETOOBIG)
		return blo_err_set(err, BLO_EKEY, "%s: too large for a key file", public_path);
	if (rc != 0)
		return blo_err_set(err, rc, "%s: cannot read: %s", public_path, blo_strerror(rc));
	root = parse_whole(text, len);
	if (root == NULL) {
		rc = blo_err_set(err, BLO_EKEY, "%s: not a JSON key file", public_path);
		goto out;
	}
	if ((rc = check_key_object(root, PUBLIC_FIELDS, public_path, err)) != 0 ||
	    (rc = parse_public_fields(out, root, public_path, err)) != 0)
		goto out;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	/* A secret file given by mistake is refused above; wipe it anyway. */
	wipe_and_delete(root);
	sodium_memzero(text, len);
	free(text);
	return rc;
}
