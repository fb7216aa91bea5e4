/*
 * blo_console: the BLO console's model, without a screen. It subscribes
 * durably as the console principal of a client settings file, keeps every
 * message it receives or sends in its own store (blo_console_store, in the
 * settings' data_dir under "console/"), acknowledges each delivery to the
 * broker only after it is stored, and de-duplicates by alert id. It holds
 * a summary of every stored message in memory (arrival order; the full
 * alert is read from the store when asked), links replies, updates and
 * cancels to the message they reference, and performs the officer's
 * actions: acknowledge, answer an RFI, send an RFI or a bulletin, each
 * signed and published through the broker. Front ends (full screen, line,
 * JSON: agents/blonet-console) listen to its events and draw.
 *
 * Decisions:
 * - The console subscribes with no filter of its own: the broker's delivery
 *   policy decides what this BLO is entitled to; filters are views.
 * - An ACK carries the marking of what it acknowledges, at least TLP:AMBER,
 *   its operation, and releasable_to the originator's country when foreign,
 *   so that an acknowledgement tells no one more than the alert did, and
 *   reaches the originator, its site's consoles and the committees.
 *   A RESPONSE carries the RFI's marking the same way.
 * - An RFI or a bulletin is addressed to the counterpart's site and, by
 *   default, releasable to the counterpart's country when it is foreign.
 *   TLP:RED addresses the console principals of that site.
 * - ACKs are not rows of their own in views (unless asked): they are shown
 *   against what they acknowledge, with how long the sender took.
 *
 * - Retention (opts.keep_days): a console open all day for years must not
 *   fill its disk. A conversation (a message and every reply, update and
 *   cancel that references it) leaves the store and the screen once its
 *   newest message was received more than keep_days ago; a message of this
 *   console still waiting for the broker's answer stays. The ids of pruned
 *   messages are remembered for BLO_CONSOLE_REMEMBER_DAYS after they were
 *   received (longer than any broker keeps a message: the provisioned
 *   default is 90 days), so that a late redelivery is acknowledged to the
 *   broker but never shown again. Local numbers (#N) are never reused.
 *   Pruning runs when the console opens and every hour after.
 * - The store has a size limit (opts.store_mb). At the limit a delivery is
 *   not stored and not acknowledged (the broker keeps it and delivers it
 *   again), and an error event says the store is full and what to do: no
 *   message is lost, none is shown twice.
 *
 * Single-threaded. Item pointers and indexes stay valid until
 * blo_console_close or a BLO_CONSOLE_EV_PRUNED event (pruning reloads the
 * model: find items again by id); otherwise items are only ever appended,
 * but a pointer from blo_console_item may move after a call that adds
 * items (blo_console_poll and the actions): take it again.
 */
#ifndef BLO_CONSOLE_H
#define BLO_CONSOLE_H

#include "blo_client.h"
#include "blo_console_store.h"
#include "blo_err.h"
#include "blo_registry.h"
#include "blonet.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct blo_console blo_console_t;

/* How long the ids of pruned messages are remembered after they were
 * received (see Retention above). */
#define BLO_CONSOLE_REMEMBER_DAYS 400

typedef struct {
	const char *config;      /* the console's client settings file */
	const char *durable;     /* durable subscription name; NULL: "console" */
	bool offline;            /* read the store only: no broker, no lock */
	const char *counterpart; /* default site for RFIs and bulletins; NULL: none */
	Blonet__Status status;   /* status of RFIs and bulletins; 0: ACTUAL */
	const char *software;    /* for Hello; NULL: "blonet-console" */
	int keep_days;           /* prune conversations older than this; 0: keep all */
	uint64_t store_mb;       /* the store's size limit; 0: BLO_CONSOLE_STORE_DEFAULT_MB */
} blo_console_opts_t;

/* A stored message as views need it. Strings are cleaned for a terminal
 * (blo_console_text_clean). */
typedef struct {
	uint8_t id[BLO_ID_BYTES];
	char id_hex[2 * BLO_ID_BYTES + 1];
	uint64_t local_seq, broker_seq;
	int64_t received_ms, sent_ms, observed_ms;
	uint32_t flags;          /* BLO_CONSOLE_READ, _VERIFIED, _MINE */
	blo_console_pub_t pub;
	Blonet__MessageType type;
	Blonet__Status status;
	Blonet__Category category;
	Blonet__Severity severity;
	Blonet__Tlp tlp;
	Blonet__AckStatus ack_status;
	Blonet__AgencyKind agency;
	char principal[BLO_PRINCIPAL_ID_MAX]; /* origin.principal */
	char country[3];                      /* origin.country */
	char origin_site[BLO_SITE_MAX];       /* origin.site */
	char crossing[BLO_SITE_MAX];          /* location.site, else origin.site */
	char *headline;
	bool ours;        /* sent by this console or by an agency at its site */
	bool has_ref;
	uint8_t ref[BLO_ID_BYTES]; /* references[0] */
	long original;    /* index of the referenced item, or -1 */
	size_t *related;  /* indexes of items referencing this one, in arrival order */
	size_t n_related;
} blo_console_item_t;

