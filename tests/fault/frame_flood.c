/*
 * frame_flood: the malformed-input helper of tests/fault/fault_malformed.sh.
 * It floods a broker's listening socket with what a well-behaved program
 * never sends, fast (from C, pipelined), and prints one JSON line of what it
 * sent and what it expects the broker to have counted.
 *
 *   frame_flood auth -c CONFIG -n N [--identity SECRET] [--signer CONFIG]
 *       an authenticated DEALER (CONFIG's principal, or the identity file
 *       given, e.g. a peer broker's) sends N frames: random bytes, truncated
 *       and mutated valid frames (a Publish, or a Forward with --signer),
 *       wrong frame counts, frames a client may not send. Each frame is
 *       decoded here as the broker would and classified by the counter it
 *       must raise; frames the broker would act on (Hello, Subscribe, Ping,
 *       an unaltered envelope) are never sent. Exit 0 when the closing Ping
 *       was answered.
 *   frame_flood preauth -c CONFIG -n N
 *       N unauthenticated connections: raw garbage, a ZMTP CURVE greeting
 *       then garbage, mutated CURVE HELLOs, greetings that never complete
 *       (held open until the broker closes them), and CURVE handshakes with
 *       unknown keys (libzmq; one ZAP refusal each).
 *   frame_flood oversize -c CONFIG -n K --limit BYTES
 *       K authenticated connections each send one frame over the broker's
 *       ZMQ_MAXMSGSIZE (limit+1 bytes, then 4 MiB, alternately) and must be
 *       disconnected; one frame of exactly limit bytes must not be.
 *   frame_flood relay --to tcp://H:P --port-file F --record F
 *       a TCP relay for one connection: records every chunk the client sent.
 *   frame_flood replay --to tcp://H:P --record F
 *       replays the recorded chunks on a new connection.
 */
#include "test_client.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>

#ifndef ZMQ_EVENT_HANDSHAKE_SUCCEEDED
#define ZMQ_EVENT_HANDSHAKE_SUCCEEDED 0x1000
#endif

/* What the broker must count for one frame (lib/blo_broker.c on_frame,
 * read_router, on_publish_done, on_forward_done). */
enum expect { E_SKIP = 0, E_MALFORMED, E_FORBIDDEN, E_REJECTED, E_REFUSED_PEER, E_COUNT };
static const char *const expect_name[E_COUNT] = {"skipped", "malformed", "forbidden", "rejected",
						   "refused_peer"};

/* The config (and identity) of tc_load, whose principal must be in the
 * registry. Returns 0, or 2 with the reason printed. */
static int load(tc_setup_t *st, const char *config, const char *identity_path)
{
	int rc = tc_load(st, "frame_flood", config, identity_path);

	if (rc == 0 && st->me == NULL) {
		fprintf(stderr, "frame_flood: own principal not in the registry\n");
		rc = 2;
	}
	return rc;
}

/* ---------------------------------------------------------------- auth */

typedef struct {
	uint8_t *bytes; /* the valid frame to mutate */
	size_t len;
	ProtobufCBinaryData env; /* its envelope (points into a copy we own) */
	uint8_t *env_copy;
} original_t;

/* The envelope of a Publish/Forward equals the original's, or carries the
 * same signed alert and signature with no hop added by a client: the
 * broker could accept it (or count it as a duplicate). */
static bool envelope_is_original(const original_t *o, const ProtobufCBinaryData *env)
{
	Blonet__Envelope *a = NULL, *b = NULL;
	bool same;

	if (env->len == o->env.len && memcmp(env->data, o->env.data, env->len) == 0)
		return true;
	if (blo_envelope_parse(&a, env->data, env->len, NULL) != 0)
		return false;
	if (blo_envelope_parse(&b, o->env.data, o->env.len, NULL) != 0) {
		blo_envelope_free(&a);
		return true; /* cannot tell: do not send */
	}
	same = a->alert.len == b->alert.len && memcmp(a->alert.data, b->alert.data, a->alert.len) == 0 &&
	       a->signature.len == b->signature.len &&
	       memcmp(a->signature.data, b->signature.data, a->signature.len) == 0;
	blo_envelope_free(&a);
	blo_envelope_free(&b);
	return same;
}

/* What the broker does with this one-part message from a principal of
 * this role. */
static enum expect classify(const uint8_t *buf, size_t len, bool is_broker, const original_t *orig)
{
	Blonet__Frame *f = NULL;
	enum expect e;

