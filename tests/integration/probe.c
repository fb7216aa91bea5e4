/*
 * blonet-probe: a misbehaving client for the integration tests. It does what
 * a well-behaved program never does (unknown keys, no CURVE, the wrong
 * server key, forged origins, malformed frames) against a real broker, and
 * prints one JSON line saying what the broker answered.
 *
 *   blonet-probe refused -c CONFIG --mode unknown|nocurve|plain|wrongkey|self
 *       exit 0 if the broker never answered within --wait ms (default 1500)
 *   blonet-probe forge -c CONFIG --origin ID [-n N]
 *       publishes N alerts (default 1) claiming origin ID, signed by
 *       CONFIG's principal; prints each PublishAck; exit 0 if all N were
 *       REJECTED with NOT_ORIGIN
 *   blonet-probe flood -c CONFIG [-n N]
 *       signs N alerts (default 10,000) of CONFIG's principal, says so on
 *       stderr ("sending in 1 s") and a second later publishes them at
 *       once, not waiting for acks, then reads the acks until every one is final
 *       (the client sends again what is refused for now); prints how many
 *       acks said ACCEPTED and how many OVERLOADED; exit 0 if all N were
 *       accepted in the end
 *   blonet-probe frames -c CONFIG -n N
 *       sends N malformed messages (random bytes, truncated frames, wrong
 *       part counts, frames a client may not send, batches that are empty,
 *       truncated or of items a client may not send), then a Ping; exit 0
 *       if the Pong comes back
 *   blonet-probe batch -c CONFIG -n N [--mode nobatch|toomany]
 *       says Hello offering batches (nobatch: not), then sends one Batch of
 *       N signed alerts of CONFIG's principal, an undecodable envelope and
 *       an item a client may not send, then the same N again. Prints what
 *       came back; exit 0 if the N were ACCEPTED, then DUPLICATE, the
 *       envelope REJECTED MALFORMED, the item refused with an Error of its
 *       correlation, and the acks came in Batch frames exactly when offered.
 *       toomany: sends only the N alerts, in one Batch; exit 0 if the batch
 *       is refused whole (one Error MALFORMED, no ack)
 *   blonet-probe subs -c CONFIG --durable PREFIX [-n N] [--mode M]
 *       subscribes (start now, credit 1) under the durable names PREFIX-1
 *       to PREFIX-N, one after the other, and prints what each got
 *       (subscribed, too_many, error) and the counts. M: forget (each is
 *       ended with Unsubscribe forget once subscribed), unsub (with a plain
 *       Unsubscribe), drop (only Unsubscribe forget, no Subscribe), bigfilter (with a
 *       filter of FILTER_LIST_MAX + 1 sites), filter64 (FILTER_LIST_MAX
 *       sites), hog (each with all the credit it may have, from the
 *       earliest record; then counts the deliveries for 3 s more,
 *       acknowledging none); none or any other: plain. Exit 0 once welcomed
 *   blonet-probe forward -c BROKER_CONFIG --to PEER --signer CONFIG --mode badsig|relay
 *       acts as the broker of BROKER_CONFIG and forwards to its peer PEER an
 *       alert originated by the principal of the client CONFIG: badsig signs
 *       it with a stranger's key; relay marks it releasable to PEER's country
 *       only, so the sending broker had no right to hold or relay it. Prints
 *       the ForwardAck; exit 0 if it was REJECTED
 *   blonet-probe parts -c CONFIG -n N [--wait MS] [--mode big]
 *       connects as CONFIG's principal with a CurveZMQ client of its own
 *       (libzmq sends nothing of a message before its last part), says
 *       Hello, and sends N one-byte parts (big: 200-byte parts, which libzmq allocates one
 *       by one) of a message that never ends: the broker's libzmq
 *       holds every one until the last arrives. Stops early when the broker
 *       ends the connection (or after 60 s of sending), says how many it
 *       sent on stderr, waits MS ms
 *       (default 1500), then prints how many it sent, whether the broker
 *       cut it off, and whether a Ping on a new connection is answered;
 *       exit 0 if it is
 *   blonet-probe garbage -c CONFIG -n N
 *       opens N raw TCP connections to the broker and writes random bytes
 *       (no ZMTP, no CURVE); exit 0 when done
 *   blonet-probe peer-full -c BROKER_CONFIG --wait MS
 *       stands in for the broker of BROKER_CONFIG (its keys, its first
 *       listen endpoint) while that broker is stopped, and answers every
 *       Forward REJECTED JOURNAL_FULL, as a broker with a full journal
 *       does, for MS ms; prints how many forwards it refused; exit 0 if at
 *       least one. --mode errors: also sends 50 Error frames with each
 *       Pong (a hostile peer); exit 0 if it refused or sent any. --mode
 *       dup: answers every Forward DUPLICATE instead, as a peer that holds
 *       the alert already does; exit 0 if it answered any. --mode nomem:
 *       a broker short of memory for a moment, to its clients: answers the
 *       first Hello and the first Publish with Error INTERNAL (a frame it
 *       could not read), then welcomes and accepts; prints the Hellos, the
 *       Publishes and whether the Hello after the Error still offered
 *       batches; exit 0 if the client said Hello again, still offering,
 *       and sent the refused publish again
 *   blonet-probe rid -c CONFIG --rid TEXT [--durable NAME] [--wait MS]
 *       connects with the routing id TEXT (a peer may choose its own),
 *       says Hello, subscribes as NAME when given, then counts the
 *       deliveries that reach it within --wait ms without acknowledging
 *       them, and leaves. Says "welcomed" on stderr as soon as it is (and
 *       why, when the subscription is refused), and prints the count;
 *       exit 0 if welcomed (and subscribed)
 *   blonet-probe sessions -c CONFIG -n N [--wait MS] [--hold MS]
 *       opens N connections of CONFIG's principal at once, each a session
 *       once it says Hello, waits up to --wait ms (default 1500) for what
 *       each is answered, then sends a Ping on each refused one (refused
 *       again, not served). Prints how many were welcomed and how many
 *       refused TOO_MANY, with the refusal's text, then holds them all
 *       open --hold ms (default 0: none), or until killed; exit 0 when
 *       every one was answered and every Ping refused
 */
#include "test_client.h"
#include "blo_broker_int.h" /* FILTER_LIST_MAX */

#include <getopt.h>
#include <inttypes.h>

#define PROG "blonet-probe"

static void send_hello(void *sock)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Hello h = BLONET__HELLO__INIT;

	h.protocol = 1;
	h.software = "blonet-probe";
	f.body_case = BLONET__FRAME__BODY_HELLO;
	f.hello = &h;
	blo_wire_send(sock, &f, ZMQ_DONTWAIT);
}

static int cmd_refused(tc_setup_t *st, const char *mode, int wait_ms)
{
	void *ctx = zmq_ctx_new();
	void *sock = tc_dealer(ctx);
	blo_identity_t *stranger = NULL;
	int answered = 0;
	uint8_t wrong[BLO_CURVE_KEY_BYTES];

	if (strcmp(mode, "unknown") == 0) {
		blo_identity_generate(&stranger, "stranger");
		if (tc_curve(sock, stranger, st->broker->curve_public, PROG) != 0)
			return 2;
	} else if (strcmp(mode, "self") == 0) {
		/* The config's own keys: refused only if the broker revoked them. */
		if (tc_curve(sock, st->identity, st->broker->curve_public, PROG) != 0)
			return 2;
	} else if (strcmp(mode, "wrongkey") == 0) {
		randombytes_buf(wrong, sizeof(wrong));
		if (tc_curve(sock, st->identity, wrong, PROG) != 0)
			return 2;
	} else if (strcmp(mode, "plain") == 0) {
		zmq_setsockopt(sock, ZMQ_PLAIN_USERNAME, st->s.id, strlen(st->s.id));
		zmq_setsockopt(sock, ZMQ_PLAIN_PASSWORD, "x", 1);
	} else if (strcmp(mode, "nocurve") != 0) {
		fprintf(stderr, PROG ": unknown mode %s\n", mode);
		return 2;
	}
	zmq_connect(sock, st->s.broker.endpoint);
	for (int64_t end = blo_now_ms() + wait_ms; blo_now_ms() < end;) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};

		send_hello(sock);
		if (zmq_poll(&item, 1, 100) > 0) {
			answered = 1;
			break;
		}
	}
	{
		/* The key it offered, for a test to find in the audit log. */
		char key[2 * BLO_CURVE_KEY_BYTES + 1] = "";
		const blo_identity_t *offered = stranger != NULL ? stranger : st->identity;

		if (strcmp(mode, "nocurve") != 0 && strcmp(mode, "plain") != 0)
			blo_hex_encode(key, sizeof(key), blo_identity_public(offered)->curve_public,
				       BLO_CURVE_KEY_BYTES);
		printf("{\"probe\":\"refused\",\"mode\":\"%s\",\"answered\":%s,\"key\":\"%s\"}\n",
		       mode, answered ? "true" : "false", key);
	}
	zmq_close(sock);
	zmq_ctx_term(ctx);
	blo_identity_destroy(&stranger);
	return answered ? 1 : 0;
}

