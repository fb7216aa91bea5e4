/*
 * blo_mesh: the broker's links to the brokers of other countries.
 *
 * Sending: one DEALER per configured peer (CurveZMQ client of the peer's
 * key in the registry). A durable cursor per peer walks the journal; each
 * alert the peer's country may hold (the delivery policy, asked for the peer
 * as a principal of role broker) and that has not passed through the peer
 * already is forwarded with this broker's signed hop appended, within a
 * window, and counted as done only when the peer acknowledges it after its
 * own synced commit. A link that is down keeps its cursor: the backlog goes
 * out in order on reconnection.
 *
 * Receiving (blo_mesh_verify_forward, on the verify workers): the sender
 * must be a live broker and the last hop of the trace; the origin signature
 * and every hop must verify; both the sender's country and this broker's
 * must be entitled to the alert, so that nothing is relayed through or into
 * a country that may not hold it.
 */
#include "blo_broker_int.h"

#include "blo_envelope.h"
#include "blo_log.h"
#include "blo_policy.h"
#include "blo_util.h"
#include "blo_wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESH_WINDOW 512          /* forwards unacknowledged per peer */
#define MESH_PUMP_BUDGET 1024    /* records examined per peer per turn */
#define MESH_PING_MS 1000        /* a quiet link is pinged this often */
#define MESH_DEAD_MS 5000        /* no word from a peer this long: down */
#define MESH_LOG_BURST 20         /* Errors of a peer logged one by one */
#define MESH_LOG_WINDOW_MS 60000  /* per this long; the rest summed up */
#define MESH_DONE_SPAN (1u << 20) /* records beyond the cursor done[] covers (a power of 2) */

typedef struct {
	char id[BLO_PRINCIPAL_ID_MAX];
	char *endpoint;
	char cursor_name[BLO_CURSOR_NAME_MAX];
	void *sock;
	void *monitor;
	uint8_t server_key[BLO_CURVE_KEY_BYTES]; /* the peer's key the link uses */
	bool linked;             /* connected to endpoint (off while not a live broker) */
	bool handshake;          /* CURVE handshake done, not disconnected since */
	bool welcomed;
	bool was_up;             /* for logging transitions */
	int64_t last_contact_ms; /* last frame from the peer (blo_mono_ms; 0: none) */
	int64_t last_ping_ms;
	uint64_t next_seq;       /* next record to consider */
	uint64_t acked;          /* every record <= acked is done for this peer */
	uint64_t persisted;
	inflight_t inflight[MESH_WINDOW];
	size_t n_inflight;
	/* Records after acked done with for good while an earlier forward is
	 * still in flight (refused for now, say): answered by the peer (taken,
	 * held already, refused for good), purged, or failed for good here. A
	 * rewind does not send or count them again. One bit per record, bit
	 * seq % MESH_DONE_SPAN, for seq in (acked, acked + MESH_DONE_SPAN]:
	 * one further on is not kept, and goes again after a rewind (answered
	 * as held already). 128 KiB, made at the first need (NULL: none yet). */
	uint8_t *done;
	size_t n_done; /* bits set */
	uint64_t forwarded, duplicates, rejected;
	uint64_t expired;        /* purged by retention before they could go */
	uint64_t deferred_seq;   /* the last forward refused for now, and */
	uint32_t deferred_tries; /* how often: kept across rewinds */
	char last_error[256];
	int64_t log_since_ms;     /* the window of the Errors logged below */
	uint32_t log_count;       /* Errors from this peer logged in it */
	uint64_t log_suppressed;  /* and left out */
	char log_last[160];       /* the last Error left out */
} peer_t;

/* Sums up the Errors from p that its window left out, once it ended (now
 * INT64_MAX: whatever it holds). */
static void peer_log_flush(peer_t *p, int64_t now)
{
	if (p->log_count == 0 || (now != INT64_MAX && now - p->log_since_ms < MESH_LOG_WINDOW_MS))
		return;
	if (p->log_suppressed > 0)
		blo_warn("mesh.peer_limited",
			 "%s: %" PRIu64 " more errors from this peer in %d s not logged one by one "
			 "(the last: %s)",
			 p->id, p->log_suppressed, MESH_LOG_WINDOW_MS / 1000, p->log_last);
	p->log_count = 0;
	p->log_suppressed = 0;
}

/* Whether one more Error that p sent is logged one by one: MESH_LOG_BURST
 * a window, the rest counted and summed up by peer_log_flush. A peer may
 * not flood the log. (A forward refused for good is logged each time: one
 * line per record this broker sent, whatever the peer does.) */
static bool peer_log_take(peer_t *p, int64_t now, const char *text)
{
	peer_log_flush(p, now);
	if (p->log_count >= MESH_LOG_BURST) {
		p->log_suppressed++;
		snprintf(p->log_last, sizeof(p->log_last), "%s", text);
		return false;
	}
	if (p->log_count++ == 0)
		p->log_since_ms = now;
	return true;
}