	if (blo_message_parse(&blonet__frame__descriptor, buf, len, BLO_FRAME_MAX_BYTES,
			      (ProtobufCMessage **)&f, NULL) != 0)
		return E_MALFORMED;
	switch (f->body_case) {
	case BLONET__FRAME__BODY__NOT_SET:
		e = E_MALFORMED;
		break;
	case BLONET__FRAME__BODY_HELLO:
	case BLONET__FRAME__BODY_SUBSCRIBE:
	case BLONET__FRAME__BODY_DELIVER_ACK:
	case BLONET__FRAME__BODY_CREDIT:
	case BLONET__FRAME__BODY_UNSUBSCRIBE:
	case BLONET__FRAME__BODY_PING:
	case BLONET__FRAME__BODY_PONG:
		e = E_SKIP; /* served, not refused: not abuse to count */
		break;
	case BLONET__FRAME__BODY_PUBLISH:
		e = envelope_is_original(orig, &f->publish->envelope) ? E_SKIP : E_REJECTED;
		break;
	case BLONET__FRAME__BODY_FORWARD:
		if (!is_broker)
			e = E_FORBIDDEN;
		else
			e = envelope_is_original(orig, &f->forward->envelope) ? E_SKIP : E_REFUSED_PEER;
		break;
	default:
		e = E_MALFORMED; /* a frame a client may not send */
		break;
	}
	blo_message_free((ProtobufCMessage **)&f);
	return e;
}

/* A Publish of a signed alert from this principal, or (broker) a Forward
 * of an alert signed by signer with this broker's hop. */
static int make_original(tc_setup_t *st, const char *signer_config, original_t *o)
{
	tc_alert_t t;
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Publish p = BLONET__PUBLISH__INIT;
	Blonet__Forward fw = BLONET__FORWARD__INIT;
	blo_client_settings_t ss;
	blo_identity_t *signer = NULL;
	const blo_principal_t *sp = st->me;
	uint8_t *env_bytes = NULL;
	size_t env_len = 0;
	blo_err_t err = {0};
	int rc = 2;

	memset(&ss, 0, sizeof(ss));
	if (signer_config != NULL) {
		if (blo_client_settings_load(&ss, signer_config, &err) != 0 ||
		    blo_identity_load(&signer, ss.identity, &err) != 0)
			goto out;
		sp = blo_registry_find(st->registry, ss.id);
		if (sp == NULL) {
			blo_err_set(&err, BLO_ENOTFOUND, "signer %s not in the registry", ss.id);
			goto out;
		}
	}
	tc_alert_init(&t, sp->id, sp->country, sp->agency, BLONET__TLP__TLP_AMBER, st->broker->country,
		      "frame_flood original: mutated copies of this must all be refused");
	t.o.site = (char *)sp->site;
	t.as.severity = BLONET__SEVERITY__SEVERE;
	/* A broker forwards what signer signed, with its own hop added. */
	if (tc_seal(&t.a, signer != NULL ? signer : st->identity,
		    signer_config != NULL ? st->identity : NULL, &env_bytes, &env_len, &err) != 0)
		goto out;
	if (signer_config != NULL) {
		fw.seq = 4242;
		fw.envelope.data = env_bytes;
		fw.envelope.len = env_len;
		f.body_case = BLONET__FRAME__BODY_FORWARD;
		f.forward = &fw;
	} else {
		p.envelope.data = env_bytes;
		p.envelope.len = env_len;
		f.body_case = BLONET__FRAME__BODY_PUBLISH;
		f.publish = &p;
	}
	f.correlation = 77;
	if (blo_message_serialize(&f.base, BLO_FRAME_MAX_BYTES, &o->bytes, &o->len, &err) != 0)
		goto out;
	o->env_copy = env_bytes;
	o->env.data = env_bytes;
	o->env.len = env_len;
	env_bytes = NULL;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "frame_flood: %s\n", err.msg);
	free(env_bytes);
	blo_identity_destroy(&signer);
	blo_client_settings_free(&ss);
	return rc;
}

/* A valid frame of a kind a client may not send (Deliver, Welcome, ...). */
static void make_server_frame(uint8_t **out, size_t *len, uint32_t which)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Deliver d = BLONET__DELIVER__INIT;
	Blonet__Welcome w = BLONET__WELCOME__INIT;
	Blonet__PublishAck pa = BLONET__PUBLISH_ACK__INIT;
	Blonet__Subscribed sb = BLONET__SUBSCRIBED__INIT;
	static uint8_t junk[64];

	randombytes_buf(junk, sizeof(junk));
	f.correlation = randombytes_random();
	switch (which % 4) {
	case 0:
		d.durable = "flood";
		d.seq = 7;
		d.envelope.data = junk;
		d.envelope.len = sizeof(junk);
		f.body_case = BLONET__FRAME__BODY_DELIVER;
		f.deliver = &d;
		break;
	case 1:
		w.protocol = 1;
		w.broker = "th-broker";
		w.principal = "nobody";
		f.body_case = BLONET__FRAME__BODY_WELCOME;
		f.welcome = &w;
		break;
	case 2:
		pa.status = BLONET__PUBLISH_STATUS__ACCEPTED;
		pa.seq = 1;
		f.body_case = BLONET__FRAME__BODY_PUBLISH_ACK;
		f.publish_ack = &pa;
		break;
	default:
		sb.durable = "flood";
		sb.next_seq = 1;
		f.body_case = BLONET__FRAME__BODY_SUBSCRIBED;
		f.subscribed = &sb;
		break;
	}
	blo_message_serialize(&f.base, BLO_FRAME_MAX_BYTES, out, len, NULL);
}

