/*
 * blo_envelope: sealing alert bytes with the origin's signature, the bounded
 * decode of an envelope, its verification against the registry, and the
 * signed, chained hop trace that brokers append.
 */
#include "blo_envelope.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* What a hop signs: the previous signature, the broker id and its NUL, and
 * at_ms as 8 big-endian bytes. */
#define HOP_MESSAGE_MAX (BLO_SIGNATURE_BYTES + BLO_PRINCIPAL_ID_MAX + 8)

static size_t hop_message(uint8_t out[HOP_MESSAGE_MAX], const uint8_t prev[BLO_SIGNATURE_BYTES],
			  const char *broker, int64_t at_ms)
{
	size_t id_len = strlen(broker);
	uint64_t at = (uint64_t)at_ms;
	size_t n = 0;

	memcpy(out, prev, BLO_SIGNATURE_BYTES);
	n += BLO_SIGNATURE_BYTES;
	memcpy(out + n, broker, id_len + 1);
	n += id_len + 1;
	for (int i = 7; i >= 0; i--)
		out[n++] = (uint8_t)(at >> (8 * i));
	return n;
}

int blo_envelope_seal(const blo_identity_t *identity, const uint8_t *alert_bytes, size_t len,
		      uint8_t **out, size_t *out_len, blo_err_t *err)
{
	Blonet__Envelope env = BLONET__ENVELOPE__INIT;
	uint8_t sig[BLO_SIGNATURE_BYTES];
	size_t size;
	uint8_t *buf;

	assert(identity != NULL && out != NULL && out_len != NULL);
	*out = NULL;
	*out_len = 0;
	if (len > BLO_ALERT_MAX_BYTES)
		return blo_err_set(err, BLO_ETOOBIG, "envelope: alert of %zu bytes exceeds %u", len,
				   BLO_ALERT_MAX_BYTES);
	if (alert_bytes == NULL || len == 0)
		return blo_err_set(err, BLO_EINVAL, "envelope: no alert bytes to seal");
	blo_identity_sign(identity, alert_bytes, len, sig);
	env.alert.data = (uint8_t *)alert_bytes;
	env.alert.len = len;
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	size = blonet__envelope__get_packed_size(&env);
	buf = malloc(size);
	if (buf == NULL)
		return blo_err_set(err, BLO_ENOMEM, "envelope: out of memory");
	blonet__envelope__pack(&env, buf);
	*out = buf;
	*out_len = size;
	return 0;
}

int blo_envelope_parse(Blonet__Envelope **out, const uint8_t *buf, size_t len, blo_err_t *err)
{
	Blonet__Envelope *env;
	int rc = 0;

	assert(out != NULL && (buf != NULL || len == 0));
	*out = NULL;
	if (len > BLO_ENVELOPE_MAX_BYTES)
		return blo_err_set(err, BLO_ETOOBIG, "envelope: %zu bytes exceed the bound of %u",
				   len, BLO_ENVELOPE_MAX_BYTES);
	env = (Blonet__Envelope *)blo_message_unpack(&blonet__envelope__descriptor, buf, len, &rc);
	if (rc == BLO_ENOMEM)
		return blo_err_set(err, BLO_ENOMEM, "envelope: out of memory decoding %zu bytes", len);
	if (env == NULL)
		return blo_err_set(err, BLO_EPARSE, "envelope: bytes do not decode");
	if (env->base.n_unknown_fields != 0) {
		rc = blo_err_set(err, BLO_EPARSE, "envelope: carries fields unknown to this schema");
		goto out;
	}
	if (env->alert.len == 0 || env->alert.len > BLO_ALERT_MAX_BYTES) {
		rc = blo_err_set(err, BLO_EPARSE, "envelope: field \"alert\": %zu bytes, want 1 to %u",
				 env->alert.len, BLO_ALERT_MAX_BYTES);
		goto out;
	}
	if (env->signature.len != BLO_SIGNATURE_BYTES) {
		rc = blo_err_set(err, BLO_EPARSE, "envelope: field \"signature\": %zu bytes, want %d",
				 env->signature.len, BLO_SIGNATURE_BYTES);
		goto out;
	}
	if (env->n_trace > BLO_MAX_HOPS) {
		rc = blo_err_set(err, BLO_EPARSE, "envelope: field \"trace\": %zu hops, at most %d",
				 env->n_trace, BLO_MAX_HOPS);
		goto out;
	}
	for (size_t i = 0; i < env->n_trace; i++) {
		const Blonet__Hop *hop = env->trace[i];

		if (hop->base.n_unknown_fields != 0) {
			rc = blo_err_set(err, BLO_EPARSE,
					 "envelope: field \"trace\": hop %zu carries fields unknown to "
					 "this schema",
					 i);
			goto out;
		}
		if (!blo_principal_id_is_valid(hop->broker)) {
			rc = blo_err_set(err, BLO_EPARSE,
					 "envelope: field \"trace\": hop %zu: field \"broker\" is not a "
					 "principal id",
					 i);
			goto out;
		}
		if (hop->signature.len != BLO_SIGNATURE_BYTES) {
			rc = blo_err_set(err, BLO_EPARSE,
					 "envelope: field \"trace\": hop %zu: field \"signature\": %zu "
					 "bytes, want %d",
					 i, hop->signature.len, BLO_SIGNATURE_BYTES);
			goto out;
		}
	}
	*out = env;
	env = NULL;
out:
	if (env != NULL)
		blonet__envelope__free_unpacked(env, NULL);
	return rc;
}