struct blo_mesh {
	blo_broker_t *broker;
	peer_t *peers;
	size_t n_peers;
	int64_t resend_ms;   /* limits.mesh_resend_ms */
	uint32_t max_tries;  /* limits.mesh_give_up_s of resends */
};

/* ---------------------------------------------------------------- sending */

static int peer_send(peer_t *p, const Blonet__Frame *f)
{
	return blo_wire_send(p->sock, f, ZMQ_DONTWAIT);
}

static void peer_hello(blo_mesh_t *self, peer_t *p)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Hello h = BLONET__HELLO__INIT;

	(void)self;
	h.protocol = PROTOCOL_VERSION;
	h.software = "blonet-broker mesh";
	f.body_case = BLONET__FRAME__BODY_HELLO;
	f.hello = &h;
	peer_send(p, &f);
}

static bool peer_up(const peer_t *p, int64_t now)
{
	return p->handshake && p->welcomed && now - p->last_contact_ms < MESH_DEAD_MS;
}

/* Start again after the cursor: what was in flight goes again (what the
 * peer answered beyond the cursor does not: peer_is_done). */
static void peer_rewind(peer_t *p)
{
	p->n_inflight = 0;
	p->next_seq = p->acked + 1;
}

static bool peer_is_done(const peer_t *p, uint64_t seq)
{
	uint64_t bit = seq % MESH_DONE_SPAN;

	return p->n_done > 0 && seq > p->acked && seq - p->acked <= MESH_DONE_SPAN &&
	       (p->done[bit / 8] & (1u << (bit % 8))) != 0;
}

/* Notes that the record seq is done with for good for this peer; kept
 * only while a forward before it is still in flight (else the cursor
 * passes it at the next peer_advance). */
static void peer_done_add(peer_t *p, uint64_t seq)
{
	uint64_t bit = seq % MESH_DONE_SPAN;

	if (p->n_inflight == 0 || seq <= p->inflight[0].seq || seq <= p->acked ||
	    seq - p->acked > MESH_DONE_SPAN || peer_is_done(p, seq))
		return;
	if (p->done == NULL && (p->done = calloc(MESH_DONE_SPAN / 8, 1)) == NULL)
		return; /* it goes again after a rewind: no harm */
	p->done[bit / 8] |= (uint8_t)(1u << (bit % 8));
	p->n_done++;
}

static void peer_save(blo_mesh_t *self, peer_t *p)
{
	if (p->acked != p->persisted) {
		broker_save_cursor(self->broker, p->cursor_name, p->acked);
		p->persisted = p->acked;
	}
}

static void peer_advance(peer_t *p)
{
	uint64_t was = p->acked;

	p->acked = p->n_inflight > 0 ? p->inflight[0].seq - 1 : p->next_seq - 1;
	/* What the cursor passed leaves done[] (every bit set is of a record
	 * in (was, was + MESH_DONE_SPAN]): all of it at once, or bit by bit,
	 * a byte at a time where a byte has none. */
	if (p->n_done > 0 && p->acked - was >= MESH_DONE_SPAN) {
		memset(p->done, 0, MESH_DONE_SPAN / 8);
		p->n_done = 0;
	}
	for (uint64_t seq = was + 1; p->n_done > 0 && seq <= p->acked; seq++) {
		uint64_t bit = seq % MESH_DONE_SPAN;
		uint8_t mask = (uint8_t)(1u << (bit % 8));

		if (bit % 8 == 0 && p->done[bit / 8] == 0 && p->acked - seq >= 7) {
			seq += 7; /* a byte with none */
			continue;
		}
		if (p->done[bit / 8] & mask) {
			p->done[bit / 8] &= (uint8_t)~mask;
			p->n_done--;
		}
	}
}

/* Should the record go to this peer? */
typedef enum {
	FWD_YES,     /* yes: *env_out holds its envelope */
	FWD_NOT_ITS, /* no, for good: not the peer's, or the record is damaged */
	FWD_LATER,   /* cannot tell now (out of memory): ask again later */
} fwd_t;

/* Policy for the peer's country, and not back to a broker it has already
 * passed through. */
static fwd_t should_forward(blo_mesh_t *self, const peer_t *p, const cached_t *c,
			    Blonet__Envelope **env_out)
{
	const blo_registry_t *reg = broker_registry(self->broker);
	const blo_principal_t *peer = blo_registry_find(reg, p->id);
	Blonet__Envelope *env = NULL;
	int rc;

	*env_out = NULL;
	if (c->alert == NULL || peer == NULL || peer->revoked || peer->role != BLO_ROLE_BROKER)
		return FWD_NOT_ITS;
	if (!blo_policy_may_receive(c->alert, peer, reg, c->has_ref ? &c->ref : NULL))
		return FWD_NOT_ITS;
	if ((rc = blo_envelope_parse(&env, c->envelope, c->len, NULL)) != 0)
		return rc == BLO_ENOMEM ? FWD_LATER : FWD_NOT_ITS;
	if (blo_envelope_has_hop(env, p->id) || env->n_trace >= BLO_MAX_HOPS) {
		blo_envelope_free(&env);
		return FWD_NOT_ITS;
	}
	*env_out = env;
	return FWD_YES;
}

