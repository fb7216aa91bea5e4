/*
 * blo_adapt_run: the adapter's loop. Records flow from a blo_adapt_source
 * to blo_client_publish_alert with at most `window` of them in flight; acks
 * are collected in batches and each batch of final acks is marked done in
 * one synced transaction of the progress store before it is counted.
 */
#include "blo_adapt_run.h"

#include "blo_codec.h"
#include "blo_log.h"
#include "blo_util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_WINDOW 256
#define DEFAULT_POLL_MS 1000
#define WAIT_WARN_MS 10000
#define STOP_GRACE_MS 2000
#define ACK_BATCH 512 /* frames taken per pump */

typedef enum { PENDING = 0, DONE_ACCEPTED, DONE_DUPLICATE, REFUSED } outcome_t;

typedef struct {
	uint64_t correlation;
	uint8_t id[BLO_ID_BYTES];
	size_t number, line;
	char *source_ref;
	char *text;
	size_t len;
	outcome_t outcome;
	uint64_t seq;
	char *refusal; /* REFUSED: the broker's reason and text */
	bool refused_for_now; /* a transient refusal was seen */
} inflight_t;

struct blo_adapt_run {
	blo_adapt_run_opts_t o;
	FILE *rejects;
	inflight_t *inflight;
	size_t n_inflight;
	blo_adapt_done_t *batch;   /* window entries: done marks of one settle */
	const char *name;          /* the input being processed */
	blo_adapt_summary_t *sum;
	int64_t last_progress_ms;  /* last ack, or start of waiting */
	int64_t last_warn_ms;
};

static bool stopping(const blo_adapt_run_t *self)
{
	return self->o.stop != NULL && *self->o.stop != 0;
}

