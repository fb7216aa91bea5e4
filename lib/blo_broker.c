/*
 * blo_broker: the broker's I/O loop, verify workers and journal writer.
 *
 * A publish travels: ROUTER (I/O thread) -> verify worker (signature,
 * origin, role, references) -> writer (group commit with its audit record)
 * -> I/O thread (PublishAck) -> delivery pump (policy, filter, credit) ->
 * subscribers. Jobs move between threads as pointers over inproc sockets,
 * several at a time as a chain (job->next); whoever receives a job owns it.
 */
#include "blo_broker.h"

#include "blo_broker_int.h"

#include "blo_audit_archive.h"
#include "blo_codec.h"
#include "blo_envelope.h"
#include "blo_identity.h"
#include "blo_journal.h"
#include "blo_log.h"
#include "blo_policy.h"
#include "blo_registry.h"
#include "blo_util.h"
#include "blo_wire.h"
#include "blo_zap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define ZAP_DOMAIN "blonet"
#define CACHE_SLOTS 8192            /* decoded journal records kept */
#define SCAN_AHEAD 256              /* records decoded per journal read */
#define PUMP_BUDGET 512             /* records examined per subscriber per pump */
#define REDELIVER_MS 15000          /* unacked this long: sent again */
#define STATUS_EVERY_MS 1000
#define RETENTION_EVERY_MS 60000
#define SESSION_IDLE_MS (10 * 60 * 1000)
#define KEEPALIVE_MS 3000
#define AUDIT_FLUSH_MS 50
/* The writer holds audit records and cursors that come without a publish
 * this long (or until this many) for one to ride with: under a steady flow
 * of publishes they never wait that long, and with none a commit of their
 * own delays nobody. Short, since a crash loses what is held. */
#define AUDIT_DEFER_MS 250
#define AUDIT_DEFER_MAX 8192
/* Publishes a batch needs to carry the sync of the one before with its own
 * (see writer_main); fewer, and that one is synced first. */
#define HELD_RIDE_MIN 32
/* Batches of at most this many publishes are logged (blo_journal's
 * write-ahead log): answered after one small sequential write and its sync
 * rather than the commit's scattered pages, its sync and its meta page's.
 * A larger one, under load, commits as usual: there the log would be a
 * second sync for each commit, and a commit's answers wait little. */
#define LOGGED_MAX 32
/* The log's size, written out once when the journal is made. Its records
 * start over once the journal has synced what they hold (at the latest
 * when it is full), so it holds a few commits at a time; 8 MiB takes the
 * largest logged batch (LOGGED_MAX envelopes of BLO_ENVELOPE_MAX_BYTES),
 * and a larger one commits as usual. */
#define BROKER_WAL_BYTES ((size_t)8 << 20)
/* Refusals recorded one by one per principal and window; the rest of the
 * window is summed up in one record (lib/blo_audit_limit.h). */
#define AUDIT_REFUSAL_BURST 20
/* A full journal or filesystem is logged at most this often. */
#define FULL_WARN_EVERY_MS 10000
/* A failed move of audit records to the archive is logged at most so often. */
#define AUDIT_WARN_EVERY_MS 60000
/* Audit retention: how often, and what a full map keeps (half of what it
 * holds, at most this many) once it holds at least AUDIT_MIN_WHEN_FULL. */
#define AUDIT_EVERY_MS 3600000
#define AUDIT_KEEP_WHEN_FULL 4096
#define AUDIT_MIN_WHEN_FULL 64
#define AUDIT_REFUSAL_WINDOW_MS 60000
/* Why a session ends when its connection goes or stays silent: routine,
 * audited within the principal's budget of sessions. */
#define PEER_GONE "peer gone"
/* ... and when another principal's connection takes its routing id: on the
 * taker's budget, or two principals taking one id in turn could fill the
 * log and the audit log. */
#define RID_TAKEN "its routing id was taken by another principal"
#define INPROC_HWM 1000000
/* Publishes verified on the I/O loop only while fewer than this are in
 * the pipeline (a quiet broker); else by the verify workers. */
#define INLINE_VERIFY_MAX 2
/* Acks to a client that takes batches: at most so many, or so many bytes,
 * in one. */
#define ACK_BATCH_MAX 256
#define ACK_BATCH_BYTES (32u * 1024u)
/* The most items a client's Batch may carry: one message may not make more
 * work (jobs, acks, errors) than that. A larger one is refused whole. */
#define BATCH_ITEMS_MAX 256

/* ---------------------------------------------------------------- jobs */

void broker_job_free(job_t *job)
{
	if (job == NULL)
		return;
	blo_message_free((ProtobufCMessage **)&job->frame);
	free(job->audit);
	free(job->cursors);
	free(job);
}

void broker_job_free_chain(job_t *job)
{
	while (job != NULL) {
		job_t *next = job->next;

		broker_job_free(job);
		job = next;
	}
}

int broker_job_send(void *sock, job_t *job, int flags)
{
	return zmq_send(sock, &job, sizeof(job), flags) == sizeof(job) ? 0 : -errno;
}

job_t *broker_job_recv(void *sock, int flags)
{
	job_t *job = NULL;

	if (zmq_recv(sock, &job, sizeof(job), flags) != sizeof(job))
		return NULL;
	return job;
}

/* ---------------------------------------------------------------- registry */

static regref_t *reg_acquire(blo_broker_t *self)
{
	regref_t *r;

	pthread_mutex_lock(&self->reg_lock);
	r = self->reg_current;
	r->refs++;
	pthread_mutex_unlock(&self->reg_lock);
	return r;
}

static void reg_release(blo_broker_t *self, regref_t *r)
{
	bool last;

	pthread_mutex_lock(&self->reg_lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&self->reg_lock);
	if (last) {
		blo_registry_destroy(&r->reg);
		free(r);
	}
}

/* The I/O thread holds a reference to the current registry at all times;
 * this returns it without counting. */
const blo_registry_t *broker_registry(blo_broker_t *self)
{
	return self->reg_current->reg;
}

/* ---------------------------------------------------------------- verify */

const char *broker_reason_name(Blonet__RejectReason r)
{
	const char *n = blo_enum_name(&blonet__reject_reason__descriptor, (int)r);

	return n != NULL ? n : "UNKNOWN";
}

