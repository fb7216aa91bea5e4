/*
 * blo_envelope: the signed unit. An envelope carries the exact serialized
 * alert bytes, the origin principal's Ed25519 signature over those bytes, and
 * the hop trace that brokers append (each hop signed, chained to the one
 * before, see proto/blonet.proto). Nobody re-serializes the alert bytes.
 */
#ifndef BLO_ENVELOPE_H
#define BLO_ENVELOPE_H

#include "blo_codec.h"
#include "blo_err.h"
#include "blo_identity.h"
#include "blo_registry.h"

#include <stddef.h>
#include <stdint.h>

#define BLO_MAX_HOPS 16

/* Signs alert_bytes[0..len) as identity and returns the serialized envelope
 * (no hops) in *out (malloc()ed, caller frees), *out_len bytes. Refuses alert
 * bytes over BLO_ALERT_MAX_BYTES. */
int blo_envelope_seal(const blo_identity_t *identity, const uint8_t *alert_bytes, size_t len,
		      uint8_t **out, size_t *out_len, blo_err_t *err);

/* Decodes an envelope from buf[0..len): bounded by BLO_ENVELOPE_MAX_BYTES,
 * unknown fields refused, signature 64 bytes, at most BLO_MAX_HOPS hops
 * (BLO_EPARSE); BLO_ENOMEM when an allocation failed (the bytes may decode
 * later). Does not verify. *out is the caller's: free with
 * blo_envelope_free. */
int blo_envelope_parse(Blonet__Envelope **out, const uint8_t *buf, size_t len, blo_err_t *err);

/* Verifies env against the registry: the alert bytes parse and validate, the
 * origin principal exists, is not revoked and is the signer (its Ed25519 key
 * verifies the signature), and every hop is signed by a registered,
 * unrevoked broker and chained correctly. On success, if alert_out is not
 * NULL it receives the parsed alert (caller frees with blo_alert_free) and if
 * origin_out is not NULL it receives the origin principal (borrowed from
 * reg). The alert's origin.country must be the principal's registered
 * country. Returns 0, BLO_ESIGNATURE, BLO_ENOTFOUND (origin or hop broker not
 * registered), BLO_EREVOKED, BLO_EPERM (a hop by a principal that is not a
 * broker), BLO_EPARSE or BLO_EVALIDATE. A trace cut short at its end still
 * verifies (each hop signs only what came before it); a dropped, altered or
 * reordered hop before the end does not. */
int blo_envelope_verify(const Blonet__Envelope *env, const blo_registry_t *reg,
			Blonet__Alert **alert_out, const blo_principal_t **origin_out,
			blo_err_t *err);

/* blo_envelope_verify for a caller that has already parsed env's alert
 * bytes into alert (which must come from exactly env->alert): validation,
 * origin, signature and hops, without parsing again. */
int blo_envelope_verify_parsed(const Blonet__Envelope *env, const Blonet__Alert *alert,
			       const blo_registry_t *reg, const blo_principal_t **origin_out,
			       blo_err_t *err);

/* Appends a hop for broker at at_ms, signed by broker and chained to the
 * last signature in env. env must come from blo_envelope_parse (the new hop
 * is malloc()ed and freed with it). Returns 0, BLO_ETOOBIG (trace full),
 * BLO_EINVAL (the last signature is not 64 bytes) or BLO_ENOMEM. */
int blo_envelope_add_hop(Blonet__Envelope *env, const blo_identity_t *broker, int64_t at_ms,
			 blo_err_t *err);

/* True if broker_id already appears in env's hop trace (loop detection). */
bool blo_envelope_has_hop(const Blonet__Envelope *env, const char *broker_id);

/* Frees an envelope from blo_envelope_parse and sets *env_p to NULL. */
void blo_envelope_free(Blonet__Envelope **env_p);

#endif
