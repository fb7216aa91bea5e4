/*
 * blo_client: the client side of the broker protocol (proto/blonet.proto),
 * used by every program that talks to a broker: publishers, subscribers,
 * consoles, committees, admin tools. It owns a DEALER socket secured with
 * CurveZMQ, says Hello after every (re)connection, re-sends publishes the
 * broker has not acknowledged and re-subscribes durable subscriptions after
 * a reconnection, so that a caller sees each publish acknowledged exactly
 * once and never has to notice a dropped link.
 *
 * Single-threaded: one thread uses one client.
 */
#ifndef BLO_CLIENT_H
#define BLO_CLIENT_H

#include "blo_err.h"
#include "blo_identity.h"
#include "blo_registry.h"
#include "blo_settings.h"
#include "blonet.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blo_client blo_client_t;

typedef struct {
	const char *endpoint;                /* the broker, e.g. tcp://127.0.0.1:7400 */
	const char *broker_id;               /* its principal id, for messages */
	const uint8_t *broker_curve_public;  /* 32 bytes, from the registry */
	const blo_identity_t *identity;      /* borrowed: must outlive the client */
	const char *software;                /* sent in Hello, e.g. "blonet-pub" */
	int64_t max_message_bytes;           /* 0: BLO_FRAME_MAX_BYTES */
	int resend_ms;                       /* re-send unacknowledged publishes after; 0: 3000 */
} blo_client_opts_t;

typedef struct {
	uint64_t published;        /* publishes handed to the client */
	uint64_t resent;           /* sent again: no ack in time, or after a reconnection */
	uint64_t transient_refusals; /* JOURNAL_FULL, SHUTTING_DOWN, INTERNAL: retried */
	uint64_t reconnects;       /* handshakes after the first */
} blo_client_stats_t;

/* Opens a client and starts connecting (it does not wait: see
 * blo_client_wait_ready). *out is the caller's: close with blo_client_close. */
int blo_client_open(blo_client_t **out, const blo_client_opts_t *opts, blo_err_t *err);

/* Opens a client from a client settings file: loads the identity and the
 * registry (verified with the settings' authority key), finds the broker's
 * CURVE key in the registry. The client owns identity and registry. */
int blo_client_open_config(blo_client_t **out, const char *config_path, const char *software,
			   blo_err_t *err);

/* Closes the client, dropping what is unacknowledged, and sets *self_p to
 * NULL. NULL: nothing. */
void blo_client_close(blo_client_t **self_p);

/* Waits until the broker has welcomed this client (0), timeout_ms passes
 * (-ETIMEDOUT; the client keeps trying), or the broker refused the key
 * (BLO_EPERM). */
int blo_client_wait_ready(blo_client_t *self, int timeout_ms, blo_err_t *err);

/* Queues a serialized envelope for publishing and sends it when connected.
 * *correlation (optional) receives the number that the PublishAck frame
 * returned by blo_client_next will carry. The envelope is copied. While
 * other publishes are unanswered it may wait, to leave with later ones in
 * one Batch: until the batch is full, blo_client_close, or blo_client_next
 * has no frame already received to return (acks that came in one Batch are
 * returned first). */
int blo_client_publish(blo_client_t *self, const uint8_t *envelope, size_t len,
		       uint64_t *correlation, blo_err_t *err);

/* Publishes not yet acknowledged (accepted, duplicate or finally rejected). */
size_t blo_client_pending(const blo_client_t *self);

/* True if a publish still pending was refused for now (a full journal) and
 * every send of it has been answered: the broker has certainly not stored
 * it. False if a send of it may still be committed (its fate is unknown),
 * or if it is not pending. */
bool blo_client_publish_refused(blo_client_t *self, uint64_t correlation);

/* Subscribes. durable "" is live-only. filter may be NULL. credit 0: 256.
 * After a reconnection the client subscribes again by itself, resuming
 * durable subscriptions from their last acknowledged sequence. */
int blo_client_subscribe(blo_client_t *self, const char *durable, const Blonet__Filter *filter,
			 Blonet__StartAt start, uint64_t from_seq, int64_t from_ms, uint32_t credit,
			 blo_err_t *err);

/* Acknowledges deliveries of a subscription. */
int blo_client_ack(blo_client_t *self, const char *durable, const uint64_t *seqs, size_t n,
		   blo_err_t *err);

/* Sends one frame as is (admin requests, pings, tests). -EAGAIN while not
 * connected, or while the broker refuses this connection a session (the
 * principal holds the most it may: the client asks again by itself). */
int blo_client_send(blo_client_t *self, const Blonet__Frame *frame, blo_err_t *err);

/* Waits up to timeout_ms (-1: forever) for the next frame from the broker
 * that the caller should see: Welcome, PublishAck, Subscribed, Deliver,
 * ProtocolError, Pong. A PublishAck is final (the publish leaves
 * blo_client_pending) when ACCEPTED, DUPLICATE, or REJECTED for a reason
 * that retrying cannot fix; REJECTED with JOURNAL_FULL, SHUTTING_DOWN or
 * INTERNAL is passed on too, but the client keeps the publish and sends it
 * again after resend_ms (blo_client_ack_is_final tells the two apart). While
 * the broker refuses this connection a session (TOO_MANY to the Hello),
 * the client says Hello again after a pause; the caller sees the first
 * refusal, then one a minute. Handles reconnection and re-sending
 * meanwhile. On success *frame is the caller's (free with blo_message_free)
 * or NULL on timeout. Returns 0, BLO_EPERM if the broker refuses the key, or
 * a socket error. */
int blo_client_next(blo_client_t *self, int timeout_ms, Blonet__Frame **frame, blo_err_t *err);

/* True if a PublishAck from blo_client_next ends its publish. */
bool blo_client_ack_is_final(const Blonet__PublishAck *ack);

/* The principal the broker authenticated (from Welcome), or NULL before. */
const char *blo_client_principal(const blo_client_t *self);
/* The broker's principal id. */
const char *blo_client_broker_id(const blo_client_t *self);
/* The identity and registry loaded by blo_client_open_config (else the
 * identity given and NULL). Borrowed. */
const blo_identity_t *blo_client_identity(const blo_client_t *self);
const blo_registry_t *blo_client_registry(const blo_client_t *self);

void blo_client_stats(const blo_client_t *self, blo_client_stats_t *out);

/* Fills the origin of alert from the registry entry of the client's own
 * principal where the alert leaves it empty (principal, country, site,
 * agency), sets sent_ms to now if 0, and gives it an id if it has none:
 * derived from country, agency and source_ref when source_ref is set,
 * random otherwise. */
int blo_client_complete_alert(const blo_client_t *self, Blonet__Alert *alert, blo_err_t *err);

/* Validates, serializes and signs alert as the client's identity and
 * publishes it. */
int blo_client_publish_alert(blo_client_t *self, const Blonet__Alert *alert, uint64_t *correlation,
			     blo_err_t *err);

#endif
