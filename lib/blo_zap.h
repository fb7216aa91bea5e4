/*
 * blo_zap: the broker's authentication layer, fail-closed. A ZAP handler
 * (RFC 27) on inproc://zeromq.zap.01 admits a CurveZMQ client only if its
 * long-term key belongs to a principal of the signed registry that is not
 * revoked and whose role is allowed on the socket's ZAP domain; libzmq then
 * attaches the principal id to every message from that connection as
 * "User-Id". Also the socket setup every program uses, so that no CURVE
 * socket is configured two ways.
 *
 * What libzmq 4.3.4 does around it (tests/unit/test_zap.c shows each):
 *   - ZAP is asked at each handshake, not at bind, so the handler must be
 *     bound before the first client can arrive: start it before binding.
 *   - A CURVE server with ZMQ_ZAP_ENFORCE_DOMAIN=1 and a non-empty ZAP domain
 *     refuses every client while no handler is bound, also after
 *     blo_zap_stop (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, value EFAULT).
 *     Without that option it admits any client key unauthenticated, with no
 *     User-Id (the "Stonehouse" fallback); and a socket whose ZAP domain was
 *     never set never asks ZAP, option or not: hence blo_curve_server_setup
 *     insists on both.
 *   - A refusal is ZMQ_EVENT_HANDSHAKE_FAILED_AUTH with the status (400) as
 *     value on the server socket. A client speaking NULL or PLAIN to a CURVE
 *     server never reaches ZAP (HANDSHAKE_FAILED_PROTOCOL,
 *     ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH), nor does one using the
 *     wrong server key (ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC). A server
 *     socket left without CURVE but given a domain asks ZAP with mechanism
 *     NULL, which is refused (denied_mechanism).
 *   - ZMQ_MAXMSGSIZE also bounds the handshake commands (a CURVE handshake
 *     fails below about 300 bytes), and applies to the encrypted frame.
 *   - libzmq merges the ZAP reply's properties before the client's own
 *     handshake metadata and keeps the first, so a client cannot replace
 *     User-Id (from libzmq's source; the stable API cannot send it).
 */
#ifndef BLO_ZAP_H
#define BLO_ZAP_H

#include "blo_err.h"
#include "blo_identity.h"
#include "blo_registry.h"

#include <stdint.h>
#include <zmq.h>

/* The endpoint libzmq sends ZAP requests to; one handler per context. */
#define BLO_ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* ZAP domains are at most 255 bytes (libzmq's limit for ZMQ_ZAP_DOMAIN). */
#define BLO_ZAP_DOMAIN_MAX 255
/* How many distinct domains one handler serves. */
#define BLO_ZAP_MAX_DOMAINS 16

/* The bit of role in a role mask, e.g.
 * BLO_ZAP_ROLE(BLO_ROLE_CONSOLE) | BLO_ZAP_ROLE(BLO_ROLE_AGENT). */
#define BLO_ZAP_ROLE(role) (1u << (unsigned)(role))
/* Every real role (never BLO_ROLE_NONE). */
#define BLO_ZAP_ROLES_ALL                                                               \
	(BLO_ZAP_ROLE(BLO_ROLE_BROKER) | BLO_ZAP_ROLE(BLO_ROLE_AGENT) |                  \
	 BLO_ZAP_ROLE(BLO_ROLE_CONSOLE) | BLO_ZAP_ROLE(BLO_ROLE_COMMITTEE) |             \
	 BLO_ZAP_ROLE(BLO_ROLE_ADMIN))

/* What the setup helpers set besides keys and sizes. A bounded linger lets
 * zmq_ctx_term finish on shutdown (at-least-once delivery resends what an
 * abandoned queue held); a bounded handshake stops a silent or slow peer
 * (or ZAP handler) from holding a connection half-open. */
#define BLO_CURVE_LINGER_MS 1000
#define BLO_CURVE_HANDSHAKE_IVL_MS 5000
/* Clients only: a TCP connect made while the link is cut waits on the
 * kernel's SYN retries (1, 3, 7, 15, 31, 63 s), so after the link heals the
 * next try may be a minute away. Given up after the SYN of 3 s, the connect
 * starts again within the reconnect interval instead. */
#define BLO_CURVE_CONNECT_TIMEOUT_MS 4000

