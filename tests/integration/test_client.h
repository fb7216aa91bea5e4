/*
 * The client plumbing shared by the test programs that talk to a broker the
 * way no real client would (tests/integration/probe.c, the tests/fault
 * helpers): loading a client config and its identity, CURVE DEALERs,
 * hand-made ZMTP bytes, alerts, pings and the JSON lines they print. Static
 * inline, so that each program stays one source file and need not use all.
 */
#ifndef BLO_TEST_CLIENT_H
#define BLO_TEST_CLIENT_H

#include "blonet.h"
#include "blo_client.h"
#include "blo_envelope.h"
#include "blo_wire.h"
#include "blo_zap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* A client config loaded: its settings, identity and registry. */
typedef struct {
	blo_client_settings_t s;
	blo_identity_t *identity;
	blo_registry_t *registry;
	const blo_principal_t *broker; /* points into registry */
	const blo_principal_t *me;     /* the identity's principal, or NULL */
} tc_setup_t;

/* Loads config into st, with the identity at identity_path (NULL: the
 * config's own). Prints why not, prefixed "prog: ". Returns 0, or 2 (the
 * programs' exit code for a bad setup). Release with tc_unload, also on
 * failure. */
static inline int tc_load(tc_setup_t *st, const char *prog, const char *config, const char *identity_path)
{
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	blo_err_t err = {0};

	if (blo_client_settings_load(&st->s, config, &err) != 0 ||
	    blo_settings_authority(st->s.authority, authority, &err) != 0 ||
	    blo_identity_load(&st->identity, identity_path != NULL ? identity_path : st->s.identity,
			      &err) != 0 ||
	    blo_registry_load(&st->registry, st->s.registry, authority, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 2;
	}
	st->broker = blo_registry_find(st->registry, st->s.broker.id);
	if (st->broker == NULL) {
		fprintf(stderr, "%s: broker %s not in registry\n", prog, st->s.broker.id);
		return 2;
	}
	st->me = blo_registry_find(st->registry, blo_identity_id(st->identity));
	return 0;
}

static inline void tc_unload(tc_setup_t *st)
{
	blo_identity_destroy(&st->identity);
	blo_registry_destroy(&st->registry);
	blo_client_settings_free(&st->s);
}

/* Seconds on the monotonic clock. */
static inline double tc_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- ZeroMQ */

/* CURVE client keys on sock: identity's, to the server key. Prints why
 * not, prefixed "prog: ". Returns 0 or 2. */
static inline int tc_curve(void *sock, const blo_identity_t *identity, const uint8_t *server_public,
		    const char *prog)
{
	blo_err_t err = {0};

	if (blo_curve_client_setup(sock, identity, server_public, BLO_FRAME_MAX_BYTES, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 2;
	}
	return 0;
}

/* A DEALER of ctx that never lingers on close. */
static inline void *tc_dealer(void *ctx)
{
	void *sock = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0;

	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	return sock;
}

/* Replaces the CURVE client key pair of sock by a fresh random one: a key
 * no registry knows. */
static inline void tc_random_curve_key(void *sock)
{
	uint8_t pub[32], sec[32];

	crypto_box_keypair(pub, sec);
	zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 32);
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 32);
	sodium_memzero(sec, sizeof(sec));
}

/* Monitors sock's events in mask at the inproc endpoint ep (a name never
 * used before in ctx: a reused one may still be bound by a closing
 * monitor). Returns the PAIR that reads them; caller closes it. */
static inline void *tc_monitor(void *ctx, void *sock, const char *ep, int mask)
{
	void *mon;
	int zero = 0;

	zmq_socket_monitor(sock, ep, mask);
	mon = zmq_socket(ctx, ZMQ_PAIR);
	zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_connect(mon, ep);
	return mon;
}

/* Sends a Ping with this correlation. */
static inline void tc_send_ping(void *sock, uint64_t corr)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Ping p = BLONET__PING__INIT;

	p.sent_ms = blo_now_ms();
	f.correlation = corr;
	f.body_case = BLONET__FRAME__BODY_PING;
	f.ping = &p;
	blo_wire_send(sock, &f, 0);
}

/* ---------------------------------------------------------------- raw TCP */