/* Mutates a copy of the original: 1-4 bytes flipped, or a byte inserted or
 * deleted, or a varint-sized length field bumped, at random places. */
static size_t mutate(const original_t *o, uint8_t *buf, size_t cap)
{
	size_t len = o->len;
	uint32_t how = randombytes_uniform(4);

	memcpy(buf, o->bytes, len);
	if (how == 0 || how == 1) {
		uint32_t flips = 1 + randombytes_uniform(4);

		for (uint32_t k = 0; k < flips; k++)
			buf[randombytes_uniform((uint32_t)len)] ^= (uint8_t)(1 + randombytes_uniform(255));
	} else if (how == 2 && len + 1 < cap) {
		size_t at = randombytes_uniform((uint32_t)len);

		memmove(buf + at + 1, buf + at, len - at);
		buf[at] = (uint8_t)randombytes_random();
		len++;
	} else {
		size_t at = randombytes_uniform((uint32_t)len);

		memmove(buf + at, buf + at + 1, len - at - 1);
		len--;
	}
	return len;
}

typedef struct {
	uint64_t replies, errors, acks_rejected, acks_other, fwd_acks_rejected, fwd_acks_other,
		pongs, undecodable;
} replies_t;

/* Reads whatever the broker sent; returns 1 if the Pong for corr came. */
static int drain(void *sock, replies_t *r, uint64_t corr)
{
	int pong = 0;

	for (;;) {
		zmq_msg_t msg;
		Blonet__Frame *f = NULL;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return pong;
		}
		r->replies++;
		if (blo_wire_decode(&msg, &f, NULL) != 0) {
			r->undecodable++;
		} else {
			switch (f->body_case) {
			case BLONET__FRAME__BODY_ERROR:
				r->errors++;
				break;
			case BLONET__FRAME__BODY_PUBLISH_ACK:
				if (f->publish_ack->status == BLONET__PUBLISH_STATUS__REJECTED)
					r->acks_rejected++;
				else
					r->acks_other++;
				break;
			case BLONET__FRAME__BODY_FORWARD_ACK:
				if (f->forward_ack->status == BLONET__PUBLISH_STATUS__REJECTED)
					r->fwd_acks_rejected++;
				else
					r->fwd_acks_other++;
				break;
			case BLONET__FRAME__BODY_PONG:
				if (f->correlation == corr) {
					pong = 1;
					r->pongs++;
				}
				break;
			default:
				break;
			}
			blo_message_free((ProtobufCMessage **)&f);
		}
		zmq_msg_close(&msg);
	}
}

/* Sends one message part, waiting (and reading replies) while the queue
 * to the broker is full. */
static void send_part(void *sock, const void *buf, size_t len, int more, replies_t *r)
{
	while (zmq_send(sock, buf, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN | ZMQ_POLLOUT};

		if (errno != EAGAIN)
			return;
		zmq_poll(&item, 1, 50);
		drain(sock, r, 0);
	}
}