static int cmd_forge(const char *config, const char *origin, long n)
{
	blo_client_t *c = NULL;
	blo_err_t err = {0};
	const blo_principal_t *p;
	long acked = 0, refused = 0;

	if (blo_client_open_config(&c, config, PROG, &err) != 0 ||
	    blo_client_wait_ready(c, 5000, &err) != 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		blo_client_close(&c);
		return 2;
	}
	p = blo_registry_find(blo_client_registry(c), origin);
	for (long i = 0; i < n; i++) {
		tc_alert_t t; /* a new alert id each time */

		tc_alert_init(&t, origin, p != NULL ? p->country : "TH", BLONET__AGENCY_KIND__CUSTOMS,
			      BLONET__TLP__TLP_GREEN, NULL, "forged origin probe");
		if (blo_client_publish_alert(c, &t.a, NULL, &err) != 0) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			blo_client_close(&c);
			return 2;
		}
	}
	for (int64_t end = blo_now_ms() + 5000 + 100 * n; acked < n && blo_now_ms() < end;) {
		Blonet__Frame *f = NULL;

		if (blo_client_next(c, 200, &f, &err) != 0)
			break;
		if (f != NULL && f->body_case == BLONET__FRAME__BODY_PUBLISH_ACK) {
			tc_print_ack("forge", NULL, f->publish_ack->status, f->publish_ack->reason,
				     f->publish_ack->text);
			acked++;
			if (f->publish_ack->status == BLONET__PUBLISH_STATUS__REJECTED &&
			    f->publish_ack->reason == BLONET__REJECT_REASON__NOT_ORIGIN)
				refused++;
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
	blo_client_close(&c);
	return refused == n ? 0 : 1;
}

/* Publishes n alerts of config's principal without waiting for acks, then
 * reads acks until each publish has its final one (the client sends again
 * what is refused for now) or 60 s pass. */
static int cmd_flood(const char *config, long n)
{
	blo_client_t *c = NULL;
	blo_err_t err = {0};
	const blo_principal_t *me;
	long accepted = 0, overloaded = 0, other = 0;
	uint8_t **envs = NULL;
	size_t *lens = NULL;

	if (blo_client_open_config(&c, config, PROG, &err) != 0 ||
	    blo_client_wait_ready(c, 5000, &err) != 0 ||
	    (me = blo_registry_find(blo_client_registry(c), blo_client_principal(c))) == NULL) {
		fprintf(stderr, PROG ": %s\n", err.msg[0] ? err.msg : "not in the registry");
		blo_client_close(&c);
		return 2;
	}
	/* Signed first, so that they leave as fast as the client can send. */
	envs = calloc((size_t)n, sizeof(*envs));
	lens = calloc((size_t)n, sizeof(*lens));
	for (long i = 0; envs != NULL && lens != NULL && i < n; i++) {
		tc_alert_t t;
		uint8_t *bytes = NULL;
		size_t len = 0;

		tc_alert_init(&t, me->id, me->country, me->agency, BLONET__TLP__TLP_GREEN, NULL,
			      "flood probe");
		t.o.site = (char *)me->site;
		if (blo_message_serialize(&t.a.base, BLO_ALERT_MAX_BYTES, &bytes, &len, &err) != 0 ||
		    blo_envelope_seal(blo_client_identity(c), bytes, len, &envs[i], &lens[i], &err) != 0) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			free(bytes);
			n = i;
			break;
		}
		free(bytes);
	}
	/* A test may stop the broker now, so that all of them wait for it. */
	fprintf(stderr, PROG ": flood: %ld signed, sending in 1 s\n", n);
	for (int64_t end = blo_now_ms() + 1000; blo_now_ms() < end;)
		usleep(10000);
	for (long i = 0; envs != NULL && lens != NULL && i < n; i++) {
		if (blo_client_publish(c, envs[i], lens[i], NULL, &err) != 0) {
			fprintf(stderr, PROG ": %s\n", err.msg);
			break;
		}
	}
	for (long i = 0; envs != NULL && i < n; i++)
		free(envs[i]);
	free(envs);
	free(lens);
	for (int64_t end = blo_now_ms() + 60000; blo_client_pending(c) > 0 && blo_now_ms() < end;) {
		Blonet__Frame *f = NULL;

		if (blo_client_next(c, 200, &f, &err) != 0)
			break;
		if (f != NULL && f->body_case == BLONET__FRAME__BODY_PUBLISH_ACK) {
			const Blonet__PublishAck *a = f->publish_ack;

			if (a->status == BLONET__PUBLISH_STATUS__ACCEPTED)
				accepted++;
			else if (a->reason == BLONET__REJECT_REASON__OVERLOADED)
				overloaded++;
			else
				other++;
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
	printf("{\"probe\":\"flood\",\"sent\":%ld,\"accepted\":%ld,\"overloaded\":%ld,"
	       "\"other\":%ld,\"pending\":%zu}\n",
	       n, accepted, overloaded, other, blo_client_pending(c));
	blo_client_close(&c);
	return accepted == n ? 0 : 1;
}

/* Sends a Ping of correlation corr and waits up to 30 s for its Pong. */
static int ping_answered(void *sock, uint64_t corr)
{
	tc_send_ping(sock, corr);
	for (int64_t end = blo_now_ms() + 30000; blo_now_ms() < end;) {
		zmq_msg_t msg;
		Blonet__Frame *f = NULL;
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
		int pong = 0;

		if (zmq_poll(&item, 1, 200) <= 0)
			continue;
		zmq_msg_init(&msg);
		while (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) >= 0) {
			if (blo_wire_decode(&msg, &f, NULL) == 0) {
				if (f->body_case == BLONET__FRAME__BODY_PONG && f->correlation == corr)
					pong = 1;
				blo_message_free((ProtobufCMessage **)&f);
			}
		}
		zmq_msg_close(&msg);
		if (pong)
			return 1;
	}
	return 0;
}

static int cmd_frames(tc_setup_t *st, long n)
{
	void *ctx = zmq_ctx_new();
	void *sock = tc_dealer(ctx);
	uint8_t buf[512];
	uint8_t *valid = NULL, *batch = NULL;
	size_t valid_len = 0, batch_len = 0;
	int hwm = 0, pong = 0;
	long sent = 0;

	zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	if (tc_curve(sock, st->identity, st->broker->curve_public, PROG) != 0)
		return 2;
	zmq_connect(sock, st->s.broker.endpoint);
	{
		/* A valid frame to truncate and to send where it is not allowed. */
		Blonet__Frame f = BLONET__FRAME__INIT;
		Blonet__Deliver d = BLONET__DELIVER__INIT;

		d.durable = "probe";
		d.seq = 7;
		d.envelope.data = buf;
		d.envelope.len = 100;
		f.body_case = BLONET__FRAME__BODY_DELIVER;
		f.deliver = &d;
		blo_message_serialize(&f.base, 4096, &valid, &valid_len, NULL);
	}
	{
		/* A Batch of items a client may not send (an ack with a text,
		 * an item without a body), to send whole and truncated. No
		 * publish: a refused publish is the writer's to audit, on a
		 * budget of its own, and this flood is the I/O thread's. */
		Blonet__Frame f = BLONET__FRAME__INIT;
		Blonet__Batch b = BLONET__BATCH__INIT;
		Blonet__BatchItem items[2] = {BLONET__BATCH_ITEM__INIT, BLONET__BATCH_ITEM__INIT};
		Blonet__BatchItem *ptrs[2] = {&items[0], &items[1]};
		Blonet__PublishAck ack = BLONET__PUBLISH_ACK__INIT;

		ack.text = "not a client's to send, padding padding padding padding padding";
		items[0].correlation = 9;
		items[0].body_case = BLONET__BATCH_ITEM__BODY_PUBLISH_ACK;
		items[0].publish_ack = &ack;
		items[1].correlation = 10;
		b.items = ptrs;
		b.n_items = 2;
		f.body_case = BLONET__FRAME__BODY_BATCH;
		f.batch = &b;
		blo_message_serialize(&f.base, 4096, &batch, &batch_len, NULL);
	}
	for (long i = 0; i < n; i++) {
		int kind = (int)(i % 8);
		size_t len = 1 + randombytes_uniform(sizeof(buf) - 1);

		randombytes_buf(buf, len);
		if (kind == 0) {
			zmq_send(sock, buf, len, 0);
		} else if (kind == 1) {
			zmq_send(sock, valid, 1 + randombytes_uniform((uint32_t)valid_len - 1), 0);
		} else if (kind == 2) {
			zmq_send(sock, buf, len, ZMQ_SNDMORE);
			zmq_send(sock, buf, len / 2, 0);
		} else if (kind == 4) {
			/* An empty batch. */
			Blonet__Frame f = BLONET__FRAME__INIT;
			Blonet__Batch b = BLONET__BATCH__INIT;

			f.body_case = BLONET__FRAME__BODY_BATCH;
			f.batch = &b;
			blo_wire_send(sock, &f, 0);
		} else if (kind == 5) {
			zmq_send(sock, batch, 1 + randombytes_uniform((uint32_t)batch_len - 1), 0);
		} else if (kind == 6) {
			zmq_send(sock, batch, batch_len, 0);
		} else {
			zmq_send(sock, valid, valid_len, 0);
		}
		sent++;
	}
	pong = ping_answered(sock, 424242);
	printf("{\"probe\":\"frames\",\"sent\":%ld,\"pong\":%s}\n", sent, pong ? "true" : "false");
	free(valid);
	free(batch);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return pong ? 0 : 1;
}

static Blonet__Frame *recv_frame(void *sock, int ms);

/* A Batch frame of items, sent on sock. */
static void send_batch(void *sock, Blonet__BatchItem **items, size_t n)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Batch b = BLONET__BATCH__INIT;

	b.items = items;
	b.n_items = n;
	f.body_case = BLONET__FRAME__BODY_BATCH;
	f.batch = &b;
	blo_wire_send(sock, &f, 0);
}