/* Sends one record to the peer with this broker's hop appended. Returns 0,
 * -EAGAIN when the link cannot take it now, or another error (the record
 * is then skipped for this peer and the error kept for status). */
static int forward_one(blo_mesh_t *self, peer_t *p, const cached_t *c, Blonet__Envelope *env)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Forward fw = BLONET__FORWARD__INIT;
	blo_err_t err = {0};
	uint8_t *bytes = NULL;
	size_t len = 0;
	int rc;

	rc = blo_envelope_add_hop(env, self->broker->identity, blo_now_ms(), &err);
	if (rc == 0)
		rc = blo_message_serialize(&env->base, BLO_ENVELOPE_MAX_BYTES, &bytes, &len, &err);
	if (rc != 0) {
		snprintf(p->last_error, sizeof(p->last_error), "seq %" PRIu64 ": %s", c->seq, err.msg);
		return rc;
	}
	fw.seq = c->seq;
	fw.envelope.data = bytes;
	fw.envelope.len = len;
	f.body_case = BLONET__FRAME__BODY_FORWARD;
	f.forward = &fw;
	rc = peer_send(p, &f);
	free(bytes);
	if (rc != 0 && rc != -EAGAIN)
		snprintf(p->last_error, sizeof(p->last_error), "seq %" PRIu64 ": send: %s", c->seq,
			 blo_strerror(rc));
	return rc;
}

/* After forward_one failed with rc: true when the record cannot go as it is
 * (its hop trace is full, it will not serialize): given up for this peer,
 * counted, logged and audited. False for what passes (the link is full,
 * memory short, a send error): try again later. */
static bool forward_failed_for_good(blo_mesh_t *self, peer_t *p, const cached_t *c, int rc)
{
	if (rc != BLO_ETOOBIG && rc != BLO_EINVAL && rc != BLO_EPARSE)
		return false;
	peer_done_add(p, c->seq);
	p->rejected++;
	blo_warn("mesh.forward_failed", "seq %" PRIu64 " not forwarded to %s: %s", c->seq, p->id,
		 p->last_error);
	broker_audit(self->broker, BLO_AUDIT_REJECT, p->id, c->alert != NULL ? c->alert->id.data : NULL,
		     c->seq, "not forwarded: %s", p->last_error);
	return true;
}

static uint32_t tries_of(const peer_t *p, uint64_t seq)
{
	return seq == p->deferred_seq ? p->deferred_tries : 0;
}

static void pump_peer(blo_mesh_t *self, peer_t *p, uint64_t last, int64_t now)
{
	size_t budget = MESH_PUMP_BUDGET;

	if (!peer_up(p, now))
		return;
	while (p->n_inflight < MESH_WINDOW && p->next_seq <= last && budget-- > 0) {
		cached_t *c;
		Blonet__Envelope *env = NULL;
		fwd_t fwd;

		if (peer_is_done(p, p->next_seq)) {
			/* Done with before the link started again. */
			p->next_seq++;
			continue;
		}
		c = broker_cache_get(self->broker, p->next_seq);
		if (c == NULL) {
			if (!broker_record_gone(self->broker, p->next_seq))
				break;
			peer_done_add(p, p->next_seq);
			p->expired++;
		} else if ((fwd = should_forward(self, p, c, &env)) == FWD_LATER) {
			break; /* memory short: this record and those after it later */
		} else if (fwd == FWD_YES) {
			int rc = forward_one(self, p, c, env);

			blo_envelope_free(&env);
			if (rc != 0 && !forward_failed_for_good(self, p, c, rc))
				break; /* the link is full, or memory short: again later */
			if (rc == 0) {
				p->inflight[p->n_inflight].seq = c->seq;
				p->inflight[p->n_inflight].sent_ms = now;
				p->inflight[p->n_inflight].tries = tries_of(p, c->seq);
				p->inflight[p->n_inflight].deferred = false;
				p->n_inflight++;
			}
		}
		p->next_seq++;
	}
	peer_advance(p);
	peer_save(self, p);
}

void blo_mesh_pump(blo_mesh_t *self, uint64_t last_seq)
{
	int64_t now = blo_mono_ms();

	if (self == NULL)
		return;
	for (size_t i = 0; i < self->n_peers; i++)
		pump_peer(self, &self->peers[i], last_seq, now);
}

/* ---------------------------------------------------------------- receiving acks */

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = ((const inflight_t *)a)->seq, y = ((const inflight_t *)b)->seq;

	return x < y ? -1 : x > y;
}

/* Refusals that time cures: the peer's journal is full, it is stopping, or
 * it failed. The alert waits for the peer however long that takes, as it
 * would for a link that is down. */
