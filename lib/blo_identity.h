/*
 * blo_identity: a principal's key pairs. Each identity has an Ed25519 key
 * pair (signs alerts, registries, hops) and a separate CURVE (X25519) key pair
 * (CurveZMQ transport). They are generated independently rather than derived
 * one from the other, so that a transport key can be rotated without
 * touching signatures already in the journals, and so that no key is used
 * by two algorithms.
 *
 * Files (JSON):
 *   public:  {"id": ..., "sign_public": hex(32), "curve_public": Z85(32)}
 *   secret:  the public fields plus "sign_secret": hex(64) and
 *            "curve_secret": Z85(32); written with mode 0600 and refused on
 *            load if group or others may read it.
 * Secret keys live only in sodium_malloc() memory and are wiped with
 * sodium_memzero() on every path.
 */
#ifndef BLO_IDENTITY_H
#define BLO_IDENTITY_H

#include "blo_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_PRINCIPAL_ID_MAX 64 /* including the NUL */
#define BLO_SIGN_PUBLIC_BYTES 32
#define BLO_SIGN_SECRET_BYTES 64
#define BLO_SIGNATURE_BYTES 64
#define BLO_CURVE_KEY_BYTES 32
#define BLO_Z85_KEY_CHARS 40

typedef struct blo_identity blo_identity_t;

/* The public half of an identity, as the registry holds it. */
typedef struct {
	char id[BLO_PRINCIPAL_ID_MAX];
	uint8_t sign_public[BLO_SIGN_PUBLIC_BYTES];
	uint8_t curve_public[BLO_CURVE_KEY_BYTES];
} blo_public_identity_t;

/* Principal ids: 1-63 characters of [A-Za-z0-9._-], starting with a letter
 * or digit. */
bool blo_principal_id_is_valid(const char *id);

/* Generates a new identity named id. *out is the caller's: free with
 * blo_identity_destroy. Returns 0, BLO_EINVAL (bad id), BLO_ENOMEM or
 * BLO_EKEY (libsodium cannot start). */
int blo_identity_generate(blo_identity_t **out, const char *id);

/* Writes the public file (mode 0644) and the secret file (mode 0600), each
 * atomically. Either path may be NULL to skip it. Returns 0 or -errno. */
int blo_identity_save(const blo_identity_t *self, const char *public_path, const char *secret_path,
		      blo_err_t *err);

/* Loads an identity from its secret file. Refuses a file that group or
 * others may access (BLO_EKEY, naming the file and its mode), a malformed
 * file (BLO_EKEY, naming the field; unknown fields too), or keys that do not
 * match their public halves (BLO_EKEY); -errno if it cannot be read. *out is
 * the caller's: free with blo_identity_destroy. */
int blo_identity_load(blo_identity_t **out, const char *secret_path, blo_err_t *err);

/* Loads a public identity file into *out. Returns 0, -errno, or BLO_EKEY
 * for a malformed file or a secret key file given by mistake. */
int blo_identity_load_public(blo_public_identity_t *out, const char *public_path, blo_err_t *err);

/* Wipes and frees the identity, sets *self_p to NULL. NULL: nothing. */
void blo_identity_destroy(blo_identity_t **self_p);

/* Borrowed, valid until blo_identity_destroy. */
const char *blo_identity_id(const blo_identity_t *self);
const blo_public_identity_t *blo_identity_public(const blo_identity_t *self);
/* The CURVE secret key, for zmq_setsockopt(ZMQ_CURVE_SECRETKEY) only.
 * Points into guarded memory: do not copy it anywhere else. */
const uint8_t *blo_identity_curve_secret(const blo_identity_t *self);

/* Ed25519 detached signature of msg[0..len) into sig. */
void blo_identity_sign(const blo_identity_t *self, const uint8_t *msg, size_t len,
		       uint8_t sig[BLO_SIGNATURE_BYTES]);

/* True if sig is a valid Ed25519 signature of msg under sign_public. */
bool blo_signature_verify(const uint8_t sign_public[BLO_SIGN_PUBLIC_BYTES], const uint8_t *msg,
			  size_t len, const uint8_t sig[BLO_SIGNATURE_BYTES]);

/* Z85 text of a 32-byte key (40 characters and a NUL) and back. Return 0 or
 * BLO_EPARSE. */
int blo_z85_encode_key(char out[BLO_Z85_KEY_CHARS + 1], const uint8_t key[BLO_CURVE_KEY_BYTES]);
int blo_z85_decode_key(uint8_t key[BLO_CURVE_KEY_BYTES], const char *text);

#endif