void broker_reject(job_t *job, Blonet__RejectReason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void broker_reject(job_t *job, Blonet__RejectReason reason, const char *fmt, ...)
{
	va_list ap;

	job->status = BLONET__PUBLISH_STATUS__REJECTED;
	job->reason = reason;
	va_start(ap, fmt);
	vsnprintf(job->text, sizeof(job->text), fmt, ap);
	va_end(ap);
}

/* Which message types each role may originate. */
static bool role_may_send(blo_role_t role, Blonet__MessageType type)
{
	switch (role) {
	case BLO_ROLE_AGENT:
		return type == BLONET__MESSAGE_TYPE__ALERT || type == BLONET__MESSAGE_TYPE__UPDATE ||
		       type == BLONET__MESSAGE_TYPE__CANCEL;
	case BLO_ROLE_CONSOLE:
		return type == BLONET__MESSAGE_TYPE__ACK || type == BLONET__MESSAGE_TYPE__RFI ||
		       type == BLONET__MESSAGE_TYPE__RESPONSE || type == BLONET__MESSAGE_TYPE__BULLETIN ||
		       type == BLONET__MESSAGE_TYPE__UPDATE || type == BLONET__MESSAGE_TYPE__CANCEL;
	case BLO_ROLE_COMMITTEE:
		return type == BLONET__MESSAGE_TYPE__BULLETIN || type == BLONET__MESSAGE_TYPE__RFI ||
		       type == BLONET__MESSAGE_TYPE__RESPONSE || type == BLONET__MESSAGE_TYPE__ACK ||
		       type == BLONET__MESSAGE_TYPE__UPDATE || type == BLONET__MESSAGE_TYPE__CANCEL;
	default:
		return false;
	}
}

Blonet__RejectReason broker_undecoded_reason(int rc)
{
	return rc == BLO_ENOMEM ? BLONET__REJECT_REASON__INTERNAL : BLONET__REJECT_REASON__MALFORMED;
}

bool broker_read_passing(int rc)
{
	return rc != 0 && rc != BLO_ENOTFOUND && rc != BLO_ECORRUPT && rc != BLO_EPARSE;
}

/* The stored alert with this id, parsed, in *out (free with
 * blo_alert_free). BLO_ENOTFOUND when the journal does not hold it. */
static int stored_alert(blo_journal_t *journal, const uint8_t *id, Blonet__Alert **out)
{
	Blonet__Envelope *env = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t seq;
	int rc;

	*out = NULL;
	if ((rc = blo_journal_find_id(journal, id, &seq)) != 0)
		return rc;
	if ((rc = blo_journal_get(journal, seq, &data, &len, NULL, NULL)) != 0)
		return rc;
	rc = blo_envelope_parse(&env, data, len, NULL);
	if (rc == 0)
		rc = blo_alert_parse(out, env->alert.data, env->alert.len, NULL);
	if (rc == 0 && (*out)->origin == NULL) {
		blo_alert_free(out);
		rc = BLO_ECORRUPT;
	}
	blo_envelope_free(&env);
	free(data);
	return rc;
}

/* Loads the origin of the stored alert with this id into *out (strings
 * copied into the buffers). */
int broker_referenced_origin(blo_journal_t *journal, const uint8_t *id, char *principal,
			     char *country, char *site)
{
	Blonet__Alert *alert = NULL;
	int rc = stored_alert(journal, id, &alert);

	if (rc == 0) {
		blo_strlcpy(principal, alert->origin->principal, BLO_PRINCIPAL_ID_MAX);
		blo_strlcpy(country, alert->origin->country, 3);
		blo_strlcpy(site, alert->origin->site, BLO_SITE_MAX);
	}
	blo_alert_free(&alert);
	return rc;
}

/* Whether `me` may publish `reply`, which refers to the stored alert
 * references[0]: that alert is its own, or `reply` answers it (ACK,
 * RESPONSE) and the delivery policy lets `me` receive it. An UPDATE or
 * CANCEL may touch only one's own alerts. The answer is the same for an
 * alert not stored and one `me` may not refer to: a reference must not tell
 * anyone that an alert exists, or whose it is. 1 may, 0 may not, or the
 * error of a read that may succeed later (broker_read_passing: only then,
 * while it lasts, does a stored alert answer otherwise). */
static int may_refer_to(blo_broker_t *self, const blo_registry_t *reg, const blo_principal_t *me,
			const Blonet__Alert *reply)
{
	Blonet__Alert *r = NULL;
	Blonet__Origin ref = BLONET__ORIGIN__INIT;
	char ref_principal[BLO_PRINCIPAL_ID_MAX], ref_country[3], ref_site[BLO_SITE_MAX];
	bool has_ref = false, own, ok = false;
	int rc;

	if ((rc = stored_alert(self->journal, reply->references[0].data, &r)) != 0)
		return broker_read_passing(rc) ? rc : 0;
	own = strcmp(r->origin->principal, me->id) == 0;
	if (!own && (reply->type == BLONET__MESSAGE_TYPE__ACK ||
		     reply->type == BLONET__MESSAGE_TYPE__RESPONSE)) {
		/* The stored alert may itself be a reply: the policy needs the
		 * origin of what it answers, as for its delivery. */
		if (r->n_references > 0 &&
		    (r->type == BLONET__MESSAGE_TYPE__ACK || r->type == BLONET__MESSAGE_TYPE__RESPONSE)) {
			rc = broker_referenced_origin(self->journal, r->references[0].data,
						      ref_principal, ref_country, ref_site);
			if (broker_read_passing(rc)) {
				blo_alert_free(&r);
				return rc;
			}
			if (rc == 0) {
				ref.principal = ref_principal;
				ref.country = ref_country;
				ref.site = ref_site;
				has_ref = true;
			}
		}
		ok = blo_policy_may_receive(r, me, reg, has_ref ? &ref : NULL);
	}
	blo_alert_free(&r);
	return own || ok ? 1 : 0;
}

static const char *agency_name(Blonet__AgencyKind agency)
{
	const char *name = blo_enum_name(&blonet__agency_kind__descriptor, (int)agency);

	return name != NULL ? name : "(unknown)";
}

static void verify_publish(blo_broker_t *self, const blo_registry_t *reg, job_t *job)
{
	const ProtobufCBinaryData *bytes = &job->frame->publish->envelope;
	Blonet__Envelope *env = NULL;
	Blonet__Alert *peek = NULL;
	const blo_principal_t *me, *origin = NULL;
	blo_err_t err = {0};
	int rc;

	job->status = BLONET__PUBLISH_STATUS__ACCEPTED;
	me = blo_registry_find(reg, job->principal);
	if (me == NULL) {
		broker_reject(job, BLONET__REJECT_REASON__UNKNOWN_PRINCIPAL, "principal %s is not in the registry",
		       job->principal);
		return;
	}
	if (me->revoked) {
		broker_reject(job, BLONET__REJECT_REASON__REVOKED, "principal %s is revoked", job->principal);
		return;
	}
	if (bytes->len > (size_t)self->max_message_bytes || bytes->len > BLO_ENVELOPE_MAX_BYTES) {
		broker_reject(job, BLONET__REJECT_REASON__TOO_LARGE, "envelope of %zu bytes is too large",
		       bytes->len);
		return;
	}
	if ((rc = blo_envelope_parse(&env, bytes->data, bytes->len, &err)) != 0) {
		broker_reject(job, broker_undecoded_reason(rc), "%s", err.msg);
		goto out;
	}
	if ((rc = blo_alert_parse(&peek, env->alert.data, env->alert.len, &err)) != 0) {
		broker_reject(job, broker_undecoded_reason(rc), "%s", err.msg);
		goto out;
	}
	if (peek->id.len == BLO_ID_BYTES) {
		memcpy(job->id, peek->id.data, BLO_ID_BYTES);
		job->has_id = true;
	}
	blo_strlcpy(job->origin, job->principal, sizeof(job->origin));
	/* Who publishes is who authenticated: never what the alert says. */
	if (peek->origin == NULL || strcmp(peek->origin->principal, job->principal) != 0) {
		broker_reject(job, BLONET__REJECT_REASON__NOT_ORIGIN,
		       "origin.principal \"%.64s\" is not the authenticated principal %s",
		       peek->origin != NULL ? peek->origin->principal : "", job->principal);
		goto out;
	}
	/* Its site and agency too: replies go back to the origin's site, and
	 * ids derive from the origin's agency. */
	if (strcmp(peek->origin->site != NULL ? peek->origin->site : "", me->site) != 0 ||
	    peek->origin->agency != me->agency) {
		broker_reject(job, BLONET__REJECT_REASON__NOT_ORIGIN,
		       "origin site \"%.32s\" and agency %s are not %s's (site \"%s\", agency %s)",
		       peek->origin->site != NULL ? peek->origin->site : "",
		       agency_name(peek->origin->agency), job->principal, me->site,
		       agency_name(me->agency));
		goto out;
	}
	if (env->n_trace != 0) {
		broker_reject(job, BLONET__REJECT_REASON__INVALID, "a client may not send a hop trace");
		goto out;
	}
	rc = blo_envelope_verify_parsed(env, peek, reg, &origin, &err);
	if (rc != 0) {
		Blonet__RejectReason reason = rc == BLO_ESIGNATURE ? BLONET__REJECT_REASON__BAD_SIGNATURE
					      : rc == BLO_EVALIDATE ? BLONET__REJECT_REASON__INVALID
					      : rc == BLO_EREVOKED  ? BLONET__REJECT_REASON__REVOKED
					      : rc == BLO_ENOTFOUND ? BLONET__REJECT_REASON__UNKNOWN_PRINCIPAL
								    : BLONET__REJECT_REASON__MALFORMED;

		broker_reject(job, reason, "%s", err.msg);
		goto out;
	}
	if (!role_may_send(me->role, peek->type)) {
		broker_reject(job, BLONET__REJECT_REASON__ROLE_FORBIDDEN, "a %s may not send %s",
		       blo_role_name(me->role),
		       blo_enum_name(&blonet__message_type__descriptor, (int)peek->type));
		goto out;
	}
	/* Replies need the alert they answer (the policy sends them back to its
	 * originator); updates and cancels may only touch one's own alerts. */
	if (peek->n_references > 0 &&
	    (peek->type == BLONET__MESSAGE_TYPE__ACK || peek->type == BLONET__MESSAGE_TYPE__RESPONSE ||
	     peek->type == BLONET__MESSAGE_TYPE__UPDATE || peek->type == BLONET__MESSAGE_TYPE__CANCEL)) {
		char hex[2 * BLO_ID_BYTES + 1];

		blo_hex_encode(hex, sizeof(hex), peek->references[0].data, BLO_ID_BYTES);
		rc = may_refer_to(self, reg, me, peek);
		if (rc < 0) {
			broker_reject(job, BLONET__REJECT_REASON__INTERNAL,
				      "references[0] %s: the alert it refers to cannot be read just "
				      "now (%s): send again", hex, blo_strerror(rc));
			goto out;
		}
		if (rc == 0) {
			broker_reject(job, BLONET__REJECT_REASON__UNKNOWN_REFERENCE,
			       "references[0] %s is not an alert of this broker that %s may %s", hex,
			       job->principal,
			       peek->type == BLONET__MESSAGE_TYPE__UPDATE ||
					       peek->type == BLONET__MESSAGE_TYPE__CANCEL
				       ? "update or cancel (only its own)"
				       : "answer");
			goto out;
		}
	}
out:
	blo_alert_free(&peek);
	blo_envelope_free(&env);
}

typedef struct {
	blo_broker_t *broker;
	size_t index;
} worker_arg_t;

static void *worker_main(void *arg)
{
	worker_arg_t *wa = arg;
	blo_broker_t *self = wa->broker;
	void *in = zmq_socket(self->ctx, ZMQ_PULL);
	void *out = zmq_socket(self->ctx, ZMQ_PUSH);
	int hwm = INPROC_HWM;
	char name[16];

	snprintf(name, sizeof(name), "blo-verify-%zu", wa->index);
	pthread_setname_np(pthread_self(), name);
	free(wa);
	zmq_setsockopt(in, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(out, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_connect(in, "inproc://blo-verify");
	zmq_connect(out, "inproc://blo-store");
	for (;;) {
		job_t *head = broker_job_recv(in, 0);
		int n = 0;

		if (head == NULL) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (head->kind == JOB_STOP) {
			broker_job_free_chain(head);
			break;
		}
		regref_t *r = reg_acquire(self);

		for (job_t *job = head; job != NULL; job = job->next, n++) {
			if (job->kind == JOB_FORWARD)
				blo_mesh_verify_forward(self, r->reg, job);
			else
				verify_publish(self, r->reg, job);
		}
		reg_release(self, r);
		/* The chain goes on whole: one message to the writer. */
		if (broker_job_send(out, head, 0) != 0)
			broker_job_free_chain(head);
		atomic_fetch_sub(&self->verifying, n);
	}
	zmq_close(in);
	zmq_close(out);
	return NULL;
}

/* ---------------------------------------------------------------- writer */

/* What blo_journal_entry_t.same gets (same_origin). */
typedef struct {
	blo_broker_t *broker;
	job_t *job;
} same_arg_t;

typedef struct {
	job_t **jobs;
	size_t n_jobs, cap_jobs;
	blo_journal_entry_t *entries;
	blo_audit_record_t *audit;
	blo_cursor_update_t *cursors;
	int *entry_of_job;
	same_arg_t *same;      /* entries[i].same_arg */
	size_t n_audit;        /* audit records of the last commit tried */
	uint64_t txn;          /* the journal transaction of the last commit (0: none) */
	job_t *carry;          /* the rest of a chain that did not fit: the next batch's */
} batch_t;

/* Jobs whose envelope goes into the journal. */
static bool is_store_job(const job_t *job)
{
	return job->kind == JOB_PUBLISH || job->kind == JOB_FORWARD;
}

static int batch_add(batch_t *b, job_t *job)
{
	if (b->n_jobs == b->cap_jobs) {
		size_t cap = b->cap_jobs ? b->cap_jobs * 2 : 256;
		job_t **grown = realloc(b->jobs, cap * sizeof(*grown));

		if (grown == NULL)
			return BLO_ENOMEM;
		b->jobs = grown;
		b->cap_jobs = cap;
	}
	b->jobs[b->n_jobs++] = job;
	return 0;
}

static blo_audit_record_t audit_of(const audit_item_t *a)
{
	blo_audit_record_t r = {0};

	r.event = a->event;
	r.time_ms = a->time_ms;
	r.principal = a->principal[0] != '\0' ? a->principal : NULL; /* none: left out */
	r.alert_id = a->has_alert_id ? a->alert_id : NULL;
	r.seq = a->seq;
	r.detail = a->detail[0] ? a->detail : NULL;
	r.entry_index = -1;
	return r;
}

/* Appends an audit record to job; its detail is set by the caller. NULL
 * when out of memory (the record is lost; the counters still count). */
static audit_item_t *job_audit_add(job_t *job, blo_audit_event_t event, const char *principal,
				   const uint8_t *alert_id, uint64_t seq)
{
	audit_item_t *a;

	if (job->n_audit == job->cap_audit) {
		size_t cap = job->cap_audit ? job->cap_audit * 2 : 64;
		audit_item_t *grown = realloc(job->audit, cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		job->audit = grown;
		job->cap_audit = cap;
	}
	a = &job->audit[job->n_audit++];
	memset(a, 0, sizeof(*a));
	a->event = event;
	a->time_ms = blo_now_ms();
	blo_strlcpy(a->principal, principal != NULL ? principal : "", sizeof(a->principal));
	if (alert_id != NULL) {
		memcpy(a->alert_id, alert_id, BLO_ID_BYTES);
		a->has_alert_id = true;
	}
	a->seq = seq;
	return a;
}

/* The one record that sums up a window of what (refusals, ...) left out. */
static void summary_detail(char *out, size_t size, const char *what, const blo_audit_summary_t *sm)
{
	snprintf(out, size,
		 "%" PRIu64 " more %s of this principal in %" PRId64 " s not recorded one by "
		 "one (the last: %s)",
		 sm->suppressed, what, (sm->to_ms - sm->from_ms) / 1000, sm->last);
}

/* How many of n refusals are audited one by one: those within bucket's
 * budget in limit (no limit: all). The rest are only counted
 * (counters.audit_limited), and summed up in one record when the window
 * ends. */
static uint64_t budget_take(blo_broker_t *self, blo_audit_limit_t *limit, const char *bucket,
			    uint64_t n, const char *detail)
{
	uint64_t recorded = limit == NULL ? n
					  : blo_audit_limit_take_n(limit, bucket, blo_mono_ms(), n, detail);

	if (recorded < n)
		atomic_fetch_add(&self->counters.audit_limited, n - recorded);
	return recorded;
}

/* Whether one refusal is audited one by one (budget_take). */
static bool within_budget(blo_broker_t *self, blo_audit_limit_t *limit, const char *bucket,
			  const char *detail)
{
	return budget_take(self, limit, bucket, 1, detail) == 1;
}

/* Whether the refusal of a publish or forward is audited one by one, within
 * its principal's budget; decided once per job. */
static bool refusal_recorded(blo_broker_t *self, job_t *job)
{
	if (!job->refusal_decided) {
		job->refusal_decided = true;
		job->refusal_recorded =
			within_budget(self, self->writer_limit, job->principal,
				      job->status == BLONET__PUBLISH_STATUS__REJECTED
					      ? job->text
					      : "journal full: publish refused");
	}
	return job->refusal_recorded;
}

/* The writer's summaries of refusals left out, as one audit job for the
 * next batch (NULL when there are none). */
typedef struct {
	job_t *job;
	blo_audit_event_t event;
	const char *what;
} writer_summaries_t;

static void writer_summary(const blo_audit_summary_t *sm, void *arg)
{
	writer_summaries_t *ws = arg;
	audit_item_t *a;

	if (ws->job == NULL && (ws->job = calloc(1, sizeof(job_t))) != NULL)
		ws->job->kind = JOB_AUDIT;
	if (ws->job == NULL || (a = job_audit_add(ws->job, ws->event, sm->principal, NULL, 0)) == NULL)
		return;
	summary_detail(a->detail, sizeof(a->detail), ws->what, sm);
	blo_warn("audit.limited", "%s: %s", sm->principal, a->detail);
}

static job_t *writer_summaries(blo_broker_t *self, int64_t now)
{
	writer_summaries_t ws = {.event = BLO_AUDIT_REJECT, .what = "refusals"};

	if (self->writer_limit != NULL)
		blo_audit_limit_flush(self->writer_limit, now, writer_summary, &ws);
	ws.event = BLO_AUDIT_DUPLICATE;
	ws.what = "alerts sent again (duplicates, id conflicts, ones not compared for want of memory)";
	if (self->again_limit != NULL)
		blo_audit_limit_flush(self->again_limit, now, writer_summary, &ws);
	return ws.job;
}

/* blo_journal_entry_t.same: whether the stored envelope is job's alert again
 * (1: a duplicate) or another origin's under the same id (0). What does not
 * decode is no duplicate of anything; what could not be decoded for want of
 * memory is BLO_ENOMEM (the publish is refused INTERNAL, to be sent again).
 * The journal asks only about an id already stored (or earlier in the
 * batch): an alert sent again, which is audited one by one within its
 * principal's budget of them (again_limit), so that one that is sent again
 * and again cannot fill the audit log, which is never purged. The job's
 * audit record is left out otherwise (its skip). */
static int same_origin(const uint8_t *stored, size_t stored_len, void *arg)
{
	same_arg_t *sa = arg;
	job_t *job = sa->job;
	Blonet__Envelope *env = NULL;
	Blonet__Alert *alert = NULL;
	int same = 0, rc;

	if (!job->again_decided) {
		char hex[2 * BLO_ID_BYTES + 1], detail[BLO_AUDIT_LIMIT_DETAIL];

		blo_hex_encode(hex, sizeof(hex), job->id, BLO_ID_BYTES);
		snprintf(detail, sizeof(detail), "alert %s sent again", hex);
		job->again_decided = true;
		job->again_unrecorded = !within_budget(sa->broker, sa->broker->again_limit,
						       job->principal, detail);
	}
	if ((rc = blo_envelope_parse(&env, stored, stored_len, NULL)) == 0 &&
	    (rc = blo_alert_parse(&alert, env->alert.data, env->alert.len, NULL)) == 0)
		same = alert->origin != NULL && alert->origin->principal != NULL &&
		       strcmp(alert->origin->principal, job->origin) == 0;
	else if (rc == BLO_ENOMEM)
		/* Not known just now: neither a duplicate nor a conflict. */
		same = BLO_ENOMEM;
	blo_alert_free(&alert);
	blo_envelope_free(&env);
	return same;
}

/* Builds the journal batch from the jobs: with_entries false leaves out the
 * publishes (after the journal was full) and audits them as refused.
 * logged_arg (a logged_arg_t; NULL: none) asks for the journal's log, and
 * on_logged answers the batch if the journal takes it there. */
static void on_logged(blo_journal_batch_t *jb, void *arg);

static int batch_commit(blo_broker_t *self, batch_t *b, bool with_entries, bool defer,
			void *logged_arg, blo_err_t *err)
{
	size_t n_entries = 0, n_audit = 0, n_cursors = 0, n_audit_max = 0, n_cursor_max = 0;
	blo_journal_batch_t jb = {0};
	int rc;

	b->txn = 0;
	for (size_t i = 0; i < b->n_jobs; i++) {
		n_audit_max += is_store_job(b->jobs[i]) ? 1 : b->jobs[i]->n_audit;
		n_cursor_max += b->jobs[i]->n_cursors;
	}
	free(b->entries);
	free(b->audit);
	free(b->cursors);
	free(b->entry_of_job);
	free(b->same);
	b->same = calloc(b->n_jobs + 1, sizeof(*b->same));
	b->entries = calloc(b->n_jobs + 1, sizeof(*b->entries));
	b->audit = calloc(n_audit_max + 1, sizeof(*b->audit));
	b->cursors = calloc(n_cursor_max + 1, sizeof(*b->cursors));
	b->entry_of_job = calloc(b->n_jobs + 1, sizeof(int));
	if (b->entries == NULL || b->audit == NULL || b->cursors == NULL || b->entry_of_job == NULL ||
	    b->same == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");

	for (size_t i = 0; i < b->n_jobs; i++) {
		job_t *job = b->jobs[i];

		b->entry_of_job[i] = -1;
		if (is_store_job(job)) {
			blo_audit_record_t *r;
			bool store = job->status == BLONET__PUBLISH_STATUS__ACCEPTED && with_entries;

			if (!store && !refusal_recorded(self, job))
				continue;
			if (store) {
				blo_journal_entry_t *e = &b->entries[n_entries];
				const ProtobufCBinaryData *env = job->kind == JOB_FORWARD
									 ? &job->frame->forward->envelope
									 : &job->frame->publish->envelope;

				e->id = job->id;
				e->data = env->data;
				e->len = env->len;
				e->time_ms = job->received_ms;
				e->same = same_origin;
				b->same[n_entries] = (same_arg_t){.broker = self, .job = job};
				e->same_arg = &b->same[n_entries];
				b->entry_of_job[i] = (int)n_entries++;
			}
			r = &b->audit[n_audit++];
			r->time_ms = job->received_ms;
			r->principal = job->principal;
			r->alert_id = job->has_id ? job->id : NULL;
			r->entry_index = -1;
			if (store) {
				/* Sent again beyond the budget: stored (or found
				 * stored) without a record of its own. */
				r->skip = &job->again_unrecorded;
				/* A forward received is audited as such, with its sender. */
				r->event = job->kind == JOB_FORWARD ? BLO_AUDIT_RECEIVE : BLO_AUDIT_ACCEPT;
				r->detail = job->kind == JOB_FORWARD ? "from peer broker" : NULL;
				r->entry_index = b->entry_of_job[i];
			} else {
				r->event = BLO_AUDIT_REJECT;
				r->detail = job->status == BLONET__PUBLISH_STATUS__REJECTED
						    ? job->text
						    : "journal full: publish refused";
			}
			continue;
		}
		for (size_t k = 0; k < job->n_audit; k++)
			b->audit[n_audit++] = audit_of(&job->audit[k]);
		for (size_t k = 0; k < job->n_cursors; k++) {
			b->cursors[n_cursors].name = job->cursors[k].name;
			b->cursors[n_cursors].seq = job->cursors[k].seq;
			b->cursors[n_cursors].remove = job->cursors[k].forget;
			n_cursors++;
		}
	}
	jb.entries = b->entries;
	jb.n_entries = n_entries;
	jb.audit = b->audit;
	jb.n_audit = n_audit;
	b->n_audit = n_audit;
	jb.cursors = b->cursors;
	jb.n_cursors = n_cursors;
	jb.defer_sync = defer;
	if (logged_arg != NULL) {
		jb.logged = on_logged;
		jb.logged_arg = logged_arg;
	}
	rc = blo_journal_commit(self->journal, &jb, err);
	b->txn = jb.txn;
	return rc;
}

/* Audit retention: the oldest audit records move from the journal to the
 * archive files (blo_audit_archive), at most BLO_AUDIT_ARCHIVE_MOVE_MAX a
 * pass so that commits wait little. Moving loses nothing, so a full map moves them
 * whatever their age, at least half of them at a time (not a tiny file for
 * each refused batch). A failure keeps them
 * in the journal and is logged at most once a minute. Returns how many
 * moved. */
static uint64_t audit_retention(blo_broker_t *self, bool map_full)
{
	blo_audit_archive_opts_t o = {0}; /* max_records 0: BLO_AUDIT_ARCHIVE_MOVE_MAX */
	uint64_t moved = 0, head = 0, anchor = 0;
	blo_err_t err = {0};
	int rc;

	if (map_full) {
		if (blo_journal_audit_head(self->journal, &head, NULL) != 0 ||
		    blo_journal_audit_anchor(self->journal, &anchor, NULL) != 0 ||
		    head - anchor < AUDIT_MIN_WHEN_FULL)
			return 0;
		o.keep_records = (head - anchor) / 2 < AUDIT_KEEP_WHEN_FULL ? (head - anchor) / 2
									    : AUDIT_KEEP_WHEN_FULL;
	} else {
		o.older_than_ms = self->audit_age_ms > 0 ? blo_now_ms() - self->audit_age_ms : 0;
		o.keep_records = self->audit_keep;
	}
	if (o.older_than_ms == 0 && o.keep_records == 0)
		return 0;
	rc = blo_audit_archive_move(self->journal, self->audit_dir, &o, &moved, &err);
	atomic_fetch_add(&self->counters.audit_archived, moved);
	if (moved > 0)
		blo_info("audit.archived", "%" PRIu64 " audit records moved to %s", moved,
			 self->audit_dir);
	if (rc != 0 && blo_mono_ms() - self->audit_warned_ms >= AUDIT_WARN_EVERY_MS) {
		blo_warn("audit.archive_failed", "%s; the records stay in the journal", err.msg);
		self->audit_warned_ms = blo_mono_ms();
	}
	return moved;
}

/* Retention by age, count and size. Size is met through the count: when the
 * journal uses more than its share, the oldest records go until the count
 * is down in proportion, with a tenth to spare. */
static void retention(blo_broker_t *self)
{
	int64_t older = self->retention_age_ms > 0 ? blo_now_ms() - self->retention_age_ms : 0;
	uint64_t keep = self->retention_count, purged = 0;
	blo_journal_stats_t st;
	blo_err_t err = {0};

	if (self->retention_bytes > 0 && blo_journal_stats(self->journal, &st) == 0 &&
	    st.used_bytes > self->retention_bytes && st.count > 0) {
		uint64_t fit = (uint64_t)((double)st.count * 0.9 * (double)self->retention_bytes /
					  (double)st.used_bytes);

		if (keep == 0 || fit < keep)
			keep = fit > 0 ? fit : 1;
	}
	if (older != 0 || keep != 0) {
		if (blo_journal_purge(self->journal, older, keep, &purged, &err) != 0)
			blo_warn("journal.purge_failed", "%s", err.msg);
		else if (purged > 0)
			blo_info("journal.purged", "retention removed %" PRIu64 " alerts", purged);
	}
}

/* Whether a batch of nothing but audit records and cursors from the I/O
 * thread may wait for a publish to ride with: not when it has grown large. */
static bool audit_may_wait(const batch_t *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n_jobs; i++) {
		if (b->jobs[i]->kind != JOB_AUDIT)
			return false;
		n += b->jobs[i]->n_audit + b->jobs[i]->n_cursors;
	}
	return n < AUDIT_DEFER_MAX;
}

int64_t blo_commit_hold_ns(double rate_per_s, size_t publishes, uint64_t coming, int64_t left_ns,
			   size_t max_batch)
{
	double want, expected, wait_ns;

	if (publishes == 0 || publishes >= max_batch || coming == 0 || left_ns <= 0 || !(rate_per_s > 0))
		return 0;
	want = (double)(coming < max_batch - publishes ? coming : max_batch - publishes);
	expected = rate_per_s * (double)left_ns / 1e9;
	if (expected > want)
		expected = want;
	if (expected < BLO_COMMIT_HOLD_MIN_JOIN)
		return 0;
	wait_ns = want * 1e9 / rate_per_s;
	return wait_ns < (double)left_ns ? (int64_t)wait_ns : left_ns;
}

/* Takes one job into b; a JOB_STOP sets *stop and brings the summaries of
 * refusals left out. */
static void batch_take_one(blo_broker_t *self, batch_t *b, job_t *job, size_t *publishes,
			   bool *stop)
{
	if (job->kind == JOB_STOP) {
		job_t *sums = writer_summaries(self, INT64_MAX);

		if (sums != NULL && batch_add(b, sums) != 0)
			broker_job_free(sums);
		*stop = true;
		broker_job_free(job);
		return;
	}
	if (batch_add(b, job) != 0) {
		broker_job_free(job);
		return;
	}
	if (is_store_job(job))
		(*publishes)++;
}

/* Takes into b what the last batch left over (b->carry), else the next
 * message of `in` (waiting for one when flags is 0), then the jobs chained
 * to it and what else waits, until max_batch publishes; the rest of a
 * chain stays in b->carry for the next batch. */
static void batch_take(blo_broker_t *self, void *in, batch_t *b, int flags, size_t *publishes,
		       bool *stop)
{
	job_t *job = b->carry;

	b->carry = NULL;
	if (job == NULL)
		job = broker_job_recv(in, flags);
	while (job != NULL) {
		job_t *next = job->next;

		job->next = NULL;
		batch_take_one(self, b, job, publishes, stop);
		if (*publishes >= self->max_batch) {
			b->carry = next;
			return;
		}
		job = next != NULL ? next : broker_job_recv(in, ZMQ_DONTWAIT);
	}
}

void broker_held_add(held_t *h, job_t *chain, uint64_t txn)
{
	if (chain == NULL)
		return;
	*h->tail = chain;
	for (; *h->tail != NULL; h->tail = &(*h->tail)->next)
		(*h->tail)->txn = txn;
	if (txn > h->txn)
		h->txn = txn;
}

job_t *broker_held_take(held_t *h, uint64_t durable, uint64_t *last_seq)
{
	job_t *head = h->head, **cut = &h->head;

	*last_seq = 0;
	while (*cut != NULL && (*cut)->txn <= durable) {
		if ((*cut)->status == BLONET__PUBLISH_STATUS__ACCEPTED && !(*cut)->logged &&
		    (*cut)->seq > *last_seq)
			*last_seq = (*cut)->seq;
		cut = &(*cut)->next;
	}
	if (cut == &h->head)
		return NULL;
	h->head = *cut;
	*cut = NULL;
	if (h->head == NULL) {
		h->tail = &h->head;
		h->txn = 0;
	}
	return head;
}

/* Answers what is held of commits now on disk: what they stored becomes
 * deliverable, and the chain goes to the I/O thread. */
static void held_release(blo_broker_t *self, held_t *h, uint64_t durable, void *out)
{
	uint64_t last;
	job_t *chain = broker_held_take(h, durable, &last);

	if (chain == NULL)
		return;
	broker_seq_raise(&self->last_seq, last);
	if (broker_job_send(out, chain, 0) != 0)
		broker_job_free_chain(chain);
}

/* Puts everything held on disk (one sync) and answers it. If the sync
 * fails, nothing of it may be acknowledged: its publishes are refused and
 * the broker stops (the journal refuses every write from then on). */
static void held_sync(blo_broker_t *self, held_t *h, void *out)
{
	blo_err_t err = {0};

	if (h->head == NULL)
		return;
	if (blo_journal_durable_txn(self->journal) < h->txn &&
	    blo_journal_sync(self->journal, &err) != 0) {
		blo_error("journal.sync_failed", "%s", err.msg);
		atomic_store(&self->writer_failed, 1);
		for (job_t *j = h->head; j != NULL; j = j->next)
			if (j->status == BLONET__PUBLISH_STATUS__ACCEPTED ||
			    j->status == BLONET__PUBLISH_STATUS__DUPLICATE)
				broker_reject(j, BLONET__REJECT_REASON__INTERNAL,
					      "journal sync failed: %s", err.msg);
	}
	held_release(self, h, UINT64_MAX, out);
}

/* What a committed batch stored, in its jobs: each publish's sequence,
 * and duplicate or refused where the journal found its id stored. */
static void batch_results(blo_broker_t *self, batch_t *b)
{
	atomic_fetch_add(&self->counters.commits, 1);
	for (size_t i = 0; i < b->n_jobs; i++) {
		job_t *j = b->jobs[i];
		int e = b->entry_of_job[i];

		if (!is_store_job(j) || e < 0)
			continue;
		j->seq = b->entries[e].seq;
		if (b->entries[e].result == BLO_EDUPLICATE) {
			j->status = BLONET__PUBLISH_STATUS__DUPLICATE;
		} else if (b->entries[e].result == BLO_ECONFLICT) {
			char hex[2 * BLO_ID_BYTES + 1];

			blo_hex_encode(hex, sizeof(hex), j->id, BLO_ID_BYTES);
			broker_reject(j, BLONET__REJECT_REASON__ID_CONFLICT,
				      "alert id %s is already stored for another "
				      "origin's alert: give this one its own id",
				      hex);
			/* Logged as it was audited (same_origin). */
			j->refusal_decided = true;
			j->refusal_recorded = !j->again_unrecorded;
		} else if (b->entries[e].result != 0) {
			/* same_origin had no memory to compare it with
			 * the stored alert: the publisher sends it again. */
			broker_reject(j, BLONET__REJECT_REASON__INTERNAL,
				      "out of memory comparing the alert with the "
				      "one stored under its id; send it again");
			j->refusal_decided = true;
			j->refusal_recorded = !j->again_unrecorded;
		} else {
			atomic_fetch_add(&self->counters.committed_entries, 1);
		}
	}
}

/* Hands the batch's answers to held: its publishes as one chain, in
 * order, going to the I/O thread once b->txn is on disk (0: at once);
 * everything else of it is freed. A logged batch's stored publishes keep
 * their frame for the I/O thread's cache (job_t.logged). */
static void batch_answer(blo_broker_t *self, batch_t *b, held_t *held, void *out, bool logged)
{
	job_t *head = NULL, **tail = &head;

	for (size_t i = 0; i < b->n_jobs; i++) {
		job_t *j = b->jobs[i];

		if (is_store_job(j)) {
			if (logged && j->status == BLONET__PUBLISH_STATUS__ACCEPTED && j->seq > 0)
				j->logged = true;
			else
				blo_message_free((ProtobufCMessage **)&j->frame);
			*tail = j;
			tail = &j->next;
		} else {
			broker_job_free(j);
		}
	}
	b->n_jobs = 0;
	broker_held_add(held, head, b->txn);
	held_release(self, held, blo_journal_durable_txn(self->journal), out);
}

typedef struct {
	blo_broker_t *broker;
	batch_t *b;
	held_t *held;
	void *out;
	bool answered;
} logged_arg_t;

/* blo_journal_batch_t.logged: the batch is durable in the journal's log,
 * its commit still to come: answered now. */
static void on_logged(blo_journal_batch_t *jb, void *arg)
{
	logged_arg_t *l = arg;

	(void)jb;
	l->b->txn = 0;
	atomic_fetch_add(&l->broker->counters.logged_commits, 1);
	batch_results(l->broker, l->b);
	batch_answer(l->broker, l->b, l->held, l->out, true);
	l->answered = true;
}

static void *writer_main(void *arg)
{
	blo_broker_t *self = arg;
	void *in = zmq_socket(self->ctx, ZMQ_PULL);
	void *out = zmq_socket(self->ctx, ZMQ_PUSH);
	int hwm = INPROC_HWM, timeout = 1000;
	batch_t b = {0};
	held_t held = {.tail = &held.head};
	bool stop = false;
	/* Retention runs first thing (a broker that was down may have much to
	 * let go), then every RETENTION_EVERY_MS; audit retention too, then
	 * every AUDIT_EVERY_MS (a file an hour, not a minute), or sooner while
	 * a pass leaves more to move. */
	int64_t next_retention = blo_mono_ms(), next_audit = blo_mono_ms(), next_summaries = 0;
	int64_t last_full_warn = 0;
	int64_t defer_until = 0; /* audit-only batch held back until then; 0: none */
	int64_t last_take_ns = blo_mono_ns(); /* when the last batch with publishes was taken */

	pthread_setname_np(pthread_self(), "blo-writer");
	zmq_setsockopt(in, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(in, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	zmq_setsockopt(out, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_bind(in, "inproc://blo-store");
	zmq_connect(out, "inproc://blo-results");

	while (!stop) {
		size_t publishes = 0;
		blo_err_t err = {0};
		bool defer;
		logged_arg_t la;
		int rc;

		/* Retention may take a while: what is held goes first. */
		if (blo_mono_ms() >= next_retention || blo_mono_ms() >= next_audit)
			held_sync(self, &held, out);
		if (blo_mono_ms() >= next_retention) {
			retention(self);
			next_retention = blo_mono_ms() + RETENTION_EVERY_MS;
		}
		if (blo_mono_ms() >= next_audit)
			next_audit = blo_mono_ms() +
				     (audit_retention(self, false) >= BLO_AUDIT_ARCHIVE_MOVE_MAX
					      ? RETENTION_EVERY_MS
					      : AUDIT_EVERY_MS);
		/* Summaries of refusals left out go with the next commit (or one
		 * of their own when nothing else comes). */
		if (blo_mono_ms() >= next_summaries) {
			job_t *sums = writer_summaries(self, blo_mono_ms());

			if (sums != NULL && batch_add(&b, sums) != 0)
				broker_job_free(sums);
			next_summaries = blo_mono_ms() + 1000;
		}
		if (b.n_jobs > 0 && defer_until != 0) {
			/* Audit records held back: wait for a publish to carry
			 * them, until they are due. */
			zmq_pollitem_t item = {.socket = in, .events = ZMQ_POLLIN};
			int64_t left = defer_until - blo_mono_ms();

			held_sync(self, &held, out);
			if (left > 0)
				zmq_poll(&item, 1, (long)left);
		}
		/* Group commit: everything already waiting joins this batch. */
		batch_take(self, in, &b,
			   b.n_jobs > 0 || b.carry != NULL || held.head != NULL ? ZMQ_DONTWAIT : 0,
			   &publishes, &stop);
		if (b.n_jobs == 0) {
			/* Nothing more to commit (or a timeout, or EINTR): what
			 * waits for a later commit's sync gets its own. */
			held_sync(self, &held, out);
			continue;
		}
		if (publishes > 0 && !stop) {
			/* Busy: let the batch gather (blo_commit_hold_ns). */
			int64_t now = blo_mono_ns(), until = now + self->commit_hold_ns, wait;
			double rate = (double)publishes * 1e9 / (double)(now > last_take_ns ? now - last_take_ns : 1);

			while (!stop && (wait = blo_commit_hold_ns(rate, publishes, atomic_load(&self->verifying),
								   until - now, self->max_batch)) > 0) {
				struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};

				if (held.head != NULL)
					/* Spend the wait on the sync of what is held
					 * rather than delay its answers by it. */
					held_sync(self, &held, out);
				else
					while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
						;
				batch_take(self, in, &b, ZMQ_DONTWAIT, &publishes, &stop);
				now = blo_mono_ns();
			}
			last_take_ns = now;
		}
		if (publishes == 0 && !stop && audit_may_wait(&b)) {
			/* Only audit records and cursors: a commit of their own
			 * would put a second sync in front of the next publish.
			 * They ride with it instead, or go alone once due. */
			if (defer_until == 0)
				defer_until = blo_mono_ms() + AUDIT_DEFER_MS;
			if (blo_mono_ms() < defer_until)
				continue;
		}
		defer_until = 0;

		/* A commit with publishes leaves its last sync to the next
		 * commit, which takes it along with its own, or to held_sync
		 * when nothing else comes: one flush a commit under load. But
		 * a few publishes behind what is held would make its answers
		 * wait for their pages and sync: the held go first, on a sync
		 * of one page (HELD_RIDE_MIN; never for a full batch, so that
		 * a max_batch below it still rides). */
		if (held.head != NULL && publishes > 0 && publishes < HELD_RIDE_MIN &&
		    publishes < self->max_batch) {
			held_sync(self, &held, out);
			/* What came during that sync joins this commit. */
			if (!stop)
				batch_take(self, in, &b, ZMQ_DONTWAIT, &publishes, &stop);
		}
		defer = publishes > 0 && !stop;
		/* A small batch is logged: answered once the journal's log has
		 * it, before the commit's own syncs (LOGGED_MAX). */
		la = (logged_arg_t){.broker = self, .b = &b, .held = &held, .out = out};
		rc = batch_commit(self, &b, true, defer,
				  publishes > 0 && publishes <= LOGGED_MAX && !stop ? &la : NULL, &err);
		if (la.answered) {
			/* Acknowledged from the log, yet the commit failed: the
			 * log keeps them for the next start. Nothing more. */
			if (rc != 0) {
				blo_error("journal.commit_failed", "%s", err.msg);
				atomic_store(&self->writer_failed, 1);
			}
			continue;
		}
		if (rc == BLO_EFULL || rc == BLO_ENOSPACE) {
			/* The map or its filesystem is full: refuse the publishes,
			 * keep serving, and take them again once there is room. */
			bool disk = rc == BLO_ENOSPACE;
			bool say = blo_mono_ms() - last_full_warn >= FULL_WARN_EVERY_MS;

			if (say) {
				blo_warn(disk ? "journal.disk_full" : "journal.full",
					 "%s; refusing publishes until space frees", err.msg);
				last_full_warn = blo_mono_ms();
			}
			if (!disk) {
				retention(self);
				audit_retention(self, true);
			}
			rc = batch_commit(self, &b, false, defer, NULL, &err);
			for (size_t i = 0; i < b.n_jobs; i++)
				if (is_store_job(b.jobs[i]) &&
				    b.jobs[i]->status == BLONET__PUBLISH_STATUS__ACCEPTED)
					broker_reject(b.jobs[i], BLONET__REJECT_REASON__JOURNAL_FULL,
						      disk ? "journal full: its filesystem has no space left; "
							     "the broker refuses publishes until space frees"
							   : "journal full: the broker refuses publishes until "
							     "retention frees space");
			if (rc == BLO_EFULL || rc == BLO_ENOSPACE) {
				/* Not even the map's reserve could take the audit
				 * records and cursors: say so, never silently. */
				atomic_fetch_add(&self->counters.audit_lost, b.n_audit);
				if (say)
					blo_error("audit.lost",
						  "%s: %zu audit records and the cursor saves of a batch "
						  "could not be written (counters.audit_lost counts them all)",
						  disk ? "the journal's filesystem is full" : "journal full",
						  b.n_audit);
			}
		}
		if (rc != 0 && rc != BLO_EFULL && rc != BLO_ENOSPACE) {
			blo_error("journal.commit_failed", "%s", err.msg);
			atomic_store(&self->writer_failed, 1);
			for (size_t i = 0; i < b.n_jobs; i++)
				if (is_store_job(b.jobs[i]) &&
				    b.jobs[i]->status == BLONET__PUBLISH_STATUS__ACCEPTED)
					broker_reject(b.jobs[i], BLONET__REJECT_REASON__INTERNAL,
					       "journal write failed: %s", err.msg);
		} else if (rc == 0) {
			batch_results(self, &b);
		}
		/* Acknowledge only once the transaction is on disk (held_release). */
		batch_answer(self, &b, &held, out, false);
		/* A commit that failed took no earlier one to disk. */
		if (rc != 0)
			held_sync(self, &held, out);
		b.n_jobs = 0;
	}
	/* The last batch's commit may have left records out (beyond a
	 * budget): their summaries go in one commit more. */
	{
		job_t *sums = writer_summaries(self, INT64_MAX);
		blo_err_t err = {0};

		if (sums != NULL && batch_add(&b, sums) != 0) {
			broker_job_free(sums);
		} else if (sums != NULL) {
			if (batch_commit(self, &b, false, false, NULL, &err) != 0) {
				atomic_fetch_add(&self->counters.audit_lost, b.n_audit);
				blo_error("audit.lost", "%s: the summaries of audit records left out by the "
					  "last commit could not be written", err.msg);
			}
			broker_job_free(b.jobs[0]);
			b.n_jobs = 0;
		}
	}
	held_sync(self, &held, out);
	broker_job_free_chain(b.carry);
	free(b.jobs);
	free(b.entries);
	free(b.audit);
	free(b.cursors);
	free(b.entry_of_job);
	free(b.same);
	zmq_close(in);
	zmq_close(out);
	return NULL;
}

/* ---------------------------------------------------------------- audit from I/O */

static job_t *pending_audit(blo_broker_t *self)
{
	if (self->pending_audit == NULL) {
		self->pending_audit = calloc(1, sizeof(job_t));
		if (self->pending_audit != NULL)
			self->pending_audit->kind = JOB_AUDIT;
	}
	return self->pending_audit;
}

void broker_audit(blo_broker_t *self, blo_audit_event_t event, const char *principal,
		  const uint8_t *alert_id, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void broker_audit(blo_broker_t *self, blo_audit_event_t event, const char *principal,
		  const uint8_t *alert_id, uint64_t seq, const char *fmt, ...)
{
	job_t *job = pending_audit(self);
	audit_item_t *a;
	va_list ap;

	if (job == NULL || (a = job_audit_add(job, event, principal, alert_id, seq)) == NULL)
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(a->detail, sizeof(a->detail), fmt, ap);
		va_end(ap);
	}
}

void broker_audit_session(blo_broker_t *self, const char *principal, const char *what)
{
	if (within_budget(self, self->session_limit, principal, what))
		broker_audit(self, BLO_AUDIT_SESSION, principal, NULL, 0, "%s", what);
}

void broker_audit_refusal(blo_broker_t *self, const char *principal, const char *fmt, ...)
{
	char detail[BLO_AUDIT_LIMIT_DETAIL];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (within_budget(self, self->io_limit, principal, detail)) {
		broker_audit(self, BLO_AUDIT_REJECT, principal, NULL, 0, "%s", detail);
		blo_warn("request.refused", "%s: %s", principal, detail);
	}
}

/* The summary of what (refusals, ...) a window left out, as one record (I/O
 * thread). */
static void audit_summary(blo_broker_t *self, blo_audit_event_t event, const char *what,
			  const blo_audit_summary_t *sm)
{
	char detail[sizeof(((audit_item_t *)0)->detail)];

	summary_detail(detail, sizeof(detail), what, sm);
	broker_audit(self, event, sm->principal, NULL, 0, "%s", detail);
	blo_warn("audit.limited", "%s: %s", sm->principal, detail);
}

/* Summaries of refused handshakes left out: "session" records. */
static void zap_summary(const blo_audit_summary_t *sm, void *arg)
{
	audit_summary(arg, BLO_AUDIT_SESSION, "refusals", sm);
}

/* Summaries of sessions opened and closed left out. */
static void session_summary(const blo_audit_summary_t *sm, void *arg)
{
	audit_summary(arg, BLO_AUDIT_SESSION, "sessions opened or closed", sm);
}

static void subscribe_summary(const blo_audit_summary_t *sm, void *arg)
{
	(void)arg;
	blo_info("subscribe.limited",
		 "%s: %" PRIu64 " more subscribes in %" PRId64 " s not logged one by one (the last "
		 "as \"%s\")",
		 sm->principal, sm->suppressed, (sm->to_ms - sm->from_ms) / 1000,
		 sm->last != NULL ? sm->last : "");
}

/* The budget bucket of refused handshakes of keys no principal has. */
#define UNKNOWN_KEY_BUCKET "(unregistered keys)"

/* Refused handshakes (blo_zap) go to the audit log as "session" records,
 * on a budget of their own (a flood of bad frames must not hide them): a
 * registered key's under its principal, every unknown key's under one
 * bucket; what is over budget, or was more than the handler could keep,
 * is counted and summed up. */
static void audit_handshakes(blo_broker_t *self)
{
	blo_zap_refusal_t r[64];
	uint64_t dropped = 0;
	size_t n;
	int rounds = 0;

	if (self->zap == NULL)
		return;
	do {
		n = blo_zap_take_refusals(self->zap, r, sizeof(r) / sizeof(r[0]), &dropped);
		for (size_t i = 0; i < n; i++) {
			const char *who = r[i].principal[0] != '\0' ? r[i].principal : UNKNOWN_KEY_BUCKET;
			char detail[256];

			snprintf(detail, sizeof(detail), "handshake refused: %s; key %s; from %s",
				 r[i].reason, r[i].key[0] != '\0' ? r[i].key : "(none)",
				 r[i].address[0] != '\0' ? r[i].address : "(unknown)");
			if (within_budget(self, self->zap_limit, who, detail)) {
				broker_audit(self, BLO_AUDIT_SESSION,
					     r[i].principal[0] != '\0' ? r[i].principal : NULL, NULL, 0,
					     "%s", detail);
				blo_warn("session.refused", "%s: %s", who, detail);
			}
		}
		/* Not kept by the handler: within the budget of unknown keys,
		 * recorded without their details; the rest counted into the
		 * summary. */
		if (dropped > 0) {
			const char *what = "handshake refused (more than the handler kept)";
			uint64_t recorded = budget_take(self, self->zap_limit, UNKNOWN_KEY_BUCKET,
							dropped, what);

			for (uint64_t k = 0; k < recorded; k++)
				broker_audit(self, BLO_AUDIT_SESSION, NULL, NULL, 0, "%s", what);
		}
	} while ((n == sizeof(r) / sizeof(r[0]) || dropped > 0) && ++rounds < 16);
}

static void io_summary(const blo_audit_summary_t *sm, void *arg)
{
	audit_summary(arg, BLO_AUDIT_REJECT, "refusals", sm);
}

/* Queues a cursor's new position, or its deletion, for the writer: in
 * order with every other update of it (the later one holds). */
static void cursor_update(blo_broker_t *self, const char *name, uint64_t seq, bool forget)
{
	job_t *job = pending_audit(self);
	cursor_item_t *c;

	if (job == NULL)
		return;
	for (size_t i = 0; i < job->n_cursors; i++) {
		if (strcmp(job->cursors[i].name, name) == 0) {
			job->cursors[i].seq = seq;
			job->cursors[i].forget = forget;
			return;
		}
	}
	if (job->n_cursors == job->cap_cursors) {
		size_t cap = job->cap_cursors ? job->cap_cursors * 2 : 16;
		cursor_item_t *grown = realloc(job->cursors, cap * sizeof(*grown));

		if (grown == NULL)
			return;
		job->cursors = grown;
		job->cap_cursors = cap;
	}
	c = &job->cursors[job->n_cursors++];
	blo_strlcpy(c->name, name, sizeof(c->name));
	c->seq = seq;
	c->forget = forget;
}

void broker_save_cursor(blo_broker_t *self, const char *name, uint64_t seq)
{
	cursor_update(self, name, seq, false);
}

static void save_cursor(blo_broker_t *self, sub_t *s)
{
	if (s->durable[0] == '\0' || s->acked == s->persisted)
		return;
	broker_save_cursor(self, s->cursor_name, s->acked);
	s->persisted = s->acked;
}

static void flush_audit(blo_broker_t *self)
{
	job_t *job = self->pending_audit;

	if (job == NULL || (job->n_audit == 0 && job->n_cursors == 0))
		return;
	self->pending_audit = NULL;
	if (broker_job_send(self->to_writer, job, 0) != 0) {
		blo_error("audit.lost", "cannot hand %zu audit records to the writer", job->n_audit);
		broker_job_free(job);
	}
}

/* ---------------------------------------------------------------- sending */

int broker_send_to(blo_broker_t *self, size_t router, const uint8_t *rid, size_t rid_len,
		   const Blonet__Frame *f)
{
	void *sock = self->routers[router];

	if (zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return -errno;
	return blo_wire_send(sock, f, ZMQ_DONTWAIT);
}

void broker_send_error(blo_broker_t *self, size_t router, const uint8_t *rid, size_t rid_len,
		       uint64_t correlation, Blonet__ErrorCode code, const char *text)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__ProtocolError e = BLONET__PROTOCOL_ERROR__INIT;

	e.code = code;
	e.text = (char *)text;
	f.correlation = correlation;
	f.body_case = BLONET__FRAME__BODY_ERROR;
	f.error = &e;
	broker_send_to(self, router, rid, rid_len, &f);
}

/* ---------------------------------------------------------------- sessions */

static session_t *find_session(blo_broker_t *self, size_t router, const uint8_t *rid, size_t len)
{
	for (size_t i = 0; i < self->n_sessions; i++) {
		session_t *s = self->sessions[i];

		if (s->router == router && s->rid_len == len && memcmp(s->rid, rid, len) == 0)
			return s;
	}
	return NULL;
}

static void session_end(blo_broker_t *self, session_t *s, const char *why, bool record);
static void session_drop(blo_broker_t *self, session_t *s, const char *why);

/* How many sessions principal holds. */
static size_t sessions_of(const blo_broker_t *self, const char *principal)
{
	size_t n = 0;

	for (size_t i = 0; i < self->n_sessions; i++)
		n += strcmp(self->sessions[i]->principal, principal) == 0;
	return n;
}

/* The session of the connection rid, or a new one. NULL when there is no
 * memory for one, or (*too_many set) when principal holds the most it may
 * (SESSIONS_PER_PRINCIPAL_MAX). */
static session_t *get_session(blo_broker_t *self, size_t router, const uint8_t *rid, size_t len,
			      const char *principal, bool *too_many)
{
	session_t *s = find_session(self, router, rid, len);

	if (s != NULL && strcmp(s->principal, principal) != 0) {
		/* A routing id is the peer's to choose: once the connection of
		 * the session's principal is gone, another principal may take
		 * the id. The session, its subscriptions and the acks owed to it
		 * stay the first principal's: end it, and start a new one. */
		/* Logged and audited within the budget of the principal
		 * that took the id: its doing. */
		bool record = within_budget(self, self->session_limit, principal, "routing id taken");

		if (record)
			blo_warn("session.rid_taken",
				 "routing id of %s's session now comes from %s: that session is closed",
				 s->principal, principal);
		session_end(self, s, RID_TAKEN, record);
		s = NULL;
	}
	if (s != NULL) {
		s->last_ms = blo_mono_ms();
		return s;
	}
	if (sessions_of(self, principal) >= SESSIONS_PER_PRINCIPAL_MAX) {
		*too_many = true;
		return NULL;
	}
	if (self->n_sessions == self->cap_sessions) {
		size_t cap = self->cap_sessions ? self->cap_sessions * 2 : 64;
		session_t **grown = realloc(self->sessions, cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		self->sessions = grown;
		self->cap_sessions = cap;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->serial = ++self->last_session_serial;
	memcpy(s->rid, rid, len);
	s->rid_len = len;
	s->router = router;
	s->last_ms = blo_mono_ms();
	blo_strlcpy(s->principal, principal, sizeof(s->principal));
	self->sessions[self->n_sessions++] = s;
	/* A principal that connects again and again may not fill the audit
	 * log: its sessions are recorded one by one within a budget. */
	if (within_budget(self, self->session_limit, principal, "session opened"))
		broker_audit(self, BLO_AUDIT_SESSION, principal, NULL, 0, "session opened");
	return s;
}

static void sub_detach(sub_t *sub)
{
	session_t *s = sub->session;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_subs; i++) {
		if (s->subs[i] == sub) {
			s->subs[i] = s->subs[--s->n_subs];
			break;
		}
	}
	sub->session = NULL;
	/* What was in flight goes again when the subscriber returns. */
	sub->n_inflight = 0;
	sub->next_seq = sub->acked + 1;
}

static void sub_destroy(blo_broker_t *self, sub_t *sub)
{
	sub_detach(sub);
	for (size_t i = 0; i < self->n_subs; i++) {
		if (self->subs[i] == sub) {
			self->subs[i] = self->subs[--self->n_subs];
			break;
		}
	}
	blo_message_free((ProtobufCMessage **)&sub->filter);
	free(sub->inflight);
	free(sub);
}

/* Ends session s for why, its end recorded in the audit log if record. */
static void session_end(blo_broker_t *self, session_t *s, const char *why, bool record)
{
	while (s->n_subs > 0) {
		sub_t *sub = s->subs[0];

		if (sub->durable[0] == '\0') {
			sub_destroy(self, sub);
		} else {
			save_cursor(self, sub);
			sub_detach(sub);
		}
	}
	if (record)
		broker_audit(self, BLO_AUDIT_SESSION, s->principal, NULL, 0, "session closed: %s", why);
	for (size_t i = 0; i < self->n_sessions; i++) {
		if (self->sessions[i] == s) {
			self->sessions[i] = self->sessions[--self->n_sessions];
			break;
		}
	}
	/* Acks still waiting go nowhere, as for a session already gone. */
	for (size_t i = 0; i < s->n_acks; i++)
		broker_job_free(s->acks[i]);
	free(s->acks);
	free(s->subs);
	free(s);
}

/* Ends session s for why. A connection that ends (or goes idle) is
 * routine: its end is audited within the principal's budget of sessions;
 * an end for any other reason (revoked, key changed) is always recorded. */
static void session_drop(blo_broker_t *self, session_t *s, const char *why)
{
	session_end(self, s, why,
		    strcmp(why, PEER_GONE) != 0 ||
			    within_budget(self, self->session_limit, s->principal, "session closed: " PEER_GONE));
}

/* A session quiet for a while is pinged: with ROUTER_MANDATORY the send
 * fails once libzmq has dropped the peer's connection, so the session (and
 * what its subscriptions had in flight) is released within seconds. */
static bool session_alive(blo_broker_t *self, session_t *s, int64_t now)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Ping ping = BLONET__PING__INIT;

	if (now - s->last_ms < KEEPALIVE_MS)
		return true;
	ping.sent_ms = now;
	f.body_case = BLONET__FRAME__BODY_PING;
	f.ping = &ping;
	return broker_send_to(self, s->router, s->rid, s->rid_len, &f) != -EHOSTUNREACH;
}

/* ---------------------------------------------------------------- cache */

static void cache_clear_slot(blo_broker_t *self, cached_t *c)
{
	self->cache_mem -= c->mem;
	free(c->envelope);
	blo_alert_free(&c->alert);
	memset(c, 0, sizeof(*c));
}

typedef struct {
	blo_broker_t *broker;
} fill_arg_t;

static int cache_fill_one(const blo_journal_record_t *rec, void *arg)
{
	blo_broker_t *self = ((fill_arg_t *)arg)->broker;
	cached_t *c = &self->cache[rec->seq % CACHE_SLOTS];
	Blonet__Envelope *env = NULL;
	int rc;

	if (c->seq == rec->seq)
		return 0;
	cache_clear_slot(self, c);
	c->envelope = malloc(rec->len > 0 ? rec->len : 1);
	if (c->envelope == NULL)
		return BLO_ENOMEM;
	memcpy(c->envelope, rec->data, rec->len);
	c->len = rec->len;
	c->mem = rec->len;
	c->seq = rec->seq;
	c->time_ms = rec->time_ms;
	rc = blo_envelope_parse(&env, rec->data, rec->len, NULL);
	if (rc == 0) {
		rc = blo_alert_parse(&c->alert, env->alert.data, env->alert.len, NULL);
		if (rc == 0)
			c->mem += env->alert.len + 1024;
		blo_envelope_free(&env);
	}
	self->cache_mem += c->mem;
	if (rc == BLO_ENOMEM) {
		/* Not now: left out, so that readers find it not readable
		 * just now and come back, rather than pass it by as a record
		 * that does not decode. */
		cache_clear_slot(self, c);
		return BLO_ENOMEM;
	}
	if (rc != 0 && blo_mono_ms() - self->undecodable_warned_ms >= 60000) {
		/* Stored only after it decoded: the journal is damaged. No
		 * subscriber or peer gets it; said at most once a minute. */
		blo_error("journal.undecodable", "record seq %" PRIu64 " does not decode: "
			  "not delivered or forwarded (check the journal's disk)", rec->seq);
		self->undecodable_warned_ms = blo_mono_ms();
	}
	return 0;
}

/* The record at seq, decoded, or NULL if the journal no longer holds it. */
cached_t *broker_cache_get(blo_broker_t *self, uint64_t seq)
{
	cached_t *c = &self->cache[seq % CACHE_SLOTS];
	fill_arg_t arg = {self};

	if (c->seq != seq)
		blo_journal_scan(self->journal, seq, SCAN_AHEAD, cache_fill_one, &arg);
	if (c->seq != seq)
		return NULL;
	if (c->ref_checked)
		return c;
	/* Replies carry their referenced alert's origin for the policy. */
	if (c->alert != NULL && c->alert->n_references > 0 &&
	    (c->alert->type == BLONET__MESSAGE_TYPE__ACK ||
	     c->alert->type == BLONET__MESSAGE_TYPE__RESPONSE)) {
		int rc = broker_referenced_origin(self->journal, c->alert->references[0].data,
						  c->ref_principal, c->ref_country, c->ref_site);

		/* Without it the policy would judge the reply alone: a read
		 * that may succeed later leaves the record not readable just
		 * now. */
		if (broker_read_passing(rc))
			return NULL;
		if (rc == 0) {
			blonet__origin__init(&c->ref);
			c->ref.principal = c->ref_principal;
			c->ref.country = c->ref_country;
			c->ref.site = c->ref_site;
			c->has_ref = true;
		}
	}
	c->ref_checked = true;
	return c;
}

bool broker_record_gone(blo_broker_t *self, uint64_t seq)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int64_t now = blo_mono_ms();
	int rc = blo_journal_get(self->journal, seq, &data, &len, NULL, NULL);

	free(data);
	if (rc == BLO_ENOTFOUND)
		return true; /* purged */
	if (rc == BLO_ECORRUPT) {
		/* Nobody can be given it: waiting would stop everyone behind it. */
		blo_error("journal.record_corrupt", "record %" PRIu64 " is corrupt: skipped", seq);
		return true;
	}
	if (now - self->read_warned_ms >= 60000) {
		blo_warn("journal.read_failed",
			 "record %" PRIu64 " is stored but could not be read (%s); its deliveries "
			 "and forwards wait for it",
			 seq, rc == 0 ? "out of memory, or the alert it answers could not be read"
				      : blo_strerror(rc));
		self->read_warned_ms = now;
	}
	return false;
}

uint64_t broker_first_kept(blo_broker_t *self)
{
	blo_journal_stats_t st = {0};

	if (blo_journal_stats(self->journal, &st) != 0)
		return 0;
	return st.count > 0 ? st.first_seq : st.last_seq + 1;
}

/* ---------------------------------------------------------------- delivery */

static uint64_t sub_cursor_after_ack(const sub_t *s)
{
	return s->n_inflight > 0 ? s->inflight[0].seq - 1 : s->next_seq - 1;
}

static bool deliver_one(blo_broker_t *self, sub_t *s, cached_t *c, bool *gone)
{
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Deliver d = BLONET__DELIVER__INIT;
	session_t *session = s->session;
	int rc;

	d.durable = s->durable;
	d.seq = c->seq;
	d.envelope.data = c->envelope;
	d.envelope.len = c->len;
	d.stored_ms = c->time_ms;
	d.redelivered = c->seq <= s->max_sent;
	f.body_case = BLONET__FRAME__BODY_DELIVER;
	f.deliver = &d;
	rc = broker_send_to(self, session->router, session->rid, session->rid_len, &f);
	if (rc == -EHOSTUNREACH) {
		*gone = true;
		return false;
	}
	if (rc != 0)
		return false; /* full: try again on a later turn */
	if (d.redelivered) {
		s->redelivered++;
		atomic_fetch_add(&self->counters.redelivered, 1);
	} else {
		s->max_sent = c->seq;
	}
	s->delivered++;
	atomic_fetch_add(&self->counters.delivered, 1);
	s->inflight[s->n_inflight].seq = c->seq;
	s->inflight[s->n_inflight].sent_ms = blo_mono_ms();
	s->n_inflight++;
	return true;
}

/* Deliveries are audited once per subscriber and turn, as sequence ranges
 * ("main: 12 alerts: 5-9,14,20-25"): the journal maps sequences to alert
 * ids, and one record per alert per console would outgrow the alerts. */
typedef struct {
	uint64_t first, last, count;
	char ranges[900];
	size_t used;
	bool truncated;
} delivered_t;

static void delivered_flush_range(delivered_t *d)
{
	char part[48];
	int n;

	if (d->count == 0 || d->truncated)
		return;
	if (d->first == d->last)
		n = snprintf(part, sizeof(part), "%s%" PRIu64, d->used ? "," : "", d->first);
	else
		n = snprintf(part, sizeof(part), "%s%" PRIu64 "-%" PRIu64, d->used ? "," : "", d->first,
			     d->last);
	if (d->used + (size_t)n + 4 >= sizeof(d->ranges)) {
		memcpy(d->ranges + d->used, ",...", 5);
		d->used += 4;
		d->truncated = true;
		return;
	}
	memcpy(d->ranges + d->used, part, (size_t)n + 1);
	d->used += (size_t)n;
}

static void delivered_add(delivered_t *d, uint64_t seq)
{
	if (d->count > 0 && seq == d->last + 1) {
		d->last = seq;
	} else {
		delivered_flush_range(d);
		d->first = d->last = seq;
	}
	d->count++;
}

/* Deliveries a session may have unacknowledged over all its
 * subscriptions: each is bounded by its credit, and a principal may keep
 * DURABLES_PER_PRINCIPAL_MAX of them, so the session is bounded too, or
 * one connection that does not read could make the broker queue that many
 * times the window. */
static size_t session_room(const blo_broker_t *self, const session_t *session)
{
	size_t n = 0, max = (size_t)self->max_in_flight * SESSION_WINDOWS;

	for (size_t i = 0; i < session->n_subs; i++)
		n += session->subs[i]->n_inflight;
	return n < max ? max - n : 0;
}

static void pump_sub(blo_broker_t *self, sub_t *s, uint64_t last)
{
	const blo_principal_t *p;
	size_t budget = PUMP_BUDGET, room;
	bool gone = false;
	delivered_t done = {0};

	/* Every turn of the loop comes here for every subscriber: one with
	 * nothing to send and no cursor to move costs no registry lookup. */
	if (s->session == NULL)
		return;
	if ((s->n_inflight >= s->credit || s->next_seq > last) &&
	    !(s->n_inflight == 0 && s->acked < s->next_seq - 1))
		return;
	p = blo_registry_find(broker_registry(self), s->principal);
	if (p == NULL)
		return;
	room = session_room(self, s->session);
	while (s->n_inflight < s->credit && room > 0 && s->next_seq <= last && budget-- > 0) {
		cached_t *c = broker_cache_get(self, s->next_seq);

		if (c == NULL) {
			uint64_t first;

			if (!broker_record_gone(self, s->next_seq))
				break;
			/* Purged by retention before this subscriber got to it:
			 * so is everything before the oldest record kept. */
			first = broker_first_kept(self);
			if (first <= s->next_seq || first > last + 1)
				first = s->next_seq + 1;
			atomic_fetch_add(&self->counters.expired, first - s->next_seq);
			s->next_seq = first;
			continue;
		}
		if (c->alert != NULL &&
		    blo_policy_may_receive(c->alert, p, broker_registry(self), c->has_ref ? &c->ref : NULL) &&
		    blo_filter_match(s->filter, c->alert)) {
			if (!deliver_one(self, s, c, &gone))
				break;
			room--;
			delivered_add(&done, c->seq);
		}
		s->next_seq++;
	}
	if (done.count > 0) {
		delivered_flush_range(&done);
		broker_audit(self, BLO_AUDIT_DELIVER, s->principal, NULL, 0, "%s: %" PRIu64 " alerts: %s",
		      s->durable[0] ? s->durable : "(live)", done.count, done.ranges);
	}
	if (s->n_inflight == 0 && s->acked < s->next_seq - 1) {
		s->acked = s->next_seq - 1;
		save_cursor(self, s);
	}
	if (gone)
		session_drop(self, s->session, PEER_GONE);
}

static void pump(blo_broker_t *self)
{
	uint64_t last = atomic_load(&self->last_seq);

	for (size_t i = 0; i < self->n_subs; i++)
		pump_sub(self, self->subs[i], last);
}

static void redeliver_overdue(blo_broker_t *self)
{
	int64_t now = blo_mono_ms();

	for (size_t i = 0; i < self->n_subs; i++) {
		sub_t *s = self->subs[i];

		if (s->session == NULL || s->n_inflight == 0)
			continue;
		if (now - s->inflight[0].sent_ms < REDELIVER_MS)
			continue;
		/* Start again after the cursor: unacked ones go out again
		 * marked redelivered; the subscriber de-duplicates by id. */
		s->n_inflight = 0;
		s->next_seq = s->acked + 1;
	}
}

/* ---------------------------------------------------------------- handlers */

static bool durable_is_valid(const char *d)
{
	size_t n = strlen(d);

	if (n > DURABLE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static sub_t *find_sub(blo_broker_t *self, const char *principal, const char *durable,
		       const session_t *live_session)
{
	for (size_t i = 0; i < self->n_subs; i++) {
		sub_t *s = self->subs[i];

		if (strcmp(s->principal, principal) != 0 || strcmp(s->durable, durable) != 0)
			continue;
		if (durable[0] == '\0' && s->session != live_session)
			continue;
		return s;
	}
	return NULL;
}

/* How many durable subscriptions principal keeps. Every one is in memory,
 * attached or not: those the journal held at start (load_durables) and
 * those made since, until Unsubscribe forget. */
static size_t durables_kept(const blo_broker_t *self, const char *principal)
{
	size_t n = 0;

	for (size_t i = 0; i < self->n_subs; i++)
		n += self->subs[i]->durable[0] != '\0' && strcmp(self->subs[i]->principal, principal) == 0;
	return n;
}

/* A new subscription of principal under durable ("" live-only), detached,
 * in self->subs; NULL when out of memory. */
static sub_t *sub_new(blo_broker_t *self, const char *principal, const char *durable)
{
	sub_t *s = calloc(1, sizeof(*s));
	sub_t **grown = realloc(self->subs, (self->n_subs + 1) * sizeof(*grown));

	if (grown != NULL)
		self->subs = grown;
	if (s == NULL || grown == NULL) {
		free(s);
		return NULL;
	}
	self->subs[self->n_subs++] = s;
	blo_strlcpy(s->principal, principal, sizeof(s->principal));
	blo_strlcpy(s->durable, durable, sizeof(s->durable));
	snprintf(s->cursor_name, sizeof(s->cursor_name), "sub/%s/%s", s->principal, s->durable);
	return s;
}

/* blo_journal_cursor_scan of "sub/": each durable subscription the journal
 * keeps becomes a detached one in memory, at its saved position. */
static int load_durable(const char *name, uint64_t seq, void *arg)
{
	blo_broker_t *self = arg;
	const char *slash = strrchr(name + 4, '/');
	char principal[BLO_PRINCIPAL_ID_MAX];
	size_t len = slash != NULL ? (size_t)(slash - (name + 4)) : 0;
	sub_t *s;

	/* "sub/PRINCIPAL/DURABLE": a durable name has no '/'. */
	if (slash == NULL || len == 0 || len >= sizeof(principal) || !durable_is_valid(slash + 1) ||
	    slash[1] == '\0') {
		blo_warn("journal.cursor_unknown", "cursor \"%s\" is no subscription's: left alone", name);
		return 0;
	}
	memcpy(principal, name + 4, len);
	principal[len] = '\0';
	if ((s = sub_new(self, principal, slash + 1)) == NULL)
		return BLO_ENOMEM;
	s->acked = s->persisted = seq;
	s->next_seq = seq + 1;
	return 0;
}

/* Why filter is refused (a text for the Error), or NULL. A filter is
 * matched against every record for its subscriber: its size bounds that
 * work. */
static const char *filter_refused(const Blonet__Filter *f, char *why, size_t size)
{
	const struct {
		const char *name;
		size_t n;
		char **strings;
	} lists[] = {
		{"categories", f->n_categories, NULL},
		{"sites", f->n_sites, f->sites},
		{"countries", f->n_countries, f->countries},
		{"types", f->n_types, NULL},
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (lists[i].n > FILTER_LIST_MAX) {
			snprintf(why, size, "filter: field \"%s\": %zu entries, at most %d",
				 lists[i].name, lists[i].n, FILTER_LIST_MAX);
			return why;
		}
		for (size_t k = 0; lists[i].strings != NULL && k < lists[i].n; k++) {
			if (strlen(lists[i].strings[k]) > FILTER_STRING_MAX) {
				snprintf(why, size, "filter: field \"%s\": entry %zu is longer than %d bytes",
					 lists[i].name, k, FILTER_STRING_MAX);
				return why;
			}
		}
	}
	return NULL;
}

static void on_subscribe(blo_broker_t *self, session_t *session, const Blonet__Frame *f)
{
	const Blonet__Subscribe *req = f->subscribe;
	const blo_principal_t *p = blo_registry_find(broker_registry(self), session->principal);
	uint64_t last = atomic_load(&self->last_seq);
	Blonet__Frame rf = BLONET__FRAME__INIT;
	Blonet__Subscribed ok = BLONET__SUBSCRIBED__INIT;
	blo_journal_stats_t st;
	sub_t *s;
	inflight_t *inflight;
	uint32_t credit;
	uint64_t cursor;
	bool has_cursor, kept;
	uint64_t start;

	if (p == NULL || (p->role != BLO_ROLE_CONSOLE && p->role != BLO_ROLE_COMMITTEE)) {
		atomic_fetch_add(&self->counters.forbidden, 1);
		broker_send_error(self, session->router, session->rid, session->rid_len, f->correlation,
			   BLONET__ERROR_CODE__ERROR_FORBIDDEN,
			   "only consoles and committees subscribe to alerts");
		broker_audit_refusal(self, session->principal, "subscribe refused: role");
		return;
	}
	if (!durable_is_valid(req->durable)) {
		broker_send_error(self, session->router, session->rid, session->rid_len, f->correlation,
			   BLONET__ERROR_CODE__ERROR_MALFORMED,
			   "durable name: up to 64 of A-Z a-z 0-9 . _ -");
		return;
	}
	/* Its cursor is "sub/PRINCIPAL/DURABLE": cut short, two names would
	 * share one cursor and one's acks would skip the other's alerts. */
	if (5 + strlen(session->principal) + strlen(req->durable) >= BLO_CURSOR_NAME_MAX) {
		broker_send_error(self, session->router, session->rid, session->rid_len, f->correlation,
			   BLONET__ERROR_CODE__ERROR_MALFORMED,
			   "durable name: with the principal id, at most 122 characters");
		return;
	}
	if (req->filter != NULL) {
		char why[128];

		if (filter_refused(req->filter, why, sizeof(why)) != NULL) {
			broker_send_error(self, session->router, session->rid, session->rid_len,
					  f->correlation, BLONET__ERROR_CODE__ERROR_TOO_MANY, why);
			broker_audit_refusal(self, session->principal, "subscribe refused: %s", why);
			return;
		}
	}
	s = find_sub(self, session->principal, req->durable, session);
	kept = s != NULL;
	if (s == NULL && req->durable[0] != '\0' &&
	    durables_kept(self, session->principal) >= DURABLES_PER_PRINCIPAL_MAX) {
		char why[200];

		snprintf(why, sizeof(why),
			 "this principal keeps %d durable subscriptions, the most it may: subscribe "
			 "under one of their names, or end one with Unsubscribe forget",
			 DURABLES_PER_PRINCIPAL_MAX);
		broker_send_error(self, session->router, session->rid, session->rid_len, f->correlation,
				  BLONET__ERROR_CODE__ERROR_TOO_MANY, why);
		broker_audit_refusal(self, session->principal,
				     "subscribe refused: too many durable names (\"%s\")", req->durable);
		return;
	}
	if (s == NULL && (s = sub_new(self, session->principal, req->durable)) == NULL) {
		broker_send_error(self, session->router, session->rid, session->rid_len, f->correlation,
				  BLONET__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	credit = req->credit > 0 ? req->credit : 256;
	if (credit > self->max_in_flight)
		credit = (uint32_t)self->max_in_flight;
	if ((inflight = calloc(credit, sizeof(*inflight))) == NULL) {
		if (!kept)
			sub_destroy(self, s);
		broker_send_error(self, session->router, session->rid, session->rid_len, f->correlation,
				  BLONET__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	/* A later Subscribe of the same durable name takes it over. */
	sub_detach(s);
	free(s->inflight);
	s->inflight = inflight;
	s->credit = credit;
	blo_message_free((ProtobufCMessage **)&s->filter);
	if (req->filter != NULL) {
		uint8_t *bytes = NULL;
		size_t len = 0;

		if (blo_message_serialize(&req->filter->base, BLO_FRAME_MAX_BYTES, &bytes, &len, NULL) == 0)
			blo_message_parse(&blonet__filter__descriptor, bytes, len, BLO_FRAME_MAX_BYTES,
					  (ProtobufCMessage **)&s->filter, NULL);
		free(bytes);
	}
	/* Its position is the one in memory: the journal's may lag a save
	 * still queued, or hold one whose deletion (forget) is queued. */
	has_cursor = kept && s->durable[0] != '\0';
	cursor = s->acked;
	/* Unknown, the oldest kept is taken to be 1: purged records are then
	 * passed over in pump_sub, none skipped that is kept. */
	if (blo_journal_stats(self->journal, &st) != 0)
		st = (blo_journal_stats_t){.first_seq = 1, .last_seq = last, .count = 1};
	/* After the newest record of an empty journal: the lower of what its
	 * readers see and what may be delivered, so that neither a logged
	 * record (deliverable from the cache before its commit ends) nor a
	 * committed one (whose sync is still to come) is passed over. */
	if (st.first_seq == 0)
		st.first_seq = (st.last_seq < last ? st.last_seq : last) + 1;
	switch (req->start) {
	case BLONET__START_AT__START_SEQUENCE:
		start = req->from_seq > 0 ? req->from_seq : 1;
		break;
	case BLONET__START_AT__START_TIME:
		if (blo_journal_seq_at_time(self->journal, req->from_ms, &start) != 0)
			start = last + 1;
		break;
	case BLONET__START_AT__START_EARLIEST:
		start = st.first_seq;
		break;
	case BLONET__START_AT__START_NOW:
		start = last + 1;
		break;
	default:
		/* A durable name seen for the first time starts from the oldest
		 * alert kept: nothing it was entitled to is skipped. */
		start = has_cursor ? cursor + 1 : st.first_seq;
		break;
	}
	/* Whatever retention purged is not looked for one record at a time
	 * (st as broker_first_kept would read it again). */
	{
		uint64_t first = st.count > 0 ? st.first_seq : st.last_seq + 1;

		if (start < first) {
			atomic_fetch_add(&self->counters.expired, first - start);
			start = first;
		}
	}
	s->next_seq = start;
	s->acked = start - 1;
	if (!has_cursor || req->start != BLONET__START_AT__START_LAST_ACKED)
		s->persisted = (uint64_t)-1; /* force the new position to be saved */
	else
		s->persisted = s->acked;
	s->session = session;
	s->last_contact_ms = blo_now_ms();
	session_t *sess = session;
	sub_t **grown = realloc(sess->subs, (sess->n_subs + 1) * sizeof(*grown));

	if (grown != NULL) {
		sess->subs = grown;
		sess->subs[sess->n_subs++] = s;
	}
	save_cursor(self, s);
	ok.durable = s->durable;
	ok.next_seq = s->next_seq;
	ok.last_seq = last;
	ok.credit = s->credit;
	rf.correlation = f->correlation;
	rf.body_case = BLONET__FRAME__BODY_SUBSCRIBED;
	rf.subscribed = &ok;
	broker_send_to(self, session->router, session->rid, session->rid_len, &rf);
	/* A line each, within the principal's budget: a client that
	 * subscribes again and again must not flood the log. */
	if (blo_audit_limit_take(self->subscribe_log, s->principal, blo_mono_ms(), s->durable))
		blo_info("subscribe", "%s subscribed as \"%s\" from sequence %" PRIu64, s->principal,
			 s->durable, s->next_seq);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void on_deliver_ack(blo_broker_t *self, session_t *session, const Blonet__Frame *f)
{
	const Blonet__DeliverAck *ack = f->deliver_ack;
	sub_t *s = find_sub(self, session->principal, ack->durable, session);

	if (s == NULL || s->session != session) {
		broker_send_error(self, session->router, session->rid, session->rid_len, f->correlation,
			   BLONET__ERROR_CODE__ERROR_NO_SUBSCRIPTION, "no such subscription on this session");
		return;
	}
	s->last_contact_ms = blo_now_ms();
	for (size_t i = 0; i < ack->n_seqs; i++) {
		inflight_t key = {.seq = ack->seqs[i]};
		inflight_t *hit = bsearch(&key, s->inflight, s->n_inflight, sizeof(*s->inflight), cmp_u64);

		if (hit == NULL)
			continue; /* already acknowledged, or from before a redelivery */
		memmove(hit, hit + 1, (size_t)(s->inflight + s->n_inflight - hit - 1) * sizeof(*hit));
		s->n_inflight--;
	}
	s->acked = sub_cursor_after_ack(s);
	save_cursor(self, s);
}

/* The job for a publish (or forward) that came in *fp, which it takes; NULL
 * when the broker is stopping (a publish is refused SHUTTING_DOWN), when
 * the session has SESSION_PUBLISHES_MAX unanswered (refused OVERLOADED), or
 * out of memory (the publisher sends it again). */
static job_t *publish_job(blo_broker_t *self, session_t *session, Blonet__Frame **fp,
			  job_kind_t kind)
{
	Blonet__Frame *f = *fp;
	bool overloaded = session->publishing >= SESSION_PUBLISHES_MAX;
	job_t *job;

	if ((self->stopping || overloaded) && kind == JOB_FORWARD) {
		/* The sender keeps it and forwards it again later. */
		return NULL;
	}
	if (self->stopping || overloaded) {
		Blonet__Frame rf = BLONET__FRAME__INIT;
		Blonet__PublishAck a = BLONET__PUBLISH_ACK__INIT;
		char text[128];

		snprintf(text, sizeof(text),
			 "this connection has %d publishes unanswered, the most it may: send "
			 "again once their acks come back",
			 SESSION_PUBLISHES_MAX);
		a.status = BLONET__PUBLISH_STATUS__REJECTED;
		a.reason = self->stopping ? BLONET__REJECT_REASON__SHUTTING_DOWN
					  : BLONET__REJECT_REASON__OVERLOADED;
		a.text = self->stopping ? "broker is shutting down" : text;
		if (overloaded) {
			atomic_fetch_add(&self->counters.rejected, 1);
			atomic_fetch_add(&self->counters.rejected_by[BLONET__REJECT_REASON__OVERLOADED], 1);
			broker_audit_refusal(self, session->principal, "publish refused: OVERLOADED: %s",
					     text);
		}
		rf.correlation = f->correlation;
		rf.body_case = BLONET__FRAME__BODY_PUBLISH_ACK;
		rf.publish_ack = &a;
		broker_send_to(self, session->router, session->rid, session->rid_len, &rf);
		return NULL;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return NULL;
	job->kind = kind;
	job->session = session->serial;
	job->correlation = f->correlation;
	blo_strlcpy(job->principal, session->principal, sizeof(job->principal));
	job->received_ms = blo_now_ms();
	job->received_ns = blo_mono_ns();
	job->frame = f;
	*fp = NULL;
	return job;
}

/* Hands a job to a verify worker, or verifies it here when the broker is
 * quiet. */
static void dispatch_one(blo_broker_t *self, session_t *session, job_t *job)
{
	if (self->publishes_in_flight < INLINE_VERIFY_MAX && atomic_load(&self->verifying) == 0) {
		/* A quiet broker (at most a commit under way, and no publish
		 * waiting for a verify worker): verify here and hand the job to
		 * the writer at once, one thread hop fewer on the way to the
		 * ack. Under load the verify pool takes them, off this loop. */
		regref_t *r = reg_acquire(self);

		if (job->kind == JOB_FORWARD)
			blo_mesh_verify_forward(self, r->reg, job);
		else
			verify_publish(self, r->reg, job);
		reg_release(self, r);
		if (broker_job_send(self->to_writer, job, ZMQ_DONTWAIT) != 0) {
			broker_job_free(job);
			return;
		}
	} else {
		atomic_fetch_add(&self->verifying, 1);
		if (broker_job_send(self->to_workers, job, ZMQ_DONTWAIT) != 0) {
			atomic_fetch_sub(&self->verifying, 1);
			broker_job_free(job);
			return;
		}
	}
	self->publishes_in_flight++;
	session->publishing++;
}

static void on_publish(blo_broker_t *self, session_t *session, Blonet__Frame **fp, job_kind_t kind)
{
	job_t *job = publish_job(self, session, fp, kind);

	if (job != NULL)
		dispatch_one(self, session, job);
}

/* The session a job came from, or NULL when it has ended: its answer then
 * goes nowhere (the routing id may be another peer's by now), and the
 * publisher, once back, sends again and is answered as a duplicate. */
static session_t *session_of_job(blo_broker_t *self, const job_t *job)
{
	for (size_t i = 0; i < self->n_sessions; i++)
		if (self->sessions[i]->serial == job->session)
			return self->sessions[i];
	return NULL;
}

/* Whether a refused publish or forward is logged one by one: when the
 * writer audited it one by one, or made no such decision (a refusal that
 * came after the commit, such as a failed sync). The rest of a principal's
 * refusals over its budget are summed up in the audit.limited warning, so
 * that a flood of bad publishes cannot flood the log either. */
static bool refusal_logged(const job_t *job)
{
	return !job->refusal_decided || job->refusal_recorded;
}

static void on_forward_done(blo_broker_t *self, job_t *job)
{
	Blonet__Frame rf = BLONET__FRAME__INIT;
	Blonet__ForwardAck a = BLONET__FORWARD_ACK__INIT;
	session_t *s = session_of_job(self, job);

	if (job->status == BLONET__PUBLISH_STATUS__ACCEPTED) {
		atomic_fetch_add(&self->counters.received, 1);
	} else if (job->status == BLONET__PUBLISH_STATUS__REJECTED) {
		atomic_fetch_add(&self->counters.received_rejected, 1);
		if (refusal_logged(job))
			blo_warn("mesh.forward_rejected", "from %s: %s: %s", job->principal,
				 broker_reason_name(job->reason), job->text);
	}
	if (s != NULL && s->publishing > 0)
		s->publishing--;
	a.seq = job->peer_seq;
	a.status = job->status;
	a.reason = job->reason;
	a.text = job->text;
	rf.body_case = BLONET__FRAME__BODY_FORWARD_ACK;
	rf.forward_ack = &a;
	if (s != NULL)
		broker_send_to(self, s->router, s->rid, s->rid_len, &rf);
	broker_job_free(job);
}

static void fill_ack(Blonet__PublishAck *a, const job_t *job)
{
	a->status = job->status;
	a->reason = job->reason;
	a->text = (char *)job->text;
	a->seq = job->seq;
	if (job->has_id) {
		a->id.data = (uint8_t *)job->id;
		a->id.len = BLO_ID_BYTES;
	}
}

/* Sends the acks a session has waiting: one Batch, or a plain PublishAck
 * when there is only one. */
static void flush_acks(blo_broker_t *self, session_t *s)
{
	Blonet__Frame rf = BLONET__FRAME__INIT;
	Blonet__Batch batch = BLONET__BATCH__INIT;
	Blonet__PublishAck acks[ACK_BATCH_MAX];
	Blonet__BatchItem items[ACK_BATCH_MAX], *item_ptrs[ACK_BATCH_MAX];
	size_t n = s->n_acks;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		blonet__publish_ack__init(&acks[i]);
		fill_ack(&acks[i], s->acks[i]);
		blonet__batch_item__init(&items[i]);
		items[i].correlation = s->acks[i]->correlation;
		items[i].body_case = BLONET__BATCH_ITEM__BODY_PUBLISH_ACK;
		items[i].publish_ack = &acks[i];
		item_ptrs[i] = &items[i];
	}
	if (n == 1) {
		rf.correlation = items[0].correlation;
		rf.body_case = BLONET__FRAME__BODY_PUBLISH_ACK;
		rf.publish_ack = &acks[0];
	} else {
		batch.items = item_ptrs;
		batch.n_items = n;
		rf.body_case = BLONET__FRAME__BODY_BATCH;
		rf.batch = &batch;
		atomic_fetch_add(&self->counters.batches_out, 1);
	}
	broker_send_to(self, s->router, s->rid, s->rid_len, &rf);
	for (size_t i = 0; i < n; i++)
		broker_job_free(s->acks[i]);
	s->n_acks = 0;
	s->ack_bytes = 0;
}

/* An ack's share of a Batch, at most: the item's own fields and framing. */
static size_t ack_bytes(const job_t *job)
{
	return 96 + strlen(job->text);
}

/* The ack of a finished publish, to its session: at once, or, for a client
 * that takes batches, with the others of this turn (read_results flushes
 * them). The job is the session's, or freed. */
static void reply_ack(blo_broker_t *self, job_t *job)
{
	Blonet__Frame rf = BLONET__FRAME__INIT;
	Blonet__PublishAck a = BLONET__PUBLISH_ACK__INIT;
	session_t *s = session_of_job(self, job);

	if (s == NULL) {
		broker_job_free(job);
		return;
	}
	if (s->publishing > 0)
		s->publishing--;
	if (s->batch_max > 0) {
		if (s->n_acks == ACK_BATCH_MAX || s->ack_bytes + ack_bytes(job) > s->batch_max)
			flush_acks(self, s);
		if (s->acks == NULL)
			s->acks = malloc(ACK_BATCH_MAX * sizeof(*s->acks));
		if (s->acks != NULL) {
			s->acks[s->n_acks++] = job;
			s->ack_bytes += ack_bytes(job);
			return;
		}
		/* No memory for the list: this one goes alone. */
	}
	fill_ack(&a, job);
	rf.correlation = job->correlation;
	rf.body_case = BLONET__FRAME__BODY_PUBLISH_ACK;
	rf.publish_ack = &a;
	broker_send_to(self, s->router, s->rid, s->rid_len, &rf);
	broker_job_free(job);
}

static void on_publish_done(blo_broker_t *self, job_t *job)
{
	self->publishes_in_flight--;
	if (job->kind == JOB_FORWARD) {
		on_forward_done(self, job);
		return;
	}
	switch (job->status) {
	case BLONET__PUBLISH_STATUS__ACCEPTED:
		atomic_fetch_add(&self->counters.accepted, 1);
		break;
	case BLONET__PUBLISH_STATUS__DUPLICATE:
		atomic_fetch_add(&self->counters.duplicate, 1);
		break;
	default:
		atomic_fetch_add(&self->counters.rejected, 1);
		if ((size_t)job->reason < REJECT_REASONS)
			atomic_fetch_add(&self->counters.rejected_by[job->reason], 1);
		if (refusal_logged(job))
			blo_warn("publish.rejected", "%s: %s: %s", job->principal,
				 broker_reason_name(job->reason), job->text);
		break;
	}
	blo_hist_add(&self->publish_times, blo_mono_ns() - job->received_ns);
	reply_ack(self, job);
}

/* Hands the jobs of a Batch to the verify workers, as one chain per worker
 * (each verifies its share and passes it on whole). */
static void dispatch_chains(blo_broker_t *self, session_t *session, job_t **jobs, size_t n)
{
	size_t workers = self->n_workers > 0 ? self->n_workers : 1;
	size_t per = (n + workers - 1) / workers;

	for (size_t i = 0; i < n; i += per) {
		size_t k = n - i < per ? n - i : per;

		for (size_t j = 0; j + 1 < k; j++)
			jobs[i + j]->next = jobs[i + j + 1];
		jobs[i + k - 1]->next = NULL;
		atomic_fetch_add(&self->verifying, k);
		if (broker_job_send(self->to_workers, jobs[i], ZMQ_DONTWAIT) != 0) {
			/* Not acked: the publisher sends them again. */
			atomic_fetch_sub(&self->verifying, k);
			broker_job_free_chain(jobs[i]);
			continue;
		}
		self->publishes_in_flight += k;
		session->publishing += k;
	}
}

/* A client's Batch: each publish in it as if it came alone. Anything else
 * in it is refused alone, with its correlation. */
static void on_batch(blo_broker_t *self, session_t *session, const char *principal,
		     Blonet__Batch *batch)
{
	job_t **jobs;
	size_t n = 0;

	if (batch->n_items == 0 || batch->n_items > BATCH_ITEMS_MAX) {
		char why[64];

		snprintf(why, sizeof(why), "batch of %zu items (1 to %d)", batch->n_items,
			 BATCH_ITEMS_MAX);
		atomic_fetch_add(&self->counters.malformed, 1);
		broker_send_error(self, session->router, session->rid, session->rid_len, 0,
				  BLONET__ERROR_CODE__ERROR_MALFORMED, why);
		broker_audit_refusal(self, principal, "%s", why);
		return;
	}
	atomic_fetch_add(&self->counters.batches_in, 1);
	jobs = malloc(batch->n_items * sizeof(*jobs));
	for (size_t i = 0; i < batch->n_items; i++) {
		Blonet__BatchItem *item = batch->items[i];
		Blonet__Frame *f;
		job_t *job;

		if (item->body_case != BLONET__BATCH_ITEM__BODY_PUBLISH) {
			atomic_fetch_add(&self->counters.malformed, 1);
			broker_send_error(self, session->router, session->rid, session->rid_len,
					  item->correlation, BLONET__ERROR_CODE__ERROR_UNEXPECTED,
					  "a client's batch carries only publishes");
			broker_audit_refusal(self, principal, "batch item %zu is not a publish", i);
			continue;
		}
		/* A job owns a Frame: the publish moves into one of its own. */
		if (jobs == NULL || (f = blo_wire_item_frame(item)) == NULL)
			continue; /* not acked: the publisher sends it again */
		job = publish_job(self, session, &f, JOB_PUBLISH);
		blo_message_free((ProtobufCMessage **)&f);
		if (job != NULL)
			jobs[n++] = job;
	}
	if (n == 1)
		dispatch_one(self, session, jobs[0]); /* the way of a single publish */
	else if (n > 1)
		dispatch_chains(self, session, jobs, n);
	free(jobs);
}

static void on_frame(blo_broker_t *self, size_t router, const uint8_t *rid, size_t rid_len,
		     zmq_msg_t *body)
{
	const char *principal = blo_zap_user_id(body);
	const blo_principal_t *p;
	Blonet__Frame *f = NULL;
	blo_err_t err = {0};
	session_t *session;
	bool too_many = false;
	int rc;

	/* Without a User-Id the message did not pass ZAP: never serve it. */
	if (principal == NULL || principal[0] == '\0') {
		atomic_fetch_add(&self->counters.forbidden, 1);
		return;
	}
	p = blo_registry_find(broker_registry(self), principal);
	if (p == NULL || p->revoked) {
		/* Revoked since the handshake: refuse until the session drops. */
		atomic_fetch_add(&self->counters.forbidden, 1);
		broker_send_error(self, router, rid, rid_len, 0, BLONET__ERROR_CODE__ERROR_FORBIDDEN,
			   "principal is no longer in the registry");
		return;
	}
	if ((rc = blo_wire_decode(body, &f, &err)) == BLO_ENOMEM) {
		/* No fault of the client's: nothing of the frame is taken, and
		 * the client library sends again what it keeps (a Hello,
		 * unacknowledged publishes; OPERATIONS, frames_unread). Said at
		 * most once a minute. */
		self->unread_frames++;
		if (blo_mono_ms() - self->unread_warned_ms >= 60000) {
			blo_warn("frame.unread", "%s: out of memory decoding a frame: nothing of it "
				 "taken, the client told ERROR_INTERNAL (%" PRIu64 " so far)",
				 principal, self->unread_frames);
			self->unread_warned_ms = blo_mono_ms();
		}
		broker_send_error(self, router, rid, rid_len, 0, BLONET__ERROR_CODE__ERROR_INTERNAL,
				  "the broker had no memory to read a frame of yours: nothing of it "
				  "was taken");
		return;
	}
	if (rc != 0) {
		atomic_fetch_add(&self->counters.malformed, 1);
		broker_send_error(self, router, rid, rid_len, 0, BLONET__ERROR_CODE__ERROR_MALFORMED, err.msg);
		broker_audit_refusal(self, principal, "malformed frame: %s", err.msg);
		return;
	}
	session = get_session(self, router, rid, rid_len, principal, &too_many);
	if (session == NULL && too_many) {
		/* Not served: every frame of this connection is answered so,
		 * until one of the principal's other sessions ends. */
		char why[200];

		self->sessions_refused++;
		snprintf(why, sizeof(why),
			 "this principal holds %d sessions, the most it may: this connection is not "
			 "served until one of them ends (close the clients you no longer use)",
			 SESSIONS_PER_PRINCIPAL_MAX);
		broker_send_error(self, router, rid, rid_len, f->correlation,
				  BLONET__ERROR_CODE__ERROR_TOO_MANY, why);
		broker_audit_refusal(self, principal, "session refused: %d sessions open already",
				     SESSIONS_PER_PRINCIPAL_MAX);
	}
	if (session == NULL)
		goto out;
	switch (f->body_case) {
	case BLONET__FRAME__BODY_HELLO: {
		Blonet__Frame rf = BLONET__FRAME__INIT;
		Blonet__Welcome w = BLONET__WELCOME__INIT;

		w.protocol = PROTOCOL_VERSION;
		w.broker = self->id;
		w.principal = session->principal;
		w.last_seq = atomic_load(&self->last_seq);
		/* Batches both ways, with a client that offered them. */
		session->batch_max = f->hello->max_batch_bytes < ACK_BATCH_BYTES
					     ? f->hello->max_batch_bytes
					     : ACK_BATCH_BYTES;
		if (session->batch_max > 0)
			w.max_batch_bytes = self->max_message_bytes < (int64_t)BLO_FRAME_MAX_BYTES
						    ? (uint32_t)self->max_message_bytes
						    : BLO_FRAME_MAX_BYTES;
		rf.correlation = f->correlation;
		rf.body_case = BLONET__FRAME__BODY_WELCOME;
		rf.welcome = &w;
		session->welcomed = true;
		broker_send_to(self, router, rid, rid_len, &rf);
		break;
	}
	case BLONET__FRAME__BODY_PUBLISH:
		on_publish(self, session, &f, JOB_PUBLISH);
		break;
	case BLONET__FRAME__BODY_BATCH:
		on_batch(self, session, principal, f->batch);
		break;
	case BLONET__FRAME__BODY_FORWARD:
		if (p->role != BLO_ROLE_BROKER) {
			atomic_fetch_add(&self->counters.forbidden, 1);
			broker_send_error(self, router, rid, rid_len, f->correlation,
					  BLONET__ERROR_CODE__ERROR_FORBIDDEN, "only brokers forward");
			broker_audit_refusal(self, principal, "forward from a %s refused",
					     blo_role_name(p->role));
			break;
		}
		on_publish(self, session, &f, JOB_FORWARD);
		break;
	case BLONET__FRAME__BODY_SUBSCRIBE:
		on_subscribe(self, session, f);
		break;
	case BLONET__FRAME__BODY_DELIVER_ACK:
		on_deliver_ack(self, session, f);
		break;
	case BLONET__FRAME__BODY_CREDIT: {
		sub_t *s = find_sub(self, session->principal, f->credit->durable, session);

		if (s != NULL && s->session == session && s->credit < self->max_in_flight) {
			uint64_t want = (uint64_t)s->credit + f->credit->credit;
			uint32_t credit = want > self->max_in_flight ? (uint32_t)self->max_in_flight
								     : (uint32_t)want;
			inflight_t *grown = realloc(s->inflight, credit * sizeof(*grown));

			if (grown != NULL) {
				s->inflight = grown;
				s->credit = credit;
			}
		}
		break;
	}
	case BLONET__FRAME__BODY_UNSUBSCRIBE: {
		sub_t *s = find_sub(self, session->principal, f->unsubscribe->durable, session);
		bool forget = f->unsubscribe->forget;

		if (s == NULL || (s->session != session && (s->session != NULL || !forget)))
			break; /* none, or another connection's */
		if (s->durable[0] == '\0') {
			sub_destroy(self, s);
		} else if (forget) {
			/* Deleted by the writer, after any save of it queued
			 * before: a synced commit here would stall this loop,
			 * and a save committed after it would bring it back. */
			cursor_update(self, s->cursor_name, 0, true);
			sub_destroy(self, s);
		} else {
			/* Kept, as when its connection ends: it still counts
			 * among the principal's durable subscriptions. */
			save_cursor(self, s);
			sub_detach(s);
		}
		break;
	}
	case BLONET__FRAME__BODY_PING: {
		Blonet__Frame rf = BLONET__FRAME__INIT;
		Blonet__Pong pong = BLONET__PONG__INIT;

		pong.sent_ms = f->ping->sent_ms;
		rf.correlation = f->correlation;
		rf.body_case = BLONET__FRAME__BODY_PONG;
		rf.pong = &pong;
		broker_send_to(self, router, rid, rid_len, &rf);
		break;
	}
	case BLONET__FRAME__BODY_PONG:
		break; /* the answer to a keepalive: last_ms is already updated */
	default:
		atomic_fetch_add(&self->counters.malformed, 1);
		broker_send_error(self, router, rid, rid_len, f->correlation,
			   BLONET__ERROR_CODE__ERROR_UNEXPECTED, "a client may not send this frame");
		broker_audit_refusal(self, principal, "unexpected frame %s", blo_wire_body_name(f));
		break;
	}
out:
	blo_message_free((ProtobufCMessage **)&f);
}

/* Reads one message from a ROUTER: [routing id][frame]. Anything else is
 * malformed and dropped whole. */
static void read_router(blo_broker_t *self, size_t router)
{
	void *sock = self->routers[router];

	for (int n = 0; n < 256; n++) {
		zmq_msg_t rid, body, extra;
		int more = 0;
		size_t more_size = sizeof(more);

		zmq_msg_init(&rid);
		if (zmq_msg_recv(&rid, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&rid);
			return;
		}
		zmq_msg_init(&body);
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size);
		if (!more || zmq_msg_recv(&body, sock, 0) < 0) {
			atomic_fetch_add(&self->counters.malformed, 1);
			zmq_msg_close(&rid);
			zmq_msg_close(&body);
			continue;
		}
		zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size);
		if (more) {
			/* Wrong frame count: drain the rest and refuse it. */
			while (more) {
				zmq_msg_init(&extra);
				zmq_msg_recv(&extra, sock, 0);
				zmq_msg_close(&extra);
				zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &more_size);
			}
			atomic_fetch_add(&self->counters.malformed, 1);
			broker_send_error(self, router, zmq_msg_data(&rid), zmq_msg_size(&rid), 0,
				   BLONET__ERROR_CODE__ERROR_MALFORMED, "one frame per message");
		} else if (zmq_msg_size(&rid) <= ROUTING_ID_MAX) {
			on_frame(self, router, zmq_msg_data(&rid), zmq_msg_size(&rid), &body);
		}
		zmq_msg_close(&rid);
		zmq_msg_close(&body);
	}
}

/* A logged job's record, which readers of the journal may not see yet:
 * into the cache from its frame, then deliverable (last_seq). Without
 * memory for it the record is left out: pump reads it from the journal,
 * whose readers wait for a logged commit under way. */
static void cache_prefill(blo_broker_t *self, job_t *job)
{
	const ProtobufCBinaryData *env = job->kind == JOB_FORWARD ? &job->frame->forward->envelope
								  : &job->frame->publish->envelope;
	blo_journal_record_t rec = {.seq = job->seq,
				    .time_ms = job->received_ms,
				    .id = job->id,
				    .data = env->data,
				    .len = env->len};
	fill_arg_t arg = {self};

	cache_fill_one(&rec, &arg);
	blo_message_free((ProtobufCMessage **)&job->frame);
	broker_seq_raise(&self->last_seq, job->seq);
}

static void read_results(blo_broker_t *self)
{
	job_t *job;

	while ((job = broker_job_recv(self->from_writer, ZMQ_DONTWAIT)) != NULL)
		while (job != NULL) {
			job_t *next = job->next;

			job->next = NULL;
			if (job->logged)
				cache_prefill(self, job);
			on_publish_done(self, job);
			job = next;
		}
	for (size_t i = 0; i < self->n_sessions; i++)
		flush_acks(self, self->sessions[i]);
}

/* ---------------------------------------------------------------- status */

/* A blo_hist as status.json shows it under name: cumulative buckets ("le":
 * how many took at most that many ms), with their count, sum and the
 * slowest. */
static void hist_json(cJSON *root, const char *name, const blo_hist_snap_t *h)
{
	cJSON *o = cJSON_AddObjectToObject(root, name), *le;
	uint64_t below = 0;

	cJSON_AddNumberToObject(o, "count", (double)h->count);
	cJSON_AddNumberToObject(o, "sum", h->sum_ms);
	cJSON_AddNumberToObject(o, "max", h->max_ms);
	le = cJSON_AddObjectToObject(o, "le");
	for (int i = 0; i < BLO_HIST_BUCKETS; i++) {
		char bound[16];

		below += h->n[i];
		cJSON_AddNumberToObject(le, blo_hist_bound_name(i, bound, sizeof(bound)), (double)below);
	}
}

static void write_status(blo_broker_t *self)
{
	cJSON *root = cJSON_CreateObject(), *counters, *by_reason, *subs, *journal, *zap;
	blo_journal_stats_t st;
	blo_zap_stats_t zs;
	uint64_t last = atomic_load(&self->last_seq);
	char *text;

	if (root == NULL)
		return;
	cJSON_AddStringToObject(root, "broker", self->id);
	cJSON_AddNumberToObject(root, "pid", (double)getpid());
	cJSON_AddNumberToObject(root, "time_ms", (double)blo_now_ms());
	cJSON_AddNumberToObject(root, "uptime_s", (double)(blo_mono_ms() - self->started_ms) / 1000.0);
	cJSON_AddNumberToObject(root, "registry_version", (double)blo_registry_version(broker_registry(self)));
	cJSON_AddNumberToObject(root, "sessions", (double)self->n_sessions);
	if (self->memory_anon >= 0) {
		cJSON *memory = cJSON_AddObjectToObject(root, "memory");

		cJSON_AddNumberToObject(memory, "anon_mb", (double)(self->memory_anon / (1024 * 1024)));
		cJSON_AddNumberToObject(memory, "cache_mb", (double)(self->cache_mem / (1024 * 1024)));
		cJSON_AddNumberToObject(memory, "limit_mb", (double)(self->memory_limit / (1024 * 1024)));
	}
	if (blo_journal_stats(self->journal, &st) == 0) {
		journal = cJSON_AddObjectToObject(root, "journal");
		cJSON_AddNumberToObject(journal, "first_seq", (double)st.first_seq);
		cJSON_AddNumberToObject(journal, "last_seq", (double)st.last_seq);
		cJSON_AddNumberToObject(journal, "count", (double)st.count);
		cJSON_AddNumberToObject(journal, "map_size", (double)st.map_size);
		cJSON_AddNumberToObject(journal, "used_bytes", (double)st.used_bytes);
	}
	/* "commit_ms": the journal's synced commits, what an ack waits for at
	 * least (a stalling disk shows here); "publish_ms": publishes from
	 * when this loop read them to their answer. */
	{
		blo_hist_snap_t h;

		blo_journal_commit_times(self->journal, &h);
		hist_json(root, "commit_ms", &h);
		blo_hist_read(&self->publish_times, &h);
		hist_json(root, "publish_ms", &h);
	}
	counters = cJSON_AddObjectToObject(root, "counters");
	cJSON_AddNumberToObject(counters, "accepted", (double)atomic_load(&self->counters.accepted));
	cJSON_AddNumberToObject(counters, "duplicate", (double)atomic_load(&self->counters.duplicate));
	cJSON_AddNumberToObject(counters, "rejected", (double)atomic_load(&self->counters.rejected));
	by_reason = cJSON_AddObjectToObject(counters, "rejected_by_reason");
	for (int r = 1; r < REJECT_REASONS; r++) {
		uint64_t n = atomic_load(&self->counters.rejected_by[r]);

		if (n > 0)
			cJSON_AddNumberToObject(by_reason, broker_reason_name((Blonet__RejectReason)r), (double)n);
	}
	cJSON_AddNumberToObject(counters, "delivered", (double)atomic_load(&self->counters.delivered));
	cJSON_AddNumberToObject(counters, "redelivered",
				(double)atomic_load(&self->counters.redelivered));
	cJSON_AddNumberToObject(counters, "malformed_frames",
				(double)atomic_load(&self->counters.malformed));
	cJSON_AddNumberToObject(counters, "forbidden", (double)atomic_load(&self->counters.forbidden));
	cJSON_AddNumberToObject(counters, "frames_unread", (double)self->unread_frames);
	cJSON_AddNumberToObject(counters, "sessions_refused", (double)self->sessions_refused);
	cJSON_AddNumberToObject(counters, "expired_before_delivery",
				(double)atomic_load(&self->counters.expired));
	cJSON_AddNumberToObject(counters, "commits", (double)atomic_load(&self->counters.commits));
	cJSON_AddNumberToObject(counters, "logged_commits",
				(double)atomic_load(&self->counters.logged_commits));
	cJSON_AddNumberToObject(counters, "audit_limited",
				(double)atomic_load(&self->counters.audit_limited));
	cJSON_AddNumberToObject(counters, "audit_lost", (double)atomic_load(&self->counters.audit_lost));
	cJSON_AddNumberToObject(counters, "audit_archived",
				(double)atomic_load(&self->counters.audit_archived));
	cJSON_AddNumberToObject(counters, "batches_received",
				(double)atomic_load(&self->counters.batches_in));
	cJSON_AddNumberToObject(counters, "batches_sent",
				(double)atomic_load(&self->counters.batches_out));
	cJSON_AddNumberToObject(counters, "memory_resets",
				(double)atomic_load(&self->counters.memory_resets));
	blo_zap_stats(self->zap, &zs);
	zap = cJSON_AddObjectToObject(root, "auth");
	cJSON_AddNumberToObject(zap, "allowed", (double)zs.allowed);
	cJSON_AddNumberToObject(zap, "denied_unknown_key", (double)zs.denied_unknown_key);
	cJSON_AddNumberToObject(zap, "denied_revoked", (double)zs.denied_revoked);
	cJSON_AddNumberToObject(zap, "denied_role", (double)zs.denied_role);
	cJSON_AddNumberToObject(zap, "denied_country", (double)zs.denied_country);
	cJSON_AddNumberToObject(zap, "denied_domain", (double)zs.denied_domain);
	cJSON_AddNumberToObject(zap, "denied_mechanism", (double)zs.denied_mechanism);
	cJSON_AddNumberToObject(zap, "malformed", (double)zs.malformed);
	cJSON_AddNumberToObject(counters, "received_from_peers",
				(double)atomic_load(&self->counters.received));
	cJSON_AddNumberToObject(counters, "refused_from_peers",
				(double)atomic_load(&self->counters.received_rejected));
	blo_mesh_status(self->mesh, root, last);
	subs = cJSON_AddArrayToObject(root, "subscribers");
	for (size_t i = 0; i < self->n_subs; i++) {
		const sub_t *s = self->subs[i];
		cJSON *o;

		/* A principal removed from the registry keeps its durable
		 * subscriptions in the journal, inert: not worth a line. */
		if (blo_registry_find(broker_registry(self), s->principal) == NULL)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "principal", s->principal);
		cJSON_AddStringToObject(o, "durable", s->durable);
		cJSON_AddBoolToObject(o, "connected", s->session != NULL);
		cJSON_AddNumberToObject(o, "acked_seq", (double)s->acked);
		cJSON_AddNumberToObject(o, "next_seq", (double)s->next_seq);
		cJSON_AddNumberToObject(o, "in_flight", (double)s->n_inflight);
		cJSON_AddNumberToObject(o, "lag", (double)(last > s->acked ? last - s->acked : 0));
		cJSON_AddNumberToObject(o, "delivered", (double)s->delivered);
		cJSON_AddNumberToObject(o, "redelivered", (double)s->redelivered);
		cJSON_AddNumberToObject(o, "last_contact_ms", (double)s->last_contact_ms);
		cJSON_AddItemToArray(subs, o);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (text != NULL) {
		/* Replaced whole, but not synced: it is rewritten every second. */
		char tmp[4096];
		FILE *fp;

		snprintf(tmp, sizeof(tmp), "%s.tmp", self->status_path);
		fp = fopen(tmp, "w");
		if (fp != NULL) {
			fputs(text, fp);
			if (fclose(fp) == 0)
				rename(tmp, self->status_path);
		}
		cJSON_free(text);
	}
}

/* ---------------------------------------------------------------- reload */

/* The journal keeps the highest registry version the broker has accepted,
 * so that a restart refuses an older registry as a reload does: a replayed
 * older registry could undo a revocation. */
#define META_REGISTRY_VERSION "registry_version"

/* Refuses a registry older than the highest version accepted, else records
 * its version as accepted (a failure to record it is logged: the broker
 * serves on, and the version in force still guards reloads). */
static int registry_version_guard(blo_broker_t *self, const char *path, uint64_t version,
				  blo_err_t *err)
{
	uint64_t highest = 0;
	blo_err_t put_err = {0};
	int rc;

	rc = blo_journal_meta_get(self->journal, META_REGISTRY_VERSION, &highest);
	if (rc != 0 && rc != BLO_ENOTFOUND)
		return blo_err_set(err, rc, "journal %s: cannot read the highest registry version "
				   "accepted: %s", self->data_dir, blo_strerror(rc));
	if (rc == 0 && version < highest)
		return blo_err_set(err, BLO_EOLDER,
				   "%s has version %" PRIu64 ", older than version %" PRIu64
				   " this broker has already accepted: refused (an older registry "
				   "could undo a revocation; install version %" PRIu64 " or newer)",
				   path, version, highest, highest);
	if (rc == BLO_ENOTFOUND || version > highest) {
		rc = blo_journal_meta_put(self->journal, META_REGISTRY_VERSION, version, &put_err);
		if (rc != 0)
			blo_error("registry.version_not_recorded",
				  "version %" PRIu64 " is in force but could not be recorded: %s",
				  version, put_err.msg);
	}
	return 0;
}

/* Why the registry reg no longer lets this process serve as broker self->id,
 * or NULL when it does: the registry must list it as a live broker with
 * the keys of the identity it holds. */
static const char *registry_refuses_me(const blo_broker_t *self, const blo_registry_t *reg,
				       bool *revoked)
{
	const blo_principal_t *me = blo_registry_find(reg, self->id);
	const blo_public_identity_t *mine = blo_identity_public(self->identity);

	*revoked = true;
	if (me == NULL)
		return "is not in";
	if (me->revoked)
		return "is revoked in";
	if (me->role != BLO_ROLE_BROKER)
		return "is not a broker in";
	*revoked = false;
	if (memcmp(me->curve_public, mine->curve_public, BLO_CURVE_KEY_BYTES) != 0 ||
	    memcmp(me->sign_public, mine->sign_public, BLO_SIGN_PUBLIC_BYTES) != 0)
		return "has keys this process does not hold in";
	return NULL;
}

/* Only brokers come from other countries: the agents, consoles, committees
 * and administrators a broker serves are of its own. */
static int serve_home_country(blo_broker_t *self, const blo_registry_t *reg)
{
	const blo_principal_t *me = blo_registry_find(reg, self->id);

	if (me == NULL)
		return BLO_ENOTFOUND;
	return blo_zap_home_country(self->zap, me->country,
				    BLO_ZAP_ROLE(BLO_ROLE_AGENT) | BLO_ZAP_ROLE(BLO_ROLE_CONSOLE) |
					    BLO_ZAP_ROLE(BLO_ROLE_COMMITTEE) |
					    BLO_ZAP_ROLE(BLO_ROLE_ADMIN));
}

/* Why a principal live in the old registry (was) may no longer use what it
 * authenticated with, given its entry in the new one (now, NULL if gone);
 * NULL when nothing changed for it. A session is tied to the CURVE key it
 * authenticated with and the role the registry gave it then. */
static const char *access_lost(const blo_principal_t *was, const blo_principal_t *now)
{
	if (was == NULL || was->revoked)
		return NULL;
	if (now == NULL)
		return "principal removed from the registry";
	if (now->revoked)
		return "principal revoked";
	if (memcmp(now->curve_public, was->curve_public, BLO_CURVE_KEY_BYTES) != 0)
		return "principal's key changed: reconnect with the new key";
	if (now->role != was->role)
		return "principal's role changed";
	if (strcmp(now->country, was->country) != 0)
		return "principal's country changed";
	return NULL;
}

/* libzmq cannot close one peer of a ROUTER: rebind the listening sockets,
 * which ends every connection and frees what libzmq held for it. Clients
 * reconnect at once, through ZAP again, which refuses the keys no longer
 * valid. The sessions' ends are audited under why: each one, or (budgeted,
 * for an end no operator asked for) within its principal's budget of
 * sessions. */
static void rebind_routers(blo_broker_t *self, const char *why, bool budgeted)
{
	blo_err_t err = {0};

	for (size_t k = 0; k < self->n_routers; k++) {
		void *old_sock = self->routers[k];
		void *sock = zmq_socket(self->ctx, ZMQ_ROUTER);
		int one = 1, zero = 0, hwm = 100000, linger = 500;

		/* A moment for the errors just queued (telling each dropped
		 * session why) to leave; the listener closes at once. */
		zmq_setsockopt(old_sock, ZMQ_LINGER, &linger, sizeof(linger));
		zmq_close(old_sock);
		blo_curve_server_setup(sock, self->identity, ZAP_DOMAIN, self->max_message_bytes, &err);
		zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
		zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
		zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &self->heartbeat_ms, sizeof(int));
		for (int tries = 0; tries < 50; tries++) {
			if (zmq_bind(sock, self->bound[k]) == 0)
				break;
			if (tries == 49)
				blo_error("broker.rebind_failed", "%s: cannot listen again: %s",
					  self->bound[k], zmq_strerror(errno));
			usleep(20000);
		}
		self->routers[k] = sock;
	}
	while (self->n_sessions > 0) {
		session_t *s = self->sessions[0];

		session_end(self, s, why,
			    !budgeted || within_budget(self, self->session_limit, s->principal, why));
	}
}

/* Anonymous memory resident (RssAnon in /proc/self/status), in bytes; -1
 * if it cannot be read. The journal's map is file memory, not counted. */
static int64_t rss_anon_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : (int64_t)kb * 1024;
}

/* libzmq holds every part of a message until its last part arrives, with
 * no bound on their number (ZMQ_MAXMSGSIZE bounds one part, the high-water
 * marks count whole messages): an authenticated peer that never ends a
 * message grows this process by about 140 bytes for each 36-byte part it
 * sends. No socket option limits that, a ROUTER cannot close one
 * connection, and libzmq does not say which connection holds what. So
 * when the anonymous memory beyond the record cache goes over
 * limits.memory_mb the broker rebinds its listeners, as for a registry
 * change, and makes its links to its peers again: every connection ends,
 * libzmq frees what they held, and clients reconnect at once (publishes in
 * flight are answered as duplicates when sent again, deliveries
 * unacknowledged go again). Memory freed but not yet handed back to the
 * system is handed back first. At the next look (a second later) the
 * broker logs what is left, and looks on: over the limit again, it resets
 * again, so a client that fills the memory again as soon as it has
 * reconnected is cut off again. The limit applies beyond the record cache
 * (cache_mem: the envelopes and an estimate of their decoded alerts; up to
 * CACHE_SLOTS large alerts come to over a gigabyte, the broker's own). A
 * reset that left more than half of what there was freed little (or a client refilled it at once): the next one
 * then waits until the memory has grown by a quarter of the limit more,
 * so the broker's own memory over a limit set too low costs a reset now
 * and then, not one every two seconds. The resets' audit records, 20 a
 * minute at most, the rest summed up. */
static void memory_guard(blo_broker_t *self, int64_t now)
{
	const long long mb = 1024 * 1024;
	int64_t rss = rss_anon_bytes(), own;

	self->memory_anon = rss;
	if (self->memory_limit == 0 || self->stopping)
		return;
	if (rss < 0) {
		if (!self->memory_unknown_said)
			blo_warn("broker.memory_unknown", "RssAnon cannot be read from /proc/self/status "
				 "(Linux 4.5 or later has it): limits.memory_mb is not enforced");
		self->memory_unknown_said = true;
		return;
	}
	if (now - self->memory_audit_from >= 60000) {
		if (self->memory_audit_left_out > 0)
			broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0,
				     "%" PRIu64 " more memory resets in 60 s not recorded one by one",
				     self->memory_audit_left_out);
		self->memory_audit_from = now;
		self->memory_audit_n = 0;
		self->memory_audit_left_out = 0;
	}
	own = rss - (int64_t)self->cache_mem;
	if (own > self->memory_limit || self->memory_check) {
		/* Memory freed but kept by malloc is not a peer's doing. */
		malloc_trim(0);
		self->memory_anon = rss = rss_anon_bytes();
		own = rss - (int64_t)self->cache_mem;
	}
	if (self->memory_check) {
		/* The look after a reset: what did it free? */
		self->memory_check = false;
		if (own > self->memory_limit && own > self->memory_reset_own / 2) {
			self->memory_floor = own;
			blo_warn("broker.memory_held",
				 "%lld MB of anonymous memory beyond the record cache after the reset "
				 "(%lld MB before), still over limits.memory_mb (%lld): a client filled "
				 "it again at once, or the broker's own work needs more than the limit; "
				 "the next reset waits until it grows by %lld MB more",
				 (long long)own / mb, (long long)self->memory_reset_own / mb,
				 (long long)self->memory_limit / mb, (long long)self->memory_limit / 4 / mb);
		} else {
			blo_info("broker.memory", "%lld MB of anonymous memory beyond the record cache "
				 "after the reset (%lld MB before; limits.memory_mb %lld)",
				 (long long)own / mb, (long long)self->memory_reset_own / mb,
				 (long long)self->memory_limit / mb);
		}
	}
	if (own <= self->memory_limit) {
		self->memory_floor = 0;
		return;
	}
	if (self->memory_floor != 0 && own <= self->memory_floor + self->memory_limit / 4)
		return;
	atomic_fetch_add(&self->counters.memory_resets, 1);
	self->memory_reset_own = own;
	self->memory_check = true;
	self->memory_floor = 0;
	blo_error("broker.memory_reset",
		  "%lld MB of anonymous memory beyond the record cache is over limits.memory_mb "
		  "(%lld): ending every connection, the only way to make libzmq let go of messages "
		  "a peer never finishes; clients reconnect at once",
		  (long long)own / mb, (long long)self->memory_limit / mb);
	if (self->memory_audit_n < AUDIT_REFUSAL_BURST) {
		self->memory_audit_n++;
		broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0,
			     "memory reset: %lld MB of anonymous memory beyond the record cache over "
			     "limits.memory_mb %lld; every connection ended",
			     (long long)own / mb, (long long)self->memory_limit / mb);
	} else {
		self->memory_audit_left_out++;
		atomic_fetch_add(&self->counters.audit_limited, 1);
	}
	rebind_routers(self, "every connection ended: memory over limits.memory_mb", true);
	blo_mesh_relink(self->mesh, "after a memory reset");
}

static void reload_registry(blo_broker_t *self)
{
	blo_registry_t *reg = NULL;
	blo_err_t err = {0};
	regref_t *r, *old;
	const blo_registry_t *old_reg;
	uint64_t old_version = blo_registry_version(broker_registry(self)), version;
	size_t dropped = 0, lost = 0;
	const char *why;
	bool revoked;

	if (blo_registry_load(&reg, self->registry_path, self->authority, &err) != 0) {
		blo_error("registry.reload_failed", "keeping version %" PRIu64 ": %s", old_version, err.msg);
		broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0, "registry reload refused: %s", err.msg);
		return;
	}
	version = blo_registry_version(reg);
	if (version < old_version) {
		blo_error("registry.reload_failed", "%s has version %" PRIu64
			  ", older than version %" PRIu64 " in force: refused",
			  self->registry_path, version, old_version);
		broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0, "older registry refused");
		blo_registry_destroy(&reg);
		return;
	}
	if (registry_version_guard(self, self->registry_path, version, &err) != 0) {
		blo_error("registry.reload_failed", "keeping version %" PRIu64 ": %s", old_version, err.msg);
		broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0, "registry reload refused: %s", err.msg);
		blo_registry_destroy(&reg);
		return;
	}
	/* A registry that revokes this broker, or gives it keys it does not
	 * hold, is authentic and newer: it is recorded (so that a restart with
	 * the older one is refused) and the broker stops serving. Revoked, it
	 * exits for good; with new keys, a restart with the new identity
	 * serves again. */
	why = registry_refuses_me(self, reg, &revoked);
	if (why != NULL) {
		blo_error(revoked ? "broker.revoked" : "broker.keys_changed",
			  "broker %s %s registry version %" PRIu64 " (%s): stopping%s", self->id, why,
			  version, self->registry_path,
			  revoked ? "" : "; restart it with its new identity");
		broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0,
			     "registry version %" PRIu64 ": this broker %s it: stopping", version, why);
		self->exit_rc = revoked ? BLO_EREVOKED : BLO_EKEY;
		blo_broker_request_stop(self);
		blo_registry_destroy(&reg);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		blo_registry_destroy(&reg);
		return;
	}
	r->reg = reg;
	r->refs = 1;
	pthread_mutex_lock(&self->reg_lock);
	old = self->reg_current;
	self->reg_current = r;
	pthread_mutex_unlock(&self->reg_lock);
	blo_zap_set_registry(self->zap, reg);
	serve_home_country(self, reg); /* registry_refuses_me found us in it */
	old_reg = old->reg; /* still held by the I/O thread's reference */

	/* Every principal that lost what it authenticated with: revoked,
	 * removed, another CURVE key, another role or another country. */
	for (size_t i = 0; i < blo_registry_count(old_reg); i++) {
		const blo_principal_t *was = blo_registry_at(old_reg, i);

		why = access_lost(was, blo_registry_find(reg, was->id));
		if (why != NULL) {
			blo_info("registry.access_ended", "%s: %s", was->id, why);
			lost++;
		}
	}
	/* Their sessions end now, told why. */
	for (size_t i = 0; i < self->n_sessions;) {
		session_t *s = self->sessions[i];

		why = access_lost(blo_registry_find(old_reg, s->principal),
				  blo_registry_find(reg, s->principal));
		if (why != NULL) {
			broker_send_error(self, s->router, s->rid, s->rid_len, 0,
				   BLONET__ERROR_CODE__ERROR_FORBIDDEN, why);
			session_drop(self, s, why);
			dropped++;
			continue;
		}
		i++;
	}
	blo_info("registry.reloaded", "version %" PRIu64 " -> %" PRIu64 "; %zu principals lost access, "
		 "%zu sessions dropped", old_version, version, lost, dropped);
	broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0, "registry version %" PRIu64 " in force",
	      version);
	/* Also when none of theirs had a session yet: a connection may have
	 * passed ZAP with a key now void and not have spoken. */
	if (lost > 0)
		rebind_routers(self, "listener rebound after a registry change", false);
	blo_mesh_registry_changed(self->mesh);
	reg_release(self, old);
}

