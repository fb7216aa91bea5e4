/*
 * blo_client: a DEALER to the broker, with Hello on every handshake,
 * re-sending of unacknowledged publishes and re-subscription.
 */
#include "blo_client.h"

#include "blo_codec.h"
#include "blo_envelope.h"
#include "blo_util.h"
#include "blo_wire.h"
#include "blo_zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define DEFAULT_RESEND_MS 3000
/* A Hello the broker had no memory to read goes again after this, doubling
 * up to the max while it keeps saying so. */
#define HELLO_BACKOFF_MIN_MS 250
#define HELLO_BACKOFF_MAX_MS 4000
/* While a session is refused, its refusals (one per frame and per retry of
 * the Hello) reach the caller at most this often (the first at once). */
#define REFUSAL_REPEAT_MS 60000
#define DEFAULT_CREDIT 256
#define PROTOCOL_VERSION 1
/* Publishes sent while others are unanswered go out in Batch frames of at
 * most so many items and bytes (and at most what the broker's Welcome
 * allows); acks may come back in batches of at most BATCH_BYTES. */
#define BATCH_MAX 256
#define BATCH_BYTES (64u * 1024u)
#define FREED_FRONT_MAX 64

typedef struct {
	uint64_t correlation; /* 0: acknowledged, slot free */
	uint8_t *envelope;
	size_t len;
	int64_t sent_ms;      /* blo_mono_ms; 0: not sent on the current connection */
	uint32_t unanswered;  /* sends not answered (those of a lost connection never are) */
	bool refused;         /* an answer came, and it was a refusal for now */
} pending_t;

typedef struct {
	char *durable;
	uint8_t *filter;      /* serialized Filter, or NULL */
	size_t filter_len;
	uint32_t credit;
	bool subscribed;        /* the first Subscribe went out */
	uint64_t first_conn;    /* ...on this connection (blo_client.conn) */
	Blonet__StartAt start;  /* for the first Subscribe */
	uint64_t from_seq;
	int64_t from_ms;
} subscription_t;

struct blo_client {
	void *ctx;
	void *sock;
	void *monitor;
	char *endpoint;
	char broker_id[BLO_PRINCIPAL_ID_MAX];
	uint8_t broker_public[BLO_CURVE_KEY_BYTES];
	const blo_identity_t *identity;
	blo_identity_t *identity_owned;
	blo_registry_t *registry_owned;
	char *software;
	int resend_ms;

	bool connected;   /* CURVE handshake done, not disconnected since */
	bool welcomed;
	bool refused;     /* the broker's ZAP handler refused our key */
	bool ever_connected;
	uint64_t conn;    /* connections made so far: which one is this */
	/* The broker refused this connection a session (ERROR_TOO_MANY before
	 * its Welcome: the principal holds the most it may), so nothing sent
	 * on it was taken. Only a Hello goes, after a pause, until one is
	 * welcomed; then the subscriptions and publishes go again. */
	bool held_back;
	uint64_t hello_corr; /* the correlation of the last Hello: its answers carry it */
	/* While held back: when a refusal last reached the caller (0: none
	 * since the last Welcome), and the last refusal's text, which
	 * blo_client_wait_ready reports even if it reached another caller. */
	int64_t refusal_passed_ms;
	char refusal[200];
	char principal[BLO_PRINCIPAL_ID_MAX];

	uint64_t next_correlation;
	pending_t *pending; /* ordered by correlation; freed slots have 0 */
	size_t n_pending, cap_pending, live_pending;

	subscription_t *subs;
	size_t n_subs;

	int64_t last_resend_check_ms;
	blo_client_stats_t stats;

	uint32_t max_message_bytes; /* what this socket takes in one message */
	bool offer_refused;         /* the broker refused a Hello offering batches */
	int64_t hello_due_ms;       /* a Hello the broker could not read goes again then; 0: none */
	int hello_backoff_ms;       /* ...this long after its Error, doubling while they come */
	uint32_t batch_max;         /* the Welcome's max_batch_bytes, capped; 0: none */
	blo_wire_batch_t out;       /* publishes waiting to leave in one Batch */
	uint64_t out_corr[BATCH_MAX]; /* their correlations */
	Blonet__Frame **inbox;      /* frames for the caller, taken out of a Batch */
	size_t in_head, n_in, cap_in;
};

/* ---------------------------------------------------------------- sending */

/* -EAGAIN when not connected (ZMQ_IMMEDIATE) or the pipe is full: the
 * client's state says what to send again, later. */
static int send_frame(blo_client_t *self, Blonet__Frame *f)
{
	return blo_wire_send(self->sock, f, ZMQ_DONTWAIT);
}

static int send_hello(blo_client_t *self)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Hello h = BLONET__HELLO__INIT;

	h.protocol = PROTOCOL_VERSION;
	h.software = self->software;
	/* A broker of a build before batches refuses the field as unknown:
	 * then the Hello goes again without it (on_frame). */
	if (!self->offer_refused)
		h.max_batch_bytes = self->max_message_bytes < BATCH_BYTES ? self->max_message_bytes
									  : BATCH_BYTES;
	f.correlation = self->hello_corr = self->next_correlation++;
	f.body_case = BLONET__FRAME__BODY_HELLO;
	f.hello = &h;
	return send_frame(self, &f);
}

