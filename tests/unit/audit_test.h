/*
 * What the audit tests share (test_audit.c, test_audit_archive.c): audit
 * records about no entry, committed alone.
 */
#ifndef AUDIT_TEST_H
#define AUDIT_TEST_H

#include "blo_test.h"

/* A record about no entry of its batch. */
static inline blo_audit_record_t rec(blo_audit_event_t event, int64_t time_ms,
				     const char *principal, const char *detail)
{
	return (blo_audit_record_t){.event = event,
				    .time_ms = time_ms,
				    .principal = principal,
				    .detail = detail,
				    .entry_index = BLO_AUDIT_NO_ENTRY};
}

/* Commits audit records alone; they must be stored. */
static inline void commit_audit(blo_journal_t *j, const blo_audit_record_t *audit, size_t n)
{
	blo_journal_batch_t batch = {.audit = audit, .n_audit = n};
	blo_err_t err = {0};

	if (blo_journal_commit(j, &batch, &err) != 0)
		fail_msg("commit: %s", err.msg);
}

#endif