typedef struct {
	long accepted, duplicate, malformed, other, errors, in_batches, plain, unknown;
} batch_answers_t;

static void count_ack(batch_answers_t *a, uint64_t correlation, const Blonet__PublishAck *ack,
		      uint64_t first, uint64_t last, uint64_t garbage)
{
	if (correlation == garbage && ack->status == BLONET__PUBLISH_STATUS__REJECTED &&
	    ack->reason == BLONET__REJECT_REASON__MALFORMED)
		a->malformed++;
	else if (correlation < first || correlation > last)
		a->unknown++;
	else if (ack->status == BLONET__PUBLISH_STATUS__ACCEPTED)
		a->accepted++;
	else if (ack->status == BLONET__PUBLISH_STATUS__DUPLICATE)
		a->duplicate++;
	else
		a->other++;
}

/* Answers to publishes with correlations first..last (and the garbage one)
 * until `want` acks (and, unless refused_item is 0, the Error for that
 * item) came, or 10 s pass. */
static void collect_acks(void *sock, batch_answers_t *a, long want, uint64_t first, uint64_t last,
			 uint64_t garbage, uint64_t refused_item)
{
	for (int64_t end = blo_now_ms() + 10000; blo_now_ms() < end;) {
		long got = a->accepted + a->duplicate + a->malformed + a->other + a->unknown;
		Blonet__Frame *f;

		if (got >= want && (refused_item == 0 || a->errors > 0))
			break;
		if ((f = recv_frame(sock, 100)) == NULL)
			continue;
		if (f->body_case == BLONET__FRAME__BODY_PUBLISH_ACK) {
			a->plain++;
			count_ack(a, f->correlation, f->publish_ack, first, last, garbage);
		} else if (f->body_case == BLONET__FRAME__BODY_BATCH) {
			for (size_t i = 0; i < f->batch->n_items; i++) {
				const Blonet__BatchItem *it = f->batch->items[i];

				if (it->body_case != BLONET__BATCH_ITEM__BODY_PUBLISH_ACK) {
					a->other++;
					continue;
				}
				a->in_batches++;
				count_ack(a, it->correlation, it->publish_ack, first, last, garbage);
			}
		} else if (f->body_case == BLONET__FRAME__BODY_ERROR && f->correlation == refused_item) {
			fprintf(stderr, PROG ": item %" PRIu64 " refused: %s\n", refused_item, f->error->text);
			a->errors++;
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
}

static int cmd_batch(tc_setup_t *st, long n, const char *mode)
{
	bool offer = strcmp(mode, "nobatch") != 0, welcomed = false;
	void *ctx = zmq_ctx_new();
	void *sock = tc_dealer(ctx);
	size_t count = (size_t)n;
	uint8_t **envs = calloc(count, sizeof(*envs));
	size_t *lens = calloc(count, sizeof(*lens));
	Blonet__BatchItem *items = calloc(count + 2, sizeof(*items));
	Blonet__BatchItem **ptrs = calloc(count + 2, sizeof(*ptrs));
	Blonet__Publish *pubs = calloc(count + 1, sizeof(*pubs));
	Blonet__PublishAck bogus = BLONET__PUBLISH_ACK__INIT;
	uint8_t garbage[64];
	uint32_t max_batch = 0;
	batch_answers_t first = {0}, again = {0};
	Blonet__Frame *f;
	int rc = 1;

	if (st->me == NULL || envs == NULL || lens == NULL || items == NULL || ptrs == NULL ||
	    pubs == NULL || tc_curve(sock, st->identity, st->broker->curve_public, PROG) != 0) {
		rc = 2;
		goto out;
	}
	zmq_connect(sock, st->s.broker.endpoint);
	for (int64_t end = blo_now_ms() + 5000, next = 0; !welcomed && blo_now_ms() < end;) {
		if (blo_now_ms() >= next) {
			Blonet__Frame hf = BLONET__FRAME__INIT;
			Blonet__Hello h = BLONET__HELLO__INIT;

			h.protocol = 1;
			h.software = "blonet-probe";
			h.max_batch_bytes = offer ? 65536 : 0;
			hf.body_case = BLONET__FRAME__BODY_HELLO;
			hf.hello = &h;
			blo_wire_send(sock, &hf, ZMQ_DONTWAIT);
			next = blo_now_ms() + 300;
		}
		if ((f = recv_frame(sock, 100)) != NULL) {
			if (f->body_case == BLONET__FRAME__BODY_WELCOME) {
				welcomed = true;
				max_batch = f->welcome->max_batch_bytes;
			}
			blo_message_free((ProtobufCMessage **)&f);
		}
	}
	if (!welcomed) {
		fprintf(stderr, PROG ": no Welcome\n");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		tc_alert_t t;
		char ref[64];

		tc_alert_init(&t, st->me->id, st->me->country, st->me->agency, BLONET__TLP__TLP_GREEN,
			      NULL, "batch probe");
		t.o.site = (char *)st->me->site;
		snprintf(ref, sizeof(ref), "BATCH-%zu", i);
		t.a.source_ref = ref;
		if (tc_seal(&t.a, st->identity, NULL, &envs[i], &lens[i], NULL) != 0) {
			rc = 2;
			goto out;
		}
	}
	/* N publishes, an envelope that does not decode, an item a client may
	 * not send. */
	randombytes_buf(garbage, sizeof(garbage));
	for (size_t i = 0; i <= count; i++) {
		blonet__publish__init(&pubs[i]);
		pubs[i].envelope.data = i < count ? envs[i] : garbage;
		pubs[i].envelope.len = i < count ? lens[i] : sizeof(garbage);
		blonet__batch_item__init(&items[i]);
		items[i].correlation = 1 + i;
		items[i].body_case = BLONET__BATCH_ITEM__BODY_PUBLISH;
		items[i].publish = &pubs[i];
		ptrs[i] = &items[i];
	}
	blonet__batch_item__init(&items[count + 1]);
	items[count + 1].correlation = count + 2;
	items[count + 1].body_case = BLONET__BATCH_ITEM__BODY_PUBLISH_ACK;
	items[count + 1].publish_ack = &bogus;
	ptrs[count + 1] = &items[count + 1];
	if (strcmp(mode, "toomany") == 0) {
		/* All N in one Batch, the envelope and the item left out: more
		 * items than a Batch may carry is refused whole. */
		long errors = 0, acks = 0;

		send_batch(sock, ptrs, count);
		for (int64_t end = blo_now_ms() + 2000; blo_now_ms() < end;) {
			if ((f = recv_frame(sock, 100)) == NULL)
				continue;
			acks += f->body_case == BLONET__FRAME__BODY_PUBLISH_ACK ||
				f->body_case == BLONET__FRAME__BODY_BATCH;
			if (f->body_case == BLONET__FRAME__BODY_ERROR &&
			    f->error->code == BLONET__ERROR_CODE__ERROR_MALFORMED) {
				fprintf(stderr, PROG ": batch refused: %s\n", f->error->text);
				errors++;
			}
			blo_message_free((ProtobufCMessage **)&f);
		}
		printf("{\"probe\":\"batch\",\"mode\":\"toomany\",\"items\":%zu,\"acks\":%ld,"
		       "\"errors\":%ld}\n",
		       count, acks, errors);
		rc = acks == 0 && errors == 1 ? 0 : 1;
		goto out;
	}
	send_batch(sock, ptrs, count + 2);
	collect_acks(sock, &first, n + 1, 1, count, count + 1, count + 2);
	/* The same alerts again, under new correlations. */
	for (size_t i = 0; i < count; i++)
		items[i].correlation = count + 3 + i;
	send_batch(sock, ptrs, count);
	collect_acks(sock, &again, n, count + 3, 2 * count + 2, 0, 0);
	printf("{\"probe\":\"batch\",\"offered\":%s,\"max_batch_bytes\":%u,"
	       "\"first\":{\"accepted\":%ld,\"duplicate\":%ld,\"malformed\":%ld,\"other\":%ld,"
	       "\"unknown\":%ld,\"errors\":%ld,\"in_batches\":%ld,\"plain\":%ld},"
	       "\"again\":{\"accepted\":%ld,\"duplicate\":%ld,\"other\":%ld,\"in_batches\":%ld,"
	       "\"plain\":%ld}}\n",
	       offer ? "true" : "false", max_batch, first.accepted, first.duplicate, first.malformed,
	       first.other, first.unknown, first.errors, first.in_batches, first.plain,
	       again.accepted, again.duplicate, again.other, again.in_batches, again.plain);
	rc = first.accepted == n && first.malformed == 1 && first.errors == 1 && first.other == 0 &&
			     first.unknown == 0 && again.duplicate == n && again.other == 0 &&
			     again.unknown == 0 && (offer ? max_batch > 0 && first.in_batches > 0
							  : max_batch == 0 && first.in_batches == 0 &&
								    again.in_batches == 0)
		     ? 0
		     : 1;
out:
	for (size_t i = 0; envs != NULL && i < count; i++)
		free(envs[i]);
	free(envs);
	free(lens);
	free(items);
	free(ptrs);
	free(pubs);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return rc;
}

static int cmd_peer_full(const char *broker_config, int wait_ms, const char *mode)
{
	blo_broker_settings_t bs;
	blo_identity_t *me = NULL;
	blo_err_t err = {0};
	void *ctx = NULL, *sock = NULL;
	int one = 1, zero = 0, rc = 2;
	long refused = 0, errors = 0, duplicates = 0, hellos = 0, publishes = 0, accepted = 0;
	bool dup = strcmp(mode, "dup") == 0, nomem = strcmp(mode, "nomem") == 0;
	bool offered_first = false, offered_again = false;

	memset(&bs, 0, sizeof(bs));
	if (blo_broker_settings_load(&bs, broker_config, &err) != 0 ||
	    blo_identity_load(&me, bs.identity, &err) != 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		goto out;
	}
	ctx = zmq_ctx_new();
	sock = zmq_socket(ctx, ZMQ_ROUTER);
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, blo_identity_curve_secret(me), BLO_CURVE_KEY_BYTES);
	if (bs.listen.n == 0 || zmq_bind(sock, bs.listen.v[0]) != 0) {
		fprintf(stderr, PROG ": cannot bind %s: %s\n", bs.listen.n > 0 ? bs.listen.v[0] : "(none)",
			zmq_strerror(errno));
		goto out;
	}
	for (int64_t end = blo_now_ms() + wait_ms; blo_now_ms() < end;) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
		Blonet__Frame rf = BLONET__FRAME__INIT, *f = NULL;
		Blonet__Welcome w = BLONET__WELCOME__INIT;
		Blonet__ForwardAck a = BLONET__FORWARD_ACK__INIT;
		Blonet__Pong pong = BLONET__PONG__INIT;
		Blonet__PublishAck pa = BLONET__PUBLISH_ACK__INIT;
		Blonet__ProtocolError unread = BLONET__PROTOCOL_ERROR__INIT;
		zmq_msg_t rid, body;

		if (zmq_poll(&item, 1, 100) <= 0)
			continue;
		zmq_msg_init(&rid);
		zmq_msg_init(&body);
		if (zmq_msg_recv(&rid, sock, 0) < 0 || !zmq_msg_more(&rid) ||
		    zmq_msg_recv(&body, sock, 0) < 0 || blo_wire_decode(&body, &f, NULL) != 0)
			goto next;
		rf.correlation = f->correlation;
		unread.code = BLONET__ERROR_CODE__ERROR_INTERNAL;
		unread.text = "no memory to read this frame (blonet-probe peer-full --mode nomem)";
		if (nomem && f->body_case == BLONET__FRAME__BODY_HELLO && hellos++ == 0) {
			/* As the broker answers a frame it had no memory to decode. */
			offered_first = f->hello->max_batch_bytes > 0;
			rf.correlation = 0;
			rf.body_case = BLONET__FRAME__BODY_ERROR;
			rf.error = &unread;
		} else if (nomem && f->body_case == BLONET__FRAME__BODY_PUBLISH && publishes++ == 0) {
			rf.correlation = 0;
			rf.body_case = BLONET__FRAME__BODY_ERROR;
			rf.error = &unread;
		} else if (nomem && f->body_case == BLONET__FRAME__BODY_PUBLISH) {
			pa.status = BLONET__PUBLISH_STATUS__ACCEPTED;
			pa.seq = (uint64_t)++accepted;
			rf.body_case = BLONET__FRAME__BODY_PUBLISH_ACK;
			rf.publish_ack = &pa;
		} else if (f->body_case == BLONET__FRAME__BODY_HELLO) {
			offered_again = f->hello->max_batch_bytes > 0;
			w.protocol = 1;
			w.broker = bs.id;
			rf.body_case = BLONET__FRAME__BODY_WELCOME;
			rf.welcome = &w;
		} else if (f->body_case == BLONET__FRAME__BODY_FORWARD) {
			a.seq = f->forward->seq;
			if (dup) {
				a.status = BLONET__PUBLISH_STATUS__DUPLICATE;
				duplicates++;
			} else {
				a.status = BLONET__PUBLISH_STATUS__REJECTED;
				a.reason = BLONET__REJECT_REASON__JOURNAL_FULL;
				a.text = "journal full (blonet-probe peer-full)";
				refused++;
			}
			rf.body_case = BLONET__FRAME__BODY_FORWARD_ACK;
			rf.forward_ack = &a;
		} else if (f->body_case == BLONET__FRAME__BODY_PING) {
			pong.sent_ms = f->ping->sent_ms;
			rf.body_case = BLONET__FRAME__BODY_PONG;
			rf.pong = &pong;
			for (int k = 0; strcmp(mode, "errors") == 0 && k < 50; k++) {
				Blonet__Frame ef = BLONET__FRAME__INIT;
				Blonet__ProtocolError pe = BLONET__PROTOCOL_ERROR__INIT;

				pe.code = BLONET__ERROR_CODE__ERROR_UNEXPECTED;
				pe.text = "error flood (blonet-probe peer-full --mode errors)";
				ef.body_case = BLONET__FRAME__BODY_ERROR;
				ef.error = &pe;
				/* Blocking: a body refused after its routing id
				 * would be glued to the next message. */
				zmq_send(sock, zmq_msg_data(&rid), zmq_msg_size(&rid), ZMQ_SNDMORE);
				blo_wire_send(sock, &ef, 0);
				errors++;
			}
		} else {
			goto next;
		}
		zmq_send(sock, zmq_msg_data(&rid), zmq_msg_size(&rid), ZMQ_SNDMORE);
		blo_wire_send(sock, &rf, ZMQ_DONTWAIT);
next:
		blo_message_free((ProtobufCMessage **)&f);
		zmq_msg_close(&rid);
		zmq_msg_close(&body);
	}
	if (nomem) {
		printf("{\"probe\":\"peer-full\",\"mode\":\"nomem\",\"broker\":\"%s\","
		       "\"hellos\":%ld,\"offered_first\":%s,\"offered_again\":%s,"
		       "\"publishes\":%ld,\"accepted\":%ld}\n",
		       bs.id, hellos, offered_first ? "true" : "false",
		       offered_again ? "true" : "false", publishes, accepted);
		rc = hellos >= 2 && offered_first && offered_again && accepted >= 1 ? 0 : 1;
		goto out;
	}
	printf("{\"probe\":\"peer-full\",\"broker\":\"%s\",\"refused\":%ld,\"errors\":%ld,"
	       "\"duplicates\":%ld}\n",
	       bs.id, refused, errors, duplicates);
	rc = refused > 0 || errors > 0 || duplicates > 0 ? 0 : 1;
out:
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	blo_identity_destroy(&me);
	blo_broker_settings_free(&bs);
	return rc;
}