/* What is known about an item from what references it. */
typedef struct {
	Blonet__AckStatus my_ack;   /* the last ACK this console sent for it */
	blo_console_pub_t my_ack_pub;
	size_t my_responses;        /* RESPONSEs this console sent to it */
	size_t acks;                /* ACKs from others */
	Blonet__AckStatus last_ack; /* the latest of those */
	size_t responses;           /* RESPONSEs from others */
	int64_t first_reply_ms;     /* how long the first ACK or RESPONSE from
				     * others took after the item was sent; -1: none */
	size_t updates;
	bool cancelled;
} blo_console_state_t;

typedef struct {
	Blonet__Category category;      /* 0: any */
	Blonet__Severity min_severity;  /* 0: any */
	char crossing[BLO_SITE_MAX];    /* "": any */
	bool unread_only;
	bool with_acks;                 /* also list ACKs */
} blo_console_filter_t;

typedef enum {
	BLO_CONSOLE_EV_RECEIVED = 1, /* item: a new message is stored */
	BLO_CONSOLE_EV_SENT,         /* item: a message of ours is signed, stored and queued */
	BLO_CONSOLE_EV_PUBLISHED,    /* item: the broker answered a publish of ours (item->pub) */
	BLO_CONSOLE_EV_LINK,         /* link_up changed */
	BLO_CONSOLE_EV_ERROR,        /* text: the broker reported a protocol error, or
				      * the store refused a delivery (full) */
	BLO_CONSOLE_EV_PRUNED        /* pruned messages older than before_ms: every
				      * index changed */
} blo_console_event_kind_t;

typedef struct {
	blo_console_event_kind_t kind;
	size_t item;
	bool link_up;
	const char *text; /* borrowed for the call */
	size_t pruned;    /* PRUNED: how many messages left */
	int64_t before_ms; /* PRUNED: conversations newer than this stayed */
} blo_console_event_t;

typedef void (*blo_console_event_fn)(blo_console_t *console, const blo_console_event_t *ev,
				     void *arg);

/* What to send: an RFI or a bulletin to a counterpart BLO. */
typedef struct {
	Blonet__MessageType type;      /* RFI or BULLETIN */
	const char *to_site;           /* NULL or "": opts.counterpart */
	Blonet__Tlp tlp;               /* 0: TLP_AMBER */
	const char *const *releasable_to; /* used when releasable_set */
	size_t n_releasable_to;
	bool releasable_set;           /* false: the counterpart's country when foreign */
	Blonet__Category category;     /* 0: CATEGORY_OTHER */
	Blonet__Severity severity;
	const char *headline;          /* required */
	const char *description;
	const char *modus_operandi;
	const char *operation;
} blo_console_outgoing_t;

/* Opens the console: reads the settings, opens the store, loads every
 * stored message and, unless offline, takes the store's lock, connects,
 * subscribes (durable, resuming after the last acknowledged delivery) and
 * publishes again what it sent but never saw acknowledged. Does not wait
 * for the broker. *out is the caller's: close with blo_console_close. */
int blo_console_open(blo_console_t **out, const blo_console_opts_t *opts, blo_err_t *err);

/* Closes it and sets *self_p to NULL. NULL: nothing. */
void blo_console_close(blo_console_t **self_p);

/* Who receives the events (NULL: nobody). fn runs inside the calls that
 * cause the events. */
void blo_console_set_listener(blo_console_t *self, blo_console_event_fn fn, void *arg);

/* Waits up to timeout_ms for the broker, then handles what arrived: stores
 * new deliveries in one transaction, raises their events, acknowledges
 * them, records publish results; checks the link now and then. Returns 0,
 * or BLO_EPERM when the broker refuses this console's key, or the store's
 * error (then nothing of those deliveries is acknowledged). Offline:
 * sleeps. */
int blo_console_poll(blo_console_t *self, int timeout_ms, blo_err_t *err);