/* libzmq applies ZMQ_MAXMSGSIZE to the whole CurveZMQ MESSAGE command, which
 * is the payload plus this much ("\x07MESSAGE", 8-byte nonce, flags byte,
 * 16-byte MAC); the setup helpers add it, so max_message_bytes bounds the
 * application's frame exactly. */
#define BLO_CURVE_FRAME_OVERHEAD 33
/* Handshake commands pass through the same limit (INITIATE carries the
 * client's metadata), so smaller limits are refused. */
#define BLO_CURVE_MIN_MESSAGE_BYTES 1024
/* What max_message_bytes 0 means: still a bound, never "unlimited". */
#define BLO_CURVE_DEFAULT_MAX_MESSAGE_BYTES (128 * 1024)

typedef struct blo_zap blo_zap_t;

/* Counters since blo_zap_start. Each ZAP request adds exactly one. */
typedef struct {
	uint64_t allowed;            /* 200: registered, live, role allowed */
	uint64_t denied_unknown_key; /* 400: no principal has this CURVE key */
	uint64_t denied_revoked;     /* 400 "revoked" */
	uint64_t denied_role;        /* 400: role not allowed on the domain */
	uint64_t denied_country;     /* 400: of another country (blo_zap_home_country) */
	uint64_t denied_domain;      /* 400: domain never allowed */
	uint64_t denied_mechanism;   /* 400: NULL, PLAIN, GSSAPI, anything not CURVE */
	uint64_t malformed;          /* 500: bad frames, version, key size */
} blo_zap_stats_t;

/* Starts the ZAP handler of zmq_ctx: binds a ROUTER socket to
 * BLO_ZAP_ENDPOINT in the calling thread, then answers every request on a
 * thread of its own. Start it before any CURVE server socket of zmq_ctx
 * binds: clients that arrive while no handler is bound are refused by
 * ZMQ_ZAP_ENFORCE_DOMAIN, but a broker should not serve that way. Until
 * blo_zap_allow_domain is called every request is refused.
 *   registry  borrowed: must outlive the handler or be replaced first with
 *             blo_zap_set_registry.
 * *out is the caller's: free with blo_zap_stop. Returns 0; BLO_EINVAL (NULL
 * registry); -EADDRINUSE when a handler is already bound on zmq_ctx; another
 * -errno from libzmq or pthreads; BLO_ENOMEM. err names the failure. */
int blo_zap_start(blo_zap_t **out, void *zmq_ctx, const blo_registry_t *registry, blo_err_t *err);

/* Allows CURVE clients on ZAP domain `domain` (1..BLO_ZAP_DOMAIN_MAX bytes,
 * compared exactly) whose principal's role is in role_mask (BLO_ZAP_ROLE
 * bits). Requests for any other domain are refused. Calling it again for the
 * same domain replaces its mask. Thread-safe; meant to be called before
 * serving. The broker allows "blonet" for console, committee, agent, admin
 * and broker, and "blonet-mesh" for broker only. Returns 0; BLO_EINVAL
 * (empty or too long domain, mask empty or naming no role); BLO_ETOOBIG
 * (BLO_ZAP_MAX_DOMAINS already allowed). */
int blo_zap_allow_domain(blo_zap_t *self, const char *domain, unsigned role_mask);

/* Refuses principals whose role is in role_mask unless they are of country
 * (ISO 3166 alpha-2), on every domain: a broker serves the agents,
 * consoles, committees and administrators of its own country, while peer
 * brokers come from anywhere. Until it is called, any country. Calling it
 * again replaces both (a mask of 0: no role is restricted). Thread-safe.
 * Returns 0; BLO_EINVAL (country not two letters, a mask bit naming no
 * role). */
int blo_zap_home_country(blo_zap_t *self, const char *country, unsigned role_mask);

/* Replaces the registry used for new handshakes (SIGHUP reload). Sessions
 * already authenticated are not affected: the broker drops those of keys now
 * revoked or removed, or no longer the principal's (rotated), or of a
 * principal whose role changed. Thread-safe with the handler thread: once it returns
 * the handler no longer touches the old registry, and the caller may destroy
 * it. registry: borrowed, as for blo_zap_start; never NULL. */
void blo_zap_set_registry(blo_zap_t *self, const blo_registry_t *registry);

/* A consistent snapshot of the counters into *out. Thread-safe. */
void blo_zap_stats(blo_zap_t *self, blo_zap_stats_t *out);

