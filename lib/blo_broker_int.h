/*
 * blo_broker_int: the broker's private parts, shared by its two files:
 * blo_broker.c (sessions, subscriptions, verify workers, the writer) and
 * blo_mesh.c (links to peer brokers). Not part of libblonet's interface.
 */
#ifndef BLO_BROKER_INT_H
#define BLO_BROKER_INT_H

#include "blo_audit_limit.h"
#include "blo_broker.h"
#include "blo_codec.h"
#include "blo_hist.h"
#include "blo_journal.h"
#include "blo_registry.h"
#include "blo_settings.h"
#include "blo_zap.h"
#include "blonet.pb-c.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#define PROTOCOL_VERSION 1
#define MAX_ENDPOINTS 8
#define MAX_PEERS 32
#define MAX_VERIFY_THREADS 64
#define ROUTING_ID_MAX 256
#define DURABLE_MAX 64
/* Durable subscriptions a principal may keep (each has a cursor in the
 * journal for good, until Unsubscribe forget), and what one filter may
 * list: entries per field, bytes per site or country. */
#define DURABLES_PER_PRINCIPAL_MAX 32
#define FILTER_LIST_MAX 64
#define FILTER_STRING_MAX 64
/* Sessions (connections that have sent a frame) a principal may hold at
 * once. Each holds the broker's state for it (its subscriptions and their
 * deliveries in flight): a client or script that connects again and again
 * without closing would grow it without bound. A console, a committee, an
 * agent or a peer broker needs one or a few. The session of a connection
 * that is gone ends when a keepalive finds it gone (session_alive: within
 * a few seconds at the default limits.heartbeat_ms). A connection beyond
 * the cap stays open in libzmq, which cannot close one peer of a ROUTER,
 * but is not served. */
#define SESSIONS_PER_PRINCIPAL_MAX 64
/* A session's deliveries unacknowledged over all its subscriptions: at
 * most this many times limits.max_in_flight. */
#define SESSION_WINDOWS 4
/* Publishes (or forwards) of one session handed on and not yet answered:
 * beyond this many, a publish is refused OVERLOADED at once (a forward is
 * left for the peer to send again), so that a client that does not wait
 * for its acks cannot make the broker queue without bound. Clients keep
 * far fewer in flight (blonet-pub 1,000; an adapter 256). */
#define SESSION_PUBLISHES_MAX 4096
#define REJECT_REASONS 32 /* rejected_by: above the highest RejectReason */

/* ---------------------------------------------------------------- jobs */

/* JOB_PUBLISH: a client's publish; JOB_FORWARD: an alert a peer broker
 * forwards (both verified by a worker, stored by the writer, answered by the
 * I/O thread); JOB_AUDIT: audit records and cursors from the I/O thread. */
typedef enum { JOB_PUBLISH = 1, JOB_FORWARD, JOB_AUDIT, JOB_STOP } job_kind_t;

typedef struct {
	blo_audit_event_t event;
	int64_t time_ms;
	char principal[BLO_PRINCIPAL_ID_MAX];
	uint8_t alert_id[BLO_ID_BYTES];
	bool has_alert_id;
	uint64_t seq;
	char detail[1024];
} audit_item_t;

typedef struct {
	char name[BLO_CURSOR_NAME_MAX];
	uint64_t seq;
	bool forget;   /* delete the cursor (Unsubscribe forget) */
} cursor_item_t;

typedef struct job {
	job_kind_t kind;
	/* Jobs travel between threads as chains: one message carries the
	 * first, and each names the next (NULL: the last). */
	struct job *next;
	/* JOB_PUBLISH */
	uint64_t session;       /* serial of the session it came from */
	uint64_t correlation;
	char principal[BLO_PRINCIPAL_ID_MAX];
	int64_t received_ms;
	int64_t received_ns;    /* blo_mono_ns() then: for publish_times */
	Blonet__Frame *frame; /* owns the envelope bytes */
	uint8_t id[BLO_ID_BYTES];
	bool has_id;
	char origin[BLO_PRINCIPAL_ID_MAX]; /* the alert's origin principal, once verified */
	Blonet__PublishStatus status;
	Blonet__RejectReason reason;
	char text[256];
	uint64_t seq;
	uint64_t peer_seq;      /* JOB_FORWARD: the sender's sequence, echoed */
	uint64_t txn;           /* writer: the journal commit that answers it */
	/* Writer: whether its refusal is audited one by one, decided once
	 * (a batch refused for a full journal is built twice). */
	bool refusal_decided, refusal_recorded;
	/* Writer: an id already stored (a duplicate or a conflict), audited
	 * one by one or not (again_unrecorded), decided once. */
	bool again_decided, again_unrecorded;
	/* Stored by a logged commit (blo_journal_batch_t.logged): answered
	 * before readers of the journal see it, so its frame comes back with
	 * it and the I/O thread caches the record from that (cache_prefill). */
	bool logged;
	/* JOB_AUDIT: audit records and cursor updates from the I/O thread */
	audit_item_t *audit;
	size_t n_audit, cap_audit;
	cursor_item_t *cursors;
	size_t n_cursors, cap_cursors;
} job_t;

