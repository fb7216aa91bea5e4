/*
 * blo_zap: the ZAP handler thread that authenticates CurveZMQ clients
 * against the registry, and the CURVE socket setup shared by every program.
 * Every request gets exactly one answer and one counter; anything not
 * positively allowed is refused.
 */
#include "blo_zap.h"

#include "blo_util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Stable in libzmq since 4.2.3 but declared only under ZMQ_BUILD_DRAFT_API
 * in 4.3's zmq.h; the value is part of the ABI. blo_curve_server_setup reads
 * it back, so a libzmq that ignores it is caught. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/* A ZAP request is the routing envelope, then version, request id, domain,
 * address, routing id, mechanism and 0-2 credential frames. More frames than
 * this is not a request. */
#define MAX_FRAMES 24
/* Frames of the request body before the credentials. */
#define BODY_FIXED_FRAMES 6

struct domain_rule {
	char name[BLO_ZAP_DOMAIN_MAX + 1];
	size_t len;
	unsigned role_mask;
};

/* Refusals kept for blo_zap_take_refusals: a ring, oldest overwritten
 * never (the newest are dropped and counted instead). */
#define REFUSALS_MAX 256

struct blo_zap {
	void *socket;                     /* ROUTER; only the thread uses it once started */
	pthread_t thread;
	int wake[2];                      /* pipe: a byte on wake[1] stops the thread */
	pthread_mutex_t lock;             /* guards everything below */
	const blo_registry_t *registry;   /* borrowed */
	struct domain_rule domains[BLO_ZAP_MAX_DOMAINS];
	size_t n_domains;
	char home_country[3];             /* "" until blo_zap_home_country */
	unsigned home_mask;               /* roles that must be of home_country */
	blo_zap_stats_t stats;
	blo_zap_refusal_t refusals[REFUSALS_MAX];
	size_t refusals_head, refusals_n;
	uint64_t refusals_dropped;
};

/* What one request decided. */
typedef struct {
	const char *status; /* "200", "400", "500" */
	const char *text;
	char user_id[BLO_PRINCIPAL_ID_MAX];
	const char *refused_principal; /* a registered key's principal, refused */
} verdict_t;

/* ---------------------------------------------------------------- decisions */

static bool frame_is(zmq_msg_t *frame, const char *text)
{
	size_t n = strlen(text);

	return zmq_msg_size(frame) == n && memcmp(zmq_msg_data(frame), text, n) == 0;
}

static const struct domain_rule *find_domain(const blo_zap_t *self, zmq_msg_t *frame)
{
	size_t len = zmq_msg_size(frame);

	for (size_t i = 0; i < self->n_domains; i++)
		if (self->domains[i].len == len &&
		    memcmp(self->domains[i].name, zmq_msg_data(frame), len) == 0)
			return &self->domains[i];
	return NULL;
}

static void refuse(verdict_t *v, const char *status, const char *text, uint64_t *counter)
{
	v->status = status;
	v->text = text;
	v->user_id[0] = '\0';
	(*counter)++;
}

/* Keeps what a refusal needs for the audit log: the principal (if the key
 * is registered), the key, the peer's address. Called with the lock. */
static void note_refusal(blo_zap_t *self, zmq_msg_t *body, size_t n, const verdict_t *v)
{
	static const char hex[] = "0123456789abcdef";
	blo_zap_refusal_t *r;

	if (self->refusals_n == REFUSALS_MAX) {
		self->refusals_dropped++;
		return;
	}
	r = &self->refusals[(self->refusals_head + self->refusals_n++) % REFUSALS_MAX];
	memset(r, 0, sizeof(*r));
	r->reason = v->text;
	if (v->refused_principal != NULL)
		blo_strlcpy(r->principal, v->refused_principal, sizeof(r->principal));
	if (n > 3) {
		size_t len = zmq_msg_size(&body[3]);
		const char *a = zmq_msg_data(&body[3]);

		for (size_t i = 0; i < len && i + 1 < sizeof(r->address); i++)
			r->address[i] = a[i] >= 0x20 && a[i] < 0x7f ? a[i] : '?';
	}
	if (n == BODY_FIXED_FRAMES + 1 && zmq_msg_size(&body[6]) == BLO_CURVE_KEY_BYTES) {
		const uint8_t *k = zmq_msg_data(&body[6]);

		for (size_t i = 0; i < BLO_CURVE_KEY_BYTES; i++) {
			r->key[2 * i] = hex[k[i] >> 4];
			r->key[2 * i + 1] = hex[k[i] & 15];
		}
	}
}