/* The next frame of sock within ms, or NULL. */
static Blonet__Frame *recv_frame(void *sock, int ms)
{
	zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
	Blonet__Frame *f = NULL;
	zmq_msg_t msg;

	if (zmq_poll(&item, 1, ms) <= 0)
		return NULL;
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0 || blo_wire_decode(&msg, &f, NULL) != 0)
		f = NULL;
	zmq_msg_close(&msg);
	return f;
}

static int cmd_rid(tc_setup_t *st, const char *rid, const char *durable, int wait_ms)
{
	void *ctx = zmq_ctx_new();
	void *sock = tc_dealer(ctx);
	bool welcomed = false, subscribed = false;
	long delivered = 0;
	Blonet__Frame *f;

	zmq_setsockopt(sock, ZMQ_ROUTING_ID, rid, strlen(rid));
	if (tc_curve(sock, st->identity, st->broker->curve_public, PROG) != 0)
		return 2;
	zmq_connect(sock, st->s.broker.endpoint);
	/* Hello again and again: while the broker still holds the id for a
	 * connection that is going, libzmq drops a new one that claims it. */
	for (int64_t end = blo_now_ms() + 5000, next = 0; !welcomed && blo_now_ms() < end;) {
		if (blo_now_ms() >= next) {
			send_hello(sock);
			next = blo_now_ms() + 300;
		}
		if ((f = recv_frame(sock, 100)) != NULL) {
			welcomed = f->body_case == BLONET__FRAME__BODY_WELCOME;
			blo_message_free((ProtobufCMessage **)&f);
		}
	}
	if (welcomed)
		fprintf(stderr, PROG ": welcomed as %s\n", blo_identity_id(st->identity));
	if (welcomed && durable != NULL) {
		Blonet__Frame sf = BLONET__FRAME__INIT;
		Blonet__Subscribe sub = BLONET__SUBSCRIBE__INIT;

		sub.durable = (char *)durable;
		sub.credit = 100;
		sf.correlation = 7;
		sf.body_case = BLONET__FRAME__BODY_SUBSCRIBE;
		sf.subscribe = &sub;
		blo_wire_send(sock, &sf, 0);
		for (int64_t end = blo_now_ms() + 5000; !subscribed && blo_now_ms() < end;) {
			if ((f = recv_frame(sock, 100)) != NULL) {
				subscribed = f->body_case == BLONET__FRAME__BODY_SUBSCRIBED;
				if (f->body_case == BLONET__FRAME__BODY_ERROR) {
					fprintf(stderr, PROG ": subscribe refused: %s\n", f->error->text);
					end = 0;
				}
				blo_message_free((ProtobufCMessage **)&f);
			}
		}
	}
	for (int64_t end = blo_now_ms() + wait_ms; welcomed && blo_now_ms() < end;) {
		if ((f = recv_frame(sock, 50)) != NULL) {
			delivered += f->body_case == BLONET__FRAME__BODY_DELIVER;
			blo_message_free((ProtobufCMessage **)&f);
		}
	}
	printf("{\"probe\":\"rid\",\"principal\":\"%s\",\"welcomed\":%s,\"subscribed\":%s,"
	       "\"delivered\":%ld}\n",
	       blo_identity_id(st->identity), welcomed ? "true" : "false",
	       subscribed ? "true" : "false", delivered);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return welcomed && (durable == NULL || subscribed) ? 0 : 1;
}