/* ---------------------------------------------------------------- lifecycle */

static int bind_routers(blo_broker_t *self, const blo_broker_settings_t *s, blo_err_t *err)
{
	for (size_t i = 0; i < s->listen.n && i < MAX_ENDPOINTS; i++) {
		void *sock = zmq_socket(self->ctx, ZMQ_ROUTER);
		int one = 1, zero = 0, hwm = 100000;
		char endpoint[256];
		size_t len = sizeof(endpoint);
		int rc;

		if (sock == NULL)
			return blo_err_set(err, -errno, "socket: %s", zmq_strerror(errno));
		self->routers[self->n_routers++] = sock;
		if ((rc = blo_curve_server_setup(sock, self->identity, ZAP_DOMAIN, self->max_message_bytes,
						 err)) != 0)
			return rc;
		zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
		zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
		zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
		zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &self->heartbeat_ms, sizeof(int));
		if (zmq_bind(sock, s->listen.v[i]) != 0)
			return blo_err_set(err, BLO_ECONFIG, "cannot listen on \"%s\": %s", s->listen.v[i],
					   zmq_strerror(errno));
		zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len);
		self->bound[i] = strdup(endpoint);
		self->listen[i] = strdup(s->listen.v[i]);
	}
	return 0;
}

int blo_broker_open(blo_broker_t **out, const blo_broker_settings_t *s, blo_err_t *err)
{
	blo_broker_t *self;
	blo_registry_t *reg = NULL;
	blo_journal_opts_t jopts = {0};
	blo_err_t wal_err = {0};
	const blo_principal_t *me;
	int hwm = INPROC_HWM;
	long cores;
	int rc;

	*out = NULL;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->signal_pipe[0] = self->signal_pipe[1] = -1;
	pthread_mutex_init(&self->reg_lock, NULL);
	blo_strlcpy(self->id, s->id, sizeof(self->id));
	self->data_dir = strdup(s->data_dir);
	self->audit_dir = strdup(s->audit.archive_dir);
	self->registry_path = strdup(s->registry);
	if (self->data_dir == NULL || self->audit_dir == NULL || self->registry_path == NULL ||
	    asprintf(&self->status_path, "%s/status.json", s->data_dir) < 0) {
		self->status_path = NULL;
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = blo_audit_limit_new(&self->io_limit, AUDIT_REFUSAL_BURST,
				      AUDIT_REFUSAL_WINDOW_MS)) != 0 ||
	    (rc = blo_audit_limit_new(&self->zap_limit, AUDIT_REFUSAL_BURST,
				      AUDIT_REFUSAL_WINDOW_MS)) != 0 ||
	    (rc = blo_audit_limit_new(&self->writer_limit, AUDIT_REFUSAL_BURST,
				      AUDIT_REFUSAL_WINDOW_MS)) != 0 ||
	    (rc = blo_audit_limit_new(&self->again_limit, AUDIT_REFUSAL_BURST,
				      AUDIT_REFUSAL_WINDOW_MS)) != 0 ||
	    (rc = blo_audit_limit_new(&self->session_limit, AUDIT_REFUSAL_BURST,
				      AUDIT_REFUSAL_WINDOW_MS)) != 0 ||
	    (rc = blo_audit_limit_new(&self->subscribe_log, AUDIT_REFUSAL_BURST,
				      AUDIT_REFUSAL_WINDOW_MS)) != 0) {
		rc = blo_err_set(err, rc, "out of memory");
		goto out;
	}
	self->max_in_flight = (uint64_t)s->limits.max_in_flight;
	self->max_batch = (size_t)s->limits.max_batch;
	self->commit_hold_ns = s->limits.commit_hold_us * 1000;
	self->max_message_bytes = s->limits.max_message_bytes;
	self->heartbeat_ms = (int)s->limits.heartbeat_ms;
	self->memory_limit = s->limits.memory_mb * 1024 * 1024;
	self->retention_age_ms = s->journal.max_age_hours * 3600 * 1000;
	self->retention_count = (uint64_t)s->journal.max_count;
	self->retention_bytes = (size_t)s->journal.max_size_mb * 1024 * 1024;
	self->audit_age_ms = s->audit.max_age_hours * 3600 * 1000;
	self->audit_keep = (uint64_t)s->audit.max_records;
	self->started_ms = blo_mono_ms();
	self->memory_anon = -1;

	if ((rc = blo_settings_authority(s->authority, self->authority, err)) != 0)
		goto out;
	if ((rc = blo_identity_load(&self->identity, s->identity, err)) != 0)
		goto out;
	if (strcmp(blo_identity_id(self->identity), s->id) != 0) {
		rc = blo_err_set(err, BLO_ECONFIG, "identity %s is of \"%s\", not of broker \"%s\"",
				 s->identity, blo_identity_id(self->identity), s->id);
		goto out;
	}
	if ((rc = blo_registry_load(&reg, s->registry, self->authority, err)) != 0)
		goto out;
	me = blo_registry_find(reg, s->id);
	if (me == NULL || me->role != BLO_ROLE_BROKER || me->revoked ||
	    memcmp(me->curve_public, blo_identity_public(self->identity)->curve_public,
		   BLO_CURVE_KEY_BYTES) != 0 ||
	    memcmp(me->sign_public, blo_identity_public(self->identity)->sign_public,
		   BLO_SIGN_PUBLIC_BYTES) != 0) {
		rc = blo_err_set(err, BLO_EKEY, "broker \"%s\" is not a live broker with these keys in %s",
				 s->id, s->registry);
		goto out;
	}
	self->reg_current = calloc(1, sizeof(regref_t));
	if (self->reg_current == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	self->reg_current->reg = reg;
	self->reg_current->refs = 1;
	reg = NULL;

	if (mkdir(self->data_dir, 0700) != 0 && errno != EEXIST) {
		rc = blo_err_set(err, -errno, "cannot create data folder %s: %s", self->data_dir,
				 strerror(errno));
		goto out;
	}
	jopts.map_size = (size_t)s->journal.map_size_mb * 1024 * 1024;
	jopts.wal_size = BROKER_WAL_BYTES;
	jopts.wal_err = &wal_err;
	if ((rc = blo_journal_open(&self->journal, self->data_dir, &jopts, err)) != 0)
		goto out;
	if (wal_err.code != 0)
		blo_warn("journal.wal_unavailable",
			 "%s: small batches of publishes commit as large ones do, acknowledged "
			 "after the journal's own syncs", wal_err.msg);
	if ((rc = registry_version_guard(self, s->registry,
					 blo_registry_version(self->reg_current->reg), err)) != 0)
		goto out;
	{
		blo_journal_stats_t st;

		blo_journal_stats(self->journal, &st);
		atomic_store(&self->last_seq, st.last_seq);
		if (st.wal_replayed > 0)
			blo_info("journal.replayed",
				 "%" PRIu64 " acknowledged batches whose commit the last run did not "
				 "finish were replayed from the journal's write-ahead log",
				 st.wal_replayed);
	}
	/* The durable subscriptions kept: each counts for its principal from
	 * the start, connected or not. */
	if ((rc = blo_journal_cursor_scan(self->journal, "sub/", load_durable, self)) != 0) {
		rc = blo_err_set(err, rc, "journal %s: durable subscriptions: %s", self->data_dir,
				 blo_strerror(rc));
		goto out;
	}
	self->cache = calloc(CACHE_SLOTS, sizeof(*self->cache));
	if (self->cache == NULL) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto out;
	}
	if (pipe2(self->signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = blo_err_set(err, -errno, "pipe: %s", strerror(errno));
		goto out;
	}

	self->ctx = zmq_ctx_new();
	if (self->ctx == NULL) {
		rc = blo_err_set(err, -errno, "zmq context: %s", zmq_strerror(errno));
		goto out;
	}
	/* CURVE decryption runs on libzmq's I/O threads. */
	zmq_ctx_set(self->ctx, ZMQ_IO_THREADS, 2);
	/* Fail-closed: the ZAP handler comes first; without it nothing binds. */
	if ((rc = blo_zap_start(&self->zap, self->ctx, self->reg_current->reg, err)) != 0)
		goto out;
	if ((rc = blo_zap_allow_domain(self->zap, ZAP_DOMAIN,
				       BLO_ZAP_ROLE(BLO_ROLE_AGENT) | BLO_ZAP_ROLE(BLO_ROLE_CONSOLE) |
					       BLO_ZAP_ROLE(BLO_ROLE_COMMITTEE) |
					       BLO_ZAP_ROLE(BLO_ROLE_ADMIN) |
					       BLO_ZAP_ROLE(BLO_ROLE_BROKER))) != 0) {
		blo_err_set(err, rc, "ZAP domain: %s", blo_strerror(rc));
		goto out;
	}
	if ((rc = serve_home_country(self, self->reg_current->reg)) != 0) {
		blo_err_set(err, rc, "ZAP home country: %s", blo_strerror(rc));
		goto out;
	}

	self->from_writer = zmq_socket(self->ctx, ZMQ_PULL);
	self->to_workers = zmq_socket(self->ctx, ZMQ_PUSH);
	zmq_setsockopt(self->from_writer, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(self->to_workers, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	if (zmq_bind(self->from_writer, "inproc://blo-results") != 0 ||
	    zmq_bind(self->to_workers, "inproc://blo-verify") != 0) {
		rc = blo_err_set(err, -errno, "inproc: %s", zmq_strerror(errno));
		goto out;
	}
	if (pthread_create(&self->writer, NULL, writer_main, self) != 0) {
		rc = blo_err_set(err, BLO_ENOMEM, "cannot start the journal writer");
		goto out;
	}
	self->writer_started = true;
	/* The writer binds inproc://blo-store; connecting first is fine with
	 * libzmq >= 4 (inproc connect before bind). */
	self->to_writer = zmq_socket(self->ctx, ZMQ_PUSH);
	zmq_setsockopt(self->to_writer, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_connect(self->to_writer, "inproc://blo-store");

	cores = sysconf(_SC_NPROCESSORS_ONLN);
	self->n_workers = s->limits.verify_threads > 0 ? (size_t)s->limits.verify_threads
						       : (size_t)(cores > 0 ? cores : 1);
	if (self->n_workers > MAX_VERIFY_THREADS)
		self->n_workers = MAX_VERIFY_THREADS;
	for (size_t i = 0; i < self->n_workers; i++) {
		worker_arg_t *wa = malloc(sizeof(*wa));

		if (wa == NULL || pthread_create(&self->workers[i], NULL, worker_main,
						 (wa->broker = self, wa->index = i, wa)) != 0) {
			free(wa);
			self->n_workers = i;
			rc = blo_err_set(err, BLO_ENOMEM, "cannot start verify workers");
			goto out;
		}
	}
	if ((rc = bind_routers(self, s, err)) != 0)
		goto out;
	if ((rc = blo_mesh_open(&self->mesh, self, s, err)) != 0)
		goto out;
	broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0, "broker started, registry version %" PRIu64,
	      blo_registry_version(broker_registry(self)));
	flush_audit(self);
out:
	blo_registry_destroy(&reg);
	if (rc != 0)
		blo_broker_close(&self);
	*out = self;
	return rc;
}

const char *blo_broker_endpoint(const blo_broker_t *self, size_t i)
{
	return i < self->n_routers ? self->bound[i] : NULL;
}

void blo_broker_request_stop(blo_broker_t *self)
{
	char c = 's';

	self->stop_requested = 1;
	if (write(self->signal_pipe[1], &c, 1) < 0) {
		/* The flag is set; the loop sees it within one poll. */
	}
}

void blo_broker_request_reload(blo_broker_t *self)
{
	char c = 'r';

	self->reload_requested = 1;
	if (write(self->signal_pipe[1], &c, 1) < 0) {
		/* As above. */
	}
}

int blo_broker_run(blo_broker_t *self)
{
	zmq_pollitem_t items[MAX_ENDPOINTS + 2 + 2 * MAX_PEERS];
	int64_t next_status = 0, draining_since = 0, last_audit_flush = 0;

	blo_info("broker.started", "%s serving on %s (%zu verify threads)", self->id, self->bound[0],
		 self->n_workers);
	for (;;) {
		size_t n = 0;
		int64_t now;

		for (size_t i = 0; i < self->n_routers; i++)
			items[n++] = (zmq_pollitem_t){.socket = self->routers[i], .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.socket = self->from_writer, .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.fd = self->signal_pipe[0], .events = ZMQ_POLLIN};
		size_t signal_item = n - 1, mesh_first = n;

		n += blo_mesh_poll_items(self->mesh, items + n, 2 * MAX_PEERS);
		if (zmq_poll(items, (int)n, 20) < 0 && errno != EINTR)
			break;
		blo_mesh_on_ready(self->mesh, items + mesh_first, n - mesh_first);
		if (items[signal_item].revents & ZMQ_POLLIN) {
			char buf[16];

			while (read(self->signal_pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		if (self->reload_requested) {
			self->reload_requested = 0;
			reload_registry(self);
		}
		if (self->stop_requested && !self->stopping) {
			self->stopping = true;
			draining_since = blo_mono_ms();
			blo_info("broker.stopping", "refusing new publishes; committing %" PRIu64 " in flight",
				 self->publishes_in_flight);
		}
		read_results(self);
		for (size_t i = 0; i < self->n_routers; i++)
			if (items[i].revents & ZMQ_POLLIN)
				read_router(self, i);
		read_results(self);
		pump(self);
		blo_mesh_pump(self->mesh, atomic_load(&self->last_seq));
		now = blo_mono_ms();
		/* Every turn: a refused forward goes again limits.mesh_resend_ms
		 * after it was sent, not at the next whole second. */
		blo_mesh_tick(self->mesh, now);
		if (now >= next_status) {
			redeliver_overdue(self);
			for (size_t i = 0; i < self->n_sessions;) {
				session_t *sess = self->sessions[i];

				if ((sess->n_subs == 0 && now - sess->last_ms > SESSION_IDLE_MS) ||
				    !session_alive(self, sess, now))
					session_drop(self, sess, PEER_GONE);
				else
					i++;
			}
			for (size_t i = 0; i < self->n_subs; i++)
				save_cursor(self, self->subs[i]);
			audit_handshakes(self);
			if (self->zap_limit != NULL)
				blo_audit_limit_flush(self->zap_limit, now, zap_summary, self);
			if (self->io_limit != NULL)
				blo_audit_limit_flush(self->io_limit, now, io_summary, self);
			if (self->session_limit != NULL)
				blo_audit_limit_flush(self->session_limit, now, session_summary, self);
			if (self->subscribe_log != NULL)
				blo_audit_limit_flush(self->subscribe_log, now, subscribe_summary, self);
			memory_guard(self, now);
			write_status(self);
			next_status = now + STATUS_EVERY_MS;
		}
		/* Audit records and cursors ride with the next publishes' commit,
		 * or go on their own every AUDIT_FLUSH_MS: a commit of their own
		 * for every turn would put a second fsync in front of publishes. */
		if (now - last_audit_flush >= AUDIT_FLUSH_MS || self->stopping ||
		    (self->pending_audit != NULL && self->pending_audit->n_audit > 4096)) {
			flush_audit(self);
			last_audit_flush = now;
		}
		if (atomic_load(&self->writer_failed)) {
			blo_error("broker.failed", "the journal cannot be written: stopping");
			return BLO_ECORRUPT;
		}
		if (self->stopping &&
		    (self->publishes_in_flight == 0 || now - draining_since > 30000))
			break;
	}
	/* Everything acknowledged is committed; keep the cursors too. */
	for (size_t i = 0; i < self->n_subs; i++)
		save_cursor(self, self->subs[i]);
	audit_handshakes(self);
	if (self->zap_limit != NULL)
		blo_audit_limit_flush(self->zap_limit, INT64_MAX, zap_summary, self);
	if (self->io_limit != NULL)
		blo_audit_limit_flush(self->io_limit, INT64_MAX, io_summary, self);
	if (self->session_limit != NULL)
		blo_audit_limit_flush(self->session_limit, INT64_MAX, session_summary, self);
	if (self->subscribe_log != NULL)
		blo_audit_limit_flush(self->subscribe_log, INT64_MAX, subscribe_summary, self);
	if (self->memory_audit_left_out > 0)
		broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0,
			     "%" PRIu64 " more memory resets not recorded one by one",
			     self->memory_audit_left_out);
	broker_audit(self, BLO_AUDIT_ADMIN, self->id, NULL, 0, "broker stopped");
	flush_audit(self);
	write_status(self);
	blo_info("broker.stopped", "%s stopped", self->id);
	return self->exit_rc;
}

void blo_broker_close(blo_broker_t **self_p)
{
	blo_broker_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	for (size_t i = 0; i < self->n_workers; i++) {
		job_t *stop = calloc(1, sizeof(*stop));

		if (stop != NULL) {
			stop->kind = JOB_STOP;
			if (broker_job_send(self->to_workers, stop, 0) != 0)
				broker_job_free(stop);
		}
	}
	for (size_t i = 0; i < self->n_workers; i++)
		pthread_join(self->workers[i], NULL);
	if (self->writer_started) {
		job_t *stop = calloc(1, sizeof(*stop));

		flush_audit(self);
		if (stop != NULL) {
			stop->kind = JOB_STOP;
			if (broker_job_send(self->to_writer, stop, 0) != 0)
				broker_job_free(stop);
		}
		pthread_join(self->writer, NULL);
	}
	/* Jobs the writer finished after the loop ended. */
	if (self->from_writer != NULL) {
		job_t *job;

		while ((job = broker_job_recv(self->from_writer, ZMQ_DONTWAIT)) != NULL)
			broker_job_free_chain(job);
	}
	while (self->n_sessions > 0)
		session_drop(self, self->sessions[0], "broker closing");
	while (self->n_subs > 0)
		sub_destroy(self, self->subs[0]);
	broker_job_free(self->pending_audit);
	blo_audit_limit_destroy(&self->io_limit);
	blo_audit_limit_destroy(&self->zap_limit);
	blo_audit_limit_destroy(&self->writer_limit);
	blo_audit_limit_destroy(&self->again_limit);
	blo_audit_limit_destroy(&self->session_limit);
	blo_audit_limit_destroy(&self->subscribe_log);
	for (size_t i = 0; i < self->n_routers; i++) {
		zmq_close(self->routers[i]);
		free(self->bound[i]);
		free(self->listen[i]);
	}
	if (self->to_workers != NULL)
		zmq_close(self->to_workers);
	if (self->to_writer != NULL)
		zmq_close(self->to_writer);
	if (self->from_writer != NULL)
		zmq_close(self->from_writer);
	blo_mesh_close(&self->mesh);
	blo_zap_stop(&self->zap);
	if (self->ctx != NULL)
		zmq_ctx_term(self->ctx);
	if (self->cache != NULL) {
		for (size_t i = 0; i < CACHE_SLOTS; i++)
			cache_clear_slot(self, &self->cache[i]);
		free(self->cache);
	}
	blo_journal_close(&self->journal);
	if (self->reg_current != NULL) {
		blo_registry_destroy(&self->reg_current->reg);
		free(self->reg_current);
	}
	blo_identity_destroy(&self->identity);
	if (self->signal_pipe[0] >= 0)
		close(self->signal_pipe[0]);
	if (self->signal_pipe[1] >= 0)
		close(self->signal_pipe[1]);
	pthread_mutex_destroy(&self->reg_lock);
	free(self->sessions);
	free(self->subs);
	free(self->data_dir);
	free(self->audit_dir);
	free(self->status_path);
	free(self->registry_path);
	free(self);
	*self_p = NULL;
}