static bool retry_always(Blonet__RejectReason reason)
{
	return reason == BLONET__REJECT_REASON__JOURNAL_FULL ||
	       reason == BLONET__REJECT_REASON__SHUTTING_DOWN ||
	       reason == BLONET__REJECT_REASON__INTERNAL;
}

/* Refusals that time may cure: the alert a reply answers has not reached
 * the peer yet, or the peer's registry is not ours yet (a new principal, a
 * rotated key, a changed operation: registries reach the countries one by
 * one). Retried for limits.mesh_give_up_s, then final. */
static bool retry_a_while(Blonet__RejectReason reason)
{
	return reason == BLONET__REJECT_REASON__UNKNOWN_REFERENCE ||
	       reason == BLONET__REJECT_REASON__UNKNOWN_PRINCIPAL ||
	       reason == BLONET__REJECT_REASON__BAD_SIGNATURE ||
	       reason == BLONET__REJECT_REASON__NOT_ENTITLED ||
	       reason == BLONET__REJECT_REASON__BAD_TRACE;
}

static void on_forward_ack(blo_mesh_t *self, peer_t *p, const Blonet__ForwardAck *ack)
{
	inflight_t key = {.seq = ack->seq};
	inflight_t *hit = bsearch(&key, p->inflight, p->n_inflight, sizeof(key), cmp_seq);
	cached_t *c;

	if (hit == NULL)
		return; /* from before a rewind: already counted, or it comes again */
	if (ack->status == BLONET__PUBLISH_STATUS__REJECTED &&
	    (retry_always(ack->reason) ||
	     (retry_a_while(ack->reason) && ++hit->tries < self->max_tries))) {
		/* Left in flight: resend_ms from now it goes again, alone
		 * (resend_deferred); the peer's cursor waits before it. */
		hit->sent_ms = blo_mono_ms();
		hit->deferred = true;
		p->deferred_seq = hit->seq;
		p->deferred_tries = hit->tries;
		snprintf(p->last_error, sizeof(p->last_error), "seq %" PRIu64 " deferred: %s: %s",
			 ack->seq, broker_reason_name(ack->reason), ack->text);
		return;
	}
	memmove(hit, hit + 1, (size_t)(p->inflight + p->n_inflight - hit - 1) * sizeof(*hit));
	p->n_inflight--;
	c = broker_cache_get(self->broker, ack->seq);
	switch (ack->status) {
	case BLONET__PUBLISH_STATUS__ACCEPTED:
		p->forwarded++;
		broker_audit(self->broker, BLO_AUDIT_FORWARD, p->id,
			     c != NULL && c->alert != NULL ? c->alert->id.data : NULL, ack->seq, NULL);
		break;
	case BLONET__PUBLISH_STATUS__DUPLICATE:
		/* The peer holds it already: from an earlier send whose answer
		 * was lost with the link, or by another route. It went over
		 * the link all the same, so it is audited as a forward. */
		p->duplicates++;
		broker_audit(self->broker, BLO_AUDIT_FORWARD, p->id,
			     c != NULL && c->alert != NULL ? c->alert->id.data : NULL, ack->seq,
			     "already held by the peer (sent again, or received by another route)");
		break;
	default:
		p->rejected++;
		snprintf(p->last_error, sizeof(p->last_error), "seq %" PRIu64 " refused: %s: %s",
			 ack->seq, broker_reason_name(ack->reason), ack->text);
		blo_warn("mesh.forward_refused", "%s refused seq %" PRIu64 ": %s: %s", p->id, ack->seq,
			 broker_reason_name(ack->reason), ack->text);
		broker_audit(self->broker, BLO_AUDIT_REJECT, p->id,
			     c != NULL && c->alert != NULL ? c->alert->id.data : NULL, ack->seq,
			     "forward refused by peer: %s: %s", broker_reason_name(ack->reason),
			     ack->text);
		break;
	}
	peer_advance(p);
	peer_done_add(p, ack->seq); /* answered while an earlier one waits */
	peer_save(self, p);
}

static void read_peer(blo_mesh_t *self, peer_t *p)
{
	for (int n = 0; n < 1024; n++) {
		zmq_msg_t msg;
		Blonet__Frame *f = NULL;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, p->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		p->last_contact_ms = blo_mono_ms();
		if (blo_wire_decode(&msg, &f, NULL) == 0) {
			switch (f->body_case) {
			case BLONET__FRAME__BODY_WELCOME:
				p->welcomed = true;
				break;
			case BLONET__FRAME__BODY_FORWARD_ACK:
				on_forward_ack(self, p, f->forward_ack);
				break;
			case BLONET__FRAME__BODY_PING: {
				Blonet__Frame rf = BLONET__FRAME__INIT;
				Blonet__Pong pong = BLONET__PONG__INIT;

				pong.sent_ms = f->ping->sent_ms;
				rf.body_case = BLONET__FRAME__BODY_PONG;
				rf.pong = &pong;
				peer_send(p, &rf);
				break;
			}
			case BLONET__FRAME__BODY_ERROR:
				snprintf(p->last_error, sizeof(p->last_error), "%s", f->error->text);
				if (peer_log_take(p, blo_mono_ms(), f->error->text))
					blo_warn("mesh.peer_error", "%s: %s", p->id, f->error->text);
				break;
			default:
				break;
			}
			blo_message_free((ProtobufCMessage **)&f);
		}
		zmq_msg_close(&msg);
	}
}