/* Checks hop i of env: a registered, unrevoked broker signed it, chained to
 * the signature before it. */
static int verify_hop(const Blonet__Envelope *env, size_t i, const blo_registry_t *reg,
		      blo_err_t *err)
{
	const Blonet__Hop *hop = env->trace[i];
	const uint8_t *prev = i == 0 ? env->signature.data : env->trace[i - 1]->signature.data;
	uint8_t msg[HOP_MESSAGE_MAX];
	const blo_principal_t *broker;
	size_t n;

	/* Parse checked this; verify may be given an envelope built elsewhere. */
	if (!blo_principal_id_is_valid(hop->broker) || hop->signature.len != BLO_SIGNATURE_BYTES ||
	    (i == 0 ? env->signature.len : env->trace[i - 1]->signature.len) != BLO_SIGNATURE_BYTES)
		return blo_err_set(err, BLO_EPARSE, "envelope: hop %zu is malformed", i);
	broker = blo_registry_find(reg, hop->broker);
	if (broker == NULL)
		return blo_err_set(err, BLO_ENOTFOUND,
				   "envelope: hop %zu: broker \"%s\" is not in the registry", i,
				   hop->broker);
	if (broker->role != BLO_ROLE_BROKER)
		return blo_err_set(err, BLO_EPERM, "envelope: hop %zu: \"%s\" is a %s, not a broker",
				   i, hop->broker, blo_role_name(broker->role));
	if (broker->revoked)
		return blo_err_set(err, BLO_EREVOKED, "envelope: hop %zu: broker \"%s\" is revoked",
				   i, hop->broker);
	n = hop_message(msg, prev, hop->broker, hop->at_ms);
	if (!blo_signature_verify(broker->sign_public, msg, n, hop->signature.data))
		return blo_err_set(err, BLO_ESIGNATURE,
				   "envelope: hop %zu: signature of broker \"%s\" does not verify", i,
				   hop->broker);
	return 0;
}

int blo_envelope_verify_parsed(const Blonet__Envelope *env, const Blonet__Alert *alert,
			       const blo_registry_t *reg, const blo_principal_t **origin_out,
			       blo_err_t *err)
{
	const blo_principal_t *origin;
	int rc;

	assert(env != NULL && alert != NULL && reg != NULL);
	if (origin_out != NULL)
		*origin_out = NULL;
	if (env->signature.len != BLO_SIGNATURE_BYTES)
		return blo_err_set(err, BLO_EPARSE, "envelope: field \"signature\": %zu bytes, want %d",
				   env->signature.len, BLO_SIGNATURE_BYTES);
	if (env->n_trace > BLO_MAX_HOPS)
		return blo_err_set(err, BLO_EPARSE, "envelope: field \"trace\": %zu hops, at most %d",
				   env->n_trace, BLO_MAX_HOPS);
	if ((rc = blo_alert_validate(alert, err)) != 0) {
		blo_err_prefix(err, "envelope");
		return rc;
	}
	if (alert->origin == NULL)
		return blo_err_set(err, BLO_EVALIDATE, "envelope: alert has no origin");
	origin = blo_registry_find(reg, alert->origin->principal);
	if (origin == NULL)
		return blo_err_set(err, BLO_ENOTFOUND,
				   "envelope: origin principal \"%.64s\" is not in the registry",
				   alert->origin->principal);
	if (origin->revoked)
		return blo_err_set(err, BLO_EREVOKED, "envelope: origin principal \"%s\" is revoked",
				   origin->id);
	if (strcmp(alert->origin->country, origin->country) != 0)
		return blo_err_set(err, BLO_EVALIDATE,
				   "envelope: field \"origin.country\": \"%.8s\" is not the country of "
				   "principal \"%s\" (%s)",
				   alert->origin->country, origin->id, origin->country);
	if (!blo_signature_verify(origin->sign_public, env->alert.data, env->alert.len,
				  env->signature.data))
		return blo_err_set(err, BLO_ESIGNATURE,
				   "envelope: signature of origin \"%s\" does not verify", origin->id);
	for (size_t i = 0; i < env->n_trace; i++) {
		if ((rc = verify_hop(env, i, reg, err)) != 0)
			return rc;
	}
	if (origin_out != NULL)
		*origin_out = origin;
	return 0;
}