/* Decides on the request body body[0..n) (version first). Called with the
 * lock held: the registry and the domain rules are read only here. */
static void decide(blo_zap_t *self, zmq_msg_t *body, size_t n, verdict_t *v)
{
	const struct domain_rule *rule;
	const blo_principal_t *principal;

	if (n < BODY_FIXED_FRAMES) {
		refuse(v, "500", "malformed request", &self->stats.malformed);
		return;
	}
	if (!frame_is(&body[0], "1.0")) {
		refuse(v, "500", "unsupported ZAP version", &self->stats.malformed);
		return;
	}
	if (!frame_is(&body[5], "CURVE")) {
		refuse(v, "400", "mechanism not allowed", &self->stats.denied_mechanism);
		return;
	}
	if (n != BODY_FIXED_FRAMES + 1 || zmq_msg_size(&body[6]) != BLO_CURVE_KEY_BYTES) {
		refuse(v, "500", "malformed CURVE credentials", &self->stats.malformed);
		return;
	}
	rule = find_domain(self, &body[2]);
	if (rule == NULL) {
		refuse(v, "400", "domain not allowed", &self->stats.denied_domain);
		return;
	}
	principal = blo_registry_find_by_curve(self->registry, zmq_msg_data(&body[6]));
	if (principal == NULL) {
		refuse(v, "400", "unknown key", &self->stats.denied_unknown_key);
		return;
	}
	if (principal->revoked) {
		refuse(v, "400", "revoked", &self->stats.denied_revoked);
		v->refused_principal = principal->id;
		return;
	}
	if (principal->role <= BLO_ROLE_NONE || principal->role > BLO_ROLE_ADMIN ||
	    (rule->role_mask & BLO_ZAP_ROLE(principal->role)) == 0) {
		refuse(v, "400", "role not allowed on this domain", &self->stats.denied_role);
		v->refused_principal = principal->id;
		return;
	}
	if ((self->home_mask & BLO_ZAP_ROLE(principal->role)) != 0 &&
	    strcmp(principal->country, self->home_country) != 0) {
		refuse(v, "400", "principal of another country", &self->stats.denied_country);
		v->refused_principal = principal->id;
		return;
	}
	/* Copied under the lock: the registry may be replaced and destroyed as
	 * soon as the lock is released. */
	if (blo_strlcpy(v->user_id, principal->id, sizeof(v->user_id)) != 0) {
		refuse(v, "500", "principal id too long", &self->stats.malformed);
		return;
	}
	v->status = "200";
	v->text = "OK";
	self->stats.allowed++;
}

/* ---------------------------------------------------------------- the thread */

static int send_frame(void *socket, const void *data, size_t len, bool more)
{
	return zmq_send(socket, data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0 ? -1 : 0;
}

/* Receives one whole message into frames[0..*n); frames past MAX_FRAMES are
 * read and dropped, and *overflow says so. Returns 0, or -1 with errno. */
static int receive_request(void *socket, zmq_msg_t *frames, size_t *n, bool *overflow)
{
	int more = 1;
	size_t more_len = sizeof(more);

	*n = 0;
	*overflow = false;
	while (more) {
		zmq_msg_t scratch;
		zmq_msg_t *frame = *n < MAX_FRAMES ? &frames[*n] : &scratch;

		zmq_msg_init(frame);
		if (zmq_msg_recv(frame, socket, *n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			int saved = errno;

			zmq_msg_close(frame);
			for (size_t i = 0; i < *n; i++)
				zmq_msg_close(&frames[i]);
			*n = 0;
			errno = saved;
			return -1;
		}
		if (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_len) != 0)
			more = 0;
		if (frame == &scratch) {
			zmq_msg_close(frame);
			*overflow = true;
		} else {
			(*n)++;
		}
	}
	return 0;
}

/* Answers one request, if one is waiting. Returns 0, or -1 with errno
 * (EAGAIN: nothing waiting; ETERM: the context is ending). */
static int serve_one(blo_zap_t *self)
{
	zmq_msg_t frames[MAX_FRAMES];
	size_t n = 0, envelope = 0, body_n;
	bool malformed = false;
	verdict_t v;
	zmq_msg_t *request_id;
	int rc;

	rc = receive_request(self->socket, frames, &n, &malformed);
	if (rc != 0)
		return -1;
	assert(n >= 1); /* a ROUTER always delivers the routing id */

	/* The envelope is the routing id the ROUTER adds and the empty
	 * delimiter libzmq (or a REQ) sends first: nothing ever sits between
	 * a server socket and its in-process handler. A peer that sent no
	 * delimiter is not libzmq; it still gets an answer, routed by its id. */
	if (n >= 2 && zmq_msg_size(&frames[1]) == 0) {
		envelope = 2;
	} else {
		envelope = 1;
		malformed = true;
	}
	body_n = n - envelope;
	request_id = body_n >= 2 ? &frames[envelope + 1] : NULL;

	v.refused_principal = NULL;
	pthread_mutex_lock(&self->lock);
	if (malformed)
		refuse(&v, "500", "malformed request", &self->stats.malformed);
	else
		decide(self, &frames[envelope], body_n, &v);
	if (strcmp(v.status, "200") != 0)
		note_refusal(self, &frames[envelope], malformed ? 0 : body_n, &v);
	pthread_mutex_unlock(&self->lock);

	/* The reply: envelope, then version, request id, status code, status
	 * text, user id, metadata (none). A peer gone meanwhile is dropped by
	 * the ROUTER; that is not an error here. */
	rc = 0;
	for (size_t i = 0; i < envelope && rc == 0; i++)
		rc = send_frame(self->socket, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]),
				true);
	if (rc == 0) {
		send_frame(self->socket, "1.0", 3, true);
		if (request_id != NULL)
			send_frame(self->socket, zmq_msg_data(request_id), zmq_msg_size(request_id),
				   true);
		else
			send_frame(self->socket, "", 0, true);
		send_frame(self->socket, v.status, 3, true);
		send_frame(self->socket, v.text, strlen(v.text), true);
		send_frame(self->socket, v.user_id, strlen(v.user_id), true);
		send_frame(self->socket, "", 0, false);
	}
	for (size_t i = 0; i < n && i < MAX_FRAMES; i++)
		zmq_msg_close(&frames[i]);
	return 0;
}

