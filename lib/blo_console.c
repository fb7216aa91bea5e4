/*
 * blo_console: the console's model and actions (see blo_console.h): the
 * durable subscription into the local store, the in-memory summaries with
 * their reply links, and the officer's signed messages.
 */
#include "blo_console.h"

#include "blo_codec.h"
#include "blo_console_text.h"
#include "blo_envelope.h"
#include "blo_log.h"
#include "blo_settings.h"
#include "blo_util.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_DURABLE "console"
#define STORE_SUBDIR "console"
#define BATCH_MAX 64
#define PING_EVERY_MS 5000
#define PONG_LATE_MS 12000
#define DAY_MS (86400LL * 1000)
#define PRUNE_EVERY_MS (3600LL * 1000)
#define PRUNE_BATCH 1000      /* ids per pruning transaction */
#define FULL_REPORT_MS 60000  /* how often a full store is reported again */

typedef struct {
	uint64_t correlation;
	uint8_t id[BLO_ID_BYTES];
} inflight_t;

struct blo_console {
	char *durable;
	char *counterpart;
	Blonet__Status status;
	bool offline;
	int keep_days;
	int64_t next_prune_ms; /* blo_mono_ms; 0: now */
	int64_t full_reported_ms;

	blo_client_settings_t settings;
	blo_client_t *client;
	blo_registry_t *registry_owned;
	const blo_registry_t *registry;
	blo_principal_t me;
	blo_console_store_t *store;

	blo_console_item_t *items;
	size_t n_items, cap_items;
	size_t *slots; /* id index: item index + 1, 0 empty; open addressing */
	size_t n_slots;
	size_t *orphans; /* items whose referenced item is not (yet) stored */
	size_t n_orphans, cap_orphans;

	char **crossings;
	size_t n_crossings;
	bool crossings_dirty;
	char **sites;
	size_t n_sites;

	inflight_t *inflight;
	size_t n_inflight, cap_inflight;

	blo_console_event_fn listener;
	void *listener_arg;

	bool link_up;
	int64_t last_ping_ms, last_heard_ms;
};

/* ---------------------------------------------------------------- helpers */

static void emit(blo_console_t *self, blo_console_event_kind_t kind, size_t item, const char *text)
{
	blo_console_event_t ev = {.kind = kind, .item = item, .link_up = self->link_up, .text = text};

	if (self->listener != NULL)
		self->listener(self, &ev, self->listener_arg);
}

static void set_link(blo_console_t *self, bool up)
{
	if (self->link_up == up)
		return;
	self->link_up = up;
	emit(self, BLO_CONSOLE_EV_LINK, 0, up ? "up" : "down");
}

static uint64_t id_hash(const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h)); /* ids are random or BLAKE2b output */
	return h;
}

static int index_grow(blo_console_t *self)
{
	size_t n = self->n_slots ? self->n_slots * 2 : 1024;
	size_t *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return BLO_ENOMEM;
	for (size_t i = 0; i < self->n_items; i++) {
		size_t s = (size_t)id_hash(self->items[i].id) & (n - 1);

		while (slots[s] != 0)
			s = (s + 1) & (n - 1);
		slots[s] = i + 1;
	}
	free(self->slots);
	self->slots = slots;
	self->n_slots = n;
	return 0;
}

long blo_console_find_id(const blo_console_t *self, const uint8_t id[BLO_ID_BYTES])
{
	if (self->n_slots == 0)
		return -1;
	for (size_t s = (size_t)id_hash(id) & (self->n_slots - 1);; s = (s + 1) & (self->n_slots - 1)) {
		size_t v = self->slots[s];

		if (v == 0)
			return -1;
		if (memcmp(self->items[v - 1].id, id, BLO_ID_BYTES) == 0)
			return (long)(v - 1);
	}
}