static int cmd_auth(tc_setup_t *st, long n, const char *signer_config, int wait_s)
{
	void *ctx = zmq_ctx_new();
	void *sock = tc_dealer(ctx);
	bool is_broker = st->me->role == BLO_ROLE_BROKER;
	original_t orig = {0};
	uint64_t expected[E_COUNT] = {0}, by_kind[5] = {0}, regenerated = 0;
	uint64_t server_frames_n = 8;
	uint8_t *server_frames[8];
	size_t server_lens[8];
	static uint8_t buf[8192];
	replies_t r = {0};
	int hwm = 20000, pong = 0, rc = 1;
	const uint64_t corr = 0x5eed5eedULL;
	double t0, t_sent, t_pong = 0;

	if (make_original(st, is_broker ? signer_config : NULL, &orig) != 0)
		return 2;
	if (is_broker && signer_config == NULL) {
		fprintf(stderr, "frame_flood: a broker identity needs --signer\n");
		return 2;
	}
	for (uint64_t k = 0; k < server_frames_n; k++)
		make_server_frame(&server_frames[k], &server_lens[k], (uint32_t)k);
	zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	if (tc_curve(sock, st->identity, st->broker->curve_public, "frame_flood") != 0)
		return 2;
	zmq_connect(sock, st->s.broker.endpoint);
	t0 = tc_now_s();
	for (long i = 0; i < n; i++) {
		/* Kinds: 0 random bytes, 1 truncated original, 2 wrong part
		 * count, 3 mutated original, 4 a frame a client may not send. */
		int kind = (int)(i % 5);
		enum expect e = E_SKIP;
		size_t len = 0;

		if (kind == 2) {
			/* 2-4 parts: the broker counts the message once. */
			uint32_t parts = 2 + randombytes_uniform(3);

			for (uint32_t k = 0; k < parts; k++) {
				size_t pl = randombytes_uniform(200);

				randombytes_buf(buf, pl);
				send_part(sock, buf, pl, k + 1 < parts, &r);
			}
			expected[E_MALFORMED]++;
			by_kind[kind]++;
			continue;
		}
		for (int tries = 0; e == E_SKIP; tries++) {
			if (tries > 0)
				regenerated++;
			switch (kind) {
			case 0:
				len = randombytes_uniform(600);
				randombytes_buf(buf, len);
				break;
			case 1:
				len = randombytes_uniform((uint32_t)orig.len);
				memcpy(buf, orig.bytes, len);
				break;
			case 3:
				len = mutate(&orig, buf, sizeof(buf));
				break;
			default: {
				uint64_t k = randombytes_uniform((uint32_t)server_frames_n);

				len = server_lens[k];
				memcpy(buf, server_frames[k], len);
				break;
			}
			}
			e = classify(buf, len, is_broker, &orig);
		}
		send_part(sock, buf, len, 0, &r);
		expected[e]++;
		by_kind[kind]++;
		if ((i & 255) == 0)
			drain(sock, &r, corr);
	}
	t_sent = tc_now_s();
	/* The Ping goes after everything: its Pong says the broker has read
	 * it all. The Pong may be dropped if our queue was full: ask again. */
	for (double next = 0, end = tc_now_s() + wait_s; tc_now_s() < end && !pong;) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};

		if (tc_now_s() >= next) {
			tc_send_ping(sock, corr);
			next = tc_now_s() + 2.0;
		}
		zmq_poll(&item, 1, 100);
		pong = drain(sock, &r, corr);
	}
	t_pong = tc_now_s();
	/* Publishes and forwards are answered after verification: wait for
	 * their acks (those the broker could queue to us). */
	for (double end = tc_now_s() + 10; tc_now_s() < end;) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};

		if (r.acks_rejected + r.acks_other >= expected[E_REJECTED] &&
		    r.fwd_acks_rejected + r.fwd_acks_other >= expected[E_REFUSED_PEER])
			break;
		zmq_poll(&item, 1, 100);
		drain(sock, &r, corr);
	}
	rc = pong && r.acks_other == 0 && r.fwd_acks_other == 0 ? 0 : 1;
	printf("{\"flood\":\"auth\",\"principal\":\"%s\",\"sent\":%ld,\"seconds_sending\":%.3f,"
	       "\"rate_sent\":%.0f,\"seconds_to_pong\":%.3f,\"rate_processed\":%.0f,"
	       "\"kinds\":{\"random\":%llu,\"truncated\":%llu,\"wrong_parts\":%llu,\"mutated\":%llu,"
	       "\"not_for_client\":%llu},\"regenerated\":%llu,\"expect\":{",
	       st->me->id, n, t_sent - t0, (double)n / (t_sent - t0), t_pong - t0,
	       (double)n / (t_pong - t0), (unsigned long long)by_kind[0],
	       (unsigned long long)by_kind[1], (unsigned long long)by_kind[2],
	       (unsigned long long)by_kind[3], (unsigned long long)by_kind[4],
	       (unsigned long long)regenerated);
	for (int e = E_MALFORMED; e < E_COUNT; e++)
		printf("%s\"%s\":%llu", e > E_MALFORMED ? "," : "", expect_name[e],
		       (unsigned long long)expected[e]);
	printf("},\"replies\":{\"total\":%llu,\"errors\":%llu,\"acks_rejected\":%llu,"
	       "\"acks_not_rejected\":%llu,\"forward_acks_rejected\":%llu,"
	       "\"forward_acks_not_rejected\":%llu,\"undecodable\":%llu},\"pong\":%s}\n",
	       (unsigned long long)r.replies, (unsigned long long)r.errors,
	       (unsigned long long)r.acks_rejected, (unsigned long long)r.acks_other,
	       (unsigned long long)r.fwd_acks_rejected, (unsigned long long)r.fwd_acks_other,
	       (unsigned long long)r.undecodable, pong ? "true" : "false");
	for (uint64_t k = 0; k < server_frames_n; k++)
		free(server_frames[k]);
	free(orig.bytes);
	free(orig.env_copy);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return rc;
}

/* ---------------------------------------------------------------- preauth */