static void *handler_main(void *arg)
{
	blo_zap_t *self = arg;

	pthread_setname_np(pthread_self(), "blo-zap");
	for (;;) {
		zmq_pollitem_t items[2] = {
			{.socket = self->socket, .events = ZMQ_POLLIN},
			{.socket = NULL, .fd = self->wake[0], .events = ZMQ_POLLIN},
		};

		if (zmq_poll(items, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break; /* ETERM: the context is ending under us */
		}
		if (items[1].revents & ZMQ_POLLIN)
			break;
		if (items[0].revents & ZMQ_POLLIN) {
			/* Drain what is queued, one request at a time. */
			while (serve_one(self) == 0)
				;
			if (errno == ETERM)
				break;
		}
	}
	/* Unbind first: it unregisters the inproc name at once, so new
	 * handshakes find no handler (and are refused) and a new handler can
	 * bind on this context as soon as blo_zap_stop returns. */
	zmq_unbind(self->socket, BLO_ZAP_ENDPOINT);
	zmq_close(self->socket);
	self->socket = NULL;
	return NULL;
}

/* ---------------------------------------------------------------- public API */

int blo_zap_start(blo_zap_t **out, void *zmq_ctx, const blo_registry_t *registry, blo_err_t *err)
{
	blo_zap_t *self = NULL;
	int linger = 0, rc = 0;
	bool lock_made = false;

	assert(out != NULL && zmq_ctx != NULL);
	*out = NULL;
	if (registry == NULL)
		return blo_err_set(err, BLO_EINVAL, "zap: no registry");
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "zap: out of memory");
	self->wake[0] = self->wake[1] = -1;
	self->registry = registry;

	rc = pthread_mutex_init(&self->lock, NULL);
	if (rc != 0) {
		rc = blo_err_set(err, -rc, "zap: mutex: %s", strerror(rc));
		goto out;
	}
	lock_made = true;
	if (pipe2(self->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = blo_err_set(err, -errno, "zap: pipe: %s", strerror(errno));
		goto out;
	}
	self->socket = zmq_socket(zmq_ctx, ZMQ_ROUTER);
	if (self->socket == NULL) {
		rc = blo_err_set(err, -errno, "zap: socket: %s", zmq_strerror(errno));
		goto out;
	}
	zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(self->socket, BLO_ZAP_ENDPOINT) != 0) {
		int e = errno;

		rc = blo_err_set(err, -e, "zap: bind %s: %s%s", BLO_ZAP_ENDPOINT, zmq_strerror(e),
				 e == EADDRINUSE
					 ? " (a ZAP handler is already running on this context)"
					 : "");
		goto out;
	}
	/* pthread_create is a full barrier: handing the socket to the thread
	 * here is the migration libzmq allows. */
	rc = pthread_create(&self->thread, NULL, handler_main, self);
	if (rc != 0) {
		zmq_unbind(self->socket, BLO_ZAP_ENDPOINT);
		rc = blo_err_set(err, -rc, "zap: thread: %s", strerror(rc));
		goto out;
	}
	*out = self;
	return 0;
out:
	if (self->socket != NULL)
		zmq_close(self->socket);
	if (self->wake[0] >= 0)
		close(self->wake[0]);
	if (self->wake[1] >= 0)
		close(self->wake[1]);
	if (lock_made)
		pthread_mutex_destroy(&self->lock);
	free(self);
	return rc;
}