/* Retention (see the top): prunes every conversation whose newest message
 * was received before before_ms, except this console's messages the broker
 * has not answered yet; then forgets the remembered ids of pruned messages
 * received before forget_before_ms (0: none). Reloads the model and raises
 * BLO_CONSOLE_EV_PRUNED when anything was pruned. *pruned (optional): how
 * many messages. Works offline too (the caller then writes the store).
 * Returns 0 or the store's error. */
int blo_console_prune(blo_console_t *self, int64_t before_ms, int64_t forget_before_ms,
		      size_t *pruned, blo_err_t *err);

/* ---- the model ---- */

size_t blo_console_count(const blo_console_t *self);
/* Borrowed: see the note at the top about validity. */
const blo_console_item_t *blo_console_item(const blo_console_t *self, size_t i);
/* The item of id, or -1. */
long blo_console_find_id(const blo_console_t *self, const uint8_t id[BLO_ID_BYTES]);
/* Finds an item by "#N" (its local sequence), by its 32 hex digits or by a
 * prefix of at least 6 of them that only it has. Returns 0 or
 * BLO_ENOTFOUND / BLO_EINVAL (ambiguous or malformed) with err saying so. */
int blo_console_find(const blo_console_t *self, const char *ref, size_t *item, blo_err_t *err);
void blo_console_state(const blo_console_t *self, size_t item, blo_console_state_t *out);
/* Indexes of the items that pass f (NULL: all but ACKs), newest first, in
 * *out (malloc()ed, caller frees; NULL when *n is 0). */
int blo_console_view(const blo_console_t *self, const blo_console_filter_t *f, size_t **out,
		     size_t *n);
bool blo_console_filter_match(const blo_console_t *self, const blo_console_filter_t *f,
			      size_t item);
/* Unread items that views show (not ACKs, not ours). */
size_t blo_console_unread(const blo_console_t *self);
/* The parsed alert and envelope of an item, read from the store; either
 * may be NULL. Caller frees with blo_alert_free / blo_envelope_free. *note
 * (optional) receives the record's note (why verification or a publish
 * failed), "" if none. */
int blo_console_load(blo_console_t *self, size_t item, Blonet__Alert **alert,
		     Blonet__Envelope **envelope, char note[BLO_CONSOLE_NOTE_MAX], blo_err_t *err);

/* This console: its principal, site, country; the registry (borrowed). */
const blo_principal_t *blo_console_me(const blo_console_t *self);
const blo_registry_t *blo_console_registry(const blo_console_t *self);
const char *blo_console_broker_id(const blo_console_t *self);
const char *blo_console_counterpart(const blo_console_t *self);
bool blo_console_online(const blo_console_t *self);
bool blo_console_link_up(const blo_console_t *self);
/* The crossings (sites) seen in stored items, sorted, for filter pickers;
 * borrowed, valid until the next poll or action. */
const char *const *blo_console_crossings(const blo_console_t *self, size_t *n);
/* The sites of the registry that have a console, other than this one's,
 * sorted; borrowed, valid until close. */
const char *const *blo_console_sites(const blo_console_t *self, size_t *n);
/* The country of a site, from the registry; NULL if no principal sits there. */
const char *blo_console_site_country(const blo_console_t *self, const char *site);

/* ---- actions: each is signed, stored, and published; the broker's answer
 * arrives as a BLO_CONSOLE_EV_PUBLISHED event. *sent (optional) receives
 * the new item. Offline they fail with BLO_EPERM. */

/* Marks item read (opened) or unread again. */
int blo_console_mark_read(blo_console_t *self, size_t item, blo_err_t *err);
int blo_console_mark_unread(blo_console_t *self, size_t item, blo_err_t *err);
/* Acknowledges item (not an ACK, not sent by this console) as RECEIVED or
 * ACTING, with an optional note; item is marked read. */
int blo_console_ack(blo_console_t *self, size_t item, Blonet__AckStatus status, const char *note,
		    size_t *sent, blo_err_t *err);
/* Answers the RFI item with text; item is marked read. */
int blo_console_respond(blo_console_t *self, size_t item, const char *text, size_t *sent,
			blo_err_t *err);
/* Sends an RFI or a bulletin. */
int blo_console_send(blo_console_t *self, const blo_console_outgoing_t *msg, size_t *sent,
		     blo_err_t *err);

/* The front ends' cursors (blo_console_store_cursor_*). */
int blo_console_cursor_get(blo_console_t *self, const char *name, uint64_t *seq);
int blo_console_cursor_set(blo_console_t *self, const char *name, uint64_t seq, blo_err_t *err);

#endif