/* Reads what is there within ms; returns bytes read, *closed if EOF/reset. */
static ssize_t read_for(int fd, int ms, uint8_t *buf, size_t cap, bool *closed)
{
	ssize_t total = 0;
	double end = tc_now_s() + ms / 1000.0;

	*closed = false;
	while (tc_now_s() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = (int)((end - tc_now_s()) * 1000) + 1;
		ssize_t got;

		if (poll(&p, 1, left) <= 0)
			continue;
		got = read(fd, buf + (size_t)total, cap - (size_t)total);
		if (got <= 0) {
			*closed = true;
			break;
		}
		total += got;
		if ((size_t)total == cap)
			total = 0; /* keep reading; only the count matters */
	}
	return total;
}

/* Does the server's reply (after its 64-byte greeting) hold a WELCOME? */
static bool has_welcome(const uint8_t *buf, ssize_t len)
{
	return len >= 64 + 2 + 8 && memcmp(buf + 64 + 2, "\x07WELCOME", 8) == 0;
}

static int cmd_preauth(tc_setup_t *st, long n)
{
	struct sockaddr_in sa;
	uint8_t g[64], hello[202], buf[4096];
	uint64_t conns[5] = {0}, chunks = 0, connect_failed = 0, welcome_to_mutated = 0,
		 welcome_to_valid_probe = 0, held_closed_by_broker = 0, held = 0;
	uint64_t badkey_refused = 0, badkey_admitted = 0, badkey_undecided = 0;
	int held_fds[4096];
	size_t n_held = 0;
	double t0 = tc_now_s();

	if (tc_parse_endpoint(st->s.broker.endpoint, &sa) != 0) {
		fprintf(stderr, "frame_flood: cannot parse %s\n", st->s.broker.endpoint);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	tc_greeting(g);
	/* First, one well-formed HELLO: the broker must answer WELCOME, so
	 * that "no WELCOME to a mutated HELLO" means something. */
	{
		int fd = tc_tcp_connect(&sa);
		bool closed;

		if (fd >= 0) {
			tc_curve_hello(hello, st->broker->curve_public);
			if (write(fd, g, 64) == 64 && write(fd, hello, sizeof(hello)) == sizeof(hello) &&
			    has_welcome(buf, read_for(fd, 1000, buf, sizeof(buf), &closed)))
				welcome_to_valid_probe = 1;
			close(fd);
		}
	}
	for (long i = 0; i < n; i++) {
		/* 0 raw garbage, 1 greeting then garbage frames, 2 mutated
		 * HELLO, 3 a greeting never completed, 4 unknown key (libzmq,
		 * done below in batches). Mostly 0-2: they are cheap. */
		int kind = i % 20 == 19 ? 4 : i % 20 == 18 ? 3 : (int)(i % 3);
		int fd;

		if (kind == 4) {
			conns[4]++;
			continue;
		}
		fd = tc_tcp_connect(&sa);
		if (fd < 0) {
			connect_failed++;
			continue;
		}
		conns[kind]++;
		if (kind == 0) {
			size_t len = 1 + randombytes_uniform(2048);

			randombytes_buf(buf, len);
			if (write(fd, buf, len) > 0)
				chunks++;
		} else if (kind == 1) {
			if (write(fd, g, 64) == 64)
				chunks++;
			for (int k = 0; k < 8; k++) {
				size_t len = 2 + randombytes_uniform(300);

				randombytes_buf(buf, len);
				buf[0] &= 0x07; /* plausible ZMTP flags */
				if (write(fd, buf, len) <= 0)
					break;
				chunks++;
			}
		} else if (kind == 2) {
			bool closed;
			ssize_t got;

			tc_curve_hello(hello, st->broker->curve_public);
			/* Flip 1-3 bytes in what the server must authenticate:
			 * C', the nonce or the signature box. */
			for (uint32_t k = 0, flips = 1 + randombytes_uniform(3); k < flips; k++)
				hello[82 + randombytes_uniform(120)] ^=
					(uint8_t)(1 + randombytes_uniform(255));
			if (write(fd, g, 64) == 64 && write(fd, hello, sizeof(hello)) == sizeof(hello))
				chunks += 2;
			/* Sample the answer of one in 50 (waiting costs time). */
			if (i % 50 == 2) {
				got = read_for(fd, 300, buf, sizeof(buf), &closed);
				if (has_welcome(buf, got))
					welcome_to_mutated++;
			}
		} else {
			size_t part = 1 + randombytes_uniform(63);

			if (write(fd, g, part) > 0)
				chunks++;
			if (n_held < sizeof(held_fds) / sizeof(held_fds[0])) {
				held_fds[n_held++] = fd;
				held++;
				continue;
			}
		}
		close(fd);
	}
	/* Unknown keys through libzmq: each handshake reaches ZAP once (no
	 * reconnection: the socket is closed once refused). */
	{
		void *ctx = zmq_ctx_new();
		long todo = (long)conns[4], batch = 50;

		zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096);
		for (long done = 0; done < todo; done += batch) {
			long b = todo - done < batch ? todo - done : batch;
			void *socks[50], *mons[50];
			int decided[50] = {0};
			blo_identity_t *stranger = NULL;

			blo_identity_generate(&stranger, "stranger");
			for (long k = 0; k < b; k++) {
				char ep[64];
				int ivl = 600000;
				blo_err_t err = {0};

				socks[k] = tc_dealer(ctx);
				zmq_setsockopt(socks[k], ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
				blo_curve_client_setup(socks[k], stranger, st->broker->curve_public,
						       BLO_FRAME_MAX_BYTES, &err);
				/* A fresh random key per connection. */
				tc_random_curve_key(socks[k]);
				/* A name never used before: a reused one may still be
				 * bound by a closing monitor, and a reader connected
				 * to that leaves libzmq's I/O thread blocked on the
				 * new monitor's first event. */
				snprintf(ep, sizeof(ep), "inproc://ff-mon-%ld", done + k);
				mons[k] = tc_monitor(ctx, socks[k], ep,
						     ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
							     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
							     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
							     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
				zmq_connect(socks[k], st->s.broker.endpoint);
			}
			for (double end = tc_now_s() + 5; tc_now_s() < end;) {
				zmq_pollitem_t items[50];
				long open = 0;

				for (long k = 0; k < b; k++) {
					items[k] = (zmq_pollitem_t){.socket = mons[k], .events = ZMQ_POLLIN};
					open += !decided[k];
				}
				if (open == 0)
					break;
				zmq_poll(items, (int)b, 100);
				for (long k = 0; k < b; k++) {
					zmq_msg_t m;

					if (!(items[k].revents & ZMQ_POLLIN))
						continue;
					zmq_msg_init(&m);
					if (zmq_msg_recv(&m, mons[k], 0) >= 0 && zmq_msg_size(&m) >= 2) {
						uint16_t ev;

						memcpy(&ev, zmq_msg_data(&m), 2);
						if (!decided[k]) {
							decided[k] = ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ? 2 : 1;
							if (decided[k] == 2)
								badkey_admitted++;
							else
								badkey_refused++;
						}
					}
					zmq_msg_close(&m);
					/* the address frame */
					zmq_msg_init(&m);
					while (zmq_msg_recv(&m, mons[k], ZMQ_DONTWAIT) >= 0) {
						int more = 0;
						size_t ml = sizeof(more);

						zmq_getsockopt(mons[k], ZMQ_RCVMORE, &more, &ml);
						if (!more)
							break;
					}
					zmq_msg_close(&m);
				}
			}
			for (long k = 0; k < b; k++) {
				if (!decided[k])
					badkey_undecided++;
				zmq_socket_monitor(socks[k], NULL, 0);
				zmq_close(socks[k]);
				zmq_close(mons[k]);
			}
			blo_identity_destroy(&stranger);
		}
		zmq_ctx_term(ctx);
	}
	/* The held greetings: the broker must close them on its own (its
	 * handshake interval), within 15 s of the last one. */
	for (double end = tc_now_s() + 15; tc_now_s() < end && held_closed_by_broker < n_held;) {
		struct pollfd p[4096];

		for (size_t k = 0; k < n_held; k++)
			p[k] = (struct pollfd){.fd = held_fds[k], .events = POLLIN};
		if (poll(p, n_held, 200) <= 0)
			continue;
		for (size_t k = 0; k < n_held; k++) {
			if (held_fds[k] >= 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR))) {
				bool closed;

				read_for(held_fds[k], 1, buf, sizeof(buf), &closed);
				if (closed || (p[k].revents & (POLLHUP | POLLERR))) {
					close(held_fds[k]);
					held_fds[k] = -1;
					p[k].fd = -1;
					held_closed_by_broker++;
				}
			}
			if (held_fds[k] < 0)
				p[k].fd = -1;
		}
	}
	for (size_t k = 0; k < n_held; k++)
		if (held_fds[k] >= 0)
			close(held_fds[k]);
	printf("{\"flood\":\"preauth\",\"connections\":%ld,\"seconds\":%.3f,\"kinds\":{\"raw_garbage\":%llu,"
	       "\"greeting_then_garbage\":%llu,\"mutated_hello\":%llu,\"greeting_never_completed\":%llu,"
	       "\"unknown_key_handshake\":%llu},\"chunks_written\":%llu,\"connect_failed\":%llu,"
	       "\"welcome_to_valid_hello\":%llu,\"welcome_to_mutated_hello_sampled\":%llu,"
	       "\"held_closed_by_broker\":%llu,\"held\":%llu,\"unknown_key_refused\":%llu,"
	       "\"unknown_key_admitted\":%llu,\"unknown_key_undecided\":%llu}\n",
	       n, tc_now_s() - t0, (unsigned long long)conns[0], (unsigned long long)conns[1],
	       (unsigned long long)conns[2], (unsigned long long)conns[3], (unsigned long long)conns[4],
	       (unsigned long long)chunks, (unsigned long long)connect_failed,
	       (unsigned long long)welcome_to_valid_probe, (unsigned long long)welcome_to_mutated,
	       (unsigned long long)held_closed_by_broker, (unsigned long long)held,
	       (unsigned long long)badkey_refused, (unsigned long long)badkey_admitted,
	       (unsigned long long)badkey_undecided);
	return welcome_to_valid_probe == 1 && welcome_to_mutated == 0 && badkey_admitted == 0 &&
			       held_closed_by_broker == held
		       ? 0
		       : 1;
}