/* Deliveries that came meanwhile (subs --mode hog counts them). */
static long subs_delivered;

/* Sends f and waits for its answer: Subscribed or an Error of its
 * correlation (NULL when neither came within 5 s). */
static Blonet__Frame *request(void *sock, Blonet__Frame *f)
{
	blo_wire_send(sock, f, 0);
	for (int64_t end = blo_now_ms() + 5000; blo_now_ms() < end;) {
		Blonet__Frame *r = recv_frame(sock, 100);

		if (r != NULL && r->body_case == BLONET__FRAME__BODY_DELIVER)
			subs_delivered++;

		if (r != NULL && r->correlation == f->correlation &&
		    (r->body_case == BLONET__FRAME__BODY_SUBSCRIBED ||
		     r->body_case == BLONET__FRAME__BODY_ERROR ||
		     r->body_case == BLONET__FRAME__BODY_PONG))
			return r;
		blo_message_free((ProtobufCMessage **)&r);
	}
	return NULL;
}

static int cmd_subs(tc_setup_t *st, const char *prefix, long n, const char *mode)
{
	void *ctx = zmq_ctx_new();
	void *sock = tc_dealer(ctx);
	Blonet__Frame *f = NULL;
	Blonet__Filter filter = BLONET__FILTER__INIT;
	char *sites[FILTER_LIST_MAX + 1];
	long subscribed = 0, too_many = 0, other = 0;
	bool forget = strcmp(mode, "forget") == 0, hog = strcmp(mode, "hog") == 0;
	bool drop = strcmp(mode, "drop") == 0, unsub = strcmp(mode, "unsub") == 0;

	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++)
		sites[i] = "NO-SUCH-SITE";
	filter.sites = sites;
	filter.n_sites = strcmp(mode, "bigfilter") == 0 ? FILTER_LIST_MAX + 1 : FILTER_LIST_MAX;
	if (tc_curve(sock, st->identity, st->broker->curve_public, PROG) != 0)
		return 2;
	zmq_connect(sock, st->s.broker.endpoint);
	send_hello(sock);
	for (int64_t end = blo_now_ms() + 5000; f == NULL && blo_now_ms() < end;) {
		f = recv_frame(sock, 100);
		if (f != NULL && f->body_case != BLONET__FRAME__BODY_WELCOME)
			blo_message_free((ProtobufCMessage **)&f);
	}
	if (f == NULL) {
		fprintf(stderr, PROG ": not welcomed\n");
		return 1;
	}
	blo_message_free((ProtobufCMessage **)&f);
	for (long i = 1; i <= n; i++) {
		Blonet__Frame sf = BLONET__FRAME__INIT;
		Blonet__Subscribe sub = BLONET__SUBSCRIBE__INIT;
		char name[64];

		snprintf(name, sizeof(name), "%s-%ld", prefix, i);
		if (drop)
			goto unsubscribe;
		sub.durable = name;
		sub.credit = hog ? 1000000 : 1;
		sub.start = hog ? BLONET__START_AT__START_EARLIEST : BLONET__START_AT__START_NOW;
		if (strcmp(mode, "bigfilter") == 0 || strcmp(mode, "filter64") == 0)
			sub.filter = &filter;
		sf.correlation = (uint64_t)i;
		sf.body_case = BLONET__FRAME__BODY_SUBSCRIBE;
		sf.subscribe = &sub;
		f = request(sock, &sf);
		if (f != NULL && f->body_case == BLONET__FRAME__BODY_SUBSCRIBED) {
			subscribed++;
			printf("{\"probe\":\"subs\",\"durable\":\"%s\",\"result\":\"subscribed\"}\n", name);
		} else if (f != NULL && f->body_case == BLONET__FRAME__BODY_ERROR) {
			too_many += f->error->code == BLONET__ERROR_CODE__ERROR_TOO_MANY;
			other += f->error->code != BLONET__ERROR_CODE__ERROR_TOO_MANY;
			printf("{\"probe\":\"subs\",\"durable\":\"%s\",\"result\":\"%s\",\"text\":\"%s\"}\n",
			       name,
			       f->error->code == BLONET__ERROR_CODE__ERROR_TOO_MANY ? "too_many" : "error",
			       f->error->text);
		} else {
			other++;
		}
		blo_message_free((ProtobufCMessage **)&f);
unsubscribe:
		if (forget || drop || unsub) {
			Blonet__Frame uf = BLONET__FRAME__INIT, pf = BLONET__FRAME__INIT;
			Blonet__Unsubscribe un = BLONET__UNSUBSCRIBE__INIT;
			Blonet__Ping ping = BLONET__PING__INIT;

			un.durable = name;
			un.forget = !unsub;
			uf.body_case = BLONET__FRAME__BODY_UNSUBSCRIBE;
			uf.unsubscribe = &un;
			blo_wire_send(sock, &uf, 0);
			/* Frames are handled in order: the Pong says it is done. */
			pf.correlation = 1000000 + (uint64_t)i;
			pf.body_case = BLONET__FRAME__BODY_PING;
			pf.ping = &ping;
			f = request(sock, &pf);
			blo_message_free((ProtobufCMessage **)&f);
		}
	}
	/* hog: takes what comes for 3 s more, acknowledging nothing. */
	for (int64_t end = blo_now_ms() + 3000; hog && blo_now_ms() < end;) {
		f = recv_frame(sock, 100);
		if (f != NULL && f->body_case == BLONET__FRAME__BODY_DELIVER)
			subs_delivered++;
		blo_message_free((ProtobufCMessage **)&f);
	}
	printf("{\"probe\":\"subs\",\"subscribed\":%ld,\"too_many\":%ld,\"other\":%ld,"
	       "\"delivered\":%ld}\n",
	       subscribed, too_many, other, subs_delivered);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return 0;
}

