/*
 * blo_audit_limit: a per-principal budget of audit records for refusals,
 * with one summary record for what each window left out.
 */
#include "blo_audit_limit.h"

#include "blo_err.h"
#include "blo_util.h"

#include <stdlib.h>
#include <string.h>

#define PRINCIPAL_MAX 64

typedef struct {
	char principal[PRINCIPAL_MAX];
	int64_t from_ms;
	unsigned recorded;
	uint64_t suppressed;
	char last[BLO_AUDIT_LIMIT_DETAIL];
} window_t;

struct blo_audit_limit {
	unsigned burst;
	int64_t window_ms;
	window_t *open;      /* one per principal with a window open */
	size_t n_open, cap_open;
	window_t *ended;     /* ended with something left out, not yet summed up */
	size_t n_ended, cap_ended;
	uint64_t suppressed_total;
};

int blo_audit_limit_new(blo_audit_limit_t **out, unsigned burst, int64_t window_ms)
{
	blo_audit_limit_t *self;

	*out = NULL;
	if (burst == 0 || window_ms <= 0)
		return BLO_EINVAL;
	if ((self = calloc(1, sizeof(*self))) == NULL)
		return BLO_ENOMEM;
	self->burst = burst;
	self->window_ms = window_ms;
	*out = self;
	return 0;
}

void blo_audit_limit_destroy(blo_audit_limit_t **self_p)
{
	if (self_p == NULL || *self_p == NULL)
		return;
	free((*self_p)->open);
	free((*self_p)->ended);
	free(*self_p);
	*self_p = NULL;
}

/* Appends w to a growable array. Returns 0, or -1 when out of memory. */
static int push(window_t **v, size_t *n, size_t *cap, const window_t *w)
{
	if (*n == *cap) {
		size_t grown_cap = *cap ? 2 * *cap : 16;
		window_t *grown = realloc(*v, grown_cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		*v = grown;
		*cap = grown_cap;
	}
	(*v)[(*n)++] = *w;
	return 0;
}

/* The open window of principal at now_ms: one that has ended is set aside
 * for the next flush and begins again. NULL when there is no memory for a
 * new one. */
static window_t *window_of(blo_audit_limit_t *self, const char *principal, int64_t now_ms)
{
	window_t *w = NULL;

	for (size_t i = 0; i < self->n_open && w == NULL; i++)
		if (strcmp(self->open[i].principal, principal) == 0)
			w = &self->open[i];
	if (w != NULL && now_ms - w->from_ms >= self->window_ms) {
		/* That window is over: keep what it left out for the next flush
		 * (if it cannot be kept, its count still reaches the total). */
		if (w->suppressed > 0)
			(void)push(&self->ended, &self->n_ended, &self->cap_ended, w);
		w->from_ms = now_ms;
		w->recorded = 0;
		w->suppressed = 0;
		w->last[0] = '\0';
	}
	if (w == NULL) {
		window_t fresh = {.from_ms = now_ms};

		blo_strlcpy(fresh.principal, principal, sizeof(fresh.principal));
		if (push(&self->open, &self->n_open, &self->cap_open, &fresh) != 0)
			return NULL;
		w = &self->open[self->n_open - 1];
	}
	return w;
}

uint64_t blo_audit_limit_take_n(blo_audit_limit_t *self, const char *principal, int64_t now_ms,
				uint64_t n, const char *detail)
{
	window_t *w = window_of(self, principal != NULL ? principal : "", now_ms);
	uint64_t room, recorded;

	if (w == NULL)
		return n; /* no memory to count them: record them rather than lose them */
	room = w->recorded < self->burst ? self->burst - w->recorded : 0;
	recorded = n < room ? n : room;
	w->recorded += (unsigned)recorded;
	if (n > recorded) {
		w->suppressed += n - recorded;
		self->suppressed_total += n - recorded;
		if (detail != NULL)
			blo_strlcpy(w->last, detail, sizeof(w->last));
	}
	return recorded;
}

bool blo_audit_limit_take(blo_audit_limit_t *self, const char *principal, int64_t now_ms,
			  const char *detail)
{
	return blo_audit_limit_take_n(self, principal, now_ms, 1, detail) == 1;
}

static void summarize(const blo_audit_limit_t *self, const window_t *w, blo_audit_summary_fn *fn,
		      void *arg)
{
	blo_audit_summary_t s = {
		.principal = w->principal,
		.suppressed = w->suppressed,
		.from_ms = w->from_ms,
		.to_ms = w->from_ms + self->window_ms,
		.last = w->last,
	};

	fn(&s, arg);
}

void blo_audit_limit_flush(blo_audit_limit_t *self, int64_t now_ms, blo_audit_summary_fn *fn,
			   void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < self->n_ended; i++)
		summarize(self, &self->ended[i], fn, arg);
	self->n_ended = 0;
	for (size_t i = 0; i < self->n_open; i++) {
		window_t *w = &self->open[i];

		if (now_ms - w->from_ms < self->window_ms) {
			self->open[kept++] = *w;
			continue;
		}
		if (w->suppressed > 0)
			summarize(self, w, fn, arg);
	}
	self->n_open = kept;
}

uint64_t blo_audit_limit_suppressed(const blo_audit_limit_t *self)
{
	return self->suppressed_total;
}