/* tcp://A.B.C.D:P -> sockaddr. Returns 0 or -1. */
static inline int tc_parse_endpoint(const char *ep, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(ep, ':');

	if (strncmp(ep, "tcp://", 6) != 0 || colon == NULL || (size_t)(colon - ep - 6) >= sizeof(host))
		return -1;
	memcpy(host, ep + 6, (size_t)(colon - ep - 6));
	host[colon - ep - 6] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* A connected TCP socket without Nagle's delay, or -1. Caller closes it. */
static inline int tc_tcp_connect(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ZMTP 3.0 greeting of a CURVE client. */
static inline void tc_greeting(uint8_t g[64])
{
	memset(g, 0, 64);
	g[0] = 0xff;
	g[9] = 0x7f;
	g[10] = 3;
	g[11] = 0;
	memcpy(g + 12, "CURVE", 5);
	g[32] = 0; /* as-server */
}

/* A well-formed CURVE HELLO command (RFC 26) to the server key, from a
 * fresh short-term key: 2 bytes of frame header and 200 of body. */
static inline void tc_curve_hello(uint8_t out[202], const uint8_t server_public[32])
{
	uint8_t cpub[32], csec[32], nonce[24], zeros[64] = {0}, box[80];
	uint64_t short_nonce = 1;

	crypto_box_keypair(cpub, csec);
	out[0] = 0x04; /* command, short */
	out[1] = 200;
	memcpy(out + 2, "\x05HELLO", 6);
	out[8] = 1;
	out[9] = 0;
	memset(out + 10, 0, 72);
	memcpy(out + 82, cpub, 32);
	memcpy(nonce, "CurveZMQHELLO---", 16);
	for (int i = 0; i < 8; i++)
		nonce[16 + i] = (uint8_t)(short_nonce >> (56 - 8 * i));
	memcpy(out + 114, nonce + 16, 8);
	if (crypto_box_easy(box, zeros, sizeof(zeros), nonce, server_public, csec) != 0)
		memset(box, 0, sizeof(box)); /* a server key libsodium refuses: a bad HELLO */
	memcpy(out + 122, box, 80);
	sodium_memzero(csec, sizeof(csec));
}

/* ---------------------------------------------------------------- alerts */

/* A test alert and the parts it points to: do not copy once filled. */
typedef struct {
	Blonet__Alert a;
	Blonet__Origin o;
	Blonet__Assessment as;
	Blonet__Handling h;
	uint8_t id[BLO_ID_BYTES];
	char *releasable[1];
} tc_alert_t;

/* Fills t with a new TEST alert about drugs from this origin (strings
 * borrowed), of this TLP, releasable to one country or (NULL) none. */
static inline void tc_alert_init(tc_alert_t *t, const char *principal, const char *country,
			  Blonet__AgencyKind agency, Blonet__Tlp tlp, const char *releasable_to,
			  const char *headline)
{
	*t = (tc_alert_t){.a = BLONET__ALERT__INIT,
			  .o = BLONET__ORIGIN__INIT,
			  .as = BLONET__ASSESSMENT__INIT,
			  .h = BLONET__HANDLING__INIT};
	blo_alert_random_id(t->id);
	t->a.id.data = t->id;
	t->a.id.len = sizeof(t->id);
	t->a.type = BLONET__MESSAGE_TYPE__ALERT;
	t->a.status = BLONET__STATUS__TEST;
	t->a.sent_ms = blo_now_ms();
	t->o.principal = (char *)principal;
	t->o.country = (char *)country;
	t->o.agency = agency;
	t->a.origin = &t->o;
	t->as.category = BLONET__CATEGORY__DRUGS;
	t->a.assessment = &t->as;
	t->h.tlp = tlp;
	if (releasable_to != NULL) {
		t->releasable[0] = (char *)releasable_to;
		t->h.releasable_to = t->releasable;
		t->h.n_releasable_to = 1;
	}
	t->a.handling = &t->h;
	t->a.headline = (char *)headline;
}

/* The envelope of alert a signed by signer, with a hop by the broker
 * identity hop added (NULL: none), as a broker forwards it. *out: caller
 * frees. Returns 0 or a BLO_E* code (err, may be NULL, says why). */
static inline int tc_seal(const Blonet__Alert *a, const blo_identity_t *signer, const blo_identity_t *hop,
		   uint8_t **out, size_t *out_len, blo_err_t *err)
{
	uint8_t *bytes = NULL, *sealed = NULL;
	size_t len = 0, sealed_len = 0;
	Blonet__Envelope *env = NULL;
	int rc;

	rc = blo_message_serialize(&a->base, BLO_ALERT_MAX_BYTES, &bytes, &len, err);
	if (rc == 0)
		rc = blo_envelope_seal(signer, bytes, len, &sealed, &sealed_len, err);
	if (rc != 0 || hop == NULL)
		goto out;
	if ((rc = blo_envelope_parse(&env, sealed, sealed_len, err)) != 0 ||
	    (rc = blo_envelope_add_hop(env, hop, blo_now_ms(), err)) != 0)
		goto out;
	free(sealed);
	sealed = NULL;
	rc = blo_message_serialize(&env->base, BLO_ENVELOPE_MAX_BYTES, &sealed, &sealed_len, err);
out:
	if (rc == 0) {
		*out = sealed;
		*out_len = sealed_len;
		sealed = NULL;
	}
	free(bytes);
	free(sealed);
	blo_envelope_free(&env);
	return rc;
}

/* ---------------------------------------------------------------- JSON */

/* Prints a PublishAck or ForwardAck as the probe's JSON line, with
 * "mode" after "probe" unless mode is NULL. */
static inline void tc_print_ack(const char *probe, const char *mode, int status, int reason,
			 const char *text)
{
	printf("{\"probe\":\"%s\"", probe);
	if (mode != NULL)
		printf(",\"mode\":\"%s\"", mode);
	printf(",\"status\":\"%s\",\"reason\":\"%s\",\"text\":\"%s\"}\n",
	       blo_enum_name(&blonet__publish_status__descriptor, status),
	       blo_enum_name(&blonet__reject_reason__descriptor, reason), text);
}

#endif