static void read_monitor(blo_mesh_t *self, peer_t *p)
{
	for (;;) {
		zmq_msg_t ev, addr;
		uint16_t event;

		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, p->monitor, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		memcpy(&event, zmq_msg_data(&ev), sizeof(event));
		zmq_msg_close(&ev);
		zmq_msg_init(&addr);
		zmq_msg_recv(&addr, p->monitor, 0);
		zmq_msg_close(&addr);
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			p->handshake = true;
			p->welcomed = false;
			p->last_contact_ms = blo_mono_ms();
			peer_rewind(p);
			peer_hello(self, p);
		} else if (event == ZMQ_EVENT_DISCONNECTED) {
			p->handshake = false;
			p->welcomed = false;
		} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
			snprintf(p->last_error, sizeof(p->last_error), "%s refused this broker's key",
				 p->id);
		}
	}
}

size_t blo_mesh_poll_items(blo_mesh_t *self, zmq_pollitem_t *items, size_t room)
{
	size_t n = 0;

	if (self == NULL)
		return 0;
	for (size_t i = 0; i < self->n_peers && n + 2 <= room; i++) {
		items[n++] = (zmq_pollitem_t){.socket = self->peers[i].sock, .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.socket = self->peers[i].monitor, .events = ZMQ_POLLIN};
	}
	return n;
}

void blo_mesh_on_ready(blo_mesh_t *self, const zmq_pollitem_t *items, size_t n)
{
	if (self == NULL)
		return;
	for (size_t i = 0; i < self->n_peers && 2 * i + 1 < n; i++) {
		peer_t *p = &self->peers[i];

		if (items[2 * i + 1].revents & ZMQ_POLLIN)
			read_monitor(self, p);
		if (items[2 * i].revents & ZMQ_POLLIN)
			read_peer(self, p);
	}
}

static void drop_inflight(peer_t *p, size_t k)
{
	memmove(&p->inflight[k], &p->inflight[k + 1], (p->n_inflight - k - 1) * sizeof(p->inflight[0]));
	p->n_inflight--;
}

/* Forwards the peer refused for now go again one by one, resend_ms after
 * their refusal; what the peer took after them is not sent again. */
static void resend_deferred(blo_mesh_t *self, peer_t *p, int64_t now)
{
	for (size_t k = 0; k < p->n_inflight;) {
		inflight_t *e = &p->inflight[k];
		cached_t *c;
		Blonet__Envelope *env = NULL;
		fwd_t fwd;
		int rc;

		if (!e->deferred || now - e->sent_ms <= self->resend_ms) {
			k++;
			continue;
		}
		c = broker_cache_get(self->broker, e->seq);
		if (c != NULL)
			fwd = should_forward(self, p, c, &env);
		else /* purged, or stored and not readable just now */
			fwd = broker_record_gone(self->broker, e->seq) ? FWD_NOT_ITS : FWD_LATER;
		if (fwd == FWD_LATER) {
			e->sent_ms = now; /* again resend_ms later */
			k++;
			continue;
		}
		if (fwd == FWD_NOT_ITS) {
			/* Purged meanwhile (done with, counted), or no longer the
			 * peer's to hold (a registry change, or a damaged record:
			 * looked at again after a rewind). */
			if (c == NULL) {
				p->expired++;
				peer_done_add(p, e->seq);
			}
			drop_inflight(p, k);
			continue;
		}
		rc = forward_one(self, p, c, env);
		blo_envelope_free(&env);
		if (rc != 0 && !forward_failed_for_good(self, p, c, rc))
			break;
		if (rc != 0) {
			drop_inflight(p, k);
			continue;
		}
		e->sent_ms = now;
		k++;
	}
	peer_advance(p);
}

/* Whether a forward that was not refused has had no answer for resend_ms:
 * the link lost it, so the link starts again after its cursor. */
static bool unanswered(const blo_mesh_t *self, const peer_t *p, int64_t now)
{
	for (size_t k = 0; k < p->n_inflight; k++)
		if (!p->inflight[k].deferred)
			return now - p->inflight[k].sent_ms > self->resend_ms;
	return false;
}