int blo_zap_allow_domain(blo_zap_t *self, const char *domain, unsigned role_mask)
{
	size_t len;
	int rc = 0;

	assert(self != NULL && domain != NULL);
	len = strlen(domain);
	if (len == 0 || len > BLO_ZAP_DOMAIN_MAX || role_mask == 0 ||
	    (role_mask & ~(unsigned)BLO_ZAP_ROLES_ALL) != 0)
		return BLO_EINVAL;
	pthread_mutex_lock(&self->lock);
	for (size_t i = 0; i < self->n_domains; i++) {
		struct domain_rule *rule = &self->domains[i];

		if (rule->len == len && memcmp(rule->name, domain, len) == 0) {
			rule->role_mask = role_mask;
			goto out;
		}
	}
	if (self->n_domains == BLO_ZAP_MAX_DOMAINS) {
		rc = BLO_ETOOBIG;
		goto out;
	}
	memcpy(self->domains[self->n_domains].name, domain, len + 1);
	self->domains[self->n_domains].len = len;
	self->domains[self->n_domains].role_mask = role_mask;
	self->n_domains++;
out:
	pthread_mutex_unlock(&self->lock);
	return rc;
}

int blo_zap_home_country(blo_zap_t *self, const char *country, unsigned role_mask)
{
	assert(self != NULL && country != NULL);
	if (strlen(country) != 2 || (role_mask & ~(unsigned)BLO_ZAP_ROLES_ALL) != 0)
		return BLO_EINVAL;
	pthread_mutex_lock(&self->lock);
	memcpy(self->home_country, country, 3);
	self->home_mask = role_mask;
	pthread_mutex_unlock(&self->lock);
	return 0;
}

void blo_zap_set_registry(blo_zap_t *self, const blo_registry_t *registry)
{
	assert(self != NULL && registry != NULL);
	pthread_mutex_lock(&self->lock);
	self->registry = registry;
	pthread_mutex_unlock(&self->lock);
}

size_t blo_zap_take_refusals(blo_zap_t *self, blo_zap_refusal_t *out, size_t max,
			     uint64_t *dropped)
{
	size_t n = 0;

	pthread_mutex_lock(&self->lock);
	while (n < max && self->refusals_n > 0) {
		out[n++] = self->refusals[self->refusals_head];
		self->refusals_head = (self->refusals_head + 1) % REFUSALS_MAX;
		self->refusals_n--;
	}
	if (dropped != NULL) {
		*dropped = self->refusals_dropped;
		self->refusals_dropped = 0;
	}
	pthread_mutex_unlock(&self->lock);
	return n;
}

void blo_zap_stats(blo_zap_t *self, blo_zap_stats_t *out)
{
	assert(self != NULL && out != NULL);
	pthread_mutex_lock(&self->lock);
	*out = self->stats;
	pthread_mutex_unlock(&self->lock);
}

void blo_zap_stop(blo_zap_t **self_p)
{
	blo_zap_t *self;
	ssize_t written;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	do
		written = write(self->wake[1], "x", 1);
	while (written < 0 && errno == EINTR);
	/* The pipe is empty and non-blocking: only a broken pipe can fail
	 * here, and the thread owns the read end until it is joined. */
	assert(written == 1);
	pthread_join(self->thread, NULL);
	close(self->wake[0]);
	close(self->wake[1]);
	pthread_mutex_destroy(&self->lock);
	free(self);
	*self_p = NULL;
}

/* ---------------------------------------------------------------- sockets */

static int set_option(void *socket, int option, const char *name, const void *value, size_t len,
		      blo_err_t *err)
{
	if (zmq_setsockopt(socket, option, value, len) != 0) {
		int e = errno;

		return blo_err_set(err, -e, "curve: setsockopt %s: %s", name, zmq_strerror(e));
	}
	return 0;
}

#define SET(socket, option, value, err)                                                  \
	do {                                                                             \
		int set_rc_ = set_option((socket), (option), #option, &(value), sizeof(value), \
					 (err));                                         \
		if (set_rc_ != 0)                                                        \
			return set_rc_;                                                  \
	} while (0)