static int add_related(blo_console_item_t *orig, size_t idx)
{
	size_t *grown = realloc(orig->related, (orig->n_related + 1) * sizeof(*grown));

	if (grown == NULL)
		return BLO_ENOMEM;
	orig->related = grown;
	orig->related[orig->n_related++] = idx;
	return 0;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* Fills it from a record and its parsed alert (NULL when unreadable). */
static int fill_item(const blo_console_t *self, blo_console_item_t *it,
		     const blo_console_record_t *rec, const Blonet__Alert *a)
{
	memset(it, 0, sizeof(*it));
	memcpy(it->id, rec->id, BLO_ID_BYTES);
	blo_hex_encode(it->id_hex, sizeof(it->id_hex), rec->id, BLO_ID_BYTES);
	it->local_seq = rec->local_seq;
	it->broker_seq = rec->broker_seq;
	it->received_ms = rec->received_ms;
	it->flags = rec->flags;
	it->pub = rec->pub;
	it->original = -1;
	if (a == NULL) {
		it->headline = strdup("(unreadable message)");
		return it->headline != NULL ? 0 : BLO_ENOMEM;
	}
	it->type = a->type;
	it->status = a->status;
	it->sent_ms = a->sent_ms;
	it->observed_ms = a->observed_ms;
	it->ack_status = a->ack_status;
	if (a->assessment != NULL) {
		it->category = a->assessment->category;
		it->severity = a->assessment->severity;
	}
	if (a->handling != NULL)
		it->tlp = a->handling->tlp;
	if (a->origin != NULL) {
		char *c;

		it->agency = a->origin->agency;
		c = blo_console_text_clean(a->origin->principal, false);
		copy_str(it->principal, sizeof(it->principal), c);
		free(c);
		copy_str(it->country, sizeof(it->country), a->origin->country);
		c = blo_console_text_clean(a->origin->site, false);
		copy_str(it->origin_site, sizeof(it->origin_site), c);
		free(c);
	}
	if (a->location != NULL && a->location->site != NULL && a->location->site[0] != '\0') {
		char *c = blo_console_text_clean(a->location->site, false);

		copy_str(it->crossing, sizeof(it->crossing), c);
		free(c);
	} else {
		copy_str(it->crossing, sizeof(it->crossing), it->origin_site);
	}
	it->headline = blo_console_text_clean(a->headline, false);
	if (it->headline == NULL)
		return BLO_ENOMEM;
	if (a->n_references > 0 && a->references[0].len == BLO_ID_BYTES) {
		it->has_ref = true;
		memcpy(it->ref, a->references[0].data, BLO_ID_BYTES);
	}
	it->ours = (rec->flags & BLO_CONSOLE_MINE) || strcmp(it->principal, self->me.id) == 0 ||
		   (self->me.site[0] != '\0' && strcmp(it->origin_site, self->me.site) == 0);
	return 0;
}

/* Appends a filled item, indexes it and links it to what it references
 * and to what referenced it before it arrived. */
static int add_item(blo_console_t *self, blo_console_item_t *it, size_t *index)
{
	size_t idx = self->n_items;
	int rc;

	if (self->n_items == self->cap_items) {
		size_t cap = self->cap_items ? self->cap_items * 2 : 256;
		blo_console_item_t *grown = realloc(self->items, cap * sizeof(*grown));

		if (grown == NULL)
			return BLO_ENOMEM;
		self->items = grown;
		self->cap_items = cap;
	}
	if ((self->n_items + 1) * 2 > self->n_slots && (rc = index_grow(self)) != 0)
		return rc;
	self->items[idx] = *it;
	self->n_items++;
	{
		size_t s = (size_t)id_hash(it->id) & (self->n_slots - 1);

		while (self->slots[s] != 0)
			s = (s + 1) & (self->n_slots - 1);
		self->slots[s] = idx + 1;
	}
	if (it->has_ref) {
		long orig = blo_console_find_id(self, it->ref);

		if (orig >= 0 && (size_t)orig != idx) {
			self->items[idx].original = orig;
			if ((rc = add_related(&self->items[orig], idx)) != 0)
				return rc;
		} else {
			if (self->n_orphans == self->cap_orphans) {
				size_t cap = self->cap_orphans ? self->cap_orphans * 2 : 16;
				size_t *grown = realloc(self->orphans, cap * sizeof(*grown));

				if (grown == NULL)
					return BLO_ENOMEM;
				self->orphans = grown;
				self->cap_orphans = cap;
			}
			self->orphans[self->n_orphans++] = idx;
		}
	}
	for (size_t i = 0; i < self->n_orphans;) {
		blo_console_item_t *o = &self->items[self->orphans[i]];

		if (memcmp(o->ref, it->id, BLO_ID_BYTES) == 0) {
			o->original = (long)idx;
			if ((rc = add_related(&self->items[idx], self->orphans[i])) != 0)
				return rc;
			self->orphans[i] = self->orphans[--self->n_orphans];
		} else {
			i++;
		}
	}
	self->crossings_dirty = true;
	if (index != NULL)
		*index = idx;
	return 0;
}

static int parse_envelope(const uint8_t *buf, size_t len, Blonet__Envelope **env,
			  Blonet__Alert **alert, blo_err_t *err)
{
	int rc;

	*env = NULL;
	*alert = NULL;
	if ((rc = blo_envelope_parse(env, buf, len, err)) != 0)
		return rc;
	if ((rc = blo_alert_parse(alert, (*env)->alert.data, (*env)->alert.len, err)) != 0) {
		blo_envelope_free(env);
		return rc;
	}
	return 0;
}

/* Adds a stored record to the model. */
static int add_record(blo_console_t *self, const blo_console_record_t *rec, size_t *index)
{
	Blonet__Envelope *env = NULL;
	Blonet__Alert *alert = NULL;
	blo_console_item_t it;
	int rc;

	if (parse_envelope(rec->envelope, rec->envelope_len, &env, &alert, NULL) != 0)
		blo_warn("console.unreadable", "stored message #%llu does not parse",
			 (unsigned long long)rec->local_seq);
	rc = fill_item(self, &it, rec, alert);
	if (rc == 0)
		rc = add_item(self, &it, index);
	if (rc != 0)
		free(it.headline);
	blo_alert_free(&alert);
	blo_envelope_free(&env);
	return rc;
}

static int load_fn(const blo_console_record_t *rec, void *arg)
{
	return add_record(arg, rec, NULL);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_strings(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

/* Adds s to a sorted-later list unless present. */
static int strings_add(char ***v, size_t *n, const char *s)
{
	char **grown;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	grown = realloc(*v, (*n + 1) * sizeof(*grown));
	if (grown == NULL)
		return BLO_ENOMEM;
	*v = grown;
	if (((*v)[*n] = strdup(s)) == NULL)
		return BLO_ENOMEM;
	(*n)++;
	return 0;
}

static int load_sites(blo_console_t *self)
{
	for (size_t i = 0; i < blo_registry_count(self->registry); i++) {
		const blo_principal_t *p = blo_registry_at(self->registry, i);
		int rc;

		if (p->role != BLO_ROLE_CONSOLE || p->revoked || p->site[0] == '\0' ||
		    strcmp(p->site, self->me.site) == 0)
			continue;
		if ((rc = strings_add(&self->sites, &self->n_sites, p->site)) != 0)
			return rc;
	}
	if (self->n_sites > 1)
		qsort(self->sites, self->n_sites, sizeof(char *), cmp_str);
	return 0;
}

/* ---------------------------------------------------------------- retention */

static void free_items(blo_console_t *self)
{
	for (size_t i = 0; i < self->n_items; i++) {
		free(self->items[i].headline);
		free(self->items[i].related);
	}
	free(self->items);
	free(self->slots);
	free(self->orphans);
	self->items = NULL;
	self->n_items = self->cap_items = 0;
	self->slots = NULL;
	self->n_slots = 0;
	self->orphans = NULL;
	self->n_orphans = self->cap_orphans = 0;
	self->crossings_dirty = true;
}

/* The first message of item's conversation: references followed back. */
static size_t conversation_of(const blo_console_t *self, size_t item)
{
	size_t root = item;

	for (size_t steps = 0; self->items[root].original >= 0 && steps < self->n_items; steps++)
		root = (size_t)self->items[root].original;
	return root;
}

/* The ids of the messages to prune (malloc()ed, caller frees). */
static int prune_candidates(const blo_console_t *self, int64_t before_ms,
			    uint8_t (**ids)[BLO_ID_BYTES], size_t *n)
{
	int64_t *newest = NULL;
	size_t *root = NULL;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	if (self->n_items == 0)
		return 0;
	newest = calloc(self->n_items, sizeof(*newest));
	root = calloc(self->n_items, sizeof(*root));
	*ids = calloc(self->n_items, BLO_ID_BYTES);
	if (newest == NULL || root == NULL || *ids == NULL) {
		rc = BLO_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < self->n_items; i++)
		newest[i] = INT64_MIN;
	for (size_t i = 0; i < self->n_items; i++) {
		const blo_console_item_t *it = &self->items[i];
		int64_t t = it->received_ms;

		/* Unanswered messages of ours keep their conversation. */
		if ((it->flags & BLO_CONSOLE_MINE) && it->pub == BLO_CONSOLE_PUB_PENDING)
			t = INT64_MAX;
		root[i] = conversation_of(self, i);
		if (t > newest[root[i]])
			newest[root[i]] = t;
	}
	for (size_t i = 0; i < self->n_items; i++)
		if (newest[root[i]] < before_ms)
			memcpy((*ids)[(*n)++], self->items[i].id, BLO_ID_BYTES);
out:
	free(newest);
	free(root);
	if (rc != 0 || *n == 0) {
		free(*ids);
		*ids = NULL;
	}
	return rc;
}

int blo_console_prune(blo_console_t *self, int64_t before_ms, int64_t forget_before_ms,
		      size_t *pruned, blo_err_t *err)
{
	uint8_t (*ids)[BLO_ID_BYTES] = NULL;
	size_t n = 0, total = 0;
	int rc;

	assert(self != NULL);
	if (pruned != NULL)
		*pruned = 0;
	if ((rc = prune_candidates(self, before_ms, &ids, &n)) != 0)
		return blo_err_set(err, rc, "out of memory");
	for (size_t i = 0; i < n; i += PRUNE_BATCH) {
		size_t removed = 0;

		rc = blo_console_store_prune(self->store, (const uint8_t (*)[BLO_ID_BYTES])(ids + i),
					     n - i < PRUNE_BATCH ? n - i : PRUNE_BATCH, &removed, err);
		total += removed;
		if (rc != 0)
			break;
	}
	free(ids);
	if (rc == 0 && forget_before_ms > 0)
		rc = blo_console_store_forget(self->store, forget_before_ms, NULL, err);
	if (total > 0) {
		/* Even after a failure part way: the model follows the store. */
		int lrc;

		free_items(self);
		lrc = blo_console_store_scan(self->store, 1, load_fn, self);
		if (lrc != 0 && rc == 0)
			rc = blo_err_set(err, lrc, "console store: %s", blo_strerror(lrc));
		blo_info("console.pruned", "%zu messages pruned: conversations last received before %lld ms",
			 total, (long long)before_ms);
		{
			blo_console_event_t ev = {.kind = BLO_CONSOLE_EV_PRUNED, .link_up = self->link_up,
						  .pruned = total, .before_ms = before_ms};

			if (self->listener != NULL)
				self->listener(self, &ev, self->listener_arg);
		}
	}
	if (pruned != NULL)
		*pruned = total;
	return rc;
}

/* The scheduled pruning of opts.keep_days, when due. */
static int prune_if_due(blo_console_t *self, blo_err_t *err)
{
	int64_t now = blo_now_ms(), tick = blo_mono_ms(), remember;

	/* When it runs goes by the monotonic clock, what it forgets by the
	 * wall clock (the records' times). */
	if (self->keep_days <= 0 || tick < self->next_prune_ms)
		return 0;
	self->next_prune_ms = tick + PRUNE_EVERY_MS;
	remember = (int64_t)(self->keep_days > BLO_CONSOLE_REMEMBER_DAYS ? self->keep_days
									 : BLO_CONSOLE_REMEMBER_DAYS);
	return blo_console_prune(self, now - (int64_t)self->keep_days * DAY_MS, now - remember * DAY_MS,
				 NULL, err);
}

/* ---------------------------------------------------------------- open */

static int republish_pending(blo_console_t *self, blo_err_t *err)
{
	for (size_t i = 0; i < self->n_items; i++) {
		blo_console_item_t *it = &self->items[i];
		blo_console_record_t rec;
		uint64_t corr;
		int rc;

		if (!(it->flags & BLO_CONSOLE_MINE) || it->pub != BLO_CONSOLE_PUB_PENDING)
			continue;
		if (it->broker_seq != 0) {
			/* It came back through the broker before we heard the
			 * ack: the broker holds it. */
			it->pub = BLO_CONSOLE_PUB_ACCEPTED;
			blo_console_store_set_pub(self->store, it->id, it->pub, NULL, NULL);
			continue;
		}
		if ((rc = blo_console_store_get(self->store, it->id, &rec, err)) != 0)
			return rc;
		rc = blo_client_publish(self->client, rec.envelope, rec.envelope_len, &corr, err);
		if (rc == 0) {
			if (self->n_inflight == self->cap_inflight) {
				size_t cap = self->cap_inflight ? self->cap_inflight * 2 : 16;
				inflight_t *grown = realloc(self->inflight, cap * sizeof(*grown));

				if (grown == NULL) {
					blo_console_record_clear(&rec);
					return blo_err_set(err, BLO_ENOMEM, "out of memory");
				}
				self->inflight = grown;
				self->cap_inflight = cap;
			}
			self->inflight[self->n_inflight].correlation = corr;
			memcpy(self->inflight[self->n_inflight].id, it->id, BLO_ID_BYTES);
			self->n_inflight++;
		}
		blo_console_record_clear(&rec);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int blo_console_open(blo_console_t **out, const blo_console_opts_t *opts, blo_err_t *err)
{
	blo_console_t *self;
	const blo_principal_t *me;
	char *dir = NULL;
	int rc;

	*out = NULL;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->durable = strdup(opts->durable != NULL && opts->durable[0] ? opts->durable : DEFAULT_DURABLE);
	self->counterpart = opts->counterpart != NULL ? strdup(opts->counterpart) : NULL;
	self->status = opts->status != 0 ? opts->status : BLONET__STATUS__ACTUAL;
	self->offline = opts->offline;
	self->keep_days = opts->keep_days;
	if (opts->keep_days < 0) {
		rc = blo_err_set(err, BLO_EINVAL, "keep_days %d: give 0 (keep all) or more days",
				 opts->keep_days);
		goto fail;
	}
	if (self->durable == NULL || (opts->counterpart != NULL && self->counterpart == NULL)) {
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = blo_client_settings_load(&self->settings, opts->config, err)) != 0)
		goto fail;
	if (self->offline) {
		uint8_t authority[BLO_SIGN_PUBLIC_BYTES];

		if ((rc = blo_settings_authority(self->settings.authority, authority, err)) != 0 ||
		    (rc = blo_registry_load(&self->registry_owned, self->settings.registry, authority,
					    err)) != 0)
			goto fail;
		self->registry = self->registry_owned;
	} else {
		rc = blo_client_open_config(&self->client, opts->config,
					    opts->software != NULL ? opts->software : "blonet-console",
					    err);
		if (rc != 0)
			goto fail;
		self->registry = blo_client_registry(self->client);
	}
	me = blo_registry_find(self->registry, self->settings.id);
	if (me == NULL) {
		rc = blo_err_set(err, BLO_ENOTFOUND, "%s: principal %s is not in the registry",
				 opts->config, self->settings.id);
		goto fail;
	}
	if (me->role != BLO_ROLE_CONSOLE) {
		rc = blo_err_set(err, BLO_EPERM, "%s: %s is a %s, not a console", opts->config, me->id,
				 blo_role_name(me->role));
		goto fail;
	}
	self->me = *me;
	if (self->settings.data_dir == NULL) {
		rc = blo_err_set(err, BLO_ECONFIG, "%s: no data_dir for the console's store", opts->config);
		goto fail;
	}
	if (asprintf(&dir, "%s/%s", self->settings.data_dir, STORE_SUBDIR) < 0) {
		dir = NULL;
		rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = blo_console_store_open(&self->store, dir, err)) != 0 ||
	    (rc = blo_console_store_set_limit(self->store, opts->store_mb, err)) != 0)
		goto fail;
	if (!self->offline && (rc = blo_console_store_lock(self->store, err)) != 0)
		goto fail;
	if ((rc = blo_console_store_scan(self->store, 1, load_fn, self)) != 0) {
		blo_err_set(err, rc, "console store %s: %s", dir, blo_strerror(rc));
		goto fail;
	}
	/* Offline is read-only: a running console prunes, --list does not. A
	 * store that cannot be pruned now still reads: say so and go on. */
	if (!self->offline) {
		blo_err_t perr = {0};

		if (prune_if_due(self, &perr) != 0)
			blo_warn("console.prune_failed", "%s", perr.msg);
	}
	if ((rc = load_sites(self)) != 0) {
		blo_err_set(err, rc, "out of memory");
		goto fail;
	}
	if (!self->offline) {
		rc = blo_client_subscribe(self->client, self->durable, NULL,
					  BLONET__START_AT__START_LAST_ACKED, 0, 0, 0, err);
		if (rc != 0 || (rc = republish_pending(self, err)) != 0)
			goto fail;
	}
	self->last_ping_ms = blo_mono_ms();
	free(dir);
	*out = self;
	return 0;
fail:
	free(dir);
	blo_console_close(&self);
	return rc;
}

void blo_console_close(blo_console_t **self_p)
{
	blo_console_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	if (self->client != NULL) {
		/* Let the last acknowledgements leave before the socket closes. */
		Blonet__Frame *f = NULL;

		blo_client_next(self->client, 50, &f, NULL);
		blo_message_free((ProtobufCMessage **)&f);
	}
	blo_client_close(&self->client);
	blo_registry_destroy(&self->registry_owned);
	blo_console_store_close(&self->store);
	free_items(self);
	free_strings(&self->crossings, &self->n_crossings);
	free_strings(&self->sites, &self->n_sites);
	free(self->inflight);
	blo_client_settings_free(&self->settings);
	free(self->durable);
	free(self->counterpart);
	free(self);
	*self_p = NULL;
}

void blo_console_set_listener(blo_console_t *self, blo_console_event_fn fn, void *arg)
{
	self->listener = fn;
	self->listener_arg = arg;
}

/* ---------------------------------------------------------------- polling */

typedef struct {
	Blonet__Frame *frame;
	Blonet__Envelope *env;
	Blonet__Alert *alert;
} delivery_t;

/* Stores a batch of deliveries, raises events for the new ones, then
 * acknowledges every one of them to the broker. */
static int handle_deliveries(blo_console_t *self, delivery_t *d, size_t n, blo_err_t *err)
{
	blo_console_record_t recs[BATCH_MAX];
	size_t nrec = 0;
	bool stored[BATCH_MAX];
	int64_t now = blo_now_ms();
	int rc = 0;

	memset(recs, 0, sizeof(recs));
	for (size_t i = 0; i < n; i++) {
		const Blonet__Deliver *dv = d[i].frame->deliver;
		blo_console_record_t *r = &recs[nrec];
		blo_err_t verr = {0};
		int prc;

		if ((prc = parse_envelope(dv->envelope.data, dv->envelope.len, &d[i].env, &d[i].alert,
					  &verr)) != 0 ||
		    d[i].alert->id.len != BLO_ID_BYTES) {
			/* Short of memory: none of the batch is acknowledged,
			 * and the broker delivers it again. */
			if (prc == BLO_ENOMEM)
				return blo_err_set(err, BLO_ENOMEM, "delivery %llu: %s",
						   (unsigned long long)dv->seq, verr.msg);
			/* The broker verified it; if we cannot even read it,
			 * keeping it helps no one. */
			blo_error("console.unreadable", "delivery %llu from %s does not parse: %s",
				  (unsigned long long)dv->seq, blo_console_broker_id(self), verr.msg);
			continue;
		}
		memcpy(r->id, d[i].alert->id.data, BLO_ID_BYTES);
		r->envelope = dv->envelope.data;
		r->envelope_len = dv->envelope.len;
		r->broker_seq = dv->seq;
		r->received_ms = now;
		prc = blo_envelope_verify(d[i].env, self->registry, NULL, NULL, &verr);
		if (prc == BLO_ENOMEM)
			return blo_err_set(err, BLO_ENOMEM, "delivery %llu: %s",
					   (unsigned long long)dv->seq, verr.msg);
		if (prc == 0) {
			r->flags = BLO_CONSOLE_VERIFIED;
		} else {
			snprintf(r->note, sizeof(r->note), "signature not verified: %s", verr.msg);
			blo_warn("console.unverified", "%s", r->note);
		}
		if (d[i].alert->type == BLONET__MESSAGE_TYPE__ACK)
			r->flags |= BLO_CONSOLE_READ;
		nrec++;
	}
	if (nrec > 0 && (rc = blo_console_store_put(self->store, recs, nrec, stored, err)) != 0)
		return rc; /* nothing acknowledged: the broker delivers again */
	for (size_t j = 0; j < nrec; j++) {
		size_t idx;

		if (!stored[j]) {
			long have = blo_console_find_id(self, recs[j].id);

			if (have >= 0 && self->items[have].broker_seq == 0 &&
			    (self->items[have].flags & BLO_CONSOLE_MINE))
				self->items[have].broker_seq = recs[j].broker_seq;
			continue;
		}
		if ((rc = add_record(self, &recs[j], &idx)) != 0)
			return blo_err_set(err, rc, "out of memory");
		emit(self, BLO_CONSOLE_EV_RECEIVED, idx, NULL);
	}
	{
		uint64_t seqs[BATCH_MAX];

		for (size_t i = 0; i < n; i++)
			seqs[i] = d[i].frame->deliver->seq;
		/* Not sent (link down): the broker delivers again, and the store
		 * de-duplicates. */
		blo_client_ack(self->client, self->durable, seqs, n, NULL);
	}
	return 0;
}

static void handle_publish_ack(blo_console_t *self, const Blonet__Frame *f)
{
	const Blonet__PublishAck *a = f->publish_ack;
	blo_console_pub_t pub;
	size_t k;
	long idx;

	for (k = 0; k < self->n_inflight; k++)
		if (self->inflight[k].correlation == f->correlation)
			break;
	if (k == self->n_inflight)
		return;
	idx = blo_console_find_id(self, self->inflight[k].id);
	if (!blo_client_ack_is_final(a)) {
		/* The client sends it again by itself. */
		if (idx >= 0)
			emit(self, BLO_CONSOLE_EV_ERROR, (size_t)idx, a->text);
		return;
	}
	pub = a->status == BLONET__PUBLISH_STATUS__ACCEPTED    ? BLO_CONSOLE_PUB_ACCEPTED
	      : a->status == BLONET__PUBLISH_STATUS__DUPLICATE ? BLO_CONSOLE_PUB_DUPLICATE
							       : BLO_CONSOLE_PUB_REJECTED;
	if (idx >= 0) {
		char note[BLO_CONSOLE_NOTE_MAX] = "";

		if (pub == BLO_CONSOLE_PUB_REJECTED)
			snprintf(note, sizeof(note), "%s: %s",
				 blo_enum_name(&blonet__reject_reason__descriptor, (int)a->reason) != NULL
					 ? blo_enum_name(&blonet__reject_reason__descriptor, (int)a->reason)
					 : "REJECTED",
				 a->text != NULL ? a->text : "");
		if (blo_console_store_set_pub(self->store, self->inflight[k].id, pub, note, NULL) != 0)
			blo_error("console.store", "could not record the broker's answer");
		self->items[idx].pub = pub;
		emit(self, BLO_CONSOLE_EV_PUBLISHED, (size_t)idx, pub == BLO_CONSOLE_PUB_REJECTED ? note : NULL);
	}
	self->inflight[k] = self->inflight[--self->n_inflight];
}

/* A full store refuses every delivery until there is room: say so on the
 * event stream once a minute, not at every poll, and prune then, in case
 * old conversations can go. */
static void report_full(blo_console_t *self, const blo_err_t *err)
{
	int64_t now = blo_mono_ms();

	if (self->full_reported_ms != 0 && now - self->full_reported_ms < FULL_REPORT_MS)
		return;
	self->full_reported_ms = now;
	if (self->keep_days > 0)
		self->next_prune_ms = 0;
	blo_error("console.store_full", "%s", err != NULL ? err->msg : "console store full");
	emit(self, BLO_CONSOLE_EV_ERROR, 0, err != NULL ? err->msg : "console store full");
}

static void maybe_ping(blo_console_t *self)
{
	int64_t now = blo_mono_ms();
	Blonet__Frame f = BLONET__FRAME__INIT;
	Blonet__Ping ping = BLONET__PING__INIT;

	if (self->link_up && now - self->last_heard_ms > PONG_LATE_MS)
		set_link(self, false);
	if (now - self->last_ping_ms < PING_EVERY_MS)
		return;
	self->last_ping_ms = now;
	ping.sent_ms = now;
	f.body_case = BLONET__FRAME__BODY_PING;
	f.ping = &ping;
	if (blo_client_send(self->client, &f, NULL) != 0)
		set_link(self, false);
}

int blo_console_poll(blo_console_t *self, int timeout_ms, blo_err_t *err)
{
	delivery_t d[BATCH_MAX];
	size_t n = 0;
	int rc = 0;

	assert(self != NULL);
	if (self->offline) {
		struct timespec ts = {.tv_sec = timeout_ms / 1000,
				      .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};

		if (timeout_ms > 0)
			nanosleep(&ts, NULL);
		return 0;
	}
	maybe_ping(self);
	for (int wait = timeout_ms; n < BATCH_MAX; wait = 0) {
		Blonet__Frame *f = NULL;

		rc = blo_client_next(self->client, wait, &f, err);
		if (rc != 0 || f == NULL)
			break;
		self->last_heard_ms = blo_mono_ms();
		switch (f->body_case) {
		case BLONET__FRAME__BODY_DELIVER:
			set_link(self, true);
			d[n].frame = f;
			d[n].env = NULL;
			d[n].alert = NULL;
			n++;
			continue; /* kept until stored */
		case BLONET__FRAME__BODY_WELCOME:
		case BLONET__FRAME__BODY_PONG:
		case BLONET__FRAME__BODY_SUBSCRIBED:
			set_link(self, true);
			break;
		case BLONET__FRAME__BODY_PUBLISH_ACK:
			set_link(self, true);
			handle_publish_ack(self, f);
			break;
		case BLONET__FRAME__BODY_ERROR:
			blo_warn("console.broker_error", "broker: %s", f->error->text);
			emit(self, BLO_CONSOLE_EV_ERROR, 0, f->error->text);
			break;
		default:
			break;
		}
		blo_message_free((ProtobufCMessage **)&f);
	}
	if (n > 0) {
		int hrc = handle_deliveries(self, d, n, err);

		if (hrc == BLO_EFULL)
			report_full(self, err);
		if (rc == 0)
			rc = hrc;
	}
	{
		/* Also when the store refused deliveries: pruning makes room. */
		int prc = prune_if_due(self, rc == 0 ? err : NULL);

		if (rc == 0)
			rc = prc;
	}
	for (size_t i = 0; i < n; i++) {
		blo_alert_free(&d[i].alert);
		blo_envelope_free(&d[i].env);
		blo_message_free((ProtobufCMessage **)&d[i].frame);
	}
	return rc;
}

/* ---------------------------------------------------------------- model */

size_t blo_console_count(const blo_console_t *self)
{
	return self->n_items;
}

const blo_console_item_t *blo_console_item(const blo_console_t *self, size_t i)
{
	return i < self->n_items ? &self->items[i] : NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int blo_console_find(const blo_console_t *self, const char *ref, size_t *item, blo_err_t *err)
{
	size_t len = ref != NULL ? strlen(ref) : 0;
	long found = -1;

	if (len == 0)
		return blo_err_set(err, BLO_EINVAL, "no message given");
	if (ref[0] == '#') {
		char *end;
		unsigned long long seq = strtoull(ref + 1, &end, 10);

		if (*end != '\0' || end == ref + 1)
			return blo_err_set(err, BLO_EINVAL, "\"%s\": expected #N", ref);
		/* Local sequences grow in arrival order (pruning leaves gaps). */
		for (size_t i = 0; i < self->n_items; i++) {
			if (self->items[i].local_seq == seq) {
				*item = i;
				return 0;
			}
		}
		return blo_err_set(err, BLO_ENOTFOUND, "no message #%llu", seq);
	}
	for (size_t i = 0; i < len; i++)
		if (hexval(ref[i]) < 0)
			return blo_err_set(err, BLO_EINVAL, "\"%.40s\" is not a message id", ref);
	if (len > 2 * BLO_ID_BYTES || len < 6)
		return blo_err_set(err, BLO_EINVAL, "\"%.40s\": give #N, or 6 to 32 hex digits of the id",
				   ref);
	for (size_t i = 0; i < self->n_items; i++) {
		if (strncasecmp(self->items[i].id_hex, ref, len) != 0)
			continue;
		if (found >= 0)
			return blo_err_set(err, BLO_EINVAL, "\"%s\" names more than one message", ref);
		found = (long)i;
	}
	if (found < 0)
		return blo_err_set(err, BLO_ENOTFOUND, "no message %s", ref);
	*item = (size_t)found;
	return 0;
}

void blo_console_state(const blo_console_t *self, size_t item, blo_console_state_t *out)
{
	const blo_console_item_t *it = &self->items[item];

	memset(out, 0, sizeof(*out));
	out->first_reply_ms = -1;
	for (size_t i = 0; i < it->n_related; i++) {
		const blo_console_item_t *r = &self->items[it->related[i]];
		bool mine = (r->flags & BLO_CONSOLE_MINE) != 0;

		switch (r->type) {
		case BLONET__MESSAGE_TYPE__ACK:
			if (mine) {
				out->my_ack = r->ack_status;
				out->my_ack_pub = r->pub;
				break;
			}
			out->acks++;
			out->last_ack = r->ack_status;
			if (out->first_reply_ms < 0)
				out->first_reply_ms = r->sent_ms > it->sent_ms ? r->sent_ms - it->sent_ms : 0;
			break;
		case BLONET__MESSAGE_TYPE__RESPONSE:
			if (mine) {
				out->my_responses++;
				break;
			}
			out->responses++;
			if (out->first_reply_ms < 0)
				out->first_reply_ms = r->sent_ms > it->sent_ms ? r->sent_ms - it->sent_ms : 0;
			break;
		case BLONET__MESSAGE_TYPE__UPDATE:
			if (strcmp(r->principal, it->principal) == 0)
				out->updates++;
			break;
		case BLONET__MESSAGE_TYPE__CANCEL:
			if (strcmp(r->principal, it->principal) == 0)
				out->cancelled = true;
			break;
		default:
			break;
		}
	}
}

bool blo_console_filter_match(const blo_console_t *self, const blo_console_filter_t *f, size_t item)
{
	const blo_console_item_t *it = &self->items[item];

	if (it->type == BLONET__MESSAGE_TYPE__ACK && (f == NULL || !f->with_acks))
		return false;
	if (f == NULL)
		return true;
	if (f->category != 0 && it->category != f->category)
		return false;
	if (f->min_severity != 0 && it->severity < f->min_severity)
		return false;
	if (f->crossing[0] != '\0' && strcmp(it->crossing, f->crossing) != 0)
		return false;
	if (f->unread_only && (it->flags & BLO_CONSOLE_READ))
		return false;
	return true;
}

int blo_console_view(const blo_console_t *self, const blo_console_filter_t *f, size_t **out,
		     size_t *n)
{
	size_t *v = NULL, k = 0;

	*out = NULL;
	*n = 0;
	if (self->n_items == 0)
		return 0;
	v = malloc(self->n_items * sizeof(*v));
	if (v == NULL)
		return BLO_ENOMEM;
	for (size_t i = self->n_items; i > 0; i--)
		if (blo_console_filter_match(self, f, i - 1))
			v[k++] = i - 1;
	if (k == 0) {
		free(v);
		return 0;
	}
	*out = v;
	*n = k;
	return 0;
}

size_t blo_console_unread(const blo_console_t *self)
{
	size_t n = 0;

	for (size_t i = 0; i < self->n_items; i++) {
		const blo_console_item_t *it = &self->items[i];

		if (!(it->flags & (BLO_CONSOLE_READ | BLO_CONSOLE_MINE)) &&
		    it->type != BLONET__MESSAGE_TYPE__ACK)
			n++;
	}
	return n;
}

int blo_console_load(blo_console_t *self, size_t item, Blonet__Alert **alert,
		     Blonet__Envelope **envelope, char note[BLO_CONSOLE_NOTE_MAX], blo_err_t *err)
{
	blo_console_record_t rec;
	Blonet__Envelope *env = NULL;
	Blonet__Alert *a = NULL;
	int rc;

	if (alert != NULL)
		*alert = NULL;
	if (envelope != NULL)
		*envelope = NULL;
	if (item >= self->n_items)
		return blo_err_set(err, BLO_ENOTFOUND, "no such message");
	if ((rc = blo_console_store_get(self->store, self->items[item].id, &rec, err)) != 0)
		return rc;
	if (note != NULL)
		memcpy(note, rec.note, BLO_CONSOLE_NOTE_MAX);
	rc = parse_envelope(rec.envelope, rec.envelope_len, &env, &a, err);
	blo_console_record_clear(&rec);
	if (rc != 0)
		return rc;
	if (alert != NULL)
		*alert = a;
	else
		blo_alert_free(&a);
	if (envelope != NULL)
		*envelope = env;
	else
		blo_envelope_free(&env);
	return 0;
}

const blo_principal_t *blo_console_me(const blo_console_t *self)
{
	return &self->me;
}

const blo_registry_t *blo_console_registry(const blo_console_t *self)
{
	return self->registry;
}

const char *blo_console_broker_id(const blo_console_t *self)
{
	return self->settings.broker.id != NULL ? self->settings.broker.id : "";
}

const char *blo_console_counterpart(const blo_console_t *self)
{
	return self->counterpart;
}

bool blo_console_online(const blo_console_t *self)
{
	return !self->offline;
}

bool blo_console_link_up(const blo_console_t *self)
{
	return self->link_up;
}

const char *const *blo_console_crossings(const blo_console_t *self, size_t *n)
{
	blo_console_t *mut = (blo_console_t *)self; /* a cache, not state */

	if (mut->crossings_dirty) {
		free_strings(&mut->crossings, &mut->n_crossings);
		for (size_t i = 0; i < mut->n_items; i++)
			if (mut->items[i].crossing[0] != '\0' &&
			    strings_add(&mut->crossings, &mut->n_crossings, mut->items[i].crossing) != 0)
				break;
		if (mut->n_crossings > 1)
			qsort(mut->crossings, mut->n_crossings, sizeof(char *), cmp_str);
		mut->crossings_dirty = false;
	}
	*n = mut->n_crossings;
	return (const char *const *)mut->crossings;
}

const char *const *blo_console_sites(const blo_console_t *self, size_t *n)
{
	*n = self->n_sites;
	return (const char *const *)self->sites;
}

const char *blo_console_site_country(const blo_console_t *self, const char *site)
{
	if (site == NULL || site[0] == '\0')
		return NULL;
	for (size_t i = 0; i < blo_registry_count(self->registry); i++) {
		const blo_principal_t *p = blo_registry_at(self->registry, i);

		if (strcmp(p->site, site) == 0)
			return p->country;
	}
	return NULL;
}

int blo_console_cursor_get(blo_console_t *self, const char *name, uint64_t *seq)
{
	return blo_console_store_cursor_get(self->store, name, seq);
}

int blo_console_cursor_set(blo_console_t *self, const char *name, uint64_t seq, blo_err_t *err)
{
	return blo_console_store_cursor_set(self->store, name, seq, err);
}

/* ---------------------------------------------------------------- actions */

int blo_console_mark_read(blo_console_t *self, size_t item, blo_err_t *err)
{
	int rc;

	if (item >= self->n_items)
		return blo_err_set(err, BLO_ENOTFOUND, "no such message");
	if (self->items[item].flags & BLO_CONSOLE_READ)
		return 0;
	if ((rc = blo_console_store_set_flags(self->store, self->items[item].id, BLO_CONSOLE_READ, 0,
					      err)) != 0)
		return rc;
	self->items[item].flags |= BLO_CONSOLE_READ;
	return 0;
}

int blo_console_mark_unread(blo_console_t *self, size_t item, blo_err_t *err)
{
	int rc;

	if (item >= self->n_items)
		return blo_err_set(err, BLO_ENOTFOUND, "no such message");
	if (!(self->items[item].flags & BLO_CONSOLE_READ))
		return 0;
	if ((rc = blo_console_store_set_flags(self->store, self->items[item].id, 0, BLO_CONSOLE_READ,
					      err)) != 0)
		return rc;
	self->items[item].flags &= ~(uint32_t)BLO_CONSOLE_READ;
	return 0;
}

/* Completes, signs, stores and publishes alert, built by the caller. */
static int publish_new(blo_console_t *self, Blonet__Alert *alert, size_t *sent, blo_err_t *err)
{
	blo_console_record_t rec;
	uint8_t *bytes = NULL, *env = NULL;
	size_t len = 0, env_len = 0, idx;
	bool stored = false;
	uint64_t corr = 0;
	int rc;

	if ((rc = blo_client_complete_alert(self->client, alert, err)) != 0 ||
	    (rc = blo_alert_validate(alert, err)) != 0 ||
	    (rc = blo_message_serialize(&alert->base, BLO_ALERT_MAX_BYTES, &bytes, &len, err)) != 0 ||
	    (rc = blo_envelope_seal(blo_client_identity(self->client), bytes, len, &env, &env_len,
				    err)) != 0)
		goto out;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.id, alert->id.data, BLO_ID_BYTES);
	rec.envelope = env;
	rec.envelope_len = env_len;
	rec.received_ms = blo_now_ms();
	rec.flags = BLO_CONSOLE_MINE | BLO_CONSOLE_READ | BLO_CONSOLE_VERIFIED;
	rec.pub = BLO_CONSOLE_PUB_PENDING;
	/* Stored before it leaves: a restart publishes it again if the broker
	 * never acknowledged it. */
	if ((rc = blo_console_store_put(self->store, &rec, 1, &stored, err)) != 0)
		goto out;
	if (!stored) {
		rc = blo_err_set(err, BLO_EDUPLICATE, "a message with this id is stored already");
		goto out;
	}
	if ((rc = add_record(self, &rec, &idx)) != 0) {
		blo_err_set(err, rc, "out of memory");
		goto out;
	}
	if (self->n_inflight == self->cap_inflight) {
		size_t cap = self->cap_inflight ? self->cap_inflight * 2 : 16;
		inflight_t *grown = realloc(self->inflight, cap * sizeof(*grown));

		if (grown == NULL) {
			rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
			goto out;
		}
		self->inflight = grown;
		self->cap_inflight = cap;
	}
	if ((rc = blo_client_publish(self->client, env, env_len, &corr, err)) != 0)
		goto out;
	self->inflight[self->n_inflight].correlation = corr;
	memcpy(self->inflight[self->n_inflight].id, rec.id, BLO_ID_BYTES);
	self->n_inflight++;
	if (sent != NULL)
		*sent = idx;
	emit(self, BLO_CONSOLE_EV_SENT, idx, NULL);
out:
	free(bytes);
	free(env);
	return rc;
}

static int build_alert(cJSON *j, Blonet__Alert **out, blo_err_t *err)
{
	int rc;

	if (j == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	rc = blo_json_to_message(&blonet__alert__descriptor, j, (ProtobufCMessage **)out, err);
	cJSON_Delete(j);
	return rc;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const char *s = blo_enum_name(d, v);

	return s != NULL ? s : "";
}

static int require_online(const blo_console_t *self, blo_err_t *err)
{
	if (self->offline)
		return blo_err_set(err, BLO_EPERM, "the console is offline (--offline): nothing can be sent");
	return 0;
}

/* handling for a reply to orig: its marking (at least AMBER), its
 * operation, back to its originator's country. */
static cJSON *reply_handling(const blo_console_t *self, const Blonet__Alert *orig)
{
	cJSON *h = cJSON_CreateObject(), *to;
	Blonet__Tlp tlp = orig->handling != NULL ? orig->handling->tlp : BLONET__TLP__TLP_AMBER;
	const char *ocountry = orig->origin != NULL ? orig->origin->country : "";
	const char *oprincipal = orig->origin != NULL ? orig->origin->principal : "";
	const char *osite = orig->origin != NULL ? orig->origin->site : "";

	if (tlp < BLONET__TLP__TLP_AMBER)
		tlp = BLONET__TLP__TLP_AMBER;
	cJSON_AddStringToObject(h, "tlp", enum_name(&blonet__tlp__descriptor, (int)tlp));
	if (ocountry != NULL && ocountry[0] != '\0' && strcmp(ocountry, self->me.country) != 0) {
		cJSON *rel = cJSON_AddArrayToObject(h, "releasable_to");

		cJSON_AddItemToArray(rel, cJSON_CreateString(ocountry));
	}
	to = cJSON_AddArrayToObject(h, "addressed_to");
	if (oprincipal != NULL && oprincipal[0] != '\0')
		cJSON_AddItemToArray(to, cJSON_CreateString(oprincipal));
	if (tlp == BLONET__TLP__TLP_AMBER_STRICT && osite != NULL && osite[0] != '\0')
		cJSON_AddItemToArray(to, cJSON_CreateString(osite));
	if (orig->handling != NULL && orig->handling->operation != NULL &&
	    orig->handling->operation[0] != '\0')
		cJSON_AddStringToObject(h, "operation", orig->handling->operation);
	return h;
}

static cJSON *reply_base(const blo_console_t *self, const blo_console_item_t *it,
			 const Blonet__Alert *orig, Blonet__MessageType type)
{
	cJSON *j = cJSON_CreateObject(), *refs, *as, *loc;

	cJSON_AddStringToObject(j, "type", enum_name(&blonet__message_type__descriptor, (int)type));
	cJSON_AddItemToArray(refs = cJSON_AddArrayToObject(j, "references"), cJSON_CreateString(it->id_hex));
	(void)refs;
	cJSON_AddStringToObject(j, "status",
				enum_name(&blonet__status__descriptor,
					  orig->status != 0 ? (int)orig->status : (int)self->status));
	if (orig->assessment != NULL && orig->assessment->category != 0) {
		as = cJSON_AddObjectToObject(j, "assessment");
		cJSON_AddStringToObject(as, "category", enum_name(&blonet__category__descriptor,
								  (int)orig->assessment->category));
	}
	cJSON_AddItemToObject(j, "handling", reply_handling(self, orig));
	if (self->me.site[0] != '\0') {
		loc = cJSON_AddObjectToObject(j, "location");
		cJSON_AddStringToObject(loc, "site", self->me.site);
	}
	return j;
}

int blo_console_ack(blo_console_t *self, size_t item, Blonet__AckStatus status, const char *note,
		    size_t *sent, blo_err_t *err)
{
	const blo_console_item_t *it;
	Blonet__Alert *orig = NULL, *ack = NULL;
	cJSON *j;
	int rc;

	if ((rc = require_online(self, err)) != 0)
		return rc;
	if (item >= self->n_items)
		return blo_err_set(err, BLO_ENOTFOUND, "no such message");
	it = &self->items[item];
	if (status != BLONET__ACK_STATUS__RECEIVED && status != BLONET__ACK_STATUS__ACTING)
		return blo_err_set(err, BLO_EINVAL, "an ACK says RECEIVED or ACTING");
	if (it->type == BLONET__MESSAGE_TYPE__ACK)
		return blo_err_set(err, BLO_EINVAL, "an ACK is not acknowledged");
	if (it->flags & BLO_CONSOLE_MINE)
		return blo_err_set(err, BLO_EINVAL, "this console sent that message itself");
	if ((rc = blo_console_load(self, item, &orig, NULL, NULL, err)) != 0)
		return rc;
	j = reply_base(self, it, orig, BLONET__MESSAGE_TYPE__ACK);
	cJSON_AddStringToObject(j, "ack_status", enum_name(&blonet__ack_status__descriptor, (int)status));
	if (note != NULL && note[0] != '\0')
		cJSON_AddStringToObject(j, "description", note);
	if ((rc = build_alert(j, &ack, err)) == 0)
		rc = publish_new(self, ack, sent, err);
	if (rc == 0)
		blo_console_mark_read(self, item, NULL);
	blo_alert_free(&ack);
	blo_alert_free(&orig);
	return rc;
}

int blo_console_respond(blo_console_t *self, size_t item, const char *text, size_t *sent,
			blo_err_t *err)
{
	const blo_console_item_t *it;
	Blonet__Alert *orig = NULL, *resp = NULL;
	char *headline = NULL;
	cJSON *j;
	int rc;

	if ((rc = require_online(self, err)) != 0)
		return rc;
	if (item >= self->n_items)
		return blo_err_set(err, BLO_ENOTFOUND, "no such message");
	it = &self->items[item];
	if (it->type != BLONET__MESSAGE_TYPE__RFI)
		return blo_err_set(err, BLO_EINVAL, "only an RFI is answered with a RESPONSE");
	if (it->flags & BLO_CONSOLE_MINE)
		return blo_err_set(err, BLO_EINVAL, "this console sent that RFI itself");
	if (text == NULL || text[0] == '\0')
		return blo_err_set(err, BLO_EINVAL, "a RESPONSE needs text");
	if ((rc = blo_console_load(self, item, &orig, NULL, NULL, err)) != 0)
		return rc;
	j = reply_base(self, it, orig, BLONET__MESSAGE_TYPE__RESPONSE);
	if (asprintf(&headline, "Re: %s", orig->headline != NULL ? orig->headline : "") < 0)
		headline = NULL;
	if (headline != NULL)
		cJSON_AddStringToObject(j, "headline", headline);
	cJSON_AddStringToObject(j, "description", text);
	if ((rc = build_alert(j, &resp, err)) == 0)
		rc = publish_new(self, resp, sent, err);
	if (rc == 0)
		blo_console_mark_read(self, item, NULL);
	free(headline);
	blo_alert_free(&resp);
	blo_alert_free(&orig);
	return rc;
}

int blo_console_send(blo_console_t *self, const blo_console_outgoing_t *m, size_t *sent,
		     blo_err_t *err)
{
	const char *site = m->to_site != NULL && m->to_site[0] ? m->to_site : self->counterpart;
	const char *country;
	Blonet__Tlp tlp = m->tlp != 0 ? m->tlp : BLONET__TLP__TLP_AMBER;
	Blonet__Alert *a = NULL;
	cJSON *j, *h, *to, *as, *rel;
	int rc;

	if ((rc = require_online(self, err)) != 0)
		return rc;
	if (m->type != BLONET__MESSAGE_TYPE__RFI && m->type != BLONET__MESSAGE_TYPE__BULLETIN)
		return blo_err_set(err, BLO_EINVAL, "a console sends an RFI or a BULLETIN here");
	if (site == NULL || site[0] == '\0')
		return blo_err_set(err, BLO_EINVAL, "to which BLO? give the counterpart's site");
	if ((country = blo_console_site_country(self, site)) == NULL)
		return blo_err_set(err, BLO_ENOTFOUND, "no BLO %s in the registry", site);
	if (m->headline == NULL || m->headline[0] == '\0')
		return blo_err_set(err, BLO_EINVAL, "a headline is required");

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "type", enum_name(&blonet__message_type__descriptor, (int)m->type));
	cJSON_AddStringToObject(j, "status", enum_name(&blonet__status__descriptor, (int)self->status));
	as = cJSON_AddObjectToObject(j, "assessment");
	cJSON_AddStringToObject(as, "category",
				enum_name(&blonet__category__descriptor,
					  m->category != 0 ? (int)m->category
							   : (int)BLONET__CATEGORY__CATEGORY_OTHER));
	if (m->severity != 0)
		cJSON_AddStringToObject(as, "severity",
					enum_name(&blonet__severity__descriptor, (int)m->severity));
	h = cJSON_AddObjectToObject(j, "handling");
	cJSON_AddStringToObject(h, "tlp", enum_name(&blonet__tlp__descriptor, (int)tlp));
	rel = cJSON_AddArrayToObject(h, "releasable_to");
	if (m->releasable_set) {
		for (size_t i = 0; i < m->n_releasable_to; i++)
			cJSON_AddItemToArray(rel, cJSON_CreateString(m->releasable_to[i]));
	} else if (strcmp(country, self->me.country) != 0) {
		cJSON_AddItemToArray(rel, cJSON_CreateString(country));
	}
	if (cJSON_GetArraySize(rel) == 0)
		cJSON_DeleteItemFromObject(h, "releasable_to");
	to = cJSON_AddArrayToObject(h, "addressed_to");
	if (tlp == BLONET__TLP__TLP_RED) {
		/* RED names principals: the consoles of that BLO. */
		for (size_t i = 0; i < blo_registry_count(self->registry); i++) {
			const blo_principal_t *p = blo_registry_at(self->registry, i);

			if (p->role == BLO_ROLE_CONSOLE && !p->revoked && strcmp(p->site, site) == 0)
				cJSON_AddItemToArray(to, cJSON_CreateString(p->id));
		}
		if (cJSON_GetArraySize(to) == 0) {
			cJSON_Delete(j);
			return blo_err_set(err, BLO_ENOTFOUND, "TLP:RED: no console at %s to address", site);
		}
	} else {
		cJSON_AddItemToArray(to, cJSON_CreateString(site));
	}
	if (m->operation != NULL && m->operation[0] != '\0')
		cJSON_AddStringToObject(h, "operation", m->operation);
	if (self->me.site[0] != '\0') {
		cJSON *loc = cJSON_AddObjectToObject(j, "location");

		cJSON_AddStringToObject(loc, "site", self->me.site);
	}
	cJSON_AddStringToObject(j, "headline", m->headline);
	if (m->description != NULL && m->description[0] != '\0')
		cJSON_AddStringToObject(j, "description", m->description);
	if (m->modus_operandi != NULL && m->modus_operandi[0] != '\0')
		cJSON_AddStringToObject(j, "modus_operandi", m->modus_operandi);
	if ((rc = build_alert(j, &a, err)) == 0)
		rc = publish_new(self, a, sent, err);
	blo_alert_free(&a);
	return rc;
}