int blo_adapt_run_open(blo_adapt_run_t **out, const blo_adapt_run_opts_t *opts, blo_err_t *err)
{
	blo_adapt_run_t *self;

	*out = NULL;
	self = calloc(1, sizeof(*self));
	if (self == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	self->o = *opts;
	if (self->o.window == 0)
		self->o.window = DEFAULT_WINDOW;
	self->inflight = calloc(self->o.window, sizeof(*self->inflight));
	self->batch = calloc(self->o.window, sizeof(*self->batch));
	if (self->inflight == NULL || self->batch == NULL) {
		free(self->inflight);
		free(self->batch);
		free(self);
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	}
	self->rejects = fopen(opts->rejects_path, "a");
	if (self->rejects == NULL) {
		int e = errno;

		free(self->inflight);
		free(self->batch);
		free(self);
		return blo_err_set(err, -e, "reject file %s: %s", opts->rejects_path, strerror(e));
	}
	*out = self;
	return 0;
}

static void inflight_free(inflight_t *f)
{
	free(f->source_ref);
	free(f->text);
	free(f->refusal);
	memset(f, 0, sizeof(*f));
}

void blo_adapt_run_close(blo_adapt_run_t **self_p)
{
	blo_adapt_run_t *self;

	if (self_p == NULL || *self_p == NULL)
		return;
	self = *self_p;
	for (size_t i = 0; i < self->n_inflight; i++)
		inflight_free(&self->inflight[i]);
	free(self->inflight);
	free(self->batch);
	if (self->rejects != NULL)
		fclose(self->rejects);
	free(self);
	*self_p = NULL;
}

/* ---------------------------------------------------------------- rejects */

/* Writes one reject line (once per input, record and text: the progress
 * store remembers it) and logs it. */
static int write_reject(blo_adapt_run_t *self, size_t number, size_t line, const char *field,
			const char *source_ref, const char *reason, const char *text, size_t len,
			blo_err_t *err)
{
	uint8_t key[BLO_ID_BYTES];
	bool seen = false;
	cJSON *o;
	char *s;
	int rc;

	blo_warn("adapter.rejected", "%s: %s", self->name, reason);
	blo_adapt_progress_reject_key(key, self->o.agency, self->name, number, text, len);
	if ((rc = blo_adapt_progress_is_rejected(self->o.progress, key, &seen, err)) != 0)
		return rc;
	if (seen)
		return 0;
	o = cJSON_CreateObject();
	if (o == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	cJSON_AddNumberToObject(o, "rejected_ms", (double)blo_now_ms());
	cJSON_AddStringToObject(o, "agency", blo_adapt_agency_name(self->o.agency));
	cJSON_AddStringToObject(o, "input", self->name);
	cJSON_AddNumberToObject(o, "record", (double)number);
	cJSON_AddNumberToObject(o, "line", (double)line);
	if (source_ref != NULL && source_ref[0] != '\0')
		cJSON_AddStringToObject(o, "source_ref", source_ref);
	if (field != NULL && field[0] != '\0')
		cJSON_AddStringToObject(o, "field", field);
	cJSON_AddStringToObject(o, "reason", reason);
	/* The record's bytes are valid UTF-8 unless that is why it is
	 * rejected: then they go as hex. */
	if (blo_adapt_utf8_check(text, len) == len && memchr(text, '\0', len) == NULL) {
		cJSON_AddStringToObject(o, "text", text);
	} else {
		char *hex = malloc(2 * len + 1);

		if (hex != NULL) {
			blo_hex_encode(hex, 2 * len + 1, (const uint8_t *)text, len);
			cJSON_AddStringToObject(o, "text_hex", hex);
			free(hex);
		}
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s == NULL)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	rc = fprintf(self->rejects, "%s\n", s) < 0 || fflush(self->rejects) != 0 ||
			     fsync(fileno(self->rejects)) != 0
		     ? -errno
		     : 0;
	cJSON_free(s);
	if (rc != 0)
		return blo_err_set(err, rc, "reject file %s: %s", self->o.rejects_path,
				   strerror(-rc));
	return blo_adapt_progress_mark_rejected(self->o.progress, key, err);
}

/* ---------------------------------------------------------------- acks */

static inflight_t *find_inflight(blo_adapt_run_t *self, uint64_t correlation)
{
	for (size_t i = 0; i < self->n_inflight; i++)
		if (self->inflight[i].correlation == correlation)
			return &self->inflight[i];
	return NULL;
}

static bool id_in_flight(const blo_adapt_run_t *self, const uint8_t id[BLO_ID_BYTES])
{
	for (size_t i = 0; i < self->n_inflight; i++)
		if (memcmp(self->inflight[i].id, id, BLO_ID_BYTES) == 0)
			return true;
	return false;
}

static void on_ack(blo_adapt_run_t *self, const Blonet__Frame *f)
{
	const Blonet__PublishAck *a = f->publish_ack;
	inflight_t *r = find_inflight(self, f->correlation);

	if (r == NULL || r->outcome != PENDING)
		return;
	if (!blo_client_ack_is_final(a)) {
		if (!r->refused_for_now)
			blo_warn("adapter.broker.refused",
				 "%s: record %zu: the broker refuses for now (%s: %s); retrying",
				 self->name, r->number,
				 blo_enum_name(&blonet__reject_reason__descriptor, (int)a->reason),
				 a->text);
		r->refused_for_now = true;
		return;
	}
	self->last_progress_ms = blo_mono_ms();
	switch (a->status) {
	case BLONET__PUBLISH_STATUS__ACCEPTED:
		r->outcome = DONE_ACCEPTED;
		r->seq = a->seq;
		break;
	case BLONET__PUBLISH_STATUS__DUPLICATE:
		r->outcome = DONE_DUPLICATE;
		r->seq = a->seq;
		break;
	default: {
		const char *reason = blo_enum_name(&blonet__reject_reason__descriptor, (int)a->reason);

		r->outcome = REFUSED;
		if (asprintf(&r->refusal, "%s record %zu (line %zu): refused by the broker: %s: %s",
			     blo_adapt_agency_name(self->o.agency), r->number, r->line,
			     reason != NULL ? reason : "?", a->text) < 0)
			r->refusal = NULL;
		break;
	}
	}
}

/* Counts and forgets what the acks resolved: done ones after one synced
 * transaction marks them. */
static int settle(blo_adapt_run_t *self, blo_err_t *err)
{
	blo_adapt_done_t *batch = self->batch;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < self->n_inflight; i++) {
		inflight_t *r = &self->inflight[i];

		if (r->outcome != DONE_ACCEPTED && r->outcome != DONE_DUPLICATE)
			continue;
		memcpy(batch[n].id, r->id, BLO_ID_BYTES);
		batch[n].seq = r->seq;
		batch[n].duplicate = r->outcome == DONE_DUPLICATE;
		batch[n].source_ref = r->source_ref;
		n++;
	}
	if ((rc = blo_adapt_progress_mark_done(self->o.progress, batch, n, err)) != 0)
		return rc;
	for (size_t i = 0; i < self->n_inflight;) {
		inflight_t *r = &self->inflight[i];

		if (r->outcome == PENDING) {
			i++;
			continue;
		}
		if (r->outcome == DONE_ACCEPTED) {
			self->sum->published++;
		} else if (r->outcome == DONE_DUPLICATE) {
			self->sum->duplicate++;
		} else {
			self->sum->rejected++;
			rc = write_reject(self, r->number, r->line, NULL, r->source_ref,
					  r->refusal != NULL ? r->refusal : "refused by the broker",
					  r->text, r->len, err);
			if (rc != 0)
				return rc;
		}
		inflight_free(r);
		self->inflight[i] = self->inflight[--self->n_inflight];
		memset(&self->inflight[self->n_inflight], 0, sizeof(inflight_t));
	}
	return 0;
}

/* Waits up to timeout_ms for acks, takes every frame already there, and
 * settles what they resolved. */
static int pump(blo_adapt_run_t *self, int timeout_ms, blo_err_t *err)
{
	Blonet__Frame *f = NULL;
	int64_t now;
	int rc, frames = 0;

	for (;;) {
		if ((rc = blo_client_next(self->o.client, frames == 0 ? timeout_ms : 0, &f, err)) != 0)
			return rc;
		if (f == NULL)
			break;
		if (f->body_case == BLONET__FRAME__BODY_PUBLISH_ACK)
			on_ack(self, f);
		else if (f->body_case == BLONET__FRAME__BODY_ERROR)
			blo_warn("adapter.broker.error", "broker error: %s", f->error->text);
		blo_message_free((ProtobufCMessage **)&f);
		if (++frames >= ACK_BATCH)
			break;
	}
	if ((rc = settle(self, err)) != 0)
		return rc;
	now = blo_mono_ms();
	if (self->n_inflight > 0 && now - self->last_progress_ms >= WAIT_WARN_MS &&
	    now - self->last_warn_ms >= WAIT_WARN_MS) {
		blo_warn("adapter.broker.waiting",
			 "%s: no ack from broker %s for %lld s; %zu records wait to be acknowledged",
			 self->name, blo_client_broker_id(self->o.client),
			 (long long)((now - self->last_progress_ms) / 1000), self->n_inflight);
		self->last_warn_ms = now;
	}
	if (self->n_inflight > 0 && self->o.ack_timeout_ms > 0 &&
	    now - self->last_progress_ms >= self->o.ack_timeout_ms)
		return blo_err_set(err, -ETIMEDOUT, "%s: no ack from broker %s within %d ms",
				   self->name, blo_client_broker_id(self->o.client),
				   self->o.ack_timeout_ms);
	return 0;
}

/* Waits until fewer than `room` publishes are in flight (0: none). */
static int wait_in_flight(blo_adapt_run_t *self, size_t room, blo_err_t *err)
{
	int rc;

	while (self->n_inflight > 0 && self->n_inflight >= (room > 0 ? room : 1)) {
		if (stopping(self))
			return blo_err_set(err, -EINTR, "stopped");
		if ((rc = pump(self, 250, err)) != 0)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- records */

static int publish(blo_adapt_run_t *self, blo_adapt_item_t *item, blo_err_t *err)
{
	Blonet__Alert *a = item->alert;
	blo_err_t why = { 0 };
	bool done = false;
	inflight_t *r;
	int rc;

	/* The same reference twice in a window: let the first settle, so the
	 * second counts as what it is, a duplicate. */
	while (id_in_flight(self, a->id.data)) {
		if (stopping(self))
			return blo_err_set(err, -EINTR, "stopped");
		if ((rc = pump(self, 250, err)) != 0)
			return rc;
	}
	if ((rc = blo_adapt_progress_is_done(self->o.progress, a->id.data, &done, err)) != 0)
		return rc;
	if (done) {
		self->sum->duplicate++;
		self->sum->already_done++;
		blo_debug("adapter.skipped", "%s: record %zu (%s) was acknowledged before", self->name,
			  item->number, a->source_ref);
		return 0;
	}
	if ((rc = wait_in_flight(self, self->o.window, err)) != 0)
		return rc;
	if (self->n_inflight == 0)
		self->last_progress_ms = blo_mono_ms();
	r = &self->inflight[self->n_inflight];
	memset(r, 0, sizeof(*r));
	if ((rc = blo_client_complete_alert(self->o.client, a, &why)) != 0 ||
	    (rc = blo_client_publish_alert(self->o.client, a, &r->correlation, &why)) != 0) {
		char reason[700];

		if (rc == BLO_ENOMEM)
			return blo_err_set(err, rc, "out of memory");
		snprintf(reason, sizeof(reason), "%s record %zu (line %zu): cannot be published: %s",
			 blo_adapt_agency_name(self->o.agency), item->number, item->line, why.msg);
		self->sum->rejected++;
		return write_reject(self, item->number, item->line, NULL, a->source_ref, reason,
				    item->text, item->len, err);
	}
	memcpy(r->id, a->id.data, BLO_ID_BYTES);
	r->number = item->number;
	r->line = item->line;
	r->source_ref = strdup(a->source_ref);
	r->text = malloc(item->len + 1);
	if (r->source_ref == NULL || r->text == NULL) {
		inflight_free(r);
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	}
	memcpy(r->text, item->text, item->len + 1);
	r->len = item->len;
	self->n_inflight++;
	return 0;
}

int blo_adapt_run_stream(blo_adapt_run_t *self, FILE *in, const char *name,
			 blo_adapt_summary_t *sum, blo_err_t *err)
{
	blo_adapt_source_t *src = NULL;
	blo_adapt_item_t item;
	int rc;

	memset(sum, 0, sizeof(*sum));
	self->name = name;
	self->sum = sum;
	self->last_warn_ms = 0;
	rc = blo_adapt_source_open(&src, self->o.agency, self->o.rules, in, err);
	if (rc == BLO_EPARSE) {
		char reason[600];
		blo_err_t werr = { 0 };

		snprintf(reason, sizeof(reason), "%s: %s", blo_adapt_agency_name(self->o.agency),
			 err->msg);
		if (write_reject(self, 0, 0, NULL, NULL, reason, "", 0, &werr) != 0)
			*err = werr;
		return rc;
	}
	if (rc != 0)
		return rc;
	for (;;) {
		if (stopping(self)) {
			rc = blo_err_set(err, -EINTR, "stopped");
			break;
		}
		if ((rc = blo_adapt_source_next(src, &item, err)) <= 0) {
			/* A signal interrupts a read from a pipe: that is a stop. */
			if (rc < 0 && stopping(self))
				rc = blo_err_set(err, -EINTR, "stopped");
			break;
		}
		sum->read++;
		if (item.alert == NULL) {
			sum->rejected++;
			rc = write_reject(self, item.number, item.line, item.why.field,
					  item.why.source_ref, item.why.err.msg, item.text, item.len, err);
		} else {
			rc = publish(self, &item, err);
			blo_alert_free(&item.alert);
		}
		if (rc != 0)
			break;
		/* Take acks as they come, without waiting. */
		if (self->n_inflight > 0 && (rc = pump(self, 0, err)) != 0)
			break;
	}
	blo_adapt_source_close(&src);
	if (rc == 0)
		rc = wait_in_flight(self, 0, err);
	if (rc == -EINTR && self->n_inflight > 0) {
		/* Asked to stop: a moment for acks already on their way. */
		int64_t until = blo_mono_ms() + STOP_GRACE_MS;
		blo_err_t ignored;

		while (self->n_inflight > 0 && blo_mono_ms() < until)
			if (pump(self, 100, &ignored) != 0)
				break;
	}
	sum->unacknowledged = self->n_inflight;
	/* What is still in flight stays with the client; this run forgets it
	 * (it was never marked done, so the next run publishes it again). */
	for (size_t i = 0; i < self->n_inflight; i++)
		inflight_free(&self->inflight[i]);
	self->n_inflight = 0;
	self->sum = NULL;
	return rc;
}

/* ---------------------------------------------------------------- spool */

static bool spool_candidate(const char *dir, const char *name)
{
	size_t n = strlen(name);
	struct stat st;
	char *path = NULL;
	bool ok;

	if (name[0] == '.' || (n >= 4 && strcmp(name + n - 4, ".tmp") == 0) ||
	    (n >= 5 && strcmp(name + n - 5, ".part") == 0))
		return false;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return false;
	ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return ok;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the files waiting, sorted; caller frees each and the array. */
static int list_spool(const char *dir, char ***names, size_t *n, blo_err_t *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return blo_err_set(err, -errno, "spool %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (!spool_candidate(dir, e->d_name))
			continue;
		if (*n == cap) {
			char **grown = realloc(*names, (cap = cap ? cap * 2 : 16) * sizeof(char *));

			if (grown == NULL)
				break;
			*names = grown;
		}
		if (((*names)[*n] = strdup(e->d_name)) == NULL)
			break;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(*names, *n, sizeof(char *), compare_names);
	return 0;
}

/* Moves dir/name into dir/sub/, with a ".N" suffix if the name is taken.
 * *moved_to is the new path (caller frees). */
static int move_to(const char *dir, const char *name, const char *sub, char **moved_to,
		   blo_err_t *err)
{
	char *from = NULL, *to = NULL;
	struct stat st;
	int rc = 0;

	*moved_to = NULL;
	if (asprintf(&from, "%s/%s", dir, name) < 0)
		return blo_err_set(err, BLO_ENOMEM, "out of memory");
	for (unsigned k = 0; rc == 0; k++) {
		free(to);
		to = NULL;
		if ((k == 0 ? asprintf(&to, "%s/%s/%s", dir, sub, name)
			    : asprintf(&to, "%s/%s/%s.%u", dir, sub, name, k)) < 0) {
			rc = blo_err_set(err, BLO_ENOMEM, "out of memory");
			break;
		}
		if (lstat(to, &st) != 0)
			break;
	}
	if (rc == 0 && rename(from, to) != 0)
		rc = blo_err_set(err, -errno, "cannot move %s to %s: %s", from, to, strerror(errno));
	free(from);
	if (rc != 0)
		free(to);
	else
		*moved_to = to;
	return rc;
}

int blo_adapt_run_spool(blo_adapt_run_t *self, const char *dir, bool once, int poll_ms,
			blo_adapt_spool_fn *fn, void *arg, blo_err_t *err)
{
	static const char *const subs[] = { "done", "failed" };
	int rc = 0;

	if (poll_ms <= 0)
		poll_ms = DEFAULT_POLL_MS;
	for (size_t i = 0; i < 2; i++) {
		char *sub = NULL;

		if (asprintf(&sub, "%s/%s", dir, subs[i]) < 0)
			return blo_err_set(err, BLO_ENOMEM, "out of memory");
		if (mkdir(sub, 0755) != 0 && errno != EEXIST) {
			rc = blo_err_set(err, -errno, "spool %s: %s", sub, strerror(errno));
			free(sub);
			return rc;
		}
		free(sub);
	}
	while (rc == 0) {
		char **names = NULL;
		size_t n = 0;

		if ((rc = list_spool(dir, &names, &n, err)) != 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			blo_adapt_summary_t sum = { 0 };
			blo_err_t ferr = { 0 };
			char *path = NULL, *moved = NULL;
			FILE *in = NULL;
			int frc;

			if (rc != 0 || stopping(self) || asprintf(&path, "%s/%s", dir, names[i]) < 0) {
				free(names[i]);
				continue;
			}
			in = fopen(path, "r");
			if (in == NULL && errno == ENOENT) {
				/* Taken away meanwhile. */
				free(path);
				free(names[i]);
				continue;
			}
			if (in == NULL) {
				frc = blo_err_set(&ferr, -errno, "%s: %s", path, strerror(errno));
			} else {
				frc = blo_adapt_run_stream(self, in, path, &sum, &ferr);
				fclose(in);
			}
			if (frc == 0 || frc == BLO_EPARSE || in == NULL) {
				/* Finished, or never readable: out of the spool. */
				const char *sub = frc == 0 && sum.rejected == 0 ? "done" : "failed";

				if ((rc = move_to(dir, names[i], sub, &moved, err)) != 0)
					blo_error("adapter.spool.move", "%s", err->msg);
			} else {
				/* Stopped, timed out, refused or broken: it stays, and
				 * the next run takes it up where it left off. */
				rc = frc;
				*err = ferr;
			}
			if (fn != NULL)
				fn(path, &sum, frc, moved, &ferr, arg);
			free(moved);
			free(path);
			free(names[i]);
		}
		free(names);
		if (rc != 0)
			break;
		if (stopping(self))
			return blo_err_set(err, -EINTR, "stopped");
		if (once && n == 0)
			return 0;
		if (n == 0 && (rc = pump(self, poll_ms, err)) != 0)
			break;
	}
	return rc;
}