/* Reads exactly len bytes, or returns -1. */
static int read_full(int fd, uint8_t *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t r = read(fd, buf + got, len - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* One ZMTP frame (command or message) of at most cap bytes into body. */
static int read_frame(int fd, uint8_t *body, size_t cap, size_t *len)
{
	uint8_t h[9];

	if (read_full(fd, h, 2) != 0)
		return -1;
	if (h[0] & 0x02) {
		if (read_full(fd, h + 2, 7) != 0)
			return -1;
		*len = 0;
		for (int i = 1; i < 9; i++)
			*len = (*len << 8) | h[i];
	} else {
		*len = h[1];
	}
	return *len <= cap ? read_full(fd, body, *len) : -1;
}

static void put_nonce8(uint8_t *out, uint64_t n)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(n >> (56 - 8 * i));
}

/* Writes all of buf, or returns -1. */
static int write_full(int fd, const uint8_t *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		/* No SIGPIPE when the broker ends the connection. */
		ssize_t w = send(fd, buf + done, len - done, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/* A CurveZMQ client written by hand (RFC 23 and 26): libzmq itself sends
 * no part of a message before its last, so a message that never ends
 * takes a client of one's own. Returns the connected socket, with the key
 * of its MESSAGE boxes in key and their last nonce in *nonce, or -1. */
static int raw_curve_connect(tc_setup_t *st, uint8_t key[crypto_box_BEFORENMBYTES], uint64_t *nonce)
{
	const uint8_t *S = st->broker->curve_public, *C = blo_identity_public(st->identity)->curve_public;
	const uint8_t *c_secret = blo_identity_curve_secret(st->identity);
	static const uint8_t meta[] = "\x0bSocket-Type\x00\x00\x00\x06"
				      "DEALER";
	const size_t meta_len = sizeof(meta) - 1;
	uint8_t cp[32], cs[32], sp[32], cookie[96], g[64], n24[24];
	uint8_t frame[512], plain[256], vouch[64], out[512];
	size_t len, plain_len, off = 0;
	struct sockaddr_in sa;
	int fd;

	if (tc_parse_endpoint(st->s.broker.endpoint, &sa) != 0 || (fd = tc_tcp_connect(&sa)) < 0)
		return -1;
	tc_greeting(g);
	if (write_full(fd, g, sizeof(g)) != 0 || read_full(fd, g, sizeof(g)) != 0)
		goto fail;
	/* HELLO: C', then 64 zeros boxed from C' to S. */
	crypto_box_keypair(cp, cs);
	memset(out, 0, 202);
	out[0] = 0x04;
	out[1] = 200;
	memcpy(out + 2, "\x05HELLO\x01\x00", 8);
	memcpy(out + 82, cp, 32);
	memcpy(n24, "CurveZMQHELLO---", 16);
	put_nonce8(n24 + 16, (*nonce = 1));
	memcpy(out + 114, n24 + 16, 8);
	memset(plain, 0, 64);
	if (crypto_box_easy(out + 122, plain, 64, n24, S, cs) != 0 || write_full(fd, out, 202) != 0)
		goto fail;
	/* WELCOME: S' and the cookie, boxed from S to C'. */
	if (read_frame(fd, frame, sizeof(frame), &len) != 0 || len != 168 ||
	    memcmp(frame, "\x07WELCOME", 8) != 0)
		goto fail;
	memcpy(n24, "WELCOME-", 8);
	memcpy(n24 + 8, frame + 8, 16);
	if (crypto_box_open_easy(plain, frame + 24, 144, n24, S, cs) != 0)
		goto fail;
	memcpy(sp, plain, 32);
	memcpy(cookie, plain + 32, 96);
	/* INITIATE: the cookie, then C, the vouch (C' and S boxed from C to
	 * S') and the metadata, boxed from C' to S'. */
	memcpy(plain, C, 32);
	randombytes_buf(plain + 32, 16);
	memcpy(n24, "VOUCH---", 8);
	memcpy(n24 + 8, plain + 32, 16);
	memcpy(vouch, cp, 32);
	memcpy(vouch + 32, S, 32);
	if (crypto_box_easy(plain + 48, vouch, 64, n24, sp, c_secret) != 0)
		goto fail;
	memcpy(plain + 128, meta, meta_len);
	plain_len = 128 + meta_len;
	len = 9 + 96 + 8 + crypto_box_MACBYTES + plain_len;
	out[off++] = 0x06;
	put_nonce8(out + off, len);
	off += 8;
	memcpy(out + off, "\x08INITIATE", 9);
	memcpy(out + off + 9, cookie, 96);
	memcpy(n24, "CurveZMQINITIATE", 16);
	put_nonce8(n24 + 16, ++*nonce);
	memcpy(out + off + 105, n24 + 16, 8);
	if (crypto_box_easy(out + off + 113, plain, plain_len, n24, sp, cs) != 0 ||
	    write_full(fd, out, off + len) != 0)
		goto fail;
	/* READY (or ERROR, when ZAP refuses the key). */
	if (read_frame(fd, frame, sizeof(frame), &len) != 0 || len < 6 ||
	    memcmp(frame, "\x05READY", 6) != 0)
		goto fail;
	if (crypto_box_beforenm(key, sp, cs) != 0)
		goto fail;
	sodium_memzero(cs, sizeof(cs));
	return fd;
fail:
	sodium_memzero(cs, sizeof(cs));
	close(fd);
	return -1;
}

/* Sends n one-byte parts of a message that never ends, then holds the
 * connection for wait_ms; then asks on a new connection whether the broker
 * still answers. */
static int cmd_parts(tc_setup_t *st, long n, int wait_ms, const char *mode)
{
	/* One byte a part, or 200 (mode big: libzmq allocates each apart). */
	const size_t part = strcmp(mode, "big") == 0 ? 200 : 1;
	const size_t frame = 2 + 8 + 8 + crypto_box_MACBYTES + 1 + part;
	uint8_t key[crypto_box_BEFORENMBYTES], n24[24], buf[256 * 1024], plain[1 + 200];
	uint64_t nonce = 0;
	size_t used = 0;
	long sent = 0;
	int fd = raw_curve_connect(st, key, &nonce), pong = 0, cut = 0;
	void *ctx, *sock;

	if (fd < 0) {
		fprintf(stderr, PROG ": parts: the CURVE handshake failed\n");
		return 2;
	}
	memcpy(n24, "CurveZMQMESSAGEC", 16);
	{
		/* First a whole message, a Hello: the broker then knows this
		 * connection's principal. */
		Blonet__Frame f = BLONET__FRAME__INIT;
		Blonet__Hello h = BLONET__HELLO__INIT;
		uint8_t *bytes = NULL, hello[128];
		size_t len = 0;

		h.protocol = 1;
		h.software = "blonet-probe";
		f.body_case = BLONET__FRAME__BODY_HELLO;
		f.hello = &h;
		if (blo_message_serialize(&f.base, 64, &bytes, &len, NULL) != 0 || len > 64) {
			free(bytes);
			close(fd);
			return 2;
		}
		plain[0] = 0x00; /* the last part */
		memcpy(plain + 1, bytes, len);
		free(bytes);
		hello[0] = 0x00;
		hello[1] = (uint8_t)(8 + 8 + crypto_box_MACBYTES + 1 + len);
		memcpy(hello + 2, "\x07MESSAGE", 8);
		put_nonce8(n24 + 16, ++nonce);
		memcpy(hello + 10, n24 + 16, 8);
		crypto_box_easy_afternm(hello + 18, plain, 1 + len, n24, key);
		if (write_full(fd, hello, 2 + hello[1]) != 0) {
			close(fd);
			return 2;
		}
	}
	memset(plain, 'x', sizeof(plain));
	plain[0] = 0x01;
	for (long i = 0, end = blo_now_ms() + 60000; i < n && blo_now_ms() < end; i++) {
		/* A message frame: "\x07MESSAGE", the nonce, then the flags
		 * (0x01: more) and the part, boxed from C' to S'. */
		uint8_t *m = buf + used;

		m[0] = 0x00;
		m[1] = (uint8_t)(frame - 2);
		memcpy(m + 2, "\x07MESSAGE", 8);
		put_nonce8(n24 + 16, ++nonce);
		memcpy(m + 10, n24 + 16, 8);
		crypto_box_easy_afternm(m + 18, plain, 1 + part, n24, key);
		used += frame;
		if (used + frame > sizeof(buf) || i == n - 1) {
			if (write_full(fd, buf, used) != 0) {
				cut = 1;
				break;
			}
			sent = i + 1;
			used = 0;
		}
	}
	fprintf(stderr, PROG ": parts: %ld sent\n", sent);
	for (int64_t end = blo_now_ms() + wait_ms; blo_now_ms() < end;)
		usleep(10000);
	ctx = zmq_ctx_new();
	sock = tc_dealer(ctx);
	if (tc_curve(sock, st->identity, st->broker->curve_public, PROG) == 0) {
		zmq_connect(sock, st->s.broker.endpoint);
		send_hello(sock);
		pong = ping_answered(sock, 515151);
	}
	printf("{\"probe\":\"parts\",\"sent\":%ld,\"cut\":%s,\"pong\":%s}\n", sent,
	       cut ? "true" : "false", pong ? "true" : "false");
	close(fd);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return pong ? 0 : 1;
}

static int cmd_garbage(tc_setup_t *st, long n)
{
	const char *ep = st->s.broker.endpoint;
	struct sockaddr_in sa;
	long done = 0;
	uint8_t buf[1024];

	if (strncmp(ep, "tcp://127.0.0.1:", 16) != 0 || tc_parse_endpoint(ep, &sa) != 0) {
		fprintf(stderr, PROG ": garbage only targets tcp://127.0.0.1\n");
		return 2;
	}
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			size_t len = 1 + randombytes_uniform(sizeof(buf) - 1);

			randombytes_buf(buf, len);
			if (write(fd, buf, len) > 0)
				done++;
		}
		close(fd);
	}
	printf("{\"probe\":\"garbage\",\"connections\":%ld}\n", done);
	return 0;
}

static int cmd_forward(const char *broker_config, const char *to, const char *signer_config,
		       const char *mode)
{
	blo_broker_settings_t bs;
	blo_client_settings_t ss;
	blo_identity_t *broker = NULL, *signer = NULL, *stranger = NULL;
	blo_registry_t *reg = NULL;
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	const blo_principal_t *peer, *origin;
	const char *endpoint = NULL;
	blo_err_t err = {0};
	void *ctx = NULL, *sock = NULL;
	int rc = 2;
	tc_alert_t t;
	uint8_t *fwd = NULL;
	size_t fwd_len = 0;

	memset(&bs, 0, sizeof(bs));
	memset(&ss, 0, sizeof(ss));
	if (blo_broker_settings_load(&bs, broker_config, &err) != 0 ||
	    blo_client_settings_load(&ss, signer_config, &err) != 0 ||
	    blo_settings_authority(bs.authority, authority, &err) != 0 ||
	    blo_identity_load(&broker, bs.identity, &err) != 0 ||
	    blo_identity_load(&signer, ss.identity, &err) != 0 ||
	    blo_registry_load(&reg, bs.registry, authority, &err) != 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		goto out;
	}
	for (size_t i = 0; i < bs.peers.n; i++)
		if (strcmp(((blo_peer_settings_t *)bs.peers.v)[i].id, to) == 0)
			endpoint = ((blo_peer_settings_t *)bs.peers.v)[i].endpoint;
	peer = blo_registry_find(reg, to);
	origin = blo_registry_find(reg, ss.id);
	if (endpoint == NULL || peer == NULL || origin == NULL) {
		fprintf(stderr, PROG ": %s is not a peer of %s\n", to, bs.id);
		goto out;
	}
	tc_alert_init(&t, origin->id, origin->country, origin->agency, BLONET__TLP__TLP_AMBER,
		      peer->country, "mesh probe");
	if (strcmp(mode, "badsig") == 0)
		blo_identity_generate(&stranger, origin->id);
	if (tc_seal(&t.a, stranger != NULL ? stranger : signer, broker, &fwd, &fwd_len, &err) != 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		goto out;
	}
	ctx = zmq_ctx_new();
	sock = tc_dealer(ctx);
	if (tc_curve(sock, broker, peer->curve_public, PROG) != 0)
		goto out;
	zmq_connect(sock, endpoint);
	{
		Blonet__Frame f = BLONET__FRAME__INIT;
		Blonet__Forward fw = BLONET__FORWARD__INIT;

		fw.seq = 999999;
		fw.envelope.data = fwd;
		fw.envelope.len = fwd_len;
		f.body_case = BLONET__FRAME__BODY_FORWARD;
		f.forward = &fw;
		blo_wire_send(sock, &f, 0);
	}
	rc = 1;
	for (int64_t end = blo_now_ms() + 10000; blo_now_ms() < end && rc == 1;) {
		zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
		zmq_msg_t msg;
		Blonet__Frame *f = NULL;

		if (zmq_poll(&item, 1, 200) <= 0)
			continue;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, sock, 0) >= 0 && blo_wire_decode(&msg, &f, NULL) == 0 &&
		    f->body_case == BLONET__FRAME__BODY_FORWARD_ACK) {
			tc_print_ack("forward", mode, f->forward_ack->status, f->forward_ack->reason,
				     f->forward_ack->text);
			rc = f->forward_ack->status == BLONET__PUBLISH_STATUS__REJECTED ? 0 : 3;
		}
		blo_message_free((ProtobufCMessage **)&f);
		zmq_msg_close(&msg);
	}