static int check_size(int64_t max_message_bytes, blo_err_t *err)
{
	if (max_message_bytes == 0 || (max_message_bytes >= BLO_CURVE_MIN_MESSAGE_BYTES &&
				       max_message_bytes <= INT64_MAX - BLO_CURVE_FRAME_OVERHEAD))
		return 0;
	return blo_err_set(err, BLO_EINVAL,
			   "curve: max_message_bytes %lld is out of range (0 for the default, "
			   "else at least %d)",
			   (long long)max_message_bytes, BLO_CURVE_MIN_MESSAGE_BYTES);
}

/* Options both ends share: size bound, linger, handshake bound, own keys.
 * max_message_bytes has passed check_size. */
static int common_setup(void *socket, const blo_identity_t *identity, int64_t max_message_bytes,
			blo_err_t *err)
{
	int64_t wire_max;
	int linger = BLO_CURVE_LINGER_MS, handshake = BLO_CURVE_HANDSHAKE_IVL_MS;
	int rc;

	if (max_message_bytes == 0)
		max_message_bytes = BLO_CURVE_DEFAULT_MAX_MESSAGE_BYTES;
	wire_max = max_message_bytes + BLO_CURVE_FRAME_OVERHEAD;
	SET(socket, ZMQ_MAXMSGSIZE, wire_max, err);
	SET(socket, ZMQ_LINGER, linger, err);
	SET(socket, ZMQ_HANDSHAKE_IVL, handshake, err);
	rc = set_option(socket, ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY",
			blo_identity_public(identity)->curve_public, BLO_CURVE_KEY_BYTES, err);
	if (rc != 0)
		return rc;
	return set_option(socket, ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY",
			  blo_identity_curve_secret(identity), BLO_CURVE_KEY_BYTES, err);
}

int blo_curve_server_setup(void *socket, const blo_identity_t *identity, const char *zap_domain,
			   int64_t max_message_bytes, blo_err_t *err)
{
	int one = 1, enforce = 0, e = 0;
	size_t enforce_len = sizeof(enforce), domain_len;
	int rc;

	assert(socket != NULL && identity != NULL);
	domain_len = zap_domain == NULL ? 0 : strlen(zap_domain);
	if (domain_len == 0 || domain_len > BLO_ZAP_DOMAIN_MAX)
		return blo_err_set(err, BLO_EINVAL,
				   "curve: a server needs a ZAP domain of 1-%d bytes (an empty one "
				   "skips authentication)",
				   BLO_ZAP_DOMAIN_MAX);
	rc = check_size(max_message_bytes, err);
	if (rc != 0)
		return rc;
	rc = common_setup(socket, identity, max_message_bytes, err);
	if (rc != 0)
		return rc;
	SET(socket, ZMQ_CURVE_SERVER, one, err);
	rc = set_option(socket, ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", zap_domain, domain_len, err);
	if (rc != 0)
		return rc;
	if (zmq_setsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof(one)) != 0)
		e = errno;
	else if (zmq_getsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, &enforce_len) != 0)
		e = errno;
	else if (enforce != 1)
		e = ENOTSUP; /* accepted but not in force */
	if (e != 0)
		return blo_err_set(err, -e,
				   "curve: this libzmq does not support ZMQ_ZAP_ENFORCE_DOMAIN "
				   "(%s): refusing to serve without it, since a CURVE server "
				   "would then admit any key whenever no ZAP handler answers",
				   zmq_strerror(e));
	return 0;
}

int blo_curve_client_setup(void *socket, const blo_identity_t *identity,
			   const uint8_t server_curve_public[BLO_CURVE_KEY_BYTES],
			   int64_t max_message_bytes, blo_err_t *err)
{
	int connect_timeout = BLO_CURVE_CONNECT_TIMEOUT_MS;
	int rc;

	assert(socket != NULL && identity != NULL && server_curve_public != NULL);
	rc = check_size(max_message_bytes, err);
	if (rc != 0)
		return rc;
	rc = common_setup(socket, identity, max_message_bytes, err);
	if (rc != 0)
		return rc;
	SET(socket, ZMQ_CONNECT_TIMEOUT, connect_timeout, err);
	return set_option(socket, ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", server_curve_public,
			  BLO_CURVE_KEY_BYTES, err);
}

const char *blo_zap_user_id(zmq_msg_t *msg)
{
	const char *id;

	assert(msg != NULL);
	id = zmq_msg_gets(msg, "User-Id");
	return id == NULL || id[0] == '\0' ? NULL : id;
}