/* The writer's answers of deferred commits (blo_journal_commit's
 * defer_sync), in order, until the journal has their commits on disk. */
typedef struct {
	job_t *head, **tail; /* tail: &head when empty */
	uint64_t txn;        /* the newest commit among them */
} held_t;

/* Appends a commit's chain of answers; each job gets txn. */
void broker_held_add(held_t *h, job_t *chain, uint64_t txn);

/* Detaches the answers at the front whose commit is at most durable, as a
 * chain (NULL: none); *last_seq gets the highest sequence they stored (0:
 * none), leaving out logged ones (the I/O thread raises last_seq for those
 * once it has cached them). */
job_t *broker_held_take(held_t *h, uint64_t durable, uint64_t *last_seq);

/* *p = max(*p, v), whichever thread gets there first. */
static inline void broker_seq_raise(_Atomic uint64_t *p, uint64_t v)
{
	uint64_t was = atomic_load(p);

	while (v > was && !atomic_compare_exchange_weak(p, &was, v))
		;
}

typedef struct blo_mesh blo_mesh_t;

/* ---------------------------------------------------------------- registry */

/* The registry in force, shared by the I/O thread, the workers and the ZAP
 * handler; replaced on SIGHUP and freed when its last user lets go. */
typedef struct {
	blo_registry_t *reg;
	int refs;
} regref_t;

/* ---------------------------------------------------------------- state */

typedef struct session session_t;

typedef struct {
	uint64_t seq;
	int64_t sent_ms;              /* blo_mono_ms */
	uint32_t tries;               /* mesh: times refused for now */
	bool deferred;                /* mesh: refused for now, goes again alone */
} inflight_t;

typedef struct sub {
	char principal[BLO_PRINCIPAL_ID_MAX];
	char durable[DURABLE_MAX + 1]; /* "" live-only */
	char cursor_name[BLO_CURSOR_NAME_MAX];
	session_t *session;            /* NULL: subscriber away */
	Blonet__Filter *filter;
	uint64_t next_seq;             /* the next record to consider */
	uint64_t acked;                /* every record <= acked is done */
	uint64_t persisted;            /* acked as last written to the journal */
	uint64_t max_sent;             /* highest sequence ever sent */
	inflight_t *inflight;          /* ascending seq */
	size_t n_inflight;
	uint32_t credit;               /* window */
	uint64_t delivered, redelivered;
	int64_t last_contact_ms;       /* wall clock: shown in status.json */
} sub_t;

struct session {
	uint64_t serial;               /* never reused: a job names its session so */
	uint8_t rid[ROUTING_ID_MAX];
	size_t rid_len;
	size_t router;                 /* which listen socket */
	char principal[BLO_PRINCIPAL_ID_MAX];
	int64_t last_ms;               /* last frame from it (blo_mono_ms) */
	bool welcomed;
	sub_t **subs;
	size_t n_subs;
	uint32_t batch_max;            /* Hello's max_batch_bytes, capped; 0: no batches */
	uint64_t publishing;           /* publishes handed on, not yet answered */
	job_t **acks;                  /* finished publishes whose acks go out in one batch
	                                  (room for ACK_BATCH_MAX, allocated on first use) */
	size_t n_acks, ack_bytes;
};

typedef struct {
	uint64_t seq;                  /* 0: empty slot */
	int64_t time_ms;
	uint8_t *envelope;
	size_t len;
	size_t mem;                    /* bytes held for it, the decoded alert estimated */
	Blonet__Alert *alert;          /* NULL if it did not decode (never stored so:
	                                  a damaged journal; short of memory the
	                                  record is not cached at all) */
	bool ref_checked;              /* has_ref and ref computed */
	bool has_ref;                  /* ACK/RESPONSE with a known referenced origin */
	Blonet__Origin ref;
	char ref_principal[BLO_PRINCIPAL_ID_MAX], ref_country[3], ref_site[BLO_SITE_MAX];
} cached_t;

typedef struct {
	atomic_uint_fast64_t accepted, duplicate, rejected, delivered, redelivered, malformed,
		forbidden, expired;
	atomic_uint_fast64_t rejected_by[REJECT_REASONS];
	atomic_uint_fast64_t commits, committed_entries;
	atomic_uint_fast64_t logged_commits; /* of commits: answered from the journal's log */
	atomic_uint_fast64_t received, received_rejected; /* forwards from peers */
	atomic_uint_fast64_t audit_limited; /* refusals summed up, not recorded one by one */
	atomic_uint_fast64_t audit_lost;    /* audit records a full journal could not take */
	atomic_uint_fast64_t audit_archived; /* audit records moved to the archive files */
	atomic_uint_fast64_t batches_in, batches_out; /* Batch frames from and to clients */
	atomic_uint_fast64_t memory_resets; /* connections all dropped over limits.memory_mb */
} counters_t;