out:
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	free(fwd);
	blo_identity_destroy(&broker);
	blo_identity_destroy(&signer);
	blo_identity_destroy(&stranger);
	blo_registry_destroy(&reg);
	blo_broker_settings_free(&bs);
	blo_client_settings_free(&ss);
	return rc;
}

/* N connections of one principal, each says Hello; counts the answers. */
static int cmd_sessions(tc_setup_t *st, long n, int wait_ms, int hold_ms)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	enum { NONE, WELCOMED, TOO_MANY, OTHER };
	void *ctx = zmq_ctx_new();
	void **socks = calloc((size_t)n, sizeof(*socks));
	int *answer = calloc((size_t)n, sizeof(*answer));
	long welcomed = 0, too_many = 0, other = 0, pinged = 0, ping_refused = 0;
	char text[300] = "";
	Blonet__Frame *f;
	int rc = 2;

	if (ctx == NULL || socks == NULL || answer == NULL)
		goto out;
	zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)n + 16);
	for (long i = 0; i < n; i++) {
		socks[i] = tc_dealer(ctx);
		if (socks[i] == NULL || tc_curve(socks[i], st->identity, st->broker->curve_public, PROG) != 0)
			goto out;
		zmq_connect(socks[i], st->s.broker.endpoint);
		send_hello(socks[i]);
	}
	/* Until every one has its answer. */
	for (int64_t end = blo_now_ms() + wait_ms; blo_now_ms() < end;) {
		long left = 0;

		for (long i = 0; i < n; i++) {
			if (answer[i] != NONE)
				continue;
			left++;
			if ((f = recv_frame(socks[i], 0)) == NULL)
				continue;
			if (f->body_case == BLONET__FRAME__BODY_WELCOME) {
				answer[i] = WELCOMED;
			} else if (f->body_case == BLONET__FRAME__BODY_ERROR &&
				   f->error->code == BLONET__ERROR_CODE__ERROR_TOO_MANY) {
				answer[i] = TOO_MANY;
				snprintf(text, sizeof(text), "%s", f->error->text);
			} else if (f->body_case != BLONET__FRAME__BODY_PING) {
				answer[i] = OTHER;
			}
			blo_message_free((ProtobufCMessage **)&f);
		}
		if (left == 0)
			break;
		nanosleep(&pause, NULL);
	}
	/* A refused connection stays refused: its next frame too. */
	for (long i = 0; i < n; i++) {
		Blonet__Frame pf = BLONET__FRAME__INIT;
		Blonet__Ping ping = BLONET__PING__INIT;

		welcomed += answer[i] == WELCOMED;
		too_many += answer[i] == TOO_MANY;
		other += answer[i] == OTHER;
		if (answer[i] != TOO_MANY)
			continue;
		pf.correlation = 9;
		pf.body_case = BLONET__FRAME__BODY_PING;
		pf.ping = &ping;
		blo_wire_send(socks[i], &pf, 0);
		pinged++;
		for (int64_t end = blo_now_ms() + wait_ms; blo_now_ms() < end;) {
			bool refused;

			if ((f = recv_frame(socks[i], 100)) == NULL)
				continue;
			refused = f->body_case == BLONET__FRAME__BODY_ERROR &&
				  f->error->code == BLONET__ERROR_CODE__ERROR_TOO_MANY && f->correlation == 9;
			ping_refused += refused;
			blo_message_free((ProtobufCMessage **)&f);
			if (refused)
				break;
		}
	}
	printf("{\"probe\":\"sessions\",\"opened\":%ld,\"welcomed\":%ld,\"too_many\":%ld,\"other\":%ld,"
	       "\"unanswered\":%ld,\"pings_refused\":%ld,\"text\":\"%s\"}\n",
	       n, welcomed, too_many, other, n - welcomed - too_many - other, ping_refused, text);
	fflush(stdout);
	rc = welcomed + too_many + other == n && ping_refused == pinged ? 0 : 1;
	/* Then holding them all. */
	for (int64_t end = blo_now_ms() + hold_ms; blo_now_ms() < end;)
		nanosleep(&pause, NULL);