static pending_t *find_pending(blo_client_t *self, uint64_t correlation);

/* The first n publishes of the Batch count as not sent: resend_overdue
 * sends them again. */
static void mark_unsent(blo_client_t *self, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pending_t *p = find_pending(self, self->out_corr[i]);

		if (p != NULL && p->sent_ms != 0) {
			p->sent_ms = 0;
			if (p->unanswered > 0)
				p->unanswered--;
		}
	}
}

/* Empties the Batch of publishes waiting without sending it. */
static void drop_out(blo_client_t *self)
{
	mark_unsent(self, self->out.n);
	blo_wire_batch_clear(&self->out);
}

/* Sends the Batch of publishes waiting (it is empty after, sent or not). */
static int flush_out(blo_client_t *self)
{
	size_t n = self->out.n;
	int rc = blo_wire_batch_send(&self->out, self->sock, ZMQ_DONTWAIT);

	if (rc != 0)
		mark_unsent(self, n);
	return rc;
}

/* A publish leaves at once when it is the only one unanswered (a quiet
 * client waits for nobody); else, with a broker that takes batches, it
 * joins the Batch that leaves when full, when blo_client_next has nothing
 * already received to return, or on blo_client_close. */
static int send_publish(blo_client_t *self, pending_t *p)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Publish pub = BLONET__PUBLISH__INIT;
	Blonet__BatchItem item = BLONET__BATCH_ITEM__INIT;
	int rc;

	pub.envelope.data = p->envelope;
	pub.envelope.len = p->len;
	item.correlation = p->correlation;
	item.body_case = BLONET__BATCH_ITEM__BODY_PUBLISH;
	item.publish = &pub;
	if (self->batch_max > 0 && self->live_pending > 1) {
		size_t bytes = blonet__batch_item__get_packed_size(&item);
		blo_wire_batch_t none = {0};

		if (self->out.n == BATCH_MAX ||
		    (self->out.n > 0 && blo_wire_batch_size_with(&self->out, bytes) > self->batch_max)) {
			if ((rc = flush_out(self)) != 0)
				return rc;
		}
		if (blo_wire_batch_size_with(&none, bytes) <= self->batch_max &&
		    blo_wire_batch_add(&self->out, &item) == 0) {
			self->out_corr[self->out.n - 1] = p->correlation;
			p->sent_ms = blo_mono_ms();
			p->unanswered++;
			return 0;
		}
		/* Too big for a batch (or no memory for one): alone, after
		 * those before it. */
		if ((rc = flush_out(self)) != 0)
			return rc;
	}
	f.correlation = p->correlation;
	f.body_case = BLONET__FRAME__BODY_PUBLISH;
	f.publish = &pub;
	rc = send_frame(self, &f);
	if (rc == 0) {
		p->sent_ms = blo_mono_ms();
		p->unanswered++;
	}
	return rc;
}

static int send_subscribe(blo_client_t *self, const subscription_t *s, Blonet__StartAt start,
			  uint64_t from_seq, int64_t from_ms)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Subscribe sub = BLONET__SUBSCRIBE__INIT;
	Blonet__Filter *filter = NULL;
	int rc;

	if (s->filter != NULL) {
		filter = blonet__filter__unpack(NULL, s->filter_len, s->filter);
		if (filter == NULL)
			return BLO_EPARSE;
	}
	sub.durable = s->durable;
	sub.filter = filter;
	sub.start = start;
	sub.from_seq = from_seq;
	sub.from_ms = from_ms;
	sub.credit = s->credit;
	f.body_case = BLONET__FRAME__BODY_SUBSCRIBE;
	f.subscribe = &sub;
	rc = send_frame(self, &f);
	if (filter != NULL)
		blonet__filter__free_unpacked(filter, NULL);
	return rc;
}

/* The first Subscribe starts where the caller asked; later ones (after a
 * reconnection) resume durable subscriptions after their cursor and
 * live-only ones from now. */
static void subscribe_again(blo_client_t *self, subscription_t *s)
{
	int rc;

	if (self->held_back)
		return; /* it goes with the rest once welcomed */
	if (!s->subscribed)
		rc = send_subscribe(self, s, s->start, s->from_seq, s->from_ms);
	else
		rc = send_subscribe(self, s,
				    s->durable[0] ? BLONET__START_AT__START_LAST_ACKED
						  : BLONET__START_AT__START_NOW,
				    0, 0);
	if (rc == 0 && !s->subscribed) {
		s->subscribed = true;
		s->first_conn = self->conn;
	}
}

/* Every subscription again (durable ones resume after their cursor), and
 * every unacknowledged publish. */