/* ---------------------------------------------------------------- oversize */

/* Waits for one of the events in mask on the monitor; returns it or 0. */
static int wait_event(void *mon, int mask, int ms)
{
	for (double end = tc_now_s() + ms / 1000.0; tc_now_s() < end;) {
		zmq_pollitem_t item = {.socket = mon, .events = ZMQ_POLLIN};
		zmq_msg_t m;
		int ev = 0;

		if (zmq_poll(&item, 1, 50) <= 0)
			continue;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, 0) >= 0 && zmq_msg_size(&m) >= 2) {
			uint16_t e;

			memcpy(&e, zmq_msg_data(&m), 2);
			ev = e;
		}
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		zmq_msg_recv(&m, mon, 0); /* address */
		zmq_msg_close(&m);
		if (ev & mask)
			return ev;
	}
	return 0;
}

static int cmd_oversize(tc_setup_t *st, long k, long limit)
{
	void *ctx = zmq_ctx_new();
	uint64_t disconnected = 0, kept = 0, at_limit_disconnected = 0;
	int rc;

	for (long i = 0; i <= k; i++) {
		/* i == k: a frame of exactly the limit, which must pass. */
		void *sock = tc_dealer(ctx), *mon;
		size_t size = i == k ? (size_t)limit : i % 2 == 0 ? (size_t)limit + 1 : 4u << 20;
		uint8_t *big = malloc(size);
		blo_err_t err = {0};
		int ivl = 600000, ev;
		char ep[64];

		randombytes_buf(big, size);
		zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
		/* Our own bound is for what we receive; the broker's is tested. */
		blo_curve_client_setup(sock, st->identity, st->broker->curve_public, 64 << 20, &err);
		snprintf(ep, sizeof(ep), "inproc://ff-over-%ld", i);
		mon = tc_monitor(ctx, sock, ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED);
		zmq_connect(sock, st->s.broker.endpoint);
		if (wait_event(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 5000) == 0) {
			fprintf(stderr, "frame_flood: oversize: no handshake\n");
			free(big);
			zmq_socket_monitor(sock, NULL, 0);
			zmq_close(sock);
			zmq_close(mon);
			continue;
		}
		zmq_send(sock, big, size, 0);
		free(big);
		ev = wait_event(mon, ZMQ_EVENT_DISCONNECTED, 3000);
		if (i == k)
			at_limit_disconnected = ev != 0;
		else if (ev != 0)
			disconnected++;
		else
			kept++;
		zmq_socket_monitor(sock, NULL, 0);
		zmq_close(sock);
		zmq_close(mon);
	}
	zmq_ctx_term(ctx);
	rc = disconnected == (uint64_t)k && !at_limit_disconnected ? 0 : 1;
	printf("{\"flood\":\"oversize\",\"limit\":%ld,\"sent\":%ld,\"disconnected\":%llu,"
	       "\"not_disconnected\":%llu,\"at_limit_disconnected\":%s}\n",
	       limit, k, (unsigned long long)disconnected, (unsigned long long)kept,
	       at_limit_disconnected ? "true" : "false");
	return rc;
}

