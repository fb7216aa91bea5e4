/*
 * blo_audit_limit: how many refusals of one principal the audit log records
 * one by one. Audit records are kept for good (retention never purges
 * them), so a principal that floods the broker with malformed frames or
 * forged publishes would otherwise fill the journal's map with their
 * records and stop every publish of everyone. Each principal may have
 * `burst` refusals recorded per window; the rest of that window are
 * counted, and when the window ends one summary record says how many were
 * left out. The broker's counters still count every refusal.
 *
 * Not thread-safe: one limiter per thread that writes audit records.
 */
#ifndef BLO_AUDIT_LIMIT_H
#define BLO_AUDIT_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLO_AUDIT_LIMIT_DETAIL 160

typedef struct blo_audit_limit blo_audit_limit_t;

/* What a window left out, for its summary record. */
typedef struct {
	const char *principal;
	uint64_t suppressed;    /* refusals not recorded one by one */
	int64_t from_ms;        /* the window: start */
	int64_t to_ms;          /* and end */
	const char *last;       /* the last left-out refusal's detail */
} blo_audit_summary_t;

typedef void blo_audit_summary_fn(const blo_audit_summary_t *s, void *arg);

/* A limiter of burst records per principal per window_ms (both > 0).
 * Returns 0, or BLO_EINVAL / BLO_ENOMEM. Destroy with
 * blo_audit_limit_destroy. */
int blo_audit_limit_new(blo_audit_limit_t **out, unsigned burst, int64_t window_ms);

/* Frees the limiter and sets *self_p to NULL; NULL: nothing. Windows not yet
 * summed up are dropped: call blo_audit_limit_flush(self, INT64_MAX, ...)
 * first to keep them. */
void blo_audit_limit_destroy(blo_audit_limit_t **self_p);

/* Whether one more refusal of principal, at now_ms, is to be recorded one
 * by one. When not, it is counted (detail, if not NULL, is kept as the
 * window's last) for the summary. A principal whose window has ended
 * starts a new one here; the summary of the old one comes from the next
 * blo_audit_limit_flush. */
bool blo_audit_limit_take(blo_audit_limit_t *self, const char *principal, int64_t now_ms,
			  const char *detail);

/* blo_audit_limit_take for n refusals of principal at once (a count of
 * refusals whose details are gone): returns how many of them are to be
 * recorded one by one, the first ones; the others are counted, with detail
 * kept as the window's last. */
uint64_t blo_audit_limit_take_n(blo_audit_limit_t *self, const char *principal, int64_t now_ms,
				uint64_t n, const char *detail);

/* Calls fn for every window that ended by now_ms having left something
 * out, and forgets windows that ended. Call it regularly (once a second is
 * plenty) and with INT64_MAX at shutdown. */
void blo_audit_limit_flush(blo_audit_limit_t *self, int64_t now_ms, blo_audit_summary_fn *fn,
			   void *arg);

/* Refusals left out so far, over all principals (for status). */
uint64_t blo_audit_limit_suppressed(const blo_audit_limit_t *self);

#endif