void blo_mesh_tick(blo_mesh_t *self, int64_t now)
{
	if (self == NULL)
		return;
	for (size_t i = 0; i < self->n_peers; i++) {
		peer_t *p = &self->peers[i];
		bool up = peer_up(p, now);

		peer_log_flush(p, now);
		if (up != p->was_up) {
			if (up)
				blo_info("mesh.link_up", "link to %s at %s is up", p->id, p->endpoint);
			else
				blo_warn("mesh.link_down", "link to %s at %s is down: %s", p->id, p->endpoint,
					 p->last_error[0] ? p->last_error : "no answer");
			broker_audit_session(self->broker, p->id, up ? "mesh link up" : "mesh link down");
			p->was_up = up;
		}
		if (p->handshake && now - p->last_ping_ms >= MESH_PING_MS) {
			Blonet__Frame f = BLONET__FRAME__INIT;
			Blonet__Ping ping = BLONET__PING__INIT;

			ping.sent_ms = now;
			f.body_case = BLONET__FRAME__BODY_PING;
			f.ping = &ping;
			if (!p->welcomed)
				peer_hello(self, p);
			peer_send(p, &f);
			p->last_ping_ms = now;
		}
		if (unanswered(self, p, now))
			peer_rewind(p);
		else if (peer_up(p, now))
			resend_deferred(self, p, now);
		peer_save(self, p);
	}
}

void blo_mesh_status(blo_mesh_t *self, cJSON *root, uint64_t last_seq)
{
	cJSON *peers = cJSON_AddArrayToObject(root, "peers");
	int64_t now = blo_mono_ms();

	if (self == NULL)
		return;
	for (size_t i = 0; i < self->n_peers; i++) {
		const peer_t *p = &self->peers[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "endpoint", p->endpoint);
		cJSON_AddBoolToObject(o, "connected", peer_up(p, now));
		cJSON_AddNumberToObject(o, "last_contact_ms", (double)blo_mono_to_wall_ms(p->last_contact_ms));
		cJSON_AddNumberToObject(o, "acked_seq", (double)p->acked);
		/* Records not yet done for this peer: an upper bound, since those
		 * it may not receive are skipped as soon as the link is up. */
		cJSON_AddNumberToObject(o, "backlog", (double)(last_seq > p->acked ? last_seq - p->acked : 0));
		cJSON_AddNumberToObject(o, "in_flight", (double)p->n_inflight);
		cJSON_AddNumberToObject(o, "forwarded", (double)p->forwarded);
		cJSON_AddNumberToObject(o, "duplicates", (double)p->duplicates);
		cJSON_AddNumberToObject(o, "rejected", (double)p->rejected);
		cJSON_AddNumberToObject(o, "expired", (double)p->expired);
		if (p->last_error[0])
			cJSON_AddStringToObject(o, "last_error", p->last_error);
		cJSON_AddItemToArray(peers, o);
	}
}

/* ---------------------------------------------------------------- lifecycle */