/* ---------------------------------------------------------------- relay */

static volatile sig_atomic_t stop_flag;
static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int cmd_relay(const char *to, const char *port_file, const char *record)
{
	struct sockaddr_in target, me = {.sin_family = AF_INET};
	socklen_t mlen = sizeof(me);
	int lfd, cfd = -1, sfd = -1, one = 1;
	FILE *rec, *pf;
	uint8_t buf[65536];
	uint64_t c2s_chunks = 0, c2s_bytes = 0, s2c_bytes = 0;

	if (tc_parse_endpoint(to, &target) != 0)
		return 2;
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	me.sin_addr = target.sin_addr;
	if (bind(lfd, (struct sockaddr *)&me, sizeof(me)) != 0 || listen(lfd, 4) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&me, &mlen) != 0) {
		perror("frame_flood: relay");
		return 2;
	}
	rec = fopen(record, "wb");
	pf = fopen(port_file, "w");
	if (rec == NULL || pf == NULL)
		return 2;
	fprintf(pf, "%d\n", ntohs(me.sin_port));
	fclose(pf);
	while (!stop_flag && cfd < 0) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};

		if (poll(&p, 1, 200) > 0)
			cfd = accept(lfd, NULL, NULL);
	}
	if (cfd < 0)
		return 1;
	sfd = tc_tcp_connect(&target);
	if (sfd < 0)
		return 1;
	while (!stop_flag) {
		struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		ssize_t got;

		if (poll(p, 2, 200) <= 0)
			continue;
		if (p[0].revents) {
			got = read(cfd, buf, sizeof(buf));
			if (got <= 0)
				break;
			uint32_t l = (uint32_t)got;

			fwrite(&l, sizeof(l), 1, rec);
			fwrite(buf, 1, (size_t)got, rec);
			fflush(rec);
			c2s_chunks++;
			c2s_bytes += (uint64_t)got;
			if (write(sfd, buf, (size_t)got) != got)
				break;
		}
		if (p[1].revents) {
			got = read(sfd, buf, sizeof(buf));
			if (got <= 0)
				break;
			s2c_bytes += (uint64_t)got;
			if (write(cfd, buf, (size_t)got) != got)
				break;
		}
	}
	fclose(rec);
	close(cfd);
	close(sfd);
	close(lfd);
	printf("{\"flood\":\"relay\",\"client_chunks\":%llu,\"client_bytes\":%llu,\"server_bytes\":%llu}\n",
	       (unsigned long long)c2s_chunks, (unsigned long long)c2s_bytes,
	       (unsigned long long)s2c_bytes);
	return 0;
}