int blo_envelope_verify(const Blonet__Envelope *env, const blo_registry_t *reg,
			Blonet__Alert **alert_out, const blo_principal_t **origin_out,
			blo_err_t *err)
{
	Blonet__Alert *alert = NULL;
	int rc;

	assert(env != NULL && reg != NULL);
	if (alert_out != NULL)
		*alert_out = NULL;
	if (origin_out != NULL)
		*origin_out = NULL;
	if (env->signature.len != BLO_SIGNATURE_BYTES)
		return blo_err_set(err, BLO_EPARSE, "envelope: field \"signature\": %zu bytes, want %d",
				   env->signature.len, BLO_SIGNATURE_BYTES);
	if ((rc = blo_alert_parse(&alert, env->alert.data, env->alert.len, err)) != 0) {
		blo_err_prefix(err, "envelope");
		goto out;
	}
	if ((rc = blo_envelope_verify_parsed(env, alert, reg, origin_out, err)) != 0)
		goto out;
	if (alert_out != NULL) {
		*alert_out = alert;
		alert = NULL;
	}
out:
	blo_alert_free(&alert);
	return rc;
}

int blo_envelope_add_hop(Blonet__Envelope *env, const blo_identity_t *broker, int64_t at_ms,
			 blo_err_t *err)
{
	const uint8_t *prev;
	size_t prev_len;
	uint8_t msg[HOP_MESSAGE_MAX];
	Blonet__Hop *hop = NULL;
	Blonet__Hop **trace;
	size_t n;

	assert(env != NULL && broker != NULL);
	if (env->n_trace >= BLO_MAX_HOPS)
		return blo_err_set(err, BLO_ETOOBIG, "envelope: hop trace is full (%d hops)",
				   BLO_MAX_HOPS);
	prev = env->n_trace == 0 ? env->signature.data : env->trace[env->n_trace - 1]->signature.data;
	prev_len = env->n_trace == 0 ? env->signature.len
				     : env->trace[env->n_trace - 1]->signature.len;
	if (prev_len != BLO_SIGNATURE_BYTES)
		return blo_err_set(err, BLO_EINVAL, "envelope: last signature is %zu bytes, not %d",
				   prev_len, BLO_SIGNATURE_BYTES);

	/* Allocated with malloc, as protobuf-c's default allocator does, so that
	 * blo_envelope_free releases the hop with the rest. */
	hop = malloc(sizeof(*hop));
	if (hop == NULL)
		goto nomem;
	blonet__hop__init(hop);
	hop->broker = strdup(blo_identity_id(broker));
	hop->signature.data = malloc(BLO_SIGNATURE_BYTES);
	if (hop->broker == NULL || hop->signature.data == NULL)
		goto nomem;
	hop->signature.len = BLO_SIGNATURE_BYTES;
	hop->at_ms = at_ms;
	n = hop_message(msg, prev, hop->broker, at_ms);
	blo_identity_sign(broker, msg, n, hop->signature.data);
	trace = realloc(env->trace, (env->n_trace + 1) * sizeof(*trace));
	if (trace == NULL)
		goto nomem;
	env->trace = trace;
	env->trace[env->n_trace++] = hop;
	return 0;
nomem:
	if (hop != NULL)
		blonet__hop__free_unpacked(hop, NULL);
	return blo_err_set(err, BLO_ENOMEM, "envelope: out of memory");
}

bool blo_envelope_has_hop(const Blonet__Envelope *env, const char *broker_id)
{
	if (broker_id == NULL)
		return false;
	for (size_t i = 0; i < env->n_trace; i++) {
		if (env->trace[i]->broker != NULL && strcmp(env->trace[i]->broker, broker_id) == 0)
			return true;
	}
	return false;
}

void blo_envelope_free(Blonet__Envelope **env_p)
{
	if (env_p == NULL || *env_p == NULL)
		return;
	blonet__envelope__free_unpacked(*env_p, NULL);
	*env_p = NULL;
}