static int peer_open(blo_mesh_t *self, peer_t *p, const blo_peer_settings_t *ps, blo_err_t *err)
{
	blo_broker_t *b = self->broker;
	const blo_principal_t *peer = blo_registry_find(broker_registry(b), ps->id);
	char monitor_ep[96];
	int one = 1, zero = 0, ivl = 100, ivl_max = 1000, hb = 1000, hb_timeout = 3000, hwm = 0;
	uint64_t cursor = 0;
	int rc;

	if (peer == NULL || peer->role != BLO_ROLE_BROKER)
		return blo_err_set(err, BLO_ECONFIG, "peer \"%s\" is not a broker of the registry", ps->id);
	blo_strlcpy(p->id, ps->id, sizeof(p->id));
	snprintf(p->cursor_name, sizeof(p->cursor_name), "peer/%s", ps->id);
	p->endpoint = strdup(ps->endpoint);
	if (p->endpoint == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	/* A peer seen for the first time gets everything kept that it may
	 * receive: store-and-forward starts at the oldest record. */
	if (blo_journal_cursor_get(b->journal, p->cursor_name, &cursor) == 0)
		p->acked = cursor;
	p->persisted = p->acked;
	p->next_seq = p->acked + 1;
	p->sock = zmq_socket(b->ctx, ZMQ_DEALER);
	if (p->sock == NULL)
		return blo_err_set(err, -errno, "socket: %s", zmq_strerror(errno));
	rc = blo_curve_client_setup(p->sock, b->identity, peer->curve_public, b->max_message_bytes, err);
	if (rc != 0)
		return rc;
	zmq_setsockopt(p->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
	zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(p->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(p->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(p->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
	zmq_setsockopt(p->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof(hb));
	zmq_setsockopt(p->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof(hb_timeout));
	snprintf(monitor_ep, sizeof(monitor_ep), "inproc://blo-mesh-monitor-%s", p->id);
	if (zmq_socket_monitor(p->sock, monitor_ep,
			       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
	    (p->monitor = zmq_socket(b->ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(p->monitor, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_connect(p->monitor, monitor_ep) != 0)
		return blo_err_set(err, -errno, "monitor for peer %s: %s", p->id, zmq_strerror(errno));
	memcpy(p->server_key, peer->curve_public, BLO_CURVE_KEY_BYTES);
	if (zmq_connect(p->sock, p->endpoint) != 0)
		return blo_err_set(err, BLO_ECONFIG, "peer %s: cannot connect to \"%s\": %s", p->id,
				   p->endpoint, zmq_strerror(errno));
	p->linked = true;
	return 0;
}

/* Ends the link's connection; what was in flight goes again on the next. */
static void peer_unlink(peer_t *p)
{
	if (p->linked)
		zmq_disconnect(p->sock, p->endpoint);
	p->linked = false;
	p->handshake = false;
	p->welcomed = false;
	peer_rewind(p);
}

/* Ends the link's connection and makes it again to the server key key
 * (the peer's, read at connect time); why goes into the log line. */
static void peer_relink(peer_t *p, const uint8_t *key, const char *why)
{
	uint8_t k[BLO_CURVE_KEY_BYTES];

	memcpy(k, key, sizeof(k)); /* key may be p->server_key */
	peer_unlink(p);
	if (zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY, k, sizeof(k)) != 0 ||
	    zmq_connect(p->sock, p->endpoint) != 0) {
		snprintf(p->last_error, sizeof(p->last_error), "cannot link again: %s",
			 zmq_strerror(errno));
		blo_error("mesh.relink_failed", "%s: %s", p->id, p->last_error);
		return;
	}
	memcpy(p->server_key, k, sizeof(k));
	p->linked = true;
	blo_info("mesh.relinked", "link to %s at %s made again %s", p->id, p->endpoint, why);
}

void blo_mesh_registry_changed(blo_mesh_t *self)
{
	const blo_registry_t *reg;

	if (self == NULL)
		return;
	reg = broker_registry(self->broker);
	for (size_t i = 0; i < self->n_peers; i++) {
		peer_t *p = &self->peers[i];
		const blo_principal_t *peer = blo_registry_find(reg, p->id);

		if (peer == NULL || peer->revoked || peer->role != BLO_ROLE_BROKER) {
			/* Nothing goes to it (should_forward), and nothing is kept
			 * open with a broker that is not live. */
			if (p->linked) {
				blo_warn("mesh.peer_not_live", "%s is no longer a live broker of registry "
					 "version %" PRIu64 ": link closed", p->id, blo_registry_version(reg));
				snprintf(p->last_error, sizeof(p->last_error),
					 "not a live broker of the registry in force");
				peer_unlink(p);
			}
			continue;
		}
		if (p->linked && memcmp(p->server_key, peer->curve_public, BLO_CURVE_KEY_BYTES) == 0)
			continue;
		/* A new key (or a peer live again): the connection made with the old
		 * key would go on, so it is ended and made anew. The server key is
		 * read at connect time; the socket, its monitor and cursor stay. */
		char why[64];

		snprintf(why, sizeof(why), "with its key of registry version %" PRIu64,
			 blo_registry_version(reg));
		peer_relink(p, peer->curve_public, why);
	}
}

void blo_mesh_relink(blo_mesh_t *self, const char *why)
{
	if (self == NULL)
		return;
	for (size_t i = 0; i < self->n_peers; i++)
		if (self->peers[i].linked)
			peer_relink(&self->peers[i], self->peers[i].server_key, why);
}

int blo_mesh_open(blo_mesh_t **out, blo_broker_t *broker, const blo_broker_settings_t *s,
		  blo_err_t *err)
{
	blo_mesh_t *self;
	int rc = 0;

	*out = NULL;
	if (s->peers.n > MAX_PEERS)
		return blo_err_set(err, BLO_ECONFIG, "%zu peers: at most %d", s->peers.n, MAX_PEERS);
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->broker = broker;
	self->resend_ms = s->limits.mesh_resend_ms > 0 ? s->limits.mesh_resend_ms : 10000;
	self->max_tries = (uint32_t)((s->limits.mesh_give_up_s > 0 ? s->limits.mesh_give_up_s : 3600) *
				     1000 / self->resend_ms);
	if (self->max_tries < 1)
		self->max_tries = 1;
	self->peers = calloc(s->peers.n + 1, sizeof(peer_t));
	if (self->peers == NULL) {
		free(self);
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->peers.n; i++) {
		const blo_peer_settings_t *ps = (const blo_peer_settings_t *)s->peers.v + i;

		self->n_peers++;
		if ((rc = peer_open(self, &self->peers[i], ps, err)) != 0)
			break;
	}
	if (rc != 0)
		blo_mesh_close(&self);
	*out = self;
	return rc;
}

void blo_mesh_close(blo_mesh_t **self_p)
{
	blo_mesh_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	for (size_t i = 0; i < self->n_peers; i++) {
		peer_t *p = &self->peers[i];

		peer_log_flush(p, INT64_MAX);
		if (p->sock != NULL) {
			zmq_socket_monitor(p->sock, NULL, 0);
			zmq_close(p->sock);
		}
		if (p->monitor != NULL)
			zmq_close(p->monitor);
		free(p->endpoint);
		free(p->done);
	}
	free(self->peers);
	free(self);
	*self_p = NULL;
}

/* ---------------------------------------------------------------- verify (workers) */

void blo_mesh_verify_forward(blo_broker_t *broker, const blo_registry_t *reg, job_t *job)
{
	const ProtobufCBinaryData *bytes = &job->frame->forward->envelope;
	const blo_principal_t *sender = blo_registry_find(reg, job->principal);
	const blo_principal_t *me = blo_registry_find(reg, broker->id);
	Blonet__Envelope *env = NULL;
	Blonet__Alert *alert = NULL;
	Blonet__Origin ref = BLONET__ORIGIN__INIT;
	char ref_principal[BLO_PRINCIPAL_ID_MAX], ref_country[3], ref_site[BLO_SITE_MAX];
	bool has_ref = false;
	blo_err_t err = {0};
	int rc;

	job->status = BLONET__PUBLISH_STATUS__ACCEPTED;
	job->peer_seq = job->frame->forward->seq;
	if (sender == NULL || sender->revoked || sender->role != BLO_ROLE_BROKER || me == NULL) {
		broker_reject(job, BLONET__REJECT_REASON__NOT_ENTITLED, "%s is not a live broker",
			      job->principal);
		return;
	}
	if (bytes->len > (size_t)broker->max_message_bytes || bytes->len > BLO_ENVELOPE_MAX_BYTES) {
		broker_reject(job, BLONET__REJECT_REASON__TOO_LARGE, "envelope of %zu bytes", bytes->len);
		return;
	}
	if ((rc = blo_envelope_parse(&env, bytes->data, bytes->len, &err)) != 0) {
		broker_reject(job, broker_undecoded_reason(rc), "%s", err.msg);
		goto out;
	}
	/* The sender vouches for the alert with the last hop. */
	if (env->n_trace == 0 || strcmp(env->trace[env->n_trace - 1]->broker, sender->id) != 0) {
		broker_reject(job, BLONET__REJECT_REASON__BAD_TRACE,
			      "the hop trace does not end with the sending broker %s", sender->id);
		goto out;
	}
	rc = blo_envelope_verify(env, reg, &alert, NULL, &err);
	if (rc != 0) {
		broker_reject(job,
			      rc == BLO_ESIGNATURE  ? BLONET__REJECT_REASON__BAD_SIGNATURE
			      : rc == BLO_EVALIDATE ? BLONET__REJECT_REASON__INVALID
			      : rc == BLO_EREVOKED  ? BLONET__REJECT_REASON__REVOKED
			      : rc == BLO_ENOTFOUND ? BLONET__REJECT_REASON__UNKNOWN_PRINCIPAL
			      : rc == BLO_EPERM	    ? BLONET__REJECT_REASON__BAD_TRACE
			      : rc == BLO_ENOMEM    ? BLONET__REJECT_REASON__INTERNAL
						    : BLONET__REJECT_REASON__MALFORMED,
			      "%s", err.msg);
		goto out;
	}
	memcpy(job->id, alert->id.data, BLO_ID_BYTES);
	job->has_id = true;
	blo_strlcpy(job->origin, alert->origin->principal, sizeof(job->origin));
	if (alert->n_references > 0 &&
	    (alert->type == BLONET__MESSAGE_TYPE__ACK || alert->type == BLONET__MESSAGE_TYPE__RESPONSE)) {
		rc = broker_referenced_origin(broker->journal, alert->references[0].data, ref_principal,
					      ref_country, ref_site);
		if (broker_read_passing(rc)) {
			/* Retried without the limit UNKNOWN_REFERENCE has. */
			broker_reject(job, BLONET__REJECT_REASON__INTERNAL,
				      "the alert this reply answers cannot be read just now (%s)",
				      blo_strerror(rc));
			goto out;
		}
		if (rc != 0) {
			/* The alert it answers may be in the same window, not yet
			 * committed: the sender tries again later. */
			broker_reject(job, BLONET__REJECT_REASON__UNKNOWN_REFERENCE,
				      "a reply to an alert this broker does not hold (yet)");
			goto out;
		}
		ref.principal = ref_principal;
		ref.country = ref_country;
		ref.site = ref_site;
		has_ref = true;
	}
	/* Neither a relay through a country that may not hold the alert, nor a
	 * delivery into one. */
	if (!blo_policy_may_receive(alert, sender, reg, has_ref ? &ref : NULL)) {
		broker_reject(job, BLONET__REJECT_REASON__NOT_ENTITLED,
			      "%s (%s) may not hold this alert of %s, so it may not relay it",
			      sender->id, sender->country, alert->origin->country);
		goto out;
	}
	if (!blo_policy_may_receive(alert, me, reg, has_ref ? &ref : NULL)) {
		broker_reject(job, BLONET__REJECT_REASON__NOT_ENTITLED,
			      "this broker's country %s may not hold this alert of %s", me->country,
			      alert->origin->country);
		goto out;
	}
out:
	blo_alert_free(&alert);
	blo_envelope_free(&env);
}