static void send_everything(blo_client_t *self)
{
	for (size_t i = 0; i < self->n_subs; i++)
		subscribe_again(self, &self->subs[i]);
	for (size_t i = 0; i < self->n_pending; i++) {
		pending_t *p = &self->pending[i];

		if (p->correlation == 0)
			continue;
		if (p->sent_ms != 0)
			self->stats.resent++;
		p->sent_ms = 0;
		if (send_publish(self, p) != 0)
			break;
	}
}

/* After a handshake: Hello, then everything. */
static void on_connected(blo_client_t *self)
{
	/* Batches wait for this connection's Welcome. */
	drop_out(self);
	self->batch_max = 0;
	self->connected = true;
	self->conn++;
	self->held_back = false;
	self->hello_due_ms = 0; /* the Hello goes now */
	self->hello_backoff_ms = HELLO_BACKOFF_MIN_MS;
	if (self->ever_connected)
		self->stats.reconnects++;
	self->ever_connected = true;
	if (send_hello(self) != 0)
		return;
	send_everything(self);
}

/* The broker refused this connection a session: what went on it was not
 * taken. A subscription whose first Subscribe went on it starts again as
 * its caller asked, once welcomed. */
static void hold_back(blo_client_t *self)
{
	self->held_back = true;
	drop_out(self);
	for (size_t i = 0; i < self->n_subs; i++)
		if (self->subs[i].subscribed && self->subs[i].first_conn == self->conn)
			self->subs[i].subscribed = false;
}

/* Publishes whose ack is overdue (or that could not be sent) go again. */
static void resend_overdue(blo_client_t *self)
{
	int64_t now = blo_mono_ms();

	if (!self->connected || self->held_back)
		return;
	for (size_t i = 0; i < self->n_pending; i++) {
		pending_t *p = &self->pending[i];

		if (p->correlation == 0)
			continue;
		if (p->sent_ms != 0 && now - p->sent_ms < self->resend_ms)
			continue;
		if (p->sent_ms != 0)
			self->stats.resent++;
		if (send_publish(self, p) != 0)
			break;
	}
}

/* ---------------------------------------------------------------- pending */