struct blo_broker {
	char id[BLO_PRINCIPAL_ID_MAX];
	char *data_dir;
	char *status_path;
	blo_identity_t *identity;
	uint8_t authority[BLO_SIGN_PUBLIC_BYTES];
	char *registry_path;
	uint64_t max_in_flight;
	size_t max_batch;
	int64_t commit_hold_ns;        /* longest a busy batch gathers (blo_commit_hold_ns) */
	/* A client's publish from when the I/O loop read it to its answer,
	 * for those that went through verification (status.json publish_ms). */
	blo_hist_t publish_times;
	int64_t max_message_bytes;
	int heartbeat_ms;
	int64_t memory_limit;          /* bytes of anonymous memory (limits.memory_mb); 0: no limit */
	int64_t memory_reset_own;      /* memory beyond the cache when the last reset was made */
	int64_t memory_floor;          /* after a reset that freed little: the next waits for more */
	bool memory_check;             /* the next look says what the last reset freed */
	int64_t memory_audit_from;     /* the minute of memory reset audit records */
	uint64_t memory_audit_n, memory_audit_left_out;
	int64_t memory_anon;           /* anonymous memory at the last look (-1: unknown) */
	bool memory_unknown_said;      /* broker.memory_unknown logged */
	int64_t retention_age_ms;
	uint64_t retention_count;
	size_t retention_bytes;
	int64_t audit_age_ms;          /* audit records older move to audit_dir; 0: keep */
	uint64_t audit_keep;           /* and beyond this many; 0: no count limit */
	char *audit_dir;
	int64_t audit_warned_ms;       /* when a failed move was last logged */

	pthread_mutex_t reg_lock;
	regref_t *reg_current;

	blo_journal_t *journal;
	void *ctx;
	blo_zap_t *zap;
	void *routers[MAX_ENDPOINTS];
	char *listen[MAX_ENDPOINTS];
	char *bound[MAX_ENDPOINTS];
	size_t n_routers;

	void *to_workers;   /* PUSH, I/O thread */
	void *to_writer;    /* PUSH, I/O thread */
	void *from_writer;  /* PULL, I/O thread */
	pthread_t workers[MAX_VERIFY_THREADS];
	size_t n_workers;
	pthread_t writer;
	bool writer_started;

	int signal_pipe[2];
	volatile sig_atomic_t stop_requested, reload_requested;

	atomic_uint_fast64_t last_seq;  /* newest sequence stored, durable and readable
					 * (from the journal, or cached: logged jobs) */
	atomic_uint_fast64_t verifying; /* publishes handed to the verify workers, not yet verified */
	atomic_int writer_failed;
	/* Writer thread only: refused publishes it audits, and alerts sent
	 * again (duplicates, id conflicts). */
	blo_audit_limit_t *writer_limit;
	blo_audit_limit_t *again_limit;

	/* What blo_broker_run returns once drained: 0, or why the broker may
	 * not serve on (a reload revoked it or changed its keys). */
	int exit_rc;

	/* I/O thread only */
	session_t **sessions;
	size_t n_sessions, cap_sessions;
	uint64_t last_session_serial;
	int64_t read_warned_ms;        /* broker_record_gone's last warning */
	int64_t undecodable_warned_ms; /* cache_fill_one's last journal.undecodable */
	int64_t unread_warned_ms;      /* on_frame's last frame.unread */
	uint64_t unread_frames;        /* frames not decoded for want of memory */
	uint64_t sessions_refused;     /* frames of a connection over SESSIONS_PER_PRINCIPAL_MAX */
	sub_t **subs;
	size_t n_subs;
	cached_t *cache;
	size_t cache_mem;               /* the slots' mem, summed */
	job_t *pending_audit;           /* audit and cursors gathered this turn */
	blo_audit_limit_t *io_limit;    /* refusals seen by the I/O thread */
	blo_audit_limit_t *zap_limit;   /* refused handshakes (blo_zap) */
	blo_audit_limit_t *session_limit; /* sessions opened and closed */
	blo_audit_limit_t *subscribe_log;  /* subscribe lines of the log (not audited) */
	uint64_t publishes_in_flight;
	bool stopping;
	int64_t started_ms;            /* blo_mono_ms: for uptime_s */

	counters_t counters;
	blo_mesh_t *mesh;
};


/* ---------------------------------------------------------------- shared */