static int cmd_replay(const char *to, const char *record)
{
	struct sockaddr_in target;
	FILE *rec = fopen(record, "rb");
	uint8_t buf[65536], in[65536];
	uint32_t l;
	uint64_t chunks = 0, written = 0, got_total = 0;
	bool closed = false;
	int fd;

	if (rec == NULL || tc_parse_endpoint(to, &target) != 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	fd = tc_tcp_connect(&target);
	if (fd < 0)
		return 2;
	while (!closed && fread(&l, sizeof(l), 1, rec) == 1 && l <= sizeof(buf) &&
	       fread(buf, 1, l, rec) == l) {
		if (write(fd, buf, l) != (ssize_t)l)
			break;
		chunks++;
		written += l;
		/* As the client paced it: let the server answer each step. */
		got_total += (uint64_t)read_for(fd, 150, in, sizeof(in), &closed);
	}
	if (!closed)
		got_total += (uint64_t)read_for(fd, 2000, in, sizeof(in), &closed);
	close(fd);
	fclose(rec);
	printf("{\"flood\":\"replay\",\"chunks_replayed\":%llu,\"bytes_replayed\":%llu,"
	       "\"bytes_from_server\":%llu,\"closed_by_server\":%s}\n",
	       (unsigned long long)chunks, (unsigned long long)written,
	       (unsigned long long)got_total, closed ? "true" : "false");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},   {"identity", required_argument, NULL, 'i'},
		{"signer", required_argument, NULL, 's'},   {"limit", required_argument, NULL, 'l'},
		{"to", required_argument, NULL, 't'},       {"port-file", required_argument, NULL, 'p'},
		{"record", required_argument, NULL, 'r'},   {"wait", required_argument, NULL, 'w'},
		{0},
	};
	const char *config = NULL, *identity = NULL, *signer = NULL, *to = NULL, *port_file = NULL,
		   *record = NULL, *cmd;
	long n = 1000, limit = BLO_CURVE_DEFAULT_MAX_MESSAGE_BYTES;
	int opt, rc, wait_s = 120;
	tc_setup_t st = {0};

	while ((opt = getopt_long(argc, argv, "c:i:s:l:t:p:r:w:n:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'i': identity = optarg; break;
		case 's': signer = optarg; break;
		case 'l': limit = atol(optarg); break;
		case 't': to = optarg; break;
		case 'p': port_file = optarg; break;
		case 'r': record = optarg; break;
		case 'w': wait_s = atoi(optarg); break;
		case 'n': n = atol(optarg); break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: frame_flood auth|preauth|oversize|relay|replay ...\n");
		return 2;
	}
	cmd = argv[optind];
	if (sodium_init() < 0)
		return 2;
	if (strcmp(cmd, "relay") == 0)
		return to && port_file && record ? cmd_relay(to, port_file, record) : 2;
	if (strcmp(cmd, "replay") == 0)
		return to && record ? cmd_replay(to, record) : 2;
	if (config == NULL)
		return 2;
	if ((rc = load(&st, config, identity)) != 0)
		return rc;
	if (strcmp(cmd, "auth") == 0)
		rc = cmd_auth(&st, n, signer, wait_s);
	else if (strcmp(cmd, "preauth") == 0)
		rc = cmd_preauth(&st, n);
	else if (strcmp(cmd, "oversize") == 0)
		rc = cmd_oversize(&st, n, limit);
	else
		rc = 2;
	tc_unload(&st);
	return rc;
}
