/*
 * blo_adapt_run: an agency adapter at work. Reads an export (a file, a
 * pipe, or each new file of a spool folder), maps each record
 * (blo_adapt_map), skips records its progress store has seen acknowledged,
 * publishes the rest through blo_client with a bounded window in flight,
 * marks each done only after the broker's final PublishAck, and writes each
 * record that cannot be normalized (or that the broker refuses) to the
 * reject file and the log, going on with the rest. While the broker is
 * unreachable it waits, and the client re-sends: nothing is lost, and since
 * ids derive from the record references, nothing is stored twice.
 */
#ifndef BLO_ADAPT_RUN_H
#define BLO_ADAPT_RUN_H

#include "blo_adapt_map.h"
#include "blo_adapt_progress.h"
#include "blo_client.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

/* What became of one input's records. read = published + duplicate +
 * rejected + unacknowledged. */
typedef struct {
	size_t read;           /* records read, good and bad */
	size_t published;      /* accepted by the broker */
	size_t duplicate;      /* already held: the broker said so, or ... */
	size_t already_done;   /* ... (counted in duplicate) this store had it done */
	size_t rejected;       /* not normalized, or refused by the broker */
	size_t unacknowledged; /* sent, no final ack when the run stopped */
} blo_adapt_summary_t;

typedef struct {
	blo_adapt_agency_t agency;
	const blo_adapt_rules_t *rules;   /* borrowed, with the agency's section */
	blo_client_t *client;             /* borrowed: the agent principal's client */
	blo_adapt_progress_t *progress;   /* borrowed */
	const char *rejects_path;         /* the reject file, appended to (JSON lines) */
	size_t window;                    /* publishes in flight at most; 0: 256 */
	int ack_timeout_ms;               /* give up after this long without an ack;
					   * 0: wait for the broker forever */
	const volatile sig_atomic_t *stop; /* optional: non-zero asks the run to stop */
} blo_adapt_run_opts_t;

typedef struct blo_adapt_run blo_adapt_run_t;

/* Opens a run (the reject file is opened for appending now). *out is the
 * caller's. Returns 0, -errno or BLO_ENOMEM. */
int blo_adapt_run_open(blo_adapt_run_t **out, const blo_adapt_run_opts_t *opts, blo_err_t *err);

/* Closes the run and sets *self_p to NULL. Unacknowledged publishes are the
 * client's: they are dropped when the client closes, and published again by
 * the next run since they were never marked done. */
void blo_adapt_run_close(blo_adapt_run_t **self_p);

/* Processes input in (borrowed), called name in messages and the reject
 * file, to its end and until every record it published has its final ack.
 * Fills *sum. Returns 0 when every record is published or rejected (see
 * sum->rejected); BLO_EPARSE when the input as a whole cannot be read (an
 * immigration export without its header: one reject line, record 0, says
 * why); -EINTR when asked to stop; -ETIMEDOUT when no ack came within
 * ack_timeout_ms; BLO_EPERM when the broker refuses this principal; -errno
 * when reading or the reject file failed. */
int blo_adapt_run_stream(blo_adapt_run_t *self, FILE *in, const char *name,
			 blo_adapt_summary_t *sum, blo_err_t *err);

/* Called after each spool file: its path, summary, the result of
 * blo_adapt_run_stream, and where the file went (NULL: left in place). */
typedef void blo_adapt_spool_fn(const char *path, const blo_adapt_summary_t *sum, int rc,
				const char *moved_to, const blo_err_t *err, void *arg);

/* Watches the folder dir for files, in name order, skipping names that
 * start with "." or end in ".tmp" or ".part" (write there, then rename):
 * each is processed with blo_adapt_run_stream and moved to dir/done/ when
 * every record was published, or to dir/failed/ when some record was
 * rejected or the file could not be read (a name already there gets a
 * ".N" suffix). A file whose run was stopped or timed out stays where it
 * is, and the call returns that code. Polls every poll_ms (0: 1000) while
 * keeping the broker connection alive; with once, returns 0 when the
 * folder has no file left. Returns 0, -EINTR when stopped, or an error. */
int blo_adapt_run_spool(blo_adapt_run_t *self, const char *dir, bool once, int poll_ms,
			blo_adapt_spool_fn *fn, void *arg, blo_err_t *err);

#endif