static pending_t *find_pending(blo_client_t *self, uint64_t correlation)
{
	size_t lo = 0, hi = self->n_pending;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (self->pending[mid].correlation == 0) {
			/* A freed slot: correlations around it are still ordered, so
			 * look at its nearest live neighbour. */
			size_t k = mid;

			while (k < hi && self->pending[k].correlation == 0)
				k++;
			if (k == hi) {
				hi = mid;
				continue;
			}
			if (self->pending[k].correlation == correlation)
				return &self->pending[k];
			if (self->pending[k].correlation < correlation)
				lo = k + 1;
			else
				hi = mid;
			continue;
		}
		if (self->pending[mid].correlation == correlation)
			return &self->pending[mid];
		if (self->pending[mid].correlation < correlation)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void release_pending(blo_client_t *self, pending_t *p)
{
	free(p->envelope);
	p->envelope = NULL;
	p->correlation = 0;
	self->live_pending--;
	/* Drop freed slots from the front so the array does not grow: once
	 * there are FREED_FRONT_MAX of them (or nothing else), since moving the
	 * array for each ack would cost more than the publish. find_pending
	 * steps over them. */
	size_t k = 0;

	while (k < self->n_pending && k < FREED_FRONT_MAX && self->pending[k].correlation == 0)
		k++;
	if (k == FREED_FRONT_MAX || (k > 0 && k == self->n_pending)) {
		memmove(self->pending, self->pending + k, (self->n_pending - k) * sizeof(pending_t));
		self->n_pending -= k;
	}
}

static bool transient(Blonet__RejectReason reason)
{
	return reason == BLONET__REJECT_REASON__JOURNAL_FULL ||
	       reason == BLONET__REJECT_REASON__SHUTTING_DOWN ||
	       reason == BLONET__REJECT_REASON__INTERNAL ||
	       reason == BLONET__REJECT_REASON__OVERLOADED;
}

bool blo_client_ack_is_final(const Blonet__PublishAck *ack)
{
	return !(ack->status == BLONET__PUBLISH_STATUS__REJECTED && transient(ack->reason));
}

/* Returns true if the frame is for the caller. */
static bool on_frame(blo_client_t *self, Blonet__Frame *f)
{
	switch (f->body_case) {
	case BLONET__FRAME__BODY_WELCOME:
		self->welcomed = true;
		self->hello_due_ms = 0;
		self->hello_backoff_ms = HELLO_BACKOFF_MIN_MS;
		self->refusal_passed_ms = 0;
		self->refusal[0] = '\0';
		self->batch_max = f->welcome->max_batch_bytes < BATCH_BYTES ? f->welcome->max_batch_bytes
									    : BATCH_BYTES;
		blo_strlcpy(self->principal, f->welcome->principal, sizeof(self->principal));
		if (self->held_back) {
			/* A session at last: what was refused goes again. */
			self->held_back = false;
			send_everything(self);
		}
		return true;
	case BLONET__FRAME__BODY_PUBLISH_ACK: {
		pending_t *p = find_pending(self, f->correlation);
		Blonet__PublishAck *ack = f->publish_ack;

		if (p == NULL)
			return false; /* an ack for a publish already acknowledged */
		if (ack->status == BLONET__PUBLISH_STATUS__REJECTED && transient(ack->reason)) {
			/* Kept: resend_overdue sends it again after resend_ms. The
			 * caller sees the refusal (e.g. to report a full journal). */
			self->stats.transient_refusals++;
			p->sent_ms = blo_mono_ms();
			p->refused = true;
			if (p->unanswered > 0)
				p->unanswered--;
			return true;
		}
		release_pending(self, p);
		return true;
	}
	case BLONET__FRAME__BODY_ERROR: {
		bool quiet = false;

		/* Before the Welcome, a frame the broker could not read is the
		 * Hello: a broker older than batches refuses its offer. A frame
		 * it had no memory to read (ERROR_INTERNAL, which cannot say
		 * which) may be the Hello: it goes again as it was, after a
		 * pause that doubles while such Errors come, so that a broker
		 * short of memory is not answered at once (maybe_resend).
		 * Unacknowledged publishes go again after resend_ms anyway.
		 * ERROR_TOO_MANY to the Hello: no session for this connection
		 * (hold_back); the Hello goes again likewise. A publish
		 * refused so was not taken: it goes again once welcomed. The
		 * broker refuses every frame of such a connection: the caller
		 * sees the first refusal, then one a minute
		 * (REFUSAL_REPEAT_MS), not one per frame and retry. */
		if (!self->welcomed && f->error->code == BLONET__ERROR_CODE__ERROR_TOO_MANY) {
			pending_t *p = f->correlation != 0 ? find_pending(self, f->correlation) : NULL;
			int64_t now = blo_mono_ms();

			if (p != NULL && p->sent_ms != 0) {
				p->sent_ms = 0;
				if (p->unanswered > 0)
					p->unanswered--;
			}
			if (!self->held_back && f->correlation == self->hello_corr)
				hold_back(self);
			/* Held back, every frame of the connection is refused
			 * alike. (Else it is a refusal of its own: a Subscribe's
			 * after a Hello the broker could not read.) */
			if (self->held_back) {
				if (f->error->text != NULL)
					blo_strlcpy(self->refusal, f->error->text,
						    sizeof(self->refusal));
				if (self->refusal_passed_ms != 0 &&
				    now - self->refusal_passed_ms < REFUSAL_REPEAT_MS)
					quiet = true;
				else
					self->refusal_passed_ms = now;
			}
		}
		if (!self->welcomed && !self->offer_refused &&
		    f->error->code == BLONET__ERROR_CODE__ERROR_MALFORMED) {
			self->offer_refused = true;
			send_hello(self);
		} else if (!self->welcomed && self->hello_due_ms == 0 &&
			   (f->error->code == BLONET__ERROR_CODE__ERROR_INTERNAL ||
			    (self->held_back && f->correlation == self->hello_corr))) {
			self->hello_due_ms = blo_mono_ms() + self->hello_backoff_ms;
			if (self->hello_backoff_ms < HELLO_BACKOFF_MAX_MS)
				self->hello_backoff_ms *= 2;
		}
		return !quiet;
	}
	case BLONET__FRAME__BODY_PING: {
		/* The broker checking that we are still here. */
		Blonet__Frame rf = BLONET__FRAME__INIT;
		Blonet__Pong pong = BLONET__PONG__INIT;

		pong.sent_ms = f->ping->sent_ms;
		rf.correlation = f->correlation;
		rf.body_case = BLONET__FRAME__BODY_PONG;
		rf.pong = &pong;
		send_frame(self, &rf);
		return false;
	}
	default:
		return true;
	}
}

/* ---------------------------------------------------------------- monitor */

static void drain_monitor(blo_client_t *self)
{
	for (;;) {
		zmq_msg_t ev, addr;
		uint16_t event;

		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, self->monitor, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		memcpy(&event, zmq_msg_data(&ev), sizeof(event));
		zmq_msg_close(&ev);
		zmq_msg_init(&addr);
		zmq_msg_recv(&addr, self->monitor, 0);
		zmq_msg_close(&addr);
		switch (event) {
		case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
			self->refused = false;
			on_connected(self);
			break;
		case ZMQ_EVENT_DISCONNECTED:
			self->connected = false;
			self->welcomed = false;
			drop_out(self);
			self->batch_max = 0;
			break;
		case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
			self->refused = true;
			break;
		default:
			break;
		}
	}
}

/* ---------------------------------------------------------------- public */

int blo_client_open(blo_client_t **out, const blo_client_opts_t *opts, blo_err_t *err)
{
	blo_client_t *self;
	char monitor_ep[64];
	int zero = 0, one = 1, ivl = 100, ivl_max = 2000, hb = 1000, hb_timeout = 5000;
	int hwm = 0;
	int rc = 0;

	*out = NULL;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->identity = opts->identity;
	self->resend_ms = opts->resend_ms > 0 ? opts->resend_ms : DEFAULT_RESEND_MS;
	self->hello_backoff_ms = HELLO_BACKOFF_MIN_MS;
	self->next_correlation = 1;
	self->endpoint = strdup(opts->endpoint);
	self->software = strdup(opts->software != NULL ? opts->software : "blonet");
	if (self->endpoint == NULL || self->software == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	blo_strlcpy(self->broker_id, opts->broker_id != NULL ? opts->broker_id : "broker",
		    sizeof(self->broker_id));
	memcpy(self->broker_public, opts->broker_curve_public, BLO_CURVE_KEY_BYTES);

	self->ctx = zmq_ctx_new();
	self->sock = self->ctx != NULL ? zmq_socket(self->ctx, ZMQ_DEALER) : NULL;
	if (self->sock == NULL) {
		rc = blo_err_set(err, -errno, "cannot create a socket: %s", zmq_strerror(errno));
		goto out;
	}
	self->max_message_bytes =
		opts->max_message_bytes > 0 && opts->max_message_bytes < BLO_FRAME_MAX_BYTES
			? (uint32_t)opts->max_message_bytes
			: BLO_FRAME_MAX_BYTES;
	rc = blo_curve_client_setup(self->sock, self->identity, self->broker_public,
				    opts->max_message_bytes > 0 ? opts->max_message_bytes
								: BLO_FRAME_MAX_BYTES,
				    err);
	if (rc != 0)
		goto out;
	/* Never queue onto a connection that is not up: a send then fails
	 * with EAGAIN and the publish stays pending until the handshake. */
	zmq_setsockopt(self->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
	zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(self->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(self->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(self->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(self->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
	zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof(hb));
	zmq_setsockopt(self->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof(hb_timeout));

	snprintf(monitor_ep, sizeof(monitor_ep), "inproc://blo-client-monitor-%p", (void *)self);
	if (zmq_socket_monitor(self->sock, monitor_ep,
			       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
				       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
	    (self->monitor = zmq_socket(self->ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(self->monitor, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_connect(self->monitor, monitor_ep) != 0) {
		rc = blo_err_set(err, -errno, "cannot monitor the broker connection: %s",
				 zmq_strerror(errno));
		goto out;
	}
	if (zmq_connect(self->sock, self->endpoint) != 0) {
		rc = blo_err_set(err, BLO_ECONFIG, "cannot connect to broker endpoint \"%s\": %s",
				 self->endpoint, zmq_strerror(errno));
		goto out;
	}
out:
	if (rc != 0)
		blo_client_close(&self);
	*out = self;
	return rc;
}

int blo_client_open_config(blo_client_t **out, const char *config_path, const char *software,
			   blo_err_t *err)
{
	blo_client_settings_t s;
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	blo_identity_t *identity = NULL;
	blo_registry_t *registry = NULL;
	const blo_principal_t *broker, *me;
	blo_client_opts_t opts = {0};
	int rc;

	*out = NULL;
	if ((rc = blo_client_settings_load(&s, config_path, err)) != 0)
		goto out;
	if ((rc = blo_settings_authority(s.authority, authority, err)) != 0)
		goto out;
	if ((rc = blo_identity_load(&identity, s.identity, err)) != 0)
		goto out;
	if (strcmp(blo_identity_id(identity), s.id) != 0) {
		rc = blo_err_set(err, BLO_ECONFIG, "%s: identity file %s is of \"%s\", not \"%s\"",
				 config_path, s.identity, blo_identity_id(identity), s.id);
		goto out;
	}
	if ((rc = blo_registry_load(&registry, s.registry, authority, err)) != 0)
		goto out;
	me = blo_registry_find(registry, s.id);
	if (me == NULL || me->revoked ||
	    memcmp(me->curve_public, blo_identity_public(identity)->curve_public, BLO_CURVE_KEY_BYTES) != 0) {
		rc = blo_err_set(err, BLO_EKEY,
				 "%s: principal \"%s\" is %s in the registry",
				 config_path, s.id,
				 me == NULL ? "missing" : me->revoked ? "revoked" : "registered with other keys");
		goto out;
	}
	broker = blo_registry_find(registry, s.broker.id);
	if (broker == NULL || broker->role != BLO_ROLE_BROKER) {
		rc = blo_err_set(err, BLO_ECONFIG, "%s: broker \"%s\" is not a broker of the registry",
				 config_path, s.broker.id);
		goto out;
	}
	opts.endpoint = s.broker.endpoint;
	opts.broker_id = broker->id;
	opts.broker_curve_public = broker->curve_public;
	opts.identity = identity;
	opts.software = software;
	if ((rc = blo_client_open(out, &opts, err)) != 0)
		goto out;
	(*out)->identity_owned = identity;
	(*out)->registry_owned = registry;
	identity = NULL;
	registry = NULL;
out:
	blo_identity_destroy(&identity);
	blo_registry_destroy(&registry);
	blo_client_settings_free(&s);
	return rc;
}

void blo_client_close(blo_client_t **self_p)
{
	blo_client_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	if (self->sock != NULL)
		flush_out(self);
	if (self->monitor != NULL)
		zmq_close(self->monitor);
	if (self->sock != NULL) {
		/* Give acks and other frames already queued a moment to leave. */
		int linger = 500;

		zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof(linger));
		zmq_socket_monitor(self->sock, NULL, 0);
		zmq_close(self->sock);
	}
	if (self->ctx != NULL)
		zmq_ctx_term(self->ctx);
	for (size_t i = 0; i < self->n_pending; i++)
		free(self->pending[i].envelope);
	free(self->pending);
	blo_wire_batch_free(&self->out);
	for (size_t i = 0; i < self->n_in; i++)
		blo_message_free((ProtobufCMessage **)&self->inbox[(self->in_head + i) % self->cap_in]);
	free(self->inbox);
	for (size_t i = 0; i < self->n_subs; i++) {
		free(self->subs[i].durable);
		free(self->subs[i].filter);
	}
	free(self->subs);
	free(self->endpoint);
	free(self->software);
	blo_identity_destroy(&self->identity_owned);
	blo_registry_destroy(&self->registry_owned);
	free(self);
	*self_p = NULL;
}

static Blonet__Frame *inbox_pop(blo_client_t *self)
{
	Blonet__Frame *f;

	if (self->n_in == 0)
		return NULL;
	f = self->inbox[self->in_head];
	self->in_head = (self->in_head + 1) % self->cap_in;
	self->n_in--;
	return f;
}

/* Room in the inbox for n more frames. */
static int inbox_reserve(blo_client_t *self, size_t n)
{
	size_t cap = self->cap_in > 0 ? self->cap_in : 64;
	Blonet__Frame **grown;

	if (self->n_in + n <= self->cap_in)
		return 0;
	while (cap < self->n_in + n)
		cap *= 2;
	grown = malloc(cap * sizeof(*grown));
	if (grown == NULL)
		return BLO_ENOMEM;
	for (size_t i = 0; i < self->n_in; i++)
		grown[i] = self->inbox[(self->in_head + i) % self->cap_in];
	free(self->inbox);
	self->inbox = grown;
	self->cap_in = cap;
	self->in_head = 0;
	return 0;
}

/* The acks of a Batch, each as a frame of its own, into the inbox. They
 * are handled (on_frame) only as the caller takes them (inbox_next), so
 * that an ack counts as done, and the publish leaves the pending ones,
 * when the caller sees it, as with an ack that came alone. Without
 * memory for them the batch is dropped whole: its publishes stay pending
 * and are sent again. */
static void unbatch(blo_client_t *self, Blonet__Batch *batch)
{
	if (inbox_reserve(self, batch->n_items) != 0)
		return;
	for (size_t i = 0; i < batch->n_items; i++) {
		Blonet__BatchItem *item = batch->items[i];
		Blonet__Frame *f;

		/* A broker batches only acks. */
		if (item->body_case != BLONET__BATCH_ITEM__BODY_PUBLISH_ACK ||
		    (f = blo_wire_item_frame(item)) == NULL)
			continue;
		self->inbox[(self->in_head + self->n_in++) % self->cap_in] = f;
	}
}

/* The next frame of the inbox that is for the caller, handled; or NULL. */
static Blonet__Frame *inbox_next(blo_client_t *self)
{
	Blonet__Frame *f;

	while ((f = inbox_pop(self)) != NULL) {
		if (on_frame(self, f))
			return f;
		blo_message_free((ProtobufCMessage **)&f);
	}
	return NULL;
}

/* Reads one message if one is waiting: true if it read one, with *frame
 * set when it is (or, for a Batch, begins with) one for the caller. */
static bool try_recv(blo_client_t *self, Blonet__Frame **frame)
{
	zmq_msg_t msg;
	Blonet__Frame *f = NULL;
	bool got;

	zmq_msg_init(&msg);
	got = zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT) >= 0;
	/* A frame we cannot read from our own broker is dropped: the
	 * protocol's re-sending covers what it carried. */
	if (got && blo_wire_decode(&msg, &f, NULL) == 0) {
		if (f->body_case == BLONET__FRAME__BODY_BATCH) {
			unbatch(self, f->batch);
			blo_message_free((ProtobufCMessage **)&f);
			*frame = inbox_next(self);
		} else if (on_frame(self, f)) {
			*frame = f;
		} else {
			blo_message_free((ProtobufCMessage **)&f);
		}
	}
	zmq_msg_close(&msg);
	return got;
}

/* Overdue publishes are looked for at most every 100 ms: the scan walks
 * every pending publish. */
static void maybe_resend(blo_client_t *self)
{
	int64_t now = blo_mono_ms();

	if (now - self->last_resend_check_ms < 100)
		return;
	self->last_resend_check_ms = now;
	if (self->hello_due_ms != 0 && now >= self->hello_due_ms) {
		self->hello_due_ms = 0;
		if (self->connected && !self->welcomed)
			send_hello(self);
	}
	resend_overdue(self);
	/* What it put in a Batch leaves now, not at the caller's next wait. */
	flush_out(self);
}

/* Returns a frame for the caller in *frame, or NULL after up to timeout_ms.
 * Frames already queued are taken without polling. */
static int poll_once(blo_client_t *self, int timeout_ms, Blonet__Frame **frame, blo_err_t *err)
{
	zmq_pollitem_t items[2] = {
		{.socket = self->sock, .events = ZMQ_POLLIN},
		{.socket = self->monitor, .events = ZMQ_POLLIN},
	};
	int n;

	*frame = NULL;
	/* The rest of a Batch first: publishes sent meanwhile gather into one
	 * Batch, which leaves before this waits for anything. */
	if ((*frame = inbox_next(self)) != NULL) {
		maybe_resend(self);
		return 0;
	}
	flush_out(self);
	if (try_recv(self, frame)) {
		maybe_resend(self);
		return 0;
	}
	n = zmq_poll(items, 2, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return blo_err_set(err, -errno, "poll: %s", zmq_strerror(errno));
	}
	if (items[1].revents & ZMQ_POLLIN)
		drain_monitor(self);
	if (items[0].revents & ZMQ_POLLIN)
		try_recv(self, frame);
	maybe_resend(self);
	return 0;
}

int blo_client_next(blo_client_t *self, int timeout_ms, Blonet__Frame **frame, blo_err_t *err)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : blo_mono_ms() + timeout_ms;
	int rc;

	*frame = NULL;
	for (;;) {
		int64_t now = blo_mono_ms();
		int wait = timeout_ms < 0 ? 250 : (int)(deadline - now);

		if (wait < 0)
			wait = 0;
		/* Wake at least every 250 ms to re-send overdue publishes. */
		if (wait > 250)
			wait = 250;
		if ((rc = poll_once(self, wait, frame, err)) != 0)
			return rc;
		if (*frame != NULL)
			return 0;
		if (self->refused && !self->connected)
			return blo_err_set(err, BLO_EPERM,
					   "broker %s refused this principal's key (unknown or revoked)",
					   self->broker_id);
		if (blo_mono_ms() >= deadline)
			return 0;
	}
}

int blo_client_wait_ready(blo_client_t *self, int timeout_ms, blo_err_t *err)
{
	int64_t deadline = blo_mono_ms() + timeout_ms;

	while (!self->welcomed) {
		Blonet__Frame *f = NULL;
		int64_t left = deadline - blo_mono_ms();
		int rc;

		/* Held back: the broker's refusal says why no Welcome came. */
		if (left <= 0 && self->held_back && self->refusal[0] != '\0')
			return blo_err_set(err, -ETIMEDOUT, "broker %s at %s: no session within %d ms: %s",
					   self->broker_id, self->endpoint, timeout_ms,
					   self->refusal);
		if (left <= 0)
			return blo_err_set(err, -ETIMEDOUT, "no answer from broker %s at %s within %d ms",
					   self->broker_id, self->endpoint, timeout_ms);
		rc = blo_client_next(self, (int)left, &f, err);
		if (rc != 0)
			return rc;
		/* Frames before the Welcome are dropped. */
		blo_message_free((ProtobufCMessage **)&f);
	}
	return 0;
}

int blo_client_publish(blo_client_t *self, const uint8_t *envelope, size_t len,
		       uint64_t *correlation, blo_err_t *err)
{
	pending_t *p;

	if (self->n_pending == self->cap_pending) {
		size_t cap = self->cap_pending ? self->cap_pending * 2 : 64;
		pending_t *grown = realloc(self->pending, cap * sizeof(*grown));

		if (grown == NULL)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		self->pending = grown;
		self->cap_pending = cap;
	}
	p = &self->pending[self->n_pending];
	memset(p, 0, sizeof(*p));
	p->envelope = malloc(len > 0 ? len : 1);
	if (p->envelope == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	memcpy(p->envelope, envelope, len);
	p->len = len;
	p->correlation = self->next_correlation++;
	self->n_pending++;
	self->live_pending++;
	self->stats.published++;
	if (correlation != NULL)
		*correlation = p->correlation;
	if (self->connected && !self->held_back)
		send_publish(self, p);
	return 0;
}

size_t blo_client_pending(const blo_client_t *self)
{
	return self->live_pending;
}

bool blo_client_publish_refused(blo_client_t *self, uint64_t correlation)
{
	pending_t *p = find_pending(self, correlation);

	return p != NULL && p->refused && p->unanswered == 0;
}

int blo_client_subscribe(blo_client_t *self, const char *durable, const Blonet__Filter *filter,
			 Blonet__StartAt start, uint64_t from_seq, int64_t from_ms, uint32_t credit,
			 blo_err_t *err)
{
	subscription_t *grown, *s;
	int rc;

	grown = realloc(self->subs, (self->n_subs + 1) * sizeof(*grown));
	if (grown == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->subs = grown;
	s = &self->subs[self->n_subs];
	memset(s, 0, sizeof(*s));
	s->durable = strdup(durable != NULL ? durable : "");
	s->credit = credit > 0 ? credit : DEFAULT_CREDIT;
	if (s->durable == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	if (filter != NULL) {
		size_t len;

		rc = blo_message_serialize(&filter->base, BLO_FRAME_MAX_BYTES, &s->filter, &len, err);
		if (rc != 0) {
			free(s->durable);
			return rc;
		}
		s->filter_len = len;
	}
	s->start = start;
	s->from_seq = from_seq;
	s->from_ms = from_ms;
	self->n_subs++;
	if (self->connected)
		subscribe_again(self, s);
	return 0;
}

int blo_client_ack(blo_client_t *self, const char *durable, const uint64_t *seqs, size_t n,
		   blo_err_t *err)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__DeliverAck ack = BLONET__DELIVER_ACK__INIT;

	ack.durable = (char *)(durable != NULL ? durable : "");
	ack.seqs = (uint64_t *)seqs;
	ack.n_seqs = n;
	f.body_case = BLONET__FRAME__BODY_DELIVER_ACK;
	f.deliver_ack = &ack;
	return blo_client_send(self, &f, err);
}

int blo_client_send(blo_client_t *self, const Blonet__Frame *frame, blo_err_t *err)
{
	int rc;

	if (self->held_back)
		return blo_err_set(err, -EAGAIN,
				   "broker %s has not given this connection a session yet (the principal "
				   "holds the most it may)",
				   self->broker_id);
	rc = blo_wire_send(self->sock, frame, ZMQ_DONTWAIT);

	/* Unsent acks are harmless: the broker redelivers and the caller
	 * acknowledges again. */
	if (rc != 0 && rc != -EAGAIN)
		return blo_err_set(err, rc, "send to broker %s: %s", self->broker_id, blo_strerror(rc));
	return rc == -EAGAIN ? blo_err_set(err, rc, "not connected to broker %s", self->broker_id)
			     : 0;
}

const char *blo_client_principal(const blo_client_t *self)
{
	return self->welcomed ? self->principal : NULL;
}

const char *blo_client_broker_id(const blo_client_t *self)
{
	return self->broker_id;
}

const blo_identity_t *blo_client_identity(const blo_client_t *self)
{
	return self->identity;
}

const blo_registry_t *blo_client_registry(const blo_client_t *self)
{
	return self->registry_owned;
}

void blo_client_stats(const blo_client_t *self, blo_client_stats_t *out)
{
	*out = self->stats;
}

static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return BLO_ENOMEM;
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
	return 0;
}

int blo_client_complete_alert(const blo_client_t *self, Blonet__Alert *a, blo_err_t *err)
{
	const char *me = blo_identity_id(self->identity);
	const blo_principal_t *p = self->registry_owned != NULL
					   ? blo_registry_find(self->registry_owned, me)
					   : NULL;
	Blonet__Origin *o = a->origin;

	if (o == NULL) {
		o = malloc(sizeof(*o));
		if (o == NULL)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		blonet__origin__init(o);
		a->origin = o;
	}
	if ((o->principal == NULL || o->principal[0] == '\0') && set_string(&o->principal, me) != 0)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	if (p != NULL && strcmp(o->principal, me) == 0) {
		if ((o->country == NULL || o->country[0] == '\0') && set_string(&o->country, p->country) != 0)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		if ((o->site == NULL || o->site[0] == '\0') && p->site[0] != '\0' &&
		    set_string(&o->site, p->site) != 0)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		if (o->agency == BLONET__AGENCY_KIND__AGENCY_UNSPECIFIED)
			o->agency = p->agency;
	}
	if (a->sent_ms == 0)
		a->sent_ms = blo_now_ms();
	if (a->id.len == 0) {
		a->id.data = malloc(BLO_ID_BYTES);
		if (a->id.data == NULL)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		a->id.len = BLO_ID_BYTES;
		if (a->source_ref != NULL && a->source_ref[0] != '\0' && o->country != NULL)
			blo_alert_derive_id(a->id.data, o->country, o->agency, a->source_ref);
		else
			blo_alert_random_id(a->id.data);
	}
	return 0;
}

int blo_client_publish_alert(blo_client_t *self, const Blonet__Alert *alert, uint64_t *correlation,
			     blo_err_t *err)
{
	uint8_t *bytes = NULL, *env = NULL;
	size_t len = 0, env_len = 0;
	int rc;

	if ((rc = blo_alert_validate(alert, err)) != 0)
		return rc;
	if ((rc = blo_message_serialize(&alert->base, BLO_ALERT_MAX_BYTES, &bytes, &len, err)) != 0)
		return rc;
	rc = blo_envelope_seal(self->identity, bytes, len, &env, &env_len, err);
	if (rc == 0)
		rc = blo_client_publish(self, env, env_len, correlation, err);
	free(bytes);
	free(env);
	return rc;
}