out:
	for (long i = 0; socks != NULL && i < n; i++)
		if (socks[i] != NULL)
			zmq_close(socks[i]);
	free(socks);
	free(answer);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"mode", required_argument, NULL, 'm'},
		{"origin", required_argument, NULL, 'o'},
		{"wait", required_argument, NULL, 'w'},
		{"hold", required_argument, NULL, 'H'},
		{"to", required_argument, NULL, 't'},
		{"signer", required_argument, NULL, 's'},
		{"rid", required_argument, NULL, 'r'},
		{"durable", required_argument, NULL, 'd'},
		{0},
	};
	const char *config = NULL, *mode = "unknown", *origin = NULL, *cmd, *to = NULL, *signer = NULL;
	const char *rid = NULL, *durable = NULL;
	long n = 1000;
	bool n_given = false;
	int wait_ms = 1500, hold_ms = 0, opt, rc;
	tc_setup_t st = {0};

	while ((opt = getopt_long(argc, argv, "c:m:o:w:H:n:t:s:r:d:", longopts, NULL)) != -1) {
		switch (opt) {
		case 't': to = optarg; break;
		case 's': signer = optarg; break;
		case 'r': rid = optarg; break;
		case 'd': durable = optarg; break;
		case 'c': config = optarg; break;
		case 'm': mode = optarg; break;
		case 'o': origin = optarg; break;
		case 'w': wait_ms = atoi(optarg); break;
		case 'H': hold_ms = atoi(optarg); break;
		case 'n': n = atol(optarg); n_given = true; break;
		default: return 2;
		}
	}
	if (config == NULL || optind != argc - 1) {
		fprintf(stderr, "usage: blonet-probe refused|forge|flood|frames|batch|subs|garbage|parts|rid|sessions|forward|peer-full -c CONFIG ...\n");
		return 2;
	}
	cmd = argv[optind];
	if (sodium_init() < 0)
		return 2;
	if (strcmp(cmd, "forge") == 0)
		return origin != NULL ? cmd_forge(config, origin, n_given ? n : 1) : 2;
	if (strcmp(cmd, "flood") == 0)
		return cmd_flood(config, n_given ? n : 10000);
	if (strcmp(cmd, "forward") == 0)
		return to != NULL && signer != NULL ? cmd_forward(config, to, signer, mode) : 2;
	if (strcmp(cmd, "peer-full") == 0)
		return cmd_peer_full(config, wait_ms, mode);
	if ((rc = tc_load(&st, PROG, config, NULL)) != 0)
		return rc;
	if (strcmp(cmd, "refused") == 0)
		rc = cmd_refused(&st, mode, wait_ms);
	else if (strcmp(cmd, "frames") == 0)
		rc = cmd_frames(&st, n);
	else if (strcmp(cmd, "batch") == 0)
		rc = cmd_batch(&st, n, mode);
	else if (strcmp(cmd, "subs") == 0 && durable != NULL)
		rc = cmd_subs(&st, durable, n_given ? n : 1, mode);
	else if (strcmp(cmd, "garbage") == 0)
		rc = cmd_garbage(&st, n);
	else if (strcmp(cmd, "parts") == 0)
		rc = cmd_parts(&st, n, wait_ms, mode);
	else if (strcmp(cmd, "rid") == 0 && rid != NULL && rid[0] != '\0')
		rc = cmd_rid(&st, rid, durable, wait_ms);
	else if (strcmp(cmd, "sessions") == 0 && n_given && n > 0)
		rc = cmd_sessions(&st, n, wait_ms, hold_ms);
	else
		rc = 2;
	tc_unload(&st);
	return rc;
}