/* Frees one job (not those chained after it); the whole chain. */
void broker_job_free(job_t *job);
void broker_job_free_chain(job_t *job);
/* Hands a job (with its chain) to another thread over sock. */
int broker_job_send(void *sock, job_t *job, int flags);
job_t *broker_job_recv(void *sock, int flags);

/* The registry in force, as the I/O thread sees it (borrowed). */
const blo_registry_t *broker_registry(blo_broker_t *self);
/* The refusal of a publish or forward whose bytes did not decode (rc of
 * the parse): MALFORMED, which senders give up on, unless the broker was
 * short of memory (BLO_ENOMEM): then INTERNAL, which they send again. */
Blonet__RejectReason broker_undecoded_reason(int rc);
/* Whether a failed read of the journal (rc) may succeed later: out of
 * memory, no reader slot, an I/O error. Not found, corrupt or undecodable
 * are final answers. */
bool broker_read_passing(int rc);
/* The journal record at seq, decoded and cached (a reply with the origin
 * of what it answers); NULL if not held, or not readable just now (short of
 * memory): broker_record_gone tells which. I/O thread only. */
cached_t *broker_cache_get(blo_broker_t *self, uint64_t seq);
/* For a record broker_cache_get did not bring: true when retention purged
 * it, or it is corrupt (logged): gone for good; false when it is stored but
 * could not be read just now (out of memory, no reader slot): leave it for
 * a later turn. Warns of the second at most once a minute. */
bool broker_record_gone(blo_broker_t *self, uint64_t seq);
/* The first sequence the journal may still hold: its oldest record, or one
 * past the last when retention left none. 0 if the journal cannot say. */
uint64_t broker_first_kept(blo_broker_t *self);
/* One frame to a ROUTER peer; -EHOSTUNREACH when it is gone. */
int broker_send_to(blo_broker_t *self, size_t router, const uint8_t *rid, size_t rid_len,
		   const Blonet__Frame *f);
void broker_send_error(blo_broker_t *self, size_t router, const uint8_t *rid, size_t rid_len,
		       uint64_t correlation, Blonet__ErrorCode code, const char *text);
/* Queues an audit record (I/O thread); the writer commits it. */
void broker_audit(blo_broker_t *self, blo_audit_event_t event, const char *principal,
		  const uint8_t *alert_id, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* A session record (a mesh link up or down) within principal's budget of
 * sessions: a link ended again and again may not fill the audit log. */
void broker_audit_session(blo_broker_t *self, const char *principal, const char *what);
/* Queues the audit record of a refusal by principal (I/O thread), within
 * its budget (lib/blo_audit_limit.h): past it the refusal is only counted,
 * and summed up in one record when the window ends. */
void broker_audit_refusal(blo_broker_t *self, const char *principal, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Queues a durable cursor update (I/O thread). */
void broker_save_cursor(blo_broker_t *self, const char *name, uint64_t seq);
void broker_reject(job_t *job, Blonet__RejectReason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *broker_reason_name(Blonet__RejectReason r);
/* The origin of the stored alert with this id, into the buffers. */
int broker_referenced_origin(blo_journal_t *journal, const uint8_t *id, char *principal,
			     char *country, char *site);

/* ---------------------------------------------------------------- mesh */

/* Creates the links to the peers of the settings (one DEALER each). */
int blo_mesh_open(blo_mesh_t **out, blo_broker_t *broker, const blo_broker_settings_t *s,
		  blo_err_t *err);
void blo_mesh_close(blo_mesh_t **self_p);
/* Adds the mesh's sockets to a poll set; returns how many it added. */
size_t blo_mesh_poll_items(blo_mesh_t *self, zmq_pollitem_t *items, size_t room);
/* Handles what the polled sockets have for it. */
void blo_mesh_on_ready(blo_mesh_t *self, const zmq_pollitem_t *items, size_t n);
/* Forwards what each connected peer may receive, within its window. */
void blo_mesh_pump(blo_mesh_t *self, uint64_t last_seq);
/* Heartbeats, re-sending, cursors: once a second. */
void blo_mesh_tick(blo_mesh_t *self, int64_t now);
/* Adds "peers" to the status object. */
void blo_mesh_status(blo_mesh_t *self, cJSON *root, uint64_t last_seq);
/* A registry reload (the new one is in force): a link to a peer whose
 * CURVE key changed is made again with the new key; a link to a peer no
 * longer a live broker is closed (and made again should it return). */
void blo_mesh_registry_changed(blo_mesh_t *self);
/* Ends every link's connection and makes it again (what libzmq held for
 * them is freed; forwards in flight go again); why goes into the log. */
void blo_mesh_relink(blo_mesh_t *self, const char *why);
/* Worker side: verifies an incoming Forward job from peer job->principal. */
void blo_mesh_verify_forward(blo_broker_t *broker, const blo_registry_t *reg, job_t *job);

#endif