/* A refused handshake, for the audit log. */
typedef struct {
	char principal[BLO_PRINCIPAL_ID_MAX]; /* a registered key's (revoked, wrong
					       * role); "" for an unknown key */
	char key[2 * BLO_CURVE_KEY_BYTES + 1]; /* the client's CURVE key in hex;
						 * "" when the request had none */
	char address[64];                      /* the peer's address, as libzmq
						 * gives it (printable ASCII) */
	const char *reason;                    /* static text, e.g. "unknown key" */
} blo_zap_refusal_t;

/* Takes up to max of the refusals kept since the last call, oldest first,
 * into out; returns how many. The handler keeps at most 256 between calls:
 * *dropped (optional) receives how many more there were (counted, not
 * kept) since the last call that asked; a call with dropped NULL leaves
 * that count to the next one. Thread-safe. */
size_t blo_zap_take_refusals(blo_zap_t *self, blo_zap_refusal_t *out, size_t max,
			     uint64_t *dropped);

/* Stops the handler thread, unbinds and closes its socket and frees it; sets
 * *self_p to NULL. NULL or *self_p NULL: nothing. Call it before
 * zmq_ctx_term of its context (zmq_ctx_term waits for the handler's socket).
 * After it returns the context has no handler and CURVE servers set up by
 * blo_curve_server_setup refuse every new client. */
void blo_zap_stop(blo_zap_t **self_p);

/* Makes socket a CurveZMQ server of identity on ZAP domain zap_domain:
 * ZMQ_CURVE_SERVER=1, the identity's CURVE secret and public keys,
 * ZMQ_ZAP_DOMAIN, ZMQ_ZAP_ENFORCE_DOMAIN=1 (read back to be sure: a libzmq
 * without it is refused, fail-closed), ZMQ_MAXMSGSIZE from
 * max_message_bytes (+ BLO_CURVE_FRAME_OVERHEAD), BLO_CURVE_LINGER_MS and
 * BLO_CURVE_HANDSHAKE_IVL_MS. Call before zmq_bind.
 *   socket            borrowed; identity borrowed, its secret key is copied
 *                     only into libzmq.
 *   zap_domain        1..BLO_ZAP_DOMAIN_MAX bytes: an empty domain would skip
 *                     ZAP altogether.
 *   max_message_bytes the largest frame a peer may send: at least
 *                     BLO_CURVE_MIN_MESSAGE_BYTES, or 0 for
 *                     BLO_CURVE_DEFAULT_MAX_MESSAGE_BYTES.
 * Arguments are checked before the socket is touched. Returns 0;
 * BLO_EINVAL (bad domain or size); -errno from zmq_setsockopt (e.g. -EINVAL
 * when this libzmq lacks ZMQ_ZAP_ENFORCE_DOMAIN), named in err: then the
 * socket is half set up, close it. */
int blo_curve_server_setup(void *socket, const blo_identity_t *identity, const char *zap_domain,
			   int64_t max_message_bytes, blo_err_t *err);

/* Makes socket a CurveZMQ client of identity that accepts only the server
 * whose long-term public key is server_curve_public: the identity's CURVE
 * keys, ZMQ_CURVE_SERVERKEY, ZMQ_MAXMSGSIZE (for what the server sends) as
 * above (0: the default), BLO_CURVE_LINGER_MS, BLO_CURVE_HANDSHAKE_IVL_MS and
 * BLO_CURVE_CONNECT_TIMEOUT_MS. Call before zmq_connect. Arguments are checked before the socket is
 * touched. Returns 0; BLO_EINVAL (size); -errno from zmq_setsockopt, named
 * in err: then the socket is half set up, close it. */
int blo_curve_client_setup(void *socket, const blo_identity_t *identity,
			   const uint8_t server_curve_public[BLO_CURVE_KEY_BYTES],
			   int64_t max_message_bytes, blo_err_t *err);

/* The principal id the ZAP handler gave the connection msg arrived on
 * (metadata "User-Id"), or NULL when there is none: no ZAP, a message made
 * locally, or the routing-id frame a ROUTER prepends (read it from the
 * frames the peer sent). Borrowed from msg: valid until it is closed or
 * reused. Never trust an id carried inside the message instead. */
const char *blo_zap_user_id(zmq_msg_t *msg);

#endif
